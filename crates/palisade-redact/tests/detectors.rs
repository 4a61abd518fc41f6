//! Per-detector positive and negative cases, configuration, styles and structured helpers.

use palisade_redact::{ConfigError, KeyedHashKey, Kind, Redactor, SecretBox, Style};

fn r() -> Redactor {
    Redactor::new()
}

fn kinds(redactor: &Redactor, text: &str) -> Vec<Kind> {
    redactor
        .find(text.as_bytes())
        .into_iter()
        .map(|f| f.kind)
        .collect()
}

#[test]
fn authorization_schemes() {
    let r = r();
    assert_eq!(
        r.redact("curl -H 'x: Bearer abcdefghijklmnop1234'"),
        "curl -H 'x: Bearer [REDACTED]'"
    );
    // Too short to be a credential, or plain words.
    for benign in [
        "the bearer token expired",
        "Bearer abc",
        "basic auth enabled",
        "Basic realm=\"api\"",
    ] {
        assert_eq!(r.redact(benign), benign);
    }
    // Basic must decode to user:password.
    assert_eq!(
        r.redact("x Basic dXNlcjpwYXNzd29yZA== y"),
        "x Basic [REDACTED] y"
    );
    assert_eq!(
        r.redact("x Basic aGVsbG8gd29ybGQ= y"),
        "x Basic aGVsbG8gd29ybGQ= y"
    );
}

#[test]
fn urls() {
    let r = r();
    assert_eq!(
        r.redact_url("https://u:p4ss@host/x"),
        "https://u:[REDACTED]@host/x"
    );
    for benign in [
        "https://user@host/x",
        "https://host/a:b@c",
        "mailto:someone@example.com",
        "see https://example.com:8443/path",
    ] {
        assert_eq!(r.redact_url(benign), benign);
    }
    assert_eq!(
        r.redact_url("https://api/x?page=2&api_key=abc123#frag"),
        "https://api/x?page=2&api_key=[REDACTED]#frag"
    );
}

#[test]
fn pem_blocks() {
    let r = r();
    let key =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\nxyz==\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        r.redact(&format!("before\n{key}\nafter")),
        "before\n[REDACTED]\nafter"
    );
    // No END line: redacted to the end, never half-kept.
    assert_eq!(
        r.redact("x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\nmore"),
        "x\n[REDACTED]"
    );
    // Public material is left alone.
    let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    assert_eq!(r.redact(cert), cert);
}

#[test]
fn token_boundaries_and_lookalikes() {
    let r = r();
    for benign in [
        "AKIAXXXXXXXXXXXXXXX",     // 15 after the prefix
        "xAKIAIOSFODNN7EXAMPLEx",  // inside a word
        "ghp_tooShort123",         // short
        "sk_live_short",           // short
        "eyJhbGciOi is not a jwt", // no segments
        "SG.short.short",
        "xoxb-123",
        "glpat-short",
        "AIzaTooShort",
    ] {
        assert_eq!(r.redact(benign), benign, "{benign}");
    }
    assert_eq!(
        kinds(
            &r,
            "https://hooks.slack.com/services/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"
        ),
        [Kind::SlackToken]
    );
    // Slack's documented placeholder webhook is no secret.
    let doc = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
    assert_eq!(r.redact(doc), doc);
}

