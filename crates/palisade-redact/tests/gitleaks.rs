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

const GHP: &str = "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";
const DOP: &str = "dop_v1_4f9c2a7e1b8d3f6a0c5e9b2d7f1a4c8e3b6d0f9a2c5e8b1d4f7a0c3e6b9d2f5a";

#[test]
fn extend_use_default_keeps_the_built_ins_and_disabled_rules_turn_them_off() {
    let base = Redactor::builder()
        .gitleaks_rules("[extend]\nuseDefault = true\n")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(base.redact(GHP), "[REDACTED]");
    assert_eq!(base.redact(DOP), "[REDACTED]");
    // A gitleaks default id turns off the detector that covers it, a family id its family;
    // names that no built-in detector answers to are ignored.
    let r = Redactor::builder()
        .gitleaks_rules(
            "[extend]\nuseDefault = true\n\
             disabledRules = [\"github-pat\", \"digitalocean_token\", \"adafruit-api-key\", \"nope\"]\n",
        )
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(r.redact(GHP), GHP);
    assert_eq!(r.redact(DOP), DOP);
    assert_eq!(r.redact("key AKIAQ7XJ3KDMN2PVR5TW"), "key [REDACTED]");
    assert_eq!(r.redact("password=hunter2"), "password=[REDACTED]");
    // Without `useDefault`, or with it false, the built-in detectors still run: a rule file
    // never turns them off unless it names them.
    for file in [
        "[[rules]]\nid = \"x\"\nregex = 'x_[0-9]{8}'\n",
        "[extend]\nuseDefault = false\n[[rules]]\nid = \"x\"\nregex = 'x_[0-9]{8}'\n",
    ] {
        let plain = Redactor::builder()
            .gitleaks_rules(file)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(plain.redact(GHP), "[REDACTED]");
    }
}

/// A scratch directory of rule files, removed on drop.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("palisade-gitleaks-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn extend_path_merges_a_base_file() {
    let dir = Dir::new("extend");
    dir.file(
        "base.toml",
        "[allowlist]\nstopwords = [\"deadbeef\"]\n\
         [[rules]]\nid = \"acme\"\nregex = 'acme_[a-z0-9]{24}'\nkeywords = [\"acme_\"]\n\
         [[rules]]\nid = \"legacy\"\nregex = 'old_[a-z0-9]{24}'\nkeywords = [\"old_\"]\n\
         [[rules]]\nid = \"session\"\nregex = 'sess-[0-9a-f]{32}'\nkeywords = [\"sess-\"]\n",
    );
    let team = dir.file(
        "team.toml",
        "[extend]\npath = \"base.toml\"\ndisabledRules = [\"legacy\"]\n\
         [[rules]]\nid = \"session\"\nregex = 'sess-[0-9a-f]{8}-([0-9a-f]{32})'\nkeywords = [\"sess-\"]\n",
    );
    let r = Redactor::builder()
        .gitleaks_rules_file(&team)
        .unwrap()
        .build()
        .unwrap();
    // The base's rule, and its global allow-list's stop word.
    assert_eq!(r.redact("k acme_k3j9x2m8q7w1z5r4t6y0u2p8"), "k [REDACTED]");
    let stop = "k acme_deadbeefk3j9x2m8q7w1z5r4";
    assert_eq!(r.redact(stop), stop);
    // Disabled by the extending file.
    let old = "k old_k3j9x2m8q7w1z5r4t6y0u2p8";
    assert_eq!(r.redact(old), old);
    // Defined again: the extending file's definition replaces the base's.
    assert_eq!(
        r.redact("sess-0a1b2c3d-0123456789abcdef0123456789abcdef"),
        "sess-0a1b2c3d-[REDACTED]"
    );
    let found = r.find(b"sess-0123456789abcdef0123456789abcdef");
    assert!(found.is_empty(), "{found:?}");

    // Three files in a chain at most; a missing base; `useDefault` with `path`; `path`
    // through the text API, which knows no directory.
    dir.file("b1.toml", "[extend]\npath = \"b2.toml\"\n");
    dir.file("b2.toml", "[extend]\npath = \"b3.toml\"\n");
    dir.file("b3.toml", "[[rules]]\nid = \"x\"\nregex = 'x'\n");
    let deep = dir.file("deep.toml", "[extend]\npath = \"b1.toml\"\n");
    let shallow = dir.file("shallow.toml", "[extend]\npath = \"b2.toml\"\n");
    let missing = dir.file("missing.toml", "[extend]\npath = \"nowhere.toml\"\n");
    let both = dir.file(
        "both.toml",
        "[extend]\nuseDefault = true\npath = \"base.toml\"\n",
    );
    assert!(Redactor::builder().gitleaks_rules_file(&shallow).is_ok());
    for bad in [&deep, &missing, &both] {
        assert!(
            matches!(
                Redactor::builder().gitleaks_rules_file(bad),
                Err(ConfigError::InvalidRule { .. })
            ),
            "{}",
            bad.display()
        );
    }
    assert!(matches!(
        Redactor::builder().gitleaks_rules("[extend]\npath = \"base.toml\"\n"),
        Err(ConfigError::InvalidRule { .. })
    ));
    // A missing file is reported without its path.
    let err = Redactor::builder()
        .gitleaks_rules_file(dir.0.join("zqxmark.toml"))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("zqxmark"), "{err}");
}

