//! The Redis backend against a real redis-server: shared vectors, failure policies with the
//! server killed mid-test, concurrency, the denied cache, login counters.

#![cfg(feature = "redis")]

mod common;
mod login_scenarios;

use std::{num::NonZeroU32, time::Duration};

use palisade_ratelimit::{
    FailurePolicy, Limiter, MemoryBackend, MemoryConfig, Policy,
    login::{Admission, MemoryLoginStore},
    multi::{Rule, evaluate},
    redis::{
        AnyLimiter, AnyLoginStore, RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig,
        RedisLoginStore,
    },
};
use palisade_testkit::{RedisServer, log_capture::LogCapture};

/// An arbitrary fixed server time for replayed sequences (2023-11-14), microseconds.
const BASE_MICROS: u64 = 1_700_000_000_000_000;

fn server() -> RedisServer {
    RedisServer::start().expect("redis-server")
}

fn backend(redis: &RedisServer) -> RedisBackend {
    RedisBackend::new(&redis.url(), RedisConfig::default()).expect("url")
}

#[test]
fn constructing_outside_a_runtime_is_an_error_not_a_panic() {
    assert!(matches!(
        RedisBackend::new("redis://127.0.0.1/", RedisConfig::default()),
        Err(palisade_ratelimit::redis::ConnectError::NoRuntime)
    ));
    assert!(matches!(
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async { RedisBackend::new("not a url", RedisConfig::default()) }),
        Err(palisade_ratelimit::redis::ConnectError::InvalidUrl(_))
    ));
}

fn cost(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("positive cost")
}

#[tokio::test]
async fn shared_vectors_give_the_same_decisions_as_in_process() {
    let redis = server();
    let backend = backend(&redis);
    let mut steps = 0;
    for case in common::cases() {
        for step in &case.steps {
            let got = backend
                .check_n_replaying_time(
                    &case.name,
                    &case.policy,
                    cost(step.cost),
                    BASE_MICROS + step.at_ms * 1000,
                )
                .await
                .expect("redis decision");
            assert_eq!(got, step.expected, "{} line {}", case.name, step.line);
            steps += 1;
        }
    }
    assert!(steps > 200);
}

