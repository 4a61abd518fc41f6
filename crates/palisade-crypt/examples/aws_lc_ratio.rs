//! palisade's `aws-lc` backend against raw aws-lc-rs, side by side: the two take the machine in
//! turn, a slice of operations each, so that both meet the same host.
//!
//! `encrypt_aws_lc/*` and `decrypt_aws_lc/*` in `benches/crypt.rs` measure palisade and raw
//! aws-lc-rs seconds apart. On a virtual machine the host's speed drifts by more than the
//! backend's own work in that time: the same binary has put `aws_lc_rs` at 106 and at 122 ns
//! for one 64-byte decryption, and whole runs have put one decryption ratio or another over 1.2
//! while runs of the group alone stayed near 1.1. Here palisade and the baseline do the same
//! number of operations per slice, the one that goes first alternates, and the ratio is given
//! overall and per pair of slices.
//!
//! The operations and baselines are the criterion groups': encryption against `aws_lc_rs`
//! (AWS-LC's AES-256-GCM with a cached key and a nonce from the OS), decryption against the
//! same opening its own ciphertext, at 64 B, 4 KiB and 1 MiB, with the same keys, context and
//! associated data (`benches/support`).
//!
//! ```text
//! cargo build --profile bench -p palisade-crypt --features aws-lc --example aws_lc_ratio
//! target/release/examples/aws_lc_ratio           # 1,000 pairs of slices of about 2 ms
//! target/release/examples/aws_lc_ratio 100       # 100 pairs
//! target/release/examples/aws_lc_ratio --tsv     # for `cargo xtask bench`
//! ```
//!
//! With `--tsv` it prints one line per function and group instead: the criterion group it
//! stands beside with ` (side by side)` added, the function's name, nanoseconds per operation
//! and bytes per operation, separated by tabs. `cargo xtask bench` adds them to its table.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use palisade_crypt::Ciphertext;
use palisade_testkit::Spread;

#[path = "../benches/support/mod.rs"]
#[allow(
    dead_code,
    reason = "the `aes-gcm` baselines are the criterion benches'"
)]
mod support;
use support::{Setup, lc_open, lc_seal, nonce, setup};

type Error = Box<dyn std::error::Error>;

/// The sizes the criterion groups measure, with their labels.
const SIZES: [(usize, &str); 3] = [(64, "64B"), (4096, "4KiB"), (1 << 20, "1MiB")];

/// About how long one slice of one side runs.
const SLICE: Duration = Duration::from_millis(2);

/// One operation of one side, on the setup's keys.
type Operation<'a> = Box<dyn Fn() + 'a>;

/// What one group measured.
struct Pairing {
    group: String,
    bytes: usize,
    /// Seconds per operation over every counted slice.
    palisade: f64,
    raw: f64,
    /// The ratio per pair of slices.
    ratios: Spread,
}

impl Pairing {
    /// `pairs` pairs of slices of `per_slice` operations, the first of each pair alternating,
    /// after one uncounted slice each.
    fn run(
        group: String,
        bytes: usize,
        (palisade, raw): (Operation<'_>, Operation<'_>),
        pairs: u32,
    ) -> Self {
        let per_slice = slice_length(&palisade);
        let slice = |op: &Operation<'_>| {
            let start = Instant::now();
            for _ in 0..per_slice {
                op();
            }
            start.elapsed()
        };
        slice(&palisade);
        slice(&raw);
        let (mut total_a, mut total_b) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::new();
        for i in 0..pairs {
            let (a, b) = if i % 2 == 0 {
                let a = slice(&palisade);
                (a, slice(&raw))
            } else {
                let b = slice(&raw);
                (slice(&palisade), b)
            };
            total_a += a;
            total_b += b;
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        let operations = f64::from(pairs) * f64::from(per_slice);
        Self {
            group,
            bytes,
            palisade: total_a.as_secs_f64() / operations,
            raw: total_b.as_secs_f64() / operations,
            ratios: Spread::of(&ratios),
        }
    }

