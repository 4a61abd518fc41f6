//! What `palisade redact` costs per byte. In each group `palisade` is the subject, the
//! function `palisade redact` runs (`redact_stream`); the other functions are baselines:
//! palisade-redact's `LineRedactor` driven directly (text), and parsing each line with
//! `serde_json`, `redact_json` and re-serializing (JSON, which does not keep the bytes).
#![allow(missing_docs)]

use std::{fmt::Write as _, hint::black_box};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_cli::{RedactMode, redact_stream};
use palisade_redact::{LineRedactor, Redactor};

/// About 4 MiB of log lines; one in seven carries a secret.
fn text_log() -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 4 << 20 {
        let _ = match i % 7 {
            0 => writeln!(
                s,
                "2026-11-22T20:00:00Z WARN login user=u{i} password=hunter2-{i} from 203.0.113.9"
            ),
            3 => writeln!(
                s,
                "2026-11-22T20:00:00Z INFO key AKIAIOSFODNN7EXAMPLE used by job {i}"
            ),
            _ => writeln!(
                s,
                "2026-11-22T20:00:00Z INFO request id={i} path=/api/v1/items?page={} status=200 bytes=5120",
                i % 97
            ),
        };
        i += 1;
    }
    s.into_bytes()
}

/// About 4 MiB of JSON Lines; one in seven carries a secret.
fn json_log() -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 4 << 20 {
        let _ = match i % 7 {
            0 => writeln!(
                s,
                r#"{{"ts":"2026-11-22T20:00:00Z","level":"warn","msg":"login","user":"u{i}","password":"hunter2-{i}","attempt":{}}}"#,
                i % 5
            ),
            3 => writeln!(
                s,
                r#"{{"ts":"2026-11-22T20:00:00Z","level":"info","msg":"key AKIAIOSFODNN7EXAMPLE used","job":{i}}}"#
            ),
            _ => writeln!(
                s,
                r#"{{"ts":"2026-11-22T20:00:00Z","level":"info","msg":"request","id":{i},"path":"/api/v1/items","status":200,"bytes":5120}}"#
            ),
        };
        i += 1;
    }
    s.into_bytes()
}

fn text(c: &mut Criterion) {
    let log = text_log();
    let mut group = c.benchmark_group("redact_stream_text");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(20);
    group.bench_function("palisade", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(log.len());
            redact_stream(black_box(&log[..]), &mut out, RedactMode::Text).expect("redacts");
            out
        });
    });
    let redactor = Redactor::new();
    group.bench_function("line_redactor", |b| {
        b.iter(|| {
            let mut stream = LineRedactor::new(redactor.clone());
            let mut out = Vec::with_capacity(log.len());
            for chunk in black_box(&log[..]).chunks(64 * 1024) {
                stream.push(chunk, &mut out);
            }
            stream.finish(&mut out);
            out
        });
    });
    group.finish();
}

fn json(c: &mut Criterion) {
    let log = json_log();
    let mut group = c.benchmark_group("redact_stream_json");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(20);
    group.bench_function("palisade", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(log.len());
            redact_stream(black_box(&log[..]), &mut out, RedactMode::Json).expect("redacts");
            out
        });
    });
    let redactor = Redactor::new();
    group.bench_function("serde_json_redact_json", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(log.len());
            for line in black_box(&log[..])
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
            {
                let mut value: serde_json::Value = serde_json::from_slice(line).expect("JSON");
                redactor.redact_json(&mut value);
                serde_json::to_writer(&mut out, &value).expect("serializes");
                out.push(b'\n');
            }
            out
        });
    });
    group.finish();
}

criterion_group!(benches, text, json);
criterion_main!(benches);
