//! Per-subject "not before" revocation and one-time token peeking, on the in-memory store
//! and on a real Redis: the claims the README makes, and their concurrency.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use palisade_token::clock::ManualClock;
use palisade_token::jwt::Claims;
use palisade_token::onetime::OneTimeTokens;
use palisade_token::opaque::Purpose;
use palisade_token::revocation::RevocationList;
use std::sync::atomic::{AtomicU32, Ordering};

use palisade_token::store::{Either, MemoryStore, OneTimeStore, RevocationStore, TokenState};
use palisade_token::{ErrorKind, ExposeSecret as _};

const KEY: &[u8] = b"one-time token hashing key 32 b.";
const NOW: u64 = 1_800_000_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn token(sub: &str, jti: &str, iat: Option<u64>) -> Claims {
    let mut claims = Claims::empty().subject(sub);
    claims.jti = Some(jti.to_owned());
    claims.iat = iat;
    claims
}

fn refused<T>(result: Result<T, palisade_token::TokenError>) -> bool {
    matches!(result, Err(e) if e.kind() == Some(ErrorKind::Revoked))
}

/// Tokens of the subject issued before the mark are refused; tokens issued at or after it,
/// and other subjects' tokens, are not; a token without `iat` cannot prove it is newer.
async fn not_before_refuses_tokens_issued_before_it<S: RevocationStore>(store: S) {
    let clock = Arc::new(ManualClock::new(NOW));
    let list = RevocationList::new(store)
        .clock(clock.clone())
        .max_token_lifetime(Duration::from_secs(900));
    let old = token("alice", "a-old", Some(NOW));
    let other = token("bob", "b-old", Some(NOW - 5));
    assert!(list.check(&old).await.is_ok());
    list.revoke_subject_before("alice", NOW + 1).await.unwrap();
    assert_eq!(list.not_before("alice").await.unwrap(), Some(NOW + 1));
    assert!(refused(list.check(&old).await), "issued in the same second");
    assert!(refused(list.check(&token("alice", "a-none", None)).await));
    assert!(
        list.check(&token("alice", "a-new", Some(NOW + 1)))
            .await
            .is_ok()
    );
    assert!(list.check(&other).await.is_ok());
    assert_eq!(list.not_before("bob").await.unwrap(), None);
}

/// A mark only moves later, so an old reset replayed late cannot re-admit tokens.
async fn not_before_only_moves_later<S: RevocationStore>(store: S) {
    let list = RevocationList::new(store).clock(Arc::new(ManualClock::new(NOW)));
    list.revoke_subject_before("carol", NOW + 200)
        .await
        .unwrap();
    list.revoke_subject_before("carol", NOW + 100)
        .await
        .unwrap();
    assert_eq!(list.not_before("carol").await.unwrap(), Some(NOW + 200));
    assert!(refused(
        list.check(&token("carol", "c", Some(NOW + 150))).await
    ));
}

/// Concurrent marks through two handles (two servers) end at the latest, whatever the order.
async fn concurrent_marks_keep_the_latest<S: RevocationStore + 'static>(a: S, b: S) {
    let clock = Arc::new(ManualClock::new(NOW));
    let a = Arc::new(RevocationList::new(a).clock(clock.clone()));
    let b = Arc::new(RevocationList::new(b).clock(clock));
    let mut tasks = Vec::new();
    for i in (1..=40u64).rev() {
        let list = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            list.revoke_subject_before("dave", NOW + i).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(a.not_before("dave").await.unwrap(), Some(NOW + 40));
    assert_eq!(b.not_before("dave").await.unwrap(), Some(NOW + 40));
}