    fn print(&self) {
        let spread = self.ratios;
        println!(
            "  {:<20}: palisade {:>10}, aws_lc_rs {:>10} per operation; palisade / aws_lc_rs \
             {:.3} overall, per pair of slices median {:.3}, quartiles {:.3} to {:.3}",
            self.group,
            human(self.palisade),
            human(self.raw),
            self.palisade / self.raw,
            spread.median,
            spread.low,
            spread.high,
        );
    }

    fn print_tsv(&self) {
        for (function, seconds) in [("palisade", self.palisade), ("aws_lc_rs", self.raw)] {
            println!(
                "{} (side by side)\t{function}\t{:.1}\t{}",
                self.group,
                seconds * 1e9,
                self.bytes
            );
        }
    }
}

/// How many operations make a slice of about [`SLICE`], from a short trial of `op`.
fn slice_length(op: &Operation<'_>) -> u32 {
    let mut n = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        let took = start.elapsed();
        if took >= SLICE / 4 || n >= 1 << 24 {
            let per_op = took.as_secs_f64() / f64::from(n);
            // At least one operation, at most 2^24: far inside `u32`.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped to 1..=2^24 first"
            )]
            return (SLICE.as_secs_f64() / per_op).clamp(1.0, f64::from(1u32 << 24)) as u32;
        }
        n *= 2;
    }
}

/// A time per operation in nanoseconds or microseconds.
fn human(seconds: f64) -> String {
    if seconds < 1e-6 {
        format!("{:.1} ns", seconds * 1e9)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}

/// Encryption of `pt`: palisade against raw aws-lc-rs with a nonce from the OS.
fn encrypt<'a>(s: &'a Setup, pt: &'a [u8]) -> (Operation<'a>, Operation<'a>) {
    (
        Box::new(move || {
            black_box(
                s.crypter
                    .encrypt(&s.context, black_box(pt))
                    .expect("encrypt"),
            );
        }),
        Box::new(move || {
            black_box(lc_seal(&s.lc, nonce(), &s.aad, black_box(pt)));
        }),
    )
}

/// Decryption of `pt`'s ciphertext: each side opens its own.
fn decrypt<'a>(
    s: &'a Setup,
    ours: &'a Ciphertext,
    raw: &'a [u8],
) -> (Operation<'a>, Operation<'a>) {
    (
        Box::new(move || {
            black_box(
                s.crypter
                    .decrypt(&s.context, black_box(ours))
                    .expect("decrypt"),
            );
        }),
        Box::new(move || {
            black_box(lc_open(&s.lc, &s.aad, black_box(raw)));
        }),
    )
}

fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: aws_lc_ratio [--tsv] [PAIRS]";
    let tsv = args.first().is_some_and(|a| a == "--tsv");
    if tsv {
        args.remove(0);
    }
    let pairs: u32 = match args.as_slice() {
        [] => 1000,
        [n] => n.parse().map_err(|_| usage)?,
        _ => return Err(usage.into()),
    };
    if pairs == 0 {
        return Err(usage.into());
    }

    let s = setup();
    let mut results = Vec::new();
    for (size, label) in SIZES {
        let pt = vec![0x5au8; size];
        results.push(Pairing::run(
            format!("encrypt_aws_lc/{label}"),
            size,
            encrypt(&s, &pt),
            pairs,
        ));
        let ours = s.crypter.encrypt(&s.context, &pt)?;
        let raw = lc_seal(&s.lc, nonce(), &s.aad, &pt);
        results.push(Pairing::run(
            format!("decrypt_aws_lc/{label}"),
            size,
            decrypt(&s, &ours, &raw),
            pairs,
        ));
    }

    if tsv {
        results.iter().for_each(Pairing::print_tsv);
        return Ok(());
    }
    println!("{pairs} pairs of slices of about {SLICE:?} per side, taken in turn");
    results.iter().for_each(Pairing::print);
    Ok(())
}
