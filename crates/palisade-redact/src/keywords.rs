//! Provider-keyword rules: credentials with no format of their own (a Datadog key is 40
//! alphanumerics, a Heroku key a UUID) that are recognised by a provider's name in the key and
//! a value in that provider's documented alphabet and length: `datadog: <40 alphanumerics>`,
//! `"heroku_id": "<uuid>"`, `TWITTER_SECRET := "…"`.
//!
//! The provider names are not searched for (they would push the literal search off its SIMD
//! path). Instead, at each assignment operator of the text (`=`, `:`, `:=`, `=>`, `<-`, found
//! eight bytes at a time), the value after it is measured first: most operators of a log
//! (`status=200`, `12:34:56`, `https://`) are followed by a value too short, or of the wrong
//! characters, for any rule, and cost nothing more. Only then is the key before the operator
//! read, each four bytes of it tested against the provider names' first four letters (a
//! hashed bit set, in either case), and only a key that passes is folded to lower case and
//! searched for the names; a provider name anywhere in the key (`datadog`, `DD_DATADOG_APP`,
//! `x-Datadog-Key`) selects its rules, and the value must then match one of them exactly,
//! pass the placeholder check, and have the entropy of a random string.
//!
//! Twilio API keys (`SK` + 32 hex) are recognised after any key: `SK` is too short an anchor
//! to search for, but an operator followed by exactly that value is specific enough.

use core::ops::Range;
use std::sync::Arc;

use crate::{
    checks,
    families::{
        C::{self, Alnum, B64UrlEq, Digits, Hex, HexAny},
        Seg::{self, L, R},
        UUID,
    },
    keyvalue::is_key_byte,
};

/// A provider-keyword rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeywordRule {
    /// Stable id, reported as [`Finding::rule`](crate::Finding::rule).
    pub(crate) id: &'static str,
    /// Who issues the credential.
    pub(crate) provider: &'static str,
    /// Provider names (lower case), any of which in a key selects the rule.
    pub(crate) keywords: &'static [&'static str],
    /// The value, whole.
    pub(crate) value: &'static [Seg],
    /// Least Shannon entropy of the value, in bits per byte (never below [`MIN_ENTROPY`]).
    pub(crate) entropy: f64,
}

/// A provider-keyword rule the built-in detectors recognise: see the crate documentation's
/// table for each one's key words, value format and the gitleaks rule it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderKeywordRule {
    /// The stable id reported in [`Finding::rule`](crate::Finding::rule).
    pub id: &'static str,
    /// Who issues the credential.
    pub provider: &'static str,
    /// The provider names (lower case) one of which the key must contain; empty for a rule
    /// that applies after any key.
    pub keywords: &'static [&'static str],
}

/// Every built-in provider-keyword rule.
///
/// ```
/// let ids: Vec<&str> = palisade_redact::provider_keyword_rules().map(|r| r.id).collect();
/// assert!(ids.contains(&"datadog_access_token") && ids.contains(&"twilio_api_key"));
/// ```
pub fn provider_keyword_rules() -> impl Iterator<Item = ProviderKeywordRule> {
    RULES.iter().map(|r| ProviderKeywordRule {
        id: r.id,
        provider: r.provider,
        keywords: r.keywords,
    })
}

/// The entropy every value must reach: random strings of the lengths here (14 and more) stay
/// well above it, `aaaabbbbccccdddd`-like stand-ins fall below.
const MIN_ENTROPY: f64 = 3.0;

/// Values longer than this are no rule's (the longest, Twitter's bearer token, is 122).
const MAX_VALUE: usize = 160;

const fn k(
    id: &'static str,
    provider: &'static str,
    keywords: &'static [&'static str],
    value: &'static [Seg],
) -> KeywordRule {
    KeywordRule {
        id,
        provider,
        keywords,
        value,
        entropy: MIN_ENTROPY,
    }
}

/// `k` with a higher entropy bar.
const fn ke(
    id: &'static str,
    provider: &'static str,
    keywords: &'static [&'static str],
    value: &'static [Seg],
    entropy: f64,
) -> KeywordRule {
    KeywordRule {
        id,
        provider,
        keywords,
        value,
        entropy,
    }
}

