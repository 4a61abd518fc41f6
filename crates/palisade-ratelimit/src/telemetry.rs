//! Metrics (through the `metrics` facade, feature `metrics`) and tracing events.
//!
//! Without the feature every function here is empty and every handle is zero-sized: the
//! decision paths compile to what they were before metrics. With it, the in-process backend's
//! handles are registered when a policy is first used, so install the metrics recorder before
//! the first check.
//!
//! Labels come only from closed sets (`outcome`, `backend`, `fallback`, `scope`, `kind`) and
//! from policy names, which the operator chooses; never from a key, an account or an address.

use crate::decision::Decision;
#[cfg(feature = "metrics")]
use metrics::Counter;

/// Decisions counted per policy and backend.
pub(crate) struct PolicyMetrics {
    #[cfg(feature = "metrics")]
    allowed: Counter,
    #[cfg(feature = "metrics")]
    denied: Counter,
    #[cfg(feature = "metrics")]
    untracked: Counter,
}

impl PolicyMetrics {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(policy: &str, backend: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            let policy = policy.to_owned();
            Self {
                allowed: metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.clone(), "backend" => backend, "outcome" => "allowed"),
                denied: metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.clone(), "backend" => backend, "outcome" => "denied"),
                untracked: metrics::counter!("palisade_ratelimit_untracked_keys_total", "policy" => policy, "backend" => backend),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables, clippy::unused_self))]
    pub(crate) fn record(&self, decision: &Decision) {
        #[cfg(feature = "metrics")]
        if decision.allowed {
            self.allowed.increment(1);
        } else {
            self.denied.increment(1);
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn untracked(&self) {
        #[cfg(feature = "metrics")]
        self.untracked.increment(1);
    }
}

/// A policy in shadow mode denied: counted and logged, not enforced.
pub(crate) fn shadow_denied(policy: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_shadow_denials_total", "policy" => policy.to_owned())
        .increment(1);
    tracing::debug!(target: "palisade_ratelimit", policy, "shadow policy would deny");
}

/// A login failure settled (wrong password or unknown account).
pub(crate) fn login_failure() {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_login_failures_total").increment(1);
}

/// A login attempt refused by a hard limit; `scope` is [`Scope::as_str`](crate::login::Scope::as_str).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn lockout(scope: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_lockouts_total", "scope" => scope).increment(1);
}

/// A [`SuspiciousActivity`](crate::login::SuspiciousActivity) event, by its kind.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn suspicious(kind: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_suspicious_total", "kind" => kind).increment(1);
}

#[cfg(feature = "redis")]
/// A decision the shared store took. Registered per call: next to the round trip to Redis,
/// the registry lookup costs nothing worth caching.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn redis_decision(policy: &str, decision: &Decision) {
    #[cfg(feature = "metrics")]
    {
        let outcome = if decision.allowed {
            "allowed"
        } else {
            "denied"
        };
        metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.to_owned(), "backend" => "redis", "outcome" => outcome)
            .increment(1);
    }
}

#[cfg(feature = "redis")]
/// One round trip to Redis (a script call), timed from [`start`](Self::start) to
/// [`end`](Self::end), answered or not. Without the feature it reads no clock.
pub(crate) struct RoundTrip {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

#[cfg(feature = "redis")]
impl RoundTrip {
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(clippy::unused_self))]
    pub(crate) fn end(self) {
        #[cfg(feature = "metrics")]
        metrics::histogram!("palisade_ratelimit_backend_duration_seconds", "backend" => "redis")
            .record(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(feature = "redis")]
/// A decision taken while the shared store was unreachable.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn backend_error(policy: &str, fallback: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_backend_errors_total", "policy" => policy.to_owned(), "fallback" => fallback)
        .increment(1);
}

#[cfg(feature = "redis")]
/// A request answered from the local cache of denied keys.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn denied_cache_hit(policy: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("palisade_ratelimit_denied_cache_hits_total", "policy" => policy.to_owned())
        .increment(1);
}
