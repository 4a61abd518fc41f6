//! In-process checks against raw governor, and Redis decisions against a fixed-window
//! INCR+EXPIRE counter and a floating-point GCRA script. Login attempts (reserve, then settle)
//! against a plain rate-limit decision and, in Redis, against the check-then-record pair of
//! round trips that an atomic reservation replaces.

use std::{hint::black_box, num::NonZeroU32, time::Duration};

use criterion::{Criterion, Throughput, criterion_group};
use governor::{Quota, RateLimiter};
use palisade_ratelimit::{
    MemoryBackend, MemoryConfig, Policy,
    client_ip::{ClientIpResolver, ClientKey, ForwardedHeader},
    login::{Admission, LoginPolicy, LoginStore, LoginThrottle, MemoryLoginStore},
};

const KEYS: usize = 1_000_000;

fn policy() -> Policy {
    // One request per microsecond: the most a policy allows, so most checks are admitted.
    Policy::new("bench", 1_000_000, Duration::from_secs(1))
        .and_then(|p| p.with_burst(1_000))
        .expect("policy")
}

/// A thousand requests an hour: keys stay tracked while the bench cycles through them.
fn hourly() -> Policy {
    Policy::new("hourly", 1_000, Duration::from_secs(3600))
        .and_then(|p| p.with_burst(1_000))
        .expect("policy")
}

fn hourly_quota() -> Quota {
    Quota::with_period(hourly().interval())
        .expect("non-zero")
        .allow_burst(NonZeroU32::new(1_000).expect("non-zero"))
}

fn quota() -> Quota {
    Quota::with_period(Duration::from_micros(1))
        .expect("non-zero")
        .allow_burst(NonZeroU32::new(1_000).expect("non-zero"))
}

fn one_key(c: &mut Criterion) {
    let mut g = c.benchmark_group("memory_check_one_key");
    g.throughput(Throughput::Elements(1));
    let backend = MemoryBackend::default();
    let policy = policy();
    g.bench_function("palisade", |b| {
        b.iter(|| black_box(backend.check(black_box("203.0.113.7"), &policy)));
    });
    let raw = RateLimiter::keyed(quota());
    let key = "203.0.113.7".to_owned();
    g.bench_function("governor", |b| {
        b.iter(|| black_box(raw.check_key(black_box(&key))));
    });
    g.finish();
}

fn many_keys(c: &mut Criterion) {
    let keys: Vec<String> = (0..KEYS).map(|i| format!("client-{i:08}")).collect();
    let mut g = c.benchmark_group("memory_check_1m_keys");
    g.throughput(Throughput::Elements(1));
    let backend = MemoryBackend::new(MemoryConfig::default().max_keys(2 * KEYS));
    let policy = hourly();
    let mut i = 0;
    g.bench_function("palisade", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(backend.check(&keys[i], &policy))
        });
    });
    let raw = RateLimiter::keyed(hourly_quota());
    let mut i = 0;
    g.bench_function("governor", |b| {
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(raw.check_key(&keys[i]))
        });
    });
    g.finish();
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory per key, estimated from the resident-set growth while 1M keys are inserted.
fn memory_per_key() {
    let keys: Vec<String> = (0..KEYS).map(|i| format!("client-{i:08}")).collect();
    let policy = hourly();
    let before = rss_bytes();
    let backend = MemoryBackend::new(MemoryConfig::default().max_keys(2 * KEYS));
    for k in &keys {
        let _ = backend.check(k, &policy);
    }
    let palisade = rss_bytes().saturating_sub(before);
    let held = backend.len();
    let before = rss_bytes();
    let raw = RateLimiter::keyed(hourly_quota());
    for k in &keys {
        let _ = raw.check_key(k);
    }
    let governor = rss_bytes().saturating_sub(before);
    eprintln!(
        "memory per key over {KEYS} keys (RSS delta): palisade {} B for {held} keys held (entry payload {} B), governor keyed HashMap<String> {} B",
        palisade / held.max(1) as u64,
        size_of::<(u64, u64)>(),
        governor / KEYS as u64,
    );
    drop(backend);
    drop(raw);
}

