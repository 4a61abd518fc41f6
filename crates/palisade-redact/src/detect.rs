//! The built-in token detectors. Each is found by an anchor (a fixed literal the anchor search
//! reports) and then confirmed by the exact format, boundaries and checksum, so a benign line
//! that merely contains `AKIA` or `eyJ` is left alone.

use core::ops::Range;

use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{checks, kind::Kind};

/// A detector reached through an anchor literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detector {
    Aws,
    GitHub,
    GitHubPat,
    GitLab,
    Slack,
    SlackWebhook,
    Stripe,
    Google,
    SendGrid,
    Npm,
    PyPi,
    Jwt,
    Bearer,
    Basic,
    UrlPassword,
    Pem,
}

impl Detector {
    /// The anchor literals of every built-in detector.
    pub(crate) fn anchors() -> Vec<(&'static str, Self)> {
        let mut out = vec![
            ("AKIA", Self::Aws),
            ("ASIA", Self::Aws),
            ("ABIA", Self::Aws),
            ("ACCA", Self::Aws),
            ("github_pat_", Self::GitHubPat),
            ("glpat-", Self::GitLab),
            ("glptt-", Self::GitLab),
            ("gldt-", Self::GitLab),
            ("glrt-", Self::GitLab),
            ("gloas-", Self::GitLab),
            ("hooks.slack.com/services/", Self::SlackWebhook),
            ("AIza", Self::Google),
            ("SG.", Self::SendGrid),
            ("npm_", Self::Npm),
            ("pypi-AgEIcHlwaS5vcmc", Self::PyPi),
            ("eyJ", Self::Jwt),
            ("bearer", Self::Bearer),
            ("basic", Self::Basic),
            ("://", Self::UrlPassword),
            ("-----BEGIN ", Self::Pem),
        ];
        for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            out.push((p, Self::GitHub));
        }
        out.push(("xox", Self::Slack));
        out.push(("k_live_", Self::Stripe));
        out.push(("k_test_", Self::Stripe));
        out
    }

    /// Whether the anchor is searched in any case (`Bearer`, `BEARER`, `bearer`).
    pub(crate) fn any_case(&self) -> bool {
        matches!(self, Self::Bearer | Self::Basic)
    }

    /// Confirms a finding at an anchor `at` in `text`.
    pub(crate) fn confirm(&self, text: &[u8], at: Range<usize>) -> Option<(Kind, Range<usize>)> {
        let (s, e) = (at.start, at.end);
        match self {
            Self::Aws => {
                let end = s + 20;
                (starts_token(text, s)
                    && run_len(
                        text,
                        e,
                        |b| b.is_ascii_uppercase() || b.is_ascii_digit(),
                        16,
                    ) == 16
                    && ends_token(text, end))
                .then_some((Kind::AwsAccessKeyId, s..end))
            }
            Self::GitHub => checksummed(text, s, e, 30, Kind::GitHubToken),
            Self::Npm => checksummed(text, s, e, 30, Kind::NpmToken),
            Self::GitHubPat => {
                let a = run_len(text, e, u8::is_ascii_alphanumeric, 22);
                let under = e + a;
                let b = run_len(text, under + 1, u8::is_ascii_alphanumeric, 59);
                (starts_token(text, s)
                    && a == 22
                    && text.get(under) == Some(&b'_')
                    && b == 59
                    && ends_token(text, under + 1 + b))
                .then_some((Kind::GitHubToken, s..under + 1 + b))
            }
            Self::GitLab => {
                let n = run_len(
                    text,
                    e,
                    |b| b.is_ascii_alphanumeric() || b"_-.".contains(b),
                    256,
                );
                (starts_token(text, s) && n >= 20).then_some((Kind::GitLabToken, s..e + n))
            }
            Self::Slack => {
                // The anchor is `xox`; then the token type and a dash.
                let typed = text.get(e).is_some_and(|b| b"baprse".contains(b))
                    && text.get(e + 1) == Some(&b'-');
                let body = e + 2;
                let n = run_len(text, body, |b| b.is_ascii_alphanumeric() || *b == b'-', 256);
                (typed && starts_token(text, s) && n >= 10)
                    .then_some((Kind::SlackToken, s..body + n))
            }
            Self::SlackWebhook => {
                let n = run_len(text, e, |b| b.is_ascii_alphanumeric() || *b == b'/', 256);
                (n >= 20).then_some((Kind::SlackToken, e..e + n))
            }
            Self::Stripe => {
                // The anchor is `k_live_`/`k_test_`; the key starts one byte earlier.
                let s = s.checked_sub(1)?;
                let n = run_len(text, e, u8::is_ascii_alphanumeric, 256);
                ((text[s] == b's' || text[s] == b'r')
                    && starts_token(text, s)
                    && n >= 20
                    && ends_token(text, e + n))
                .then_some((Kind::StripeKey, s..e + n))
            }
            Self::Google => {
                let n = run_len(text, e, is_b64url, 35);
                (starts_token(text, s) && n == 35 && ends_token(text, e + n))
                    .then_some((Kind::GoogleApiKey, s..e + n))
            }
            Self::SendGrid => {
                let a = run_len(text, e, is_b64url, 22);
                let dot = e + a;
                let b = run_len(text, dot + 1, is_b64url, 43);
                (starts_token(text, s)
                    && a == 22
                    && text.get(dot) == Some(&b'.')
                    && b == 43
                    && ends_token(text, dot + 1 + b))
                .then_some((Kind::SendGridKey, s..dot + 1 + b))
            }
            Self::PyPi => {
                let n = run_len(text, e, is_b64url, 4096);
                (starts_token(text, s) && n >= 50).then_some((Kind::PyPiToken, s..e + n))
            }
            Self::Jwt => jwt(text, s),
            Self::Bearer => {
                let token = after_scheme(text, s, e)?;
                let n = run_len(text, token, is_token68, 8192);
                let n = n + run_len(text, token + n, |b| *b == b'=', 2);
                (n >= 16).then_some((Kind::BearerToken, token..token + n))
            }
            Self::Basic => {
                let token = after_scheme(text, s, e)?;
                let n = run_len(
                    text,
                    token,
                    |b| b.is_ascii_alphanumeric() || b"+/".contains(b),
                    4096,
                );
                let n = n + run_len(text, token + n, |b| *b == b'=', 2);
                let decoded = STANDARD.decode(&text[token..token + n]).ok()?;
                (n >= 8 && decoded.contains(&b':') && decoded.iter().all(|b| !b.is_ascii_control()))
                    .then_some((Kind::BasicAuth, token..token + n))
            }
            Self::UrlPassword => url_password(text, e),
            Self::Pem => pem(text, s, e),
        }
    }
}