const PATH_RULES: &str = r#"
[[rules]]
id = "env-only"
regex = '''envkey_[a-z0-9]{24}'''
path = '''\.env$'''
keywords = ["envkey_"]

[[rules]]
id = "acme"
regex = '''acme_[a-z0-9]{24}'''
keywords = ["acme_"]
[[rules.allowlists]]
paths = ['''^testdata/''']
[[rules.allowlists]]
condition = "AND"
paths = ['''^docs/''']
regexes = ['''^acme_0''']
"#;

#[test]
fn rule_paths_and_allowlist_paths_apply_where_a_path_is_known() {
    let r = Redactor::builder()
        .gitleaks_rules(PATH_RULES)
        .unwrap()
        .build()
        .unwrap();
    let env = "x envkey_k3j9x2m8q7w1z5r4t6y0u2p8";
    // A rule's `path`: without a path it is not restricted; with one, it must match.
    assert_eq!(r.redact(env), "x [REDACTED]");
    assert_eq!(
        r.with_source_path("deploy/.env").redact(env),
        "x [REDACTED]"
    );
    assert_eq!(r.with_source_path("src/main.rs").redact(env), env);
    // An allow-list's `paths`: they allow only where a path is known and matches.
    let acme = "x acme_k3j9x2m8q7w1z5r4t6y0u2p8";
    assert_eq!(r.redact(acme), "x [REDACTED]");
    assert_eq!(
        r.with_source_path("src/lib.rs").redact(acme),
        "x [REDACTED]"
    );
    assert_eq!(r.with_source_path("testdata/log.txt").redact(acme), acme);
    // `AND`: the path and the regex together.
    let zero = "x acme_0k3j9x2m8q7w1z5r4t6y0u2p";
    assert_eq!(r.with_source_path("docs/a.md").redact(zero), zero);
    assert_eq!(r.with_source_path("docs/a.md").redact(acme), "x [REDACTED]");
    assert_eq!(r.with_source_path("src/a.md").redact(zero), "x [REDACTED]");
    assert_eq!(r.redact(zero), "x [REDACTED]");
    // Built-in detectors ignore paths; the path is kept for callers.
    let t = r.with_source_path("testdata/log.txt");
    assert_eq!(t.source_path(), Some("testdata/log.txt"));
    assert_eq!(r.source_path(), None);
    assert_eq!(t.redact("password=hunter2"), "password=[REDACTED]");
}

