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
    UserFlag,
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
            // GitLab's prefixes share `gl` + one of these; `GR1348941` is a runner
            // registration token.
            ("glpat-", Self::GitLab),
            ("glpt", Self::GitLab),
            ("gldt-", Self::GitLab),
            ("glrt-", Self::GitLab),
            ("gloas-", Self::GitLab),
            ("glcbt-", Self::GitLab),
            ("glff", Self::GitLab),
            ("glft-", Self::GitLab),
            ("glimt-", Self::GitLab),
            ("glagent-", Self::GitLab),
            ("glsoat-", Self::GitLab),
            ("GR1348941", Self::GitLab),
            ("hooks.slack.com/", Self::SlackWebhook),
            ("xapp-", Self::Slack),
            ("AIza", Self::Google),
            ("SG.", Self::SendGrid),
            ("npm_", Self::Npm),
            ("pypi-AgE", Self::PyPi),
            ("eyJ", Self::Jwt),
            ("bearer", Self::Bearer),
            ("basic", Self::Basic),
            ("://", Self::UrlPassword),
            ("-----BEGIN ", Self::Pem),
            // `curl -u user:password`, `--user user:password`.
            ("-u ", Self::UserFlag),
            ("--user", Self::UserFlag),
        ];
        for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            out.push((p, Self::GitHub));
        }
        out.push(("xox", Self::Slack));
        out.push(("k_live_", Self::Stripe));
        out.push(("k_test_", Self::Stripe));
        out
    }

    /// Whether every finding starts a word at the anchor (the confirmation rejects an anchor
    /// with a letter, digit or `_` right before it; Slack's `xoxe.` config prefix sits before
    /// a word start of its own).
    pub(crate) fn at_token_start(&self) -> bool {
        matches!(
            self,
            Self::GitHub
                | Self::GitHubPat
                | Self::GitLab
                | Self::Npm
                | Self::SendGrid
                | Self::PyPi
                | Self::Slack
        )
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
                    && ends_token(text, end)
                    && !checks::is_placeholder(&text[e..end]))
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
            Self::GitLab => gitlab(text, s),
            Self::Slack => slack(text, s, e),
            Self::SlackWebhook => slack_webhook(text, e),
            Self::Stripe => {
                // The anchor is `k_live_`/`k_test_`; the key starts one byte earlier.
                let s = s.checked_sub(1)?;
                let n = run_len(text, e, u8::is_ascii_alphanumeric, 256);
                ((text[s] == b's' || text[s] == b'r')
                    && starts_token(text, s)
                    && n >= 20
                    && ends_token(text, e + n)
                    && !checks::is_placeholder(&text[e..e + n]))
                .then_some((Kind::StripeKey, s..e + n))
            }
            Self::Google => {
                let n = run_len(text, e, is_b64url, 35);
                (starts_token(text, s)
                    && n == 35
                    && ends_token(text, e + n)
                    && !checks::is_placeholder(&text[e..e + n]))
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
                    && ends_token(text, dot + 1 + b)
                    && !checks::is_placeholder(&text[dot + 1..dot + 1 + b]))
                .then_some((Kind::SendGridKey, s..dot + 1 + b))
            }
            Self::PyPi => {
                // A macaroon whose location is `pypi.org` or `test.pypi.org`, base64url.
                let rest = [&b"IcHlwaS5vcmc"[..], b"NdGVzdC5weXBpLm9yZw"]
                    .into_iter()
                    .find(|l| text[e..].starts_with(l))?;
                let body = e + rest.len();
                let n = run_len(text, body, is_b64url, 4096);
                (starts_token(text, s) && n >= 50 && !checks::is_placeholder(&text[body..body + n]))
                    .then_some((Kind::PyPiToken, s..body + n))
            }
            Self::Jwt => jwt(text, s),
            Self::Bearer => {
                let token = after_scheme(text, s, e)?;
                let n = run_len(text, token, is_token68, 8192);
                let n = n + run_len(text, token + n, |b| *b == b'=', 2);
                (n >= 16 && !checks::is_placeholder(&text[token..token + n]))
                    .then_some((Kind::BearerToken, token..token + n))
            }
            Self::Basic => {
                let token = after_scheme(text, s, e)?;
                let n = run_len(
                    text,
                    token,
                    |b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'),
                    4096,
                );
                let n = n + run_len(text, token + n, |b| *b == b'=', 2);
                // Short words after `Basic` (`Basic auth disabled`) are not decoded at all.
                if n < 8 {
                    return None;
                }
                let decoded = STANDARD.decode(&text[token..token + n]).ok()?;
                (decoded.contains(&b':') && decoded.iter().all(|b| !b.is_ascii_control()))
                    .then_some((Kind::BasicAuth, token..token + n))
            }
            Self::UrlPassword => url_password(text, e),
            Self::Pem => pem(text, s, e),
            Self::UserFlag => user_flag(text, s, e),
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
    if p < 2 {
        return None;
    }
    if text.get(dot2) != Some(&b'.') {
        // An unsigned token without its trailing dot (`header.payload`): the header must
        // name an algorithm, so two base64 JSON objects joined by a dot are not enough.
        return (ends_token(text, dot2)
            && checks::b64_json_object_with(&text[s..dot1], "alg")
            && checks::b64_json_object(&text[dot1 + 1..dot2]))
        .then_some((Kind::Jwt, s..dot2));
    }
    let sig = run_len(text, dot2 + 1, is_b64url, 8192);
    let end = dot2 + 1 + sig;
    (checks::b64_json_object(&text[s..dot1]) && checks::b64_json_object(&text[dot1 + 1..dot2]))
        .then_some((Kind::Jwt, s..end))
}

