//! `AwsSecretsManager` against a real moto server (moto's stand-alone server mode, started on
//! a free loopback port by each test): create, read, rotate and delete secrets, JSON fields,
//! the size cap, and faults (the server stopped mid-test, a server that never answers,
//! malformed answers, a secret deleted upstream). A machine without moto fails these tests:
//! `MotoServer::start()` is `expect`ed, never skipped.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    collections::HashMap,
    io::{Read as _, Write as _},
    net::{Ipv4Addr, TcpListener},
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_sdk_secretsmanager::{config::Credentials, primitives::Blob};
use palisade_secrets::{
    Address, AwsSecretRef, AwsSecretsManager, AwsSecretsManagerOptions, CachePolicy, Secret,
    SecretCache, SecretError, SecretErrorKind, Source,
};
use palisade_testkit::MotoServer;

/// SDK configuration for a test endpoint: dummy credentials, one attempt per call (so a
/// failure shows at once rather than after retries with back-off).
async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "palisade-tests",
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

fn moto() -> MotoServer {
    MotoServer::start().expect("moto_server is needed for these tests (.ci/run installs it)")
}

fn admin(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

/// An address standing for `target` in errors and in the cache. The `aws-sm:` form is parsed
/// by `Address` once connected; these tests name the AWS secret by an `env:` address and map it
/// with [`Named`].
fn address(name: &str) -> Address {
    format!("env:{name}").parse().unwrap()
}

/// A source mapping addresses to AWS secrets, to put the provider behind `SecretCache`.
struct Named {
    aws: AwsSecretsManager,
    names: HashMap<Address, AwsSecretRef>,
}

impl Source for Named {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        let target = self
            .names
            .get(address)
            .ok_or_else(|| SecretError::new(address, SecretErrorKind::NotFound))?;
        Ok(self.aws.fetch_ref(address, target).await?.secret)
    }
}

#[tokio::test]
async fn create_read_and_rotate_with_current_and_previous_stages() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    let created = admin
        .create_secret()
        .name("app/jwt-key")
        .secret_string("first-jwt-key-0001")
        .send()
        .await
        .unwrap();
    let aws = AwsSecretsManager::new(&config);
    let at = address("JWT_KEY");
    let current = AwsSecretRef::new("app/jwt-key");

    let first = aws.fetch_ref(&at, &current).await.unwrap();
    assert_eq!(first.secret.expose_secret(), b"first-jwt-key-0001");
    assert_eq!(first.version_id.as_deref(), created.version_id());
    assert_eq!(first.secret.version(), created.version_id());
    assert!(first.version_stages.iter().any(|s| s == "AWSCURRENT"));

    // Rotation: a new version becomes AWSCURRENT, the old one AWSPREVIOUS.
    let put = admin
        .put_secret_value()
        .secret_id("app/jwt-key")
        .secret_string("second-jwt-key-0002")
        .send()
        .await
        .unwrap();
    let second = aws.fetch_ref(&at, &current).await.unwrap();
    assert_eq!(second.secret.expose_secret(), b"second-jwt-key-0002");
    assert_eq!(second.version_id.as_deref(), put.version_id());
    assert_ne!(second.version_id, first.version_id);

    let previous = aws
        .fetch_ref(&at, &current.clone().with_version_stage("AWSPREVIOUS"))
        .await
        .unwrap();
    assert_eq!(previous.secret.expose_secret(), b"first-jwt-key-0001");
    assert_eq!(previous.version_id, first.version_id);
    assert!(previous.version_stages.iter().any(|s| s == "AWSPREVIOUS"));

    // By ARN as well as by name.
    let by_arn = AwsSecretRef::new(created.arn().unwrap());
    assert_eq!(
        aws.fetch_ref(&at, &by_arn)
            .await
            .unwrap()
            .secret
            .expose_secret(),
        b"second-jwt-key-0002"
    );
    // A stage nobody attached.
    let err = aws
        .fetch_ref(&at, &current.with_version_stage("NOSUCHSTAGE"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound);
}

