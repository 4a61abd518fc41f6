//! Metrics (through the `metrics` facade) and tracing events.
//!
//! Metric handles are registered when a policy is first used, so install the metrics recorder
//! before the first check.

use metrics::Counter;

use crate::decision::Decision;

/// Decisions counted per policy and backend.
pub(crate) struct PolicyMetrics {
    allowed: Counter,
    denied: Counter,
    untracked: Counter,
}

impl PolicyMetrics {
    pub(crate) fn new(policy: &str, backend: &'static str) -> Self {
        let policy = policy.to_owned();
        Self {
            allowed: metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.clone(), "backend" => backend, "outcome" => "allowed"),
            denied: metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.clone(), "backend" => backend, "outcome" => "denied"),
            untracked: metrics::counter!("palisade_ratelimit_untracked_keys_total", "policy" => policy, "backend" => backend),
        }
    }

    pub(crate) fn record(&self, decision: &Decision) {
        if decision.allowed {
            self.allowed.increment(1);
        } else {
            self.denied.increment(1);
        }
    }

    pub(crate) fn untracked(&self) {
        self.untracked.increment(1);
    }
}

/// A policy in shadow mode denied: counted and logged, not enforced.
pub(crate) fn shadow_denied(policy: &str) {
    metrics::counter!("palisade_ratelimit_shadow_denials_total", "policy" => policy.to_owned())
        .increment(1);
    tracing::debug!(target: "palisade_ratelimit", policy, "shadow policy would deny");
}

#[cfg(feature = "redis")]
/// A decision the shared store took. Registered per call: next to the round trip to Redis,
/// the registry lookup costs nothing worth caching.
pub(crate) fn redis_decision(policy: &str, decision: &Decision) {
    let outcome = if decision.allowed {
        "allowed"
    } else {
        "denied"
    };
    metrics::counter!("palisade_ratelimit_decisions_total", "policy" => policy.to_owned(), "backend" => "redis", "outcome" => outcome)
        .increment(1);
}

#[cfg(feature = "redis")]
/// A decision taken while the shared store was unreachable.
pub(crate) fn backend_error(policy: &str, fallback: &'static str) {
    metrics::counter!("palisade_ratelimit_backend_errors_total", "policy" => policy.to_owned(), "fallback" => fallback)
        .increment(1);
}

#[cfg(feature = "redis")]
/// A request answered from the local cache of denied keys.
pub(crate) fn denied_cache_hit(policy: &str) {
    metrics::counter!("palisade_ratelimit_denied_cache_hits_total", "policy" => policy.to_owned())
        .increment(1);
}