/// Peeking reads the subject and leaves the token redeemable; a wrong or spent token peeks as
/// unknown; of many concurrent redemptions after a peek exactly one succeeds.
async fn peek_leaves_the_token_redeemable<S: OneTimeStore + 'static>(store: S) {
    let tokens = Arc::new(OneTimeTokens::new(store, KEY).unwrap());
    let issued = tokens
        .issue(Purpose::PasswordReset, "erin", Duration::from_secs(60))
        .await
        .unwrap();
    let raw = issued.expose_secret().to_owned();
    assert_eq!(
        tokens.peek(Purpose::PasswordReset, &raw).await.unwrap(),
        "erin"
    );
    assert_eq!(
        tokens.peek(Purpose::PasswordReset, &raw).await.unwrap(),
        "erin"
    );
    let other = tokens
        .issue(Purpose::PasswordReset, "erin", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        tokens
            .peek(Purpose::Verification, other.expose_secret())
            .await
            .unwrap_err()
            .kind(),
        Some(ErrorKind::WrongPurpose)
    );
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (tokens, raw) = (tokens.clone(), raw.clone());
        tasks.push(tokio::spawn(async move {
            tokens.redeem(Purpose::PasswordReset, &raw).await.is_ok()
        }));
    }
    let mut redeemed = 0;
    for t in tasks {
        redeemed += usize::from(t.await.unwrap());
    }
    assert_eq!(redeemed, 1);
    assert_eq!(
        tokens
            .peek(Purpose::PasswordReset, &raw)
            .await
            .unwrap_err()
            .kind(),
        Some(ErrorKind::Unknown)
    );
}

/// `token_state` answers what `is_revoked` and `subject_not_before` answer, for a revoked and
/// a live id, a subject with and without a mark, and no subject.
async fn token_state_answers_what_the_two_lookups_answer<S: RevocationStore>(store: S) {
    store.revoke("gone", NOW + 600, NOW).await.unwrap();
    store
        .revoke_subject_before("hana", NOW - 5, NOW + 600, NOW)
        .await
        .unwrap();
    for jti in ["gone", "live"] {
        for subject in [Some("hana"), Some("ivo"), None] {
            let state = store.token_state(jti, subject, NOW).await.unwrap();
            assert_eq!(
                state.revoked,
                store.is_revoked(jti, NOW).await.unwrap(),
                "{jti}"
            );
            let mark = match subject {
                Some(subject) => store.subject_not_before(subject, NOW).await.unwrap(),
                None => None,
            };
            assert_eq!(state.not_before, mark, "{jti} {subject:?}");
        }
    }
    let state = store.token_state("gone", Some("hana"), NOW).await.unwrap();
    assert!(state.revoked);
    assert_eq!(state.not_before, Some(NOW - 5));
}

#[test]
fn memory_token_state_answers_what_the_two_lookups_answer() {
    rt().block_on(token_state_answers_what_the_two_lookups_answer(
        MemoryStore::new(),
    ));
}

#[test]
fn memory_not_before_refuses_tokens_issued_before_it() {
    rt().block_on(not_before_refuses_tokens_issued_before_it(
        MemoryStore::new(),
    ));
}

#[test]
fn memory_not_before_only_moves_later() {
    rt().block_on(not_before_only_moves_later(MemoryStore::new()));
}

#[test]
fn memory_concurrent_marks_keep_the_latest() {
    let store = Arc::new(MemoryStore::new());
    // Two handles on one store: an `Arc` of a store is the same store.
    rt().block_on(concurrent_marks_keep_the_latest(Arc::clone(&store), store));
}

#[test]
fn memory_peek_leaves_the_token_redeemable() {
    rt().block_on(peek_leaves_the_token_redeemable(MemoryStore::new()));
}

/// The memory store's mark is forgotten once every token it refuses has expired.
#[test]
fn memory_not_before_is_forgotten_after_the_token_lifetime() {
    rt().block_on(async {
        let clock = Arc::new(ManualClock::new(NOW));
        let list = RevocationList::new(MemoryStore::new())
            .clock(clock.clone())
            .max_token_lifetime(Duration::from_secs(900));
        list.revoke_subject_before("frank", NOW + 1).await.unwrap();
        clock.set(NOW + 900);
        assert_eq!(list.not_before("frank").await.unwrap(), Some(NOW + 1));
        clock.set(NOW + 901);
        assert_eq!(list.not_before("frank").await.unwrap(), None);
    });
}

/// A store that answers `token_state` itself (as the Redis store does, in one round trip) and
/// counts how each lookup was asked.
#[derive(Default)]
struct OneTrip {
    inner: MemoryStore,
    token_states: AtomicU32,
    single_lookups: AtomicU32,
}