/// GitLab's tokens by prefix, at their published lengths: `glpat-` and the other 20-character
/// kinds, `glimt-` 25, `glagent-` 50, `gloas-` 64, `glptt-` 40 hex, `glcbt-` with its
/// partition (`glcbt-64_…`), and the routable form of personal access and runner tokens
/// (`glpat-<27 to 300>.<2><7>`).
fn gitlab(text: &[u8], s: usize) -> Option<(Kind, Range<usize>)> {
    if !starts_token(text, s) {
        return None;
    }
    // The anchor may stop short of the dash (`glpt`, `glff`): read the whole prefix.
    let prefix_len = if text[s..].starts_with(b"GR1348941") {
        9
    } else {
        run_len(text, s, u8::is_ascii_alphanumeric, 16)
    };
    let prefix = &text[s..s + prefix_len];
    let body = s + prefix_len + 1;
    if prefix != b"GR1348941" && text.get(s + prefix_len) != Some(&b'-') {
        // `GR1348941` runs straight into its 20 characters.
        return None;
    }
    let (body, lengths): (usize, &[usize]) = match prefix {
        b"glpat" | b"gldt" | b"glrt" | b"glffct" | b"glft" | b"glsoat" => (body, &[20]),
        b"glimt" => (body, &[25]),
        b"glagent" => (body, &[50]),
        b"gloas" => (body, &[64]),
        b"glptt" => {
            let n = run_len(
                text,
                body,
                |b| b.is_ascii_digit() || (b'a'..=b'f').contains(b),
                41,
            );
            return (n == 40
                && ends_token(text, body + n)
                && !checks::is_placeholder(&text[body..body + n]))
            .then_some((Kind::GitLabToken, s..body + n));
        }
        b"glcbt" => {
            let part = run_len(text, body, u8::is_ascii_alphanumeric, 6);
            if !(1..=5).contains(&part) || text.get(body + part) != Some(&b'_') {
                return None;
            }
            (body + part + 1, &[20])
        }
        b"GR1348941" => (s + prefix_len, &[20]),
        _ => return None,
    };
    let n = run_len(text, body, is_b64url, 301);
    let end = body + n;
    if lengths.contains(&n) && ends_token(text, end) && text.get(end) != Some(&b'-') {
        return (!checks::is_placeholder(&text[body..end])).then_some((Kind::GitLabToken, s..end));
    }
    // Routable tokens: a base64url payload, a dot, a two-character version and a
    // seven-character checksum field, the two written with or without a dot between them.
    if !(matches!(prefix, b"glpat" | b"glrt") && (27..=300).contains(&n))
        || text.get(end) != Some(&b'.')
        || checks::is_placeholder(&text[body..end])
    {
        return None;
    }
    let lower_alnum = |b: &u8| b.is_ascii_digit() || b.is_ascii_lowercase();
    let tail = if text.get(end + 3) == Some(&b'.') {
        (run_len(text, end + 1, lower_alnum, 3) == 2 && run_len(text, end + 4, lower_alnum, 8) == 7)
            .then_some(end + 11)
    } else {
        (run_len(text, end + 1, lower_alnum, 10) == 9).then_some(end + 10)
    }?;
    ends_token(text, tail).then_some((Kind::GitLabToken, s..tail))
}

