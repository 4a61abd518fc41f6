//! Refresh-token families on the in-memory store: rotation, reuse detection, the grace
//! window, idle and absolute lifetimes, and concurrent refreshes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use palisade_token::ErrorKind;
use palisade_token::clock::ManualClock;
use palisade_token::refresh::{RefreshPolicy, RefreshTokens};
use palisade_token::store::{
    Either, MemoryStore, NewFamily, RefreshStore, RotateOutcome, Rotation,
};

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

/// Refresh tokens in `store` with the test policy, on `clock`.
fn on_clock<S: RefreshStore>(store: S, clock: &Arc<ManualClock>) -> RefreshTokens<S> {
    RefreshTokens::new(store, KEY)
        .unwrap()
        .policy(policy())
        .clock(clock.clone())
}

async fn family_lifecycle<S: RefreshStore>(store: S) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let tokens = on_clock(store, &clock);
    let t0 = tokens.issue("alice").await.unwrap();
    assert!(t0.token().starts_with("palr_"));
    let t1 = tokens.refresh(t0.token()).await.unwrap();
    assert_eq!(t1.family(), t0.family());
    assert_eq!(t1.subject(), "alice");
    assert_ne!(t1.token(), t0.token());
    clock.advance(Duration::from_secs(5));
    // Within the grace window the exchange may be retried (a lost response, a second tab):
    // it gets the same successor, however often.
    for _ in 0..3 {
        let again = tokens.refresh(t0.token()).await.unwrap();
        assert_eq!(again.token(), t1.token());
        assert_eq!(again.family(), t0.family());
    }
    clock.advance(Duration::from_secs(1));
    let t2 = tokens.refresh(t1.token()).await.unwrap();
    assert_eq!(
        tokens.refresh(t1.token()).await.unwrap().token(),
        t2.token()
    );
    // t0 is still inside its grace window, but its successor has been used: a replay of
    // t0 now is reuse, and the family dies.
    assert_eq!(
        tokens.refresh(t0.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Reused)
    );
    assert_eq!(
        tokens.refresh(t2.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );
    // After the window, presenting a rotated token again is reuse too.
    let u0 = tokens.issue("alice").await.unwrap();
    let u1 = tokens.refresh(u0.token()).await.unwrap();
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        tokens.refresh(u0.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Reused)
    );
    assert_eq!(
        tokens.refresh(u1.token()).await.unwrap_err().kind(),
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

/// Many tasks refresh the same token at once: all succeed inside the grace window and all get
/// the same successor (one successor per token), so no replay opens a branch of its own.
/// Then tasks race the rotated token against its successor: every grant of the old token is
/// that successor, every grant of the successor is its one successor, and a replay that
/// lost the race revokes the family.
async fn concurrent_refreshes<S: RefreshStore + 'static>(store: S, strict_store: S) {
    let clock = Arc::new(ManualClock::new(2_000_000));
    let tokens = Arc::new(on_clock(store, &clock));
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
        seen.insert(grant.token().to_owned());
    }
    assert_eq!(seen.len(), 1, "one successor per token");
    let t1 = Arc::new(seen.into_iter().next().unwrap());

    let mut tasks = Vec::new();
    for i in 0..16 {
        let tokens = tokens.clone();
        let token = if i % 2 == 0 {
            presented.clone()
        } else {
            t1.clone()
        };
        tasks.push(tokio::spawn(async move {
            let result = tokens.refresh(&token).await;
            (i % 2 == 0, result)
        }));
    }
    let (mut from_t0, mut from_t1, mut reused) = (Vec::new(), Vec::new(), false);
    for task in tasks {
        match task.await.unwrap() {
            (old, Ok(grant)) => {
                if old {
                    from_t0.push(grant.token().to_owned());
                } else {
                    from_t1.push(grant.token().to_owned());
                }
            }
            (_, Err(e)) => {
                assert!(
                    matches!(e.kind(), Some(ErrorKind::Reused | ErrorKind::Revoked)),
                    "{e:?}"
                );
                reused = true;
            }
        }
    }
    assert!(
        from_t0.iter().all(|t| t == t1.as_str()),
        "t0 only ever yields t1"
    );
    from_t1.sort();
    from_t1.dedup();
    assert!(from_t1.len() <= 1, "t1 has one successor: {from_t1:?}");
    if reused && let Some(t2) = from_t1.first() {
        assert_eq!(
            tokens.refresh(t2).await.unwrap_err().kind(),
            Some(ErrorKind::Revoked)
        );
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

/// A rotation one second after `now`, with a 10 s grace window.
fn rotation<'a>(presented: &'a str, next: &'a str, now: u64) -> Rotation<'a> {
    Rotation {
        presented,
        next,
        now: now + 1,
        idle_secs: 600,
        grace_secs: 10,
    }
}

/// At the store itself: a rotated token asked for a second, different successor inside the
/// grace window is reuse, and the family dies; the same successor is a retry.
async fn one_successor_per_token<S: RefreshStore>(store: S) {
    let now = 6_000_000;
    let (t0, t1, other) = ("0".repeat(64), "1".repeat(64), "2".repeat(64));
    store
        .create_family(NewFamily {
            family: "fam-one",
            subject: "alice",
            token: &t0,
            now,
            expires_at: now + 3600,
        })
        .await
        .unwrap();
    let rotated = RotateOutcome::Rotated {
        family: "fam-one".into(),
        subject: "alice".into(),
    };
    assert_eq!(
        store.rotate(rotation(&t0, &t1, now)).await.unwrap(),
        rotated
    );
    assert_eq!(
        store.rotate(rotation(&t0, &t1, now)).await.unwrap(),
        rotated
    );
    assert_eq!(
        store.rotate(rotation(&t0, &other, now)).await.unwrap(),
        RotateOutcome::Reused
    );
    let next = rotation(&t1, &other, now);
    assert_eq!(store.rotate(next).await.unwrap(), RotateOutcome::Revoked);
}

/// "Sign out everywhere": every family of one subject, current and rotated tokens alike,
/// and nobody else's.
async fn revoke_subject_everywhere<S: RefreshStore>(store: S) {
    let clock = Arc::new(ManualClock::new(3_000_000));
    let tokens = on_clock(store, &clock);
    let laptop = tokens.issue("alice").await.unwrap();
    let phone = tokens.issue("alice").await.unwrap();
    let bob = tokens.issue("bob").await.unwrap();
    // The laptop's family has rotated: its first token is already spent, the second current.
    let laptop_next = tokens.refresh(laptop.token()).await.unwrap();
    clock.advance(Duration::from_secs(60));

    assert_eq!(tokens.revoke_subject("alice").await.unwrap(), 2);
    for token in [laptop.token(), laptop_next.token(), phone.token()] {
        assert_eq!(
            tokens.refresh(token).await.unwrap_err().kind(),
            Some(ErrorKind::Revoked)
        );
    }
    // Bob is untouched.
    let bob_next = tokens.refresh(bob.token()).await.unwrap();
    assert_eq!(bob_next.subject(), "bob");
    // Alice can log in again at once, and that family works.
    let again = tokens.issue("alice").await.unwrap();
    let again_next = tokens.refresh(again.token()).await.unwrap();
    assert_eq!(again_next.family(), again.family());

    // Nothing to revoke: unknown subject, or one already signed out (its new family aside).
    assert_eq!(tokens.revoke_subject("mallory").await.unwrap(), 0);
    assert_eq!(tokens.revoke_subject("alice").await.unwrap(), 1);
    assert_eq!(tokens.revoke_subject("alice").await.unwrap(), 0);
    assert_eq!(
        tokens.refresh(again_next.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );

    // A family already revoked on its own, or past its absolute end, is not counted as live,
    // and is still refused afterwards.
    let a = tokens.issue("carol").await.unwrap();
    let b = tokens.issue("carol").await.unwrap();
    tokens.revoke_family(a.family()).await.unwrap();
    assert_eq!(tokens.revoke_subject("carol").await.unwrap(), 1);
    assert_eq!(
        tokens.refresh(b.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );
    let old = tokens.issue("dave").await.unwrap();
    clock.advance(Duration::from_secs(86_400));
    let fresh = tokens.issue("dave").await.unwrap();
    assert_eq!(tokens.revoke_subject("dave").await.unwrap(), 1);
    assert!(tokens.refresh(old.token()).await.is_err());
    assert_eq!(
        tokens.refresh(fresh.token()).await.unwrap_err().kind(),
        Some(ErrorKind::Revoked)
    );

    // Subjects are compared exactly: no prefix, case or whitespace folding.
    let e = tokens.issue("erin").await.unwrap();
    for other in ["eri", "Erin", "erin ", "erin\0", ""] {
        assert_eq!(tokens.revoke_subject(other).await.unwrap(), 0, "{other:?}");
    }
    tokens.refresh(e.token()).await.unwrap();
}

/// Fails if `create_family` does not index the family under its subject: the family is
/// created through the store alone, and only the index can lead `revoke_subject` to it.
async fn create_family_feeds_the_subject_index<S: RefreshStore>(store: S) {
    let now = 4_000_000;
    let token = "a".repeat(64);
    store
        .create_family(NewFamily {
            family: "family-of-frank",
            subject: "frank",
            token: &token,
            now,
            expires_at: now + 600,
        })
        .await
        .unwrap();
    assert_eq!(store.revoke_subject("frank", now + 1).await.unwrap(), 1);
    let outcome = store
        .rotate(Rotation {
            presented: &token,
            next: &"b".repeat(64),
            now: now + 2,
            idle_secs: 600,
            grace_secs: 0,
        })
        .await
        .unwrap();
    assert_eq!(outcome, RotateOutcome::Revoked);
}

#[test]
fn memory_revoke_subject() {
    rt().block_on(revoke_subject_everywhere(MemoryStore::new()));
}

#[test]
fn memory_create_family_feeds_the_subject_index() {
    rt().block_on(create_family_feeds_the_subject_index(MemoryStore::new()));
}

#[test]
fn memory_family_lifecycle() {
    rt().block_on(family_lifecycle(MemoryStore::new()));
}

#[test]
fn memory_one_successor_per_token() {
    rt().block_on(one_successor_per_token(MemoryStore::new()));
}

#[test]
fn memory_concurrent_refreshes() {
    rt().block_on(concurrent_refreshes(MemoryStore::new(), MemoryStore::new()));
}

/// An `Either` of two stores, and an `Arc` of one, run every refresh case on the store they
/// hold.
#[test]
fn either_and_arc_run_the_refresh_cases() {
    type Both = Either<MemoryStore, Arc<MemoryStore>>;
    rt().block_on(async {
        family_lifecycle(Both::Left(MemoryStore::new())).await;
        family_lifecycle(Both::Right(Arc::new(MemoryStore::new()))).await;
        one_successor_per_token(Both::Right(Arc::new(MemoryStore::new()))).await;
        revoke_subject_everywhere(Both::Left(MemoryStore::new())).await;
        concurrent_refreshes(
            Both::Left(MemoryStore::new()),
            Both::Right(Arc::new(MemoryStore::new())),
        )
        .await;
    });
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
    use palisade_token::store::{AnyStore, RedisStore};
    use palisade_token::{ExposeSecret as _, TokenError};

    /// Clones of an `AnyStore` are one store: what one revokes or stores, another sees.
    async fn any_store_clones_share_state(store: AnyStore) {
        let checker = RevocationList::new(store.clone());
        let revoker = RevocationList::new(store.clone());
        // An `exp` far beyond what Redis accepts as an expiry is stored (capped), not refused.
        revoker.revoke("jti-1", u64::MAX).await.unwrap();
        let mut claims = palisade_token::jwt::Claims::empty();
        claims.jti = Some("jti-1".to_owned());
        assert_eq!(
            checker.check(&claims).await.unwrap_err().kind(),
            Some(ErrorKind::Revoked)
        );
        let issuer = OneTimeTokens::new(store.clone(), KEY).unwrap();
        let redeemer = OneTimeTokens::new(store.clone(), KEY).unwrap();
        let token = issuer
            .issue(Purpose::PasswordReset, "alice", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            redeemer
                .redeem(Purpose::PasswordReset, token.expose_secret())
                .await
                .unwrap(),
            "alice"
        );
        revoke_subject_everywhere(store).await;
    }

    #[test]
    fn any_store_runs_every_case_on_both_stores() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            family_lifecycle(AnyStore::memory()).await;
            any_store_clones_share_state(AnyStore::memory()).await;
            let connect = |prefix: &'static str| {
                let url = redis.url();
                async move { AnyStore::from(RedisStore::connect(&url, prefix).await.unwrap()) }
            };
            family_lifecycle(connect("any1").await).await;
            any_store_clones_share_state(connect("any2").await).await;
            concurrent_refreshes(connect("any3").await, connect("any4").await).await;
        });
    }

    #[test]
    fn redis_family_lifecycle_and_concurrency() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "t1").await.unwrap();
            family_lifecycle(store).await;
            let a = RedisStore::connect(&redis.url(), "t2").await.unwrap();
            let b = RedisStore::connect(&redis.url(), "t3").await.unwrap();
            concurrent_refreshes(a, b).await;
            let c = RedisStore::connect(&redis.url(), "t4").await.unwrap();
            one_successor_per_token(c).await;
        });
    }

    #[test]
    fn redis_fleet_shares_families() {
        // Two servers with their own connections see one family: reuse on one is detected
        // by the other.
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let clock = Arc::new(ManualClock::new(5_000_000));
            let one = on_clock(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                &clock,
            );
            let two = on_clock(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                &clock,
            );
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
            // The family, its token, and the subject index.
            assert_eq!(keys.len(), 3);
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
    fn redis_revoke_subject() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "rs1").await.unwrap();
            revoke_subject_everywhere(store).await;
            let store = RedisStore::connect(&redis.url(), "rs2").await.unwrap();
            create_family_feeds_the_subject_index(store).await;
        });
    }

    #[test]
    fn redis_revoke_subject_is_shared_by_a_fleet() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let one = RefreshTokens::new(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                KEY,
            )
            .unwrap();
            let two = RefreshTokens::new(
                RedisStore::connect(&redis.url(), "fleet").await.unwrap(),
                KEY,
            )
            .unwrap();
            let a = one.issue("alice").await.unwrap();
            let b = two.issue("alice").await.unwrap();
            assert_eq!(two.revoke_subject("alice").await.unwrap(), 2);
            for t in [a.token(), b.token()] {
                assert_eq!(
                    one.refresh(t).await.unwrap_err().kind(),
                    Some(ErrorKind::Revoked)
                );
            }
            // The script is reloaded if Redis lost it.
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let _: () = ::redis::cmd("SCRIPT")
                .arg("FLUSH")
                .query_async(&mut conn)
                .await
                .unwrap();
            let _ = one.issue("alice").await.unwrap();
            assert_eq!(one.revoke_subject("alice").await.unwrap(), 1);
        });
    }

    fn subject_key(prefix: &str, subject: &str) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(subject.as_bytes());
        let hex = digest.iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            write!(s, "{b:02x}").unwrap();
            s
        });
        format!("{prefix}:rs:{hex}")
    }

    /// The subject index lives as long as its longest family: a new key gets an expiry
    /// (`GT` alone would leave it without one), a longer family extends it, a shorter one
    /// does not cut it; entries past their family's end are dropped at the next login.
    #[test]
    fn redis_subject_index_expiry_and_pruning() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let clock = Arc::new(ManualClock::new(palisade_token::clock::Clock::now(
                &palisade_token::clock::SystemClock,
            )));
            let s = Duration::from_secs;
            let short =
                RefreshTokens::new(RedisStore::connect(&redis.url(), "idx").await.unwrap(), KEY)
                    .unwrap()
                    .policy(RefreshPolicy::new(s(60), s(3600), s(0)).unwrap())
                    .clock(clock.clone());
            let long =
                RefreshTokens::new(RedisStore::connect(&redis.url(), "idx").await.unwrap(), KEY)
                    .unwrap()
                    .policy(RefreshPolicy::new(s(60), s(86_400), s(0)).unwrap())
                    .clock(clock.clone());
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let key = subject_key("idx", "alice");
            let ttl = async |conn: &mut ::redis::aio::MultiplexedConnection| -> i64 {
                ::redis::cmd("TTL")
                    .arg(&key)
                    .query_async(conn)
                    .await
                    .unwrap()
            };

            let _ = short.issue("alice").await.unwrap();
            let t = ttl(&mut conn).await;
            assert!((3590..=3600).contains(&t), "new key: {t}");
            let _ = long.issue("alice").await.unwrap();
            let t = ttl(&mut conn).await;
            assert!((86_390..=86_400).contains(&t), "extended: {t}");
            let _ = short.issue("alice").await.unwrap();
            let t = ttl(&mut conn).await;
            assert!((86_390..=86_400).contains(&t), "not shortened: {t}");

            let count = async |conn: &mut ::redis::aio::MultiplexedConnection| -> u64 {
                ::redis::cmd("ZCARD")
                    .arg(subject_key("idx", "alice"))
                    .query_async(conn)
                    .await
                    .unwrap()
            };
            assert_eq!(count(&mut conn).await, 3);
            // By the application's clock both short families have ended: the next login
            // drops them from the index.
            clock.advance(s(7200));
            let _ = short.issue("alice").await.unwrap();
            assert_eq!(count(&mut conn).await, 2);
            assert_eq!(long.revoke_subject("alice").await.unwrap(), 2);
            let exists: bool = ::redis::cmd("EXISTS")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(!exists);
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
