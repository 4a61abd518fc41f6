//! Store outages: one log line when the store goes away and one when it is back, however many
//! requests fail in between; every failed decision is counted.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::policy::FailurePolicy;

/// Tracks whether the shared store is reachable.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    down: AtomicBool,
}

impl Outage {
    /// A decision failed; logs only on the transition to "down".
    pub(crate) fn failed(&self, policy: &str, failure: FailurePolicy, kind: &'static str) {
        let fallback = match failure {
            FailurePolicy::Open => "open",
            FailurePolicy::Local => "local",
            _ => "closed",
        };
        crate::telemetry::backend_error(policy, fallback);
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                target: "palisade_ratelimit",
                error = kind,
                "rate-limit store unreachable; applying each policy's failure policy until it answers again"
            );
        }
    }

    /// A decision succeeded; logs only on the transition back to "up".
    pub(crate) fn succeeded(&self) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::AcqRel) {
            tracing::info!(target: "palisade_ratelimit", "rate-limit store reachable again");
        }
    }

    /// Whether the last decision failed.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }
}