/// Every rule, in the order they are tried for a key naming several providers.
pub(crate) const RULES: &[KeywordRule] = &[
    k(
        "twilio_api_key",
        "Twilio",
        &[],
        &[L("SK"), R(HexAny, 32, 32)],
    ),
    k(
        "adafruit_api_key",
        "Adafruit",
        &["adafruit"],
        &[R(C::B64Url, 32, 32)],
    ),
    k(
        "airtable_api_key",
        "Airtable",
        &["airtable"],
        &[R(Alnum, 17, 17)],
    ),
    k(
        "algolia_api_key",
        "Algolia",
        &["algolia"],
        &[R(Alnum, 32, 32)],
    ),
    k(
        "alibaba_secret_key",
        "Alibaba Cloud",
        &["alibaba"],
        &[R(Alnum, 30, 30)],
    ),
    k(
        "asana_client_secret",
        "Asana",
        &["asana"],
        &[R(Alnum, 32, 32)],
    ),
    k(
        "atlassian_api_token_legacy",
        "Atlassian",
        &["atlassian", "confluence", "jira"],
        &[R(Alnum, 20, 20), R(HexAny, 4, 4)],
    ),
    k(
        "beamer_api_token",
        "Beamer",
        &["beamer"],
        &[L("b_"), R(B64UrlEq, 44, 44)],
    ),
    k(
        "bitbucket_client_secret",
        "Bitbucket",
        &["bitbucket"],
        &[R(B64UrlEq, 64, 64)],
    ),
    k("bittrex_key", "Bittrex", &["bittrex"], &[R(Alnum, 32, 32)]),
    k(
        "cisco_meraki_api_key",
        "Cisco Meraki",
        &["meraki"],
        &[R(Hex, 40, 40)],
    ),
    k(
        "cloudflare_api_key",
        "Cloudflare",
        &["cloudflare"],
        &[R(C::B64Url, 40, 40)],
    ),
    k(
        "cloudflare_global_api_key",
        "Cloudflare",
        &["cloudflare"],
        &[R(HexAny, 37, 37)],
    ),
    k(
        "codecov_access_token",
        "Codecov",
        &["codecov"],
        &[R(Alnum, 32, 32)],
    ),
    ke(
        "cohere_api_token",
        "Cohere",
        &["cohere", "co_api_key"],
        &[R(Alnum, 40, 40)],
        4.0,
    ),
    k(
        "coinbase_access_token",
        "Coinbase",
        &["coinbase"],
        &[R(C::B64Url, 64, 64)],
    ),
    k(
        "confluent_access_token",
        "Confluent",
        &["confluent"],
        &[R(Alnum, 16, 16)],
    ),
    k(
        "confluent_secret_key",
        "Confluent",
        &["confluent"],
        &[R(Alnum, 64, 64)],
    ),
    k(
        "contentful_delivery_token",
        "Contentful",
        &["contentful"],
        &[R(B64UrlEq, 43, 43)],
    ),
    k(
        "datadog_access_token",
        "Datadog",
        &["datadog"],
        &[R(Alnum, 40, 40)],
    ),
    k(
        "datadog_api_key",
        "Datadog",
        &["datadog"],
        &[R(HexAny, 32, 32)],
    ),
    k(
        "discord_api_token",
        "Discord",
        &["discord"],
        &[R(HexAny, 64, 64)],
    ),
    k(
        "discord_client_secret",
        "Discord",
        &["discord"],
        &[R(B64UrlEq, 32, 32)],
    ),
    k(
        "droneci_access_token",
        "Drone CI",
        &["droneci"],
        &[R(Alnum, 32, 32)],
    ),
    k(
        "dropbox_api_token",
        "Dropbox",
        &["dropbox"],
        &[R(Alnum, 15, 15)],
    ),
    k(
        "dropbox_long_lived_token",
        "Dropbox",
        &["dropbox"],
        &[R(Alnum, 11, 11), L("AAAAAAAAAA"), R(B64UrlEq, 43, 43)],
    ),
    k("etsy_access_token", "Etsy", &["etsy"], &[R(Alnum, 24, 24)]),
    k(
        "facebook_app_access_token",
        "Meta (Facebook)",
        &["facebook"],
        &[R(Digits, 15, 16), R(C::Pipe, 1, 1), R(C::B64Url, 27, 40)],
    ),
    k(
        "facebook_secret",
        "Meta (Facebook)",
        &["facebook"],
        &[R(HexAny, 32, 32)],
    ),
    k(
        "fastly_api_token",
        "Fastly",
        &["fastly"],
        &[R(B64UrlEq, 32, 32)],
    ),
    k(
        "finicity_api_token",
        "Finicity",
        &["finicity"],
        &[R(HexAny, 32, 32)],
    ),
    k(
        "finicity_client_secret",
        "Finicity",
        &["finicity"],
        &[R(Alnum, 20, 20)],
    ),
    k(
        "finnhub_access_token",
        "Finnhub",
        &["finnhub"],
        &[R(Alnum, 20, 20)],
    ),
    k(
        "flickr_access_token",
        "Flickr",
        &["flickr"],
        &[R(Alnum, 32, 32)],
    ),
    k(
        "freshbooks_access_token",
        "FreshBooks",
        &["freshbooks"],
        &[R(Alnum, 64, 64)],
    ),
    k(
        "gitter_access_token",
        "Gitter",
        &["gitter"],
        &[R(C::B64Url, 40, 40)],
    ),
    k("heroku_api_key_legacy", "Heroku", &["heroku"], UUID),
    k("hubspot_api_key", "HubSpot", &["hubspot"], UUID),
    k(
        "intercom_api_key",
        "Intercom",
        &["intercom"],
        &[R(B64UrlEq, 60, 60)],
    ),
    k(
        "jfrog_api_key_legacy",
        "JFrog Artifactory",
        &["jfrog", "artifactory", "bintray", "xray"],
        &[R(Alnum, 73, 73)],
    ),
    k(
        "jfrog_identity_token",
        "JFrog Artifactory",
        &["jfrog", "artifactory", "bintray", "xray"],
        &[R(Alnum, 64, 64)],
    ),
    k(
        "kraken_access_token",
        "Kraken",
        &["kraken"],
        &[R(C::B64Any, 80, 90)],
    ),
    k(
        "kucoin_access_token",
        "KuCoin",
        &["kucoin"],
        &[R(HexAny, 24, 24)],
    ),
    k("kucoin_secret_key", "KuCoin", &["kucoin"], UUID),
    k(
        "launchdarkly_access_token",
        "LaunchDarkly",
        &["launchdarkly"],
        &[R(B64UrlEq, 40, 40)],
    ),
    k(
        "linear_client_secret",
        "Linear",
        &["linear"],
        &[R(HexAny, 32, 32)],
    ),
    k(
        "linkedin_client_secret",
        "LinkedIn",
        &["linkedin", "linked_in", "linked-in"],
        &[R(Alnum, 16, 16)],
    ),
    k(
        "looker_client_secret",
        "Looker",
        &["looker"],
        &[R(Alnum, 24, 24)],
    ),
    k(
        "mailgun_signing_key",
        "Mailgun",
        &["mailgun"],
        &[
            R(C::HexH, 32, 32),
            L("-"),
            R(C::HexH, 8, 8),
            L("-"),
            R(C::HexH, 8, 8),
        ],
    ),
    k(
        "mattermost_access_token",
        "Mattermost",
        &["mattermost"],
        &[R(Alnum, 26, 26)],
    ),
    k(
        "messagebird_api_token",
        "MessageBird",
        &["messagebird", "message-bird", "message_bird"],
        &[R(Alnum, 25, 25)],
    ),
    k(
        "netlify_access_token",
        "Netlify",
        &["netlify"],
        &[R(B64UrlEq, 40, 46)],
    ),
    k(
        "newrelic_user_api_id",
        "New Relic",
        &["new-relic", "newrelic", "new_relic"],
        &[R(Alnum, 64, 64)],
    ),
    k(
        "nytimes_access_token",
        "The New York Times",
        &["nytimes", "new-york-times", "newyorktimes"],
        &[R(B64UrlEq, 32, 32)],
    ),
    ke(
        "okta_access_token",
        "Okta",
        &["okta"],
        &[L("00"), R(B64UrlEq, 40, 40)],
        4.0,
    ),
    ke(
        "plaid_secret_key",
        "Plaid",
        &["plaid"],
        &[R(Alnum, 30, 30)],
        3.5,
    ),
    k(
        "privateai_api_token",
        "Private AI",
        &["privateai", "private_ai", "private-ai"],
        &[R(Alnum, 32, 32)],
    ),
    k(
        "rapidapi_access_token",
        "RapidAPI",
        &["rapidapi"],
        &[R(C::B64Url, 50, 50)],
    ),
    k(
        "sendbird_access_token",
        "Sendbird",
        &["sendbird"],
        &[R(HexAny, 40, 40)],
    ),
    k(
        "sentry_access_token",
        "Sentry",
        &["sentry"],
        &[R(HexAny, 64, 64)],
    ),
    k("snyk_api_token", "Snyk", &["snyk"], UUID),
    k(
        "sonar_api_token",
        "SonarQube",
        &["sonar"],
        &[R(B64UrlEq, 40, 40)],
    ),
    k(
        "squarespace_access_token",
        "Squarespace",
        &["squarespace"],
        UUID,
    ),
    k(
        "sumologic_access_token",
        "Sumo Logic",
        &["sumo"],
        &[R(Alnum, 64, 64)],
    ),
    k(
        "travisci_access_token",
        "Travis CI",
        &["travis"],
        &[R(Alnum, 22, 22)],
    ),
    k(
        "twitch_api_token",
        "Twitch",
        &["twitch"],
        &[R(Alnum, 30, 30)],
    ),
    k(
        "twitter_access_secret",
        "X (Twitter)",
        &["twitter"],
        &[R(Alnum, 45, 45)],
    ),
    k(
        "twitter_access_token",
        "X (Twitter)",
        &["twitter"],
        &[R(Digits, 15, 25), L("-"), R(Alnum, 20, 40)],
    ),
    k(
        "twitter_api_key",
        "X (Twitter)",
        &["twitter"],
        &[R(Alnum, 25, 25)],
    ),
    k(
        "twitter_api_secret",
        "X (Twitter)",
        &["twitter"],
        &[R(Alnum, 50, 50)],
    ),
    k(
        "yandex_aws_access_token",
        "Yandex Cloud",
        &["yandex"],
        &[L("YC"), R(C::B64Url, 38, 38)],
    ),
    k(
        "zendesk_secret_key",
        "Zendesk",
        &["zendesk"],
        &[R(Alnum, 40, 40)],
    ),
];

