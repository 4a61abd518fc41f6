//! palisade-ratelimit behind [`RateLimitLayer`](crate::RateLimitLayer) and
//! [`ClientIpLayer`](crate::ClientIpLayer).

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
};

use http::{HeaderMap, HeaderName, HeaderValue, header};
use palisade_ratelimit::{Limiter, Policy, client_ip::ClientIpResolver, headers::HeaderOptions};

use crate::{client_layer::ResolveClient, rate::RateLimiter, rate::Verdict};

impl ResolveClient for ClientIpResolver {
    fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        self.resolve_headers(peer.ip(), headers)
    }

    fn key(&self, client: IpAddr) -> String {
        ClientIpResolver::key(self, client).to_string()
    }

    fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.is_trusted(peer)
    }
}

/// A palisade-ratelimit [`Limiter`] (the in-process `MemoryBackend`, or the fleet-wide
/// `RedisLimiter` with its failure policy) checked against one [`Policy`], as a
/// [`RateLimiter`]: every answer carries `RateLimit` and `RateLimit-Policy` (and the legacy
/// `X-RateLimit-*` fields with [`legacy_fields`](Self::legacy_fields)).
pub struct PolicyLimiter<L> {
    limiter: Arc<L>,
    policy: Policy,
    options: HeaderOptions,
}

impl<L> fmt::Debug for PolicyLimiter<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyLimiter")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<L: Limiter + 'static> PolicyLimiter<L> {
    /// Checks each request against `policy` on `limiter` (shared with other policies, so one
    /// backend's key cap covers them all), at a cost of one.
    pub fn new(limiter: Arc<L>, policy: Policy) -> Self {
        Self {
            limiter,
            policy,
            options: HeaderOptions::default(),
        }
    }

    /// Also send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`.
    #[must_use]
    pub fn legacy_fields(mut self, on: bool) -> Self {
        self.options.legacy = on;
        self
    }
}

impl<L: Limiter + 'static> RateLimiter for PolicyLimiter<L> {
    async fn check(&self, key: &str) -> Verdict {
        let decision = self
            .limiter
            .decide(key, &self.policy, NonZeroU32::MIN)
            .await;
        let fields =
            palisade_ratelimit::headers::decision_fields(&self.policy, &decision, self.options)
                .into_iter()
                .filter_map(|(name, value)| {
                    let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                    // The layer writes Retry-After itself, rounded up to whole seconds.
                    if name == header::RETRY_AFTER {
                        return None;
                    }
                    Some((name, HeaderValue::from_str(&value).ok()?))
                })
                .collect();
        if decision.allowed {
            Verdict::allow(fields)
        } else {
            // A cost over the burst can never pass: ask for the full reset.
            Verdict::deny(fields, decision.retry_after.unwrap_or(decision.reset))
        }
    }
}
