//! The cost of the `metrics` feature on a 64-byte encryption and decryption:
//!
//! - built without the feature (`feature_off`),
//! - built with it and no recorder installed (`no_recorder`: the facade's no-op), and
//! - built with it and `metrics-util`'s debugging recorder installed (`palisade`: every
//!   operation counted in an atomic registry, the storage `metrics-exporter-prometheus` uses
//!   too).
//!
//! Run it twice, without and with `--features metrics`; docs/benchmarks.md records the
//! figures and the command.

use std::{hint::black_box, time::Duration};

use criterion::{Bencher, Criterion, criterion_group, criterion_main};
use palisade_crypt::{Context, Crypter, Keyring};

fn cases(c: &mut Criterion) {
    let keyring = Keyring::generate().expect("keyring");
    let context = Context::new("users.email")
        .and_then(|c| c.with("row", 123_456))
        .and_then(|c| c.with("tenant", "acme"))
        .expect("context");
    let plaintext = [0x5au8; 64];
    // A crypter per case: the counters count into the recorder in place when it is built.
    three_ways(c, "metrics_cost/crypt_encrypt_64B", |b| {
        let crypter = Crypter::new(&keyring).expect("crypter");
        b.iter(|| {
            crypter
                .encrypt(&context, black_box(&plaintext))
                .expect("encrypt")
        });
    });
    three_ways(c, "metrics_cost/crypt_decrypt_64B", |b| {
        let crypter = Crypter::new(&keyring).expect("crypter");
        let sealed = crypter.encrypt(&context, &plaintext).expect("encrypt");
        b.iter(|| {
            crypter
                .decrypt(&context, black_box(&sealed))
                .expect("decrypt")
        });
    });
}

/// `run` without the feature, or with it both without a recorder and with the debugging one.
fn three_ways(c: &mut Criterion, name: &str, mut run: impl FnMut(&mut Bencher<'_>)) {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    #[cfg(not(feature = "metrics"))]
    group.bench_function("feature_off", &mut run);
    #[cfg(feature = "metrics")]
    {
        group.bench_function("no_recorder", &mut run);
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || group.bench_function("palisade", &mut run));
    }
    group.finish();
}

criterion_group!(benches, cases);
criterion_main!(benches);
