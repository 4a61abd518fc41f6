//! The README's "Metrics go through the `metrics` facade" list, checked against what is
//! emitted: every metric it names appears under that name with exactly the labels it lists,
//! with the label values it gives, and nothing is emitted that it does not name.

#![cfg(feature = "metrics")]

mod recorder;

use std::{collections::BTreeSet, num::NonZeroU32, time::Duration};

use palisade_ratelimit::{
    MemoryBackend, MemoryConfig, Mode, Policy, WhenFull,
    client_ip::{ClientIpResolver, ForwardedHeader},
    login::{Admission, HardLimit, LoginPolicy, LoginThrottle, MemoryLoginStore, Scope},
    multi::{Rule, evaluate_local},
};
use recorder::{counters, recorder, value};

/// `name{label,...}` items in the README, as (name, label keys).
fn documented() -> Vec<(String, BTreeSet<String>)> {
    let readme = include_str!("../README.md");
    let mut out = Vec::new();
    for item in readme.split('`').skip(1).step_by(2) {
        let Some(rest) = item.strip_prefix("palisade_ratelimit_") else {
            continue;
        };
        let (name, labels) = match rest.split_once('{') {
            Some((name, labels)) => (
                name,
                labels
                    .trim_end_matches('}')
                    .split(',')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect(),
            ),
            None => (rest, BTreeSet::new()),
        };
        out.push((format!("palisade_ratelimit_{name}"), labels));
    }
    assert!(out.len() >= 6, "the README lists the metrics: {out:?}");
    out
}

/// Every counter and histogram emitted so far, as (name, label keys).
fn emitted() -> Vec<(String, BTreeSet<String>)> {
    counters()
        .into_iter()
        .map(|(rendered, _)| {
            let (name, labels) = rendered
                .trim_end_matches('}')
                .split_once('{')
                .map(|(n, l)| (n.to_owned(), l.to_owned()))
                .expect("rendered as name{labels}");
            let keys = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()))
                .collect();
            (name, keys)
        })
        .collect()
}

/// Everything that emits a metric without a shared store, once per process (the tests of
/// one binary share the recorder).
fn exercise_in_process() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(exercise_in_process_once);
}

fn exercise_in_process_once() {
    let backend = MemoryBackend::default();
    let policy = Policy::new("names-memory", 1, Duration::from_secs(60)).expect("policy");
    assert!(backend.check("k", &policy).allowed);
    assert!(!backend.check("k", &policy).allowed);

    // A full store that admits untracked keys.
    let full = MemoryBackend::new(
        MemoryConfig::default()
            .max_keys(1)
            .when_full(WhenFull::Admit),
    );
    let untracked = Policy::new("names-untracked", 10, Duration::from_secs(60)).expect("policy");
    assert!(full.check("first", &untracked).allowed);
    assert!(full.check("second", &untracked).allowed);

    let shadow = Policy::new("names-shadow", 1, Duration::from_secs(60))
        .expect("policy")
        .with_mode(Mode::Shadow);
    let rules = [Rule::new(&shadow, "k")];
    for _ in 0..2 {
        let verdict = evaluate_local(&backend, &rules, NonZeroU32::MIN);
        assert!(verdict.allowed, "shadow mode never denies");
    }

    let throttle = LoginThrottle::new(MemoryLoginStore::new(100), LoginPolicy::default());
    let client = ClientIpResolver::new([], ForwardedHeader::Forwarded)
        .expect("resolver")
        .key("203.0.113.7".parse().expect("address"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        match throttle.begin("alice", &client, None).await {
            Ok(Admission::Admitted(attempt)) => {
                let failure = attempt.fail();
                assert!(!failure.limit_reached, "one failure is free");
            }
            other => panic!("the first attempt is admitted: {other:?}"),
        }
        // A client network that reaches its hard limit: one suspicious event, one lockout.
        let mut policy = LoginPolicy::default();
        policy.client = HardLimit {
            failures: 1,
            lockout: Duration::from_secs(60),
        };
        let strict = LoginThrottle::new(MemoryLoginStore::new(100), policy);
        for account in ["carol", "dave"] {
            match strict.begin(account, &client, None).await {
                Ok(Admission::Admitted(attempt)) => {
                    let _ = attempt.fail();
                }
                Ok(Admission::Refused(refusal)) => {
                    assert_eq!(refusal.scope, Scope::Client);
                }
                Err(e) => panic!("memory store: {e}"),
            }
        }
        // An account failing from ten networks: under attack, never locked.
        for i in 0..10 {
            let from = ClientIpResolver::new([], ForwardedHeader::Forwarded)
                .expect("resolver")
                .key(format!("192.0.2.{i}").parse().expect("address"));
            if let Ok(Admission::Admitted(attempt)) = throttle.begin("erin", &from, None).await {
                let _ = attempt.fail();
            }
        }
    });
}

