//! The provider-keyword rules on a generated corpus: for every rule, values of its documented
//! format after a key naming the provider (in every spelling and every key/value syntax) are
//! found under the rule's id and removed; near-misses (one character short or long, a
//! character outside the alphabet, a placeholder, prose naming the provider, the value after
//! a key naming no provider) leave their line unchanged. Recall and false-positive rate are
//! printed per rule.
//!
//! The formats here are written out again, independently of `src/keywords.rs`, from the
//! providers' formats as gitleaks' default rules document them.

use std::{collections::BTreeMap, fmt::Write as _};

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/score.rs"]
mod score;

use corpus::Rng;
use palisade_redact::{Kind, Redactor, provider_keyword_rules};
use score::Score;

/// Each rule's value: parts separated by spaces. `an:N` alphanumerics, `hx:N` lower-case
/// hex (`kind:MIN-MAX` for a range), `bu:N` base64url, `be:N` base64url and `=`, `ba:N` base64url, `+`, `/` and `=`,
/// `d:N` digits, `hh:N` `0-9a-h`, `uuid`, `'lit` a literal.
const FORMATS: &[(&str, &str)] = &[
    ("twilio_api_key", "'SK hx:32"),
    ("adafruit_api_key", "bu:32"),
    ("airtable_api_key", "an:17"),
    ("algolia_api_key", "an:32"),
    ("alibaba_secret_key", "an:30"),
    ("asana_client_secret", "an:32"),
    ("atlassian_api_token_legacy", "an:20 hx:4"),
    ("beamer_api_token", "'b_ be:44"),
    ("bitbucket_client_secret", "be:64"),
    ("bittrex_key", "an:32"),
    ("cisco_meraki_api_key", "hx:40"),
    ("cloudflare_api_key", "bu:40"),
    ("cloudflare_global_api_key", "hx:37"),
    ("codecov_access_token", "an:32"),
    ("cohere_api_token", "an:40"),
    ("coinbase_access_token", "bu:64"),
    ("confluent_access_token", "an:16"),
    ("confluent_secret_key", "an:64"),
    ("contentful_delivery_token", "be:43"),
    ("datadog_access_token", "an:40"),
    ("datadog_api_key", "hx:32"),
    ("discord_api_token", "hx:64"),
    ("discord_client_secret", "be:32"),
    ("droneci_access_token", "an:32"),
    ("dropbox_api_token", "an:15"),
    ("dropbox_long_lived_token", "an:11 'AAAAAAAAAA be:43"),
    ("etsy_access_token", "an:24"),
    ("facebook_app_access_token", "d:15 '| bu:27-40"),
    ("facebook_secret", "hx:32"),
    ("fastly_api_token", "be:32"),
    ("finicity_api_token", "hx:32"),
    ("finicity_client_secret", "an:20"),
    ("finnhub_access_token", "an:20"),
    ("flickr_access_token", "an:32"),
    ("freshbooks_access_token", "an:64"),
    ("gitter_access_token", "bu:40"),
    ("heroku_api_key_legacy", "uuid"),
    ("hubspot_api_key", "uuid"),
    ("intercom_api_key", "be:60"),
    ("jfrog_api_key_legacy", "an:73"),
    ("jfrog_identity_token", "an:64"),
    ("kraken_access_token", "ba:80-90"),
    ("kucoin_access_token", "hx:24"),
    ("kucoin_secret_key", "uuid"),
    ("launchdarkly_access_token", "be:40"),
    ("linear_client_secret", "hx:32"),
    ("linkedin_client_secret", "an:16"),
    ("looker_client_secret", "an:24"),
    ("mailgun_signing_key", "hh:32 '- hh:8 '- hh:8"),
    ("mattermost_access_token", "an:26"),
    ("messagebird_api_token", "an:25"),
    ("netlify_access_token", "be:40-46"),
    ("newrelic_user_api_id", "an:64"),
    ("nytimes_access_token", "be:32"),
    ("okta_access_token", "'00 be:40"),
    ("plaid_secret_key", "an:30"),
    ("privateai_api_token", "an:32"),
    ("rapidapi_access_token", "bu:50"),
    ("sendbird_access_token", "hx:40"),
    ("sentry_access_token", "hx:64"),
    ("snyk_api_token", "uuid"),
    ("sonar_api_token", "be:40"),
    ("squarespace_access_token", "uuid"),
    ("sumologic_access_token", "an:64"),
    ("travisci_access_token", "an:22"),
    ("twitch_api_token", "an:30"),
    ("twitter_access_secret", "an:45"),
    ("twitter_access_token", "d:19 '- an:20-40"),
    ("twitter_api_key", "an:25"),
    ("twitter_api_secret", "an:50"),
    ("yandex_aws_access_token", "'YC bu:38"),
    ("zendesk_secret_key", "an:40"),
];

