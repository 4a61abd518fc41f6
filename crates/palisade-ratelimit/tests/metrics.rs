//! The `metrics` feature, observed with `metrics-util`'s debugging recorder: names, types and
//! labels after real operations, and label cardinality under hostile input.
//!
//! Each test records into its own recorder, installed for the current thread only
//! (`metrics::with_local_recorder`), so the tests of this binary never see each other's counts.

#![cfg(feature = "metrics")]

use std::{net::IpAddr, time::Duration};

use palisade_ratelimit::{
    MemoryBackend, MemoryConfig, Policy, WhenFull,
    client_ip::{ClientIpResolver, ClientKey, ForwardedHeader},
    login::{Admission, HardLimit, LoginPolicy, LoginThrottle, MemoryLoginStore},
};
use palisade_testkit::metrics::{assert_bounded, capture, counter_or_zero};

fn client(ip: &str) -> ClientKey {
    ClientIpResolver::new([], ForwardedHeader::Forwarded)
        .expect("resolver")
        .key(ip.parse::<IpAddr>().expect("address"))
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Fails one attempt; returns the refusal's scope when the attempt was refused instead.
async fn fail(throttle: &LoginThrottle<MemoryLoginStore>, account: &str, from: &ClientKey) {
    match throttle.begin(account, from, None).await.expect("store") {
        Admission::Admitted(attempt) => {
            let _ = attempt.fail();
        }
        Admission::Refused(_) => {}
    }
}

#[test]
fn decisions_are_counted_by_policy_backend_and_outcome() {
    let series = capture(|| {
        let backend = MemoryBackend::default();
        let policy = Policy::new("metered", 2, Duration::from_secs(60)).expect("policy");
        for _ in 0..5 {
            let _ = backend.check("k", &policy);
        }
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_decisions_total{backend=memory,outcome=allowed,policy=metered}"
        ),
        2
    );
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_decisions_total{backend=memory,outcome=denied,policy=metered}"
        ),
        3
    );
}

#[test]
fn brute_force_on_one_account_counts_an_account_client_lockout() {
    let series = capture(|| {
        block_on(async {
            let throttle = LoginThrottle::new(MemoryLoginStore::new(100), LoginPolicy::default());
            let attacker = client("203.0.113.7");
            // Five failures reach the (account, client) limit; the next three are refused.
            for _ in 0..8 {
                fail(&throttle, "alice", &attacker).await;
            }
        });
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_lockouts_total{scope=account_client}"
        ),
        3,
        "{series:?}"
    );
    assert_eq!(
        counter_or_zero(&series, "palisade_ratelimit_lockouts_total{scope=client}"),
        0
    );
    assert_eq!(
        counter_or_zero(&series, "palisade_ratelimit_login_failures_total"),
        5
    );
}

#[test]
fn credential_stuffing_counts_a_client_lockout_and_a_throttled_client() {
    let series = capture(|| {
        block_on(async {
            let mut policy = LoginPolicy::default();
            policy.client = HardLimit {
                failures: 3,
                lockout: Duration::from_secs(3600),
            };
            let throttle = LoginThrottle::new(MemoryLoginStore::new(100), policy);
            let stuffer = client("198.51.100.9");
            // One guess on each of five accounts: the third failure throttles the network.
            for account in ["a", "b", "c", "d", "e"] {
                fail(&throttle, account, &stuffer).await;
            }
        });
    });
    assert_eq!(
        counter_or_zero(&series, "palisade_ratelimit_lockouts_total{scope=client}"),
        2,
        "{series:?}"
    );
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_suspicious_total{kind=client_throttled}"
        ),
        1
    );
}

#[test]
fn an_account_failing_from_many_networks_is_reported_under_attack() {
    let series = capture(|| {
        block_on(async {
            let throttle = LoginThrottle::new(MemoryLoginStore::new(100), LoginPolicy::default());
            // Ten failures from ten networks: no lockout, but a second factor is advised.
            for i in 0..10 {
                fail(&throttle, "bob", &client(&format!("192.0.2.{i}"))).await;
            }
        });
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_suspicious_total{kind=account_under_attack}"
        ),
        1,
        "{series:?}"
    );
    assert!(
        !series
            .keys()
            .any(|k| k.starts_with("palisade_ratelimit_lockouts_total")),
        "the owner is never locked out: {series:?}"
    );
}

