//! palisade's append against a plain JSON Lines append, side by side: the two appenders take
//! the machine in turn, a slice of records each, so that both meet the same disk and the same
//! host.
//!
//! `audit/append_group_commit_64` measures palisade and the plain append seconds apart. On a
//! virtual machine a sync's latency and the host's speed drift by more than an append's own
//! work in that time, so one bench binary's ratio ranges over 1.3 to 1.8 from run to run. Here
//! both append the same number of records per slice (under group commit a whole number of
//! 64-record groups, so each slice makes the same number of syncs), the one that goes first
//! alternates, and the ratio is given overall and per pair of slices. Two phases:
//!
//! - **group commit**: a sync every 64 records, or when the oldest unsynced record is 10 ms
//!   old (`audit/append_group_commit_64`'s policy), with the plain append's time in
//!   `fdatasync` and the latency of one;
//! - **no sync**: the same appends never synced (`audit/append_no_sync_pressure`), which
//!   leaves each appender's own work: the formatting, the hashing and the `write`.
//!
//! ```text
//! cargo build --profile bench -p palisade-audit --example append_ratio
//! target/release/examples/append_ratio            # 200 slices of 512 records in each phase
//! target/release/examples/append_ratio 50 2048    # 50 slices of 2,048
//! target/release/examples/append_ratio --tsv      # for `cargo xtask bench`
//! ```
//!
//! With `--tsv` it prints one line per appender and phase instead: the criterion group it
//! stands beside, with ` (side by side)` added, the function's name and nanoseconds per record,
//! separated by tabs. `cargo xtask bench` adds them to its table.
//!
//! The same event and the same plain line as `benches/audit.rs`. One slice of each appender,
//! uncounted, starts each phase. The files are written under the system's temporary directory
//! and removed at the end.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{
    fs::{self, File, OpenOptions},
    io::Write as _,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use palisade_audit::{AuditLog, Durability, MacKey, SecretBox, SigningKey};
use palisade_testkit::Spread;

#[path = "../benches/support/workload.rs"]
mod workload;
use workload::{event, json_line};

type Error = Box<dyn std::error::Error>;

/// Records per sync under group commit, for both appenders.
const GROUP: u64 = 64;

/// The baseline: one `write` per line and a `fdatasync` every `every` lines.
struct PlainJsonl {
    file: File,
    every: u64,
    pending: u64,
    n: u64,
    /// Time spent in `fdatasync`, and the number of calls.
    syncing: Duration,
    syncs: u64,
}

impl PlainJsonl {
    fn create(path: &Path, every: u64) -> std::io::Result<Self> {
        Ok(Self {
            file: OpenOptions::new().create(true).append(true).open(path)?,
            every,
            pending: 0,
            n: 0,
            syncing: Duration::ZERO,
            syncs: 0,
        })
    }

    /// Appends `count` lines and returns the time it took.
    fn slice(&mut self, count: u64) -> std::io::Result<Duration> {
        let start = Instant::now();
        for _ in 0..count {
            self.n += 1;
            self.file.write_all(json_line(self.n).as_bytes())?;
            self.pending += 1;
            if self.pending >= self.every {
                let sync = Instant::now();
                self.file.sync_data()?;
                self.syncing += sync.elapsed();
                self.syncs += 1;
                self.pending = 0;
            }
        }
        Ok(start.elapsed())
    }
}

/// The subject: an [`AuditLog`] with the bench's keys.
struct Palisade {
    log: AuditLog,
    n: u64,
}

impl Palisade {
    fn create(dir: &Path, durability: Durability) -> Result<Self, Error> {
        let mut log = AuditLog::builder(dir)
            .durability(durability)
            .signer(Arc::new(SigningKey::from_secret(&SecretBox::new(
                Box::new([9; 32]),
            ))))
            .epoch0_key(MacKey::from_bytes([7; 32]))
            .create_with(|_| Ok(()))?;
        // Start with no record pending, so that slices line up with groups.
        log.flush()?;
        Ok(Self { log, n: 0 })
    }

    /// Appends `count` events and returns the time it took.
    fn slice(&mut self, count: u64) -> Result<Duration, Error> {
        let start = Instant::now();
        for _ in 0..count {
            self.n += 1;
            let _ = self.log.append(event(self.n))?;
        }
        Ok(start.elapsed())
    }
}

/// What one phase measured.
struct Phase {
    /// Seconds per record, over every counted slice.
    palisade: f64,
    plain: f64,
    /// The ratio per pair of slices.
    ratios: Spread,
}

