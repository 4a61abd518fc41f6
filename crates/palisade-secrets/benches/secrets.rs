//! A cached read against the floor (a `String` read from a `HashMap`), and a thousand
//! concurrent readers at expiry (the fetches made are printed: one).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::{collections::HashMap, hint::black_box, time::Duration};

use criterion::{Criterion, Throughput, criterion_group};
use palisade_secrets::{Address, CachePolicy, LocalSource, SecretCache};

fn cached_read(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let source = LocalSource::with_environment([("JWT_KEY", "0123456789abcdef0123456789abcdef")]);
    let cache = SecretCache::new(source, CachePolicy::default());
    let address: Address = "env:JWT_KEY".parse().unwrap();
    rt.block_on(cache.get(&address)).unwrap();
    let map: HashMap<String, String> = [("JWT_KEY".to_owned(), "0123456789abcdef".repeat(2))]
        .into_iter()
        .collect();
    // A hundred reads per iteration inside one `block_on`, so the runtime's entry cost is
    // spread out as it is in a service (where the caller is already a task).
    let mut g = c.benchmark_group("secrets_cached_read");
    g.throughput(Throughput::Elements(100));
    g.bench_function("palisade", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..100 {
                    black_box(cache.get(black_box(&address)).await.unwrap());
                }
            });
        });
    });
    g.bench_function("hashmap_string", |b| {
        b.iter(|| {
            for _ in 0..100 {
                black_box(map.get(black_box("JWT_KEY")).unwrap().len());
            }
        });
    });
    g.finish();
}

/// A thousand readers of an expired value on a multi-threaded runtime: prints the fetches.
fn thousand_readers_at_expiry() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .unwrap();
    let source = LocalSource::with_environment([("JWT_KEY", "0123456789abcdef0123456789abcdef")]);
    let mut policy = CachePolicy::default();
    policy.ttl = Duration::from_millis(50);
    policy.refresh_ahead = Duration::ZERO;
    let cache = SecretCache::new(source, policy);
    let address: Address = "env:JWT_KEY".parse().unwrap();
    rt.block_on(async {
        cache.get(&address).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let before = cache.fetches();
        let readers: Vec<_> = (0..1000)
            .map(|_| {
                let (cache, address) = (cache.clone(), address.clone());
                tokio::spawn(async move { cache.get(&address).await.map(|s| s.len()) })
            })
            .collect();
        for reader in readers {
            reader.await.unwrap().unwrap();
        }
        println!(
            "1000 concurrent readers at expiry: {} fetch(es)",
            cache.fetches() - before
        );
    });
}

criterion_group!(benches, cached_read);

fn main() {
    thousand_readers_at_expiry();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
