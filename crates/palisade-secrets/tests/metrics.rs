//! The `metrics` feature: fetches by provider and outcome, stale values served and changes
//! seen, after real cache operations on tokio's paused clock; and a bounded number of series
//! under thousands of distinct addresses.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use palisade_secrets::{
    Address, CachePolicy, Secret, SecretCache, SecretError, SecretErrorKind, Source,
};
use palisade_testkit::metrics::{assert_bounded, capture, counter};

fn paused<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(f)
}

/// A source whose answer the test sets; a `None` answer never comes (a hung source).
#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Option<Answer>>>);

type Answer = Result<Vec<u8>, SecretErrorKind>;

impl Scripted {
    fn answer(&self, answer: Option<Result<&[u8], SecretErrorKind>>) {
        *self.0.lock().unwrap() = answer.map(|a| a.map(<[u8]>::to_vec));
    }
}

impl Source for Scripted {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        let answer = self.0.lock().unwrap().clone();
        match answer {
            Some(answer) => answer
                .map(|bytes| Secret::new(bytes, None))
                .map_err(|kind| SecretError::new(address, kind)),
            None => std::future::pending().await,
        }
    }
}

#[test]
fn fetches_stale_values_and_changes_are_counted() {
    let policy = CachePolicy::default();
    let series = capture(|| {
        paused(async {
            let source = Scripted::default();
            let cache = SecretCache::new(source.clone(), policy);
            let env: Address = "env:DB_PASSWORD".parse().unwrap();
            let file: Address = "file:/run/secrets/db".parse().unwrap();
            source.answer(Some(Ok(b"v1")));
            cache.get(&env).await.unwrap();
            cache.get(&file).await.unwrap();
            // Expired, and the source now fails: the last value is served, stale.
            tokio::time::advance(policy.ttl).await;
            source.answer(Some(Err(SecretErrorKind::Unavailable)));
            assert_eq!(cache.get(&env).await.unwrap().expose_secret(), b"v1");
            // A hung source times out; the stale value is served again.
            source.answer(None);
            assert_eq!(cache.get(&env).await.unwrap().expose_secret(), b"v1");
            // The source recovers with a new value: a change.
            source.answer(Some(Ok(b"v2")));
            assert_eq!(cache.get(&env).await.unwrap().expose_secret(), b"v2");
        });
    });
    let fetches = |provider: &str, outcome: &str| {
        counter(
            &series,
            &format!("palisade_secrets_fetches_total{{outcome={outcome},provider={provider}}}"),
        )
    };
    assert_eq!(fetches("env", "ok"), 2);
    assert_eq!(fetches("file", "ok"), 1);
    assert_eq!(fetches("env", "error"), 1);
    assert_eq!(fetches("env", "timeout"), 1);
    assert_eq!(counter(&series, "palisade_secrets_stale_served_total"), 2);
    assert_eq!(counter(&series, "palisade_secrets_changes_total"), 1);
}

/// Thousands of distinct variable names and paths leave a handful of series, none of whose
/// labels carries a name, a path or a value.
#[test]
fn hostile_addresses_leave_series_bounded() {
    let series = capture(|| {
        paused(async {
            let source = Scripted::default();
            let cache = SecretCache::new(source.clone(), CachePolicy::default());
            for i in 0..2000 {
                source.answer(Some(if i % 2 == 0 {
                    Ok(b"zzvalue")
                } else {
                    Err(SecretErrorKind::NotFound)
                }));
                let env: Address = format!("env:ZZNAME{i}").parse().unwrap();
                let file: Address = format!("file:/zz/path{i}").parse().unwrap();
                let _ = cache.get(&env).await;
                let _ = cache.get(&file).await;
            }
        });
    });
    assert_bounded(&series, "palisade_secrets_", 6, &["zz"]);
}
