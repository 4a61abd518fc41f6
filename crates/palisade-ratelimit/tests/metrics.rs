//! Decisions, denials and store errors reach the `metrics` facade.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, atomic::AtomicU64, atomic::Ordering},
    time::Duration,
};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use palisade_ratelimit::{MemoryBackend, Policy};

#[derive(Default)]
struct Counting(Mutex<HashMap<String, Arc<AtomicU64>>>);

fn render(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = self
            .0
            .lock()
            .expect("recorder")
            .entry(render(key))
            .or_default()
            .clone();
        Counter::from_arc(cell)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn recorder() -> &'static Counting {
    static R: OnceLock<&'static Counting> = OnceLock::new();
    R.get_or_init(|| {
        let r: &'static Counting = Box::leak(Box::default());
        metrics::set_global_recorder(r).expect("first recorder");
        r
    })
}

fn value(name: &str) -> u64 {
    recorder()
        .0
        .lock()
        .expect("recorder")
        .get(name)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

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
