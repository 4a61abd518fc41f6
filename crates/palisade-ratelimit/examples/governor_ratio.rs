//! palisade's in-memory decision for one key against raw governor's, side by side: the two take
//! the machine in turn, a slice of decisions each, so that both meet the same host.
//!
//! `memory_check_one_key` in `benches/ratelimit.rs` times palisade and governor seconds apart.
//! A decision takes about 50 ns, and on a virtual machine the host's speed drifts by more than
//! their difference in that time: the group alone has given 1.03 to 1.11 on one binary. Here
//! both decide the same number of times per slice, the one that goes first alternates, and the
//! ratio is given overall and per pair of slices.
//!
//! The same key, policy and quota as the criterion group: one request a microsecond with a
//! burst of 1,000, so that nearly every decision admits.
//!
//! ```text
//! cargo build --profile bench -p palisade-ratelimit --example governor_ratio
//! target/release/examples/governor_ratio          # 1,000 pairs of slices of about 2 ms
//! target/release/examples/governor_ratio 100      # 100 pairs
//! target/release/examples/governor_ratio --tsv    # for `cargo xtask bench`
//! ```
//!
//! With `--tsv` it prints one line per function instead: the criterion group with
//! ` (side by side)` added, the function's name and nanoseconds per decision, separated by
//! tabs. `cargo xtask bench` adds them to its table.

#![allow(clippy::print_stdout, reason = "an example shows its results")]

use std::{hint::black_box, num::NonZeroU32, time::Duration};

use governor::{Quota, RateLimiter};
use palisade_ratelimit::{MemoryBackend, Policy};
use palisade_testkit::{Turns, TurnsArgs};

type Error = Box<dyn std::error::Error>;

const GROUP: &str = "memory_check_one_key (side by side)";

fn main() -> Result<(), Error> {
    let TurnsArgs { tsv, pairs } = TurnsArgs::parse(std::env::args().skip(1), "governor_ratio")?;

    let backend = MemoryBackend::default();
    let policy = Policy::new("bench", 1_000_000, Duration::from_secs(1))?.with_burst(1_000)?;
    let quota = Quota::with_period(Duration::from_micros(1))
        .ok_or("a zero period")?
        .allow_burst(NonZeroU32::new(1_000).ok_or("a zero burst")?);
    let raw = RateLimiter::keyed(quota);
    let key = "203.0.113.7".to_owned();

    let turns = Turns::run(
        || {
            let _ = black_box(backend.check(black_box("203.0.113.7"), &policy));
        },
        || {
            let _ = black_box(raw.check_key(black_box(&key)));
        },
        pairs,
        Duration::from_millis(2),
    );

    if tsv {
        println!("{GROUP}\tpalisade\t{:.2}", turns.subject_ns);
        println!("{GROUP}\tgovernor\t{:.2}", turns.baseline_ns);
        return Ok(());
    }
    let ratios = turns.ratios;
    println!(
        "{pairs} pairs of slices of about 2 ms per side, taken in turn\n  \
         one key: palisade {:.1} ns, governor {:.1} ns per decision; palisade / governor {:.3} \
         overall, per pair of slices median {:.3}, quartiles {:.3} to {:.3}",
        turns.subject_ns,
        turns.baseline_ns,
        turns.overall(),
        ratios.median,
        ratios.low,
        ratios.high,
    );
    Ok(())
}