fn assert_in_process_counts() {
    for (rendered, count) in [
        (
            "palisade_ratelimit_decisions_total{backend=memory,outcome=allowed,policy=names-memory}",
            1,
        ),
        (
            "palisade_ratelimit_decisions_total{backend=memory,outcome=denied,policy=names-memory}",
            1,
        ),
        (
            "palisade_ratelimit_untracked_keys_total{backend=memory,policy=names-untracked}",
            1,
        ),
        (
            "palisade_ratelimit_shadow_denials_total{policy=names-shadow}",
            1,
        ),
    ] {
        assert_eq!(value(rendered), count, "{rendered}: {:?}", counters());
    }
    assert!(value("palisade_ratelimit_login_failures_total{}") >= 1);
    assert_eq!(value("palisade_ratelimit_lockouts_total{scope=client}"), 1);
    assert_eq!(
        value("palisade_ratelimit_suspicious_total{kind=client_throttled}"),
        1
    );
    assert_eq!(
        value("palisade_ratelimit_suspicious_total{kind=account_under_attack}"),
        1
    );
}

/// Every emitted counter is documented, with exactly the documented labels.
fn assert_emitted_are_documented() {
    let documented = documented();
    for (name, labels) in emitted() {
        let doc = documented.iter().find(|(n, _)| *n == name);
        assert_eq!(
            doc.map(|(_, l)| l),
            Some(&labels),
            "{name} is emitted with labels {labels:?}; the README lists {doc:?}"
        );
    }
}

#[test]
fn in_process_metrics_have_the_documented_names_and_labels() {
    recorder();
    exercise_in_process();
    assert_in_process_counts();
    assert_emitted_are_documented();
}

#[cfg(feature = "redis")]
#[test]
fn every_documented_metric_is_emitted_with_its_labels() {
    use palisade_ratelimit::{
        FailurePolicy,
        redis::{RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig},
    };

    recorder();
    exercise_in_process();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut redis = palisade_testkit::RedisServer::start().expect("redis-server");
        let limiter = RedisLimiter::new(
            RedisBackend::new(&redis.url(), RedisConfig::default()).expect("url"),
            RedisLimiterConfig::default(),
        );
        let policy = Policy::new("names-redis", 1, Duration::from_secs(60)).expect("policy");
        assert!(limiter.check("k", &policy).await.allowed);
        assert!(!limiter.check("k", &policy).await.allowed);
        // Answered by the local cache of denied keys, not by Redis.
        assert!(!limiter.check("k", &policy).await.allowed);
        redis.stop();
        for (name, failure) in [
            ("names-open", FailurePolicy::Open),
            ("names-closed", FailurePolicy::Closed),
            ("names-local", FailurePolicy::Local),
        ] {
            let policy = Policy::new(name, 5, Duration::from_secs(60))
                .expect("policy")
                .with_failure_policy(failure);
            let _ = limiter.check("k", &policy).await;
        }
    });

    assert_in_process_counts();
    for (rendered, count) in [
        (
            "palisade_ratelimit_decisions_total{backend=redis,outcome=allowed,policy=names-redis}",
            1,
        ),
        (
            "palisade_ratelimit_decisions_total{backend=redis,outcome=denied,policy=names-redis}",
            1,
        ),
        (
            "palisade_ratelimit_denied_cache_hits_total{policy=names-redis}",
            1,
        ),
        (
            "palisade_ratelimit_backend_errors_total{fallback=open,policy=names-open}",
            1,
        ),
        (
            "palisade_ratelimit_backend_errors_total{fallback=closed,policy=names-closed}",
            1,
        ),
        (
            "palisade_ratelimit_backend_errors_total{fallback=local,policy=names-local}",
            1,
        ),
        // Two answered round trips and three that failed.
        (
            "palisade_ratelimit_backend_duration_seconds{backend=redis}",
            5,
        ),
        // The local fallback decides in process, and is counted as such.
        (
            "palisade_ratelimit_decisions_total{backend=memory,outcome=allowed,policy=names-local}",
            1,
        ),
    ] {
        assert_eq!(value(rendered), count, "{rendered}: {:?}", counters());
    }
    assert_emitted_are_documented();
    let emitted = emitted();
    for (name, labels) in documented() {
        assert!(
            emitted.iter().any(|(n, l)| *n == name && *l == labels),
            "the README lists {name}{labels:?}, which was never emitted: {emitted:?}"
        );
    }
}
