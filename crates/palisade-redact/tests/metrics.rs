//! The `metrics` feature, observed with `metrics-util`'s debugging recorder: names, types and
//! labels after real redactions, and label cardinality under hostile input.
//!
//! Each test records into its own recorder, installed for the current thread only
//! (`metrics::with_local_recorder`), so the tests of this binary never see each other's counts.

#![cfg(feature = "metrics")]

use palisade_redact::{Kind, KnownSecrets, Redactor};
use palisade_testkit::metrics::{Series, assert_bounded, capture, counter_or_zero};

fn redactions(series: &Series, kind: &str) -> u64 {
    counter_or_zero(
        series,
        &format!("palisade_redact_redactions_total{{kind={kind}}}"),
    )
}

#[test]
fn redactions_are_counted_by_kind() {
    let series = capture(|| {
        let r = Redactor::new();
        let out = r.redact(
            "password=hunter2hunter2 key AKIAIOSFODNN7EXAMPLE and \
             Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
        );
        assert!(!out.contains("hunter2"));
        // Nothing to redact: nothing counted.
        assert_eq!(r.redact("nothing to see here"), "nothing to see here");
        let mut json = serde_json::json!({"password": 1234, "user": "alice"});
        r.redact_json(&mut json);
    });
    // `password=…`, the `Authorization` header's value and the JSON `password` field.
    assert_eq!(redactions(&series, "key_value"), 3, "{series:?}");
    assert_eq!(redactions(&series, "aws_access_key_id"), 1, "{series:?}");
    assert!(
        series
            .keys()
            .all(|k| k.starts_with("palisade_redact_redactions_total{kind=")),
        "{series:?}"
    );
}

#[test]
fn gitleaks_rules_count_as_custom_rule_and_known_values_as_known_secret() {
    let series = capture(|| {
        let known = KnownSecrets::new();
        known.insert(b"our-database-password-42").expect("insert");
        let r = Redactor::builder()
            .gitleaks_rules("[[rules]]\nid = \"acme-key\"\nregex = '''acme_[a-z0-9]{16}'''\n")
            .expect("rules")
            .rule("internal-id", r"int_[0-9]{12}")
            .known_secrets(known)
            .build()
            .expect("redactor");
        let out = r
            .redact("acme_k3j9x2m8q7w1z5r4 int_123456789012 connect with our-database-password-42");
        assert!(
            !out.contains("acme_k3j9") && !out.contains("our-database"),
            "{out}"
        );
    });
    assert_eq!(redactions(&series, "custom_rule"), 2, "{series:?}");
    assert_eq!(redactions(&series, "known_secret"), 1, "{series:?}");
    assert!(
        !series
            .keys()
            .any(|k| k.contains("acme-key") || k.contains("internal-id")),
        "rule names are never labels: {series:?}"
    );
}

/// Thousands of distinct tokens, keys and random text leave at most one series per kind,
/// none of which carries any of them.
#[test]
fn hostile_input_leaves_the_number_of_series_bounded() {
    let mut hostile = Vec::new();
    let series = capture(|| {
        let r = Redactor::builder().enable_pii().build().expect("redactor");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..3000u32 {
            let random: String = (0..24)
                .map(|_| {
                    char::from(
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789"[(next() % 46) as usize],
                    )
                })
                .collect();
            let key = format!("x_{random}_token");
            let email = format!("user{i}@example.com");
            let text = format!(
                "{key}={random} user{i}:{{kind=\"evil{i}\"}} ghp_{random}{i} mail {email} \
                 Bearer {random}.{i} sk_live_{random}"
            );
            let _ = r.redact(&text);
            hostile.extend([key, random, email]);
        }
    });
    let hostile: Vec<&str> = hostile.iter().map(String::as_str).chain(["evil"]).collect();
    assert_bounded(
        &series,
        "palisade_redact_",
        Kind::BUILT_IN.len() + 2,
        &hostile,
    );
    assert!(redactions(&series, "email") >= 3000, "{series:?}");
}

#[test]
fn every_kind_has_a_snake_case_label() {
    for kind in Kind::BUILT_IN {
        let label = kind.as_str();
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{label}"
        );
    }
}
