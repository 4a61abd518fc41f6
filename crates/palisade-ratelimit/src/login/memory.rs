//! Login counters held in process, bounded in number; a reservation is decided and counted
//! under one lock.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};

use super::store::{AttemptKeys, Counter, Limits, LoginStore, Reservation, decide};
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

    fn counter(map: &HashMap<String, Entry>, key: &str, now: u64) -> Counter {
        map.get(key)
            .filter(|e| e.expires_ms > now)
            .map_or_else(Counter::default, |e| e.counter)
    }

    fn reserve_now(&self, keys: &AttemptKeys, limits: &Limits) -> Reservation {
        let now = self.now_ms();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let reservation = decide(
            limits,
            now,
            Self::counter(&map, &keys.account, now),
            Self::counter(&map, &keys.account_client, now),
            Self::counter(&map, &keys.client, now),
            keys.device.as_deref().map(|d| Self::counter(&map, d, now)),
        );
        if matches!(reservation, Reservation::Reserved(_)) {
            let expires_ms = now.saturating_add(limits.window_ms());
            for key in keys.all() {
                if !map.contains_key(&key) {
                    Self::make_room(&mut map, self.max, now);
                }
                let entry = map.entry(key).or_insert(Entry {
                    counter: Counter::default(),
                    expires_ms,
                });
                if entry.expires_ms <= now {
                    entry.counter = Counter::default();
                }
                entry.counter.failures = entry.counter.failures.saturating_add(1);
                entry.counter.last_ms = now;
                entry.expires_ms = expires_ms;
            }
        }
        reservation
    }

    fn undo_now(&self, release: &[String], clear: &[String]) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        for key in release {
            if let Some(entry) = map.get_mut(key) {
                entry.counter.failures = entry.counter.failures.saturating_sub(1);
            }
        }
        for key in clear {
            map.remove(key);
        }
    }
}

impl LoginStore for MemoryLoginStore {
    fn reserve(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> impl Future<Output = Result<Reservation, BackendError>> + Send {
        std::future::ready(Ok(self.reserve_now(keys, limits)))
    }

    fn undo(
        &self,
        release: &[String],
        clear: &[String],
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        self.undo_now(release, clear);
        std::future::ready(Ok(()))
    }
}