/// Byte classes of values, one bit each.
const LOWER_HEX: u8 = 1;
const LOWER: u8 = 2;
const UPPER: u8 = 4;
const DIGIT: u8 = 8;
const DASH: u8 = 16;
const B64: u8 = 32;
const PIPE: u8 = 64;
/// A byte no rule's value holds (`.`, `:`, `@`, …): the value is no rule's.
const BAD: u8 = 128;

/// The class of each byte in a value: one of the above, or 0 where a value ends.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "below 256")]
        let c = b as u8;
        t[b] = match c {
            b'a'..=b'f' => LOWER_HEX,
            b'g'..=b'z' => LOWER,
            b'A'..=b'Z' => UPPER,
            b'0'..=b'9' => DIGIT,
            b'-' | b'_' => DASH,
            b'=' | b'+' | b'/' => B64,
            b'|' | b'%' => PIPE,
            // What ends a value: white space and control bytes, quotes, and the separators
            // of lists, parameters, escapes and brackets closing around the value.
            0..=b' '
            | 0x7F
            | b'"'
            | b'\''
            | b'`'
            | b';'
            | b','
            | b'&'
            | b'\\'
            | b')'
            | b']'
            | b'}'
            | b'<'
            | b'>' => 0,
            _ => BAD,
        };
        b += 1;
    }
    t
};

