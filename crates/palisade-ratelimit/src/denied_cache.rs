//! A local cache of keys the shared store has just denied: until their retry-after has passed,
//! the same request is denied here without a round trip.

use std::{
    collections::{HashMap, hash_map::RandomState},
    hash::BuildHasher,
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// One cached denial.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Local clock, nanoseconds: denied until then.
    until: u64,
    /// Local clock, nanoseconds: the store's capacity is full again then.
    reset_at: u64,
    /// Requests costing less than this were not covered by the denial.
    cost: u32,
    limit: u32,
}

/// A bounded map from (policy, key) to the time its denial ends.
#[derive(Debug)]
pub(crate) struct DeniedCache {
    hasher: RandomState,
    max: usize,
    map: Mutex<HashMap<u64, Entry>>,
}

impl DeniedCache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn id(&self, policy: &str, key: &str) -> u64 {
        self.hasher.hash_one((policy, key))
    }

    /// A cached denial of a request costing `cost` at `now`, if one still holds.
    pub(crate) fn get(
        &self,
        policy: &str,
        key: &str,
        cost: u32,
        now: u64,
    ) -> Option<crate::Decision> {
        if self.max == 0 {
            return None;
        }
        let id = self.id(policy, key);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = *map.get(&id)?;
        if entry.until <= now {
            map.remove(&id);
            return None;
        }
        if cost < entry.cost {
            return None;
        }
        Some(crate::Decision {
            allowed: false,
            limit: entry.limit,
            remaining: 0,
            reset: Duration::from_nanos(entry.reset_at.saturating_sub(now)),
            retry_after: Some(Duration::from_nanos(entry.until - now)),
        })
    }

    /// Remembers a denial taken at `now`.
    pub(crate) fn insert(
        &self,
        policy: &str,
        key: &str,
        cost: u32,
        now: u64,
        decision: &crate::Decision,
    ) {
        let Some(retry) = decision.retry_after else {
            return;
        };
        if self.max == 0 {
            return;
        }
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let entry = Entry {
            until: now.saturating_add(nanos(retry)),
            reset_at: now.saturating_add(nanos(decision.reset)),
            cost,
            limit: decision.limit,
        };
        let id = self.id(policy, key);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.max && !map.contains_key(&id) {
            map.retain(|_, e| e.until > now);
            if map.len() >= self.max {
                // Only an optimisation: a full cache just sends this key to the store.
                return;
            }
        }
        map.insert(id, entry);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denial(retry_ms: u64) -> crate::Decision {
        crate::Decision {
            allowed: false,
            limit: 5,
            remaining: 0,
            reset: Duration::from_millis(retry_ms * 2),
            retry_after: Some(Duration::from_millis(retry_ms)),
        }
    }

    #[test]
    fn holds_until_retry_after_and_respects_cost() {
        let cache = DeniedCache::new(2);
        cache.insert("p", "k", 2, 0, &denial(10));
        assert!(
            cache.get("p", "k", 1, 0).is_none(),
            "cheaper request not covered"
        );
        let hit = cache.get("p", "k", 2, 4_000_000).expect("still denied");
        assert_eq!(hit.retry_after, Some(Duration::from_millis(6)));
        assert!(cache.get("p", "other", 2, 0).is_none());
        assert!(cache.get("q", "k", 2, 0).is_none());
        assert!(cache.get("p", "k", 2, 10_000_000).is_none(), "expired");
    }

    #[test]
    fn stays_bounded() {
        let cache = DeniedCache::new(2);
        for i in 0..10 {
            cache.insert("p", &i.to_string(), 1, 0, &denial(10));
        }
        assert_eq!(cache.len(), 2);
    }
}
