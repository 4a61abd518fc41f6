//! Feature `redact`: every value loaded through the cache or the local source is registered
//! with a `KnownSecrets`, so a `Redactor` sharing it redacts the exact bytes; rotated values
//! stay registered (up to `RETIRED_VALUES_KEPT`), and a dropped cache unregisters its own.
#![cfg(feature = "redact")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use palisade_redact::{KnownSecrets, REDACTED, Redactor};
use palisade_secrets::{
    Address, CachePolicy, LocalSource, RETIRED_VALUES_KEPT, Secret, SecretCache, SecretError,
    Source,
};

/// A source whose value the test sets.
#[derive(Clone, Default)]
struct Rotating(Arc<Mutex<Vec<u8>>>);

impl Rotating {
    fn set(&self, value: &str) {
        *self.0.lock().unwrap() = value.as_bytes().to_vec();
    }
}

impl Source for Rotating {
    async fn fetch(&self, _: &Address) -> Result<Secret, SecretError> {
        Ok(Secret::new(self.0.lock().unwrap().clone(), None))
    }
}

fn address() -> Address {
    "env:DB_PASSWORD".parse().unwrap()
}

fn redactor(known: &KnownSecrets) -> Redactor {
    Redactor::builder()
        .known_secrets(known.clone())
        .build()
        .unwrap()
}

fn value(i: usize) -> String {
    format!("rotated-value-{i:03}-qz")
}

/// Lets the cache's time to live pass and fetches again.
async fn rotate(cache: &SecretCache<Rotating>, source: &Rotating, to: &str) {
    source.set(to);
    tokio::time::advance(CachePolicy::default().ttl + Duration::from_secs(1)).await;
    let got = cache.get(&address()).await.unwrap();
    assert_eq!(got.expose_secret(), to.as_bytes());
}

#[tokio::test(start_paused = true)]
async fn a_value_loaded_through_the_cache_is_redacted() {
    let known = KnownSecrets::new();
    let r = redactor(&known);
    let source = Rotating::default();
    source.set("violet-staple-93-orbit");
    let line = "login failed with violet-staple-93-orbit for svc";
    // No pattern recognises it: without the registry it would be logged.
    assert_eq!(r.redact(line), line);
    let cache = SecretCache::new(source, CachePolicy::default()).with_known_secrets(known);
    cache.get(&address()).await.unwrap();
    assert_eq!(r.redact(line), "login failed with [REDACTED] for svc");
}

#[tokio::test(start_paused = true)]
async fn after_a_rotation_old_and_new_values_are_both_redacted() {
    let known = KnownSecrets::new();
    let r = redactor(&known);
    let source = Rotating::default();
    source.set(&value(0));
    let cache =
        SecretCache::new(source.clone(), CachePolicy::default()).with_known_secrets(known.clone());
    cache.get(&address()).await.unwrap();
    rotate(&cache, &source, &value(1)).await;
    assert_eq!(
        r.redact(&format!("{} {}", value(0), value(1))),
        format!("{REDACTED} {REDACTED}")
    );
    assert_eq!(known.len(), 2);
    // The same value fetched again is not registered twice.
    rotate(&cache, &source, &value(1)).await;
    assert_eq!(known.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn retired_values_beyond_the_bound_are_unregistered() {
    let known = KnownSecrets::new();
    let r = redactor(&known);
    let source = Rotating::default();
    source.set(&value(0));
    let cache =
        SecretCache::new(source.clone(), CachePolicy::default()).with_known_secrets(known.clone());
    cache.get(&address()).await.unwrap();
    for i in 1..=RETIRED_VALUES_KEPT {
        rotate(&cache, &source, &value(i)).await;
    }
    assert_eq!(known.len(), RETIRED_VALUES_KEPT + 1);
    assert_eq!(r.redact(&value(0)), REDACTED);
    rotate(&cache, &source, &value(RETIRED_VALUES_KEPT + 1)).await;
    assert_eq!(known.len(), RETIRED_VALUES_KEPT + 1);
    assert_eq!(r.redact(&value(0)), value(0));
    assert_eq!(r.redact(&value(1)), REDACTED);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_cache_unregisters_its_values_only() {
    let known = KnownSecrets::new();
    known.insert(b"registered-elsewhere").unwrap();
    let source = Rotating::default();
    source.set(&value(0));
    let cache =
        SecretCache::new(source.clone(), CachePolicy::default()).with_known_secrets(known.clone());
    cache.get(&address()).await.unwrap();
    rotate(&cache, &source, &value(1)).await;
    let clone = cache.clone();
    drop(cache);
    assert_eq!(known.len(), 3);
    drop(clone);
    assert_eq!(known.len(), 1);
    assert!(known.contains(b"registered-elsewhere"));
}

#[tokio::test(start_paused = true)]
async fn a_short_value_is_served_but_not_registered() {
    let known = KnownSecrets::new();
    let source = Rotating::default();
    source.set("short");
    let cache = SecretCache::new(source, CachePolicy::default()).with_known_secrets(known.clone());
    let got = cache.get(&address()).await.unwrap();
    assert_eq!(got.expose_secret(), b"short");
    assert!(known.is_empty());
}

#[tokio::test(start_paused = true)]
async fn values_cached_before_the_registry_was_given_are_registered() {
    let known = KnownSecrets::new();
    let source = Rotating::default();
    source.set(&value(7));
    let cache = SecretCache::new(source, CachePolicy::default());
    cache.get(&address()).await.unwrap();
    let cache = cache.with_known_secrets(known.clone());
    assert!(known.contains(value(7).as_bytes()));
    drop(cache);
    assert!(known.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cache_already_cloned_is_returned_unchanged() {
    let known = KnownSecrets::new();
    let source = Rotating::default();
    source.set(&value(3));
    let cache = SecretCache::new(source, CachePolicy::default());
    let clone = cache.clone();
    let cache = cache.with_known_secrets(known.clone());
    cache.get(&address()).await.unwrap();
    clone.get(&address()).await.unwrap();
    assert!(known.is_empty());
}

#[test]
fn a_value_loaded_by_the_local_source_is_redacted_once_registered() {
    let known = KnownSecrets::new();
    let r = redactor(&known);
    let source =
        LocalSource::with_environment([("DB_PASSWORD", "violet-staple-93-orbit"), ("PIN", "1234")])
            .with_known_secrets(known.clone());
    for _ in 0..3 {
        source.load(&address()).unwrap();
    }
    assert_eq!(
        r.redact("pw violet-staple-93-orbit"),
        format!("pw {REDACTED}")
    );
    // Loaded three times, registered once.
    assert!(known.remove(b"violet-staple-93-orbit"));
    assert!(!known.contains(b"violet-staple-93-orbit"));
    // Too short to register; still loaded.
    assert_eq!(
        source
            .load(&"env:PIN".parse().unwrap())
            .unwrap()
            .expose_secret(),
        b"1234"
    );
    assert!(known.is_empty());
}
