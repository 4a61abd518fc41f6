//! Append throughput under each durability policy, verify throughput and proof costs, against
//! baselines without integrity: a plain JSON Lines append with the same syncing, and a bare
//! SHA-256 hash chain with no MAC, no redaction and no durability.
//!
//! In every group the function named `palisade` is the subject; `cargo xtask bench` reports
//! `palisade / baseline` for every other function. `metrics_cost/audit_append_no_sync` is the
//! exception: its baseline is the same append without a metrics recorder.

use std::{
    fs::{self, File, OpenOptions},
    hint::black_box,
    io::Write as _,
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use palisade_audit::{
    AuditLog, AuditWriter, Durability, MacKey, Overflow, SigningKey, Verifier,
    merkle::{self, Frontier, Tree},
};
use secrecy::SecretBox;
use sha2::{Digest, Sha256};

#[path = "support/workload.rs"]
mod workload;
use workload::{event, json_line};

fn scratch_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("audit-bench-{name}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = scratch_path(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("bench scratch dir");
    dir
}

fn keys() -> (MacKey, SigningKey) {
    (
        MacKey::from_bytes([7; 32]),
        SigningKey::from_secret(&SecretBox::new(Box::new([9; 32]))),
    )
}

fn new_log(name: &str, durability: Durability) -> AuditLog {
    let (mac, signing) = keys();
    AuditLog::builder(scratch(name))
        .durability(durability)
        .signer(Arc::new(signing))
        .epoch0_key(mac)
        .create_with(|_| Ok(()))
        .expect("bench log")
}

/// A plain JSON Lines appender, syncing every `every` records.
struct PlainJsonl {
    file: File,
    pending: u32,
    every: u32,
}

impl PlainJsonl {
    fn new(name: &str, every: u32) -> Self {
        let path = scratch(name).join("plain.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("plain file");
        Self {
            file,
            pending: 0,
            every,
        }
    }

    fn append(&mut self, line: &str) {
        self.file.write_all(line.as_bytes()).expect("write");
        self.pending += 1;
        if self.pending >= self.every {
            self.file.sync_data().expect("sync");
            self.pending = 0;
        }
    }
}

fn append(c: &mut Criterion) {
    let policies = [
        (
            "audit/append_fsync_every_record",
            Durability::EveryRecord,
            1,
        ),
        (
            "audit/append_group_commit_64",
            Durability::Group {
                records: 64,
                interval: Duration::from_millis(10),
            },
            64,
        ),
        (
            "audit/append_no_sync_pressure",
            Durability::Group {
                records: u32::MAX,
                interval: Duration::from_secs(3600),
            },
            u32::MAX,
        ),
    ];
    for (name, durability, every) in policies {
        let mut group = c.benchmark_group(name);
        group
            .throughput(Throughput::Elements(1))
            .sample_size(20)
            .measurement_time(Duration::from_secs(4));
        let mut log = new_log(name.trim_start_matches("audit/"), durability);
        let mut n = 0u64;
        group.bench_function("palisade", |b| {
            b.iter(|| {
                n += 1;
                black_box(log.append(event(n)).expect("append"))
            });
        });
        drop(log);
        let mut plain = PlainJsonl::new(
            &format!("{}-plain", name.trim_start_matches("audit/")),
            every,
        );
        let mut n_plain = 0u64;
        group.bench_function("plain jsonl append", |b| {
            b.iter(|| {
                n_plain += 1;
                plain.append(&json_line(n_plain));
            });
        });
        if every == u32::MAX {
            let mut prev = [0u8; 32];
            let mut n_chain = 0u64;
            let mut sink = Vec::with_capacity(1 << 20);
            group.bench_function("sha2 hash chain in memory", |b| {
                b.iter(|| {
                    n_chain += 1;
                    let line = json_line(n_chain);
                    let mut h = Sha256::new();
                    h.update(prev);
                    h.update(line.as_bytes());
                    prev = h.finalize().into();
                    if sink.len() > 1 << 20 {
                        sink.clear();
                    }
                    sink.extend_from_slice(line.as_bytes());
                    black_box(&prev);
                });
            });
        }
        group.finish();
    }
}

/// The service path: `AuditWriter::record` on the caller's thread, the append and the group
/// commit (64 records or 50 ms) on the writer thread, against a plain JSON Lines append that
/// syncs every 64 records on the caller's thread.
fn writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit/writer_group_commit_64");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let dir = scratch("writer");
    let (mac, signing) = keys();
    let signing = Arc::new(signing);
    drop(
        AuditLog::builder(&dir)
            .signer(signing.clone())
            .epoch0_key(mac)
            .create_with(|_| Ok(()))
            .expect("bench log"),
    );
    let writer = AuditWriter::open(
        AuditLog::builder(&dir).signer(signing),
        4096,
        Overflow::Block,
    )
    .expect("writer");
    let mut n = 0u64;
    group.bench_function("palisade", |b| {
        b.iter(|| {
            n += 1;
            black_box(writer.record(event(n)))
        });
    });
    writer.close().expect("close");
    let mut plain = PlainJsonl::new("writer-plain", 64);
    let mut n_plain = 0u64;
    group.bench_function("plain jsonl append", |b| {
        b.iter(|| {
            n_plain += 1;
            plain.append(&json_line(n_plain));
        });
    });
    group.finish();
}

/// A 1 MiB segment of forged lines (far epochs, forged seals) after a genuine start: the
/// verifier's cost per MiB of hostile input, against parsing the same bytes and hashing them.
fn verify_hostile(c: &mut Criterion) {
    let dir = scratch("hostile");
    let (mac, signing) = keys();
    let public = signing.verifying_key();
    let mut log = AuditLog::builder(&dir)
        .signer(Arc::new(signing))
        .epoch0_key(mac)
        .create_with(|_| Ok(()))
        .expect("log");
    for i in 0..10 {
        let _ = log.append(event(i)).expect("append");
    }
    drop(log);
    let mut data = fs::read(dir.join("audit-00000000000000000000.jsonl")).expect("log");
    let template = String::from_utf8(data.clone())
        .expect("utf-8")
        .lines()
        .last()
        .expect("a line")
        .to_owned();
    let mut seq = 11u64;
    while data.len() < 1 << 20 {
        let epoch = if seq.is_multiple_of(2) {
            (1u64 << 26) - seq
        } else {
            u64::MAX / 3
        };
        let line = template
            .replacen("\"seq\":10,", &format!("\"seq\":{seq},"), 1)
            .replacen("\"epoch\":0,", &format!("\"epoch\":{epoch},"), 1)
            .replacen(
                "\"kind\":\"event\"",
                &format!("\"kind\":\"seal\",\"through\":{epoch}"),
                1,
            );
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        seq += 1;
    }
    let mut group = c.benchmark_group("audit/verify_1mib_hostile");
    group
        .throughput(Throughput::Bytes(data.len() as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            let report = Verifier::new()
                .public_key(public)
                .mac_key(MacKey::from_bytes([7; 32]))
                .verify_bytes(&data);
            assert!(!report.is_intact() && report.key_derivations() == 0);
            report
        });
    });
    group.bench_function("parse json and sha2 chain", |b| {
        b.iter(|| parse_and_chain(&data));
    });
    group.finish();
}

