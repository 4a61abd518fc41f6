//! State that several instances share through Redis, or that one instance keeps in memory:
//! palisade-token's stores, palisade-ratelimit's limiter and its login-failure counters.

use std::{
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use palisade_ratelimit::{
    BackendError, Decision, Limiter, MemoryBackend, Policy,
    login::{LoginStore, MemoryLoginStore, Snapshot},
    redis::{RedisLimiter, RedisLoginStore},
};

use palisade_token::{
    StoreError,
    store::{
        MemoryStore, NewFamily, OneTimeRecord, OneTimeStore, RedisStore, RefreshStore,
        RevocationStore, RotateOutcome, Rotation,
    },
};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// palisade-token's store: in process, or in Redis for a fleet. Cloning shares the store (the
/// bearer layer's revocation check and the logout handler read and write the same list).
#[derive(Debug, Clone)]
pub(crate) enum TokenStore {
    Memory(Arc<MemoryStore>),
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
            Self::Memory(s) => RefreshStore::revoke_family(&**s, family).await,
            Self::Redis(s) => RefreshStore::revoke_family(s, family).await,
        }
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        match self {
            Self::Memory(s) => s.revoke_subject(subject, now).await,
            Self::Redis(s) => s.revoke_subject(subject, now).await,
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
