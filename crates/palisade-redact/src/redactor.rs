//! The [`Redactor`]: anchor searches (literals, and word heads at separators) over every
//! detector, then exact confirmation.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    hash::{BuildHasherDefault, Hasher},
    ops::Range,
    sync::Arc,
};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind, packed};
use regex::bytes::Regex;

use crate::{
    bytemask::Chunk,
    cards, checks,
    detect::Detector,
    error::ConfigError,
    families::FAMILIES,
    gitleaks,
    keyvalue::{self, KeyRules},
    keywords::{self, Keywords},
    kind::Kind,
    known::KnownSecrets,
    style::Style,
};

/// Passes after the first, at most, in [`Redactor::redact_bytes`].
const MAX_PASSES: usize = 8;

/// One thing found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: Kind,
    /// Where it is, in bytes.
    pub range: Range<usize>,
    /// The custom rule's name, for [`Kind::Custom`]; the provider family's id (listed in the
    /// crate documentation), for [`Kind::ProviderToken`] and the age secret keys reported as
    /// [`Kind::PrivateKey`].
    pub rule: Option<Arc<str>>,
}

/// What an anchor leads to.
#[derive(Debug, Clone)]
enum Target {
    Detector(Detector),
    Key,
    /// `pal` + kind letter + `_`: palisade's own opaque tokens.
    PalisadeOpaque,
    /// A registered opaque-token prefix.
    Opaque,
    /// A provider family, by its index in the table.
    Family(usize),
    CustomAnchor(usize),
}

#[derive(Debug)]
struct CustomRule {
    name: Arc<str>,
    regex: Regex,
    anchored: bool,
    /// The capture group holding the secret (gitleaks' `secretGroup`); otherwise the first
    /// group, or the whole match.
    secret_group: Option<usize>,
    /// Least Shannon entropy of the secret (gitleaks' `entropy`).
    entropy: Option<f64>,
    /// Allow-lists (gitleaks' own and the file's global ones).
    allowlists: Vec<gitleaks::Allowlist>,
    /// gitleaks' `path`: the rule runs only where the source path, when known, matches.
    path: Option<Regex>,
}

impl CustomRule {
    /// The secret of one match, unless the rule's entropy bar or an allow-list lets it pass.
    /// `paths`: per allow-list, whether the source path matches its `paths` (`None`: no path).
    fn secret(
        &self,
        text: &[u8],
        caps: &regex::bytes::Captures<'_>,
        paths: Option<&[bool]>,
    ) -> Option<Range<usize>> {
        let whole = caps.get(0)?;
        let m = match self.secret_group {
            Some(g) => caps.get(g)?,
            None => caps.get(1).unwrap_or(whole),
        };
        let secret = m.as_bytes();
        if m.range().is_empty() || !gitleaks::entropy_ok(secret, self.entropy) {
            return None;
        }
        if !self.allowlists.is_empty() {
            let start = memchr::memrchr(b'\n', &text[..whole.start()]).map_or(0, |i| i + 1);
            let end =
                memchr::memchr(b'\n', &text[whole.end()..]).map_or(text.len(), |i| whole.end() + i);
            let line = &text[start..end];
            if self.allowlists.iter().enumerate().any(|(i, a)| {
                a.allows(
                    secret,
                    whole.as_bytes(),
                    line,
                    paths.map(|p| p.get(i).copied().unwrap_or(false)),
                )
            }) {
                return None;
            }
        }
        Some(m.range())
    }
}

#[derive(Debug)]
struct Pii {
    email: Option<Regex>,
    phone: Option<Regex>,
    iban: Option<Regex>,
}

impl Pii {
    /// Whether a personal-data detector is on.
    fn any(&self) -> bool {
        self.email.is_some() || self.phone.is_some() || self.iban.is_some()
    }
}

struct Inner {
    anchors: AnchorSet,
    /// For each searched literal, the targets (indices into `targets` and `literals`) whose
    /// own literal starts with it.
    groups: Vec<Vec<usize>>,
    /// The literals looked up at separators instead of searched for.
    heads: Heads,
    /// The provider-keyword rules, checked at assignment operators.
    keywords: Keywords,
    /// Each target's own literal, checked at a hit before the target runs.
    literals: Vec<Box<[u8]>>,
    /// Each provider family's id, shared by its findings.
    family_ids: Vec<Arc<str>>,
    targets: Vec<Target>,
    keys: KeyRules,
    disabled: KindSet,
    pii: Pii,
    custom: Vec<CustomRule>,
    allow: HashSet<Vec<u8>>,
    known: Option<KnownSecrets>,
    /// Whether any of personal data, custom rules, known secrets or the allow-list is
    /// configured: whether [`Redactor::find_extras`] has anything to do. Worked out once: a
    /// test of the four costs every text, most of them short, ten instructions more.
    extras: bool,
    style: Style,
    styles: HashMap<Kind, Style>,
    /// A counter per kind, registered with the recorder in place when the redactor was built.
    #[cfg(feature = "metrics")]
    counters: crate::telemetry::Counters,
}

/// Redacts secrets and, when enabled, personal data from text. Build once, share everywhere
/// (cloning is cheap).
///
/// ```
/// use palisade_redact::Redactor;
///
/// let redactor = Redactor::new();
/// let line = "login ok user=alice password=hunter2 token=ghp_1Lpn1CQNiGbvJ1wqw8ZmYvDu3Y9hFO0aHfX5";
/// assert_eq!(redactor.redact(line), "login ok user=alice password=[REDACTED] token=[REDACTED]");
///
/// // Nothing to redact: the input comes back borrowed, without allocating.
/// assert!(matches!(redactor.redact("GET /health 200"), std::borrow::Cow::Borrowed(_)));
/// ```
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
    /// The source the text comes from, when the caller named it.
    source: Option<Arc<Source>>,
}

/// A text's source path and what it decides for the gitleaks rules, worked out once.
#[derive(Debug)]
struct Source {
    path: Box<str>,
    /// Per custom rule, whether its `path` (if any) matches.
    applies: Vec<bool>,
    /// Per custom rule and allow-list, whether the allow-list's `paths` match.
    allowed: Vec<Vec<bool>>,
}

