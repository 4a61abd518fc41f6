//! The in-process backend: shared vectors, the key cap, cleanup, concurrency, invariants.

mod common;

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    thread,
    time::Duration,
};

use palisade_ratelimit::{ManualClock, MemoryBackend, MemoryConfig, Policy, WhenFull};
use proptest::prelude::*;

fn backend(clock: &ManualClock, config: MemoryConfig) -> MemoryBackend {
    MemoryBackend::with_clock(config, Arc::new(clock.clone()))
}

fn cost(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("vector costs are positive")
}

#[test]
fn shared_vectors() {
    let mut steps = 0;
    for case in common::cases() {
        let clock = ManualClock::new();
        let backend = backend(&clock, MemoryConfig::default());
        for step in &case.steps {
            clock.set(Duration::from_millis(step.at_ms));
            let got = backend.check_n("k", &case.policy, cost(step.cost));
            assert_eq!(got, step.expected, "{} line {}", case.name, step.line);
            steps += 1;
        }
    }
    assert!(steps > 200);
}

#[test]
fn triggers_and_resets_with_manual_clock() {
    let clock = ManualClock::new();
    let backend = backend(&clock, MemoryConfig::default());
    let policy = Policy::new("login-form", 3, Duration::from_secs(3)).expect("policy");
    for left in [2, 1, 0] {
        let d = backend.check("ip", &policy);
        assert!(d.allowed);
        assert_eq!(d.remaining, left);
    }
    let denied = backend.check("ip", &policy);
    assert!(!denied.allowed);
    assert_eq!(denied.retry_after, Some(Duration::from_secs(1)));
    assert!(
        backend.check("other-ip", &policy).allowed,
        "keys are independent"
    );
    clock.advance(Duration::from_secs(3));
    let d = backend.check("ip", &policy);
    assert!(d.allowed);
    assert_eq!(d.remaining, 2, "fully reset after the period");
}

#[test]
fn cost_above_burst_never_admitted() {
    let clock = ManualClock::new();
    let backend = backend(&clock, MemoryConfig::default());
    let policy = Policy::new("p", 5, Duration::from_secs(1)).expect("policy");
    let d = backend.check_n("k", &policy, cost(6));
    assert!(!d.allowed);
    assert_eq!(d.retry_after, None);
    assert_eq!(d.remaining, 5, "nothing was consumed");
}

#[test]
fn flood_of_distinct_keys_stays_under_cap() {
    let clock = ManualClock::new();
    let backend = backend(&clock, MemoryConfig::default().max_keys(1000));
    let policy = Policy::new("flood", 10, Duration::from_secs(60)).expect("policy");
    let victim = Policy::new("victim", 2, Duration::from_secs(60)).expect("policy");
    assert!(backend.check("victim", &victim).allowed);
    assert!(backend.check("victim", &victim).allowed);
    let mut denied_new = 0;
    for i in 0..50_000 {
        if !backend.check(&format!("attacker-{i}"), &policy).allowed {
            denied_new += 1;
        }
        assert!(backend.len() <= 1000);
    }
    assert_eq!(backend.len(), backend.count_entries());
    assert!(
        denied_new >= 49_000,
        "new keys are denied while full: {denied_new}"
    );
    // The flood could not evict the victim's state and so reset its limit.
    assert!(!backend.check("victim", &victim).allowed);
    // Once the flood's entries expire they are swept and new keys fit again.
    clock.advance(Duration::from_secs(61));
    for i in 0..999 {
        assert!(
            backend.check(&format!("later-{i}"), &policy).allowed,
            "key {i}"
        );
        assert!(backend.len() <= 1000);
    }
}

#[test]
fn full_store_can_admit_untracked_when_configured() {
    let clock = ManualClock::new();
    let backend = backend(
        &clock,
        MemoryConfig::default()
            .max_keys(10)
            .when_full(WhenFull::Admit),
    );
    let policy = Policy::new("p", 1, Duration::from_secs(60)).expect("policy");
    for i in 0..100 {
        assert!(backend.check(&i.to_string(), &policy).allowed);
    }
    assert_eq!(backend.len(), 10);
}

