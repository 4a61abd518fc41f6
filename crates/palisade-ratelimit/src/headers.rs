//! Response metadata as name/value pairs for any framework: the IETF `RateLimit` and
//! `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers, structured-field lists of
//! string items with `q`/`w` and `r`/`t` parameters), `Retry-After`, and optionally the legacy
//! `X-RateLimit-*` names.

use std::{fmt::Write as _, time::Duration};

use crate::{decision::Decision, multi::Verdict, policy::Policy};

/// Which fields to produce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderOptions {
    /// Also produce `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
    /// (seconds until the limit is fully restored).
    pub legacy: bool,
}

impl HeaderOptions {
    /// With the legacy `X-RateLimit-*` fields.
    #[must_use]
    pub fn with_legacy(mut self) -> Self {
        self.legacy = true;
        self
    }
}

/// Whole seconds, rounded up: a client told to wait 0.2 s waits 1 s rather than 0.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// One `RateLimit-Policy` list member: `"name";q=limit;w=seconds`.
fn policy_item(out: &mut String, policy: &Policy) {
    // Policy names are restricted to characters that need no escaping in an sf-string.
    let _ = write!(
        out,
        "\"{}\";q={};w={}",
        policy.name(),
        policy.limit(),
        ceil_secs(policy.period()).max(1)
    );
}

/// One `RateLimit` list member: `"name";r=remaining;t=seconds`.
fn limit_item(out: &mut String, policy: &Policy, decision: &Decision) {
    let _ = write!(
        out,
        "\"{}\";r={};t={}",
        policy.name(),
        decision.remaining,
        ceil_secs(decision.reset)
    );
}

fn push_retry_and_legacy(
    fields: &mut Vec<(&'static str, String)>,
    decision: &Decision,
    options: HeaderOptions,
) {
    if !decision.allowed
        && let Some(retry) = decision.retry_after
    {
        // At least 1: `Retry-After: 0` on a denial invites a retry that is denied again.
        fields.push(("Retry-After", ceil_secs(retry).max(1).to_string()));
    }
    if options.legacy {
        fields.push(("X-RateLimit-Limit", decision.limit.to_string()));
        fields.push(("X-RateLimit-Remaining", decision.remaining.to_string()));
        fields.push(("X-RateLimit-Reset", ceil_secs(decision.reset).to_string()));
    }
}

/// The fields describing one policy's decision.
pub fn decision_fields(
    policy: &Policy,
    decision: &Decision,
    options: HeaderOptions,
) -> Vec<(&'static str, String)> {
    let mut fields = Vec::with_capacity(5);
    let mut value = String::new();
    policy_item(&mut value, policy);
    fields.push(("RateLimit-Policy", value));
    let mut value = String::new();
    limit_item(&mut value, policy, decision);
    fields.push(("RateLimit", value));
    push_retry_and_legacy(&mut fields, decision, options);
    fields
}

/// The fields describing a combined verdict: every enforced policy in `RateLimit-Policy` and
/// `RateLimit`; `Retry-After` and the legacy fields from the binding policy. Shadow policies
/// are never shown to clients.
pub fn verdict_fields(verdict: &Verdict, options: HeaderOptions) -> Vec<(&'static str, String)> {
    let enforced: Vec<_> = verdict.checks.iter().filter(|c| c.enforced).collect();
    if enforced.is_empty() {
        return Vec::new();
    }
    let mut policies = String::new();
    let mut limits = String::new();
    for (i, c) in enforced.iter().enumerate() {
        if i > 0 {
            policies.push_str(", ");
            limits.push_str(", ");
        }
        policy_item(&mut policies, &c.policy);
        limit_item(&mut limits, &c.policy, &c.decision);
    }
    let mut fields = vec![("RateLimit-Policy", policies), ("RateLimit", limits)];
    if let Some(binding) = verdict.binding() {
        push_retry_and_legacy(&mut fields, &binding.decision, options);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_fields() {
        let policy = Policy::new("api", 100, Duration::from_secs(60)).expect("policy");
        let denied = Decision {
            allowed: false,
            limit: 100,
            remaining: 0,
            reset: Duration::from_millis(30_200),
            retry_after: Some(Duration::from_millis(600)),
        };
        let fields = decision_fields(&policy, &denied, HeaderOptions::default().with_legacy());
        assert_eq!(
            fields,
            vec![
                ("RateLimit-Policy", "\"api\";q=100;w=60".to_owned()),
                ("RateLimit", "\"api\";r=0;t=31".to_owned()),
                ("Retry-After", "1".to_owned()),
                ("X-RateLimit-Limit", "100".to_owned()),
                ("X-RateLimit-Remaining", "0".to_owned()),
                ("X-RateLimit-Reset", "31".to_owned()),
            ]
        );
        let allowed = Decision {
            allowed: true,
            retry_after: None,
            remaining: 7,
            ..denied
        };
        let fields = decision_fields(&policy, &allowed, HeaderOptions::default());
        assert_eq!(
            fields.len(),
            2,
            "no Retry-After, no legacy fields: {fields:?}"
        );
    }
}
