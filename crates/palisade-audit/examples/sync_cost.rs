//! What a group commit's sync costs on this file system: appending to a file, against writing
//! over zeros written ahead of the records (what `AuditLog` does, see
//! `AuditLogBuilder::preallocate`), with the zeros written a page at a time or in one write.
//!
//! ```text
//! cargo run --release -p palisade-audit --example sync_cost            # under the temp dir
//! cargo run --release -p palisade-audit --example sync_cost -- /var/log/audit-test 8
//! ```
//!
//! Arguments: the directory to write in (default the system's temporary directory; measure on
//! the file system the log will live on) and the number of rounds (default 6). Each round
//! writes 16,384 lines of 406 bytes (about a palisade record's length) with each method in
//! turn, the order alternating, with a `fdatasync` every 64 lines; the first round is not
//! counted. It prints, per line, the time in all, the time in `fdatasync`, and the rest (the
//! writes, and the zeros for the methods that write them).
//!
//! Writing over zeros keeps the file's length, so a sync has no length to write. It pays on
//! file systems that write in place (ext4, XFS); on copy-on-write ones (btrfs, ZFS) every
//! write allocates anyway, and the zeros only cost: turn preallocation off there.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{
    fs::{self, File, OpenOptions},
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

type Error = Box<dyn std::error::Error>;

const LINE: usize = 406;
const GROUP: usize = 64;
const PER_ROUND: usize = 16_384;
const AHEAD: u64 = 1 << 20;
const PAGE: usize = 4096;

/// How the lines reach the file.
#[derive(Clone, Copy)]
enum Method {
    /// `O_APPEND`: every write grows the file.
    Append,
    /// Over zeros written 1 MiB ahead, a page per write (as `AuditLog` writes them).
    ZerosByPage,
    /// Over zeros written 1 MiB ahead in one write.
    ZerosAtOnce,
}

impl Method {
    const ALL: [Self; 3] = [Self::Append, Self::ZerosByPage, Self::ZerosAtOnce];

    fn name(self) -> &'static str {
        match self {
            Self::Append => "append",
            Self::ZerosByPage => "over zeros, page writes",
            Self::ZerosAtOnce => "over zeros, one 1 MiB write",
        }
    }
}

struct Target {
    method: Method,
    file: File,
    path: PathBuf,
    /// Where the lines end, and where the zeros end.
    len: u64,
    allocated: u64,
    in_all: Duration,
    syncing: Duration,
    lines: u32,
    syncs: u32,
}

impl Target {
    fn create(dir: &Path, method: Method, n: usize) -> Result<Self, Error> {
        let path = dir.join(format!("sync-cost-{n}.jsonl"));
        let _ = fs::remove_file(&path);
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .append(matches!(method, Method::Append))
            .open(&path)?;
        Ok(Self {
            method,
            file,
            path,
            len: 0,
            allocated: 0,
            in_all: Duration::ZERO,
            syncing: Duration::ZERO,
            lines: 0,
            syncs: 0,
        })
    }

    /// Writes `line` after the last one; where the method keeps zeros ahead and the line would
    /// pass them, first writes `zeros` (`AHEAD` bytes) after the ones already there.
    fn write_line(&mut self, line: &[u8], zeros: &[u8]) -> std::io::Result<()> {
        let end = self.len + line.len() as u64;
        if end > self.allocated && !matches!(self.method, Method::Append) {
            self.file.seek(SeekFrom::Start(self.allocated))?;
            match self.method {
                Method::ZerosByPage => {
                    for page in zeros.chunks(PAGE) {
                        self.file.write_all(page)?;
                    }
                }
                _ => self.file.write_all(zeros)?,
            }
            self.allocated += AHEAD;
            self.file.seek(SeekFrom::Start(self.len))?;
        }
        self.file.write_all(line)?;
        self.len = end;
        Ok(())
    }

    /// Writes one round's lines (`PER_ROUND` of them), syncing every `GROUP`.
    fn round(&mut self, lines: &[Vec<u8>], zeros: &[u8], counted: bool) -> std::io::Result<()> {
        let start = Instant::now();
        let mut syncing = Duration::ZERO;
        for (i, line) in lines.iter().enumerate() {
            self.write_line(line, zeros)?;
            if (i + 1) % GROUP == 0 {
                let sync = Instant::now();
                self.file.sync_data()?;
                syncing += sync.elapsed();
            }
        }
        if counted {
            self.in_all += start.elapsed();
            self.syncing += syncing;
            self.lines += PER_ROUND as u32;
            self.syncs += (PER_ROUND / GROUP) as u32;
        }
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(
        || std::env::temp_dir().join("palisade-sync-cost"),
        PathBuf::from,
    );
    let rounds: usize = args.next().map_or(Ok(6), |r| r.parse())?;
    fs::create_dir_all(&dir)?;
    let mut targets = Method::ALL
        .iter()
        .enumerate()
        .map(|(n, &m)| Target::create(&dir, m, n))
        .collect::<Result<Vec<_>, _>>()?;
    // Allocated once, outside the timed rounds.
    let zeros = vec![0u8; AHEAD as usize];
    for round in 0..=rounds {
        let lines: Vec<Vec<u8>> = (0..PER_ROUND)
            .map(|i| {
                let mut line =
                    format!("{{\"seq\":{},\"pad\":\"", round * PER_ROUND + i).into_bytes();
                line.resize(LINE - 3, b'x');
                line.extend_from_slice(b"\"}\n");
                line
            })
            .collect();
        let order: Vec<usize> = if round % 2 == 0 {
            (0..targets.len()).collect()
        } else {
            (0..targets.len()).rev().collect()
        };
        for i in order {
            targets[i].round(&lines, &zeros, round > 0)?;
        }
    }
    println!(
        "{rounds} rounds of {PER_ROUND} lines of {LINE} bytes per method, fdatasync every {GROUP}, in {}",
        dir.display()
    );
    for t in &targets {
        let per_line = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(t.lines);
        println!(
            "  {:28} {:5.2} µs a line: syncs {:5.2} µs ({:4.0} µs each), the rest {:4.2} µs",
            t.method.name(),
            per_line(t.in_all),
            per_line(t.syncing),
            t.syncing.as_secs_f64() * 1e6 / f64::from(t.syncs),
            per_line(t.in_all.saturating_sub(t.syncing)),
        );
    }
    for t in targets {
        drop(t.file);
        fs::remove_file(&t.path)?;
    }
    Ok(())
}
