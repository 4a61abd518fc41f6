//! The cost of the `metrics` feature on a rate-limit decision: `MemoryBackend::check` over
//! 1,000 keys, one policy,
//!
//! - built without the feature (`feature_off`),
//! - built with it and no recorder installed (`no_recorder`: the facade's no-op), and
//! - built with it and `metrics-util`'s debugging recorder installed (`palisade`: every
//!   decision counted in an atomic registry, as with `metrics-exporter-prometheus`).
//!
//! Run it twice, without and with `--features metrics`; docs/benchmarks.md records the
//! figures and the command.

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_ratelimit::{MemoryBackend, MemoryConfig, Policy};

fn decision(c: &mut Criterion) {
    let keys: Vec<String> = (0..1000).map(|i| format!("203.0.113.{i}")).collect();
    let policy = Policy::new("per-ip", 1_000_000, Duration::from_secs(1)).expect("policy");
    // A backend per case: the in-process backend registers its metric handles with the
    // recorder in place when the policy is first used.
    let run = |b: &mut criterion::Bencher<'_>| {
        let backend = MemoryBackend::new(MemoryConfig::default().max_keys(10_000));
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % keys.len();
            black_box(backend.check(black_box(&keys[i]), &policy))
        });
    };
    let mut group = c.benchmark_group("metrics_cost/ratelimit_decision");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    #[cfg(not(feature = "metrics"))]
    group.bench_function("feature_off", run);
    #[cfg(feature = "metrics")]
    {
        group.bench_function("no_recorder", run);
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || group.bench_function("palisade", run));
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
