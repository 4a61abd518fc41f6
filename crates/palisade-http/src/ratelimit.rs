//! palisade-ratelimit behind [`RateLimitLayer`](crate::RateLimitLayer) and
//! [`ClientIpLayer`](crate::ClientIpLayer).

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue, header};
use palisade_ratelimit::{
    Decision, Limiter, Policy, client_ip::ClientIpResolver, headers::HeaderOptions,
};

use crate::{client_layer::ResolveClient, rate::RateLimiter, rate::Verdict};

impl ResolveClient for ClientIpResolver {
    fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        self.resolve_headers(peer.ip(), headers)
    }

    fn key(&self, client: IpAddr) -> String {
        let key = ClientIpResolver::key(self, client);
        let whole = if key.network().is_ipv4() { 32 } else { 128 };
        if key.prefix() == whole {
            // The key's `Display` writes a whole address as the address alone.
            crate::client::ip_text(key.network())
        } else {
            key.to_string()
        }
    }

    fn shared_key(&self, client: IpAddr) -> Arc<str> {
        let key = ClientIpResolver::key(self, client);
        let whole = if key.network().is_ipv4() { 32 } else { 128 };
        if key.prefix() == whole {
            crate::client::ip_arc(key.network(), None)
        } else {
            Arc::from(key.to_string())
        }
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
    /// `RateLimit-Policy` and the start of `RateLimit` (`"name";r=`), worked out once from
    /// palisade-ratelimit's own formatting; `None` if the policy's fields are not valid
    /// header values (then every answer takes the general path).
    fixed: Option<(HeaderValue, String)>,
}

