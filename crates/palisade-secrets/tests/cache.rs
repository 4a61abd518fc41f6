//! `SecretCache` against a scripted source on tokio's paused clock: single flight, time to
//! live, refresh ahead, stale-if-error and its bound, fetch timeouts, and the change signal.
#![allow(clippy::unwrap_used, clippy::panic, clippy::unchecked_time_subtraction)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use palisade_secrets::{
    Address, CachePolicy, Secret, SecretCache, SecretError, SecretErrorKind, Source,
};

/// A source whose answer and delay the test sets, counting its fetches.
#[derive(Clone, Default)]
struct Scripted(Arc<State>);

#[derive(Default)]
struct State {
    answer: Mutex<Option<Result<Vec<u8>, SecretErrorKind>>>,
    delay: Mutex<Duration>,
    fetches: AtomicU64,
}

impl Scripted {
    fn answer(&self, answer: Result<&[u8], SecretErrorKind>) {
        *self.0.answer.lock().unwrap() = Some(answer.map(<[u8]>::to_vec));
    }

    fn delay(&self, delay: Duration) {
        *self.0.delay.lock().unwrap() = delay;
    }

    fn fetches(&self) -> u64 {
        self.0.fetches.load(Ordering::SeqCst)
    }
}

impl Source for Scripted {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        self.0.fetches.fetch_add(1, Ordering::SeqCst);
        let delay = *self.0.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        let answer = self.0.answer.lock().unwrap().clone().unwrap();
        answer
            .map(|bytes| Secret::new(bytes, None))
            .map_err(|kind| SecretError::new(address, kind))
    }
}

fn address() -> Address {
    "env:DB_PASSWORD".parse().unwrap()
}

fn policy() -> CachePolicy {
    CachePolicy::default()
}

async fn value(cache: &SecretCache<Scripted>) -> Result<Vec<u8>, SecretErrorKind> {
    cache
        .get(&address())
        .await
        .map(|s| s.expose_secret().to_vec())
        .map_err(|e| e.kind())
}

/// A thousand concurrent calls of `get`, each of which must return `expected`.
async fn thousand_callers_get(cache: &SecretCache<Scripted>, expected: &[u8]) {
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { value(&cache).await })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), expected);
    }
}

/// A thousand callers asking at once for a value not yet loaded cause one fetch, and all get
/// its value.
#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_callers_cause_one_fetch() {
    let source = Scripted::default();
    source.answer(Ok(b"v1"));
    source.delay(Duration::from_millis(200));
    let cache = SecretCache::new(source.clone(), policy());
    thousand_callers_get(&cache, b"v1").await;
    assert_eq!(source.fetches(), 1);
    // The same at expiry.
    tokio::time::advance(policy().ttl).await;
    thousand_callers_get(&cache, b"v1").await;
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn values_are_served_from_the_cache_until_the_refresh_window() {
    let source = Scripted::default();
    source.answer(Ok(b"v1"));
    let cache = SecretCache::new(source.clone(), policy());
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    tokio::time::advance(policy().ttl - policy().refresh_ahead - Duration::from_secs(1)).await;
    source.answer(Ok(b"v2"));
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    assert_eq!(source.fetches(), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(
        value(&cache).await.unwrap(),
        b"v2",
        "refreshed ahead of expiry"
    );
    assert_eq!(source.fetches(), 2);
}

/// Inside the refresh-ahead window one caller refreshes and the others are answered at once
/// with the current value, not made to wait for the source.
#[tokio::test(start_paused = true)]
async fn refresh_ahead_keeps_other_callers_from_waiting() {
    let source = Scripted::default();
    source.answer(Ok(b"v1"));
    let cache = SecretCache::new(source.clone(), policy());
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    tokio::time::advance(policy().ttl - Duration::from_secs(5)).await;
    source.answer(Ok(b"v2"));
    source.delay(Duration::from_secs(3));
    let refresher = {
        let cache = cache.clone();
        tokio::spawn(async move { value(&cache).await })
    };
    tokio::task::yield_now().await;
    // Answered without the clock moving: nobody waited for the slow source.
    let started = tokio::time::Instant::now();
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(refresher.await.unwrap().unwrap(), b"v2");
    assert_eq!(value(&cache).await.unwrap(), b"v2");
    assert_eq!(source.fetches(), 2);
}

/// The source fails: the last value is served, counted, until `ttl + stale_if_error` has
/// passed since it was fetched; then the error is returned.
#[tokio::test(start_paused = true)]
async fn stale_if_error_serves_the_last_value_for_a_bounded_time() {
    let source = Scripted::default();
    source.answer(Ok(b"v1"));
    let cache = SecretCache::new(source.clone(), policy());
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    source.answer(Err(SecretErrorKind::Unavailable));
    tokio::time::advance(policy().ttl).await;
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    assert_eq!(cache.stale_served(), 1);
    tokio::time::advance(policy().stale_if_error - Duration::from_secs(1)).await;
    assert_eq!(value(&cache).await.unwrap(), b"v1");
    assert_eq!(cache.stale_served(), 2);
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(value(&cache).await, Err(SecretErrorKind::Unavailable));
    // The source comes back: the next call fetches again.
    source.answer(Ok(b"v2"));
    assert_eq!(value(&cache).await.unwrap(), b"v2");
}

/// A first load that fails is an error (there is nothing stale to serve), and a fetch that
/// outlives the timeout is a timeout.
#[tokio::test(start_paused = true)]
async fn a_failing_or_hanging_first_load_is_an_error() {
    let source = Scripted::default();
    source.answer(Err(SecretErrorKind::NotFound));
    let cache = SecretCache::new(source.clone(), policy());
    assert_eq!(value(&cache).await, Err(SecretErrorKind::NotFound));
    source.answer(Ok(b"v1"));
    source.delay(policy().fetch_timeout + Duration::from_secs(1));
    assert_eq!(value(&cache).await, Err(SecretErrorKind::Timeout));
}

/// Subscribers learn of a rotated value when a refresh brings it, and only then.
#[tokio::test(start_paused = true)]
async fn subscribers_are_told_when_a_refresh_brings_a_new_value() {
    let source = Scripted::default();
    source.answer(Ok(b"key-1"));
    let cache = SecretCache::new(source.clone(), policy());
    let mut changes = cache.subscribe(&address());
    assert_eq!(value(&cache).await.unwrap(), b"key-1");
    assert!(
        !changes.has_changed().unwrap(),
        "the first load is not a change"
    );
    tokio::time::advance(policy().ttl).await;
    assert_eq!(value(&cache).await.unwrap(), b"key-1");
    assert!(
        !changes.has_changed().unwrap(),
        "the same value again is not a change"
    );
    source.answer(Ok(b"key-2"));
    tokio::time::advance(policy().ttl).await;
    assert_eq!(value(&cache).await.unwrap(), b"key-2");
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), 1);
    let waiter = tokio::spawn(async move {
        changes.changed().await.unwrap();
        *changes.borrow()
    });
    source.answer(Ok(b"key-3"));
    tokio::time::advance(policy().ttl).await;
    assert_eq!(value(&cache).await.unwrap(), b"key-3");
    assert_eq!(waiter.await.unwrap(), 2);
}
