//! A cache in front of any [`Source`]: time to live, refresh ahead of expiry, one fetch for
//! any number of concurrent callers, the last value served for a bounded time when the source
//! fails, and a change signal per address.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{Mutex as FlightLock, watch},
    time::Instant,
};

use crate::{
    address::Address,
    error::{SecretError, SecretErrorKind},
    secret::{Secret, Source},
};

/// How long values are kept and how failures are absorbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachePolicy {
    /// How long a fetched value is served without asking the source again (default 5 min).
    pub ttl: Duration,
    /// How long before the end of `ttl` one caller refreshes the value while every other
    /// caller is still served the current one without waiting (default 30 s).
    pub refresh_ahead: Duration,
    /// How long past `ttl` the last value is still served when the source fails, each time
    /// with a warning and a count ([`SecretCache::stale_served`]); then the error is returned
    /// (default 10 min).
    pub stale_if_error: Duration,
    /// How long one fetch may take before it counts as failed (default 10 s).
    pub fetch_timeout: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            refresh_ahead: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(600),
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

/// A cache of secrets in front of `S`.
///
/// Every address has its own entry: concurrent callers of an expired (or never loaded) value
/// wait for one fetch and share its result (single flight); inside the refresh-ahead window
/// one caller refreshes while the rest are served the current value. When a fetch fails, the
/// last value is served until `ttl + stale_if_error` has passed since it was fetched, counted
/// and logged; after that the error is returned. [`subscribe`](Self::subscribe) gives a
/// receiver that changes whenever a refresh returns a different value, so a service can
/// reload a rotated key or password without restarting.
///
/// ```
/// use palisade_secrets::{CachePolicy, LocalSource, SecretCache};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build()?.block_on(async {
/// let source = LocalSource::with_environment([("JWT_KEY", "0123456789abcdef0123456789abcdef")]);
/// let cache = SecretCache::new(source, CachePolicy::default());
/// let address = "env:JWT_KEY".parse()?;
/// let key = cache.get(&address).await?;
/// assert_eq!(key.len(), 32);
/// let mut rotated = cache.subscribe(&address);
/// // ... in a task: `rotated.changed().await` wakes when a refresh brings a new value.
/// # let _ = rotated.borrow_and_update();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SecretCache<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for SecretCache<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S> std::fmt::Debug for SecretCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("policy", &self.inner.policy)
            .field("fetches", &self.inner.fetches.load(Ordering::Relaxed))
            .field(
                "stale_served",
                &self.inner.stale_served.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// How many retired values of one address stay registered with the cache's
/// [`KnownSecrets`](palisade_redact::KnownSecrets) besides the current one (feature `redact`).
#[cfg(feature = "redact")]
pub const RETIRED_VALUES_KEPT: usize = 16;

struct Inner<S> {
    source: S,
    policy: CachePolicy,
    /// Where fetched values are registered for redaction.
    #[cfg(feature = "redact")]
    known: Option<palisade_redact::KnownSecrets>,
    /// Addresses come from configuration, not from requests, so the map stays small.
    entries: Mutex<HashMap<Address, Arc<Entry>>>,
    fetches: AtomicU64,
    stale_served: AtomicU64,
}

struct Entry {
    current: RwLock<Option<Cached>>,
    /// Held by the one caller fetching this address.
    flight: FlightLock<()>,
    /// Counts the changes of value seen by refreshes.
    changes: watch::Sender<u64>,
    /// The values of this address registered with the cache's registry, oldest first: the
    /// current one last, up to [`RETIRED_VALUES_KEPT`] retired ones before it.
    #[cfg(feature = "redact")]
    registered: Mutex<std::collections::VecDeque<Arc<Secret>>>,
}

#[derive(Clone)]
struct Cached {
    secret: Arc<Secret>,
    fetched_at: Instant,
}

impl Entry {
    fn current(&self) -> Option<Cached> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Registers a new value of this entry, unless already registered by it, and unregisters
    /// the oldest retired one past [`RETIRED_VALUES_KEPT`].
    #[cfg(feature = "redact")]
    fn register(
        &self,
        known: &palisade_redact::KnownSecrets,
        address: &Address,
        secret: &Arc<Secret>,
    ) {
        let mut registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A value that comes back (rotated back and forth) moves to the end, not in twice.
        if let Some(i) = registered.iter().position(|r| r.same_value(secret)) {
            if let Some(again) = registered.remove(i) {
                registered.push_back(again);
            }
            return;
        }
        if !crate::known::register(known, address, secret) {
            return;
        }
        registered.push_back(secret.clone());
        while registered.len() > RETIRED_VALUES_KEPT + 1 {
            if let Some(oldest) = registered.pop_front() {
                known.remove(oldest.expose_secret());
            }
        }
    }
}

#[cfg(feature = "redact")]
impl<S> Drop for Inner<S> {
    /// Unregisters every value this cache registered.
    fn drop(&mut self) {
        let Some(known) = &self.known else {
            return;
        };
        let entries = self
            .entries
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for entry in entries.values() {
            let mut registered = entry
                .registered
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for secret in registered.drain(..) {
                known.remove(secret.expose_secret());
            }
        }
    }
}

impl<S: Source> SecretCache<S> {
    /// A cache in front of `source`.
    pub fn new(source: S, policy: CachePolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                policy,
                entries: Mutex::new(HashMap::new()),
                fetches: AtomicU64::new(0),
                stale_served: AtomicU64::new(0),
                #[cfg(feature = "redact")]
                known: None,
            }),
        }
    }

    /// The same cache registering every value it fetches with `known` (feature `redact`), so
    /// a [`Redactor`](palisade_redact::Redactor) built with the same registry redacts those
    /// exact bytes wherever they appear, even where no pattern would recognise them. Call it
    /// right after [`new`](Self::new): a cache already cloned is returned unchanged, with a
    /// warning (`a_cache_already_cloned_is_returned_unchanged`). Values already cached are
    /// registered at once (`values_cached_before_the_registry_was_given_are_registered`); a
    /// new value is registered before any caller is handed it.
    ///
    /// When a refresh brings a new value (a rotation), the new value is registered and the
    /// old one **stays registered**: a retired secret in a log is still a secret, and other
    /// copies of the service may still be using it. Each address keeps its current value and
    /// up to [`RETIRED_VALUES_KEPT`] retired ones registered; older ones, and every value of
    /// the cache once the cache and all its clones are dropped, are unregistered. A value
    /// the registry refuses (shorter than
    /// [`MIN_KNOWN_SECRET_LEN`](palisade_redact::MIN_KNOWN_SECRET_LEN)) is served all the
    /// same, with a warning naming its address.
    ///
    /// ```
    /// use palisade_redact::{KnownSecrets, Redactor};
    /// use palisade_secrets::{CachePolicy, LocalSource, SecretCache};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build()?.block_on(async {
    /// let known = KnownSecrets::new();
    /// let redactor = Redactor::builder().known_secrets(known.clone()).build()?;
    /// let source = LocalSource::with_environment([("DB_PASSWORD", "violet-staple-93-orbit")]);
    /// let cache = SecretCache::new(source, CachePolicy::default()).with_known_secrets(known);
    /// let _password = cache.get(&"env:DB_PASSWORD".parse()?).await?;
    /// assert_eq!(
    ///     redactor.redact("connect failed for violet-staple-93-orbit"),
    ///     "connect failed for [REDACTED]"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    #[must_use]
    pub fn with_known_secrets(mut self, known: palisade_redact::KnownSecrets) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            let entries = inner
                .entries
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            for (address, entry) in entries.iter() {
                if let Some(cached) = entry.current() {
                    entry.register(&known, address, &cached.secret);
                }
            }
            inner.known = Some(known);
        } else {
            tracing::warn!(
                target: "palisade_secrets",
                "with_known_secrets called on a cache already cloned; its values are not registered"
            );
        }
        self
    }

    fn entry(&self, address: &Address) -> Arc<Entry> {
        let mut entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(address) {
            return entry.clone();
        }
        entries
            .entry(address.clone())
            .or_insert_with(|| {
                Arc::new(Entry {
                    current: RwLock::new(None),
                    flight: FlightLock::new(()),
                    changes: watch::Sender::new(0),
                    #[cfg(feature = "redact")]
                    registered: Mutex::new(std::collections::VecDeque::new()),
                })
            })
            .clone()
    }

    /// The value at `address`, from the cache while it is fresh.
    ///
    /// # Errors
    ///
    /// The source's [`SecretError`] when there is no value to serve: never fetched, or older
    /// than `ttl + stale_if_error`. A fetch that outlives `fetch_timeout` is
    /// [`SecretErrorKind::Timeout`].
    pub async fn get(&self, address: &Address) -> Result<Arc<Secret>, SecretError> {
        let policy = &self.inner.policy;
        let entry = self.entry(address);
        if let Some(cached) = entry.current() {
            let age = cached.fetched_at.elapsed();
            if age < policy.ttl.saturating_sub(policy.refresh_ahead) {
                return Ok(cached.secret);
            }
            if age < policy.ttl {
                // Ahead of expiry: one caller refreshes, nobody waits for it.
                let Ok(_flight) = entry.flight.try_lock() else {
                    return Ok(cached.secret);
                };
                return match self.fetch(address, &entry).await {
                    Ok(secret) => Ok(secret),
                    Err(e) => {
                        tracing::warn!(
                            target: "palisade_secrets",
                            address = %address,
                            kind = ?e.kind(),
                            "refresh ahead of expiry failed; the current value is still fresh"
                        );
                        Ok(cached.secret)
                    }
                };
            }
        }
        // Expired or never loaded: one fetch, shared by every caller waiting here.
        let _flight = entry.flight.lock().await;
        if let Some(cached) = entry.current()
            && cached.fetched_at.elapsed() < policy.ttl
        {
            return Ok(cached.secret);
        }
        match self.fetch(address, &entry).await {
            Ok(secret) => Ok(secret),
            Err(e) => match entry.current() {
                Some(cached)
                    if cached.fetched_at.elapsed() < policy.ttl + policy.stale_if_error =>
                {
                    let served = self.inner.stale_served.fetch_add(1, Ordering::Relaxed) + 1;
                    crate::telemetry::stale_served();
                    tracing::warn!(
                        target: "palisade_secrets",
                        address = %address,
                        kind = ?e.kind(),
                        stale_served = served,
                        "secret source failed; serving the last value"
                    );
                    Ok(cached.secret)
                }
                _ => Err(e),
            },
        }
    }

    /// One fetch of `address`, stored in `entry`; the caller holds the entry's flight lock.
    async fn fetch(&self, address: &Address, entry: &Entry) -> Result<Arc<Secret>, SecretError> {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = tokio::time::timeout(
            self.inner.policy.fetch_timeout,
            self.inner.source.fetch(address),
        )
        .await
        .map_err(|_| SecretError::new(address, SecretErrorKind::Timeout))
        .and_then(|fetched| fetched);
        crate::telemetry::fetched(address, &fetched);
        let fetched = fetched?;
        let secret = Arc::new(fetched);
        // Only this caller (holding the flight lock) writes the entry, so the value read here
        // is still the current one when it is replaced below.
        let previous = entry.current();
        let changed = previous
            .as_ref()
            .is_some_and(|p| !p.secret.same_value(&secret));
        // Registered before any caller is handed the new value, so no caller can log it
        // before a redactor knows it.
        #[cfg(feature = "redact")]
        if let Some(known) = &self.inner.known
            && (previous.is_none() || changed)
        {
            entry.register(known, address, &secret);
        }
        *entry
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Cached {
            secret: secret.clone(),
            fetched_at: Instant::now(),
        });
        if changed {
            crate::telemetry::changed();
            entry.changes.send_modify(|n| *n += 1);
        }
        Ok(secret)
    }

    /// A receiver whose value (a count of changes) moves whenever a refresh of `address`
    /// returns a value different from the one before; `changed().await` waits for that.
    pub fn subscribe(&self, address: &Address) -> watch::Receiver<u64> {
        self.entry(address).changes.subscribe()
    }

    /// Fetches made from the source so far (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// How many times a stale value was served because the source failed.
    pub fn stale_served(&self) -> u64 {
        self.inner.stale_served.load(Ordering::Relaxed)
    }
}
