//! Refresh-token families on the in-memory store: rotation, reuse detection, the grace
//! window, idle and absolute lifetimes, and concurrent refreshes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use palisade_token::ErrorKind;
use palisade_token::clock::ManualClock;
use palisade_token::refresh::{RefreshPolicy, RefreshTokens};
use palisade_token::store::{MemoryStore, RefreshStore};

const KEY: &[u8] = b"refresh token hashing key 32 b..";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn policy() -> RefreshPolicy {
    RefreshPolicy::new(
        Duration::from_secs(3600),
        Duration::from_secs(86_400),
        Duration::from_secs(10),
    )
    .unwrap()
}

async fn family_lifecycle<S: RefreshStore>(store: S) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let tokens = RefreshTokens::new(store, KEY)
        .unwrap()
        .policy(policy())
        .clock(clock.clone());
    let t0 = tokens.issue("alice").await.unwrap();
    assert!(t0.token().starts_with("palr_"));
    let t1 = tokens.refresh(t0.token()).await.unwrap();
    assert_eq!(t1.family(), t0.family());
    assert_eq!(t1.subject(), "alice");
    assert_ne!(t1.token(), t0.token());
    clock.advance(Duration::from_secs(5));
    // Within the grace window the previous token still refreshes (a second tab).
    let t1b = tokens.refresh(t0.token()).await.unwrap();
    assert_eq!(t1b.family(), t0.family());
    // Both descendants work.
    clock.advance(Duration::from_secs(1));
    let t2 = tokens.refresh(t1.token()).await.unwrap();
    let _t2b = tokens.refresh(t1b.token()).await.unwrap();
    // After the window, presenting t0 again is reuse: the family dies.
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        tokens.refresh(t0.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Reused)
    );
    assert_eq!(
        tokens.refresh(t2.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );

    // Unknown, malformed and wrong-purpose tokens.
    let other = RefreshTokens::new(MemoryStore::new(), KEY).unwrap();
    let foreign = other.issue("bob").await.unwrap();
    assert_eq!(
        tokens.refresh(foreign.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Unknown)
    );
    assert_eq!(
        tokens.refresh("palr_nope").await.unwrap_err().kind(),
        Some(ErrorKind::BadChecksum)
    );

    // Idle lifetime.
    let a = tokens.issue("carol").await.unwrap();
    clock.advance(Duration::from_secs(3599));
    let b = tokens.refresh(a.token()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        tokens.refresh(b.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Expired)
    );

    // Absolute lifetime, even when used often.
    let mut t = tokens.issue("dave").await.unwrap();
    for _ in 0..24 {
        clock.advance(Duration::from_secs(3599));
        t = tokens.refresh(t.token()).await.unwrap();
    }
    clock.advance(Duration::from_secs(3600 - 24));
    assert_eq!(
        tokens.refresh(t.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Expired)
    );

    // Explicit revocation (logout).
    let e = tokens.issue("erin").await.unwrap();
    tokens.revoke_family(e.family()).await.unwrap();
    assert_eq!(
        tokens.refresh(e.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );
    tokens.revoke_family("no-such-family").await.unwrap();
}

/// Many tasks refresh the same token at once: all succeed inside the grace window, each gets
/// a distinct token, and they share one family.
async fn concurrent_refreshes<S: RefreshStore + 'static>(store: S, strict_store: S) {
    let clock = Arc::new(ManualClock::new(2_000_000));
    let tokens = Arc::new(
        RefreshTokens::new(store, KEY)
            .unwrap()
            .policy(policy())
            .clock(clock.clone()),
    );
    let first = tokens.issue("alice").await.unwrap();
    let presented = Arc::new(first.token().to_owned());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let tokens = tokens.clone();
        let presented = presented.clone();
        tasks.push(tokio::spawn(
            async move { tokens.refresh(&presented).await },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for task in tasks {
        let grant = task.await.unwrap().unwrap();
        assert_eq!(grant.family(), first.family());
        assert!(seen.insert(grant.token().to_owned()));
    }
    // With no grace window, exactly one concurrent refresh wins and the rest are reuse.
    let strict = Arc::new(
        RefreshTokens::new(strict_store, KEY)
            .unwrap()
            .policy(
                RefreshPolicy::new(
                    Duration::from_secs(60),
                    Duration::from_secs(600),
                    Duration::ZERO,
                )
                .unwrap(),
            )
            .clock(clock.clone()),
    );
    let t = Arc::new(strict.issue("bob").await.unwrap().token().to_owned());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let strict = strict.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move { strict.refresh(&t).await }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e.kind(), Some(ErrorKind::Reused | ErrorKind::Revoked)),
                "{e:?}"
            ),
        }
    }
    assert_eq!(ok, 1);
}

#[test]
fn memory_family_lifecycle() {
    rt().block_on(family_lifecycle(MemoryStore::new()));
}

#[test]
fn memory_concurrent_refreshes() {
    rt().block_on(concurrent_refreshes(MemoryStore::new(), MemoryStore::new()));
}

#[test]
fn policy_is_validated() {
    let s = Duration::from_secs;
    assert!(RefreshPolicy::new(s(0), s(10), s(0)).is_err());
    assert!(RefreshPolicy::new(s(20), s(10), s(0)).is_err());
    assert!(RefreshPolicy::new(s(10), s(20), s(61)).is_err());
    assert!(RefreshTokens::new(MemoryStore::new(), &[0; 16]).is_err());
    let grant_debug = format!("{:?}", RefreshPolicy::default());
    assert!(grant_debug.contains("grace"));
}

