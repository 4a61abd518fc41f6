//! gitleaks rule files: every field the redactor reads changes what is redacted.

use palisade_redact::{ConfigError, Kind, Redactor};

fn redactor() -> Redactor {
    Redactor::builder()
        .gitleaks_rules(include_str!("gitleaks/rules.toml"))
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn rules_with_keywords_groups_and_entropy() {
    let r = redactor();
    let key = "acme_live_k3j9x2m8q7w1z5r4t6y0u2p8";
    let line = format!("charge failed with {key} (402)");
    let found = r.find(line.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, Kind::Custom);
    assert_eq!(found[0].rule.as_deref(), Some("acme-api-key"));
    assert_eq!(r.redact(&line), "charge failed with [REDACTED] (402)");
    // The keyword is searched in lower, UPPER and Capitalized spelling; the regex is `(?i)`.
    assert_eq!(r.redact("ACME_LIVE_K3J9X2M8Q7W1Z5R4T6Y0U2P8"), "[REDACTED]");
    // `secretGroup`: only the secret goes.
    let hook = "acme_hook_signing = 'q7W1z5R4t6Y0u2P8k3J9x2M8/+abcdefGH'";
    assert_eq!(r.redact(hook), "acme_hook_signing = '[REDACTED]'");
    // Below the rule's entropy bar: left alone.
    let low = "acme_live_aaaaaaaaaaaabbbbbbbbbbbb";
    assert_eq!(r.redact(low), low);
}

#[test]
fn keywords_gate_the_regex() {
    // The session rule's regex matches only with its keyword present, which it always is in
    // a match; a rule whose keyword is absent never runs.
    let text = "id sess-0a1b2c3d-0123456789abcdef0123456789abcdef";
    assert_eq!(redactor().redact(text), "id sess-0a1b2c3d-[REDACTED]");
    let gated = Redactor::builder()
        .gitleaks_rules(
            "[[rules]]\nid = \"x\"\nregex = '''tok_[a-z0-9]{16}'''\nkeywords = [\"nothere\"]\n",
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(gated.redact("tok_k3j9x2m8q7w1z5r4"), "tok_k3j9x2m8q7w1z5r4");
}

#[test]
fn allowlists_stopwords_and_conditions() {
    let r = redactor();
    // A rule's allow-list regex, against the secret.
    let doc = "acme_test_0123456789abcdefghijklmn";
    assert_eq!(r.redact(doc), doc);
    // The older `[rules.allowlist]` form, against the line.
    let example = "example: acme_hook_signing=q7W1z5R4t6Y0u2P8k3J9x2M8abcdefGH";
    assert_eq!(r.redact(example), example);
    // The global allow-list's stop word.
    let stop = "acme_live_deadbeefk3j9x2m8q7w1z5r4";
    assert_eq!(r.redact(stop), stop);
    // `condition = "AND"` with `paths`: a log has no path, so the allow-list never applies.
    let session = "sess-00000000-0123456789abcdef0123456789abcdef";
    assert_eq!(r.redact(session), "sess-00000000-[REDACTED]");
}

#[test]
fn built_in_detectors_still_run_beside_the_rules() {
    let r = redactor();
    assert_eq!(
        r.redact("password=hunter2 acme_live_k3j9x2m8q7w1z5r4t6y0u2p8"),
        "password=[REDACTED] [REDACTED]"
    );
}

#[test]
fn bad_files_are_refused() {
    for bad in [
        "[[rules]\nid = 1",
        "rules = 5",
        "[[rules]]\nid = \"r\"\nregex = '''(unclosed'''",
        "[[rules]]\nid = \"r\"\nregex = 'x'\nsecretGroup = -1",
        "[[rules]]\nid = \"r\"\nregex = 'x'\n[[rules.allowlists]]\nregexTarget = \"file\"",
    ] {
        assert!(
            matches!(
                Redactor::builder().gitleaks_rules(bad),
                Err(ConfigError::InvalidRule { .. })
            ) || matches!(
                Redactor::builder()
                    .gitleaks_rules(bad)
                    .and_then(palisade_redact::RedactorBuilder::build),
                Err(ConfigError::InvalidRule { .. })
            ),
            "{bad}"
        );
    }
}
