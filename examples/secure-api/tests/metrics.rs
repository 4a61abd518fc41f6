//! The attack script of issue 19 against the running service, over HTTP: failed logins on one
//! account, forged bearer tokens and a request flood; then `GET /metrics` on the admin
//! listener shows the counters that alerting rules watch, and none of the attacker's or
//! victim's data.
//!
//! Each test starts its own server process, so its counts are its own; they are still compared
//! before and after the attack (the recorder is process-global, and a service embedded in a
//! process shared with others would see their counts too).

mod common;

use base64::Engine as _;
use common::{PASSWORD, Server};

const VICTIM: &str = "victim.account@example.com";
const WRONG: &str = "a guess that is not the password";
const ATTACKER: [u8; 4] = [127, 0, 0, 23];

/// The value of every counter series of `name` whose labels contain all of `labels`
/// (`key="value"` pairs), summed; 0 when there is none.
fn value(metrics: &str, name: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, number) = line.rsplit_once(' ')?;
            let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
            (series_name == name && labels.iter().all(|l| rest.contains(l)))
                .then(|| number.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

/// The `# TYPE` a metric is declared with.
fn declared_type<'a>(metrics: &'a str, name: &str) -> Option<&'a str> {
    metrics.lines().find_map(|line| {
        line.strip_prefix("# TYPE ")?
            .strip_prefix(name)?
            .strip_prefix(' ')
    })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the attack did and left behind.
struct Attack {
    before: String,
    after: String,
    /// Requests the flood got refused.
    refused: u64,
    /// Everything of the victim and the attacker that must not reach `/metrics`.
    secrets: Vec<String>,
}

impl Attack {
    fn delta(&self, name: &str, labels: &[&str]) -> u64 {
        value(&self.after, name, labels) - value(&self.before, name, labels)
    }
}

/// Brute force on one account from one address, forged bearer tokens, a flood.
fn attack(server: &Server) -> Attack {
    let login = server.account(VICTIM, PASSWORD);
    let access = login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let before = server.metrics();
    assert_eq!(before.status, 200);
    assert!(
        before
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4"))
    );

    // 1. Brute force on one account from one address: five failures, then refusals.
    let statuses: Vec<u16> = (0..8)
        .map(|_| server.login_from(ATTACKER, VICTIM, WRONG, &[]).status)
        .collect();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);

    // 2. Forged bearer tokens: `alg: none`, and a real token's claims under a wrong signature.
    let (_, rest) = access.split_once('.').expect("a JWS");
    let (payload, _) = rest.split_once('.').expect("a JWS");
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let header = b64(br#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#);
    let forged = format!("{header}.{payload}.{}", b64(&[7u8; 32]));
    for token in [&none, &forged, &none, &forged] {
        let r = server.get("/me", &[("Authorization", &format!("Bearer {token}"))]);
        assert_eq!(r.status, 401, "{}", r.body);
    }

    // 3. A flood from one address, past its per-client limit.
    let flood: Vec<u16> = (0..50).map(|_| server.get("/nope", &[]).status).collect();
    let refused = flood.iter().filter(|s| **s == 429).count() as u64;
    assert!(refused > 0, "{flood:?}");

    let mut secrets = vec![
        VICTIM.to_owned(),
        "example.com".to_owned(),
        "127.0.0".to_owned(),
        PASSWORD.to_owned(),
        WRONG.to_owned(),
        payload.to_owned(),
        access.clone(),
        none,
        forged,
    ];
    if let Some(refresh) = login["refresh_token"].as_str() {
        secrets.push(refresh.to_owned());
    }
    Attack {
        before: before.body,
        after: server.metrics().body,
        refused,
        secrets,
    }
}

/// The other crates' counters on the same page: the wrong passwords as verifications that did
/// not match, the forged tokens by the reason they were refused.
fn other_crates_counters(a: &Attack) {
    let after = &a.after;
    assert_eq!(
        a.delta(
            "palisade_password_verifications_total",
            &["outcome=\"mismatch\""]
        ),
        5,
        "{after}"
    );
    assert_eq!(
        a.delta(
            "palisade_token_verifications_total",
            &["kind=\"jwt\"", "outcome=\"alg_none\""]
        ),
        2,
        "{after}"
    );
    let jwt_refused = a.delta("palisade_token_verifications_total", &["kind=\"jwt\""])
        - a.delta(
            "palisade_token_verifications_total",
            &["kind=\"jwt\"", "outcome=\"ok\""],
        );
    assert_eq!(jwt_refused, 4, "{after}");
    // palisade-http's: the same forged tokens refused by the bearer layer, the flood by the
    // per-client rate-limit layer.
    assert_eq!(
        a.delta(
            "palisade_http_refusals_total",
            &["layer=\"bearer\"", "reason=\"rejected\""]
        ),
        4,
        "{after}"
    );
    assert!(
        a.delta(
            "palisade_http_refusals_total",
            &["layer=\"rate_limit\"", "reason=\"exceeded\""]
        ) >= a.refused,
        "{after}"
    );
}

