//! Throughput of palisade-redact on realistic logs with the full built-in rule set (detectors,
//! key names and every provider family), against two baselines over the same rules: a naive
//! loop over regexes (what a hand-rolled redactor usually is), and gitleaks-style scanning,
//! where a keyword prefilter (Aho-Corasick, case-insensitive) picks the rules whose keywords
//! occur in a line and only their regexes run.
//!
//! Group names are shared with `cargo xtask bench`, which prints `palisade / baseline` and
//! MB/s for every group.

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::{borrow::Cow, hint::black_box, time::Duration};

use aho_corasick::AhoCorasick;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_redact::{Redactor, provider_families, provider_keyword_rules};
use regex::Regex;

/// The built-in detectors' formats as plain regexes, with the keywords gitleaks would give
/// each (none: the rule runs on every line).
const NAIVE: &[(&str, &[&str])] = &[
    (
        r#"(?i)\b(password|passwd|pwd|passphrase|secret|token|api[_-]?key|client[_-]?secret|authorization|cookie|set-cookie)\b\s*[:=]\s*("[^"]*"|'[^']*'|[^\s,;&]+)"#,
        &[
            "password",
            "passwd",
            "pwd",
            "passphrase",
            "secret",
            "token",
            "api",
            "key",
            "authorization",
            "cookie",
        ],
    ),
    (
        r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        &["akia", "asia", "abia", "acca"],
    ),
    (
        r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    ),
    (
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        &["github_pat_"],
    ),
    (
        r"gl(pat|ptt|dt|rt|oas)-[A-Za-z0-9_.-]{20,}",
        &["glpat-", "glptt-", "gldt-", "glrt-", "gloas-"],
    ),
    (r"xox[baprse]-[A-Za-z0-9-]{10,}", &["xox"]),
    (
        r"[sr]k_(live|test)_[A-Za-z0-9]{20,}",
        &["k_live_", "k_test_"],
    ),
    (r"AIza[A-Za-z0-9_-]{35}", &["aiza"]),
    (r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", &["sg."]),
    (r"npm_[A-Za-z0-9]{36}", &["npm_"]),
    (r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", &["pypi-"]),
    (
        r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
        &["eyj"],
    ),
    (r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*", &["bearer"]),
    (r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}=*", &["basic"]),
    (r"://[^:/\s@]+:[^@\s/]+@", &["://"]),
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        &["-----begin"],
    ),
    (r"\b(?:\d[ -]?){12,18}\d\b", &[]),
    (r"\bpal[a-z]_[A-Za-z0-9]{49}\b", &["pal"]),
];

/// Every rule as (regex, keywords): the detectors above, the provider keyword rules, and, for
/// each provider family, its prefixes followed by a token's characters.
fn rules() -> Vec<(Regex, Vec<String>)> {
    let mut out: Vec<(Regex, Vec<String>)> = NAIVE
        .iter()
        .map(|(p, k)| {
            (
                Regex::new(p).expect("valid"),
                k.iter().map(|k| (*k).to_owned()).collect(),
            )
        })
        .collect();
    // The provider keyword rules as gitleaks writes them (without the key's leading
    // `[\w.-]{0,50}?`, which only widens the match): the provider's name in the key, an
    // operator, and a value (here of any token alphabet and length the rules take).
    for rule in provider_keyword_rules() {
        let words: Vec<String> = rule.keywords.iter().map(|w| regex::escape(w)).collect();
        let pattern = if words.is_empty() {
            r"\bSK[0-9a-fA-F]{32}\b".to_owned()
        } else {
            format!(
                r#"(?i)(?:{})[\w.-]{{0,20}}[\s'"]{{0,3}}(?:=|:|:=|=>|<-)[\s'"=]{{0,5}}([a-z0-9_=+/|%-]{{15,160}})"#,
                words.join("|")
            )
        };
        // gitleaks gives Twilio's rule the keyword `sk`.
        let keywords = if rule.keywords.is_empty() {
            vec!["sk".to_owned()]
        } else {
            rule.keywords.iter().map(|w| (*w).to_owned()).collect()
        };
        out.push((Regex::new(&pattern).expect("valid"), keywords));
    }
    for family in provider_families() {
        let prefixes: Vec<String> = family.prefixes.iter().map(|p| regex::escape(p)).collect();
        let pattern = format!(r"(?:{})[A-Za-z0-9_.=+/%~$-]{{16,}}", prefixes.join("|"));
        out.push((
            Regex::new(&pattern).expect("valid"),
            family
                .prefixes
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
        ));
    }
    out
}

/// gitleaks' shape: one case-insensitive keyword search per line, then only the regexes of the
/// rules whose keywords occur (and the rules without keywords).
struct KeywordScanner {
    keywords: AhoCorasick,
    /// Keyword index -> rule index.
    owner: Vec<usize>,
    always: Vec<usize>,
    rules: Vec<Regex>,
}

impl KeywordScanner {
    fn new(rules: Vec<(Regex, Vec<String>)>) -> Self {
        let (mut words, mut owner, mut always, mut regexes) = (vec![], vec![], vec![], vec![]);
        for (i, (regex, keywords)) in rules.into_iter().enumerate() {
            if keywords.is_empty() {
                always.push(i);
            }
            for k in keywords {
                words.push(k);
                owner.push(i);
            }
            regexes.push(regex);
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&words)
            .expect("valid keywords");
        Self {
            keywords,
            owner,
            always,
            rules: regexes,
        }
    }

    fn redact(&self, line: &str) -> String {
        let mut hit = vec![false; self.rules.len()];
        for i in &self.always {
            hit[*i] = true;
        }
        for m in self.keywords.find_overlapping_iter(line) {
            hit[self.owner[m.pattern().as_usize()]] = true;
        }
        let mut text = Cow::Borrowed(line);
        for (i, re) in self.rules.iter().enumerate() {
            if hit[i]
                && let Cow::Owned(s) = re.replace_all(&text, "[REDACTED]")
            {
                text = Cow::Owned(s);
            }
        }
        text.into_owned()
    }
}

fn naive(regexes: &[Regex], line: &str) -> String {
    let mut text = Cow::Borrowed(line);
    for re in regexes {
        if let Cow::Owned(s) = re.replace_all(&text, "[REDACTED]") {
            text = Cow::Owned(s);
        }
    }
    text.into_owned()
}

#[allow(
    clippy::print_stdout,
    reason = "the corpus score is part of the report"
)]
fn throughput(c: &mut Criterion) {
    let corpus = corpus::Corpus::build(0x05EC_2E75, 20_000, 600);
    let redactor = Redactor::new();
    let (removed, planted, unchanged, benign) = corpus.score(&redactor);
    println!(
        "corpus: planted secrets removed {removed}/{planted}; benign lines unchanged {unchanged}/{benign}"
    );
    let regexes: Vec<Regex> = rules().into_iter().map(|(r, _)| r).collect();
    let scanner = KeywordScanner::new(rules());

    for (name, with_secrets) in [
        ("redact/benign_logs", false),
        ("redact/logs_with_secrets", true),
    ] {
        let log = corpus.log(with_secrets);
        let lines: Vec<&str> = log.lines().collect();
        let mut group = c.benchmark_group(name);
        group
            .throughput(Throughput::Bytes(log.len() as u64))
            .sample_size(20)
            .measurement_time(Duration::from_secs(6));
        group.bench_function("palisade", |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(redactor.redact(black_box(line)));
                }
            });
        });
        group.bench_function("naive regex loop", |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(naive(&regexes, black_box(line)));
                }
            });
        });
        group.bench_function("keyword prefilter and regexes", |b| {
            b.iter(|| {
                for line in &lines {
                    black_box(scanner.redact(black_box(line)));
                }
            });
        });
        group.finish();
    }

    let log = corpus.log(true);
    let mut group = c.benchmark_group("redact/stream_writer");
    group
        .throughput(Throughput::Bytes(log.len() as u64))
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            let mut s = palisade_redact::LineRedactor::new(redactor.clone());
            let mut out = Vec::with_capacity(log.len());
            for chunk in log.as_bytes().chunks(8192) {
                s.push(chunk, &mut out);
            }
            s.finish(&mut out);
            out
        });
    });
    group.bench_function("naive regex loop", |b| b.iter(|| naive(&regexes, &log)));
    group.finish();

    // The same benign log with 100 registered 32-byte values (none occurs in it) against
    // the default redactor: what the known-value search adds to every line.
    let known = palisade_redact::KnownSecrets::new();
    for i in 0u32..100 {
        let value = format!(
            "{:08x}{:024x}",
            i.wrapping_mul(0x9E37_79B9),
            u128::from(i) * 7919
        );
        known
            .insert(value.as_bytes())
            .expect("32-byte values are accepted");
    }
    let with_known = Redactor::builder()
        .known_secrets(known)
        .build()
        .expect("the default configuration builds");
    let log = corpus.log(false);
    let lines: Vec<&str> = log.lines().collect();
    let mut group = c.benchmark_group("redact/benign_logs_known_values");
    group
        .throughput(Throughput::Bytes(log.len() as u64))
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(with_known.redact(black_box(line)));
            }
        });
    });
    group.bench_function("without known values", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(redactor.redact(black_box(line)));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