/// Whether one of the eight bytes of `v` is below `%` (0x25), the least byte of a value:
/// white space, control bytes, `!`, `"`, `#`, `$`. Subtracting 0x25 from each byte borrows
/// across bytes only above a byte below 0x25, so the result is nonzero exactly when one is.
fn any_below_percent(v: u64) -> bool {
    v.wrapping_sub(0x2525_2525_2525_2525) & !v & 0x8080_8080_8080_8080 != 0
}

/// Whether a byte may be in a value: its class is neither 0 (the value ends) nor [`BAD`].
static VALUE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = CLASS[b] != 0 && CLASS[b] != BAD;
        b += 1;
    }
    t
};

/// In [`HEAD`], the bit of a byte that is not in [`VALUE`], past [`CLASS`]'s bits.
const NOT_VALUE: u16 = 0x100;

/// Per byte, its [`CLASS`], and [`NOT_VALUE`] when it is not in [`VALUE`]: the classes of a
/// value's first bytes and whether they are all a value's, in one fold.
static HEAD: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = CLASS[b] as u16 | if VALUE[b] { 0 } else { NOT_VALUE };
        b += 1;
    }
    t
};

/// [`VALUE`] but for `=` and `-`: after an operator, a byte that starts its value right away
/// (`=` may be skipped before a value, or end `:=`; `-` may end `<-`).
static STARTS_VALUE: [bool; 256] = {
    let mut t = VALUE;
    t[b'=' as usize] = false;
    t[b'-' as usize] = false;
    t
};

/// Whether `b` may follow an operator whose value a rule may take: a byte of a value, or
/// what may stand between the operator and the value (white space, quotes, `=`, a
/// backslash), or the second byte of `:=`, `=>`, `<-`.
static AFTER_OPERATOR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "below 256")]
        let c = b as u8;
        t[b] = (CLASS[b] != 0 && CLASS[b] != BAD)
            || matches!(c, b' ' | b'\t' | b'"' | b'\'' | b'`' | b'\\' | b'>');
        b += 1;
    }
    t
};

/// The classes a run of alphabet `c` may use.
const fn classes_of(c: C) -> u8 {
    match c {
        Hex => LOWER_HEX | DIGIT,
        C::HexH | C::Lower => LOWER_HEX | LOWER | DIGIT,
        HexAny => LOWER_HEX | UPPER | DIGIT,
        Digits => DIGIT,
        C::Upper => UPPER | DIGIT,
        C::Letters => LOWER_HEX | LOWER | UPPER,
        Alnum => LOWER_HEX | LOWER | UPPER | DIGIT,
        C::B64Url | C::Sep | C::AlnumDash => LOWER_HEX | LOWER | UPPER | DIGIT | DASH,
        B64UrlEq | C::B64Any | C::B64 | C::B64Joined => {
            LOWER_HEX | LOWER | UPPER | DIGIT | DASH | B64
        }
        C::Pipe => PIPE,
        C::B64UrlDot | C::Tok => BAD,
    }
}

/// The searcher for provider-keyword rules, built once per redactor from the enabled rules.
#[derive(Debug, Clone)]
pub(crate) struct Keywords {
    /// The enabled rules, by index into [`RULES`].
    rules: Vec<usize>,
    /// Each key word's first two bytes, the word, and the enabled rules (bits into `rules`)
    /// it selects; sorted by the first two bytes.
    words: Vec<(usize, &'static [u8], u128)>,
    /// One bit per byte pair (lower case): whether some key word starts with it.
    pairs: Box<[u64; 1024]>,
    /// One bit per hash of four bytes, each with its 0x20 bit set (lower case for letters):
    /// whether some key word (four letters or more) starts with them. The first test of a
    /// key: sharper than the pairs, it leaves most keys (`request_id`, `trace_id`) without
    /// a search for words.
    quads: Box<[u64; 1024]>,
    /// Per value length up to [`MAX_VALUE`], the classes some rule of that length allows.
    fits: Box<[u8; MAX_VALUE + 1]>,
    /// Rules (bits into `rules`) that apply after any key.
    any_key: u128,
    /// The length of the shortest value any rule takes.
    shortest: usize,
    /// Each enabled rule's id, shared by its findings.
    ids: Vec<Arc<str>>,
}

impl Keywords {
    /// How many of an operator's value bytes [`Self::ends_early`] looks at: two overlapping
    /// words, at most the default rules' shortest value (15 bytes).
    const EARLY: usize = 15;