#[test]
fn an_attack_moves_the_counters_and_leaves_no_personal_data_in_metrics() {
    let dir = Server::temp_dir("metrics-attack");
    let server = Server::start(&dir, &[("PALISADE_RATE_LIMIT", "40")]);
    let a = attack(&server);
    let after = &a.after;

    // The service's own counters.
    assert_eq!(
        a.delta("secure_api_logins_total", &["result=\"failure\""]),
        5,
        "{after}"
    );
    assert_eq!(
        a.delta("secure_api_logins_total", &["result=\"locked\""]),
        3,
        "{after}"
    );
    assert_eq!(
        a.delta("secure_api_token_rejections_total", &[]),
        4,
        "{after}"
    );
    assert!(
        a.delta("secure_api_rate_limited_total", &[]) >= a.refused,
        "{after}"
    );
    assert!(
        a.delta("secure_api_http_responses_total", &["class=\"4xx\""]) >= 5 + 3 + 4 + a.refused
    );

    // palisade-ratelimit's, through the same recorder.
    assert_eq!(
        a.delta(
            "palisade_ratelimit_lockouts_total",
            &["scope=\"account_client\""]
        ),
        3,
        "{after}"
    );
    assert_eq!(
        a.delta("palisade_ratelimit_login_failures_total", &[]),
        5,
        "{after}"
    );
    assert!(
        a.delta(
            "palisade_ratelimit_decisions_total",
            &["policy=\"per-client\"", "outcome=\"denied\""]
        ) >= a.refused,
        "{after}"
    );
    assert!(
        a.delta(
            "palisade_ratelimit_decisions_total",
            &["outcome=\"allowed\""]
        ) > 0
    );

    other_crates_counters(&a);

    // Declared with their Prometheus types.
    for (name, kind) in [
        ("secure_api_logins_total", "counter"),
        ("secure_api_token_rejections_total", "counter"),
        ("secure_api_rate_limited_total", "counter"),
        ("secure_api_audit_dropped_total", "counter"),
        ("palisade_ratelimit_lockouts_total", "counter"),
        ("palisade_ratelimit_decisions_total", "counter"),
        // The log redactor's, registered when logging starts.
        ("palisade_redact_redactions_total", "counter"),
    ] {
        assert_eq!(declared_type(after, name), Some(kind), "{name}: {after}");
    }

    // Nothing of the victim or the attacker: no account, address, password or token.
    for secret in &a.secrets {
        assert!(
            !after.contains(secret.as_str()),
            "/metrics contains {secret}"
        );
    }
    // Every label value comes from a closed set: short names, no address, no email.
    for line in after
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('{'))
    {
        let labels = &line[line.find('{').unwrap_or(0)..line.rfind('}').unwrap_or(0)];
        for value in labels.split('"').skip(1).step_by(2) {
            let numeric = value.parse::<f64>().is_ok();
            assert!(
                numeric || (value.len() <= 32 && !value.contains('@') && !value.contains('.')),
                "label value {value:?} in {line}"
            );
        }
    }
}

#[test]
fn every_counter_is_rendered_from_the_first_scrape() {
    let dir = Server::temp_dir("metrics-first-scrape");
    let server = Server::start(&dir, &[]);
    let metrics = server.metrics().body;
    for series in [
        "secure_api_http_responses_total{class=\"5xx\"} 0",
        "secure_api_logins_total{result=\"locked\"} 0",
        "secure_api_token_rejections_total 0",
        "secure_api_rate_limited_total 0",
        "secure_api_audit_dropped_total 0",
    ] {
        assert!(metrics.contains(series), "{series}: {metrics}");
    }
    assert!(metrics.contains("# HELP secure_api_logins_total Login attempts by result."));
}

#[test]
fn the_keyring_rotation_gauges_are_scraped() {
    let dir = Server::temp_dir("metrics-rotation");
    let server = Server::start(&dir, &[]);
    let metrics = server.metrics().body;
    // A keyring made at start: a primary key of each purpose (field encryption and the blind
    // index), nothing due.
    assert_eq!(
        value(&metrics, "palisade_crypt_keys", &["state=\"primary\""]),
        2,
        "{metrics}"
    );
    for series in [
        "palisade_crypt_key_rotation_due 0",
        "palisade_crypt_keys_retire_due 0",
    ] {
        assert!(metrics.contains(series), "{series}: {metrics}");
    }
    assert_eq!(
        declared_type(&metrics, "palisade_crypt_active_key_age_seconds"),
        Some("gauge"),
        "{metrics}"
    );
}