#[tokio::test]
async fn server_clock_decisions_and_script_reload() {
    let redis = server();
    let backend = backend(&redis);
    let policy = Policy::new("api", 3, Duration::from_secs(3600)).expect("policy");
    for left in [2, 1, 0] {
        let d = backend.check("client", &policy).await.expect("decision");
        assert!(d.allowed);
        assert_eq!(d.remaining, left);
    }
    let d = backend.check("client", &policy).await.expect("decision");
    assert!(!d.allowed);
    let retry = d.retry_after.expect("retry");
    assert!(retry <= Duration::from_secs(1200) && retry > Duration::from_secs(1190));
    // The server forgets the script: EVALSHA fails with NOSCRIPT and the script is reloaded.
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .expect("flush");
    assert!(
        backend
            .check("other", &policy)
            .await
            .expect("decision")
            .allowed
    );
    // Keys carry a cluster hash tag and expire when they equal a fresh key.
    let key = backend.key_for("client", &policy);
    assert_eq!(key, "palisade:rl:{api:client}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("pttl");
    assert!(ttl > 3_500_000 && ttl <= 3_600_001, "ttl {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_on_one_key_never_over_admit() {
    let redis = server();
    let backend = backend(&redis);
    let policy = Policy::new("hot", 50, Duration::from_secs(3600)).expect("policy");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (backend, policy) = (backend.clone(), policy.clone());
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0u32;
            for _ in 0..60 {
                if backend
                    .check("one", &policy)
                    .await
                    .expect("decision")
                    .allowed
                {
                    admitted += 1;
                }
            }
            admitted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("task");
    }
    assert_eq!(total, 50);
}

async fn outage(failure: FailurePolicy) {
    let logs = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut redis = server();
    let limiter = RedisLimiter::new(
        RedisBackend::new(
            &redis.url(),
            RedisConfig::default().timeout(Duration::from_millis(300)),
        )
        .expect("url"),
        RedisLimiterConfig::default().denied_cache_size(0),
    );
    let policy = Policy::new("outage", 2, Duration::from_secs(3600))
        .expect("policy")
        .with_failure_policy(failure);
    assert!(limiter.check("k", &policy).await.allowed);
    assert!(!limiter.store_down());

    redis.stop();
    let mut admitted = 0;
    for _ in 0..5 {
        if limiter.check("k", &policy).await.allowed {
            admitted += 1;
        }
    }
    assert!(limiter.store_down());
    match failure {
        FailurePolicy::Open => assert_eq!(admitted, 5),
        FailurePolicy::Closed => assert_eq!(admitted, 0),
        // The local limiter knows nothing of Redis's count: it admits its own burst of 2.
        _ => assert_eq!(admitted, 2),
    }
    assert_eq!(
        logs.text().matches("rate-limit store unreachable").count(),
        1,
        "logged once, not per request"
    );

    redis.restart().expect("restart");
    let mut back = false;
    for _ in 0..50 {
        let d = limiter.check("k", &policy).await;
        if !limiter.store_down() {
            // Redis kept nothing (no persistence) or its state: either way it decides again.
            let _ = d;
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "decisions come from Redis again after restart");
    assert_eq!(
        logs.text()
            .matches("rate-limit store reachable again")
            .count(),
        1
    );
}

#[tokio::test]
async fn redis_down_fail_open() {
    outage(FailurePolicy::Open).await;
}

#[tokio::test]
async fn redis_down_fail_closed() {
    outage(FailurePolicy::Closed).await;
}

#[tokio::test]
async fn redis_down_fall_back_to_local() {
    outage(FailurePolicy::Local).await;
}

#[tokio::test]
async fn denied_keys_skip_redis_until_retry_after() {
    let mut redis = server();
    let limiter = RedisLimiter::new(backend(&redis), RedisLimiterConfig::default());
    let policy = Policy::new("cached", 1, Duration::from_secs(3600)).expect("policy");
    assert!(limiter.check("k", &policy).await.allowed);
    let denied = limiter.check("k", &policy).await;
    assert!(!denied.allowed);
    // With Redis gone, the cached denial answers without a round trip (no outage seen).
    redis.stop();
    let cached = limiter.check("k", &policy).await;
    assert!(!cached.allowed);
    assert!(cached.retry_after.is_some());
    assert!(
        !limiter.store_down(),
        "the cache answered; Redis was not asked"
    );
    // Another key does go to Redis (and finds it down: the default policy fails closed).
    assert!(!limiter.check("other", &policy).await.allowed);
    assert!(limiter.store_down());
}

#[tokio::test]
async fn multi_policy_over_redis() {
    let redis = server();
    let limiter = RedisLimiter::new(backend(&redis), RedisLimiterConfig::default());
    let per_ip = Policy::new("ip", 3, Duration::from_secs(60)).expect("policy");
    let per_user = Policy::new("user", 2, Duration::from_secs(60)).expect("policy");
    let rules = [
        Rule::new(&per_ip, "192.0.2.1"),
        Rule::new(&per_user, "dave"),
    ];
    assert!(evaluate(&limiter, &rules, NonZeroU32::MIN).await.allowed);
    assert!(evaluate(&limiter, &rules, NonZeroU32::MIN).await.allowed);
    let v = evaluate(&limiter, &rules, NonZeroU32::MIN).await;
    assert!(!v.allowed);
    assert_eq!(v.binding().map(|c| c.policy.name()), Some("user"));
}

#[tokio::test]
async fn login_counters_in_redis() {
    let redis = server();
    login_counters(RedisLoginStore::new(&backend(&redis))).await;
}

#[tokio::test]
async fn any_limiter_and_login_store_choose_at_run_time() {
    let redis = server();
    let policy = Policy::new("any", 2, Duration::from_secs(3600)).expect("policy");
    for limiter in [
        AnyLimiter::from(MemoryBackend::new(MemoryConfig::default())),
        AnyLimiter::from(RedisLimiter::new(
            backend(&redis),
            RedisLimiterConfig::default(),
        )),
    ] {
        let name = format!("{limiter:?}");
        // Only the in-process choice may be decided at once, without awaiting.
        assert_eq!(
            limiter.in_process().is_some(),
            matches!(limiter, AnyLimiter::Memory(_)),
            "{name}"
        );
        for allowed in [true, true, false] {
            let decision = limiter.decide("k", &policy, NonZeroU32::MIN).await;
            assert_eq!(decision.allowed, allowed, "{name}");
        }
    }
    login_counters(AnyLoginStore::from(MemoryLoginStore::new(100))).await;
    login_counters(AnyLoginStore::from(RedisLoginStore::new(&backend(&redis)))).await;
}

async fn login_counters<S: palisade_ratelimit::login::LoginStore>(store: S) {
    login_scenarios::one_client_is_locked_out_of_one_account(store).await;
}

#[tokio::test]
async fn login_an_outage_after_the_reservation_cannot_make_a_guess_free() {
    let redis = server();
    login_scenarios::an_outage_after_the_reservation_cannot_make_a_guess_free(
        RedisLoginStore::new(&backend(&redis)),
    )
    .await;
}

#[tokio::test]
async fn login_attackers_elsewhere_never_lock_the_owner_out() {
    let redis = server();
    login_scenarios::attackers_elsewhere_never_lock_the_owner_out(RedisLoginStore::new(&backend(
        &redis,
    )))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_concurrent_guesses_never_exceed_the_limit() {
    let redis = server();
    login_scenarios::concurrent_guesses_never_exceed_the_limit(RedisLoginStore::new(&backend(
        &redis,
    )))
    .await;
}

#[tokio::test]
async fn login_not_checked_is_free_but_dropped_is_counted() {
    let redis = server();
    login_scenarios::not_checked_is_free_but_dropped_is_counted(RedisLoginStore::new(&backend(
        &redis,
    )))
    .await;
}

#[tokio::test]
async fn login_failing_device_cookie_is_distrusted() {
    let redis = server();
    login_scenarios::failing_device_cookie_is_distrusted(RedisLoginStore::new(&backend(&redis)))
        .await;
}

#[tokio::test]
async fn login_store_down_is_an_error_never_an_admission() {
    let mut redis = server();
    let t = login_scenarios::throttle(RedisLoginStore::new(&backend(&redis)));
    let c = login_scenarios::client("203.0.113.77");
    let attempt = login_scenarios::admitted(t.begin("kim", &c, None).await.expect("store"));
    redis.stop();
    // The reservation made before the outage stands: failing needs no store.
    let _ = attempt.fail();
    assert!(t.begin("kim", &c, None).await.is_err());
    assert!(!matches!(
        t.begin("kim", &c, None).await,
        Ok(Admission::Admitted(_))
    ));
}