/// The same cases against a real `redis-server` on a free loopback port.
#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use palisade_token::onetime::OneTimeTokens;
    use palisade_token::opaque::Purpose;
    use palisade_token::revocation::RevocationList;
    use palisade_token::store::RedisStore;
    use palisade_token::{ExposeSecret as _, TokenError};

    #[test]
    fn redis_family_lifecycle_and_concurrency() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "t1").await.unwrap();
            family_lifecycle(store).await;
            let a = RedisStore::connect(&redis.url(), "t2").await.unwrap();
            let b = RedisStore::connect(&redis.url(), "t3").await.unwrap();
            concurrent_refreshes(a, b).await;
        });
    }

    #[test]
    fn redis_fleet_shares_families() {
        // Two servers with their own connections see one family: reuse on one is detected
        // by the other.
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let clock = Arc::new(ManualClock::new(5_000_000));
            let one = RefreshTokens::new(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                KEY,
            )
            .unwrap()
            .policy(policy())
            .clock(clock.clone());
            let two = RefreshTokens::new(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                KEY,
            )
            .unwrap()
            .policy(policy())
            .clock(clock.clone());
            let t0 = one.issue("alice").await.unwrap();
            let t1 = two.refresh(t0.token()).await.unwrap();
            clock.advance(Duration::from_secs(30));
            assert_eq!(
                one.refresh(t0.token()).await.unwrap_err().kind(),
                Some(ErrorKind::Reused)
            );
            assert_eq!(
                two.refresh(t1.token()).await.unwrap_err().kind(),
                Some(ErrorKind::Revoked)
            );
        });
    }

    #[test]
    fn redis_script_survives_a_flushed_script_cache() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "flush").await.unwrap();
            let tokens = RefreshTokens::new(store, KEY).unwrap();
            let t0 = tokens.issue("alice").await.unwrap();
            let t1 = tokens.refresh(t0.token()).await.unwrap();
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let _: () = ::redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async(&mut conn)
                .await
                .unwrap();
            // EVALSHA fails with NOSCRIPT; the script is loaded again and runs.
            tokens.refresh(t1.token()).await.unwrap();
        });
    }

    #[test]
    fn redis_keys_expire_with_the_family() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "ttl").await.unwrap();
            let tokens = RefreshTokens::new(store, KEY).unwrap();
            let _ = tokens.issue("alice").await.unwrap();
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("ttl:*")
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys.len(), 2);
            for key in keys {
                let ttl: i64 = ::redis::cmd("TTL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert!(ttl > 29 * 86_400 && ttl <= 30 * 86_400, "{key} {ttl}");
            }
        });
    }

    #[test]
    fn redis_revocation_list() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "rev").await.unwrap();
            let now = palisade_token::clock::Clock::now(&palisade_token::clock::SystemClock);
            let list = RevocationList::new(store);
            assert!(!list.store_is_revoked("jti-1").await);
            list.revoke("jti-1", now + 100).await.unwrap();
            assert!(list.store_is_revoked("jti-1").await);
            // Already expired tokens need no entry.
            list.revoke("jti-2", now.saturating_sub(1)).await.unwrap();
            assert!(!list.store_is_revoked("jti-2").await);
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("rev:jti:*")
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys.len(), 1);
            let ttl: i64 = ::redis::cmd("TTL")
                .arg(&keys[0])
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!((1..=100).contains(&ttl), "{ttl}");
        });
    }

    trait IsRevoked {
        async fn store_is_revoked(&self, jti: &str) -> bool;
    }

    impl IsRevoked for RevocationList<RedisStore> {
        async fn store_is_revoked(&self, jti: &str) -> bool {
            use palisade_token::store::RevocationStore as _;
            self.store().is_revoked(jti, 0).await.unwrap()
        }
    }

    #[test]
    fn redis_one_time_tokens_are_taken_once_under_concurrency() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "ot").await.unwrap();
            let tokens = Arc::new(OneTimeTokens::new(store, KEY).unwrap());
            let t = tokens
                .issue(
                    Purpose::Verification,
                    "mail@example.test|x",
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
            let t = Arc::new(t.expose_secret().to_owned());
            let mut tasks = Vec::new();
            for _ in 0..16 {
                let tokens = tokens.clone();
                let t = t.clone();
                tasks.push(tokio::spawn(async move {
                    tokens.redeem(Purpose::Verification, &t).await
                }));
            }
            let mut won = 0;
            for task in tasks {
                match task.await.unwrap() {
                    Ok(subject) => {
                        assert_eq!(subject, "mail@example.test|x");
                        won += 1;
                    }
                    Err(e) => assert_eq!(e.kind(), Some(ErrorKind::Unknown)),
                }
            }
            assert_eq!(won, 1);
        });
    }

    #[test]
    fn redis_outage_is_a_store_error_not_a_verdict() {
        let mut redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "down").await.unwrap();
            let tokens = RefreshTokens::new(store, KEY).unwrap();
            let t0 = tokens.issue("alice").await.unwrap();
            redis.stop();
            let err = tokens.refresh(t0.token()).await.unwrap_err();
            assert!(matches!(err, TokenError::Store(_)), "{err:?}");
            assert!(!err.to_string().contains(t0.token()));
        });
    }
}
