//! "`Retry-After`" in whole seconds, as HTTP requires: a fractional wait is rounded up, so a
//! client never retries early, and a denial never says 0, which would invite an immediate
//! retry that is denied again.

use std::{sync::Arc, time::Duration};

use palisade_ratelimit::{
    Decision, ManualClock, MemoryBackend, MemoryConfig, Policy,
    headers::{HeaderOptions, decision_fields},
};

fn retry_after(decision: &Decision) -> Option<String> {
    let policy = Policy::new("api", 3, Duration::from_secs(1)).expect("policy");
    decision_fields(&policy, decision, HeaderOptions::default())
        .into_iter()
        .find(|(name, _)| *name == "Retry-After")
        .map(|(_, value)| value)
}

fn denied(wait: Duration) -> Decision {
    Decision {
        allowed: false,
        limit: 3,
        remaining: 0,
        reset: wait,
        retry_after: Some(wait),
    }
}

#[test]
fn retry_after_rounds_a_fractional_wait_up_and_is_never_zero_while_denied() {
    for (wait, expected) in [
        (Duration::ZERO, "1"),
        (Duration::from_nanos(1), "1"),
        (Duration::from_micros(333_333), "1"),
        (Duration::from_nanos(999_999_999), "1"),
        (Duration::from_secs(1), "1"),
        (Duration::from_secs(1) + Duration::from_nanos(1), "2"),
        (Duration::from_millis(59_500), "60"),
        (Duration::from_secs(60), "60"),
    ] {
        assert_eq!(
            retry_after(&denied(wait)).as_deref(),
            Some(expected),
            "{wait:?}"
        );
    }
    let allowed = Decision {
        allowed: true,
        retry_after: None,
        ..denied(Duration::ZERO)
    };
    assert_eq!(
        retry_after(&allowed),
        None,
        "no Retry-After on an admitted request"
    );
}

#[test]
fn retry_after_from_a_real_denial_with_a_fractional_wait() {
    // 3 per second: one every 333 333 µs, so the wait after a denial is a fraction of a second.
    let clock = ManualClock::new();
    let backend = MemoryBackend::with_clock(MemoryConfig::default(), Arc::new(clock.clone()));
    let policy = Policy::new("api", 3, Duration::from_secs(1)).expect("policy");
    let mut denial = None;
    for _ in 0..10 {
        let decision = backend.check("k", &policy);
        if !decision.allowed {
            denial = Some(decision);
            break;
        }
    }
    let denial = denial.expect("the burst runs out");
    let wait = denial
        .retry_after
        .expect("a denial within the burst has a wait");
    assert!(
        wait > Duration::ZERO && wait < Duration::from_secs(1),
        "{wait:?}"
    );
    assert_eq!(retry_after(&denial).as_deref(), Some("1"));
}