impl core::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Redactor")
            .field("anchors", &self.inner.targets.len())
            .field("disabled", &self.inner.disabled.0)
            .field("custom_rules", &self.inner.custom.len())
            .field("style", &self.inner.style)
            .field("source_path", &self.source.as_ref().map(|s| &*s.path))
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// Every secret detector and the default key names; personal data detectors off.
    ///
    /// # Panics
    /// Never: the default configuration has only valid built-in patterns (checked by a test).
    pub fn new() -> Self {
        RedactorBuilder::default()
            .build()
            .expect("the default configuration builds: covered by the default_builds test")
    }

    /// A builder for every other configuration.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// This redactor, for text read from `path` (a file being redacted): the gitleaks rules'
    /// path settings then apply. A rule with a `path` runs only where `path` matches it, and
    /// an allow-list's `paths` allow findings where it matches. Without a source path (the
    /// default, and for streams, standard input and log records), a rule's `path` does not
    /// restrict it and no allow-list's `paths` match. The built-in detectors never depend on
    /// the path. Cheap: the path is matched against the rules once, here.
    ///
    /// ```
    /// use palisade_redact::Redactor;
    ///
    /// let rules = r#"
    /// [[rules]]
    /// id = "acme-key"
    /// regex = "acme_[a-z0-9]{24}"
    /// keywords = ["acme_"]
    /// [[rules.allowlists]]
    /// paths = ["^testdata/"]
    /// "#;
    /// let r = Redactor::builder().gitleaks_rules(rules)?.build()?;
    /// let line = "key acme_k3j9x2m8q7w1z5r4t6y0u2p8";
    /// assert_eq!(r.redact(line), "key [REDACTED]");
    /// assert_eq!(r.with_source_path("src/main.rs").redact(line), "key [REDACTED]");
    /// assert_eq!(r.with_source_path("testdata/fixture.txt").redact(line), line);
    /// # Ok::<(), palisade_redact::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_source_path(&self, path: &str) -> Self {
        let bytes = path.as_bytes();
        let source = Source {
            path: path.into(),
            applies: self
                .inner
                .custom
                .iter()
                .map(|r| r.path.as_ref().is_none_or(|p| p.is_match(bytes)))
                .collect(),
            allowed: self
                .inner
                .custom
                .iter()
                .map(|r| r.allowlists.iter().map(|a| a.path_matches(bytes)).collect())
                .collect(),
        };
        Self {
            inner: self.inner.clone(),
            source: Some(Arc::new(source)),
        }
    }

    /// The source path given to [`with_source_path`](Self::with_source_path), if any.
    pub fn source_path(&self) -> Option<&str> {
        self.source.as_ref().map(|s| &*s.path)
    }

    /// Everything a single pass finds in `text`, sorted, overlapping findings merged.
    /// [`redact`](Self::redact) may redact more: see [`redact_bytes`](Self::redact_bytes).
    pub fn find(&self, text: &[u8]) -> Vec<Finding> {
        self.find_with(text, true)
    }

    /// [`find`](Self::find); `short`: whether texts too short for the SIMD searcher take the
    /// scan made for them (false only in tests comparing the two).
    fn find_with(&self, text: &[u8], short: bool) -> Vec<Finding> {
        let inner = &*self.inner;
        let mut found: Vec<Finding> = Vec::new();
        let mut triggered = vec![false; inner.custom.len()];
        let push = |found: &mut Vec<Finding>, f: Finding| {
            if !inner.disabled.contains(f.kind) && !f.range.is_empty() {
                found.push(f);
            }
        };
        // A target at `start`, whose literal's first `known` bytes the caller has matched
        // there: the rest of the literal (most often nothing) is compared byte by byte, a few
        // bytes where a `memcmp` would cost a call at every hit.
        let mut hit = |t: usize, start: usize, known: usize| {
            let literal = &inner.literals[t];
            let rest = text.get(start + known..).unwrap_or_default();
            let tail = literal.get(known..).unwrap_or_default();
            if tail.len() > rest.len() || !tail.iter().zip(rest).all(|(a, b)| a == b) {
                return;
            }
            let at = start..start + literal.len();
            if let Target::CustomAnchor(i) = inner.targets[t] {
                triggered[i] = true;
            } else if let Some(f) = self.confirm(&inner.targets[t], text, at) {
                push(&mut found, f);
            }
        };
        inner.anchors.for_each(text, short, |pattern, at| {
            // The searcher matched the group's literal, which starts every target's own.
            for &t in &inner.groups[pattern] {
                hit(t, at.start, at.len());
            }
        });
        let mut keyword_findings = Vec::new();
        inner.heads.for_each(
            text,
            |targets, start| {
                for &t in targets {
                    hit(t, start, 0);
                }
            },
            &inner.keywords,
            |id, range| {
                keyword_findings.push(Finding {
                    kind: Kind::ProviderToken,
                    range,
                    rule: Some(id.clone()),
                });
            },
        );
        // Emptiness tested first: most texts have no finding, and consuming an empty vector
        // still costs its iterator's set-up.
        if !keyword_findings.is_empty() {
            for f in keyword_findings {
                push(&mut found, f);
            }
        }
        if !inner.disabled.contains(Kind::CardNumber) {
            let mut ranges = Vec::new();
            cards::find(text, &mut ranges);
            for range in ranges {
                push(
                    &mut found,
                    Finding {
                        kind: Kind::CardNumber,
                        range,
                        rule: None,
                    },
                );
            }
        }
        if inner.extras {
            self.find_extras(text, &triggered, &mut found);
        }
        merge(found)
    }

    /// The detectors a configuration may add, which most leave out: personal data, custom
    /// and gitleaks rules (`triggered`: whether each anchored rule's anchor was found), known
    /// secrets, and the allow-list, in that order. A function of its own, called only when
    /// one is configured, so that `find` carries none of their state.
    #[inline(never)]
    fn find_extras(&self, text: &[u8], triggered: &[bool], found: &mut Vec<Finding>) {
        let inner = &*self.inner;
        self.find_pii(text, found);
        for (i, rule) in inner.custom.iter().enumerate() {
            if rule.anchored && !triggered[i] {
                continue;
            }
            if self.source.as_ref().is_some_and(|s| !s.applies[i]) {
                continue;
            }
            let paths = self.source.as_ref().map(|s| &s.allowed[i][..]);
            for caps in rule.regex.captures_iter(text) {
                if let Some(range) = rule.secret(text, &caps, paths) {
                    found.push(Finding {
                        kind: Kind::Custom,
                        range,
                        rule: Some(rule.name.clone()),
                    });
                }
            }
        }
        if let Some(known) = &inner.known
            && !inner.disabled.contains(Kind::KnownSecret)
        {
            known.for_each(text, |range| {
                if !range.is_empty() {
                    found.push(Finding {
                        kind: Kind::KnownSecret,
                        range,
                        rule: None,
                    });
                }
            });
        }
        if !inner.allow.is_empty() {
            found.retain(|f| !inner.allow.contains(&text[f.range.clone()]));
        }
    }

    /// What an anchor hit at `at` confirms, for every target but a custom rule's trigger.
    fn confirm(&self, target: &Target, text: &[u8], at: Range<usize>) -> Option<Finding> {
        let plain = |(kind, range)| Finding {
            kind,
            range,
            rule: None,
        };
        match target {
            Target::Detector(d) => d.confirm(text, at).map(plain),
            Target::PalisadeOpaque => {
                let e = at.end;
                (text.get(e).is_some_and(u8::is_ascii_lowercase) && text.get(e + 1) == Some(&b'_'))
                    .then(|| {
                        crate::detect::checksummed(text, at.start, e + 2, 43, Kind::OpaqueToken)
                    })
                    .flatten()
                    .map(plain)
            }
            Target::Opaque => {
                crate::detect::checksummed(text, at.start, at.end, 43, Kind::OpaqueToken).map(plain)
            }
            Target::Key => self.inner.keys.value_at(text, at).map(|(range, generic)| {
                let kind = if generic {
                    Kind::GenericSecret
                } else {
                    Kind::KeyValue
                };
                plain((kind, range))
            }),
            Target::Family(i) => {
                let family = &FAMILIES[*i];
                family.confirm(text, at).map(|range| Finding {
                    kind: family.kind,
                    range,
                    rule: Some(self.inner.family_ids[*i].clone()),
                })
            }
            Target::CustomAnchor(_) => None,
        }
    }

    fn find_pii(&self, text: &[u8], found: &mut Vec<Finding>) {
        let pii = &self.inner.pii;
        let mut add = |kind, range| {
            found.push(Finding {
                kind,
                range,
                rule: None,
            });
        };
        if let Some(re) = &pii.email {
            for m in re.find_iter(text) {
                add(Kind::Email, m.range());
            }
        }
        if let Some(re) = &pii.phone {
            for m in re.find_iter(text) {
                let digits = m.as_bytes().iter().filter(|b| b.is_ascii_digit()).count();
                if (8..=15).contains(&digits) {
                    add(Kind::Phone, m.range());
                }
            }
        }
        if let Some(re) = &pii.iban {
            for m in re.find_iter(text) {
                let compact: Vec<u8> = m
                    .as_bytes()
                    .iter()
                    .copied()
                    .filter(|b| *b != b' ')
                    .collect();
                if checks::iban(&compact) {
                    add(Kind::Iban, m.range());
                }
            }
        }
    }

    /// `text` with every finding replaced. Borrowed when nothing was found.
    ///
    /// A replacement can change what its neighbours look like (a card number redacted next to
    /// a phone number gives the phone number a word boundary it lacked), so the result is
    /// redacted again until nothing more is found. Redacting redacted text therefore changes
    /// nothing. Text without findings costs one pass.
    #[inline]
    pub fn redact_bytes<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let found = self.find(text);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(self.replace(text, &found))
    }

    /// [`redact_bytes`](Self::redact_bytes) for a text with findings (`found`, from
    /// [`find`](Self::find)): a function of its own, so that the text without findings,
    /// most texts, costs only the search and a test.
    #[inline(never)]
    fn replace(&self, text: &[u8], found: &[Finding]) -> Vec<u8> {
        let (mut out, mut replaced) = self.render_tracked(text, found);
        // Each pass only replaces text by markers that are never found again, so this settles
        // in a pass or two; the bound is a guard, not a budget. Findings never span lines
        // (a PEM block is replaced whole), so only the lines holding a replacement are
        // searched again.
        for _ in 0..MAX_PASSES {
            let mut again = Vec::new();
            for region in enclosing_lines(&out, &replaced) {
                again.extend(self.find(&out[region.clone()]).into_iter().map(|mut f| {
                    f.range = f.range.start + region.start..f.range.end + region.start;
                    f
                }));
            }
            if again.is_empty() {
                break;
            }
            (out, replaced) = self.render_tracked(&out, &again);
        }
        out
    }

    /// `text` with every finding replaced. Borrowed when nothing was found.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => Cow::Owned(redacted_string(bytes)),
        }
    }

    /// `text` with `found` (sorted, disjoint) replaced, and where each replacement landed.
    fn render_tracked(&self, text: &[u8], found: &[Finding]) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut out = Vec::with_capacity(text.len());
        let mut replaced = Vec::with_capacity(found.len());
        let mut at = 0;
        for f in found {
            out.extend_from_slice(&text[at..f.range.start]);
            let start = out.len();
            let style = self.style(f.kind);
            style.render(&text[f.range.clone()], &mut out);
            #[cfg(feature = "metrics")]
            self.inner.counters.redacted(f.kind);
            replaced.push(start..out.len());
            at = f.range.end;
        }
        out.extend_from_slice(&text[at..]);
        (out, replaced)
    }

    /// The style findings of `kind` are rendered in. Without per-kind styles (the common
    /// case) no hash is computed.
    fn style(&self, kind: Kind) -> &Style {
        if self.inner.styles.is_empty() {
            &self.inner.style
        } else {
            self.inner.styles.get(&kind).unwrap_or(&self.inner.style)
        }
    }

    /// Whether `key` (a field, header or parameter name) is a sensitive key name.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        !self.inner.disabled.contains(Kind::KeyValue)
            && self.inner.keys.is_sensitive(key.as_bytes())
    }

    /// The registry of known values this redactor consults, if any.
    pub(crate) fn known(&self) -> Option<&KnownSecrets> {
        self.inner.known.as_ref()
    }

    /// The replacement for a whole value, in the style of `kind`.
    pub(crate) fn replacement(&self, kind: Kind, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let style = self.style(kind);
        style.render(value, &mut out);
        #[cfg(feature = "metrics")]
        self.inner.counters.redacted(kind);
        out
    }
}