impl Phase {
    /// `slices` pairs of slices of `per_slice` records, the first of each pair alternating,
    /// after one uncounted slice each.
    fn run(
        palisade: &mut Palisade,
        plain: &mut PlainJsonl,
        slices: u64,
        per_slice: u64,
    ) -> Result<Self, Error> {
        palisade.slice(per_slice)?;
        plain.slice(per_slice)?;
        (plain.syncing, plain.syncs) = (Duration::ZERO, 0);
        let (mut total_a, mut total_b) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::new();
        for i in 0..slices {
            let (a, b) = if i % 2 == 0 {
                let a = palisade.slice(per_slice)?;
                (a, plain.slice(per_slice)?)
            } else {
                let b = plain.slice(per_slice)?;
                (palisade.slice(per_slice)?, b)
            };
            total_a += a;
            total_b += b;
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        let records = count(slices * per_slice);
        Ok(Self {
            palisade: total_a.as_secs_f64() / records,
            plain: total_b.as_secs_f64() / records,
            ratios: Spread::of(&ratios),
        })
    }

    fn print(&self, name: &str) {
        let spread = self.ratios;
        println!(
            "  {name:<13}: palisade {:5.2} µs, plain {:5.2} µs per record; palisade / plain \
             {:.3} overall, per pair of slices median {:.3}, quartiles {:.3} to {:.3}",
            self.palisade * 1e6,
            self.plain * 1e6,
            self.palisade / self.plain,
            spread.median,
            spread.low,
            spread.high,
        );
    }
}

/// A count of records or syncs as a float: far below 2^52 in any run.
#[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn count(n: u64) -> f64 {
    n as f64
}

fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: append_ratio [--tsv] [SLICES [RECORDS_PER_SLICE]] \
                 (records: a multiple of 64)";
    let tsv = args.first().is_some_and(|a| a == "--tsv");
    if tsv {
        args.remove(0);
    }
    let number = |i: usize, default: u64| -> Result<u64, Error> {
        args.get(i)
            .map_or(Ok(default), |s| s.parse().map_err(|_| usage.into()))
    };
    let (slices, per_slice) = (number(0, 200)?, number(1, 512)?);
    if slices == 0 || per_slice == 0 || per_slice % GROUP != 0 || args.len() > 2 {
        return Err(usage.into());
    }
    let records = slices.checked_mul(per_slice).ok_or(usage)?;

    let dir = std::env::temp_dir().join(format!(
        "palisade-audit-append-ratio-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;

    let group = Durability::Group {
        records: u32::try_from(GROUP)?,
        interval: Duration::from_millis(10),
    };
    let mut palisade = Palisade::create(&dir.join("group"), group)?;
    let mut plain = PlainJsonl::create(&dir.join("group.jsonl"), GROUP)?;
    let synced = Phase::run(&mut palisade, &mut plain, slices, per_slice)?;
    let sync_share = plain.syncing.as_secs_f64() / count(records);
    let sync_latency = plain.syncing.as_secs_f64() / count(plain.syncs.max(1));
    // Both files closed (the log syncs what is pending) before the next phase starts.
    drop((palisade, plain));

    let never = Durability::Group {
        records: u32::MAX,
        interval: Duration::from_secs(3600),
    };
    let mut palisade = Palisade::create(&dir.join("nosync"), never)?;
    let mut plain = PlainJsonl::create(&dir.join("nosync.jsonl"), u64::MAX)?;
    let unsynced = Phase::run(&mut palisade, &mut plain, slices, per_slice)?;
    drop((palisade, plain));
    fs::remove_dir_all(&dir)?;

    if tsv {
        for (group, phase) in [
            ("audit/append_group_commit_64", &synced),
            ("audit/append_no_sync_pressure", &unsynced),
        ] {
            println!(
                "{group} (side by side)\tpalisade\t{:.1}",
                phase.palisade * 1e9
            );
            println!(
                "{group} (side by side)\tplain jsonl append\t{:.1}",
                phase.plain * 1e9
            );
        }
        return Ok(());
    }
    println!("{slices} slices of {per_slice} records per appender and phase, taken in turn");
    synced.print("group commit");
    println!(
        "  {:<13}  the plain append's syncs: {:.2} µs per record, {:.0} µs each",
        "",
        sync_share * 1e6,
        sync_latency * 1e6,
    );
    unsynced.print("no sync");
    Ok(())
}