    /// The searcher for the rules `enabled` says are on.
    pub(crate) fn new(enabled: impl Fn(&KeywordRule) -> bool) -> Self {
        let rules: Vec<usize> = (0..RULES.len()).filter(|i| enabled(&RULES[*i])).collect();
        let mut words: Vec<(usize, &'static [u8], u128)> = Vec::new();
        let mut pairs = Box::new([0u64; 1024]);
        let mut quads = Box::new([0u64; 1024]);
        let mut fits = Box::new([0u8; MAX_VALUE + 1]);
        let mut any_key = 0u128;
        for (bit, &r) in rules.iter().enumerate() {
            let rule = &RULES[r];
            if rule.keywords.is_empty() {
                any_key |= 1 << bit;
            }
            for word in rule.keywords {
                let w = word.as_bytes();
                let pair = usize::from(w[0]) << 8 | usize::from(w[1]);
                match words.iter_mut().find(|(_, x, _)| *x == w) {
                    Some((_, _, set)) => *set |= 1 << bit,
                    None => words.push((pair, w, 1 << bit)),
                }
                // Every spelling of the pair, so the key is tested as written.
                for (a, b) in [
                    (w[0], w[1]),
                    (w[0].to_ascii_uppercase(), w[1]),
                    (w[0], w[1].to_ascii_uppercase()),
                    (w[0].to_ascii_uppercase(), w[1].to_ascii_uppercase()),
                ] {
                    let pair = usize::from(a) << 8 | usize::from(b);
                    pairs[pair / 64] |= 1 << (pair % 64);
                }
                if let Some(&first) = w.first_chunk() {
                    let q = quad(first);
                    quads[q / 64] |= 1 << (q % 64);
                } else {
                    // A shorter word (none is built in) lets every key through this test.
                    quads.fill(!0);
                }
            }
            let (min, max, classes) =
                rule.value
                    .iter()
                    .fold((0, 0, 0u8), |(lo, hi, c), seg| match *seg {
                        R(alphabet, a, b) => (lo + a, hi + b, c | classes_of(alphabet)),
                        L(lit) => (
                            lo + lit.len(),
                            hi + lit.len(),
                            lit.bytes().fold(c, |c, b| c | CLASS[usize::from(b)]),
                        ),
                    });
            for len in min..=max.min(MAX_VALUE) {
                fits[len] |= classes;
            }
        }
        words.sort_unstable_by_key(|(pair, _, _)| *pair);
        Self {
            shortest: fits.iter().position(|c| *c != 0).unwrap_or(MAX_VALUE),
            ids: rules.iter().map(|r| Arc::from(RULES[*r].id)).collect(),
            rules,
            words,
            pairs,
            quads,
            fits,
            any_key,
        }
    }

    /// Whether no rule is enabled.
    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The bytes that may be an assignment operator or start one: `<` (of `<-`), `=`, `:`.
    pub(crate) const OPERATORS: [u8; 3] = [b'<', b'=', b':'];

    /// The operator at `p` (one of `=`, `:`, `<`, found by the caller's scan): calls `f` with
    /// the rule id and value range of a provider-keyword credential after it, if any.
    #[allow(
        clippy::inline_always,
        reason = "measured: not inlined into the scan, every operator of a text costs a call"
    )]
    #[inline(always)]
    pub(crate) fn operator(
        &self,
        text: &[u8],
        p: usize,
        f: &mut impl FnMut(&Arc<str>, Range<usize>),
    ) {
        // A colon between digits is a time, a port or an address (`12:34:56`, `db:5432`,
        // `2001:db8::1`), never an assignment: a third of a log's operators, left without a
        // call.
        let after = text.get(p + 1).copied().unwrap_or(b' ');
        if !(text[p] == b':' && after.is_ascii_digit() && p > 0 && text[p - 1].is_ascii_digit())
            && AFTER_OPERATOR[usize::from(after)]
            && !self.ends_early(text, p, after)
        {
            self.value_after(text, p, f);
        }
    }

    /// Whether the value after the operator at `p`, followed by `after`, is shorter than
    /// [`Self::shortest`] bytes, so that [`Self::value_head`] has nothing for it, without a
    /// call: when `after` is a value's byte other than `=` and `-` ([`STARTS_VALUE`]), the
    /// operator is one byte (not `:=`, nor `<-`; `<` alone and `:/` have no value) and
    /// nothing is skipped before the value. It starts at `p + 1`, and its first
    /// [`Self::EARLY`] bytes (at most `shortest`) must all be in the text and hold no byte
    /// below `%`; they are tested eight at a time.
    #[inline]
    fn ends_early(&self, text: &[u8], p: usize, after: u8) -> bool {
        self.shortest >= Self::EARLY
            && STARTS_VALUE[usize::from(after)]
            && text.get(p + 1..p + 1 + Self::EARLY).is_none_or(|w| {
                let word = |c: Option<&[u8; 8]>| c.map_or(0, |c| u64::from_le_bytes(*c));
                any_below_percent(word(w.first_chunk())) || any_below_percent(word(w.last_chunk()))
            })
    }

    /// The rest of [`Self::operator`], out of the scan's loop: the value's first bytes
    /// measured, then the key read. Inlined, its tables and constants held registers the
    /// eight-byte loop then spilled its own state for, at every eight bytes of every text.
    #[inline(never)]
    fn value_after(&self, text: &[u8], p: usize, f: &mut impl FnMut(&Arc<str>, Range<usize>)) {
        if let Some(head) = self.value_head(text, p) {
            self.at(text, p, head, f);
        }
    }