/// `hooks.slack.com/services/T…/B…/secret`, `…/workflows/…`, `…/triggers/…`: the path.
fn slack_webhook(text: &[u8], e: usize) -> Option<(Kind, Range<usize>)> {
    let kind = [&b"services/"[..], b"workflows/", b"triggers/"]
        .into_iter()
        .find(|k| text[e..].starts_with(k))?;
    let path = e + kind.len();
    let n = run_len(text, path, |b| b.is_ascii_alphanumeric() || *b == b'/', 256);
    let secret = text[path..path + n].rsplit(|b| *b == b'/').next()?;
    (n >= 20 && secret.len() >= 8 && !checks::is_placeholder(secret))
        .then_some((Kind::SlackToken, e..path + n))
}

/// Slack tokens: `xox` + type letter (`b`ot, `p`/`e` user, `a`/`r` workspace app, `o`/`s`
/// legacy) or `xapp`, a dash, then dash-separated groups whose first is a number (a team,
/// user or version id) and whose last is the random part; config tokens (`xoxe.xoxb-…`)
/// are taken whole.
fn slack(text: &[u8], s: usize, e: usize) -> Option<(Kind, Range<usize>)> {
    let body = if text[s..].starts_with(b"xapp-") {
        e
    } else {
        let typed = text
            .get(e)
            .is_some_and(|b| matches!(b, b'a' | b'b' | b'e' | b'o' | b'p' | b'r' | b's'))
            && text.get(e + 1) == Some(&b'-');
        if !typed {
            return None;
        }
        e + 2
    };
    // `xoxe.` before a config token belongs to it.
    let start = if s >= 5 && &text[s - 5..s] == b"xoxe." {
        s - 5
    } else {
        s
    };
    if !starts_token(text, start) {
        return None;
    }
    let n = run_len(text, body, |b| b.is_ascii_alphanumeric() || *b == b'-', 256);
    let token = &text[body..body + n];
    let first = token.split(|b| *b == b'-').next()?;
    let last = token.rsplit(|b| *b == b'-').next()?;
    (n >= 20
        && !first.is_empty()
        && first.iter().all(u8::is_ascii_digit)
        && last.len() >= 8
        && !checks::is_placeholder(last))
    .then_some((Kind::SlackToken, start..body + n))
}

/// After `Bearer`/`Basic` (which must start a word), the credential's start.
fn after_scheme(text: &[u8], s: usize, e: usize) -> Option<usize> {
    if s > 0 && text[s - 1].is_ascii_alphanumeric() {
        return None;
    }
    let spaces = run_len(text, e, |b| *b == b' ' || *b == b'\t', 16);
    (spaces > 0).then_some(e + spaces)
}

/// `-u user:password` or `--user user:password` (`=` too), a command line's credentials: the
/// password. The flag must start a word; a value without `:` is a user name alone, and
/// `uid:gid` (digits both) is no credential.
fn user_flag(text: &[u8], s: usize, e: usize) -> Option<(Kind, Range<usize>)> {
    if s > 0 && !text[s - 1].is_ascii_whitespace() {
        return None;
    }
    let mut v = e;
    if text[s..e].ends_with(b"--user") {
        if !matches!(text.get(v), Some(b' ' | b'=')) {
            return None;
        }
        v += 1;
    }
    v += run_len(text, v, |b| *b == b' ', 16);
    let quote = text.get(v).copied().filter(|q| *q == b'"' || *q == b'\'');
    if quote.is_some() {
        v += 1;
    }
    let n = run_len(
        text,
        v,
        |b| !b.is_ascii_whitespace() && Some(*b) != quote && *b != b'"' && *b != b'\'',
        1024,
    );
    let colon = memchr::memchr(b':', &text[v..v + n])?;
    let password = v + colon + 1..v + n;
    let value = &text[password.clone()];
    // `docker run -u 1000:1000` is a user and group id.
    let ids =
        text[v..v + colon].iter().all(u8::is_ascii_digit) && value.iter().all(u8::is_ascii_digit);
    (!value.is_empty()
        && !ids
        && !value.starts_with(crate::style::REDACTED_PREFIX)
        && !checks::is_template(value))
    .then_some((Kind::BasicAuth, password))
}

