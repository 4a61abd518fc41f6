//! `RemoteJwks` and `RemoteVerifier` (feature `jwks-remote`) against a local HTTPS server
//! with a test CA: fetching and verifying, `max-age` and its bounds, the refresh interval
//! against made-up `kid`s, single-flight fetches, the stale bound while the issuer is down,
//! TLS trust, plain HTTP, the size cap, the timeout, the import rules and key rotation.
#![cfg(feature = "jwks-remote")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
#[path = "common/https_server.rs"]
mod https_server;

use std::sync::Arc;
use std::time::Duration;

use https_server::{Pki, Reply, Server};
use palisade_token::clock::ManualClock;
use palisade_token::jwt::{
    Algorithm, Claims, FetchError, Issuer, JwksError, KeySet, RemoteError, RemoteJwks,
    RemoteJwksBuilder, RemoteVerifier, SigningKey, Verifier,
};
use palisade_token::{ConfigError, ErrorKind};
use serde_json::{Value, json};

const ISS: &str = "https://idp.example";

fn key(file: &str, kid: &str) -> SigningKey {
    SigningKey::from_pem(Algorithm::EdDSA, &common::key_file(file))
        .unwrap()
        .with_kid(kid)
        .unwrap()
}

fn k1() -> SigningKey {
    key("ed25519_private.pem", "k1")
}

fn k2() -> SigningKey {
    key("ed25519_other_private.pem", "k2")
}

/// The public JWKS document of these keys.
fn jwks(keys: Vec<SigningKey>) -> String {
    let mut set = KeySet::new();
    for k in keys {
        set = set.with_signing_key(k).unwrap();
    }
    set.to_jwks().to_string()
}

/// Everything a test needs: the server, the clock, the client and a verifier on it.
struct Setup {
    server: Server,
    clock: Arc<ManualClock>,
    verifier: RemoteVerifier,
}

impl Setup {
    async fn new(
        reply: Reply,
        configure: impl FnOnce(RemoteJwksBuilder) -> RemoteJwksBuilder,
    ) -> Self {
        let pki = Pki::new("idp");
        let server = Server::https(&pki, reply).await;
        let clock = Arc::new(ManualClock::new(common::NOW));
        let builder = RemoteJwks::builder(server.url())
            .root_certificates_pem(pki.ca_pem.as_bytes())
            .unwrap()
            .clock(clock.clone());
        let jwks = configure(builder).build().unwrap();
        let settings = Verifier::new(KeySet::new())
            .issuer(ISS)
            .clock(clock.clone());
        Self {
            server,
            clock,
            verifier: RemoteVerifier::new(jwks, settings),
        }
    }

    /// A token signed by `key` now.
    fn token(&self, key: SigningKey) -> String {
        Issuer::new(KeySet::single(key))
            .unwrap()
            .issuer(ISS)
            .clock(self.clock.clone())
            .issue(Claims::empty().subject("alice"))
            .unwrap()
    }

    async fn verify(&self, token: &str) -> Result<Value, RemoteError> {
        self.verifier.verify_json(token).await
    }

    fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }
}

/// A token whose header names `kid` (signature and claims are never reached).
fn token_with_kid(kid: &str) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}).to_string();
    let payload = json!({"sub": "mallory", "exp": common::NOW + 3600}).to_string();
    format!(
        "{}.{}.{}",
        common::b64(header.as_bytes()),
        common::b64(payload.as_bytes()),
        common::b64(&[7; 64])
    )
}

fn unavailable(result: Result<Value, RemoteError>) -> JwksError {
    match result {
        Err(RemoteError::Unavailable(e)) => e,
        other => panic!("expected the key set to be unavailable, got {other:?}"),
    }
}