/// The text [`Redactor::redact`] made, as a string: a function of its own, out of the way of
/// the texts without findings.
#[inline(never)]
fn redacted_string(bytes: Vec<u8>) -> String {
    // Findings start and end at ASCII bytes or at the ends of the text, and replacements are
    // UTF-8, so the result is UTF-8; the lossy path never runs.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The anchor search: one searcher, or, for sets too large for one SIMD searcher, one for
/// the three-byte literals (first in the pattern order) and one for the longer ones. The SIMD
/// searcher fingerprints each literal by its first bytes, as many as its shortest literal
/// has; with every literal at least four bytes long the fingerprints are sharp enough that
/// few positions need checking, while three-byte ones (`key`, `pat`) match often in prose.
/// Two passes with sharp fingerprints cost less than one with blunt ones, and far less than
/// the DFA (`docs/benchmarks.md`).
struct AnchorSet {
    /// Each searcher and the index of its first pattern.
    parts: Vec<(Anchors, usize)>,
    /// The scan of texts shorter than every part's SIMD searcher takes, when every part has
    /// one; and that length.
    short: Option<(ShortScan, usize)>,
}

impl AnchorSet {
    fn new(patterns: &[String]) -> Result<Self, ConfigError> {
        let short = patterns.iter().take_while(|p| p.len() <= 3).count();
        let parts =
            if patterns.len() <= Anchors::PACKED_LIMIT || short == 0 || short == patterns.len() {
                vec![(Anchors::new(patterns)?, 0)]
            } else {
                vec![
                    (Anchors::new(&patterns[..short])?, 0),
                    (Anchors::new(&patterns[short..])?, short),
                ]
            };
        let below = parts
            .iter()
            .try_fold(ShortScan::LONGEST + 1, |below, (a, _)| match a {
                Anchors::Packed(s) => Some(below.min(s.minimum_len())),
                Anchors::Dfa(_) => None,
            });
        let bounds: Vec<usize> = parts
            .iter()
            .map(|(_, offset)| *offset)
            .chain([patterns.len()])
            .collect();
        let short = below.and_then(|below| {
            let parts: Vec<&[String]> = bounds.windows(2).map(|w| &patterns[w[0]..w[1]]).collect();
            ShortScan::new(&parts).map(|scan| (scan, below))
        });
        Ok(Self { parts, short })
    }

    /// Calls `f` with the pattern index and range of every anchor in `text`, part by part;
    /// `short`: whether a text too short for the SIMD searchers may take [`ShortScan`]
    /// (always, but in tests comparing the two).
    fn for_each(&self, text: &[u8], short: bool, mut f: impl FnMut(usize, Range<usize>)) {
        if let Some((scan, below)) = &self.short
            && short
            && text.len() < *below
        {
            scan.for_each(text, |part, pattern, at| {
                f(self.parts[part].1 + pattern, at);
            });
            return;
        }
        for (anchors, offset) in &self.parts {
            anchors.for_each(text, |pattern, at| f(offset + pattern, at));
        }
    }
}

/// The search for anchor literals.
enum Anchors {
    /// SIMD (Teddy) search, for up to 64 anchors.
    Packed(packed::Searcher),
    /// A DFA, for larger sets (many custom anchors or gitleaks keywords). Teddy slows down
    /// past 64 literals: its buckets fill and every fingerprint hit needs a check.
    Dfa(AhoCorasick),
}

impl Anchors {
    /// Most literals the SIMD searcher takes before it gets slower than the DFA.
    const PACKED_LIMIT: usize = 64;

    fn new(patterns: &[String]) -> Result<Self, ConfigError> {
        if patterns.len() <= Self::PACKED_LIMIT
            && let Some(searcher) = packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(patterns)
                .build()
        {
            return Ok(Self::Packed(searcher));
        }
        AhoCorasickBuilder::new()
            // Leftmost-first, as the packed searcher; the literals are prefix-free, so two
            // never match at the same place and both engines report the same hits.
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(patterns)
            .map(Self::Dfa)
            .map_err(|e| ConfigError::Automaton(e.to_string()))
    }

    /// Calls `f` with the pattern index and range of every anchor in `text`.
    fn for_each(&self, text: &[u8], mut f: impl FnMut(usize, Range<usize>)) {
        match self {
            Self::Packed(s) => s
                .find_iter(text)
                .for_each(|m| f(m.pattern().as_usize(), m.range())),
            Self::Dfa(a) => a
                .find_iter(text)
                .for_each(|m| f(m.pattern().as_usize(), m.range())),
        }
    }
}

/// The anchor search for texts shorter than the SIMD searchers take (a record's fields, a
/// JSON string), where the packed searcher falls back to Rabin-Karp, one pass per part, each
/// with its set-up. One pass here serves both parts: each position's first two bytes are
/// looked up (two bits, one per part: whether a literal of that part starts with them), and
/// only where some literal starts with them are that part's literals compared. The literals
/// of a part are prefix-free, so at most one matches at a position; taking the first
/// position where one matches, then going on after it, gives the leftmost-first,
/// non-overlapping hits the packed searcher reports, and the hits are reported part by
/// part, in the order the searchers report them.
struct ShortScan {
    /// Per pair of bytes (the first byte times 256 plus the second), two bits, one per part:
    /// whether a literal of the part starts with it. A byte each, so that a position costs
    /// one load and no shift to find its bits; a fixed size, so that no index is checked.
    pairs: Box<[u8; 65536]>,
    /// The length of the shortest literal: no literal starts in the last `shortest - 1`
    /// bytes of a text.
    shortest: usize,
    /// Per part, each literal's first two bytes and its index in the part, sorted.
    firsts: Vec<Vec<(u16, usize)>>,
    /// Per part and byte, where the literals starting with that byte begin in its `firsts`
    /// (they end where the next byte's begin): a position's candidates are the few sharing
    /// its first byte, looked up where a binary search of them all took six steps.
    by_first: Vec<[u8; 257]>,
    /// Per part, its literals.
    literals: Vec<Vec<Box<[u8]>>>,
}

impl ShortScan {
    /// The longest text scanned: one bit per position in a word.
    const LONGEST: usize = 64;

    /// The scan of the literals of one or two parts; `None` for more parts or when a literal
    /// is shorter than two bytes (a custom anchor).
    fn new(parts: &[&[String]]) -> Option<Self> {
        if parts.len() > 2 {
            return None;
        }
        // Made on the heap: 64 KiB is too much for the stack. The conversion cannot fail.
        let mut pairs: Box<[u8; 65536]> = vec![0u8; 65536].into_boxed_slice().try_into().ok()?;
        let mut firsts = Vec::new();
        let mut by_first = Vec::new();
        for (part, patterns) in parts.iter().enumerate() {
            let mut of_part = Vec::with_capacity(patterns.len());
            for (i, p) in patterns.iter().enumerate() {
                let &[a, b, ..] = p.as_bytes() else {
                    return None;
                };
                let pair = u16::from_be_bytes([a, b]);
                pairs[usize::from(pair)] |= 1 << part;
                of_part.push((pair, i));
            }
            of_part.sort_unstable();
            let mut starts = [0u8; 257];
            for (byte, start) in starts.iter_mut().enumerate() {
                let begin = of_part.partition_point(|(q, _)| usize::from(*q >> 8) < byte);
                // A part's literals fit in a byte: the packed searchers take at most 64.
                *start = u8::try_from(begin).ok()?;
            }
            by_first.push(starts);
            firsts.push(of_part);
        }
        Some(Self {
            pairs,
            shortest: parts.iter().flat_map(|p| p.iter()).map(String::len).min()?,
            firsts,
            by_first,
            literals: parts
                .iter()
                .map(|patterns| patterns.iter().map(|p| p.as_bytes().into()).collect())
                .collect(),
        })
    }

    /// Calls `f` with the part, the pattern index in it and the range of every anchor in
    /// `text` (at most [`Self::LONGEST`] bytes), as the parts' packed searchers would.
    fn for_each(&self, text: &[u8], mut f: impl FnMut(usize, usize, Range<usize>)) {
        debug_assert!(text.len() <= Self::LONGEST);
        let [first, second] = self.starts(text);
        // No part has a start in most short texts: both tested at once.
        if first | second == 0 {
            return;
        }
        if first != 0 {
            self.hits(0, first, text, &mut f);
        }
        if second != 0 {
            self.hits(1, second, text, &mut f);
        }
    }

    /// Calls `f` for each literal of `part` at the `starts` of `text`, left to right, each
    /// search going on after the hit.
    #[allow(
        clippy::inline_always,
        reason = "measured: as a call, each short text with a start pays for a frame"
    )]
    #[inline(always)]
    fn hits(
        &self,
        part: usize,
        mut starts: u64,
        text: &[u8],
        f: &mut impl FnMut(usize, usize, Range<usize>),
    ) {
        while starts != 0 {
            let i = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            if let Some((p, len)) = self.literal_at(part, text, i) {
                let end = i + len;
                f(part, p, i..end);
                // Non-overlapping: the search goes on after the hit.
                starts &= u64::MAX.checked_shl(end as u32).unwrap_or(0);
            }
        }
    }

    /// Per part, where a literal of it may start in `text`: a bit per position, without a
    /// branch. The positions are taken from the last one a literal fits in down to the first,
    /// each shifting the bits before it up by one, which costs less than shifting each
    /// position's bit into place.
    #[inline]
    fn starts(&self, text: &[u8]) -> [u64; 2] {
        let mut starts = [0u64; 2];
        let Some(last) = text.len().checked_sub(self.shortest) else {
            return starts;
        };
        let mut next = text[last + 1];
        for &b in text[..=last].iter().rev() {
            let two = self.pairs[usize::from(b) << 8 | usize::from(next)];
            next = b;
            starts[0] = starts[0] << 1 | u64::from(two & 1);
            starts[1] = starts[1] << 1 | u64::from(two >> 1);
        }
        starts
    }

    /// The literal of `part` that `text` holds at `i`, if any, and its length.
    #[allow(
        clippy::inline_always,
        reason = "measured: as a call, every start of a short text pays for a frame"
    )]
    #[inline(always)]
    fn literal_at(&self, part: usize, text: &[u8], i: usize) -> Option<(usize, usize)> {
        let rest = &text[i..];
        let pair = u16::from_be_bytes([rest[0], rest[1]]);
        let first = usize::from(rest[0]);
        let bounds = &self.by_first[part];
        let same_first =
            &self.firsts[part][usize::from(bounds[first])..usize::from(bounds[first + 1])];
        same_first
            .iter()
            .skip_while(|(q, _)| *q < pair)
            .take_while(|(q, _)| *q == pair)
            .find_map(|&(_, p)| {
                let literal = &self.literals[part][p];
                // A byte loop: the literals are a few bytes, where `memcmp` costs a call. Their
                // first two bytes are the pair, already equal.
                (literal.len() <= rest.len()
                    && literal[2..].iter().zip(&rest[2..]).all(|(a, b)| a == b))
                .then_some((p, literal.len()))
            })
    }
}

