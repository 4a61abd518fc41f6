//! Decisions, denials and store errors reach the `metrics` facade.

mod recorder;

use std::time::Duration;

use palisade_ratelimit::{MemoryBackend, Policy};
use recorder::{recorder, value};

#[test]
fn decisions_and_denials_are_counted() {
    recorder();
    let backend = MemoryBackend::default();
    let policy = Policy::new("metered", 2, Duration::from_secs(60)).expect("policy");
    for _ in 0..5 {
        let _ = backend.check("k", &policy);
    }
    assert_eq!(
        value("palisade_ratelimit_decisions_total{backend=memory,outcome=allowed,policy=metered}"),
        2
    );
    assert_eq!(
        value("palisade_ratelimit_decisions_total{backend=memory,outcome=denied,policy=metered}"),
        3
    );
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn store_errors_are_counted_per_request() {
    use palisade_ratelimit::{
        FailurePolicy,
        redis::{RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig},
    };
    recorder();
    let mut redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let limiter = RedisLimiter::new(
        RedisBackend::new(&redis.url(), RedisConfig::default()).expect("url"),
        RedisLimiterConfig::default(),
    );
    let policy = Policy::new("outage-metered", 10, Duration::from_secs(60))
        .expect("policy")
        .with_failure_policy(FailurePolicy::Open);
    assert!(limiter.check("k", &policy).await.allowed);
    redis.stop();
    for _ in 0..3 {
        assert!(limiter.check("k", &policy).await.allowed);
    }
    assert_eq!(
        value("palisade_ratelimit_backend_errors_total{fallback=open,policy=outage-metered}"),
        3
    );
}