#[test]
fn expired_keys_are_cleaned_incrementally() {
    let clock = ManualClock::new();
    let backend = backend(&clock, MemoryConfig::default().max_keys(100_000));
    let policy = Policy::new("p", 5, Duration::from_secs(1)).expect("policy");
    for i in 0..20_000 {
        let _ = backend.check(&format!("a{i}"), &policy);
    }
    assert_eq!(backend.len(), 20_000);
    clock.advance(Duration::from_secs(2));
    // Inserting new keys sweeps one shard every few inserts; no single call scans everything.
    for i in 0..20_000 {
        let _ = backend.check(&format!("b{i}"), &policy);
    }
    assert!(
        backend.len() < 40_000,
        "old entries swept: {}",
        backend.len()
    );
    assert_eq!(backend.len(), backend.count_entries());
}

#[test]
fn two_threads_on_one_key_never_over_admit() {
    let clock = ManualClock::new();
    let backend = Arc::new(backend(&clock, MemoryConfig::default()));
    let policy = Policy::new("hot", 100, Duration::from_secs(3600)).expect("policy");
    let admitted = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (backend, policy, admitted) = (backend.clone(), policy.clone(), admitted.clone());
            thread::spawn(move || {
                for _ in 0..10_000 {
                    if backend.check("one-key", &policy).allowed {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(admitted.load(Ordering::Relaxed), 100);
}

#[test]
fn real_clock_admits_and_denies() {
    let backend = MemoryBackend::default();
    let policy = Policy::new("p", 2, Duration::from_secs(60)).expect("policy");
    assert!(backend.check("k", &policy).allowed);
    assert!(backend.check("k", &policy).allowed);
    assert!(!backend.check("k", &policy).allowed);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// remaining never exceeds the burst, and over any run the admitted cost never exceeds
    /// burst + elapsed / interval.
    #[test]
    fn admitted_never_exceeds_burst_plus_rate(
        limit in 1u32..20,
        burst_extra in 0u32..10,
        steps in proptest::collection::vec((0u64..400, 1u32..5), 1..200),
    ) {
        let clock = ManualClock::new();
        let backend = backend(&clock, MemoryConfig::default());
        let burst = limit + burst_extra;
        let policy = Policy::new("p", limit, Duration::from_secs(1))
            .and_then(|p| p.with_burst(burst))
            .expect("policy");
        let interval = policy.interval().as_nanos() as u64;
        let mut elapsed = 0u64;
        let mut admitted = 0u64;
        for (gap_ms, c) in steps {
            clock.advance(Duration::from_millis(gap_ms));
            elapsed += gap_ms * 1_000_000;
            let d = backend.check_n("k", &policy, cost(c));
            prop_assert!(d.remaining <= burst);
            if d.allowed {
                admitted += u64::from(c);
                prop_assert!(d.retry_after.is_none());
            } else if c <= burst {
                prop_assert!(d.retry_after.is_some());
            }
            prop_assert!(admitted <= u64::from(burst) + elapsed / interval);
        }
    }
}

/// The integer GCRA model the vectors are generated from, written independently here.
fn model(tat: &mut Option<u64>, now: u64, cost: u64, t: u64, tau: u64) -> bool {
    let current = tat.unwrap_or(now);
    if t * (cost - 1) > tau || now + tau < current + t * (cost - 1) {
        return false;
    }
    *tat = Some(current.max(now) + t * cost);
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The governor-backed store decides exactly as the integer model, step by step.
    #[test]
    fn matches_the_integer_model(
        limit in 1u32..10,
        burst in 1u32..10,
        steps in proptest::collection::vec((0u64..300, 1u32..6), 1..100),
    ) {
        let clock = ManualClock::new();
        let backend = backend(&clock, MemoryConfig::default());
        let policy = Policy::new("p", limit, Duration::from_secs(1))
            .and_then(|p| p.with_burst(burst))
            .expect("policy");
        let t = policy.interval().as_nanos() as u64;
        let tau = t * u64::from(burst - 1);
        let mut tat = None;
        let mut now = 0;
        for (gap_ms, c) in steps {
            clock.advance(Duration::from_millis(gap_ms));
            now += gap_ms * 1_000_000;
            let expected = model(&mut tat, now, u64::from(c), t, tau);
            prop_assert_eq!(backend.check_n("k", &policy, cost(c)).allowed, expected);
        }
    }
}
