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

use std::{hint::black_box, time::Duration};

use palisade_crypt::Ciphertext;
use palisade_testkit::{Turns, TurnsArgs};

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

/// What one group measured.
struct Pairing {
    group: String,
    bytes: usize,
    turns: Turns,
}

impl Pairing {
    fn print(&self) {
        let Turns {
            subject_ns,
            baseline_ns,
            ratios,
        } = self.turns;
        println!(
            "  {:<20}: palisade {:>10}, aws_lc_rs {:>10} per operation; palisade / aws_lc_rs \
             {:.3} overall, per pair of slices median {:.3}, quartiles {:.3} to {:.3}",
            self.group,
            human(subject_ns),
            human(baseline_ns),
            self.turns.overall(),
            ratios.median,
            ratios.low,
            ratios.high,
        );
    }

    fn print_tsv(&self) {
        for (function, ns) in [
            ("palisade", self.turns.subject_ns),
            ("aws_lc_rs", self.turns.baseline_ns),
        ] {
            println!(
                "{} (side by side)\t{function}\t{:.1}\t{}",
                self.group, ns, self.bytes
            );
        }
    }
}

/// A time per operation in nanoseconds or microseconds.
fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

/// Encryption of `pt`: palisade against raw aws-lc-rs with a nonce from the OS.
fn encrypt(s: &Setup, pt: &[u8], pairs: u32) -> Turns {
    Turns::run(
        || {
            let sealed = s.crypter.encrypt(&s.context, black_box(pt));
            drop(black_box(sealed.expect("encrypt")));
        },
        || drop(black_box(lc_seal(&s.lc, nonce(), &s.aad, black_box(pt)))),
        pairs,
        SLICE,
    )
}

/// Decryption of `pt`'s ciphertext: each side opens its own.
fn decrypt(s: &Setup, ours: &Ciphertext, raw: &[u8], pairs: u32) -> Turns {
    Turns::run(
        || {
            let opened = s.crypter.decrypt(&s.context, black_box(ours));
            drop(black_box(opened.expect("decrypt")));
        },
        || drop(black_box(lc_open(&s.lc, &s.aad, black_box(raw)))),
        pairs,
        SLICE,
    )
}

fn main() -> Result<(), Error> {
    let TurnsArgs { tsv, pairs } = TurnsArgs::parse(std::env::args().skip(1), "aws_lc_ratio")?;

    let s = setup();
    let mut results = Vec::new();
    for (size, label) in SIZES {
        let pt = vec![0x5au8; size];
        results.push(Pairing {
            group: format!("encrypt_aws_lc/{label}"),
            bytes: size,
            turns: encrypt(&s, &pt, pairs),
        });
        let ours = s.crypter.encrypt(&s.context, &pt)?;
        let raw = lc_seal(&s.lc, nonce(), &s.aad, &pt);
        results.push(Pairing {
            group: format!("decrypt_aws_lc/{label}"),
            bytes: size,
            turns: decrypt(&s, &ours, &raw, pairs),
        });
    }

    if tsv {
        results.iter().for_each(Pairing::print_tsv);
        return Ok(());
    }
    println!("{pairs} pairs of slices of about {SLICE:?} per side, taken in turn");
    results.iter().for_each(Pairing::print);
    Ok(())
}
