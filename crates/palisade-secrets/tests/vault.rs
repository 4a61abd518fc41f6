//! The Vault provider against a server answering with the response bodies of Vault's API
//! documentation (`support/fake_vault.rs`), not a live Vault: KV version 2 reads with
//! versions and metadata, Transit encrypt and decrypt, 403 and 404; and faults: the server
//! stopped mid-test, slow answers, malformed bodies, a secret deleted upstream.
#![cfg(feature = "vault")]
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "support/fake_vault.rs"]
mod fake_vault;

use std::time::Duration;

use fake_vault::{FakeVault, TOKEN};
use palisade_crypt::{KekError, KeyEncryptionKey as _, Keyring, KeyringError};
use palisade_secrets::{
    Address, CachePolicy, SecretCache, SecretErrorKind, Source as _, VaultConfig, VaultConfigError,
    VaultSource, VaultTransitKek,
};
use secrecy::SecretString;
use serde_json::json;

fn config(vault: &FakeVault) -> VaultConfig {
    VaultConfig::new(&vault.url(), SecretString::from(TOKEN)).unwrap()
}

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kv_field_is_read_with_its_version() {
    let vault = FakeVault::start().await;
    vault.put(
        "secret/app/db",
        json!({ "password": "first-password-1", "user": "app" }),
    );
    vault.put(
        "secret/app/db",
        json!({ "password": "second-password-2", "user": "app" }),
    );
    let source = VaultSource::new(&config(&vault)).unwrap();

    let latest = source
        .fetch(&address("vault:secret/app/db#password"))
        .await
        .unwrap();
    assert_eq!(latest.expose_secret(), b"second-password-2");
    assert_eq!(latest.version(), Some("2"));

    let first = source
        .fetch(&address("vault:secret/app/db?version=1#password"))
        .await
        .unwrap();
    assert_eq!(first.expose_secret(), b"first-password-1");
    assert_eq!(first.version(), Some("1"));

    let user = source
        .fetch(&address("vault:secret/app/db#user"))
        .await
        .unwrap();
    assert_eq!(user.expose_secret(), b"app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_answers_map_to_error_kinds_without_values() {
    let vault = FakeVault::start().await;
    vault.put(
        "secret/app/db",
        json!({ "password": "hunter2-hunter2", "port": 5432, "empty": "" }),
    );
    let source = VaultSource::new(&config(&vault)).unwrap();
    let cases = [
        ("vault:secret/app/other#password", SecretErrorKind::NotFound),
        (
            "vault:secret/app/db?version=9#password",
            SecretErrorKind::NotFound,
        ),
        ("vault:secret/app/db#missing", SecretErrorKind::Malformed),
        ("vault:secret/app/db#port", SecretErrorKind::Malformed),
        ("vault:secret/app/db#empty", SecretErrorKind::Empty),
        ("env:HOME", SecretErrorKind::Unsupported),
    ];
    for (text, kind) in cases {
        let e = source.fetch(&address(text)).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{text}");
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(TOKEN),
            "{shown}"
        );
    }

    // 403: a token Vault does not accept.
    let wrong = VaultConfig::new(&vault.url(), SecretString::from("hvs.wrong")).unwrap();
    let e = VaultSource::new(&wrong)
        .unwrap()
        .fetch(&address("vault:secret/app/db#password"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SecretErrorKind::Denied);

    // A cap below the value's size.
    let small = VaultSource::new(&config(&vault).max_bytes(4)).unwrap();
    let e = small
        .fetch(&address("vault:secret/app/db#password"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SecretErrorKind::TooLarge);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_deleted_upstream_is_not_found() {
    let vault = FakeVault::start().await;
    vault.put("secret/app/jwt", json!({ "key": "jwt-key-version-one" }));
    let source = VaultSource::new(&config(&vault)).unwrap();
    let jwt = address("vault:secret/app/jwt#key");
    assert!(source.fetch(&jwt).await.is_ok());
    vault.delete_latest("secret/app/jwt");
    assert_eq!(
        source.fetch(&jwt).await.unwrap_err().kind(),
        SecretErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_is_malformed() {
    let vault = FakeVault::start().await;
    vault.put("secret/app/db", json!({ "password": "correct-horse" }));
    vault.set_malformed(true);
    let source = VaultSource::new(&config(&vault)).unwrap();
    let e = source
        .fetch(&address("vault:secret/app/db#password"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SecretErrorKind::Malformed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_times_out() {
    let vault = FakeVault::start().await;
    vault.put("secret/app/db", json!({ "password": "correct-horse" }));
    vault.set_delay(Duration::from_secs(5));
    let source = VaultSource::new(&config(&vault).timeout(Duration::from_millis(200))).unwrap();
    let e = source
        .fetch(&address("vault:secret/app/db#password"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), SecretErrorKind::Timeout);
}

/// Behind the cache: one fetch for many callers; a stopped server's last value is served
/// until the stale-if-error bound passes, then the error is returned; a rotation upstream
/// signals subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_cache_a_stopped_server_is_absorbed_for_a_bounded_time() {
    let vault = FakeVault::start().await;
    vault.put("secret/app/db", json!({ "password": "before-rotation" }));
    let policy = {
        let mut p = CachePolicy::default();
        // Every call asks Vault, so the outage is seen at once.
        p.ttl = Duration::ZERO;
        p.refresh_ahead = Duration::ZERO;
        p.stale_if_error = Duration::from_secs(2);
        p.fetch_timeout = Duration::from_secs(5);
        p
    };
    let cache = SecretCache::new(VaultSource::new(&config(&vault)).unwrap(), policy);
    let db = address("vault:secret/app/db#password");
    let mut changes = cache.subscribe(&db);

    assert_eq!(
        cache.get(&db).await.unwrap().expose_secret(),
        b"before-rotation"
    );
    vault.put("secret/app/db", json!({ "password": "after-rotation" }));
    let rotated = cache.get(&db).await.unwrap();
    assert_eq!(rotated.expose_secret(), b"after-rotation");
    assert_eq!(rotated.version(), Some("2"));
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();

    vault.stop().await;
    let stale = cache.get(&db).await.unwrap();
    assert_eq!(stale.expose_secret(), b"after-rotation");
    assert_eq!(cache.stale_served(), 1);
    assert!(!changes.has_changed().unwrap());

    tokio::time::sleep(Duration::from_millis(2200)).await;
    let e = cache.get(&db).await.unwrap_err();
    assert_eq!(e.kind(), SecretErrorKind::Unavailable);
}

/// The fake server's own contract, which the outage above relies on: once `stop` returns, no
/// request is answered, even on a kept-alive connection whose task another worker thread was
/// still polling when the server was aborted (that race answered one request in a few hundred
/// under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_fake_vault_answers_no_request_sent_after_stop() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let request = format!(
        "GET /v1/secret/data/app/db HTTP/1.1\r\nHost: vault\r\nX-Vault-Token: {TOKEN}\r\n\r\n"
    );
    let mut answered_after_stop = 0;
    for _ in 0..300 {
        let vault = FakeVault::start().await;
        vault.put("secret/app/db", json!({ "password": "p" }));
        let mut stream = tokio::net::TcpStream::connect(vault.address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = [0u8; 4096];
        let n = stream.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));

        vault.stop().await;
        // Either the write fails (the connection is gone) or nothing comes back.
        if stream.write_all(request.as_bytes()).await.is_ok()
            && let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(500), stream.read(&mut answer)).await
            && answer[..n].starts_with(b"HTTP/1.1")
        {
            answered_after_stop += 1;
        }
    }
    assert_eq!(answered_after_stop, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_cause_one_vault_request() {
    let vault = FakeVault::start().await;
    vault.put("secret/app/db", json!({ "password": "correct-horse" }));
    let cache = SecretCache::new(
        VaultSource::new(&config(&vault)).unwrap(),
        CachePolicy::default(),
    );
    let db = address("vault:secret/app/db#password");
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let (cache, db) = (cache.clone(), db.clone());
            tokio::spawn(async move { cache.get(&db).await.map(|s| s.len()) })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), 13);
    }
    assert_eq!(vault.requests(), 1);
    assert_eq!(cache.fetches(), 1);
}

#[test]
fn a_plain_http_address_off_loopback_is_refused() {
    let token = || SecretString::from(TOKEN);
    for bad in [
        "http://vault.example:8200",
        "http://10.0.0.8:8200",
        "ftp://127.0.0.1",
        "vault.example:8200",
        "https://user@vault.example",
        "",
    ] {
        assert_eq!(
            VaultConfig::new(bad, token()).unwrap_err(),
            VaultConfigError::BadAddress,
            "{bad}"
        );
    }
    for good in [
        "https://vault.example:8200",
        "http://127.0.0.1:8200",
        "http://localhost:8200",
        "http://[::1]:8200",
    ] {
        assert!(VaultConfig::new(good, token()).is_ok(), "{good}");
    }
    let shown = format!(
        "{:?}",
        VaultConfig::new("https://v.example", token()).unwrap()
    );
    assert!(!shown.contains(TOKEN), "{shown}");
}

// ---- Transit key-encryption key ----

/// Seals and opens a keyring on a blocking thread (the trait is synchronous).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_sealed_by_transit_opens_under_the_same_key_and_name() {
    let vault = FakeVault::start().await;
    let kek = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
    let keyring = Keyring::generate().unwrap();
    let ids: Vec<_> = keyring.keys().map(|k| k.id).collect();
    let (sealed, kek) = blocking(move || (keyring.seal(&kek).unwrap(), kek)).await;
    assert!(!sealed.is_empty());
    let opened = blocking(move || Keyring::open(&sealed, &kek).unwrap()).await;
    assert_eq!(opened.keys().map(|k| k.id).collect::<Vec<_>>(), ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_sealed_for_one_name_does_not_open_under_another() {
    let vault = FakeVault::start().await;
    let orders = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
    let billing = VaultTransitKek::new(&config(&vault), "transit", "palisade", "billing").unwrap();
    // The same Transit key: the same key check, so only the binding tells them apart.
    assert_eq!(orders.key_check(), billing.key_check());
    let sealed = blocking(move || Keyring::generate().unwrap().seal(&orders).unwrap()).await;
    let e = blocking(move || Keyring::open(&sealed, &billing).unwrap_err()).await;
    assert!(matches!(e, KeyringError::Corrupted(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_associated_data_or_ciphertext_does_not_unwrap() {
    let vault = FakeVault::start().await;
    let kek = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
    blocking(move || {
        let wrapped = kek
            .wrap(b"thirty-two bytes of keyring data", b"header-1")
            .unwrap();
        assert!(wrapped.starts_with(b"vault:v1:"));
        assert_eq!(
            kek.unwrap(&wrapped, b"header-1").unwrap().as_slice(),
            b"thirty-two bytes of keyring data"
        );
        assert!(matches!(
            kek.unwrap(&wrapped, b"header-2"),
            Err(KekError::Unwrap)
        ));
        assert!(matches!(
            kek.unwrap(b"not vault", b"header-1"),
            Err(KekError::Unwrap)
        ));
        assert!(matches!(
            kek.unwrap(&[0xff, 0xfe], b"header-1"),
            Err(KekError::Unwrap)
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_failures_are_service_errors_without_the_token() {
    let vault = FakeVault::start().await;
    let wrong = VaultConfig::new(&vault.url(), SecretString::from("hvs.wrong")).unwrap();
    let denied = VaultTransitKek::new(&wrong, "transit", "palisade", "orders").unwrap();
    let slow_config = config(&vault).timeout(Duration::from_millis(200));
    let slow = VaultTransitKek::new(&slow_config, "transit", "palisade", "orders").unwrap();
    let e = blocking(move || denied.wrap(b"keyring", b"aad").unwrap_err()).await;
    let shown = e.to_string();
    assert!(
        matches!(e, KekError::Service(_)) && shown.contains("denied"),
        "{shown}"
    );
    assert!(!shown.contains("hvs."), "{shown}");

    vault.set_delay(Duration::from_secs(5));
    let e = blocking(move || slow.wrap(b"keyring", b"aad").unwrap_err()).await;
    assert!(e.to_string().contains("in time"), "{e}");

    vault.set_delay(Duration::ZERO);
    vault.set_malformed(true);
    let kek = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
    let e = blocking(move || kek.wrap(b"keyring", b"aad").unwrap_err()).await;
    assert!(e.to_string().contains("malformed"), "{e}");
}

/// On a multi-thread runtime's worker the wait moves the worker's other tasks elsewhere
/// (`block_in_place`); no `spawn_blocking` is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn called_on_a_multi_thread_worker_it_works() {
    let vault = FakeVault::start().await;
    let kek = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
    let wrapped = kek.wrap(b"keyring bytes", b"aad").unwrap();
    assert_eq!(
        kek.unwrap(&wrapped, b"aad").unwrap().as_slice(),
        b"keyring bytes"
    );
}

/// On a current-thread runtime the only thread would stall (and with it the server in this
/// very test): the call fails instead of blocking.
#[test]
fn called_on_a_current_thread_runtime_it_refuses_instead_of_blocking() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let vault = FakeVault::start().await;
        let kek = VaultTransitKek::new(&config(&vault), "transit", "palisade", "orders").unwrap();
        let e = kek.wrap(b"keyring bytes", b"aad").unwrap_err();
        assert!(e.to_string().contains("spawn_blocking"), "{e}");
        assert_eq!(vault.requests(), 0);
    });
}

#[test]
fn transit_names_are_checked() {
    let config = VaultConfig::new("https://vault.example", SecretString::from(TOKEN)).unwrap();
    for (mount, key, keyring) in [
        ("transit", "a/b", "orders"),
        ("", "key", "orders"),
        ("../sys", "key", "orders"),
        ("transit", "key", ""),
        ("transit", "k y", "orders"),
    ] {
        assert_eq!(
            VaultTransitKek::new(&config, mount, key, keyring).unwrap_err(),
            VaultConfigError::BadName,
            "{mount} {key} {keyring}"
        );
    }
    assert!(VaultTransitKek::new(&config, "team/transit", "palisade", "orders").is_ok());
}
