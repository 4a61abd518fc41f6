//! Several policies evaluated together (per IP, per user, per route class), with shadow mode.

use std::num::NonZeroU32;

use crate::{
    Limiter,
    decision::Decision,
    memory::MemoryBackend,
    policy::{Mode, Policy},
};

/// One policy applied to one key, e.g. `("per-ip", "203.0.113.7")`.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The key it limits.
    pub key: &'a str,
}

impl<'a> Rule<'a> {
    /// A rule.
    pub fn new(policy: &'a Policy, key: &'a str) -> Self {
        Self { policy, key }
    }
}

/// One rule's decision.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The policy that decided.
    pub policy: Policy,
    /// Its decision.
    pub decision: Decision,
    /// False for a policy in [`Mode::Shadow`]: its decision was only reported.
    pub enforced: bool,
}

/// The combined outcome of several rules.
#[derive(Debug, Clone)]
#[must_use]
pub struct Verdict {
    /// Whether every enforced rule admitted the request.
    pub allowed: bool,
    /// Every rule's decision, in the order given.
    pub checks: Vec<Checked>,
}

impl Verdict {
    fn from_checks(checks: Vec<Checked>) -> Self {
        let allowed = checks.iter().all(|c| !c.enforced || c.decision.allowed);
        Self { allowed, checks }
    }

    /// The rule to report to the client: among enforced rules, the denial with the longest
    /// retry-after, or else the one with the fewest requests remaining.
    pub fn binding(&self) -> Option<&Checked> {
        let enforced = self.checks.iter().filter(|c| c.enforced);
        if self.allowed {
            enforced.min_by_key(|c| (c.decision.remaining, std::cmp::Reverse(c.decision.reset)))
        } else {
            enforced
                .filter(|c| !c.decision.allowed)
                .max_by_key(|c| c.decision.retry_after.unwrap_or(std::time::Duration::MAX))
        }
    }

    /// Shadow-mode rules that would have denied.
    pub fn shadow_denials(&self) -> impl Iterator<Item = &Checked> {
        self.checks
            .iter()
            .filter(|c| !c.enforced && !c.decision.allowed)
    }
}

fn checked(policy: &Policy, decision: Decision) -> Checked {
    let enforced = policy.mode() != Mode::Shadow;
    if !enforced && !decision.allowed {
        crate::telemetry::shadow_denied(policy.name());
    }
    Checked {
        policy: policy.clone(),
        decision,
        enforced,
    }
}

/// Evaluates every rule with `limiter`. Every rule is charged, so a denied request still
/// counts against the rules that admitted it (an attempt is an attempt).
pub async fn evaluate<L: Limiter>(limiter: &L, rules: &[Rule<'_>], cost: NonZeroU32) -> Verdict {
    let mut checks = Vec::with_capacity(rules.len());
    for rule in rules {
        let decision = limiter.decide(rule.key, rule.policy, cost).await;
        checks.push(checked(rule.policy, decision));
    }
    Verdict::from_checks(checks)
}

/// [`evaluate`] for the in-process backend, without async.
pub fn evaluate_local(backend: &MemoryBackend, rules: &[Rule<'_>], cost: NonZeroU32) -> Verdict {
    let checks = rules
        .iter()
        .map(|rule| checked(rule.policy, backend.check_n(rule.key, rule.policy, cost)))
        .collect();
    Verdict::from_checks(checks)
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;
    use crate::{ManualClock, MemoryConfig};

    #[test]
    fn shadow_reports_without_denying_and_binding_is_the_denier() {
        let clock = ManualClock::new();
        let backend = MemoryBackend::with_clock(MemoryConfig::default(), Arc::new(clock));
        let ip = Policy::new("ip", 2, Duration::from_secs(1)).expect("policy");
        let user = Policy::new("user", 5, Duration::from_secs(1)).expect("policy");
        let trial = Policy::new("trial", 1, Duration::from_secs(1))
            .expect("policy")
            .with_mode(Mode::Shadow);
        let rules = [
            Rule::new(&ip, "198.51.100.1"),
            Rule::new(&user, "alice"),
            Rule::new(&trial, "alice"),
        ];
        let first = evaluate_local(&backend, &rules, NonZeroU32::MIN);
        assert!(first.allowed);
        assert_eq!(first.binding().map(|c| c.policy.name()), Some("ip"));
        let second = evaluate_local(&backend, &rules, NonZeroU32::MIN);
        assert!(
            second.allowed,
            "the shadow policy denies but is not enforced"
        );
        assert_eq!(second.shadow_denials().count(), 1);
        let third = evaluate_local(&backend, &rules, NonZeroU32::MIN);
        assert!(!third.allowed);
        assert_eq!(third.binding().map(|c| c.policy.name()), Some("ip"));
    }
}