/// The literals that start a word and whose first byte other than a letter or digit is `_`,
/// `-` or `.` (`ghp_`, `dop_v1_`, `sk-ant-api03-`, `dp.pt.`): most provider prefixes. They are
/// not searched for; instead, at each of those separators in the text, the word before it is
/// looked up by its head (the letters and digits from the word's start to the separator, and
/// the separator). A scan for those bytes, eight at a time, and a table test per separator
/// cost far less than the anchor search would with these literals in it: they would push it
/// past what its SIMD searcher takes. Everything found this way is confirmed exactly as an
/// anchor hit is, and every target routed here rejects a hit not at a word start, so the
/// lookup finds whatever the search would have.
#[derive(Debug)]
struct Heads {
    /// Head and separator -> the targets whose literal starts with them.
    targets: HashMap<Box<[u8]>, Vec<usize>, BuildHasherDefault<HeadHasher>>,
    /// Per separator (`_`, `-`, `.`, then none), whether some head ends in this byte.
    last: [[bool; 256]; 4],
    /// Per separator (`_`, `-`, `.`), one bit per pair of bytes before it (the first byte
    /// times 256 plus the second): whether a head may end there. For a head of two bytes or
    /// more, its last two; for a one-byte head, its byte after any byte that may precede a
    /// word's start (every head starts a word). The second test at a separator, after
    /// `last`: most separators in words (`request_id`, `duration_ms`) pass the first.
    last_two: Box<[[u64; 1024]]>,
    /// Per byte, a bit for each length (before the separator) of the heads starting with it.
    lengths: [u32; 256],
    /// The longest head, in bytes before its separator.
    longest: usize,
}

impl Default for Heads {
    fn default() -> Self {
        Self {
            targets: HashMap::default(),
            last: [[false; 256]; 4],
            last_two: vec![[0; 1024]; 3].into_boxed_slice(),
            lengths: [0; 256],
            longest: 0,
        }
    }
}

impl Heads {
    const SEPARATORS: [u8; 3] = [b'_', b'-', b'.'];

    /// The head of `literal` (up to and including its first byte other than a letter or
    /// digit), if that byte is a separator after at least one letter or digit.
    fn head(literal: &[u8]) -> Option<&[u8]> {
        let k = literal.iter().position(|b| !b.is_ascii_alphanumeric())?;
        (k > 0 && k <= 16 && Self::SEPARATORS.contains(&literal[k])).then(|| &literal[..=k])
    }

    fn add(&mut self, head: &[u8], target: usize) {
        let k = head.len() - 1;
        if let Some(sep) = Self::SEPARATORS.iter().position(|s| *s == head[k]) {
            self.last[sep][usize::from(head[k - 1])] = true;
            let mut pair = |a: u8, b: u8| {
                let i = usize::from(a) << 8 | usize::from(b);
                self.last_two[sep][i / 64] |= 1 << (i % 64);
            };
            if k >= 2 {
                pair(head[k - 2], head[k - 1]);
            } else {
                for before in 0..=255u8 {
                    if !(before.is_ascii_alphanumeric() || before == b'_') {
                        pair(before, head[0]);
                    }
                }
            }
        }
        self.lengths[usize::from(head[0])] |= 1 << k;
        self.longest = self.longest.max(k);
        self.targets.entry(head.into()).or_default().push(target);
    }

    /// Calls `f` with the targets of every head in `text` that starts a word (nothing
    /// alphanumeric nor `_` before it), and where it starts; and, in the same scan, hands
    /// every assignment operator to the provider keyword rules, which call `g` with what
    /// they find.
    fn for_each(
        &self,
        text: &[u8],
        mut f: impl FnMut(&[usize], usize),
        keywords: &Keywords,
        mut g: impl FnMut(&Arc<str>, Range<usize>),
    ) {
        let heads = !self.targets.is_empty();
        let operators = !keywords.is_empty();
        if !heads && !operators {
            return;
        }
        // Sixteen bytes at a time: separators and operators are a few percent of a log's
        // bytes, and one compare of a chunk skips the rest faster than a vector search
        // restarted at each one. The bytes after the last whole chunk are the text's last
        // sixteen, less those already read. What is looked for, as masks: no branch per
        // chunk on what is configured.
        let masks = Masks {
            separators: if heads { u32::MAX } else { 0 },
            operators: if operators { u32::MAX } else { 0 },
        };
        let (chunks, rest) = text.as_chunks::<16>();
        let mut base = 0;
        for chunk in chunks {
            self.chunk(
                text,
                Chunk::new(chunk),
                base,
                0,
                masks,
                &mut f,
                keywords,
                &mut g,
            );
            base += 16;
        }
        if !rest.is_empty() {
            // The text's last sixteen bytes, less those read; or a text shorter than a chunk,
            // zeros after it (no zero byte is a separator or an operator).
            let mut padded = [0; 16];
            let (last, read) = if let Some(last) = text.last_chunk::<16>() {
                (last, 16 - rest.len())
            } else {
                padded[..rest.len()].copy_from_slice(rest);
                (&padded, 0)
            };
            self.chunk(
                text,
                Chunk::new(last),
                base,
                read,
                masks,
                &mut f,
                keywords,
                &mut g,
            );
        }
    }

    /// [`Self::for_each`] for the sixteen bytes `chunk`, of which the first `read` were
    /// looked at already and the rest are the bytes of `text` from `base` on.
    #[allow(
        clippy::inline_always,
        reason = "measured: as a call, every chunk of a text costs one"
    )]
    #[inline(always)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the scan's state, passed to an inlined step"
    )]
    fn chunk(
        &self,
        text: &[u8],
        chunk: Chunk,
        base: usize,
        read: usize,
        masks: Masks,
        f: &mut impl FnMut(&[usize], usize),
        keywords: &Keywords,
        g: &mut impl FnMut(&Arc<str>, Range<usize>),
    ) {
        let mut separators = (chunk.any_of(Self::SEPARATORS) >> read) & masks.separators;
        let mut operators = (chunk.any_of(Keywords::OPERATORS) >> read) & masks.operators;
        // Most chunks hold neither: one test.
        if separators | operators == 0 {
            return;
        }
        // Heads and operators report into separate lists, each in the order of the text.
        while separators != 0 {
            let p = base + separators.trailing_zeros() as usize;
            separators &= separators - 1;
            // Most separators follow a byte no head ends with (digits, hex), or two
            // bytes none ends with (`request_id`).
            if self.may_end(text, p) {
                self.at(text, p, f);
            }
        }
        while operators != 0 {
            let p = base + operators.trailing_zeros() as usize;
            operators &= operators - 1;
            keywords.operator(text, p, g);
        }
    }

    /// The index of a separator in [`Self::SEPARATORS`], 3 for any other byte: one table
    /// load, where three comparisons would cost a branch each at every separator of a text.
    fn slot(separator: u8) -> usize {
        const SLOTS: [u8; 256] = {
            let mut t = [3u8; 256];
            t[b'_' as usize] = 0;
            t[b'-' as usize] = 1;
            t[b'.' as usize] = 2;
            t
        };
        usize::from(SLOTS[usize::from(separator)] & 3)
    }

    /// Whether a head may end right before the separator at `p`: the tests of `last` and
    /// `last_two`.
    #[inline]
    fn may_end(&self, text: &[u8], p: usize) -> bool {
        if p == 0 {
            return false;
        }
        let slot = Self::slot(text[p]);
        if !self.last[slot][usize::from(text[p - 1])] {
            return false;
        }
        // `last` holds nothing for a byte other than a separator (slot 3).
        p < 2
            || self.last_two.get(slot).is_some_and(|pairs| {
                let i = usize::from(text[p - 2]) << 8 | usize::from(text[p - 1]);
                pairs[i / 64] & (1 << (i % 64)) != 0
            })
    }

    /// The separator at `p`, which [`Self::may_end`] passed: calls `f` if the word before it
    /// is a head.
    #[inline(never)]
    fn at(&self, text: &[u8], p: usize, f: &mut impl FnMut(&[usize], usize)) {
        if let Some((targets, start)) = self.head_before(text, p) {
            f(targets, start);
        }
    }

    /// The head that the separator at `p` ends, and where it starts: the word before `p`
    /// (starting a word, no longer than the longest head) looked up.
    #[inline]
    fn head_before(&self, text: &[u8], p: usize) -> Option<(&[usize], usize)> {
        let floor = p.saturating_sub(self.longest);
        let mut start = p - 1;
        while start > floor && text[start - 1].is_ascii_alphanumeric() {
            start -= 1;
        }
        if start > 0 && (text[start - 1].is_ascii_alphanumeric() || text[start - 1] == b'_') {
            return None;
        }
        if self.lengths[usize::from(text[start])] & (1 << (p - start)) == 0 {
            return None;
        }
        self.targets
            .get(&text[start..=p])
            .map(|targets| (&targets[..], start))
    }
}