#[tokio::test]
async fn binary_secrets_and_json_fields() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    admin
        .create_secret()
        .name("app/pepper")
        .secret_binary(Blob::new(vec![0, 159, 146, 150, 255, 1]))
        .send()
        .await
        .unwrap();
    admin
        .create_secret()
        .name("app/db")
        .secret_string(r#"{"username":"app","password":"s3cr\"et-p\u00e4ss","port":5432}"#)
        .send()
        .await
        .unwrap();
    admin
        .create_secret()
        .name("app/plain")
        .secret_string("hunter2-not-json")
        .send()
        .await
        .unwrap();
    let aws = AwsSecretsManager::new(&config);
    let at = address("DB");

    let pepper = aws
        .fetch_ref(&at, &AwsSecretRef::new("app/pepper"))
        .await
        .unwrap();
    assert_eq!(pepper.secret.expose_secret(), &[0, 159, 146, 150, 255, 1]);

    let db = AwsSecretRef::new("app/db");
    let password = aws
        .fetch_ref(&at, &db.clone().with_json_field("password"))
        .await
        .unwrap();
    assert_eq!(password.secret.expose_secret(), "s3cr\"et-päss".as_bytes());
    let port = aws
        .fetch_ref(&at, &db.clone().with_json_field("port"))
        .await
        .unwrap();
    assert_eq!(port.secret.expose_secret(), b"5432");
    let missing = aws
        .fetch_ref(&at, &db.with_json_field("token"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), SecretErrorKind::NotFound);

    // A field of a value that is not JSON: malformed, and the value is not in the error.
    let err = aws
        .fetch_ref(
            &at,
            &AwsSecretRef::new("app/plain").with_json_field("password"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Malformed);
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn values_over_the_cap_and_empty_values_are_refused() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    for (name, value) in [
        ("big", "0123456789abcdefX"),
        ("json", r#"{"k":"0123456789"}"#),
        ("empty-field", r#"{"k":""}"#),
    ] {
        admin
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let mut options = AwsSecretsManagerOptions::default();
    options.max_bytes = 16;
    let aws = AwsSecretsManager::with_options(&config, options);
    let at = address("CAPPED");
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("big"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::TooLarge);
    assert!(!format!("{err} {err:?}").contains("0123456789"), "{err:?}");
    // The whole secret is capped before a field is selected.
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("json").with_json_field("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::TooLarge);
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("empty-field").with_json_field("k"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Empty);
}

#[tokio::test]
async fn values_never_show_in_debug_or_errors() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    admin(&config)
        .create_secret()
        .name("app/token")
        .secret_string("violet-staple-93-orbit")
        .send()
        .await
        .unwrap();
    let aws = AwsSecretsManager::new(&config);
    let value = aws
        .fetch_ref(&address("TOKEN"), &AwsSecretRef::new("app/token"))
        .await
        .unwrap();
    let shown = format!("{value:?} {aws:?}");
    assert!(!shown.contains("violet"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
}

#[tokio::test]
async fn a_secret_deleted_upstream_is_not_found() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    for name in ["scheduled", "forced"] {
        admin
            .create_secret()
            .name(name)
            .secret_string("about-to-go-away")
            .send()
            .await
            .unwrap();
    }
    let aws = AwsSecretsManager::new(&config);
    let at = address("GONE");
    // Scheduled for deletion (the default recovery window): reads are refused at once.
    admin
        .delete_secret()
        .secret_id("scheduled")
        .send()
        .await
        .unwrap();
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("scheduled"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound);
    // Deleted without recovery.
    admin
        .delete_secret()
        .secret_id("forced")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("forced"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound);
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("never-existed"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound);
    assert_eq!(err.address(), &at);
}

#[tokio::test]
async fn addresses_of_other_sources_are_unsupported() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let aws = AwsSecretsManager::new(&config);
    for text in [
        "env:DB_PASSWORD",
        "file:/run/secrets/db",
        "systemd:db",
        "vault:secret/app#password",
    ] {
        let at: Address = text.parse().unwrap();
        let err = aws.fetch(&at).await.unwrap_err();
        assert_eq!(err.kind(), SecretErrorKind::Unsupported, "{text}");
    }
}

#[tokio::test]
async fn aws_sm_addresses_are_served_through_the_cache_with_stage_and_field() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    admin
        .create_secret()
        .name("prod/billing/db")
        .secret_string(r#"{"user":"billing","password":"first-db-password-1"}"#)
        .send()
        .await
        .unwrap();
    admin
        .put_secret_value()
        .secret_id("prod/billing/db")
        .secret_string(r#"{"user":"billing","password":"second-db-password-2"}"#)
        .send()
        .await
        .unwrap();
    let cache = SecretCache::new(AwsSecretsManager::new(&config), CachePolicy::default());
    let current: Address = "aws-sm:prod/billing/db#password".parse().unwrap();
    let previous: Address = "aws-sm:prod/billing/db?stage=AWSPREVIOUS#password"
        .parse()
        .unwrap();
    let whole: Address = "aws-sm:prod/billing/db".parse().unwrap();
    assert_eq!(
        cache.get(&current).await.unwrap().expose_secret(),
        b"second-db-password-2"
    );
    assert_eq!(
        cache.get(&previous).await.unwrap().expose_secret(),
        b"first-db-password-1"
    );
    assert!(
        cache
            .get(&whole)
            .await
            .unwrap()
            .expose_secret()
            .starts_with(br#"{"user":"billing""#)
    );
    let missing: Address = "aws-sm:prod/nothing-here".parse().unwrap();
    let err = cache.get(&missing).await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::NotFound);
    assert_eq!(err.address(), &missing);
}

/// A cache in front of the provider, with a short TTL on the real clock (a real server cannot
/// run on tokio's paused clock).
fn cached(
    aws: AwsSecretsManager,
    names: &[(&Address, AwsSecretRef)],
    policy: CachePolicy,
) -> SecretCache<Named> {
    let names = names
        .iter()
        .map(|(a, t)| ((*a).clone(), t.clone()))
        .collect();
    SecretCache::new(Named { aws, names }, policy)
}

#[tokio::test]
async fn behind_the_cache_a_rotation_is_seen_after_the_ttl_and_signalled() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    admin
        .create_secret()
        .name("app/pepper")
        .secret_string("pepper-version-one")
        .send()
        .await
        .unwrap();
    let at = address("PEPPER");
    let mut policy = CachePolicy::default();
    // Long enough for the rotation below to happen inside it on a loaded machine.
    policy.ttl = Duration::from_secs(2);
    policy.refresh_ahead = Duration::ZERO;
    let cache = cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/pepper"))],
        policy,
    );
    let mut changes = cache.subscribe(&at);
    let first = cache.get(&at).await.unwrap();
    let fetched = Instant::now();
    assert_eq!(first.expose_secret(), b"pepper-version-one");
    admin
        .put_secret_value()
        .secret_id("app/pepper")
        .secret_string("pepper-version-two")
        .send()
        .await
        .unwrap();
    // Within the TTL the cached value is served without asking.
    if fetched.elapsed() < policy.ttl.saturating_sub(Duration::from_millis(500)) {
        assert_eq!(cache.get(&at).await.unwrap().version(), first.version());
        assert!(!changes.has_changed().unwrap());
    }
    tokio::time::sleep((policy.ttl + Duration::from_millis(100)).saturating_sub(fetched.elapsed()))
        .await;
    let second = cache.get(&at).await.unwrap();
    assert_eq!(second.expose_secret(), b"pepper-version-two");
    assert_ne!(second.version(), first.version());
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), 1);
    assert_eq!(cache.fetches(), 2);
}

#[tokio::test]
async fn server_stopped_mid_test_serves_stale_then_errors_past_the_bound() {
    let mut moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    admin(&config)
        .create_secret()
        .name("app/db")
        .secret_string("db-password-0001")
        .send()
        .await
        .unwrap();
    let at = address("DB_PASSWORD");
    let mut policy = CachePolicy::default();
    policy.ttl = Duration::from_millis(300);
    policy.refresh_ahead = Duration::ZERO;
    policy.stale_if_error = Duration::from_secs(3);
    let cache = cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/db"))],
        policy,
    );
    assert_eq!(
        cache.get(&at).await.unwrap().expose_secret(),
        b"db-password-0001"
    );
    // Taken after the fetch: the cache's own clock started no later than this.
    let fetched = Instant::now();

    moto.stop();
    // Past the TTL, within the stale bound: the last value, counted.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stale = cache.get(&at).await.unwrap();
    assert_eq!(stale.expose_secret(), b"db-password-0001");
    assert_eq!(cache.stale_served(), 1);

    // Past ttl + stale_if_error: the source's error.
    let bound = policy.ttl + policy.stale_if_error + Duration::from_millis(200);
    tokio::time::sleep(bound.saturating_sub(fetched.elapsed())).await;
    let err = cache.get(&at).await.unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Unavailable);
    assert_eq!(cache.stale_served(), 1);
}

