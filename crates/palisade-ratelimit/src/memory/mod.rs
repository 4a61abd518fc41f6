//! The in-process backend: governor's GCRA over a capped, incrementally cleaned key store.

mod store;

use std::{
    cell::Cell,
    collections::hash_map::RandomState,
    fmt,
    hash::{BuildHasher as _, Hasher as _},
    num::NonZeroU32,
    sync::{Arc, OnceLock, PoisonError, RwLock, atomic::Ordering},
    time::Duration,
};

use governor::{Quota, RateLimiter, middleware::NoOpMiddleware, nanos::Nanos};

use crate::{
    clock::{Clock, MonotonicClock},
    decision::{Decision, Gcra, Outcome, decide},
    policy::Policy,
    telemetry::PolicyMetrics,
};
use store::{Capacity, CappedStore, Probe, SharedStore};

thread_local! {
    /// The instant of the decision being made on this thread, read by [`PinnedClock`].
    static PINNED: Cell<u64> = const { Cell::new(0) };
}

/// Governor's view of time: the instant this thread's current decision was taken on our
/// clock. Pinning it lets the decision's metadata use exactly the time governor used. In
/// governor's own nanosecond type, so no conversion through `Duration` on either side.
#[derive(Debug, Clone, Copy)]
struct PinnedClock;

impl governor::clock::Clock for PinnedClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(PINNED.with(Cell::get))
    }
}

/// Policies looked up without a lock; more are found under a read lock.
const FAST_SLOTS: usize = 32;

type Governor = RateLimiter<Probe, SharedStore, PinnedClock, NoOpMiddleware<Nanos>>;

/// What a full in-process store does with a key it has no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenFull {
    /// Deny new keys until cleanup frees room; keys already tracked keep their limits. An
    /// attacker flooding keys cannot evict (and so reset) anyone's state, at the price of
    /// denying keys first seen while the flood lasts.
    #[default]
    Deny,
    /// Admit new keys without tracking them: availability first, but a flood then disables
    /// limiting for new keys.
    Admit,
}

/// Settings of a [`MemoryBackend`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MemoryConfig {
    /// The most keys held across all policies (default 1,000,000).
    pub max_keys: usize,
    /// What happens to a new key when the store is full.
    pub when_full: WhenFull,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            max_keys: 1_000_000,
            when_full: WhenFull::Deny,
        }
    }
}

impl MemoryConfig {
    /// Sets the key cap.
    #[must_use]
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Sets the behaviour of a full store.
    #[must_use]
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.when_full = when_full;
        self
    }
}

struct Slot {
    policy: Policy,
    gcra: Gcra,
    limiter: Governor,
    store: Arc<CappedStore>,
    metrics: PolicyMetrics,
}

/// The backend's clock: the process's monotonic clock held directly, so reading it on the
/// decision path is an inlined call rather than a virtual one, or a caller's clock.
#[derive(Debug)]
enum BackendClock {
    Monotonic(MonotonicClock),
    Given(Arc<dyn Clock>),
}

impl BackendClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        match self {
            Self::Monotonic(clock) => clock.now_nanos(),
            Self::Given(clock) => clock.now_nanos(),
        }
    }
}

/// Rate limits held in this process.
///
/// Each policy has its own GCRA state per key; all policies share one hard cap on keys.
pub struct MemoryBackend {
    clock: BackendClock,
    hasher: RandomState,
    capacity: Arc<Capacity>,
    /// The first policies used, read without taking a lock.
    fast: [OnceLock<Arc<Slot>>; FAST_SLOTS],
    /// Every policy (the first ones too); written under its lock.
    slots: RwLock<Vec<Arc<Slot>>>,
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("clock", &self.clock)
            .field("max_keys", &self.capacity.max_keys)
            .field("keys", &self.capacity.keys.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new(MemoryConfig::default())
    }
}

impl MemoryBackend {
    /// A backend on the process's monotonic clock.
    pub fn new(config: MemoryConfig) -> Self {
        Self::on(config, BackendClock::Monotonic(MonotonicClock::new()))
    }