/// What the separator and operator scan looks for: all ones where it looks for separators
/// (some head is configured) or operators (some provider keyword rule is), else zero.
#[derive(Clone, Copy)]
struct Masks {
    separators: u32,
    operators: u32,
}

/// FNV-1a, for the heads' table: its keys are a few bytes long, where SipHash's setup and
/// finish cost several times the bytes themselves. The table is built from the configured
/// literals only; text is only looked up in it, so a weak hash cannot be used to grow it.
#[derive(Clone, Copy)]
struct HeadHasher(u64);

impl Default for HeadHasher {
    fn default() -> Self {
        Self(0xCBF2_9CE4_8422_2325)
    }
}

impl Hasher for HeadHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The searchers for the literals of `targets`: literals that start a word and have a head go
/// to the separator lookup; the rest (key names, custom anchors, literals found inside words)
/// are made prefix-free and searched, three-byte literals first (see [`AnchorSet`]). Returns
/// the search, each searched literal's group of targets, and the lookup.
fn searchers(
    patterns: &[String],
    targets: &[Target],
) -> Result<(AnchorSet, Vec<Vec<usize>>, Heads), ConfigError> {
    let mut heads = Heads::default();
    let mut rest: Vec<usize> = Vec::new();
    for (i, (literal, target)) in patterns.iter().zip(targets).enumerate() {
        let at_word_start = match target {
            Target::Family(f) => FAMILIES[*f].at_token_start(),
            Target::Detector(d) => d.at_token_start(),
            _ => false,
        };
        match Heads::head(literal.as_bytes()) {
            Some(head) if at_word_start => heads.add(head, i),
            _ => rest.push(i),
        }
    }
    let searched_literals: Vec<String> = rest.iter().map(|i| patterns[*i].clone()).collect();
    let (searched, groups) = prefix_free(&searched_literals);
    let groups: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|g| g.into_iter().map(|i| rest[i]).collect())
        .collect();
    let (searched, groups): (Vec<String>, Vec<Vec<usize>>) = {
        // Three-byte literals first: see `AnchorSet`.
        let mut order: Vec<usize> = (0..searched.len()).collect();
        order.sort_by_key(|i| (searched[*i].len() > 3, *i));
        let mut groups: Vec<Option<Vec<usize>>> = groups.into_iter().map(Some).collect();
        (
            order.iter().map(|i| searched[*i].clone()).collect(),
            order.iter().filter_map(|i| groups[*i].take()).collect(),
        )
    };
    let anchors = AnchorSet::new(&searched)?;
    Ok((anchors, groups, heads))
}

/// Makes the literal set prefix-free: each literal is searched as the shortest configured
/// literal it starts with, and that searched literal's group lists every target whose own
/// literal starts with it (checked at each hit). Without this, a literal that is a prefix of
/// another (`key` for key names, `key-` for Mailgun) would hide it: a searcher reports one
/// literal per position.
fn prefix_free(literals: &[String]) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut order: Vec<usize> = (0..literals.len()).collect();
    order.sort_by_key(|i| (literals[*i].len(), *i));
    let mut searched: Vec<String> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        if let Some(g) = searched
            .iter()
            .position(|s| literals[i].starts_with(s.as_str()))
        {
            groups[g].push(i);
        } else {
            searched.push(literals[i].clone());
            groups.push(vec![i]);
        }
    }
    for group in &mut groups {
        group.sort_unstable();
    }
    (searched, groups)
}

/// The spellings an anchor is searched in: as given, or for case-insensitive anchors lower,
/// UPPER and Capitalized (which covers `password`, `DB_PASSWORD` and `dbPassword`). Explicit
/// variants keep the search case-sensitive, which the SIMD searcher needs.
fn case_variants(anchor: &str, any_case: bool) -> Vec<String> {
    if !any_case {
        return vec![anchor.to_owned()];
    }
    let lower = anchor.to_ascii_lowercase();
    let mut capital = lower.clone();
    if let Some(first) = capital.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    // Lower case first: where spellings share a bucket of the SIMD searcher, it checks them
    // in this order at each fingerprint hit, and keys are most often written in lower case.
    let mut out = vec![lower];
    for variant in [capital, anchor.to_ascii_uppercase()] {
        if !out.contains(&variant) {
            out.push(variant);
        }
    }
    out
}

/// A set of kinds as a bit mask: one test per finding on the hot path.
#[derive(Debug, Default, Clone, Copy)]
struct KindSet(u32);

impl KindSet {
    fn insert(&mut self, kind: Kind) {
        self.0 |= 1 << (kind as u32);
    }

    fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << (kind as u32)) != 0
    }
}

