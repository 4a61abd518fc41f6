//! Sanitizes one bench input a few times: a fixed workload for `valgrind --tool=callgrind`.
//! Arguments: `FILE` (`prose` or `hostile`, from `benches/data`), `MODE` (`read`: read the file
//! only; `palisade`: `Policy::rich().clean`; `report`: `Policy::rich().clean_with_report`;
//! `ammonia`: `ammonia::clean`; `ammonia-twice`: `ammonia::clean` on its own output once more)
//! and the number of runs (default 5). Built with `--features metrics`, `palisade` counts
//! removals too, into the facade's no-op recorder.
#![allow(clippy::print_stdout, missing_docs, reason = "a profiling aid")]

use std::hint::black_box;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().unwrap_or_else(|| "prose".to_owned());
    let mode = args.next().unwrap_or_else(|| "palisade".to_owned());
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let path = format!("{}/benches/data/{file}.html", env!("CARGO_MANIFEST_DIR"));
    let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let policy = palisade_sanitize::html::Policy::rich();
    let mut n = 0usize;
    for _ in 0..runs {
        n += match mode.as_str() {
            "read" => 0,
            "palisade" => policy
                .clean(black_box(&html))
                .expect("clean")
                .as_str()
                .len(),
            "report" => policy
                .clean_with_report(black_box(&html))
                .expect("clean")
                .1
                .total(),
            "ammonia" => ammonia::clean(black_box(&html)).len(),
            "ammonia-twice" => ammonia::clean(&ammonia::clean(black_box(&html))).len(),
            other => panic!("unknown mode {other}"),
        };
    }
    println!("{} {n}", html.len());
}