#[test]
fn the_scope_and_event_label_values_are_snake_case_names() {
    use palisade_ratelimit::login::{Scope, SuspiciousActivity};
    assert_eq!(Scope::AccountClient.as_str(), "account_client");
    assert_eq!(Scope::Client.as_str(), "client");
    let event = SuspiciousActivity::ClientThrottled {
        client: client("192.0.2.1"),
        failures: 1,
    };
    assert_eq!(event.as_str(), "client_throttled");
}

/// Thousands of distinct accounts, addresses and keys leave a fixed number of series, none
/// of which carries any of them.
#[test]
fn hostile_input_leaves_the_number_of_series_bounded() {
    let mut hostile = Vec::new();
    let series = capture(|| {
        let backend = MemoryBackend::new(
            MemoryConfig::default()
                .max_keys(500)
                .when_full(WhenFull::Admit),
        );
        let policy = Policy::new("per-ip", 1, Duration::from_secs(60)).expect("policy");
        for i in 0..3000u32 {
            let key = format!("10.{}.{}.{}|tok_{i:08x}", i >> 16, (i >> 8) & 255, i & 255);
            let _ = backend.check(&key, &policy);
            let _ = backend.check(&key, &policy);
            hostile.push(key);
        }
        block_on(async {
            let throttle = LoginThrottle::new(MemoryLoginStore::new(1000), LoginPolicy::default());
            for i in 0..2000u32 {
                let account = format!("user{i}@example.com\u{202e}{{x=\"y\"}}");
                let ip = format!("2001:db8:{:x}::{:x}", i, i * 7);
                for _ in 0..6 {
                    fail(&throttle, &account, &client(&ip)).await;
                }
                hostile.push(account);
                hostile.push(ip);
            }
        });
    });
    // decisions (allowed, denied), untracked keys, login failures, lockouts per scope and
    // suspicious events per kind: at most 2 + 1 + 1 + 2 + 2.
    let hostile: Vec<&str> = hostile.iter().map(String::as_str).collect();
    assert_bounded(
        &series,
        "palisade_ratelimit_",
        8,
        &[&hostile[..], &["example.com", "2001:db8", "tok_"]].concat(),
    );
    assert!(counter_or_zero(&series, "palisade_ratelimit_login_failures_total") > 0);
    assert!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_lockouts_total{scope=account_client}"
        ) > 0,
        "{series:?}"
    );
}

#[cfg(feature = "redis")]
#[test]
fn redis_round_trips_and_store_errors_are_recorded() {
    use palisade_ratelimit::{
        FailurePolicy,
        redis::{RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig},
    };
    let series = capture(|| {
        block_on(async {
            let mut redis = palisade_testkit::RedisServer::start().expect("redis-server");
            let limiter = RedisLimiter::new(
                RedisBackend::new(&redis.url(), RedisConfig::default()).expect("url"),
                RedisLimiterConfig::default(),
            );
            let policy = Policy::new("outage-metered", 10, Duration::from_secs(60))
                .expect("policy")
                .with_failure_policy(FailurePolicy::Open);
            for _ in 0..2 {
                assert!(limiter.check("k", &policy).await.allowed);
            }
            redis.stop();
            for _ in 0..3 {
                assert!(limiter.check("k", &policy).await.allowed);
            }
        });
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_backend_errors_total{fallback=open,policy=outage-metered}"
        ),
        3
    );
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_ratelimit_decisions_total{backend=redis,outcome=allowed,policy=outage-metered}"
        ),
        2
    );
    match series.get("palisade_ratelimit_backend_duration_seconds{backend=redis}") {
        Some((
            palisade_testkit::metrics::MetricKind::Histogram,
            palisade_testkit::metrics::DebugValue::Histogram(seconds),
        )) => {
            // Two answered round trips and three that failed, each timed.
            assert_eq!(seconds.len(), 5, "{seconds:?}");
            assert!(
                seconds.iter().all(|s| s.0 >= 0.0 && s.0 < 60.0),
                "{seconds:?}"
            );
        }
        other => panic!("no round-trip histogram: {other:?}"),
    }
}
