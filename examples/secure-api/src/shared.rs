//! State that several instances share through Redis, or that one instance keeps in memory:
//! palisade-ratelimit's limiter and its login-failure counters (palisade-token's stores are
//! its `AnyStore`).

use std::{
    num::NonZeroU32,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use palisade_ratelimit::{
    BackendError, Decision, Limiter, MemoryBackend, Policy,
    login::{LoginStore, MemoryLoginStore, Snapshot},
    redis::{RedisLimiter, RedisLoginStore},
};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request limiter: palisade-ratelimit in process, or in Redis for a fleet.
pub(crate) enum RateLimiter {
    Memory(MemoryBackend),
    Redis(RedisLimiter),
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "RateLimiter::Memory",
            Self::Redis(_) => "RateLimiter::Redis",
        })
    }
}

impl Limiter for RateLimiter {
    async fn decide(&self, key: &str, policy: &Policy, cost: NonZeroU32) -> Decision {
        match self {
            Self::Memory(m) => m.decide(key, policy, cost).await,
            Self::Redis(r) => r.decide(key, policy, cost).await,
        }
    }
}

/// Where login-failure counters live.
pub(crate) enum LoginCounters {
    Memory(MemoryLoginStore),
    Redis(RedisLoginStore),
}

impl std::fmt::Debug for LoginCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "LoginCounters::Memory",
            Self::Redis(_) => "LoginCounters::Redis",
        })
    }
}

impl LoginStore for LoginCounters {
    async fn read(&self, keys: &[String; 3]) -> Result<Snapshot, BackendError> {
        match self {
            Self::Memory(s) => s.read(keys).await,
            Self::Redis(s) => s.read(keys).await,
        }
    }

    async fn record_failure(
        &self,
        keys: &[String; 3],
        window: Duration,
    ) -> Result<Snapshot, BackendError> {
        match self {
            Self::Memory(s) => s.record_failure(keys, window).await,
            Self::Redis(s) => s.record_failure(keys, window).await,
        }
    }

    async fn clear(&self, keys: &[String]) -> Result<(), BackendError> {
        match self {
            Self::Memory(s) => s.clear(keys).await,
            Self::Redis(s) => s.clear(keys).await,
        }
    }
}