/// Key/value syntaxes: `{k}` is the key, `{v}` the value.
const SHAPES: &[&str] = &[
    "2026-12-05T04:00:00Z INFO cfg {k}={v} region=eu",
    "  {k}: {v}",
    r#"{"level":"info","{k}":"{v}","n":1}"#,
    r#"{"level":"info","msg":"loaded {k}={v} from env"}"#,
    r#"curl -s -H "{k}: {v}" https://api.internal/v1"#,
    r#"{k} := "{v}""#,
    "{k} = '{v}'",
    "'{k}' => '{v}',",
    r#"{k} <- "{v}""#,
    r#"{"log":"{\"{k}\":\"{v}\"}"}"#,
    "const {k} = `{v}`;",
    "GET /cb?{k}={v}&page=2 302",
];

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64URL: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
const B64EQ: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-=";
const B64ALL: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-+/=";

/// A value of `format`, its last run `delta` characters longer (or shorter).
fn value(r: &mut Rng, format: &str, delta: isize) -> String {
    let parts: Vec<&str> = format.split(' ').collect();
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if let Some(lit) = part.strip_prefix('\'') {
            out.push_str(lit);
            continue;
        }
        if *part == "uuid" {
            let last = 12usize.saturating_add_signed(delta);
            let _ = write!(
                out,
                "{}-{}-4{}-a{}-{}",
                r.string(b"0123456789abcdef", 8),
                r.string(b"0123456789abcdef", 4),
                r.string(b"0123456789abcdef", 3),
                r.string(b"0123456789abcdef", 3),
                r.string(b"0123456789abcdef", last)
            );
            continue;
        }
        // `kind:N` or `kind:MIN-MAX`; the last run is made one shorter than its least or
        // one longer than its most length.
        let (kind, n) = part.split_once(':').expect("kind:length");
        let (min, max): (usize, usize) = match n.split_once('-') {
            Some((a, b)) => (a.parse().expect("length"), b.parse().expect("length")),
            None => (n.parse().expect("length"), n.parse().expect("length")),
        };
        let n = match delta {
            _ if i + 1 < parts.len() => usize::midpoint(min, max),
            ..0 => min - 1,
            0 => usize::midpoint(min, max),
            _ => max + 1,
        };
        let alphabet: &[u8] = match kind {
            "an" => ALNUM,
            "hx" => b"0123456789abcdef",
            "hh" => b"0123456789abcdefgh",
            "bu" => B64URL,
            "be" => B64EQ,
            "ba" => B64ALL,
            "d" => b"0123456789",
            other => panic!("unknown part {other}"),
        };
        out.push_str(&r.string(alphabet, n));
    }
    // A value never starts with `=`: an operator's `==` or `= =` is read as the operator.
    if out.starts_with('=') {
        out.replace_range(..1, "A");
    }
    out
}

/// Keys naming the provider `word`, in several spellings and positions.
fn keys(word: &str) -> Vec<String> {
    let mut capital = word.to_owned();
    capital[..1].make_ascii_uppercase();
    let odd: String = word
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    vec![
        word.to_owned(),
        format!("{}_APP", word.to_ascii_uppercase().replace('-', "_")),
        format!("my{capital}Id"),
        format!("app.{word}.value"),
        odd,
    ]
}

#[test]
fn every_keyword_rule_found_in_every_shape_and_near_misses_left_alone() {
    let redactor = Redactor::new();
    let formats: BTreeMap<&str, &str> = FORMATS.iter().copied().collect();
    let mut r = Rng::new(0x5EC2_E75D_A7AD_0C01);
    let mut scores: BTreeMap<&str, Score> = BTreeMap::new();
    let mut failures = Vec::new();
    for rule in provider_keyword_rules() {
        let format = formats
            .get(rule.id)
            .unwrap_or_else(|| panic!("no format for {}", rule.id));
        let score = scores.entry(rule.id).or_default();
        let word = rule.keywords.first().copied().unwrap_or("twilio");
        for (s, shape) in SHAPES.iter().enumerate() {
            for key in keys(word) {
                // Valid: found under the rule's id, and gone.
                let v = value(&mut r, format, 0);
                let text = shape.replace("{k}", &key).replace("{v}", &v);
                let out = redactor.redact(&text);
                let found = redactor.find(text.as_bytes());
                score.planted += 1;
                let named = found
                    .iter()
                    .any(|f| f.kind == Kind::ProviderToken && f.rule.as_deref() == Some(rule.id));
                if named && !out.contains(&v) {
                    score.found += 1;
                } else {
                    failures.push(format!("missed {}: {text} -> {out} {found:?}", rule.id));
                }
                // Near-misses: a character short or long, one outside the alphabet, a
                // placeholder, and (but for Twilio's, which any key takes) no provider in
                // the key.
                let short = value(&mut r, format, -1);
                let long = value(&mut r, format, 1);
                let mut bad = value(&mut r, format, 0);
                let mid = bad.len() / 2;
                bad.replace_range(mid..=mid, "!");
                let placeholder = "x".repeat(v.len());
                let mut near = vec![
                    shape.replace("{k}", &key).replace("{v}", &short),
                    shape.replace("{k}", &key).replace("{v}", &long),
                    shape.replace("{k}", &key).replace("{v}", &bad),
                    shape.replace("{k}", &key).replace("{v}", &placeholder),
                ];
                if !rule.keywords.is_empty() {
                    near.push(shape.replace("{k}", "ref").replace("{v}", &v));
                }
                if s == 0 {
                    near.push(format!(
                        "2026-12-05T04:00:00Z INFO {key} agent restarted: retrying in 30s ({} attempts)",
                        v.len()
                    ));
                }
                for text in near {
                    score.near += 1;
                    let out = redactor.redact(&text);
                    // Runs of 15 and 19 digits (Meta's and X's ids) can be Luhn-valid card
                    // numbers, which the card detector takes whatever the key.
                    let cards_only = redactor
                        .find(text.as_bytes())
                        .iter()
                        .all(|f| f.kind == Kind::CardNumber);
                    if out != text && !cards_only {
                        score.changed += 1;
                        failures.push(format!("changed {}: {text} -> {out}", rule.id));
                    }
                }
            }
        }
    }
    score::report("keyword rule", "keyword rules", &scores);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(scores.len(), FORMATS.len(), "a format without a rule");
}