    /// The operator at `p` (one of `=`, `:`, `<`): its value's start and the end and
    /// classes of its first [`Self::shortest`] bytes, if it may be a rule's.
    #[allow(clippy::inline_always, reason = "part of `value_after`, a few lines")]
    #[inline(always)]
    fn value_head(&self, text: &[u8], p: usize) -> Option<(usize, usize, u8)> {
        let start = value_start(text, p)?;
        // Every rule's value is at least `shortest` bytes long: most operators of a log are
        // followed by something shorter (`status=200`, `"level":"info"`) or holding a byte
        // no value holds (`10.0.0.1`), and are left after a few bytes.
        // Those bytes are tested first, then gathered with a table that tells whether each
        // is a value's and gives its class: what `walk` would give for them.
        let end = start + self.shortest;
        let head = text.get(start..end)?;
        // Most of those values end within eight bytes at a space or a quote, which no value
        // holds (every value byte is at least `%`): eight bytes are tested for one at once.
        if let Some(first) = head.first_chunk::<8>()
            && any_below_percent(u64::from_le_bytes(*first))
        {
            return None;
        }
        // One pass, a table load per byte: the classes gathered with a bit past them for a
        // byte no value holds, where a test of each byte then a fold took two.
        let gathered = head.iter().fold(0, |c, b| c | HEAD[usize::from(*b)]);
        if gathered & NOT_VALUE != 0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the bits of `CLASS`, below 256"
        )]
        Some((start, end, gathered as u8))
    }

    /// The rest of [`Self::operator`], for an operator at `p` whose value starts at `start`
    /// and whose first bytes, to `end`, have `classes`.
    #[inline(never)]
    fn at(
        &self,
        text: &[u8],
        p: usize,
        (start, end, classes): (usize, usize, u8),
        f: &mut impl FnMut(&Arc<str>, Range<usize>),
    ) {
        // The key: before the operator, after at most four quotes, spaces or backslashes.
        // Read before the rest of the value, which is often long (hashes, UUIDs, paths): most
        // keys (`request_id`, `sha256`, `path`) hold no byte pair a key word starts with, and
        // their operators are left here unless the value may be Twilio's.
        let mut ke = p;
        while ke > 0
            && ke + 4 > p
            && matches!(text[ke - 1], b' ' | b'\t' | b'"' | b'\'' | b'`' | b'\\')
        {
            ke -= 1;
        }
        let mut ks = ke;
        let mut named = false;
        while ks > 0 && ke - ks < 64 && is_key_byte(text[ks - 1]) {
            ks -= 1;
            if let Some(&first) = text[ks..ke].first_chunk() {
                let q = quad(first);
                named |= self.quads[q / 64] & (1 << (q % 64)) != 0;
            }
        }
        if ks == ke || !(named || (self.any_key != 0 && text[start..].starts_with(b"SK"))) {
            return;
        }
        // The key words the key holds, and the rules they select.
        let mut selected = if text[start..].starts_with(b"SK") {
            self.any_key
        } else {
            0
        };
        if named {
            let mut key = [0u8; 64];
            let key = &mut key[..ke - ks];
            key.copy_from_slice(&text[ks..ke]);
            key.make_ascii_lowercase();
            for i in 0..key.len().saturating_sub(1) {
                let pair = usize::from(key[i]) << 8 | usize::from(key[i + 1]);
                if self.pairs[pair / 64] & (1 << (pair % 64)) != 0 {
                    let first = self.words.partition_point(|(p, _, _)| *p < pair);
                    for (_, word, rules) in self.words[first..].iter().take_while(|w| w.0 == pair) {
                        if key[i..].starts_with(word) {
                            selected |= rules;
                        }
                    }
                }
            }
        }
        if selected == 0 {
            return;
        }
        // The rest of the value; a byte no rule takes (`.`, `:`) ends the search.
        let Some((end, more)) = walk(text, end, start + MAX_VALUE + 1) else {
            return;
        };
        let classes = classes | more;
        let len = end - start;
        if len > MAX_VALUE || self.fits[len] == 0 || classes & !self.fits[len] != 0 {
            return;
        }
        let value = &text[start..end];
        while selected != 0 {
            let bit = selected.trailing_zeros() as usize;
            selected &= selected - 1;
            let rule = &RULES[self.rules[bit]];
            if matches(value, rule.value) && random(value, rule.entropy) {
                f(&self.ids[bit], start..end);
                return;
            }
        }
    }
}

/// The value bytes of `text` from `from` to at most `to`: where they end and their classes;
/// `None` at a byte no rule's value holds.
#[allow(clippy::inline_always, reason = "part of `operator`, see there")]
#[inline(always)]
fn walk(text: &[u8], from: usize, to: usize) -> Option<(usize, u8)> {
    let mut classes = 0u8;
    let to = to.min(text.len());
    let from = from.min(to);
    for (i, &b) in text[from..to].iter().enumerate() {
        match CLASS[usize::from(b)] {
            0 => return Some((from + i, classes)),
            BAD => return None,
            c => classes |= c,
        }
    }
    Some((to, classes))
}