fn redis_decisions(c: &mut Criterion) {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backend = rt.block_on(async {
        palisade_ratelimit::redis::RedisBackend::new(
            &redis.url(),
            palisade_ratelimit::redis::RedisConfig::default(),
        )
        .expect("url")
    });
    let policy = Policy::new("bench", 1_000_000, Duration::from_secs(1))
        .and_then(|p| p.with_burst(1_000))
        .expect("policy");
    let client = redis::Client::open(redis.url()).expect("client");
    // The baselines use the same connection type as the backend.
    let mut conn = rt
        .block_on(redis::aio::ConnectionManager::new(client))
        .expect("connection");
    let float = redis::Script::new(include_str!("float_gcra.lua"));

    let mut g = c.benchmark_group("redis_decision_loopback");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("palisade", |b| {
        b.iter(|| rt.block_on(backend.check("k", &policy)).expect("decision"));
    });
    g.bench_function("fixed_window_incr_expire", |b| {
        b.iter(|| {
            let (n, _): (u64, bool) = rt
                .block_on(
                    redis::pipe()
                        .atomic()
                        .incr("fw:k", 1)
                        .cmd("EXPIRE")
                        .arg("fw:k")
                        .arg(1)
                        .arg("NX")
                        .query_async(&mut conn),
                )
                .expect("incr");
            black_box(n)
        });
    });
    g.bench_function("float_gcra_script", |b| {
        b.iter(|| {
            let reply: (i64, i64, String, String) = rt
                .block_on(
                    float
                        .key("fg:k")
                        .arg(1_000_000)
                        .arg(1)
                        .arg(1_000)
                        .arg(1)
                        .invoke_async(&mut conn),
                )
                .expect("float script");
            black_box(reply)
        });
    });
    g.finish();
}

fn login_client() -> ClientKey {
    ClientIpResolver::new([], ForwardedHeader::Forwarded)
        .expect("resolver")
        .key([192, 0, 2, 7].into())
}

/// One successful login's throttle work: `begin` (the atomic reservation) then `succeed`.
async fn login_attempt<S: LoginStore>(throttle: &LoginThrottle<S>, client: &ClientKey) {
    match throttle.begin("bench", client, None).await.expect("store") {
        Admission::Admitted(attempt) => {
            let _ = black_box(attempt.succeed().await.expect("store"));
        }
        Admission::Refused(r) => panic!("refused: {r:?}"),
    }
}

fn login_attempts(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = login_client();

    let memory = LoginThrottle::new(MemoryLoginStore::new(10_000), LoginPolicy::default());
    let backend = MemoryBackend::default();
    let policy = policy();
    let mut g = c.benchmark_group("login_attempt_memory");
    g.throughput(Throughput::Elements(1));
    g.bench_function("palisade", |b| {
        b.iter(|| rt.block_on(login_attempt(&memory, &client)));
    });
    g.bench_function("rate_limit_check", |b| {
        b.iter(|| black_box(backend.check("k", &policy)));
    });
    g.finish();

    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let redis_backend = rt.block_on(async {
        palisade_ratelimit::redis::RedisBackend::new(
            &redis.url(),
            palisade_ratelimit::redis::RedisConfig::default(),
        )
        .expect("url")
    });
    let shared = LoginThrottle::new(
        palisade_ratelimit::redis::RedisLoginStore::new(&redis_backend),
        LoginPolicy::default(),
    );
    let client_conn = redis::Client::open(redis.url()).expect("client");
    let mut conn = rt
        .block_on(redis::aio::ConnectionManager::new(client_conn))
        .expect("connection");
    let mut g = c.benchmark_group("login_attempt_redis");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("palisade", |b| {
        b.iter(|| rt.block_on(login_attempt(&shared, &client)));
    });
    // The shape an atomic reservation replaces: read the counter, check the password, then
    // record the outcome, two round trips with a window between them.
    g.bench_function("check_then_record_two_calls", |b| {
        b.iter(|| {
            rt.block_on(async {
                let n: Option<u64> = redis::cmd("HGET")
                    .arg("ctr:k")
                    .arg("f")
                    .query_async(&mut conn)
                    .await
                    .expect("read");
                let _: () = redis::cmd("HDEL")
                    .arg("ctr:k")
                    .arg("f")
                    .query_async(&mut conn)
                    .await
                    .expect("record");
                black_box(n)
            })
        });
    });
    g.bench_function("rate_limit_decision", |b| {
        b.iter(|| {
            rt.block_on(redis_backend.check("k", &policy))
                .expect("decision")
        });
    });
    g.finish();
}

criterion_group!(benches, one_key, many_keys, redis_decisions, login_attempts);

fn main() {
    memory_per_key();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