/// `SK` + 32 hex is a Twilio API key after any key and operator, and nowhere else.
#[test]
fn twilio_api_keys_need_an_operator_and_a_whole_token() {
    let redactor = Redactor::new();
    let key = "SK2f4c9e1a7b3d4e8f9a0b1c2d3e4f5a6b";
    // A sensitive key takes its value whatever it is.
    let line = format!("TWILIO_API_KEY={key}");
    assert_eq!(redactor.redact(&line), "TWILIO_API_KEY=[REDACTED]");
    for line in [
        format!("twilio: {key}"),
        format!(r#"{{"sid":"{key}"}}"#),
        format!("client := \"{key}\""),
    ] {
        let found = redactor.find(line.as_bytes());
        assert!(
            found
                .iter()
                .any(|f| f.rule.as_deref() == Some("twilio_api_key")),
            "{line}: {found:?}"
        );
        assert!(!redactor.redact(&line).contains(key), "{line}");
    }
    for line in [
        // In prose, without an operator: `SK` is too short an anchor to search for.
        format!("created {key} for the account"),
        // Lower-case prefix, one hex digit short or long, not hex, inside a word, a
        // placeholder.
        "sid=sk2f4c9e1a7b3d4e8f9a0b1c2d3e4f5a6b".to_owned(),
        "sid=SK2f4c9e1a7b3d4e8f9a0b1c2d3e4f5a6".to_owned(),
        "sid=SK2f4c9e1a7b3d4e8f9a0b1c2d3e4f5a6b7".to_owned(),
        "sid=SK2f4c9e1a7b3d4e8f9a0b1c2d3e4f5z6b".to_owned(),
        "sid=xSK2f4c9e1a7b3d4e8f9a0b1c2d3e4f5a6b".to_owned(),
        "sid=SK00000000000000000000000000000000".to_owned(),
    ] {
        assert_eq!(redactor.redact(&line), line);
    }
}

/// Provider names in keys are matched in any case, and the rules can be turned off by id
/// (through a gitleaks file's `disabledRules`, by the gitleaks rule id) or all together with
/// [`Kind::ProviderToken`].
#[test]
fn keyword_rules_match_any_case_and_can_be_disabled() {
    let value = "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T";
    let redactor = Redactor::new();
    for key in [
        "datadog",
        "DATADOG",
        "DataDog",
        "dAtAdOg",
        "DataDog_Site_Ref",
    ] {
        let line = format!("{key}: {value}");
        assert_eq!(
            redactor.redact(&line),
            format!("{key}: [REDACTED]"),
            "{key}"
        );
    }
    let off = Redactor::builder()
        .gitleaks_rules("[extend]\ndisabledRules = [\"datadog-access-token\"]\n")
        .unwrap()
        .build()
        .unwrap();
    let line = format!("datadog: {value}");
    assert_eq!(off.redact(&line), line);
    let off = Redactor::builder()
        .disable(Kind::ProviderToken)
        .build()
        .unwrap();
    assert_eq!(off.redact(&line), line);
}

/// The crate documentation lists every rule with its key words and the gitleaks rule it
/// covers.
#[test]
fn the_documented_table_lists_every_keyword_rule() {
    let readme = include_str!("../README.md");
    for rule in provider_keyword_rules() {
        let row = readme
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("`{}`", rule.id)))
            .unwrap_or_else(|| panic!("{} is not in the README's table", rule.id));
        assert!(row.contains(rule.provider), "{row}");
        for word in rule.keywords {
            assert!(row.contains(&format!("`{word}`")), "{word} missing: {row}");
        }
    }
}