/// `scheme://user:password@host`: the password.
fn url_password(text: &[u8], e: usize) -> Option<(Kind, Range<usize>)> {
    let n = run_len(
        text,
        e,
        // RFC 3986 user information has no `[`, `]` (nor any replacement this crate writes).
        |b| {
            !b.is_ascii_whitespace()
                && !matches!(
                    b,
                    b'/' | b'?' | b'#' | b'@' | b'"' | b'\'' | b'<' | b'>' | b'[' | b']'
                )
        },
        1024,
    );
    if text.get(e + n) != Some(&b'@') {
        return None;
    }
    let userinfo = &text[e..e + n];
    let colon = memchr::memchr(b':', userinfo)?;
    let start = e + colon + 1;
    // A password that is already a replacement stays as it is, so redaction is idempotent.
    (start < e + n
        && !text[start..].starts_with(crate::style::REDACTED_PREFIX)
        && !checks::is_template(&text[start..e + n]))
    .then_some((Kind::UrlPassword, start..e + n))
}

/// A PEM private key block; without its END line, everything to the end of the text.
fn pem(text: &[u8], s: usize, e: usize) -> Option<(Kind, Range<usize>)> {
    pem_block(text, s, e).map(|(range, _)| (Kind::PrivateKey, range))
}

/// The block starting at `s` (the anchor ends at `e`) and whether its END line was found.
/// Labels ending in `PRIVATE KEY` (PKCS #1 and #8, EC, OpenSSH, encrypted) and PGP's
/// `PGP PRIVATE KEY BLOCK`. A complete block whose body is not key material is no block.
fn pem_block(text: &[u8], s: usize, e: usize) -> Option<(Range<usize>, bool)> {
    let label_len = run_len(text, e, |b| b.is_ascii_uppercase() || *b == b' ', 64);
    let label = &text[e..e + label_len];
    if !(label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK"))
        || !text[e + label_len..].starts_with(b"-----")
    {
        return None;
    }
    let mut end_marker = b"-----END ".to_vec();
    end_marker.extend_from_slice(label);
    end_marker.extend_from_slice(b"-----");
    let body = e + label_len + 5;
    Some(match memchr::memmem::find(&text[body..], &end_marker) {
        Some(i) => {
            if !key_material(&text[body..body + i]) {
                return None;
            }
            (s..body + i + end_marker.len(), true)
        }
        None => (s..text.len(), false),
    })
}

/// Whether a block body may hold key material: anything but an obvious stand-in, which is,
/// armour headers (`Proc-Type: …`, `Version: …`) and white space aside, nothing, one
/// lower-case word (`anything`, `redacted`), an ellipsis, or a template (`<key>`, `XXXX…`).
/// Anything else, however malformed, is treated as a key: in doubt, redact.
fn key_material(body: &[u8]) -> bool {
    let mut compact = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.contains(&b':') && !line.starts_with(b"-----") {
            continue;
        }
        compact.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
    }
    !(compact.is_empty()
        || compact.iter().all(u8::is_ascii_lowercase)
        || memchr::memmem::find(&compact, b"...").is_some()
        || memchr::memmem::find(&compact, "\u{2026}".as_bytes()).is_some()
        || checks::is_template(&compact))
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
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// A token starts a word: nothing alphanumeric (or `_`) right before it.
pub(crate) fn starts_token(text: &[u8], s: usize) -> bool {
    s == 0 || !(text[s - 1].is_ascii_alphanumeric() || text[s - 1] == b'_')
}

/// A token ends a word: nothing alphanumeric right after it.
pub(crate) fn ends_token(text: &[u8], e: usize) -> bool {
    text.get(e).is_none_or(|b| !b.is_ascii_alphanumeric())
}
