//! `AnyLimiter` and `AnyLoginStore`: in process or in Redis, chosen at run time.

use std::{fmt, num::NonZeroU32};

use super::{RedisLimiter, RedisLoginStore};
use crate::{
    BackendError, Decision, Limiter, MemoryBackend, Policy,
    login::{AttemptKeys, Limits, LoginStore, MemoryLoginStore, Reservation},
};

/// The in-process limiter or the fleet-wide Redis one, picked when the service starts (from
/// configuration, say) behind one type. [`Limiter`] returns `impl Future`, so it cannot be
/// used as a `dyn` object; this enum is the way to choose at run time.
///
/// ```
/// use palisade_ratelimit::{
///     MemoryBackend, MemoryConfig, Policy,
///     redis::{AnyLimiter, RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig},
/// };
///
/// # async fn example(redis_url: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = match redis_url {
///     Some(url) => AnyLimiter::from(RedisLimiter::new(
///         RedisBackend::new(url, RedisConfig::default())?,
///         RedisLimiterConfig::default(),
///     )),
///     None => AnyLimiter::from(MemoryBackend::new(MemoryConfig::default())),
/// };
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
pub enum AnyLimiter {
    /// In this process ([`MemoryBackend`]).
    Memory(MemoryBackend),
    /// In Redis, shared by a fleet ([`RedisLimiter`], with its failure policy).
    Redis(RedisLimiter),
}

impl fmt::Debug for AnyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "AnyLimiter::Memory",
            Self::Redis(_) => "AnyLimiter::Redis",
        })
    }
}

impl From<MemoryBackend> for AnyLimiter {
    fn from(backend: MemoryBackend) -> Self {
        Self::Memory(backend)
    }
}

impl From<RedisLimiter> for AnyLimiter {
    fn from(limiter: RedisLimiter) -> Self {
        Self::Redis(limiter)
    }
}

impl Limiter for AnyLimiter {
    async fn decide(&self, key: &str, policy: &Policy, cost: NonZeroU32) -> Decision {
        match self {
            Self::Memory(m) => m.decide(key, policy, cost).await,
            Self::Redis(r) => r.decide(key, policy, cost).await,
        }
    }

    fn in_process(&self) -> Option<&MemoryBackend> {
        match self {
            Self::Memory(m) => Some(m),
            Self::Redis(_) => None,
        }
    }
}

/// Login counters in process or in Redis, chosen at run time (see [`AnyLimiter`]).
pub enum AnyLoginStore {
    /// In this process ([`MemoryLoginStore`]).
    Memory(MemoryLoginStore),
    /// In Redis, shared by a fleet ([`RedisLoginStore`]).
    Redis(RedisLoginStore),
}

impl fmt::Debug for AnyLoginStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Memory(_) => "AnyLoginStore::Memory",
            Self::Redis(_) => "AnyLoginStore::Redis",
        })
    }
}

impl From<MemoryLoginStore> for AnyLoginStore {
    fn from(store: MemoryLoginStore) -> Self {
        Self::Memory(store)
    }
}

impl From<RedisLoginStore> for AnyLoginStore {
    fn from(store: RedisLoginStore) -> Self {
        Self::Redis(store)
    }
}

impl LoginStore for AnyLoginStore {
    async fn reserve(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> Result<Reservation, BackendError> {
        match self {
            Self::Memory(s) => s.reserve(keys, limits).await,
            Self::Redis(s) => s.reserve(keys, limits).await,
        }
    }

    async fn undo(&self, release: &[String], clear: &[String]) -> Result<(), BackendError> {
        match self {
            Self::Memory(s) => s.undo(release, clear).await,
            Self::Redis(s) => s.undo(release, clear).await,
        }
    }
}
