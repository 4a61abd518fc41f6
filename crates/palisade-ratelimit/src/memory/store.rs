//! A governor state store with a hard cap on keys and incremental cleanup.
//!
//! Keys are 64-bit SipHash values under a per-process random key, so every entry has the same
//! small size however long the caller's key is, and an attacker who cannot see the hash key
//! cannot aim collisions at someone else's key. The map is split into shards; cleanup removes
//! entries whose theoretical arrival time has passed (they are indistinguishable from a fresh
//! key, so dropping them changes no decision), one shard at a time.

use std::{
    cell::Cell,
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use governor::{nanos::Nanos, state::StateStore};

/// Entries inserted between two incremental sweeps of one shard.
const SWEEP_EVERY: u64 = 128;
/// Shards swept, at most, before a full store gives up on a new key.
const SWEEP_WHEN_FULL: usize = 8;
/// Target number of entries per shard at capacity: bounds the longest cleanup pause.
const ENTRIES_PER_SHARD: usize = 2048;

/// The key's hash is already uniformly random; hashing it again would only cost time.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, AtomicU64, BuildHasherDefault<PassThrough>>;

/// What a check tells the store and learns from it.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) hash: u64,
    /// The decision's time, nanoseconds on the backend's clock.
    pub(crate) now: u64,
    /// The state the decision was based on (denied) or produced (allowed).
    pub(crate) seen: Cell<u64>,
    /// Set when the store was full and the key could not be tracked.
    pub(crate) untracked: Cell<bool>,
}

impl PartialEq for Probe {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl Eq for Probe {}

impl std::hash::Hash for Probe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Bookkeeping shared by every policy's store in one backend.
#[derive(Debug)]
pub(crate) struct Capacity {
    pub(crate) max_keys: usize,
    pub(crate) keys: AtomicUsize,
    pub(crate) admit_untracked: bool,
}

impl Capacity {
    fn reserve(&self) -> bool {
        let mut keys = self.keys.load(Ordering::Relaxed);
        loop {
            if keys >= self.max_keys {
                return false;
            }
            match self.keys.compare_exchange_weak(
                keys,
                keys + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => keys = now,
            }
        }
    }

    fn release(&self, n: usize) {
        self.keys.fetch_sub(n, Ordering::Relaxed);
    }
}

/// One policy's keyed state.
pub(crate) struct CappedStore {
    shards: Box<[RwLock<Shard>]>,
    /// Per shard, a lower bound of its entries' states (`u64::MAX` when empty): a shard whose
    /// bound is in the future has nothing to clean, so finding work costs one load per shard.
    earliest: Box<[AtomicU64]>,
    mask: usize,
    capacity: Arc<Capacity>,
    inserts: AtomicU64,
    cursor: AtomicUsize,
}

impl std::fmt::Debug for CappedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CappedStore")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl CappedStore {
    pub(crate) fn new(capacity: Arc<Capacity>) -> Self {
        let wanted = (capacity.max_keys / ENTRIES_PER_SHARD).clamp(16, 4096);
        let n = wanted.next_power_of_two();
        let shards = (0..n).map(|_| RwLock::new(Shard::default())).collect();
        let earliest = (0..n).map(|_| AtomicU64::new(u64::MAX)).collect();
        Self {
            shards,
            earliest,
            mask: n - 1,
            capacity,
            inserts: AtomicU64::new(0),
            cursor: AtomicUsize::new(0),
        }
    }

    fn index(&self, hash: u64) -> usize {
        // The map itself uses the low bits; shard on the high ones.
        (hash >> 40) as usize & self.mask
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[self.index(hash)]
    }

    /// The stored state of a key, without changing it.
    pub(crate) fn peek(&self, hash: u64) -> Option<u64> {
        let shard = self
            .shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        shard.get(&hash).map(|s| s.load(Ordering::Acquire))
    }

    /// Removes entries whose state has expired by `now` from shard `index`; returns how many.
    fn sweep(&self, index: usize, now: u64) -> usize {
        let index = index & self.mask;
        let mut shard = self.shards[index]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let before = shard.len();
        let mut earliest = u64::MAX;
        shard.retain(|_, tat| {
            let tat = tat.load(Ordering::Acquire);
            let keep = tat > now;
            if keep {
                earliest = earliest.min(tat);
            }
            keep
        });
        let removed = before - shard.len();
        self.earliest[index].store(earliest, Ordering::Relaxed);
        self.capacity.release(removed);
        removed
    }

    /// Sweeps the next shard, from the cursor on, that may hold expired entries.
    fn sweep_next(&self, now: u64) -> usize {
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        for step in 0..self.shards.len() {
            let index = (start + step) & self.mask;
            if self.earliest[index].load(Ordering::Relaxed) <= now {
                self.cursor.store(index + 1, Ordering::Relaxed);
                return self.sweep(index, now);
            }
        }
        0
    }

    /// Number of keys this store holds.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    fn update<T, F, E>(cell: &AtomicU64, probe: &Probe, f: &F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut prev = cell.load(Ordering::Acquire);
        loop {
            let old = (prev != 0).then(|| Nanos::from(prev));
            match f(old) {
                Ok((result, next)) => {
                    let next = next.as_u64();
                    match cell.compare_exchange_weak(
                        prev,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            probe.seen.set(next);
                            return Ok(result);
                        }
                        Err(actual) => prev = actual,
                    }
                }
                Err(e) => {
                    probe.seen.set(prev);
                    return Err(e);
                }
            }
        }
    }
}

impl StateStore for CappedStore {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, probe: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let lock = self.shard(probe.hash);
        {
            let shard = lock.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = shard.get(&probe.hash) {
                return Self::update(cell, probe, &f);
            }
        }
        // A new key. A fresh key's request that does not conform never needs an entry.
        let (result, next) = match f(None) {
            Ok(pair) => pair,
            Err(e) => {
                probe.seen.set(0);
                return Err(e);
            }
        };
        if self
            .inserts
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
        {
            self.sweep_next(probe.now);
        }
        let mut reserved = self.capacity.reserve();
        for _ in 0..SWEEP_WHEN_FULL {
            if reserved {
                break;
            }
            if self.sweep_next(probe.now) > 0 {
                reserved = self.capacity.reserve();
            }
        }
        if !reserved {
            probe.untracked.set(true);
            if self.capacity.admit_untracked {
                probe.seen.set(next.as_u64());
                return Ok(result);
            }
            // Deny: judge the request against a state that cannot conform for a long time.
            let saturated = Nanos::from(u64::MAX / 2);
            return match f(Some(saturated)) {
                Ok(_) => Ok(result),
                Err(e) => Err(e),
            };
        }
        let mut shard = lock.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = shard.get(&probe.hash) {
            // Another thread inserted the key meanwhile.
            self.capacity.release(1);
            return Self::update(cell, probe, &f);
        }
        shard.insert(probe.hash, AtomicU64::new(next.as_u64()));
        self.earliest[self.index(probe.hash)].fetch_min(next.as_u64(), Ordering::Relaxed);
        probe.seen.set(next.as_u64());
        Ok(result)
    }
}

/// The store as governor holds it, while the backend keeps a handle for peeking and counting.
#[derive(Debug)]
pub(crate) struct SharedStore(pub(crate) Arc<CappedStore>);

impl StateStore for SharedStore {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, probe: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(probe, f)
    }
}