/// `prefix` + `random` base62 characters + six base62 CRC32 characters of the random part.
pub(crate) fn checksummed(
    text: &[u8],
    s: usize,
    e: usize,
    random: usize,
    kind: Kind,
) -> Option<(Kind, Range<usize>)> {
    let total = random + 6;
    let n = run_len(text, e, u8::is_ascii_alphanumeric, total + 1);
    (starts_token(text, s)
        && n == total
        && checks::crc32_base62_suffix(&text[e..e + random], &text[e + random..e + total]))
    .then_some((kind, s..e + total))
}

fn jwt(text: &[u8], s: usize) -> Option<(Kind, Range<usize>)> {
    if !starts_token(text, s) {
        return None;
    }
    let h = run_len(text, s, is_b64url, 8192);
    let dot1 = s + h;
    if text.get(dot1) != Some(&b'.') {
        return None;
    }
    let p = run_len(text, dot1 + 1, is_b64url, 65536);
    let dot2 = dot1 + 1 + p;
    if p < 2 || text.get(dot2) != Some(&b'.') {
        return None;
    }
    let sig = run_len(text, dot2 + 1, is_b64url, 8192);
    let end = dot2 + 1 + sig;
    (checks::b64_json_object(&text[s..dot1]) && checks::b64_json_object(&text[dot1 + 1..dot2]))
        .then_some((Kind::Jwt, s..end))
}

