//! The fleet limiter: the Redis backend, each policy's failure policy, and the local cache of
//! denied keys.

use std::{fmt, future::Future, num::NonZeroU32, sync::Arc};

use super::backend::RedisBackend;
use crate::{
    Limiter,
    clock::{Clock, MonotonicClock},
    decision::Decision,
    denied_cache::DeniedCache,
    failure::Outage,
    memory::{MemoryBackend, MemoryConfig},
    policy::{FailurePolicy, Policy},
};

/// Settings of a [`RedisLimiter`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RedisLimiterConfig {
    /// The local limiter used by [`FailurePolicy::Local`] while Redis is unreachable.
    pub local: MemoryConfig,
    /// How many denied keys to remember locally (0 turns the cache off; default 100,000).
    pub denied_cache_size: usize,
}

impl Default for RedisLimiterConfig {
    fn default() -> Self {
        Self {
            local: MemoryConfig::default(),
            denied_cache_size: 100_000,
        }
    }
}

impl RedisLimiterConfig {
    /// Sets the size of the denied-key cache (0 turns it off).
    #[must_use]
    pub fn denied_cache_size(mut self, size: usize) -> Self {
        self.denied_cache_size = size;
        self
    }

    /// Sets the local fallback limiter's settings.
    #[must_use]
    pub fn local(mut self, local: MemoryConfig) -> Self {
        self.local = local;
        self
    }
}

/// Fleet-wide limits with a defined behaviour when Redis is down.
///
/// Each decision first consults the local cache of denied keys (a key Redis denied stays
/// denied here until its retry-after, without a round trip), then asks Redis; when Redis gives
/// no answer the policy's [`FailurePolicy`] decides. The outage is logged once when it starts
/// and once when it ends, and every failed decision is counted in
/// `palisade_ratelimit_backend_errors_total`.
pub struct RedisLimiter {
    backend: RedisBackend,
    local: MemoryBackend,
    denied: DeniedCache,
    outage: Outage,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("backend", &self.backend)
            .field("store_down", &self.outage.is_down())
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// Wraps a backend.
    pub fn new(backend: RedisBackend, config: RedisLimiterConfig) -> Self {
        Self::with_clock(backend, config, Arc::new(MonotonicClock::new()))
    }

    /// Wraps a backend, timing the local cache and fallback with `clock`.
    pub fn with_clock(
        backend: RedisBackend,
        config: RedisLimiterConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            backend,
            local: MemoryBackend::with_clock(config.local, Arc::clone(&clock)),
            denied: DeniedCache::new(config.denied_cache_size),
            outage: Outage::default(),
            clock,
        }
    }

    /// Whether the last decision found Redis unreachable.
    pub fn store_down(&self) -> bool {
        self.outage.is_down()
    }

    /// The underlying backend.
    pub fn backend(&self) -> &RedisBackend {
        &self.backend
    }

    /// Checks a request of cost 1.
    pub async fn check(&self, key: &str, policy: &Policy) -> Decision {
        self.check_n(key, policy, NonZeroU32::MIN).await
    }

    /// Checks a request of the given cost.
    pub async fn check_n(&self, key: &str, policy: &Policy, cost: NonZeroU32) -> Decision {
        let now = self.clock.now_nanos();
        if let Some(cached) = self.denied.get(policy.name(), key, cost.get(), now) {
            crate::telemetry::denied_cache_hit(policy.name());
            return cached;
        }
        match self.backend.check_n(key, policy, cost).await {
            Ok(decision) => {
                self.outage.succeeded();
                if !decision.allowed {
                    self.denied
                        .insert(policy.name(), key, cost.get(), now, &decision);
                }
                decision
            }
            Err(e) => {
                let kind = match e.kind() {
                    crate::BackendErrorKind::Timeout => "timeout",
                    crate::BackendErrorKind::Unavailable => "unavailable",
                    _ => "protocol",
                };
                self.outage
                    .failed(policy.name(), policy.failure_policy(), kind);
                match policy.failure_policy() {
                    FailurePolicy::Open => Decision {
                        allowed: true,
                        limit: policy.limit(),
                        remaining: policy.burst().saturating_sub(cost.get()),
                        reset: std::time::Duration::ZERO,
                        retry_after: None,
                    },
                    FailurePolicy::Local => self.local.check_n(key, policy, cost),
                    _ => Decision {
                        allowed: false,
                        limit: policy.limit(),
                        remaining: 0,
                        reset: policy.interval(),
                        retry_after: Some(policy.interval()),
                    },
                }
            }
        }
    }
}

impl Limiter for RedisLimiter {
    fn decide(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
    ) -> impl Future<Output = Decision> + Send {
        self.check_n(key, policy, cost)
    }
}