    /// A backend on the given clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(config: MemoryConfig, clock: Arc<dyn Clock>) -> Self {
        Self::on(config, BackendClock::Given(clock))
    }

    fn on(config: MemoryConfig, clock: BackendClock) -> Self {
        Self {
            clock,
            hasher: RandomState::new(),
            capacity: Arc::new(Capacity {
                max_keys: config.max_keys,
                keys: std::sync::atomic::AtomicUsize::new(0),
                admit_untracked: config.when_full == WhenFull::Admit,
            }),
            fast: std::array::from_fn(|_| OnceLock::new()),
            slots: RwLock::new(Vec::new()),
        }
    }

    /// Checks one request of cost 1.
    pub fn check(&self, key: &str, policy: &Policy) -> Decision {
        self.check_n(key, policy, NonZeroU32::MIN)
    }

    /// Checks a request of the given cost: all of it is admitted, or none.
    pub fn check_n(&self, key: &str, policy: &Policy, cost: NonZeroU32) -> Decision {
        self.check_at(key, policy, cost, self.clock.now_nanos())
    }

    /// Keys currently held, across all policies.
    pub fn len(&self) -> usize {
        self.capacity.keys.load(Ordering::Relaxed)
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys actually present in the maps (for tests: must equal [`len`](Self::len)).
    #[doc(hidden)]
    pub fn count_entries(&self) -> usize {
        self.slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|s| s.limiter_len())
            .sum()
    }

    pub(crate) fn check_at(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
        now: u64,
    ) -> Decision {
        for cell in &self.fast {
            match cell.get() {
                Some(slot) if slot.policy == *policy => {
                    return self.decide_in(slot, key, policy, cost, now);
                }
                Some(_) => {}
                None => break,
            }
        }
        self.check_in_slot(key, policy, cost, now)
    }

    /// A policy past the lock-free slots, or its first use: kept out of line so the common
    /// path stays small.
    #[cold]
    #[inline(never)]
    fn check_in_slot(&self, key: &str, policy: &Policy, cost: NonZeroU32, now: u64) -> Decision {
        let slot = self.slot(policy);
        self.decide_in(&slot, key, policy, cost, now)
    }

    fn decide_in(
        &self,
        slot: &Slot,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
        now: u64,
    ) -> Decision {
        let probe = Probe {
            hash: self.key_hash(key),
            now,
            seen: Cell::new(0),
            untracked: Cell::new(false),
        };
        PINNED.with(|p| p.set(now));
        let checked = if cost == NonZeroU32::MIN {
            Ok(slot.limiter.check_key(&probe))
        } else {
            slot.limiter.check_key_n(&probe, cost)
        };
        let outcome = match checked {
            Ok(Ok(())) => Outcome::Allowed {
                tat: probe.seen.get(),
            },
            Ok(Err(_)) if probe.untracked.get() => {
                slot.metrics.untracked();
                return Decision {
                    allowed: false,
                    limit: policy.limit(),
                    remaining: 0,
                    reset: policy.interval(),
                    retry_after: Some(policy.interval()),
                };
            }
            Ok(Err(_)) => {
                let tat = probe.seen.get();
                let gcra = slot.gcra;
                let weight = gcra.t * u64::from(cost.get() - 1);
                Outcome::Denied {
                    tat,
                    earliest: Some((tat + weight).saturating_sub(gcra.tau)),
                }
            }
            Err(_insufficient) => Outcome::Denied {
                tat: slot.limiter_peek(probe.hash).unwrap_or(now),
                earliest: None,
            },
        };
        if probe.untracked.get() {
            slot.metrics.untracked();
        }
        let decision = decide(
            slot.gcra,
            policy.limit(),
            now,
            outcome,
            Duration::from_nanos,
        );
        slot.metrics.record(&decision);
        decision
    }

    /// SipHash-1-3 of the key's bytes under this backend's random key. One `write`, without
    /// the length prefix `Hash for [u8]` adds (a second round of the hasher's buffering): a
    /// single string is hashed, so there is nothing for a prefix to separate.
    fn key_hash(&self, key: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(key.as_bytes());
        hasher.finish()
    }

    fn slot(&self, policy: &Policy) -> Arc<Slot> {
        {
            let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = slots.iter().find(|s| s.policy == *policy) {
                return Arc::clone(slot);
            }
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.iter().find(|s| s.policy == *policy) {
            return Arc::clone(slot);
        }
        let interval = policy.interval();
        let burst = NonZeroU32::new(policy.burst()).unwrap_or(NonZeroU32::MIN);
        // `interval` is at least a microsecond (checked by `Policy::new`).
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        // Governor's epoch is this backend's clock epoch.
        PINNED.with(|p| p.set(0));
        let store = Arc::new(CappedStore::new(Arc::clone(&self.capacity)));
        let limiter = RateLimiter::new(quota, SharedStore(Arc::clone(&store)), PinnedClock);
        let slot = Arc::new(Slot {
            gcra: Gcra::new(policy.interval_micros() * 1000, policy.tau_micros() * 1000),
            policy: policy.clone(),
            limiter,
            store,
            metrics: PolicyMetrics::new(policy.name(), "memory"),
        });
        if let Some(cell) = self.fast.get(slots.len()) {
            // Filled in order under the write lock, so readers stop at the first empty cell.
            let _ = cell.set(Arc::clone(&slot));
        }
        slots.push(Arc::clone(&slot));
        slot
    }
}

impl Slot {
    fn limiter_len(&self) -> usize {
        self.store.len()
    }

    fn limiter_peek(&self, hash: u64) -> Option<u64> {
        self.store.peek(hash)
    }
}
