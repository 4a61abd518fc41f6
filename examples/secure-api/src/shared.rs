//! State that several instances share through Redis, or that one instance keeps in memory:
//! palisade-token's stores and the fixed-window counters behind rate limits and login
//! throttling.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use palisade_token::{
    StoreError,
    store::{
        MemoryStore, NewFamily, OneTimeRecord, OneTimeStore, RedisStore, RefreshStore,
        RevocationStore, RotateOutcome, Rotation,
    },
};
use redis::aio::ConnectionManager;

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// palisade-token's store: in process, or in Redis for a fleet.
#[derive(Debug)]
pub(crate) enum TokenStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl RefreshStore for TokenStore {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        match self {
            Self::Memory(s) => s.create_family(family).await,
            Self::Redis(s) => s.create_family(family).await,
        }
    }

    async fn rotate(&self, rotation: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        match self {
            Self::Memory(s) => s.rotate(rotation).await,
            Self::Redis(s) => s.rotate(rotation).await,
        }
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        match self {
            Self::Memory(s) => RefreshStore::revoke_family(s, family).await,
            Self::Redis(s) => RefreshStore::revoke_family(s, family).await,
        }
    }
}

impl RevocationStore for TokenStore {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        match self {
            Self::Memory(s) => s.revoke(jti, expires_at, now).await,
            Self::Redis(s) => s.revoke(jti, expires_at, now).await,
        }
    }

    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        match self {
            Self::Memory(s) => s.is_revoked(jti, now).await,
            Self::Redis(s) => s.is_revoked(jti, now).await,
        }
    }
}

impl OneTimeStore for TokenStore {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(s) => s.put(lookup_id, record, now).await,
            Self::Redis(s) => s.put(lookup_id, record, now).await,
        }
    }

    async fn take(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        match self {
            Self::Memory(s) => s.take(lookup_id, now).await,
            Self::Redis(s) => s.take(lookup_id, now).await,
        }
    }
}

/// The state of one counter after a hit or a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Hits counted in the current window, this one included.
    pub(crate) count: u64,
    /// Seconds until the window ends.
    pub(crate) reset_secs: u64,
}

/// INCR, then set the expiry on the first hit; returns the count and the remaining TTL.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// Fixed-window counters: in process, or in Redis so every instance counts together.
pub(crate) enum Counters {
    Memory(Mutex<HashMap<String, (u64, u64)>>),
    Redis {
        conn: ConnectionManager,
        prefix: String,
        hit: redis::Script,
    },
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "Counters::Memory",
            Self::Redis { .. } => "Counters::Redis",
        })
    }
}

/// A counter backend failed; callers fail closed.
#[derive(Debug)]
pub(crate) struct CounterError;

impl Counters {
    pub(crate) fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    pub(crate) fn redis(conn: ConnectionManager, prefix: &str) -> Self {
        Self::Redis {
            conn,
            prefix: prefix.to_owned(),
            hit: redis::Script::new(HIT),
        }
    }

    /// Counts one hit on `key` in a window of `window` seconds.
    pub(crate) async fn hit(&self, key: &str, window: u64) -> Result<Window, CounterError> {
        match self {
            Self::Memory(map) => {
                let now = now();
                let mut map = map.lock().map_err(|_| CounterError)?;
                if map.len() > 100_000 {
                    map.retain(|_, (_, end)| *end > now);
                }
                let entry = map.entry(key.to_owned()).or_insert((0, now + window));
                if entry.1 <= now {
                    *entry = (0, now + window);
                }
                entry.0 += 1;
                Ok(Window {
                    count: entry.0,
                    reset_secs: entry.1.saturating_sub(now),
                })
            }
            Self::Redis { conn, prefix, hit } => {
                let mut conn = conn.clone();
                let (count, ttl): (u64, i64) = hit
                    .key(format!("{prefix}:{key}"))
                    .arg(window)
                    .invoke_async(&mut conn)
                    .await
                    .map_err(|_| CounterError)?;
                Ok(Window {
                    count,
                    reset_secs: u64::try_from(ttl.max(0)).unwrap_or(0),
                })
            }
        }
    }

    /// The current count of `key`, without counting.
    pub(crate) async fn peek(&self, key: &str) -> Result<Window, CounterError> {
        match self {
            Self::Memory(map) => {
                let now = now();
                let map = map.lock().map_err(|_| CounterError)?;
                Ok(match map.get(key) {
                    Some((count, end)) if *end > now => Window {
                        count: *count,
                        reset_secs: end - now,
                    },
                    _ => Window {
                        count: 0,
                        reset_secs: 0,
                    },
                })
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                let key = format!("{prefix}:{key}");
                let (count, ttl): (Option<u64>, i64) = redis::pipe()
                    .get(&key)
                    .ttl(&key)
                    .query_async(&mut conn)
                    .await
                    .map_err(|_| CounterError)?;
                Ok(Window {
                    count: count.unwrap_or(0),
                    reset_secs: u64::try_from(ttl.max(0)).unwrap_or(0),
                })
            }
        }
    }

    /// Forgets `key`.
    pub(crate) async fn clear(&self, key: &str) -> Result<(), CounterError> {
        match self {
            Self::Memory(map) => {
                map.lock().map_err(|_| CounterError)?.remove(key);
                Ok(())
            }
            Self::Redis { conn, prefix, .. } => {
                let mut conn = conn.clone();
                redis::cmd("DEL")
                    .arg(format!("{prefix}:{key}"))
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(|_| CounterError)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counters_count_and_clear() {
        let c = Counters::memory();
        assert_eq!(c.hit("a", 60).await.unwrap().count, 1);
        assert_eq!(c.hit("a", 60).await.unwrap().count, 2);
        assert_eq!(c.peek("a").await.unwrap().count, 2);
        assert_eq!(c.peek("b").await.unwrap().count, 0);
        c.clear("a").await.unwrap();
        assert_eq!(c.peek("a").await.unwrap().count, 0);
    }
}
