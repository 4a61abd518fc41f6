//! Failure counters held in process, bounded in number.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use super::{Counter, LoginStore, Snapshot};
use crate::{
    clock::{Clock, MonotonicClock},
    error::BackendError,
};

struct Entry {
    counter: Counter,
    expires_ms: u64,
}

/// Failure counters in a bounded map. When full, expired counters go first, then the
/// sixteenth of counters with the oldest last failure.
pub struct MemoryLoginStore {
    clock: Arc<dyn Clock>,
    max: usize,
    map: Mutex<HashMap<String, Entry>>,
}

impl fmt::Debug for MemoryLoginStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLoginStore")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryLoginStore {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl MemoryLoginStore {
    /// A store holding at most `max` counters, on the monotonic clock.
    pub fn new(max: usize) -> Self {
        Self::with_clock(max, Arc::new(MonotonicClock::new()))
    }

    /// A store on the given clock.
    pub fn with_clock(max: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            max: max.max(3),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counters held.
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_nanos() / 1_000_000
    }

    fn make_room(map: &mut HashMap<String, Entry>, max: usize, now: u64) {
        if map.len() < max {
            return;
        }
        map.retain(|_, e| e.expires_ms > now);
        if map.len() < max {
            return;
        }
        let mut ages: Vec<u64> = map.values().map(|e| e.counter.last_ms).collect();
        let nth = ages.len() / 16;
        let (_, cutoff, _) = ages.select_nth_unstable(nth);
        let cutoff = *cutoff;
        map.retain(|_, e| e.counter.last_ms > cutoff);
    }

    fn snapshot_now(&self, keys: &[String; 3], add: Option<Duration>) -> Snapshot {
        let now = self.now_ms();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counters = [Counter::default(); 3];
        for (i, key) in keys.iter().enumerate() {
            if let Some(window) = add {
                if !map.contains_key(key) {
                    Self::make_room(&mut map, self.max, now);
                }
                let expires_ms =
                    now.saturating_add(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
                let entry = map.entry(key.clone()).or_insert(Entry {
                    counter: Counter::default(),
                    expires_ms,
                });
                if entry.expires_ms <= now {
                    entry.counter = Counter::default();
                }
                entry.counter.failures = entry.counter.failures.saturating_add(1);
                entry.counter.last_ms = now;
                entry.expires_ms = expires_ms;
                counters[i] = entry.counter;
            } else if let Some(entry) = map.get(key)
                && entry.expires_ms > now
            {
                counters[i] = entry.counter;
            }
        }
        Snapshot {
            now_ms: now,
            counters,
        }
    }
}

impl LoginStore for MemoryLoginStore {
    fn read(
        &self,
        keys: &[String; 3],
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send {
        std::future::ready(Ok(self.snapshot_now(keys, None)))
    }

    fn record_failure(
        &self,
        keys: &[String; 3],
        window: Duration,
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send {
        std::future::ready(Ok(self.snapshot_now(keys, Some(window))))
    }

    fn clear(&self, keys: &[String]) -> impl Future<Output = Result<(), BackendError>> + Send {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            map.remove(key);
        }
        std::future::ready(Ok(()))
    }
}
