//! The cost of the `metrics` feature on redaction: the same log lines (the `redact` bench's
//! corpus, with secrets) redacted
//!
//! - built without the feature (`feature_off`),
//! - built with it and no recorder installed (`no_recorder`: the facade's no-op), and
//! - built with it and `metrics-util`'s debugging recorder installed (`palisade`: every
//!   redaction counted in an atomic registry, as with `metrics-exporter-prometheus`).
//!
//! Run it twice, without and with `--features metrics`; docs/benchmarks.md records the
//! figures and the command.

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_redact::Redactor;

fn redaction(c: &mut Criterion) {
    let corpus = corpus::Corpus::build(0x05EC_2E75, 2_000, 600);
    let log = corpus.log(true);
    let lines: Vec<&str> = log.lines().collect();
    let redactor = Redactor::new();
    let run = |b: &mut criterion::Bencher<'_>| {
        b.iter(|| {
            for line in &lines {
                black_box(redactor.redact(black_box(line)));
            }
        });
    };
    let mut group = c.benchmark_group("metrics_cost/redact_logs_with_secrets");
    group
        .throughput(Throughput::Bytes(log.len() as u64))
        .sample_size(30)
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

criterion_group!(benches, redaction);
criterion_main!(benches);
