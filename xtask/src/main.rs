//! `cargo xtask`: the workspace's own automation (CI, audit, DAST, benchmarks, fuzzing, tidy).
//!
//! Plain Rust with two small dependencies (`serde_json`, for cargo, criterion and testssl.sh
//! output; `anyhow`, for the scans' errors), so it builds in seconds on a fresh machine and
//! runs the same on every developer's and CI's.

#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool prints its results"
)]

mod audit;
mod bench;
mod ci;
mod constant_time;
mod dast;
mod fuzz;
mod load;
mod metrics_catalogue;
mod run;
mod security_policy;
mod tidy;
mod tls_scan;

use std::{path::PathBuf, process::ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci [--full] [--advisory-db P]
                           fmt, clippy, tests, dast (with the TLS scan), doctests, docs, tests without default
                           features, alert rules, tidy and audit; stops at the first failure; --full also lints every package's tests,
                           benches and examples without default features (slower on a cold target)
  alerts                   promtool check and test of deploy/prometheus/'s rules, amtool check of the
                           Alertmanager example (also run by ci)
  audit [--advisory-db P] [--fresh-cargo-home]
                           cargo fetch, then cargo-deny (advisories, bans, licenses, sources), unsafe and
                           metadata checks; P is an offline copy of the RustSec advisory database (a plain
                           directory); --fresh-cargo-home runs the dependency checks with an empty
                           CARGO_HOME, as on a new machine (ci always does)
  bench [--quick] [--write] [--report-only]
                           criterion benches and palisade-audit's appends side by side, then a table of
                           ratios; --write records it in docs/benchmarks.md; --report-only prints the table
                           from the last criterion results without running anything
  dast [--examples N] [--seed S]
                           builds examples/secure-api and attacks it while it runs (once on SQLite, once with
                           a redis-server): schemathesis (pinned, installed in target/dast/venv) with every
                           check and the stateful links, N examples per operation and phase (default 50),
                           seed S; then the hostile-request battery; then tls-scan on the same binary; a
                           table of findings, failing on any
  load [--seconds N] [--connections 16,64] [--only get,login,no-token,forged,rate-limited]
                           builds secure-api (release) and drives it with wrk (installed from Debian when
                           missing) for N seconds (default 10) per request kind and connection count: a valid
                           GET, a login, 401s and 429s; a table of requests/s, p50/p99, answers by status,
                           peak memory and the audit queue's depth
  fuzz [--seconds N]       smoke-runs every cargo-fuzz target for N seconds (default 10; needs nightly)
  tls-scan [--binary PATH] builds secure-api (or takes PATH), serves it with TLS and a test CA on a free loopback
                           port, and scans it with testssl.sh; fails on a protocol or cipher finding above LOW
  tidy                     repository invariants (also run by `cargo test -p xtask`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "ci" => ci::run(rest),
        "alerts" => ci::alert_rules(),
        "audit" => audit::run(rest),
        "bench" => bench::run(rest),
        "dast" => dast::run(rest),
        "fuzz" => fuzz::run(rest),
        "load" => load::run(rest),
        "tls-scan" => tls_scan::main(rest),
        "tidy" => tidy::check(&workspace_root()).map(|()| eprintln!("tidy: ok")),
        "help" | "--help" | "-h" => {
            eprint!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask's manifest directory's parent.
pub(crate) fn workspace_root() -> PathBuf {
    // `cargo xtask` (an alias of `cargo run`) names, at run time, the manifest of the checkout
    // it runs in. The value compiled in names the checkout that built the binary: with a build
    // cache shared between clones (`.ci/run`'s), that can be another clone, or one since deleted.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest
        .parent()
        .map_or_else(|| manifest.clone(), std::path::Path::to_path_buf)
}

/// Takes `--name VALUE` out of `args`.
pub(crate) fn flag_value(args: &[String], name: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value")),
    }
}