fn rejected(result: Result<Value, RemoteError>) -> ErrorKind {
    match result {
        Err(RemoteError::Invalid(e)) => e.kind(),
        other => panic!("expected the token to be rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn fetches_over_https_and_verifies_with_the_remote_set() {
    let s = Setup::new(Reply::jwks(jwks(vec![k1()])), |b| b).await;
    let claims = s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(s.server.hits(), 1);
    // Cached: the next verifications make no request.
    for _ in 0..5 {
        s.verify(&s.token(k1())).await.unwrap();
    }
    assert_eq!(s.server.hits(), 1);
    // Every check of the verifier applies: a token from another issuer, or signed by another
    // key under a known kid, is rejected without a fetch.
    let other_issuer = Issuer::new(KeySet::single(k1()))
        .unwrap()
        .issuer("https://evil.example")
        .clock(s.clock.clone())
        .issue(Claims::empty().subject("alice"))
        .unwrap();
    assert_eq!(
        rejected(s.verify(&other_issuer).await),
        ErrorKind::WrongIssuer
    );
    let forged = s.token(key("ed25519_other_private.pem", "k1"));
    assert_eq!(rejected(s.verify(&forged).await), ErrorKind::BadSignature);
    assert_eq!(
        rejected(s.verify("not.a.token").await),
        ErrorKind::Malformed
    );
    assert_eq!(s.server.hits(), 1);
    // Once a refresh would be allowed, tokens refused before the key is chosen still cause
    // none, whatever `kid` they name: `alg: none`, an embedded key, a key URL, oversized.
    s.advance(60);
    let forged_header = |header: Value| {
        let payload = json!({"sub": "mallory", "exp": common::NOW + 3600}).to_string();
        format!(
            "{}.{}.{}",
            common::b64(header.to_string().as_bytes()),
            common::b64(payload.as_bytes()),
            common::b64(&[7; 64])
        )
    };
    for (header, kind) in [
        (json!({"alg": "none", "kid": "new"}), ErrorKind::AlgNone),
        (
            json!({"alg": "EdDSA", "kid": "new", "jku": "https://evil.example/jwks"}),
            ErrorKind::EmbeddedKey,
        ),
        (
            json!({"alg": "EdDSA", "kid": "new", "jwk": {"kty": "OKP"}}),
            ErrorKind::EmbeddedKey,
        ),
        (
            json!({"alg": "EdDSA", "kid": "new", "pad": "x".repeat(9000)}),
            ErrorKind::TooLarge,
        ),
    ] {
        assert_eq!(rejected(s.verify(&forged_header(header)).await), kind);
    }
    assert_eq!(s.server.hits(), 1);
    // A well-formed token naming a new kid is what may refresh.
    assert_eq!(
        rejected(s.verify(&token_with_kid("new")).await),
        ErrorKind::UnknownKey
    );
    assert_eq!(s.server.hits(), 2);
    // The typed API too.
    let typed: Claims<serde_json::Map<String, Value>> =
        s.verifier.verify(&s.token(k1())).await.unwrap();
    assert_eq!(typed.sub.as_deref(), Some("alice"));
    assert!(s.verifier.jwks().key_set().await.unwrap().len() == 1);
}

#[tokio::test]
async fn max_age_is_honoured_and_clamped_to_the_configured_bounds() {
    let doc = jwks(vec![k1()]);
    let s = Setup::new(Reply::jwks(doc.clone()).max_age(600), |b| {
        b.min_ttl(Duration::from_secs(60))
            .max_ttl(Duration::from_secs(3600))
            .refresh_interval(Duration::from_secs(10))
    })
    .await;
    // max-age=600, within the bounds: kept 600 s.
    s.verify(&s.token(k1())).await.unwrap();
    s.advance(599);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 1);
    s.advance(1);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 2, "fetched again once max-age ran out");

    // max-age=5, below min_ttl: kept 60 s.
    s.server.set(Reply::jwks(doc.clone()).max_age(5));
    s.advance(600);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 3);
    s.advance(59);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 3, "min_ttl holds against a short max-age");
    s.advance(1);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 4);

    // max-age of a year, above max_ttl: kept 3600 s. (The response fetched just now said 5;
    // this one is fetched 60 s later.)
    s.server
        .set(Reply::jwks(doc.clone()).max_age(365 * 24 * 3600));
    s.advance(60);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 5);
    s.advance(3599);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 5);
    s.advance(1);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 6, "max_ttl holds against a long max-age");

    // No Cache-Control at all: min_ttl. (The response fetched just now said a year.)
    s.server.set(Reply::jwks(doc));
    s.advance(3600);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 7);
    s.advance(59);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 7);
    s.advance(1);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_unknown_kids_cause_at_most_one_fetch_per_refresh_interval() {
    let s = Setup::new(Reply::jwks(jwks(vec![k1()])).max_age(3600), |b| {
        b.refresh_interval(Duration::from_secs(60))
    })
    .await;
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 1);
    let mut n = 0u64;
    let mut attack = |count: usize| {
        (0..count)
            .map(|_| {
                n += 1;
                token_with_kid(&format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            })
            .collect::<Vec<_>>()
    };
    // Within the interval of the first fetch: no fetch at all.
    for token in attack(200) {
        assert_eq!(rejected(s.verify(&token).await), ErrorKind::UnknownKey);
    }
    assert_eq!(s.server.hits(), 1);
    // Each later interval: exactly one.
    for round in 2..=4 {
        s.advance(60);
        for token in attack(200) {
            assert_eq!(rejected(s.verify(&token).await), ErrorKind::UnknownKey);
        }
        assert_eq!(s.server.hits(), round);
        s.advance(30);
        for token in attack(50) {
            assert_eq!(rejected(s.verify(&token).await), ErrorKind::UnknownKey);
        }
        assert_eq!(s.server.hits(), round);
    }
    // Concurrently, while the one fetch is slow: still one.
    s.server
        .set(Reply::jwks(jwks(vec![k1()])).max_age(3600).delay_ms(200));
    s.advance(60);
    let verifier = Arc::new(s.verifier.clone());
    let tasks: Vec<_> = attack(64)
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify_json(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(rejected(task.await.unwrap()), ErrorKind::UnknownKey);
    }
    assert_eq!(s.server.hits(), 5);
    // Good tokens never needed any of it.
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_fetch() {
    let s = Setup::new(
        Reply::jwks(jwks(vec![k1()])).max_age(600).delay_ms(200),
        |b| b,
    )
    .await;
    let verifier = Arc::new(s.verifier.clone());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), s.token(k1()));
            tokio::spawn(async move { verifier.verify_json(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap()["sub"], "alice");
    }
    assert_eq!(s.server.hits(), 1);
    // On expiry, too: callers arriving during the refresh get the last set at once or wait for
    // the one fetch; none makes its own.
    s.advance(600);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), s.token(k1()));
            tokio::spawn(async move { verifier.verify_json(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap()["sub"], "alice");
    }
    assert_eq!(s.server.hits(), 2);
}

