//! palisade-sanitize's HTML policies against raw `ammonia::clean`, on prose and on hostile
//! HTML (`data/*.html`, written by `generate_inputs.py`; `bleach_bench.py` measures Python's
//! bleach on the same files).
//!
//! In every group the function named `palisade` is the subject and the others are baselines;
//! `cargo xtask bench` prints `palisade / baseline` for each. Throughput is in bytes, so
//! criterion also reports MB/s.
//!
//! With the `metrics` feature a changed document is also reported, to count its removals by
//! reason, unless a scan of the input proves nothing was removed (see the crate's README), so
//! the groups are then named `sanitize_metrics/...`: `cargo xtask bench` runs this bench with
//! every feature and again with the default ones, and shows both.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_sanitize::html::Policy;

/// `sanitize/name`, or `sanitize_metrics/name` when removals are counted.
fn group_name(name: &str) -> String {
    let metrics = if cfg!(feature = "metrics") {
        "_metrics"
    } else {
        ""
    };
    format!("sanitize{metrics}/{name}")
}

fn input(name: &str) -> String {
    let path = format!("{}/benches/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn group(c: &mut Criterion, name: &str, file: &str) {
    let html = input(file);
    let policy = Policy::rich();
    policy.clean(&html).expect("the bench input is accepted");
    let mut group = c.benchmark_group(group_name(name));
    group.throughput(Throughput::Bytes(html.len() as u64));
    group.sample_size(20);
    group.bench_function("palisade", |b| {
        b.iter(|| policy.clean(black_box(&html)).expect("clean"));
    });
    group.bench_function("ammonia::clean", |b| {
        b.iter(|| ammonia::clean(black_box(&html)));
    });
    // What the stability check costs by itself: ammonia run on its own output once more.
    group.bench_function("ammonia::clean twice", |b| {
        b.iter(|| ammonia::clean(&ammonia::clean(black_box(&html))));
    });
    group.finish();
}

fn prose(c: &mut Criterion) {
    group(c, "html_prose", "prose.html");
}

fn hostile(c: &mut Criterion) {
    group(c, "html_hostile", "hostile.html");
}

/// The report costs one or two more parses (of the input, and of the output unless the
/// stability scan counts its elements); measured on its own against `clean`.
fn report(c: &mut Criterion) {
    report_group(c, "html_prose_report", "prose.html");
    report_group(c, "html_hostile_report", "hostile.html");
}

fn report_group(c: &mut Criterion, name: &str, file: &str) {
    let html = input(file);
    let policy = Policy::rich();
    let mut group = c.benchmark_group(group_name(name));
    group.throughput(Throughput::Bytes(html.len() as u64));
    group.sample_size(20);
    group.bench_function("palisade", |b| {
        b.iter(|| policy.clean_with_report(black_box(&html)).expect("clean"));
    });
    group.bench_function("palisade clean without report", |b| {
        b.iter(|| policy.clean(black_box(&html)).expect("clean"));
    });
    group.finish();
}

criterion_group!(benches, prose, hostile, report);
criterion_main!(benches);
