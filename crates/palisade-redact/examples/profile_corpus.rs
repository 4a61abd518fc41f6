//! Redacts the bench corpus once: a fixed workload for `valgrind --tool=callgrind`.
//! Argument: `corpus` (build the corpus only), `build` (and the redactor), `benign`,
//! `secrets` (and redact that log once), `fields` (and redact the short texts of an audit
//! record, palisade-audit's bench event, 10,000 times: 60,000 calls).
#![allow(clippy::print_stdout, missing_docs, reason = "a profiling aid")]
#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::hint::black_box;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let corpus = corpus::Corpus::build(0x05EC_2E75, 20_000, 600);
    let log = corpus.log(which == "secrets");
    if which == "dump" {
        print!("{log}");
        return;
    }
    if which == "corpus" {
        println!("{}", log.len());
        return;
    }
    let r = black_box(palisade_redact::Redactor::new());
    let mut n = 0usize;
    if which == "benign" || which == "secrets" {
        for line in log.lines() {
            n += black_box(r.redact(black_box(line))).len();
        }
    }
    if which == "fields" {
        let fields = [
            "auth.login",
            "user:17",
            "203.0.113.9",
            "session",
            "req-0000002a",
            "password",
        ];
        for _ in 0..10_000 {
            for field in fields {
                n += black_box(r.redact(black_box(field))).len();
            }
        }
    }
    println!("{} {n}", log.len());
}