#[test]
fn keys_inside_quoted_strings() {
    let r = r();
    let cases = [
        (
            r#"{"level":"info","msg":"token=9fQ2xLr7Kp3Wm8Zt"}"#,
            r#"{"level":"info","msg":"token=[REDACTED]"}"#,
        ),
        (
            r#"curl -H "apikey: 9fQ2xLr7Kp3Wm8Zt" https://api"#,
            r#"curl -H "apikey: [REDACTED]" https://api"#,
        ),
        (
            r#"curl -H "Authorization: Token 9fQ2xLr7Kp3Wm8Zt" -X GET"#,
            r#"curl -H "Authorization: [REDACTED]" -X GET"#,
        ),
        (
            r#"{"msg":"retry with password: hunter2 done"}"#,
            r#"{"msg":"retry with password: [REDACTED] done"}"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(r.redact(input), expected, "{input}");
    }
    // A quoted key still needs its operator.
    let benign = r#"{"msg":"token refreshed"}"#;
    assert_eq!(r.redact(benign), benign);
}

#[test]
fn assignment_operators_of_common_languages() {
    let r = r();
    let cases = [
        (r#"myToken := "abcdef123456""#, r#"myToken := "[REDACTED]""#),
        ("password := s3cr3tValue", "password := [REDACTED]"),
        ("'password' => 'hunter2',", "'password' => '[REDACTED]',"),
        (r#"api_key <- "k-9f2c81""#, r#"api_key <- "[REDACTED]""#),
        ("secret: `hunter2`", "secret: `[REDACTED]`"),
        (
            r#"var password = @"c:\hunter2";"#,
            r#"var password = @"[REDACTED]";"#,
        ),
        (r#"TOKEN = r"a\b""#, r#"TOKEN = r"[REDACTED]""#),
    ];
    for (input, expected) in cases {
        assert_eq!(r.redact(input), expected, "{input}");
    }
}

#[test]
fn unquoted_values_keep_their_brackets() {
    let r = r();
    let cases = [
        ("password=m{{h}o)p${e]x next", "password=[REDACTED] next"),
        ("password=a,b,c user=x", "password=[REDACTED] user=x"),
        // Brackets opened before the key still close around the value.
        ("f(password=hunter2) g", "f(password=[REDACTED]) g"),
        ("{password=hunter2}", "{password=[REDACTED]}"),
        ("[token=abc123] ok", "[token=[REDACTED]] ok"),
        // A comma before another key, or before a space, ends the value.
        ("token=abc123,user=bob", "token=[REDACTED],user=bob"),
        ("token: abc123, user=1", "token: [REDACTED], user=1"),
    ];
    for (input, expected) in cases {
        assert_eq!(r.redact(input), expected, "{input}");
    }
}

#[test]
fn gitlab_prefixes_at_published_lengths() {
    let r = r();
    let b20 = "Zk3Lq8vN2xR7tW5yH1mC";
    for token in [
        format!("glpat-{b20}"),
        format!("gldt-{b20}"),
        format!("glrt-{b20}"),
        format!("glcbt-64_{b20}"),
        format!("glffct-{b20}"),
        format!("glft-{b20}"),
        format!("glsoat-{b20}"),
        format!("GR1348941{b20}"),
        format!("glimt-{b20}p9Q2w"),
        "glagent-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdocJ2isAjIh".to_owned(),
        "gloas-KtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7FAc9Qe".to_owned(),
        "glptt-3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a".to_owned(),
        format!("glpat-{b20}Kp3Wm8Z.01.0a1b2c3"),
        format!("glpat-{b20}Kp3Wm8Z.010a1b2c3"),
    ] {
        let text = format!("push failed with {token} (401)");
        assert_eq!(kinds(&r, &text), [Kind::GitLabToken], "{token}");
        assert!(!r.redact(&text).contains(&token), "{token}");
    }
    for benign in [
        format!("glpat-{b20}Kp3"), // 23: no published length
        format!("glimt-{b20}"),    // 20: incoming mail tokens are 25
        "glptt-not-hex-at-all-not-hex-at-all-zzzz".to_owned(),
        "glpat-XXXXXXXXXXXXXXXXXXXX".to_owned(), // placeholder
    ] {
        assert_eq!(r.redact(&benign), benign, "{benign}");
    }
}

#[test]
fn slack_app_legacy_and_workflow_tokens() {
    let r = r();
    for token in [
        "xapp-1-A07QZ3K9LMN-7512094863215-9f3c1a7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a1c3e5b7d9f2a4c6e8b0d1f3a",
        "xoxo-2934858123-9Kp3Wm8ZtQ2xLr7vN5yH1mC4",
        "xoxb-429174768631-1297275612535-k81zG4ExeBt876IroUSqJog9",
        "https://hooks.slack.com/workflows/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",
        "https://hooks.slack.com/triggers/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",
    ] {
        let text = format!("notify {token} ok");
        assert_eq!(kinds(&r, &text), [Kind::SlackToken], "{token}");
    }
    for benign in ["xoxb-12345-abcd234", "xoxb-not-a-token", "xapp-config"] {
        assert_eq!(r.redact(benign), benign, "{benign}");
    }
}

#[test]
fn testpypi_tokens() {
    let r = r();
    let token = format!(
        "pypi-AgENdGVzdC5weXBpLm9yZw{}",
        "IkM3ZmI2ZjQ4LTk1YjQtNGUzNy1hYjQ4LWE3ZGRhNjI0ZDQ0NiIAAiJ7InBlcm1pc3Npb25zIjogInVzZXIi"
    );
    assert_eq!(
        kinds(&r, &format!("twine upload -p {token}")),
        [Kind::PyPiToken]
    );
    assert_eq!(
        r.redact("pypi-AgENdGVzdC5weXBpLm9yZw"),
        "pypi-AgENdGVzdC5weXBpLm9yZw"
    );
}

#[test]
fn pgp_private_key_blocks() {
    let r = r();
    let key = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n\
               lQOYBF0Bx2UBCADFq8r2k3hL9vTz4mPq2nX7wY1bC5dE8fG0hJ3kL6mN9pQ2rS5t\n\
               =a1Bc\n-----END PGP PRIVATE KEY BLOCK-----";
    assert_eq!(
        r.redact(&format!("export\n{key}\ndone")),
        "export\n[REDACTED]\ndone"
    );
    let public =
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBF0Bx2U\n-----END PGP PUBLIC KEY BLOCK-----";
    assert_eq!(r.redact(public), public);
}

#[test]
fn unsigned_two_segment_jwts() {
    let r = r();
    let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyLTQyIiwiYWRtaW4iOnRydWV9";
    assert_eq!(kinds(&r, &format!("jwt {token} accepted")), [Kind::Jwt]);
    // Two JSON segments whose header names no algorithm are not a token.
    let benign = "eyJ0eXAiOiJ4In0.eyJzdWIiOiIxIn0";
    assert_eq!(r.redact(benign), benign);
}

#[test]
fn placeholders_are_not_secrets() {
    let r = r();
    for benign in [
        "AKIAXXXXXXXXXXXXXXXX",
        "glpat-XXXXXXXXXXXXXXXXXXXX",
        "xoxb-12345-abcd234",
        "sk_live_000000000000000000000000",
        "AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "Authorization: Bearer XXXXXXXXXXXXXXXXXXXXXXXX",
        "-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n-----END RSA PRIVATE KEY-----",
        "password=${DB_PASSWORD}",
        "token: <your-token-here>",
        "api_key={{ .Values.apiKey }}",
        "postgres://app:${PGPASSWORD}@db/main",
        "password=********",
    ] {
        assert_eq!(r.redact(benign), benign, "{benign}");
    }
    // The AWS documentation key keeps being redacted: it has the shape of a real key.
    assert_eq!(r.redact("AKIAIOSFODNN7EXAMPLE"), "[REDACTED]");
}

#[test]
fn key_value_syntaxes() {
    let r = r();
    let cases = [
        ("passwd: s3cr3t", "passwd: [REDACTED]"),
        ("PWD='a b c'", "PWD='[REDACTED]'"),
        (
            r#"{"apiKey": "k-123", "n": 1}"#,
            r#"{"apiKey": "[REDACTED]", "n": 1}"#,
        ),
        (
            "Set-Cookie: sid=abc; HttpOnly\nnext",
            "Set-Cookie: [REDACTED]\nnext",
        ),
        ("x-api-key=abc;y=1", "x-api-key=[REDACTED];y=1"),
        ("secret=already [REDACTED]", "secret=[REDACTED] [REDACTED]"),
        ("password=", "password="),
    ];
    for (input, expected) in cases {
        assert_eq!(r.redact(input), expected, "{input}");
    }
    for benign in [
        "password_reset_requested=true",
        "token_count: 5",
        "secretary=bob",
        "the password was changed",
        "primary_key=42",
    ] {
        assert_eq!(r.redact(benign), benign);
    }
}

/// README: "Names match in lower case, upper case, capitalized words and camel case"; "a name
/// in no consistent case (`aPiKeY`) is not matched".
#[test]
fn key_names_match_in_the_cases_keys_are_written_in() {
    let r = r();
    for (input, expected) in [
        ("API_KEY: s3cr3tV4lue", "API_KEY: [REDACTED]"),
        ("Api-Key: s3cr3tV4lue", "Api-Key: [REDACTED]"),
        (
            r#"{"PassWord": "hunter2"}"#,
            r#"{"PassWord": "[REDACTED]"}"#,
        ),
        ("apiKey=s3cr3tV4lue", "apiKey=[REDACTED]"),
        ("DbPassword=hunter2", "DbPassword=[REDACTED]"),
        ("X-Auth-Token: s3cr3tV4lue", "X-Auth-Token: [REDACTED]"),
        ("SESSION_ID=abc123", "SESSION_ID=[REDACTED]"),
        ("run --Password hunter2", "run --Password [REDACTED]"),
    ] {
        assert_eq!(r.redact(input), expected, "{input}");
    }
    // Not a case keys are written in: left as it is (see the README for why).
    assert_eq!(r.redact("aPiKeY=s3cr3tV4lue"), "aPiKeY=s3cr3tV4lue");
    // Never a substring, in any of those cases.
    for benign in ["PASSWORD_RESET=true", "Secretary=bob", "tokenCount: 5"] {
        assert_eq!(r.redact(benign), benign);
    }
}

#[test]
fn configuration() {
    let r = Redactor::builder()
        .key("ssn")
        .without_key("session_id")
        .disable(Kind::CardNumber)
        .allow("AKIAIOSFODNN7EXAMPLE")
        .rule("ticket", r"TKT-([0-9A-F]{8})")
        .rule_with_anchor("employee", r"EMP\d{6}", "emp")
        .opaque_token_prefix("acme_")
        .build()
        .unwrap();
    assert_eq!(
        r.redact("ssn=078-05-1120 sessionid=abc"),
        "ssn=[REDACTED] sessionid=abc"
    );
    assert_eq!(r.redact("card 4111111111111111"), "card 4111111111111111");
    assert_eq!(
        r.redact("docs AKIAIOSFODNN7EXAMPLE"),
        "docs AKIAIOSFODNN7EXAMPLE"
    );
    assert_eq!(r.redact("see TKT-DEADBEEF"), "see TKT-[REDACTED]");
    assert_eq!(r.redact("by EMP123456."), "by [REDACTED].");
    let found = r.find(b"by EMP123456.");
    assert_eq!(found[0].rule.as_deref(), Some("employee"));
    let body = "a".repeat(43);
    let token = format!("acme_{body}{}", palisade_redact::opaque::checksum(&body));
    assert!(palisade_redact::opaque::is_valid("acme_", &token));
    assert_eq!(r.redact(&format!("k {token}")), "k [REDACTED]");

    assert!(matches!(
        Redactor::builder().rule("bad", "(").build(),
        Err(ConfigError::InvalidRule { .. })
    ));
    assert!(matches!(
        Redactor::builder()
            .opaque_token_prefix("nounderscore")
            .build(),
        Err(ConfigError::InvalidPrefix(_))
    ));
    assert!(matches!(
        Redactor::builder().key("--").build(),
        Err(ConfigError::InvalidName(_))
    ));
}

#[test]
fn pii_is_off_by_default() {
    let text = "mail jane.doe@example.org call +44 20 7946 0958 iban GB82 WEST 1234 5698 7654 32";
    assert_eq!(r().redact(text), text);
    let pii = Redactor::builder().enable_pii().build().unwrap();
    assert_eq!(
        pii.redact(text),
        "mail [REDACTED] call [REDACTED] iban [REDACTED]"
    );
    // A wrong IBAN checksum, and a phone-like number without the country prefix, stay.
    let benign = "iban GB82 WEST 1234 5698 7654 33 ticket 20 7946 0958";
    assert_eq!(pii.redact(benign), benign);
}

#[test]
fn styles() {
    let card = Style::Partial {
        prefix: 0,
        suffix: 4,
    };
    let r = Redactor::builder()
        .style_for(Kind::CardNumber, card)
        .build()
        .unwrap();
    assert_eq!(r.redact("card 4111 1111 1111 1111"), "card [REDACTED]1111");
    let key = KeyedHashKey::new(SecretBox::new(vec![9u8; 32].into_boxed_slice())).unwrap();
    let r = Redactor::builder()
        .style(Style::KeyedHash(key))
        .build()
        .unwrap();
    let a = r.redact("password=hunter2");
    let b = r.redact("retry password=hunter2");
    let c = r.redact("password=hunter3");
    let tag = |s: &str| s.rsplit('=').next().unwrap().to_owned();
    assert_eq!(tag(&a), tag(&b));
    assert_ne!(tag(&a), tag(&c));
    assert!(!a.contains("hunter"));
}

#[test]
fn json_values() {
    use serde_json::json;
    let mut v = json!({
        "user": {"name": "a", "credentials": {"x": 1}, "tokens": ["ghp_x", "fine"]},
        "headers": [{"Authorization": "Bearer abcdefghijklmnopqrstu"}],
        "note": "connect postgres://u:pw@h/db"
    });
    r().redact_json(&mut v);
    assert_eq!(
        v,
        json!({
            "user": {"name": "a", "credentials": "[REDACTED]", "tokens": ["ghp_x", "fine"]},
            "headers": [{"Authorization": "[REDACTED]"}],
            "note": "connect postgres://u:[REDACTED]@h/db"
        })
    );
    let mut deep = json!("x");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    r().redact_json(&mut deep); // bounded, no stack overflow
}

#[cfg(feature = "http")]
#[test]
fn header_maps() {
    use http::{HeaderMap, HeaderValue, header};
    let mut h = HeaderMap::new();
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer abcdefghijklmnopqrstuvwxyz"),
    );
    h.insert(header::COOKIE, HeaderValue::from_static("a=1"));
    h.insert("x-request-id", HeaderValue::from_static("req-1"));
    h.insert("x-debug", HeaderValue::from_static("token=abc"));
    let out = r().redact_headers(&h);
    assert_eq!(out[header::AUTHORIZATION], "[REDACTED]");
    assert_eq!(out[header::COOKIE], "[REDACTED]");
    assert_eq!(out["x-request-id"], "req-1");
    assert_eq!(out["x-debug"], "token=[REDACTED]");
}

#[test]
fn redacted_wrapper_and_debug() {
    let w = palisade_redact::Redacted::new(String::from("sk_live_x"));
    assert_eq!(format!("{w:?}|{w}"), "[REDACTED]|[REDACTED]");
    let r = Redactor::builder()
        .style(Style::KeyedHash(
            KeyedHashKey::new(SecretBox::new(vec![7u8; 40].into_boxed_slice())).unwrap(),
        ))
        .build()
        .unwrap();
    let shown = format!("{r:?}");
    assert!(shown.contains("KeyedHash([REDACTED])"), "{shown}");
}

#[test]
fn generic_secret_named_keys_with_random_values() {
    let r = r();
    let secret = "kT9vQ2xLr7Wm8ZtP4sYb";
    for shape in [
        "stripe_key={}",
        "signing_key: {}",
        r#"{"encryptionKey":"{}","n":1}"#,
        r#"{"msg":"using master_key={} now"}"#,
        "  webhookAuth: {}",
        "X-Auth-Key: {}",
        r#"curl -H "X-Upstream-Key: {}" https://api"#,
        "deploy --upstream-auth {} --dry-run",
        r#"signingKey := "{}""#,
        "$encryption_key = '{}';",
        "'hmac_key' => '{}',",
        "license_key <- \"{}\"",
    ] {
        let text = shape.replace("{}", secret);
        let out = r.redact(&text);
        assert!(!out.contains(secret), "{text} -> {out}");
        assert!(
            kinds(&r, &text).contains(&Kind::GenericSecret),
            "{text}: {:?}",
            kinds(&r, &text)
        );
    }
    // Secret-named keys with values that are not secrets: numbers, words, paths, ids,
    // placeholders, low entropy.
    for benign in [
        "token_count=5",
        "primary_key=42",
        "cache_key=user:123:profile",
        "sort_key=created_at",
        "api_key_id=1234567890123",
        "encryption_key=your-encryption-key-here",
        "signing_key=EXAMPLEKEY1234567",
        "master_key=changeme123456",
        "key_file=/etc/ssl/private/server.key",
        "auth_mode=oauth2",
        "key=aaaaaaaaaaaaaaaaaaaa",
        "stripe_key=${STRIPE_KEY}",
        "passkey=abcabcabcabcabc1",
    ] {
        assert_eq!(r.redact(benign), benign, "{benign}");
    }
}

#[test]
fn command_line_credentials() {
    let r = r();
    let cases = [
        (
            "curl -u alice:s3cr3tPass https://api",
            "curl -u alice:[REDACTED] https://api",
        ),
        (
            "curl --user 'bob:hunter2' -X POST",
            "curl --user 'bob:[REDACTED]' -X POST",
        ),
        (
            "wget --user=carol:pw123 x",
            "wget --user=carol:[REDACTED] x",
        ),
        (
            "mysql --password hunter2 -h db",
            "mysql --password [REDACTED] -h db",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(r.redact(input), expected, "{input}");
    }
    for benign in [
        "curl -u alice https://api",
        "sort -u file.txt",
        "ps -u root",
        "tool --password --next",
        "docker run -u 1000:1000 image",
    ] {
        assert_eq!(r.redact(benign), benign, "{benign}");
    }
}