#[test]
fn stream_input_has_no_path_unless_given_one() {
    let r = Redactor::builder()
        .gitleaks_rules(PATH_RULES)
        .unwrap()
        .build()
        .unwrap();
    let input = b"x acme_k3j9x2m8q7w1z5r4t6y0u2p8\n";
    let run = |r: Redactor| {
        let mut lines = palisade_redact::LineRedactor::new(r);
        let mut out = Vec::new();
        lines.push(input, &mut out);
        lines.finish(&mut out);
        out
    };
    assert_eq!(run(r.clone()), b"x [REDACTED]\n");
    assert_eq!(run(r.with_source_path("testdata/app.log")), input);
}

#[test]
fn regex_targets_and_target_rules() {
    let r = Redactor::builder()
        .gitleaks_rules(
            r#"
[[allowlists]]
targetRules = ["acme"]
stopwords = ["cafe"]

[[rules]]
id = "acme"
regex = '''acme_([a-z0-9]{24})'''
keywords = ["acme_"]

[[rules]]
id = "beta"
regex = '''beta_([a-z0-9]{24})'''
keywords = ["beta_"]
[[rules.allowlists]]
regexTarget = "match"
regexes = ['''^beta_0''']
"#,
        )
        .unwrap()
        .build()
        .unwrap();
    // `regexTarget = "match"` sees the prefix, which the secret (the group) lacks.
    let zero = "beta_0k3j9x2m8q7w1z5r4t6y0u2p";
    assert_eq!(r.redact(zero), zero);
    assert_eq!(r.redact("beta_k3j9x2m8q7w1z5r4t6y0u2p8"), "beta_[REDACTED]");
    // The global allow-list applies to the rules it names only.
    let cafe_a = "acme_cafek3j9x2m8q7w1z5r4t6y0";
    let cafe_b = "beta_cafek3j9x2m8q7w1z5r4t6y0";
    assert_eq!(r.redact(cafe_a), cafe_a);
    assert_eq!(r.redact(cafe_b), "beta_[REDACTED]");
}

#[test]
fn keyword_rules_of_gitleaks_are_generic_secrets_when_the_key_names_a_secret() {
    let r = Redactor::new();
    for (line, redacted) in [
        (
            "DATADOG_API_KEY=9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c8e",
            "DATADOG_API_KEY=[REDACTED]",
        ),
        (
            r#"{"fastly_token": "Qx7mK2pL9vR4tW8zN3bC6dF1gH5jS0aE"}"#,
            r#"{"fastly_token": "[REDACTED]"}"#,
        ),
        (
            "run --okta-secret 00Qx7mK2pL9vR4tW8zN3bC6dF1gH5jS0aEyU",
            "run --okta-secret [REDACTED]",
        ),
        // The provider's name alone is not a secret-named key: its value is redacted only
        // in the provider's format (`tests/keywords.rs`), not one character short of it.
        (
            "datadog: 9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c8",
            "datadog: 9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c8",
        ),
        (
            "datadog: 9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c8e",
            "datadog: [REDACTED]",
        ),
    ] {
        assert_eq!(r.redact(line), redacted, "{line}");
    }
    // A key that is secret-named without being a sensitive name needs a random value.
    // (30 hex: no Datadog format, which the provider keyword rules would take whatever the
    // generic rule says.)
    let app = "DATADOG_APP_KEY=9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c";
    assert_eq!(r.redact(app), "DATADOG_APP_KEY=[REDACTED]");
    assert_eq!(
        r.redact("DATADOG_APP_KEY=datadog"),
        "DATADOG_APP_KEY=datadog"
    );
    // `disabledRules = ["generic-api-key"]` turns generic secrets off, not sensitive keys.
    let off = Redactor::builder()
        .gitleaks_rules("[extend]\nuseDefault = true\ndisabledRules = [\"generic-api-key\"]\n")
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(off.redact(app), app);
    assert_eq!(
        off.redact("DATADOG_API_KEY=9f3a1c7e5b2d8f4a6c0e9b1d7f3a5c8e"),
        "DATADOG_API_KEY=[REDACTED]"
    );
}