/// After `Bearer`/`Basic` (which must start a word), the credential's start.
fn after_scheme(text: &[u8], s: usize, e: usize) -> Option<usize> {
    if s > 0 && text[s - 1].is_ascii_alphanumeric() {
        return None;
    }
    let spaces = run_len(text, e, |b| *b == b' ' || *b == b'\t', 16);
    (spaces > 0).then_some(e + spaces)
}

/// `scheme://user:password@host`: the password.
fn url_password(text: &[u8], e: usize) -> Option<(Kind, Range<usize>)> {
    let n = run_len(
        text,
        e,
        // RFC 3986 user information has no `[`, `]` (nor any replacement this crate writes).
        |b| !b.is_ascii_whitespace() && !b"/?#@\"'<>[]".contains(b),
        1024,
    );
    if text.get(e + n) != Some(&b'@') {
        return None;
    }
    let userinfo = &text[e..e + n];
    let colon = memchr::memchr(b':', userinfo)?;
    let start = e + colon + 1;
    // A password that is already a replacement stays as it is, so redaction is idempotent.
    (start < e + n && !text[start..].starts_with(crate::style::REDACTED_PREFIX))
        .then_some((Kind::UrlPassword, start..e + n))
}

/// A PEM private key block; without its END line, everything to the end of the text.
fn pem(text: &[u8], s: usize, e: usize) -> Option<(Kind, Range<usize>)> {
    pem_block(text, s, e).map(|(range, _)| (Kind::PrivateKey, range))
}

/// The block starting at `s` (the anchor ends at `e`) and whether its END line was found.
fn pem_block(text: &[u8], s: usize, e: usize) -> Option<(Range<usize>, bool)> {
    let label_len = run_len(text, e, |b| b.is_ascii_uppercase() || *b == b' ', 64);
    let label = &text[e..e + label_len];
    if !label.ends_with(b"PRIVATE KEY") || !text[e + label_len..].starts_with(b"-----") {
        return None;
    }
    let mut end_marker = b"-----END ".to_vec();
    end_marker.extend_from_slice(label);
    end_marker.extend_from_slice(b"-----");
    let body = e + label_len + 5;
    Some(match memchr::memmem::find(&text[body..], &end_marker) {
        Some(i) => (s..body + i + end_marker.len(), true),
        None => (s..text.len(), false),
    })
}

/// Where a stream must start holding `text` back (a line start), if `text` has a private key
/// block without its END line: the line of the first such block, moved earlier while any
/// block starts before that point and ends after it, so no block is split from its END line.
pub(crate) fn hold_point(text: &[u8]) -> Option<usize> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let blocks: Vec<(Range<usize>, bool)> = memchr::memmem::find_iter(text, BEGIN)
        .filter_map(|start| pem_block(text, start, start + BEGIN.len()))
        .collect();
    let line_start = |at: usize| memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
    let open = blocks.iter().find(|(_, done)| !done)?;
    let mut hold = line_start(open.0.start);
    while let Some((block, _)) = blocks.iter().find(|(b, _)| b.start < hold && b.end > hold) {
        hold = line_start(block.start);
    }
    Some(hold)
}

/// Length of the run of bytes from `at` satisfying `f`, at most `max`.
pub(crate) fn run_len(text: &[u8], at: usize, f: impl Fn(&u8) -> bool, max: usize) -> usize {
    text.get(at..)
        .map_or(0, |rest| rest.iter().take(max).take_while(|b| f(b)).count())
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "a predicate beside u8's own, which take &u8"
)]
fn is_b64url(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "a predicate beside u8's own, which take &u8"
)]
fn is_token68(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(b)
}

/// A token starts a word: nothing alphanumeric (or `_`) right before it.
fn starts_token(text: &[u8], s: usize) -> bool {
    s == 0 || !(text[s - 1].is_ascii_alphanumeric() || text[s - 1] == b'_')
}

/// A token ends a word: nothing alphanumeric right after it.
fn ends_token(text: &[u8], e: usize) -> bool {
    text.get(e).is_none_or(|b| !b.is_ascii_alphanumeric())
}