#[tokio::test]
async fn issuer_down_the_last_good_set_is_used_until_the_bound_then_a_clear_error() {
    let s = Setup::new(Reply::jwks(jwks(vec![k1()])).max_age(300), |b| {
        b.min_ttl(Duration::from_secs(60))
            .refresh_interval(Duration::from_secs(30))
            .max_stale(Duration::from_secs(600))
    })
    .await;
    s.verify(&s.token(k1())).await.unwrap();
    s.server.set(Reply::status(503));
    // Expired, refresh fails: the last good set still verifies, with one attempt per interval.
    s.advance(300);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 2);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 2);
    s.advance(30);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 3);
    s.advance(599 - 30);
    s.verify(&s.token(k1())).await.unwrap();
    // At the bound: fails closed, with the reason.
    s.advance(1);
    let error = unavailable(s.verify(&s.token(k1())).await);
    match &error {
        JwksError::Stale {
            expired_for,
            max_stale,
            last_error,
        } => {
            assert_eq!(*expired_for, Duration::from_secs(600));
            assert_eq!(*max_stale, Duration::from_secs(600));
            assert_eq!(*last_error, FetchError::Status(503));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("expired") && message.contains("503"),
        "{message}"
    );
    // Not "invalid token": the caller answers with a server error.
    assert_eq!(
        RemoteError::Unavailable(error).kind(),
        None,
        "an unavailable key set is no verdict on the token"
    );
    // The issuer recovers: the next attempt (one interval after the last) succeeds.
    s.server.set(Reply::jwks(jwks(vec![k1()])).max_age(300));
    s.advance(30);
    s.verify(&s.token(k1())).await.unwrap();
}