#[tokio::test]
async fn behind_the_cache_a_deleted_secret_is_served_stale_then_not_found() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    let admin = admin(&config);
    admin
        .create_secret()
        .name("app/old")
        .secret_string("retired-value-01")
        .send()
        .await
        .unwrap();
    let at = address("OLD");
    let mut policy = CachePolicy::default();
    policy.ttl = Duration::from_millis(300);
    policy.refresh_ahead = Duration::ZERO;
    policy.stale_if_error = Duration::from_secs(3);
    let cache = cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/old"))],
        policy,
    );
    cache.get(&at).await.unwrap();
    let fetched = Instant::now();
    admin
        .delete_secret()
        .secret_id("app/old")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400).saturating_sub(fetched.elapsed())).await;
    assert_eq!(
        cache.get(&at).await.unwrap().expose_secret(),
        b"retired-value-01"
    );
    assert_eq!(cache.stale_served(), 1);
    let bound = policy.ttl + policy.stale_if_error + Duration::from_millis(200);
    tokio::time::sleep(bound.saturating_sub(fetched.elapsed())).await;
    assert_eq!(
        cache.get(&at).await.unwrap_err().kind(),
        SecretErrorKind::NotFound
    );
}

/// A TCP server that accepts connections and never answers.
fn silent_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut held = Vec::new();
        // Two connections are enough for the two reads of the test; then it stops accepting.
        for stream in listener.incoming().take(2) {
            held.push(stream);
        }
        thread::sleep(Duration::from_secs(5));
    });
    (port, handle)
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (port, _server) = silent_server();
    let config = sdk_config(&format!("http://127.0.0.1:{port}")).await;
    let at = address("SLOW");

    // The provider's own timeout.
    let mut options = AwsSecretsManagerOptions::default();
    options.timeout = Duration::from_millis(300);
    let aws = AwsSecretsManager::with_options(&config, options);
    let err = aws
        .fetch_ref(&at, &AwsSecretRef::new("app/slow"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SecretErrorKind::Timeout);

    // The cache's fetch timeout, shorter than the provider's.
    let mut policy = CachePolicy::default();
    policy.fetch_timeout = Duration::from_millis(200);
    let cache = cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/slow"))],
        policy,
    );
    assert_eq!(
        cache.get(&at).await.unwrap_err().kind(),
        SecretErrorKind::Timeout
    );
}