/// The parts of an allowed answer's fields that depend on the policy only.
fn fixed_fields(policy: &Policy) -> Option<(HeaderValue, String)> {
    let probe = Decision {
        allowed: true,
        limit: policy.limit(),
        remaining: 0,
        reset: Duration::ZERO,
        retry_after: None,
    };
    let fields =
        palisade_ratelimit::headers::decision_fields(policy, &probe, HeaderOptions::default());
    let field = |wanted: &str| {
        fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    };
    let policy_value = HeaderValue::from_str(field("RateLimit-Policy")?).ok()?;
    // `"name";r=0;t=0`: everything before the remaining count is fixed.
    let limit = field("RateLimit")?;
    let prefix = limit.strip_suffix("0;t=0")?;
    HeaderValue::from_str(limit).ok()?;
    Some((policy_value, prefix.to_owned()))
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
            fixed: fixed_fields(&policy),
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

impl<L> PolicyLimiter<L> {
    /// The verdict and its fields for `decision`.
    fn verdict(&self, decision: &Decision) -> Verdict {
        if decision.allowed
            && !self.options.legacy
            && let Some((policy, prefix)) = &self.fixed
            && let Some(limit) = limit_value(prefix, decision)
        {
            // The common answer: the same fields as below, without parsing names and values.
            return Verdict::allow_policy(policy.clone(), limit);
        }
        let fields =
            palisade_ratelimit::headers::decision_fields(&self.policy, decision, self.options)
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

/// `RateLimit`'s value, `"name";r=<remaining>;t=<seconds to full reset, rounded up>`, as
/// palisade-ratelimit writes it.
fn limit_value(prefix: &str, decision: &Decision) -> Option<HeaderValue> {
    let reset = decision.reset;
    let secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    // Written on the stack and copied once into the value, without `core::fmt`.
    let mut value = [0u8; 128];
    let mut len = 0;
    let mut push = |bytes: &[u8]| -> Option<()> {
        value
            .get_mut(len..len + bytes.len())?
            .copy_from_slice(bytes);
        len += bytes.len();
        Some(())
    };
    push(prefix.as_bytes())?;
    push(decimal(u64::from(decision.remaining), &mut [0; 20]))?;
    push(b";t=")?;
    push(decimal(secs, &mut [0; 20]))?;
    HeaderValue::from_bytes(&value[..len]).ok()
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        // A digit: `n % 10` is below 10.
        buf[start] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

impl<L: Limiter + 'static> RateLimiter for PolicyLimiter<L> {
    async fn check(&self, key: &str) -> Verdict {
        let decision = self
            .limiter
            .decide(key, &self.policy, NonZeroU32::MIN)
            .await;
        self.verdict(&decision)
    }

    /// palisade-ratelimit's in-process
    /// [`MemoryBackend`](palisade_ratelimit::MemoryBackend) decides without I/O, alone or
    /// inside another limiter ([`Limiter::in_process`], e.g. its `AnyLimiter` configured
    /// without Redis): the same decision its [`Limiter::decide`] returns, taken at once.
    fn check_now(&self, key: &str) -> Option<Verdict> {
        let memory = self.limiter.in_process()?;
        Some(self.verdict(&memory.check_n(key, &self.policy, NonZeroU32::MIN)))
    }
}

#[cfg(test)]
mod tests {
    use palisade_ratelimit::MemoryBackend;

    use super::*;

    /// The fields of the general path, where palisade-ratelimit formats every value.
    fn general(policy: &Policy, decision: &Decision) -> Vec<(HeaderName, HeaderValue)> {
        let limiter = PolicyLimiter {
            limiter: Arc::new(MemoryBackend::default()),
            policy: policy.clone(),
            options: HeaderOptions::default(),
            fixed: None,
        };
        limiter.verdict(decision).fields.to_vec()
    }

    proptest::proptest! {
        #[test]
        fn precomputed_fields_equal_palisade_ratelimit_formatting(
            name in "[a-z][a-z0-9_-]{0,20}",
            limit in 1u32..1_000_000,
            period_ms in 1u64..100_000_000,
            remaining in proptest::prop_oneof![0u32..1_000_000, proptest::num::u32::ANY],
            reset_ns in proptest::prop_oneof![0u64..200_000_000_000_000, proptest::num::u64::ANY],
        ) {
            let policy = Policy::new(&name, limit, Duration::from_millis(period_ms)).unwrap();
            let decision = Decision {
                allowed: true,
                limit,
                remaining,
                reset: Duration::from_nanos(reset_ns),
                retry_after: None,
            };
            let limiter = PolicyLimiter::new(Arc::new(MemoryBackend::default()), policy.clone());
            proptest::prop_assert!(limiter.fixed.is_some());
            let fast = limiter.verdict(&decision);
            proptest::prop_assert!(fast.is_allowed());
            proptest::prop_assert_eq!(fast.fields.to_vec(), general(&policy, &decision));
        }
    }

    proptest::proptest! {
        #[test]
        fn client_keys_are_written_as_palisade_ratelimit_writes_them(
            v4 in proptest::num::u32::ANY,
            v6 in proptest::num::u128::ANY,
            v4_prefix in proptest::prop_oneof![0u8..=32, proptest::strategy::Just(32u8)],
            v6_prefix in proptest::prop_oneof![0u8..=128, proptest::strategy::Just(128u8)],
        ) {
            let resolver = ClientIpResolver::new([], palisade_ratelimit::client_ip::ForwardedHeader::Forwarded)
                .unwrap()
                .with_ipv4_prefix(v4_prefix)
                .unwrap()
                .with_ipv6_prefix(v6_prefix)
                .unwrap();
            for ip in [IpAddr::from(std::net::Ipv4Addr::from(v4)), IpAddr::from(std::net::Ipv6Addr::from(v6))] {
                proptest::prop_assert_eq!(
                    ResolveClient::key(&resolver, ip),
                    ClientIpResolver::key(&resolver, ip).to_string()
                );
                proptest::prop_assert_eq!(
                    &*ResolveClient::shared_key(&resolver, ip),
                    ClientIpResolver::key(&resolver, ip).to_string()
                );
                proptest::prop_assert_eq!(
                    &*ResolveClient::shared_key(&crate::PeerOnly, ip),
                    ip.to_string()
                );
            }
        }
    }

    #[test]
    fn the_in_process_backend_decides_at_once_and_counts_as_check_does() {
        let backend = Arc::new(MemoryBackend::default());
        let policy = Policy::new("two", 2, Duration::from_secs(60)).unwrap();
        let limiter = PolicyLimiter::new(backend, policy);
        let first = limiter.check_now("ip:192.0.2.1").expect("in process");
        assert!(first.is_allowed());
        let second = limiter.check_now("ip:192.0.2.1").expect("in process");
        assert!(second.is_allowed());
        let third = limiter.check_now("ip:192.0.2.1").expect("in process");
        assert!(!third.is_allowed(), "the third request of two is refused");
    }
}
