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
            "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"
        ),
        [Kind::SlackToken]
    );
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