fn parse_and_chain(data: &[u8]) -> [u8; 32] {
    let mut prev = [0u8; 32];
    for line in data.split(|&x| x == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("json");
        black_box(&v);
        let mut h = Sha256::new();
        h.update(prev);
        h.update(line);
        prev = h.finalize().into();
    }
    prev
}

fn verify(c: &mut Criterion) {
    const N: u64 = 10_000;
    let dir = scratch("verify");
    let (mac, signing) = keys();
    let public = signing.verifying_key();
    let mut log = AuditLog::builder(&dir)
        .durability(Durability::Group {
            records: 1024,
            interval: Duration::from_secs(60),
        })
        .checkpoint_every(1000)
        .signer(Arc::new(signing))
        .epoch0_key(mac)
        .create_with(|_| Ok(()))
        .expect("log");
    for i in 0..N {
        let _ = log.append(event(i)).expect("append");
    }
    drop(log);
    let bytes: u64 = fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum();
    let data: Vec<u8> = fs::read(dir.join("audit-00000000000000000000.jsonl")).expect("log");

    let mut group = c.benchmark_group("audit/verify_10k_records");
    group
        .throughput(Throughput::Bytes(bytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    group.bench_function("palisade", |b| {
        b.iter(|| {
            let report = Verifier::new()
                .public_key(public)
                .mac_key(MacKey::from_bytes([7; 32]))
                .verify_bytes(&data);
            assert!(report.is_intact());
            report
        });
    });
    group.bench_function("parse json and sha2 chain", |b| {
        b.iter(|| parse_and_chain(&data));
    });
    group.finish();
}

#[allow(clippy::print_stdout, reason = "proof sizes are part of the report")]
fn proofs(c: &mut Criterion) {
    const N: u64 = 1 << 20;
    let mut tree = Tree::new();
    for i in 0..N {
        tree.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    for size in [1_000u64, 100_000, N] {
        let inclusion = tree.inclusion_proof(size / 3, size).expect("proof");
        let consistency = tree.consistency_proof(size / 2 + 1, size).expect("proof");
        println!(
            "proof sizes at {size} records: inclusion {} hashes ({} bytes), consistency {} hashes ({} bytes)",
            inclusion.path.len(),
            inclusion.path.len() * 32,
            consistency.path.len(),
            consistency.path.len() * 32
        );
    }
    let root = tree.root();
    let mut group = c.benchmark_group("audit/inclusion_proof_1m_records");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    let mut i = 0u64;
    group.bench_function("palisade", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            let proof = tree.inclusion_proof(i, N).expect("proof");
            assert!(proof.verify(&tree.leaf(i).expect("leaf"), &root).is_ok());
        });
    });
    group.bench_function("recompute root from every leaf", |b| {
        b.iter_batched(
            Frontier::new,
            |mut f| {
                for j in 0..N {
                    f.push(tree.leaf(j).expect("leaf"));
                }
                assert_eq!(f.root(), root);
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// What the `metrics` feature costs an append that does not sync: `feature_off` built without
/// it, `no_recorder` built with it and no recorder installed, `palisade` with metrics-util's
/// debugging recorder installed (the storage `metrics-exporter-prometheus` uses too). Each case
/// opens its own log, under the recorder it is measured with.
fn metrics_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_cost/audit_append_no_sync");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    let mut case = |id: &str| {
        let name = format!("metrics-{id}");
        let mut log = new_log(
            &name,
            Durability::Group {
                records: u32::MAX,
                interval: Duration::from_secs(3600),
            },
        );
        let mut n = 0u64;
        group.bench_function(id, |b| {
            b.iter(|| {
                n += 1;
                black_box(log.append(event(n)).expect("append"))
            });
        });
        // Hundreds of megabytes of unsynced records: removed, so that the next case does not
        // run while the kernel writes this one's back (it measured 1.2x slower when it did).
        drop(log);
        let _ = fs::remove_dir_all(scratch_path(&name));
    };
    #[cfg(not(feature = "metrics"))]
    case("feature_off");
    #[cfg(feature = "metrics")]
    {
        case("no_recorder");
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || case("palisade"));
    }
    group.finish();
}

criterion_group!(
    benches,
    append,
    writer,
    verify,
    verify_hostile,
    proofs,
    metrics_cost
);
criterion_main!(benches);
