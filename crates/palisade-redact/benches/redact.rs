//! Throughput of palisade-redact on realistic logs, against a naive loop over regexes for the
//! same formats (what a hand-rolled redactor usually is).
//!
//! Group names are shared with `cargo xtask bench`, which prints `palisade / baseline` and
//! MB/s for every group.

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::{borrow::Cow, hint::black_box, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_redact::Redactor;
use regex::Regex;

/// The same formats as the default rule set, as plain regexes replaced one after another.
const NAIVE: &[&str] = &[
    r#"(?i)\b(password|passwd|pwd|passphrase|secret|token|api[_-]?key|client[_-]?secret|authorization|cookie|set-cookie)\b\s*[:=]\s*("[^"]*"|'[^']*'|[^\s,;&]+)"#,
    r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{36}\b",
    r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    r"gl(pat|ptt|dt|rt|oas)-[A-Za-z0-9_.-]{20,}",
    r"xox[baprse]-[A-Za-z0-9-]{10,}",
    r"[sr]k_(live|test)_[A-Za-z0-9]{20,}",
    r"AIza[A-Za-z0-9_-]{35}",
    r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    r"npm_[A-Za-z0-9]{36}",
    r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*",
    r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}=*",
    r"://[^:/\s@]+:[^@\s/]+@",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    r"\b(?:\d[ -]?){12,18}\d\b",
    r"\bpal[a-z]_[A-Za-z0-9]{49}\b",
];

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
    let regexes: Vec<Regex> = NAIVE
        .iter()
        .map(|p| Regex::new(p).expect("valid"))
        .collect();

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
}

criterion_group!(benches, throughput);
criterion_main!(benches);
