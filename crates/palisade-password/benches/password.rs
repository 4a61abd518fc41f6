//! palisade-password against the raw `argon2` crate it wraps, at the OWASP preset.
//!
//! Group names are shared with `cargo xtask bench`, which reads criterion's output and prints
//! `palisade / baseline` for every other function in each group.

use std::{
    hint::black_box,
    sync::Barrier,
    thread,
    time::{Duration, Instant},
};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _, password_hash::phc};
use criterion::{Criterion, criterion_group, criterion_main};
use palisade_password::{Hasher, Password, PasswordHash};

const PASSWORD: &str = "correct horse battery staple";

fn salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("OS RNG");
    salt
}

fn hash(c: &mut Criterion) {
    let palisade = Hasher::new();
    let raw = Argon2::default(); // argon2id, m=19456, t=2, p=1: the same parameters
    let mut group = c.benchmark_group("password/hash_owasp");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("palisade", |b| {
        let password = Password::from(PASSWORD);
        b.iter(|| palisade.hash(black_box(&password)).expect("hash"));
    });
    group.bench_function("argon2 crate", |b| {
        b.iter(|| {
            raw.hash_password_with_salt(black_box(PASSWORD.as_bytes()), &salt())
                .expect("hash")
        });
    });
    group.finish();
}

/// A palisade hasher and a stored OWASP hash, and the raw crate with the same hash parsed.
fn verify_fixture() -> (Hasher, PasswordHash, Argon2<'static>, phc::PasswordHash) {
    let palisade = Hasher::new();
    let stored = palisade.hash(&Password::from(PASSWORD)).expect("hash");
    let parsed = phc::PasswordHash::new(stored.as_str()).expect("phc");
    (palisade, stored, Argon2::default(), parsed)
}

fn verify(c: &mut Criterion) {
    let (palisade, stored, raw, parsed) = verify_fixture();
    let mut group = c.benchmark_group("password/verify_owasp");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("palisade", |b| {
        let password = Password::from(PASSWORD);
        b.iter(|| {
            palisade
                .verify(black_box(&password), stored.as_str())
                .expect("verify")
        });
    });
    group.bench_function("argon2 crate", |b| {
        b.iter(|| {
            raw.verify_password(black_box(PASSWORD.as_bytes()), &parsed)
                .expect("verify");
        });
    });
    group.finish();
}

/// Time per verification with two threads verifying at once: palisade through its memory
/// budget and buffer pool, the raw crate allocating per call.
fn verify_two_threads(c: &mut Criterion) {
    fn two_threads(iters: u64, work: &(dyn Fn() + Sync)) -> Duration {
        let barrier = Barrier::new(2);
        let per_thread = iters.div_ceil(2);
        let start = Instant::now();
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..per_thread {
                        work();
                    }
                });
            }
        });
        start.elapsed()
    }
    let (palisade, stored, raw, parsed) = verify_fixture();
    let mut group = c.benchmark_group("password/verify_2_threads");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("palisade", |b| {
        let password = Password::from(PASSWORD);
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                let _ = palisade.verify(&password, stored.as_str()).expect("verify");
            })
        });
    });
    group.bench_function("argon2 crate", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                raw.verify_password(PASSWORD.as_bytes(), &parsed)
                    .expect("verify");
            })
        });
    });
    group.finish();
}

/// What zeroizing a pooled buffer costs against the verification it follows: the same
/// block-by-block `Zeroize` the pool runs over Argon2's 19,456 one-KiB blocks (the OWASP
/// preset), next to one verification by the raw crate. The ratio is the clear's share of a
/// verification, measured apart from the noise of whole-verification runs.
fn pool_clear(c: &mut Criterion) {
    use zeroize::Zeroize as _;
    let (_, _, raw, parsed) = verify_fixture();
    let mut blocks = vec![argon2::Block::new(); 19_456];
    let mut group = c.benchmark_group("password/pool_clear_19mib");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            blocks.iter_mut().for_each(argon2::Block::zeroize);
            black_box(&blocks);
        });
    });
    group.bench_function("argon2 crate verify", |b| {
        b.iter(|| {
            raw.verify_password(black_box(PASSWORD.as_bytes()), &parsed)
                .expect("verify");
        });
    });
    group.finish();
}

criterion_group!(benches, hash, verify, verify_two_threads, pool_clear);
criterion_main!(benches);