/// Whether `value` is exactly `segs`: each run as long as its alphabet allows, within its
/// bounds (a run followed by a literal of its own alphabet has a fixed length).
fn matches(value: &[u8], segs: &[Seg]) -> bool {
    let mut p = 0;
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            R(c, min, max) => {
                let cap = if i + 1 < segs.len() && min == max {
                    max
                } else {
                    max + 1
                };
                let n = value[p..]
                    .iter()
                    .take(cap)
                    .take_while(|b| c.test(**b))
                    .count();
                if n < min || n > max {
                    return false;
                }
                p += n;
            }
            L(lit) => {
                if !value[p..].starts_with(lit.as_bytes()) {
                    return false;
                }
                p += lit.len();
            }
        }
    }
    p == value.len()
}

/// Whether a value that matched a rule's format looks random: two of lower case, upper case
/// and digits (a lower-case word or a number is a name or an id), no placeholder pattern
/// (a template, a long run of one character, a short repeating period), and at least the
/// rule's entropy.
fn random(value: &[u8], entropy: f64) -> bool {
    let mut estimate = None;
    checks::mixed(value) >= 2
        && !checks::placeholder(value, &mut estimate)
        && checks::entropy_at_least(value, &mut estimate, entropy.max(MIN_ENTROPY))
}

/// Where the value of the operator at `p` (one of `=`, `:`, `<`) starts: after the operator
/// (`:=`, `=>` and `<-` are two bytes) and at most five quotes, spaces or `=` (`key = "…"`,
/// `key: '…'`, `\"key\":\"…\"`). `None` where no value follows: `://` starts a URL's
/// authority, and `<` is an operator only in `<-`.
#[allow(clippy::inline_always, reason = "part of `value_head`, a few lines")]
#[inline(always)]
fn value_start(text: &[u8], p: usize) -> Option<usize> {
    let op_end = match (text[p], text.get(p + 1).copied()) {
        (b':', Some(b'=')) | (b'=', Some(b'>')) | (b'<', Some(b'-')) => p + 2,
        (b':', Some(b'/')) | (b'<', _) => return None,
        _ => p + 1,
    };
    let mut start = op_end;
    while start < text.len()
        && start < op_end + 5
        && matches!(
            text[start],
            b' ' | b'\t' | b'"' | b'\'' | b'`' | b'=' | b'\\'
        )
    {
        start += 1;
    }
    Some(start)
}