#[tokio::test]
async fn a_first_fetch_that_fails_is_an_unavailable_error_retried_once_per_interval() {
    let pki = Pki::new("idp");
    let server = Server::https(&pki, Reply::status(500)).await;
    let clock = Arc::new(ManualClock::new(common::NOW));
    let jwks = RemoteJwks::builder(server.url())
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            jwks.key_set().await.unwrap_err(),
            JwksError::NeverFetched(FetchError::Status(500))
        );
    }
    assert_eq!(server.hits(), 1);
    clock.advance(Duration::from_secs(60));
    server.set(Reply::jwks(jwks_doc_k1()));
    assert_eq!(jwks.key_set().await.unwrap().len(), 1);
    assert_eq!(server.hits(), 2);
    // A server that is gone: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://{}/.well-known/jwks.json",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let gone = RemoteJwks::builder(url)
        .root_certificates_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    assert!(matches!(
        gone.key_set().await,
        Err(JwksError::NeverFetched(FetchError::Connect(_)))
    ));
}

fn jwks_doc_k1() -> String {
    jwks(vec![k1()])
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_refused() {
    let idp = Pki::new("idp");
    let other = Pki::new("other");
    let server = Server::https(&idp, Reply::jwks(jwks_doc_k1())).await;
    // Trusting another CA.
    let wrong_ca = RemoteJwks::builder(server.url())
        .root_certificates_pem(other.ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    // The default trust: the Mozilla root program, which never issued the test CA.
    let public_roots = RemoteJwks::builder(server.url()).build().unwrap();
    for jwks in [wrong_ca, public_roots] {
        match jwks.key_set().await {
            Err(JwksError::NeverFetched(FetchError::Tls(why))) => {
                assert!(why.contains("certificate"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        server.hits(),
        0,
        "no request is sent over an untrusted connection"
    );
    // A PEM with no certificate is a configuration error.
    assert!(matches!(
        RemoteJwks::builder(server.url()).root_certificates_pem(b"not a certificate"),
        Err(ConfigError::InvalidSetting(_))
    ));
}

#[tokio::test]
async fn plain_http_is_refused_unless_asked_for_by_the_insecure_option() {
    let server = Server::http(Reply::jwks(jwks_doc_k1())).await;
    match RemoteJwks::builder(server.url()).build() {
        Err(ConfigError::InvalidSetting(why)) => assert!(why.contains("https"), "{why}"),
        other => panic!("{other:?}"),
    }
    let insecure = RemoteJwks::builder(server.url())
        .insecure_allow_http()
        .build()
        .unwrap();
    assert_eq!(insecure.key_set().await.unwrap().len(), 1);
    assert_eq!(server.hits(), 1);
    // An https client never downgrades: TLS to a plain-HTTP server fails.
    let url = server.url().replacen("http://", "https://", 1);
    let tls = RemoteJwks::builder(url).build().unwrap();
    assert!(matches!(
        tls.key_set().await,
        Err(JwksError::NeverFetched(FetchError::Tls(_)))
    ));
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    // A valid JWKS padded past the cap with whitespace.
    let mut body = jwks_doc_k1().into_bytes();
    body.extend(std::iter::repeat_n(b' ', 4096));
    let s = Setup::new(Reply::jwks(body.clone()), |b| b.max_response_bytes(2048)).await;
    assert_eq!(
        unavailable(s.verify(&s.token(k1())).await),
        JwksError::NeverFetched(FetchError::TooLarge(2048))
    );
    // The same body under a larger cap is accepted: the size was the reason.
    let s = Setup::new(Reply::jwks(body), |b| b.max_response_bytes(8192)).await;
    s.verify(&s.token(k1())).await.unwrap();
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Connections are accepted by the kernel and never served.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let jwks = RemoteJwks::builder(url)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(
        jwks.key_set().await.unwrap_err(),
        JwksError::NeverFetched(FetchError::Timeout(Duration::from_millis(300)))
    );
    drop(listener);
}

#[tokio::test]
async fn fetched_sets_follow_the_jwks_import_rules() {
    // Private key material: the whole document is refused.
    let mut private = serde_json::from_str::<Value>(&jwks_doc_k1()).unwrap();
    private["keys"][0]["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    // A 1024-bit RSA key.
    let weak = KeySet::verify_only(
        palisade_token::jwt::VerifyingKey::from_pem(
            Algorithm::RS256,
            &common::key_file("rsa_public.pem"),
        )
        .unwrap()
        .with_kid("weak")
        .unwrap(),
    )
    .to_jwks();
    let mut weak_doc = weak.clone();
    let small_n = common::b64(&[0xc5; 128]);
    weak_doc["keys"][0]["n"] = json!(small_n);
    for (doc, why) in [
        (private.to_string(), "private"),
        (weak_doc.to_string(), "2048"),
        ("{\"keys\": []}".to_owned(), "no usable"),
        ("<html>".to_owned(), "JSON"),
    ] {
        let s = Setup::new(Reply::jwks(doc), |b| b).await;
        match unavailable(s.verify(&s.token(k1())).await) {
            JwksError::NeverFetched(FetchError::InvalidJwks(message)) => {
                assert!(message.contains(why), "{why}: {message}");
            }
            other => panic!("{why}: {other:?}"),
        }
    }
    // A bad document after a good one: the good one is kept (within the stale bound).
    let s = Setup::new(Reply::jwks(jwks_doc_k1()).max_age(300), |b| b).await;
    s.verify(&s.token(k1())).await.unwrap();
    s.server.set(Reply::jwks(private.to_string()));
    s.advance(300);
    s.verify(&s.token(k1())).await.unwrap();
    assert_eq!(s.server.hits(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_after_a_refresh() {
    let s = Setup::new(Reply::jwks(jwks(vec![k1()])).max_age(3600), |b| {
        b.refresh_interval(Duration::from_secs(60))
    })
    .await;
    s.verify(&s.token(k1())).await.unwrap();
    // The issuer publishes k2 and starts signing with it.
    s.server
        .set(Reply::jwks(jwks(vec![k1(), k2()])).max_age(3600));
    s.advance(60);
    let claims = s.verify(&s.token(k2())).await.unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(s.server.hits(), 2, "one refresh for the new kid");
    // Tokens of the old key still verify until the issuer retires it.
    s.verify(&s.token(k1())).await.unwrap();
    s.server.set(Reply::jwks(jwks(vec![k2()])).max_age(3600));
    s.advance(3600);
    s.verify(&s.token(k2())).await.unwrap();
    assert_eq!(s.server.hits(), 3);
    assert_eq!(
        rejected(s.verify(&s.token(k1())).await),
        ErrorKind::UnknownKey
    );
}

#[test]
fn settings_out_of_range_are_refused() {
    let url = "https://idp.example/.well-known/jwks.json";
    let cases: Vec<(RemoteJwksBuilder, &str)> = vec![
        (
            RemoteJwks::builder(url)
                .min_ttl(Duration::from_secs(600))
                .max_ttl(Duration::from_secs(60)),
            "min_ttl",
        ),
        (
            RemoteJwks::builder(url).refresh_interval(Duration::ZERO),
            "refresh_interval",
        ),
        (
            RemoteJwks::builder(url)
                .min_ttl(Duration::from_secs(30))
                .refresh_interval(Duration::from_secs(60)),
            "refresh_interval",
        ),
        (
            RemoteJwks::builder(url).timeout(Duration::from_millis(10)),
            "timeout",
        ),
        (
            RemoteJwks::builder(url).timeout(Duration::from_secs(3600)),
            "timeout",
        ),
        (
            RemoteJwks::builder(url).max_response_bytes(100),
            "max_response_bytes",
        ),
        (
            RemoteJwks::builder(url).max_response_bytes(1 << 30),
            "max_response_bytes",
        ),
        (
            RemoteJwks::builder("https://user:pw@idp.example/jwks"),
            "credentials",
        ),
    ];
    for (builder, want) in cases {
        match builder.build() {
            Err(ConfigError::InvalidSetting(why)) => assert!(why.contains(want), "{want}: {why}"),
            other => panic!("{want}: {other:?}"),
        }
    }
    assert!(RemoteJwks::builder(url).build().is_ok());
}

#[tokio::test]
async fn redirects_are_not_followed_and_other_statuses_fail_the_fetch() {
    for status in [301, 302, 307, 404, 500] {
        let s = Setup::new(Reply::status(status), |b| b).await;
        assert_eq!(
            unavailable(s.verify(&s.token(k1())).await),
            JwksError::NeverFetched(FetchError::Status(status))
        );
        assert_eq!(s.server.hits(), 1);
    }
}