/// An HTTP server answering every request with `status` and `body`, then closing.
fn scripted_server(status: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            // Read the request head and its body (the SDK sends Content-Length).
            let mut request = Vec::new();
            let mut buf = [0_u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= head_end + 4 + length {
                        break;
                    }
                }
            }
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

#[tokio::test]
async fn malformed_answers_are_malformed_and_server_errors_unavailable() {
    let cases = [
        ("200 OK", "this is not json", SecretErrorKind::Malformed),
        ("200 OK", r#"{"Name":"app/db"}"#, SecretErrorKind::Malformed),
        (
            "200 OK",
            r#"{"SecretString":42}"#,
            SecretErrorKind::Malformed,
        ),
        (
            "500 Internal Server Error",
            "<html>oops</html>",
            SecretErrorKind::Unavailable,
        ),
        (
            "400 Bad Request",
            r#"{"__type":"AccessDeniedException","message":"no"}"#,
            SecretErrorKind::Denied,
        ),
    ];
    for (status, body, expected) in cases {
        let port = scripted_server(status, body);
        let config = sdk_config(&format!("http://127.0.0.1:{port}")).await;
        let aws = AwsSecretsManager::new(&config);
        let err = aws
            .fetch_ref(&address("DB"), &AwsSecretRef::new("app/db"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), expected, "{status} {body}");
    }
}

#[tokio::test]
async fn a_thousand_readers_behind_the_cache_cause_one_read() {
    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    admin(&config)
        .create_secret()
        .name("app/jwt")
        .secret_string("jwt-signing-key-0001")
        .send()
        .await
        .unwrap();
    let at = address("JWT");
    let cache = Arc::new(cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/jwt"))],
        CachePolicy::default(),
    ));
    let readers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            let at = at.clone();
            tokio::spawn(async move { cache.get(&at).await.map(|s| s.len()) })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().unwrap(), 20);
    }
    assert_eq!(cache.fetches(), 1);
}

/// With the `redact` feature, a value read from AWS through the cache is registered like any
/// other: its exact bytes are redacted from logs.
#[cfg(feature = "redact")]
#[tokio::test]
async fn a_value_read_from_aws_is_redacted_from_logs() {
    use palisade_redact::{KnownSecrets, Redactor};

    let moto = moto();
    let config = sdk_config(&moto.endpoint_url()).await;
    admin(&config)
        .create_secret()
        .name("app/db")
        .secret_string(r#"{"password":"violet-staple-93-orbit"}"#)
        .send()
        .await
        .unwrap();
    let at = address("DB_PASSWORD");
    let known = KnownSecrets::new();
    let redactor = Redactor::builder()
        .known_secrets(known.clone())
        .build()
        .unwrap();
    let cache = cached(
        AwsSecretsManager::new(&config),
        &[(&at, AwsSecretRef::new("app/db").with_json_field("password"))],
        CachePolicy::default(),
    )
    .with_known_secrets(known);
    cache.get(&at).await.unwrap();
    assert_eq!(
        redactor.redact("auth failed with violet-staple-93-orbit"),
        "auth failed with [REDACTED]"
    );
}