/// The index in [`Keywords::quads`] of four bytes: each with its 0x20 bit set, so a letter
/// in either case gives its lower case (and bytes equal once lower-cased stay equal), then
/// hashed to sixteen bits.
fn quad(bytes: [u8; 4]) -> usize {
    let v = u32::from_le_bytes(bytes) | 0x2020_2020;
    (v.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    fn found(text: &str) -> Vec<(String, String)> {
        found_by(&Keywords::new(|_| true), text.as_bytes())
    }

    fn found_by(keywords: &Keywords, text: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (p, b) in text.iter().enumerate() {
            if matches!(b, b'=' | b':' | b'<') {
                keywords.operator(text, p, &mut |id: &Arc<str>, r: Range<usize>| {
                    out.push((
                        id.to_string(),
                        String::from_utf8_lossy(&text[r]).into_owned(),
                    ));
                });
            }
        }
        out
    }

    /// Every key word in lower case, upper case and capitalized.
    fn key_words() -> Vec<Vec<u8>> {
        let mut words = Vec::new();
        for word in RULES.iter().flat_map(|r| r.keywords.iter()) {
            let mut capital = word.as_bytes().to_vec();
            capital[0].make_ascii_uppercase();
            words.extend([
                word.as_bytes().to_vec(),
                word.to_ascii_uppercase().into_bytes(),
                capital,
            ]);
        }
        words
    }

    /// Bytes a key may hold around a key word.
    fn key_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> + Clone {
        proptest::collection::vec(
            proptest::prop_oneof![
                b'a'..=b'z',
                b'A'..=b'Z',
                b'0'..=b'9',
                proptest::sample::select(vec![b'_', b'-', b'.']),
            ],
            0..6,
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The four-byte test that keeps most keys from the search for words finds the same
        /// credentials as that search alone, over texts made of assignments (key words in
        /// three cases inside other key bytes, an operator, a value of a rule's shape or
        /// random bytes) and random bytes between them.
        #[test]
        fn quad_filter_changes_no_finding(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    (
                        key_bytes(),
                        proptest::sample::select(key_words()),
                        key_bytes(),
                        proptest::sample::select(
                            ["=", ": ", " := ", "=>", " <- ", "\":\"", "='"]
                                .map(|s| s.as_bytes().to_vec())
                                .to_vec()
                        ),
                        proptest::prop_oneof![
                            proptest::sample::select(
                                [
                                    "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T",
                                    "3f2c9a7e-1b4d-4c8e-9f6a-2d5b8e1c7a90",
                                    "SK0123456789abcdef0123456789abcdef",
                                    "k3J9x2M8q7W1z5R4t6Y0u2P8",
                                    "Zx81kQpL0vN3mR7tB5yC2wA9hD4fG6jS",
                                    "a8F3kL9mQ2xZ7vB1nC5d",
                                ]
                                .map(|s| s.as_bytes().to_vec())
                                .to_vec()
                            ),
                            proptest::string::string_regex("[A-Za-z0-9]{15,64}")
                                .expect("a valid pattern")
                                .prop_map(String::into_bytes),
                            proptest::string::string_regex("[0-9a-f]{16,64}")
                                .expect("a valid pattern")
                                .prop_map(String::into_bytes),
                            key_bytes(),
                        ],
                        proptest::sample::select(vec![&b" "[..], b"\"", b"", b","]),
                    )
                        .prop_map(|(a, w, b, op, v, end)| [&a, &w, &b, &op, &v, end].concat()),
                    proptest::collection::vec(
                        proptest::prop_oneof![
                            b'a'..=b'z',
                            b'A'..=b'Z',
                            b'0'..=b'9',
                            proptest::sample::select(
                                vec![b'_', b'-', b'.', b' ', b'"', b'=', b':', 0x7F]
                            ),
                        ],
                        0..8,
                    ),
                ],
                0..8,
            )
        ) {
            let text = pieces.concat();
            let filtered = Keywords::new(|_| true);
            let mut open = filtered.clone();
            open.quads.fill(!0);
            proptest::prop_assert_eq!(found_by(&filtered, &text), found_by(&open, &text));
        }
    }

    /// [`Keywords::value_head`] as it was, walking the value's bytes with [`walk`].
    fn value_head_by_walk(k: &Keywords, text: &[u8], p: usize) -> Option<(usize, usize, u8)> {
        let start = value_start(text, p)?;
        let (end, classes) = walk(text, start, start + k.shortest)?;
        (end == start + k.shortest).then_some((start, end, classes))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The value's first bytes tested eight at a time for a byte below `%`, then their
        /// classes and whether each is a value's gathered in one fold, give what the walk
        /// over them gave, at every operator of texts made of value bytes, the bytes that end
        /// a value, bad bytes and operators, of every length around the shortest value's.
        #[test]
        fn value_head_agrees_with_the_walk(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(
                        b"aZ09-_=+/|%".to_vec()
                    ),
                    1 => proptest::sample::select(b" \t\"'`;,&\\)]}<>\n.:@#".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..40,
            )
        ) {
            let k = Keywords::new(|_| true);
            for p in 0..text.len() {
                if matches!(text[p], b'=' | b':' | b'<') {
                    proptest::prop_assert_eq!(k.value_head(&text, p), value_head_by_walk(&k, &text, p));
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// An operator left without a call is one whose value head is `None`: at every
        /// operator of texts made of operators, the bytes skipped before a value, value
        /// bytes, runs of them and bytes that end a value.
        #[test]
        fn an_operator_left_early_has_no_value_head(
            tokens in proptest::collection::vec(
                proptest::prop_oneof![
                    4 => proptest::sample::select(b"aZ09-_=+/|%".to_vec()).prop_map(|b| vec![b]),
                    2 => proptest::sample::select(
                        b" \t\"'`;,&\\)]}<>\n.:@#$!".to_vec()
                    ).prop_map(|b| vec![b]),
                    2 => proptest::sample::select(vec![
                        &b"<-"[..], b":=", b"=>", b"://", b"= ", b": \"", b"0123456789abcdefXYZ",
                    ]).prop_map(<[u8]>::to_vec),
                    1 => proptest::num::u8::ANY.prop_map(|b| vec![b]),
                ],
                0..24,
            )
        ) {
            let text = tokens.concat();
            let k = Keywords::new(|_| true);
            proptest::prop_assert!(k.shortest >= Keywords::EARLY);
            for p in 0..text.len() {
                let after = text.get(p + 1).copied().unwrap_or(b' ');
                if matches!(text[p], b'=' | b':' | b'<') && k.ends_early(&text, p, after) {
                    proptest::prop_assert_eq!(k.value_head(&text, p), None);
                }
            }
        }

        /// The eight-byte test finds a byte below `%` exactly where a byte loop does.
        #[test]
        fn any_below_percent_agrees_with_a_byte_loop(bytes in proptest::array::uniform8(
            proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(vec![0x23u8, 0x24, 0x25, 0x26, 0xA4, 0xA5]),
            ],
        )) {
            proptest::prop_assert_eq!(
                any_below_percent(u64::from_le_bytes(bytes)),
                bytes.iter().any(|b| *b < b'%')
            );
        }
    }

    #[test]
    fn every_rule_has_a_keyword_word_pair_and_fits_its_lengths() {
        for rule in RULES {
            assert!(
                rule.keywords
                    .iter()
                    .all(|w| w.len() >= 4 && *w == w.to_ascii_lowercase())
            );
        }
        assert_eq!(
            found("datadog: 0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T"),
            [(
                "datadog_access_token".to_owned(),
                "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T".to_owned()
            )]
        );
        assert!(found("datadog: 0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9").is_empty());
        assert!(found("status=200 at 12:34:56 https://example.com").is_empty());
    }

    #[test]
    fn values_match_whole() {
        assert!(matches(
            b"SK0123456789abcdef0123456789abcdef",
            &[L("SK"), R(HexAny, 32, 32)]
        ));
        assert!(!matches(
            b"SK0123456789abcdef0123456789abcde",
            &[L("SK"), R(HexAny, 32, 32)]
        ));
        assert!(!matches(
            b"SK0123456789abcdef0123456789abcdef0",
            &[L("SK"), R(HexAny, 32, 32)]
        ));
        assert!(!matches(b"2f4c9e1a-7b3d-4e8f", UUID));
    }
}