/// The whole lines of `text` that contain the `ranges` (sorted), merged where they touch.
fn enclosing_lines(text: &[u8], ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        let start = memchr::memrchr(b'\n', &text[..r.start]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &text[r.end..]).map_or(text.len(), |i| r.end + i);
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

/// Sorts and merges overlapping findings; the earliest finding names the merged span.
fn merge(mut found: Vec<Finding>) -> Vec<Finding> {
    // Nothing to sort or merge: most texts.
    if found.len() < 2 {
        return found;
    }
    found.sort_by(|a, b| {
        a.range
            .start
            .cmp(&b.range.start)
            .then(b.range.end.cmp(&a.range.end))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        match out.last_mut() {
            Some(last) if f.range.start < last.range.end => {
                last.range.end = last.range.end.max(f.range.end);
            }
            _ => out.push(f),
        }
    }
    out
}

/// Configures a [`Redactor`].
#[derive(Debug, Clone)]
pub struct RedactorBuilder {
    keys: Vec<String>,
    disabled: HashSet<Kind>,
    enabled_pii: HashSet<Kind>,
    rules: Vec<(String, String, Vec<String>)>,
    gitleaks: Vec<gitleaks::RuleFile>,
    prefixes: Vec<String>,
    allow: Vec<String>,
    known: Option<KnownSecrets>,
    style: Style,
    styles: HashMap<Kind, Style>,
}

impl Default for RedactorBuilder {
    fn default() -> Self {
        Self {
            keys: keyvalue::DEFAULT_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            disabled: HashSet::new(),
            enabled_pii: HashSet::new(),
            rules: Vec::new(),
            gitleaks: Vec::new(),
            prefixes: Vec::new(),
            allow: Vec::new(),
            known: None,
            style: Style::Fixed,
            styles: HashMap::new(),
        }
    }
}

impl RedactorBuilder {
    /// Adds a sensitive key name (`ssn`, `db_pass`); any separator style matches it.
    #[must_use]
    pub fn key(mut self, name: &str) -> Self {
        self.keys.push(name.to_owned());
        self
    }

    /// Removes a default key name (`sessionid`, say, where session ids are not secret).
    #[must_use]
    pub fn without_key(mut self, name: &str) -> Self {
        let canonical = keyvalue::canonical(name);
        self.keys.retain(|k| keyvalue::canonical(k) != canonical);
        self
    }

    /// Turns a detector off.
    #[must_use]
    pub fn disable(mut self, kind: Kind) -> Self {
        self.disabled.insert(kind);
        self.enabled_pii.remove(&kind);
        self
    }

    /// Turns on a personal-data detector ([`Kind::Email`], [`Kind::Phone`], [`Kind::Iban`]).
    #[must_use]
    pub fn enable(mut self, kind: Kind) -> Self {
        self.disabled.remove(&kind);
        if kind.is_pii() {
            self.enabled_pii.insert(kind);
        }
        self
    }

    /// Turns on every personal-data detector.
    #[must_use]
    pub fn enable_pii(self) -> Self {
        self.enable(Kind::Email)
            .enable(Kind::Phone)
            .enable(Kind::Iban)
    }

    /// Adds a rule: everything `pattern` (a `regex` crate pattern) matches, or its first
    /// capture group, is redacted as [`Kind::Custom`]. Such a rule scans every text; prefer
    /// [`rule_with_anchor`](Self::rule_with_anchor) on hot paths.
    #[must_use]
    pub fn rule(mut self, name: &str, pattern: &str) -> Self {
        self.rules
            .push((name.to_owned(), pattern.to_owned(), Vec::new()));
        self
    }

    /// As [`rule`](Self::rule), but the regex runs only on texts containing `anchor` (in
    /// lower, UPPER or Capitalized), found by the same anchor search as the built-in detectors.
    #[must_use]
    pub fn rule_with_anchor(mut self, name: &str, pattern: &str, anchor: &str) -> Self {
        self.rules
            .push((name.to_owned(), pattern.to_owned(), vec![anchor.to_owned()]));
        self
    }

    /// Adds the rules of a gitleaks configuration (its TOML text), so a team's existing
    /// secret-scanning rules redact logs too: each rule's `regex` (the `regex` crate's syntax,
    /// which RE2's mostly shares), `secretGroup` (else the first group, else the match),
    /// `entropy` (least Shannon entropy of the secret), `keywords` (the rule runs only on text
    /// containing one, in lower, UPPER or Capitalized spelling, found by the anchor search),
    /// and allow-lists, per rule and global (`regexes` against the secret, the match or the
    /// line; `stopwords`; `condition`). Findings are [`Kind::Custom`] named by the rule's `id`.
    /// Paths and commits mean nothing in a log: path-only rules are skipped.
    ///
    /// ```
    /// use palisade_redact::Redactor;
    ///
    /// let rules = r#"
    /// [[rules]]
    /// id = "acme-key"
    /// regex = "acme_(?:live|test)_([a-z0-9]{24})"
    /// secretGroup = 1
    /// entropy = 3.0
    /// keywords = ["acme_"]
    /// [[rules.allowlists]]
    /// stopwords = ["000000"]
    /// "#;
    /// let r = Redactor::builder().gitleaks_rules(rules)?.build()?;
    /// assert_eq!(r.redact("key acme_live_k3j9x2m8q7w1z5r4t6y0u2p8"), "key acme_live_[REDACTED]");
    /// let example = "key acme_test_000000aaaaaaaaaaaaaaaaaa";
    /// assert_eq!(r.redact(example), example);
    /// # Ok::<(), palisade_redact::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidRule`] when the text is not TOML or not a gitleaks configuration,
    /// or a regex does not compile.
    pub fn gitleaks_rules(mut self, toml: &str) -> Result<Self, ConfigError> {
        let file = gitleaks::parse(toml)?;
        if file.extends.is_some() {
            return Err(ConfigError::InvalidRule {
                name: "[extend]".to_owned(),
                reason: "`path` names a file relative to this one: load it with \
                         `gitleaks_rules_file`"
                    .to_owned(),
            });
        }
        self.gitleaks.push(file);
        Ok(self)
    }

    /// [`gitleaks_rules`](Self::gitleaks_rules) from a file, which may extend another:
    /// `[extend] path = "base.toml"` (relative to the extending file's directory; at most
    /// three files in a chain, as gitleaks allows) loads the base's rules and allow-lists
    /// too; the file's `disabledRules` drops base rules by id, and a rule defined again under
    /// a base rule's id replaces it.
    ///
    /// ```
    /// use palisade_redact::Redactor;
    ///
    /// let dir = std::env::temp_dir().join(format!("palisade-doc-extend-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("base.toml"), r#"
    /// [[rules]]
    /// id = "acme-key"
    /// regex = "acme_[a-z0-9]{24}"
    /// keywords = ["acme_"]
    /// [[rules]]
    /// id = "legacy"
    /// regex = "old_[a-z0-9]{24}"
    /// keywords = ["old_"]
    /// "#)?;
    /// std::fs::write(
    ///     dir.join("team.toml"),
    ///     "[extend]\npath = \"base.toml\"\ndisabledRules = [\"legacy\"]\n",
    /// )?;
    /// let r = Redactor::builder().gitleaks_rules_file(dir.join("team.toml"))?.build()?;
    /// assert_eq!(r.redact("acme_k3j9x2m8q7w1z5r4t6y0u2p8"), "[REDACTED]");
    /// assert_eq!(r.redact("old_k3j9x2m8q7w1z5r4t6y0u2p8"), "old_k3j9x2m8q7w1z5r4t6y0u2p8");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidRule`] as for [`gitleaks_rules`](Self::gitleaks_rules), and when
    /// a file cannot be read or the chain of bases is longer than three files.
    pub fn gitleaks_rules_file(
        mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, ConfigError> {
        self.gitleaks.push(gitleaks::load(path.as_ref())?);
        Ok(self)
    }

    /// Recognises opaque tokens with another prefix (`myapp_`), in palisade's format: the
    /// prefix, 43 base62 characters, then the base62 CRC32 of those 43.
    #[must_use]
    pub fn opaque_token_prefix(mut self, prefix: &str) -> Self {
        self.prefixes.push(prefix.to_owned());
        self
    }

    /// Never redacts this exact value (documentation examples, test fixtures).
    #[must_use]
    pub fn allow(mut self, value: &str) -> Self {
        self.allow.push(value.to_owned());
        self
    }

    /// Redacts every value registered in `known`, now or later, wherever it occurs, as
    /// [`Kind::KnownSecret`]: the exact bytes of secrets the application loaded, which no
    /// pattern may recognise. The registry is shared, not copied: values inserted into or
    /// removed from any clone of it take effect at this redactor's next search.
    ///
    /// ```
    /// use palisade_redact::{KnownSecrets, Redactor};
    ///
    /// let known = KnownSecrets::new();
    /// let redactor = Redactor::builder().known_secrets(known.clone()).build()?;
    /// assert_eq!(redactor.redact("db pass Tr0ub4dor&3xyz"), "db pass Tr0ub4dor&3xyz");
    /// known.insert(b"Tr0ub4dor&3xyz")?;
    /// assert_eq!(redactor.redact("db pass Tr0ub4dor&3xyz"), "db pass [REDACTED]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn known_secrets(mut self, known: KnownSecrets) -> Self {
        self.known = Some(known);
        self
    }

    /// The replacement style for every kind without its own.
    #[must_use]
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// The replacement style for one kind (the last four digits of cards, say).
    #[must_use]
    pub fn style_for(mut self, kind: Kind, style: Style) -> Self {
        self.styles.insert(kind, style);
        self
    }

    /// The personal-data regexes that are enabled.
    fn pii(&self) -> Result<Pii, ConfigError> {
        let regex = |kind: Kind, pattern: &str| -> Result<Option<Regex>, ConfigError> {
            if !self.enabled_pii.contains(&kind) {
                return Ok(None);
            }
            Regex::new(pattern)
                .map(Some)
                .map_err(|e| ConfigError::InvalidRule {
                    name: kind.as_str().to_owned(),
                    reason: e.to_string(),
                })
        };
        Ok(Pii {
            email: regex(
                Kind::Email,
                r"(?-u)\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
            )?,
            phone: regex(
                Kind::Phone,
                r"(?-u)\+[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,5}\)?){2,6}\b",
            )?,
            iban: regex(
                Kind::Iban,
                r"(?-u)\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b",
            )?,
        })
    }

    /// The gitleaks rules as custom rules, their keywords as anchors.
    fn add_gitleaks(
        &self,
        patterns: &mut Vec<String>,
        targets: &mut Vec<Target>,
        custom: &mut Vec<CustomRule>,
    ) -> Result<(), ConfigError> {
        for file in &self.gitleaks {
            for rule in &file.rules {
                let regex = Regex::new(&rule.regex).map_err(|e| ConfigError::InvalidRule {
                    name: rule.id.clone(),
                    reason: e.to_string(),
                })?;
                // A keyword without a letter or digit cannot be searched in its case
                // variants; a rule with one runs on every text, as an unanchored rule.
                let anchored = !rule.keywords.is_empty()
                    && rule
                        .keywords
                        .iter()
                        .all(|k| k.bytes().any(|b| b.is_ascii_alphanumeric()));
                if anchored {
                    for keyword in &rule.keywords {
                        for variant in case_variants(keyword, true) {
                            patterns.push(variant);
                            targets.push(Target::CustomAnchor(custom.len()));
                        }
                    }
                }
                let mut allowlists = rule.allowlists.clone();
                allowlists.extend(
                    file.allowlists
                        .iter()
                        .filter(|a| a.target_rules.is_empty() || a.target_rules.contains(&rule.id))
                        .cloned(),
                );
                custom.push(CustomRule {
                    name: rule.id.as_str().into(),
                    regex,
                    anchored,
                    secret_group: rule.secret_group,
                    entropy: rule.entropy,
                    allowlists,
                    path: rule.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// The kinds turned off, personal data not enabled among them.
    fn disabled_set(&self) -> KindSet {
        let mut disabled = KindSet::default();
        for kind in &self.disabled {
            disabled.insert(*kind);
        }
        for kind in [Kind::Email, Kind::Phone, Kind::Iban] {
            if !self.enabled_pii.contains(&kind) {
                disabled.insert(kind);
            }
        }
        disabled
    }

    /// Turns off the built-in detectors the gitleaks files' `disabledRules` name (a family
    /// id, a kind's name, or the id of a gitleaks default rule a built-in detector covers):
    /// kinds go to the disabled set; the families are returned.
    fn disable_named_by_rule_files(&mut self) -> HashSet<&'static str> {
        let mut off_families = HashSet::new();
        let names: Vec<String> = self
            .gitleaks
            .iter()
            .flat_map(|f| f.disabled.iter().cloned())
            .collect();
        for name in &names {
            for target in gitleaks::built_in_names(name) {
                if let Some(family) = FAMILIES.iter().find(|f| f.id == target) {
                    off_families.insert(family.id);
                } else if let Some(rule) = keywords::RULES.iter().find(|r| r.id == target) {
                    off_families.insert(rule.id);
                } else if let Some(kind) = Kind::BUILT_IN.iter().find(|k| k.as_str() == target) {
                    self.disabled.insert(*kind);
                }
            }
        }
        off_families
    }

    /// The provider families' prefixes as anchors, but for families turned off.
    fn add_families(
        &self,
        off_families: &HashSet<&'static str>,
        patterns: &mut Vec<String>,
        targets: &mut Vec<Target>,
    ) {
        for (i, family) in FAMILIES.iter().enumerate() {
            if !self.disabled.contains(&family.kind) && !off_families.contains(family.id) {
                patterns.extend(family.prefixes.iter().map(|p| (*p).to_owned()));
                targets.extend(family.prefixes.iter().map(|_| Target::Family(i)));
            }
        }
    }

    /// Builds the redactor.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid rule, key name or prefix.
    pub fn build(mut self) -> Result<Redactor, ConfigError> {
        let off_families = self.disable_named_by_rule_files();
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Target> = Vec::new();
        for (literal, detector) in Detector::anchors() {
            for variant in case_variants(literal, detector.any_case()) {
                patterns.push(variant);
                targets.push(Target::Detector(detector.clone()));
            }
        }
        let mut canonical_keys = Vec::new();
        if !self.disabled.contains(&Kind::KeyValue) {
            // Sorted, so the searched literals come in the same order in every build of a
            // redactor (their order decides the SIMD searcher's buckets, hence its cost).
            let mut anchors = std::collections::BTreeSet::new();
            for key in &self.keys {
                let anchor =
                    keyvalue::anchor(key).ok_or_else(|| ConfigError::InvalidName(key.clone()))?;
                anchors.insert(anchor);
                canonical_keys.push(keyvalue::canonical(key));
            }
            for anchor in anchors {
                for variant in case_variants(&anchor, true) {
                    patterns.push(variant);
                    targets.push(Target::Key);
                }
            }
        }
        patterns.push("pal".to_owned());
        targets.push(Target::PalisadeOpaque);
        for prefix in &self.prefixes {
            let ok = (2..=16).contains(&prefix.len())
                && prefix.ends_with('_')
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(ConfigError::InvalidPrefix(prefix.clone()));
            }
            patterns.push(prefix.clone());
            targets.push(Target::Opaque);
        }
        let mut custom = Vec::new();
        for (name, pattern, anchors) in &self.rules {
            let regex = Regex::new(pattern).map_err(|e| ConfigError::InvalidRule {
                name: name.clone(),
                reason: e.to_string(),
            })?;
            for anchor in anchors {
                if !anchor.bytes().any(|b| b.is_ascii_alphanumeric()) {
                    return Err(ConfigError::InvalidName(anchor.clone()));
                }
                for variant in case_variants(anchor, true) {
                    patterns.push(variant);
                    targets.push(Target::CustomAnchor(custom.len()));
                }
            }
            custom.push(CustomRule {
                name: name.as_str().into(),
                regex,
                anchored: !anchors.is_empty(),
                secret_group: None,
                entropy: None,
                allowlists: Vec::new(),
                path: None,
            });
        }
        self.add_gitleaks(&mut patterns, &mut targets, &mut custom)?;
        self.add_families(&off_families, &mut patterns, &mut targets);
        let (anchors, groups, heads) = searchers(&patterns, &targets)?;
        let pii = self.pii()?;
        let disabled = self.disabled_set();
        Ok(Redactor {
            source: None,
            inner: Arc::new(Inner {
                anchors,
                groups,
                heads,
                keywords: Keywords::new(|r| {
                    !self.disabled.contains(&Kind::ProviderToken) && !off_families.contains(r.id)
                }),
                literals: patterns
                    .into_iter()
                    .map(|p| p.into_bytes().into_boxed_slice())
                    .collect(),
                family_ids: FAMILIES.iter().map(|f| Arc::from(f.id)).collect(),
                targets,
                keys: KeyRules::new(canonical_keys),
                disabled,
                extras: pii.any()
                    || !custom.is_empty()
                    || self.known.is_some()
                    || !self.allow.is_empty(),
                pii,
                custom,
                allow: self.allow.into_iter().map(String::into_bytes).collect(),
                known: self.known,
                style: self.style,
                styles: self.styles,
                #[cfg(feature = "metrics")]
                counters: crate::telemetry::Counters::register(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    #[test]
    fn small_sets_use_the_simd_searcher_large_ones_the_dfa() {
        // Without key names and provider families the detectors' anchors fit one Teddy.
        let r = RedactorBuilder::default()
            .disable(Kind::KeyValue)
            .disable(Kind::ProviderToken)
            .build()
            .unwrap();
        assert!(
            matches!(r.inner.anchors.parts[..], [(Anchors::Packed(_), 0)]),
            "{} anchors",
            r.inner.groups.len()
        );
        assert_eq!(r.redact("key AKIAQ7XJ3KDMN2PVR5TW"), "key [REDACTED]");
        // The default set: the provider prefixes that start words are looked up at their
        // separators, and what is left takes two Teddy passes, no DFA.
        let r = RedactorBuilder::default().build().unwrap();
        assert!(
            r.inner
                .anchors
                .parts
                .iter()
                .all(|(a, _)| matches!(a, Anchors::Packed(_))),
            "{} anchors",
            r.inner.groups.len()
        );
        assert_eq!(r.inner.anchors.parts.len(), 2);
        assert!(r.inner.heads.targets.len() > 80);
        // Many custom anchors take the DFA and find the same things.
        let mut b = RedactorBuilder::default();
        for i in 0..160 {
            b = b.key(&format!("k{i}word"));
        }
        let many = b.build().unwrap();
        assert!(
            many.inner
                .anchors
                .parts
                .iter()
                .any(|(a, _)| matches!(a, Anchors::Dfa(_)))
        );
        for (r, expected) in [
            (r, "k7word=x password=[REDACTED] key [REDACTED] [REDACTED]"),
            (
                many,
                "k7word=[REDACTED] password=[REDACTED] key [REDACTED] [REDACTED]",
            ),
        ] {
            assert_eq!(
                r.redact(
                    "k7word=x password=y key AKIAQ7XJ3KDMN2PVR5TW \
                     dop_v1_4f0c3a9e1b7d2c8f6a5e0d9c3b1a7f2e8d4c6b0a9f3e1d7c5b2a8e4f6d0c9b1a"
                ),
                expected
            );
        }
    }

    /// The lookup at separators as it was before the two-byte test: the one-byte test, then
    /// the word before the separator looked up.
    fn heads_before_the_two_byte_test(heads: &Heads, text: &[u8]) -> Vec<(Vec<usize>, usize)> {
        let mut out = Vec::new();
        for p in 1..text.len() {
            if !heads.last[Heads::slot(text[p])][usize::from(text[p - 1])] {
                continue;
            }
            if let Some((targets, start)) = heads.head_before(text, p) {
                out.push((targets.to_vec(), start));
            }
        }
        out
    }

    proptest::proptest! {
        /// The scan at separators, with its two-byte test, finds every head the lookup
        /// without that test finds, over texts made of the default set's heads (one-byte ones
        /// among them) glued to words, digits and separators.
        #[test]
        fn two_byte_test_keeps_every_head(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(
                        FAMILIES.iter().flat_map(|f| f.prefixes.iter().copied()).collect::<Vec<_>>()
                    ).prop_map(|p| p.as_bytes().to_vec()),
                    proptest::sample::select(vec!["ghp_", "npm_", "glpat-", "xoxb-", "s.", "k.", "SG."])
                        .prop_map(|p| p.as_bytes().to_vec()),
                    proptest::collection::vec(proptest::prop_oneof![
                        b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9',
                        proptest::sample::select(vec![b'_', b'-', b'.', b' ', b'=', b'"', b'/']),
                    ], 0..6),
                ],
                0..10,
            )
        ) {
            let text = pieces.concat();
            let r = Redactor::new();
            let heads = &r.inner.heads;
            let mut scanned = Vec::new();
            heads.for_each(
                &text,
                |targets, start| scanned.push((targets.to_vec(), start)),
                &r.inner.keywords,
                |_, _| {},
            );
            proptest::prop_assert_eq!(scanned, heads_before_the_two_byte_test(heads, &text));
        }
    }

    /// Redactors whose anchor sets differ: the default (two parts), one without key names
    /// (one part), and ones with a custom anchor, an allow-list and known secrets.
    fn short_scan_redactors() -> Vec<Redactor> {
        let known = KnownSecrets::new();
        known.insert(b"s3cr3t-value-1").unwrap();
        vec![
            Redactor::new(),
            RedactorBuilder::default()
                .disable(Kind::KeyValue)
                .build()
                .unwrap(),
            RedactorBuilder::default()
                .rule_with_anchor("acme", r"acme_[a-z0-9]{4,}", "acme_")
                .allow("hunter2")
                .known_secrets(known)
                .disable(Kind::Jwt)
                .build()
                .unwrap(),
        ]
    }

    /// Every literal each redactor searches for, and the default key names in their case
    /// variants.
    fn short_scan_words() -> Vec<String> {
        let mut words: Vec<String> = short_scan_redactors()
            .iter()
            .flat_map(|r| {
                r.inner
                    .anchors
                    .short
                    .as_ref()
                    .map_or_else(Vec::new, |(scan, _)| {
                        scan.literals
                            .iter()
                            .flatten()
                            .map(|l| String::from_utf8_lossy(l).into_owned())
                            .collect()
                    })
            })
            .collect();
        for key in keyvalue::DEFAULT_KEYS {
            words.extend(case_variants(key, true));
        }
        words.extend(
            [
                "[REDACTED]",
                "hunter2",
                "s3cr3t-value-1",
                "Bearer ",
                "user",
                "req-",
                "--",
            ]
            .map(str::to_owned),
        );
        words
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// The scan of short texts reports the hits the packed searchers report, in the same
        /// order, and `find` gives the same findings either way, over texts made of the
        /// searched literals, key names, placeholder words, operators, separators and random
        /// bytes, cut to every length up to past the scan's bound.
        #[test]
        fn short_scan_finds_what_the_packed_searchers_find(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(short_scan_words()).prop_map(String::into_bytes),
                    proptest::collection::vec(proptest::prop_oneof![
                        b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9',
                        proptest::sample::select(
                            b"_-.:=<> \"'/@\n\t~".to_vec()
                        ),
                        proptest::num::u8::ANY,
                    ], 0..6),
                ],
                0..12,
            ),
            cut in 0usize..80,
        ) {
            let mut text = pieces.concat();
            text.truncate(cut);
            for r in short_scan_redactors() {
                let hits = |short| {
                    let mut hits = Vec::new();
                    r.inner.anchors.for_each(&text, short, |p, at| hits.push((p, at)));
                    hits
                };
                proptest::prop_assert_eq!(hits(true), hits(false));
                proptest::prop_assert_eq!(r.find_with(&text, true), r.find_with(&text, false));
            }
        }
    }

    #[test]
    fn short_scan_serves_texts_below_the_simd_searchers_minimum() {
        let r = Redactor::new();
        let (scan, below) = r
            .inner
            .anchors
            .short
            .as_ref()
            .expect("the default set has one");
        // Both parts, every literal at least two bytes long.
        assert_eq!(scan.literals.len(), 2);
        assert!(*below > 8 && *below <= ShortScan::LONGEST + 1, "{below}");
        // Anchors at the start, at the end and across the bound, for every length around it.
        for len in 1..=ShortScan::LONGEST + 2 {
            for word in [
                "pass",
                "password=hunter2",
                "Bearer abcdef123456",
                "AKIA",
                "key=x",
            ] {
                for text in [
                    format!("{word}{}", "x".repeat(len.saturating_sub(word.len()))),
                    format!("{}{word}", "x".repeat(len.saturating_sub(word.len()))),
                    format!("{} {word}", "y".repeat(len.saturating_sub(word.len() + 1))),
                ] {
                    let text = text.as_bytes();
                    assert_eq!(
                        r.find_with(text, true),
                        r.find_with(text, false),
                        "{text:?}"
                    );
                }
            }
        }
        // What the audit log's fields and extra values look like: nothing in them, and the
        // key rule still fires in a short text.
        for field in [
            "auth.login",
            "user:17",
            "203.0.113.9",
            "session",
            "req-0000002a",
            "password",
        ] {
            assert!(r.find(field.as_bytes()).is_empty(), "{field}");
        }
        assert_eq!(r.redact("password=hunter2"), "password=[REDACTED]");
        assert_eq!(r.redact("pwd:x"), "pwd:[REDACTED]");
        // A one-byte custom anchor: no scan, the packed searchers serve every text.
        let one = RedactorBuilder::default()
            .rule_with_anchor("one", r"q[0-9]{6}", "q")
            .build()
            .unwrap();
        assert!(one.inner.anchors.short.is_none());
        assert_eq!(one.redact("id q123456"), "id [REDACTED]");
    }

    /// What [`Heads::for_each`] must report for `text`: each separator and each operator
    /// looked at byte by byte, as the scan once did for the bytes after its last whole word.
    #[allow(clippy::type_complexity, reason = "a test's pair of logs")]
    fn heads_byte_by_byte(
        r: &Redactor,
        text: &[u8],
    ) -> (Vec<(Vec<usize>, usize)>, Vec<(Arc<str>, Range<usize>)>) {
        let inner = &*r.inner;
        let (mut heads, mut keywords) = (Vec::new(), Vec::new());
        for (p, b) in text.iter().enumerate() {
            if matches!(b, b'_' | b'-' | b'.') && inner.heads.may_end(text, p) {
                inner
                    .heads
                    .at(text, p, &mut |t: &[usize], s| heads.push((t.to_vec(), s)));
            }
            if matches!(b, b'=' | b':' | b'<') {
                inner
                    .keywords
                    .operator(text, p, &mut |id: &Arc<str>, range| {
                        keywords.push((id.clone(), range));
                    });
            }
        }
        (heads, keywords)
    }

    /// The heads' literals and the provider keywords, with separators, operators and values.
    fn heads_words() -> Vec<String> {
        let r = Redactor::new();
        let mut words: Vec<String> = r
            .inner
            .heads
            .targets
            .keys()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        words.extend(
            keywords::provider_keyword_rules()
                .flat_map(|rule| rule.keywords.iter().map(|k| (*k).to_owned())),
        );
        words.extend(
            [
                "_",
                "-",
                ".",
                "=",
                ":",
                "<-",
                ":=",
                "_key=",
                "_token: ",
                " ",
                "\"\"",
                "AbCdEfGh12345678",
                "0123456789abcdef0123",
                "zZ9",
            ]
            .map(str::to_owned),
        );
        words
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// The scan of separators and operators sixteen bytes at a time, its last chunk the
        /// text's last sixteen bytes (or a padded copy of a shorter text), reports what a scan
        /// byte by byte reports, at every length.
        #[test]
        fn heads_scan_as_byte_by_byte(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(heads_words()).prop_map(String::into_bytes),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
                ],
                0..10,
            ),
            cut in 0usize..80,
        ) {
            let mut text = pieces.concat();
            text.truncate(cut);
            // Every rule, and no provider keyword rule (separators only).
            let no_keywords = RedactorBuilder::default()
                .disable(Kind::ProviderToken)
                .build()
                .unwrap();
            assert!(no_keywords.inner.keywords.is_empty());
            for r in [Redactor::new(), no_keywords] {
                let (mut heads, mut keywords) = (Vec::new(), Vec::new());
                r.inner.heads.for_each(
                    &text,
                    |t, s| heads.push((t.to_vec(), s)),
                    &r.inner.keywords,
                    |id, range| keywords.push((id.clone(), range)),
                );
                proptest::prop_assert_eq!((heads, keywords), heads_byte_by_byte(&r, &text));
            }
        }
    }

    #[test]
    fn heads_are_found_at_word_starts_only() {
        let r = Redactor::new();
        let token = "dop_v1_4f0c3a9e1b7d2c8f6a5e0d9c3b1a7f2e8d4c6b0a9f3e1d7c5b2a8e4f6d0c9b1a";
        for (text, found) in [
            (token.to_owned(), true),
            (format!("x={token}"), true),
            (format!("\"{token}\""), true),
            (format!("a.{token}"), true),
            (format!("xdop{}", &token[3..]), false),
            (format!("x_{token}"), false),
            (format!("9{token}"), false),
        ] {
            let hit = r
                .find(text.as_bytes())
                .iter()
                .any(|f| f.rule.as_deref() == Some("digitalocean_token"));
            assert_eq!(hit, found, "{text}");
        }
    }

    /// The separator and operator scan reads sixteen bytes at a time, then the text's last
    /// sixteen (or a padded copy of a shorter text): a head and a keyword operator are found
    /// wherever they fall against those chunks, and nothing is found twice.
    #[test]
    fn the_chunked_scan_finds_heads_and_operators_at_every_offset() {
        let r = Redactor::new();
        let token = "dop_v1_4f0c3a9e1b7d2c8f6a5e0d9c3b1a7f2e8d4c6b0a9f3e1d7c5b2a8e4f6d0c9b1a";
        for pad in 0..40 {
            for tail in ["", " ok", " done after a while"] {
                let text = format!("{} {token}{tail}", "w".repeat(pad));
                let found = r.find(text.as_bytes());
                assert_eq!(found.len(), 1, "{text}");
                assert_eq!(&text[found[0].range.clone()], token, "{text}");
                let text = format!(
                    "{} datadog_api_key: 4f0c3a9e1b7d2c8f6a5e0d9c3b1a7f2e{tail}",
                    "w".repeat(pad)
                );
                assert_eq!(r.find(text.as_bytes()).len(), 1, "{text}");
            }
        }
    }

    #[test]
    fn literals_that_prefix_others_do_not_hide_them() {
        let literals: Vec<String> = ["key", "key-", "secr", "secret_", "pat.", "pal"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let (searched, groups) = prefix_free(&literals);
        assert_eq!(searched, ["key", "pal", "secr", "pat."]);
        assert_eq!(groups, [vec![0, 1], vec![5], vec![2, 3], vec![4]]);
        // Mailgun's `key-` and the key rule's `key` both fire at the same place.
        let r = Redactor::new();
        let mailgun = "key-3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e";
        assert_eq!(
            r.find(mailgun.as_bytes())[0].rule.as_deref(),
            Some("mailgun_api_key")
        );
        assert_eq!(r.redact("api_key=hunter2"), "api_key=[REDACTED]");
    }

    #[test]
    fn merge_unions_overlaps() {
        let f = |s, e| Finding {
            kind: Kind::KeyValue,
            range: s..e,
            rule: None,
        };
        let merged = merge(vec![f(5, 9), f(0, 3), f(2, 6), f(10, 12)]);
        let ranges: Vec<_> = merged.into_iter().map(|f| f.range).collect();
        assert_eq!(ranges, [0..9, 10..12]);
    }
}