impl RevocationStore for OneTrip {
    async fn revoke(
        &self,
        jti: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), palisade_token::StoreError> {
        self.inner.revoke(jti, expires_at, now).await
    }
    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, palisade_token::StoreError> {
        self.single_lookups.fetch_add(1, Ordering::Relaxed);
        self.inner.is_revoked(jti, now).await
    }
    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), palisade_token::StoreError> {
        self.inner
            .revoke_subject_before(subject, not_before, keep_until, now)
            .await
    }
    async fn subject_not_before(
        &self,
        subject: &str,
        now: u64,
    ) -> Result<Option<u64>, palisade_token::StoreError> {
        self.single_lookups.fetch_add(1, Ordering::Relaxed);
        self.inner.subject_not_before(subject, now).await
    }
    async fn token_state(
        &self,
        jti: &str,
        subject: Option<&str>,
        now: u64,
    ) -> Result<TokenState, palisade_token::StoreError> {
        self.token_states.fetch_add(1, Ordering::Relaxed);
        self.inner.token_state(jti, subject, now).await
    }
}

/// `Either` and `Arc` forward `token_state` to the store inside, so a store that answers it in
/// one round trip still does behind them (the trait's default would make two lookups).
#[test]
fn either_and_arc_forward_token_state_to_the_store_inside() {
    rt().block_on(async {
        let store = Arc::new(OneTrip::default());
        let either: Either<Arc<OneTrip>, MemoryStore> = Either::Left(Arc::clone(&store));
        either.revoke("gone", NOW + 600, NOW).await.unwrap();
        let state = either.token_state("gone", Some("hana"), NOW).await.unwrap();
        assert!(state.revoked);
        assert_eq!(store.token_states.load(Ordering::Relaxed), 1);
        assert_eq!(store.single_lookups.load(Ordering::Relaxed), 0);
        token_state_answers_what_the_two_lookups_answer(either).await;
    });
}

/// An `Either` reads and writes the store it holds, and only that one.
#[test]
fn either_uses_only_the_side_it_holds() {
    type Both = Either<Arc<MemoryStore>, Arc<MemoryStore>>;
    rt().block_on(async {
        let (left, right) = (Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new()));
        let on_left: Both = Either::Left(Arc::clone(&left));
        let on_right: Both = Either::Right(Arc::clone(&right));
        on_left.revoke("l", NOW + 600, NOW).await.unwrap();
        on_right.revoke("r", NOW + 600, NOW).await.unwrap();
        assert!(left.is_revoked("l", NOW).await.unwrap());
        assert!(!left.is_revoked("r", NOW).await.unwrap());
        assert!(right.is_revoked("r", NOW).await.unwrap());
        assert!(!right.is_revoked("l", NOW).await.unwrap());
        not_before_only_moves_later(on_right).await;
        peek_leaves_the_token_redeemable(on_left).await;
    });
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use palisade_token::store::RedisStore;

    #[test]
    fn redis_not_before_and_peek() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let connect = |prefix: &'static str| {
                let url = redis.url();
                async move { RedisStore::connect(&url, prefix).await.unwrap() }
            };
            not_before_refuses_tokens_issued_before_it(connect("nb1").await).await;
            not_before_only_moves_later(connect("nb2").await).await;
            concurrent_marks_keep_the_latest(connect("nb3").await, connect("nb3").await).await;
            peek_leaves_the_token_redeemable(connect("nb4").await).await;
        });
    }

    /// Redis answers a token check's two lookups in one pipeline, with what the two
    /// lookups answer one by one.
    #[test]
    fn redis_token_state_answers_what_the_two_lookups_answer() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "ts1").await.unwrap();
            token_state_answers_what_the_two_lookups_answer(store).await;
        });
    }

    /// The Redis mark expires with the longest token it refuses, and a later mark with a
    /// shorter remaining life does not shorten it.
    #[test]
    fn redis_not_before_key_expires_after_the_token_lifetime() {
        let redis = palisade_testkit::RedisServer::start().expect("redis-server");
        rt().block_on(async {
            let store = RedisStore::connect(&redis.url(), "nb5").await.unwrap();
            let list = RevocationList::new(store)
                .clock(Arc::new(ManualClock::new(NOW)))
                .max_token_lifetime(Duration::from_secs(900));
            list.revoke_subject_before("gina", NOW + 1).await.unwrap();
            list.revoke_subject_before("gina", NOW - 500).await.unwrap();
            let client = ::redis::Client::open(redis.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg("nb5:nb:*")
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(keys.len(), 1);
            let ttl: i64 = ::redis::cmd("TTL")
                .arg(&keys[0])
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!((895..=901).contains(&ttl), "ttl {ttl}");
            assert_eq!(list.not_before("gina").await.unwrap(), Some(NOW + 1));
        });
    }
}
