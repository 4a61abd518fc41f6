//! One operation of `benches/ratelimit.rs`'s `memory_check_one_key`, repeated a given number of
//! times, for instruction counts under callgrind: unlike wall time they do not move with the
//! load of a shared machine. Run it twice with different counts and divide the difference of
//! the totals by the difference of the counts, so set-up (the policy's first use, the key's
//! insertion) cancels out:
//!
//! ```text
//! cargo bench -p palisade-ratelimit --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* \
//!     one_key/palisade 300000
//! ```
//!
//! Operations: `one_key/palisade` (`MemoryBackend::check`) and `one_key/governor` (governor's
//! keyed limiter with its default store), with the same key, policy and quota as the bench.

use std::{hint::black_box, num::NonZeroU32, time::Duration};

use governor::{Quota, RateLimiter};
use palisade_ratelimit::{MemoryBackend, Policy};

fn main() {
    // `cargo bench` (and `cargo xtask bench`) run every bench with flags only (`--bench`):
    // nothing to count then.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [op, count] = args.as_slice() else {
        return;
    };
    let count: usize = count.parse().expect("count");
    match op.as_str() {
        "one_key/palisade" => {
            let backend = MemoryBackend::default();
            let policy = Policy::new("bench", 1_000_000, Duration::from_secs(1))
                .and_then(|p| p.with_burst(1_000))
                .expect("policy");
            for _ in 0..count {
                let _ = black_box(backend.check(black_box("203.0.113.7"), &policy));
            }
        }
        "one_key/governor" => {
            let quota = Quota::with_period(Duration::from_micros(1))
                .expect("non-zero")
                .allow_burst(NonZeroU32::new(1_000).expect("non-zero"));
            let raw = RateLimiter::keyed(quota);
            let key = "203.0.113.7".to_owned();
            for _ in 0..count {
                drop(black_box(raw.check_key(black_box(&key))));
            }
        }
        other => {
            eprintln!("unknown operation {other}");
            std::process::exit(2);
        }
    }
}
