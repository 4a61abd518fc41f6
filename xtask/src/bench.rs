//! `cargo xtask bench`: criterion benches, then one table of ratios.
//!
//! In every criterion group the function named `palisade` is the subject and every other
//! function is a baseline (the raw crate palisade wraps, or a peer). The table gives each
//! baseline's time and `palisade / baseline`: below 1.00 palisade is faster. Where Debian's
//! `argon2` command (the libargon2 reference implementation) is installed, it is timed too.
//! Peers that cannot join the audited dependency graph are benchmarked from `benches/peers`, a
//! workspace of their own built into the same target directory. palisade-audit's append and
//! its plain baseline are also measured taking turns, outside criterion, as rows of their own.
//!
//! The workspace's benches run with every feature, so that feature-only groups (metrics, remote
//! key sets, Redis, the `aws-lc` backend) have results. Where a feature changes the subject
//! itself (palisade-crypt's backend, palisade-sanitize's removal counts), the bench names its
//! groups after the feature, and those benches run once more with default features: the table
//! shows what a user gets by default and what the feature costs, side by side.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::Path,
    process::{Command, Stdio},
    time::SystemTime,
};

use crate::{
    run::{cargo, step, target_dir},
    workspace_root,
};

/// Benches whose subject changes with a feature, run again with default features (their
/// groups are named after the feature when it is on).
const DEFAULT_FEATURE_BENCHES: [(&str, &str); 2] = [
    ("palisade-crypt", "crypt"),
    ("palisade-sanitize", "sanitize"),
];

/// glibc's allocator settings for every bench process: freed memory stays with the process
/// (no trimming of the heap's top) and blocks under 32 MiB come from the heap, not from `mmap`.
/// By default glibc adapts both thresholds to what the process has freed so far, so in a
/// criterion group a function's time depended on the functions measured before it in the same
/// process: on a 262 KB document `ammonia::clean` took 2.39 ms measured first and 2.09 to
/// 2.16 ms measured after palisade's `clean`, whichever of the two came second gained about
/// 0.3 ms. With these settings every function runs on a heap in the same steady state, as in
/// a long-running service. A `GLIBC_TUNABLES` already set by the caller is left as it is.
const STEADY_HEAP: (&str, &str) = (
    "GLIBC_TUNABLES",
    "glibc.malloc.trim_threshold=134217728:glibc.malloc.mmap_threshold=33554432",
);

/// `cargo` with `args`, for a process that measures: the heap held steady (`STEADY_HEAP`).
fn measuring(args: &[&str]) -> Command {
    let mut cmd = cargo(args);
    let (name, value) = STEADY_HEAP;
    if std::env::var_os(name).is_none() {
        cmd.env(name, value);
    }
    cmd
}

/// The allocator settings the measuring processes ran with, for the recorded table.
fn heap_settings() -> String {
    let (name, ours) = STEADY_HEAP;
    match std::env::var_os(name) {
        Some(theirs) => format!("`{name}={}` (set by the caller)", theirs.to_string_lossy()),
        None => format!("`{name}={ours}`"),
    }
}

/// One measured function: mean time per iteration in nanoseconds.
struct Measurement {
    group: String,
    function: String,
    mean_ns: f64,
    /// Bytes processed per iteration, when the group declares a byte throughput.
    bytes: Option<u64>,
    /// Elements (events, records) per iteration, when the group declares one.
    elements: Option<u64>,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let write = args.iter().any(|a| a == "--write");
    let report_only = args.iter().any(|a| a == "--report-only");
    // A run renders only what it measured: results left under `target/criterion` by an
    // earlier run, or by a bench binary run by hand, are older than this.
    let started = (!report_only).then(SystemTime::now);
    if !report_only {
        let criterion = |name: &str, mut cmd: Command| {
            if quick {
                cmd.arg("--quick");
            }
            step(name, &mut cmd)
        };
        criterion(
            "criterion benches",
            measuring(&["bench", "--workspace", "--benches", "--all-features", "--"]),
        )?;
        // Peers kept out of the audited workspace (see benches/peers/Cargo.toml), built into
        // the same target directory so their results join the palisade groups of that name.
        let mut peers = measuring(&["bench", "--manifest-path", "benches/peers/Cargo.toml", "--"]);
        peers.env("CARGO_TARGET_DIR", target_dir()?);
        criterion("peer benches (outside the workspace)", peers)?;
        for (package, bench) in DEFAULT_FEATURE_BENCHES {
            criterion(
                &format!("{package} with default features"),
                measuring(&["bench", "-p", package, "--bench", bench, "--"]),
            )?;
        }
    }
    let mut measurements = read_criterion(&target_dir()?.join("criterion"), started)?;
    if !report_only {
        measurements.extend(side_by_side(quick)?);
    }
    measurements.extend(libargon2_reference());
    let table = render(&measurements);
    println!("{table}");
    if write {
        record(&table, quick)?;
    }
    Ok(())
}

/// The results under `dir`; with `since`, only those written since then.
fn read_criterion(dir: &Path, since: Option<SystemTime>) -> Result<Vec<Measurement>, String> {
    let mut found = Vec::new();
    walk(dir, &mut found);
    let mut out = Vec::new();
    for new_dir in found {
        let written = fs::metadata(new_dir.join("estimates.json")).and_then(|m| m.modified());
        if let (Some(since), Ok(written)) = (since, written)
            && written < since
        {
            continue;
        }
        let bench: serde_json::Value = read_json(&new_dir.join("benchmark.json"))?;
        let estimates: serde_json::Value = read_json(&new_dir.join("estimates.json"))?;
        let (Some(group), Some(function), Some(mean_ns)) = (
            bench["group_id"].as_str(),
            bench["function_id"].as_str(),
            estimates["mean"]["point_estimate"].as_f64(),
        ) else {
            continue;
        };
        out.push(Measurement {
            group: group.to_owned(),
            function: function.to_owned(),
            mean_ns,
            bytes: bench["throughput"]["Bytes"].as_u64(),
            elements: bench["throughput"]["Elements"].as_u64(),
        });
    }
    if out.is_empty() {
        return Err(format!("no criterion results under {}", dir.display()));
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") && path.join("estimates.json").is_file()
            {
                found.push(path);
            } else {
                walk(&path, found);
            }
        }
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The examples that run a subject and its baseline in turn, a slice each, because criterion
/// measures the two seconds apart and the host drifts by more than their difference in that
/// time: the package, its example, the features it needs, and its arguments for `--quick`.
/// Each prints rows of groups named after the criterion groups they stand beside, with
/// ` (side by side)` added.
const SIDE_BY_SIDE: [(&str, &str, &str, &str); 3] = [
    // palisade-audit's append and a plain JSON Lines append, where a sync's latency drifts.
    ("palisade-audit", "append_ratio", "", "50"),
    // palisade-crypt's `aws-lc` backend and raw aws-lc-rs, where the host's speed drifts by
    // more than the backend's own work.
    ("palisade-crypt", "aws_lc_ratio", "aws-lc", "100"),
    // palisade-ratelimit's one-key decision and governor's, about 50 ns each.
    ("palisade-ratelimit", "governor_ratio", "", "100"),
];

fn side_by_side(quick: bool) -> Result<Vec<Measurement>, String> {
    let mut rows = Vec::new();
    for (package, example, features, quick_args) in SIDE_BY_SIDE {
        let mut args = vec!["run", "--quiet", "--profile", "bench", "-p", package];
        if !features.is_empty() {
            args.extend(["--features", features]);
        }
        args.extend(["--example", example, "--", "--tsv"]);
        let mut run = measuring(&args);
        if quick {
            run.arg(quick_args);
        }
        eprintln!("xtask: ==> {example} (side by side)");
        let out = run
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{example}: could not start cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!("{example} failed ({})", out.status));
        }
        rows.extend(parse_side_by_side(
            example,
            &String::from_utf8_lossy(&out.stdout),
        )?);
    }
    Ok(rows)
}

/// A side-by-side example's `--tsv` lines: group, function, nanoseconds per operation and,
/// when the group has a byte throughput, bytes per operation; otherwise one element (a record)
/// per operation.
fn parse_side_by_side(example: &str, text: &str) -> Result<Vec<Measurement>, String> {
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let (group, function, ns, bytes) = match fields.as_slice() {
                [group, function, ns] => (group, function, ns, None),
                [group, function, ns, bytes] => (group, function, ns, Some(bytes)),
                _ => return Err(format!("{example}: unexpected line {line:?}")),
            };
            let bytes = bytes
                .map(|b| b.parse::<u64>())
                .transpose()
                .map_err(|_| format!("{example}: not a byte count: {line:?}"))?;
            Ok(Measurement {
                group: (*group).to_owned(),
                function: (*function).to_owned(),
                mean_ns: ns
                    .parse()
                    .map_err(|_| format!("{example}: not a time: {line:?}"))?,
                elements: bytes.is_none().then_some(1),
                bytes,
            })
        })
        .collect()
}

/// Times `argon2` (Debian's CLI over libargon2) at the OWASP preset: the median of the
/// hashing time it reports over 15 runs.
fn libargon2_reference() -> Option<Measurement> {
    let mut seconds = Vec::new();
    for _ in 0..15 {
        let mut child = Command::new("argon2")
            .args([
                "saltsaltsaltsalt",
                "-id",
                "-t",
                "2",
                "-k",
                "19456",
                "-p",
                "1",
                "-l",
                "32",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        {
            use std::io::Write as _;
            child
                .stdin
                .take()?
                .write_all(b"correct horse battery staple")
                .ok()?;
        }
        let out = child.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let value = text
            .lines()
            .find_map(|l| l.trim().strip_suffix(" seconds"))
            .and_then(|v| v.trim().parse::<f64>().ok())?;
        seconds.push(value);
    }
    seconds.sort_by(f64::total_cmp);
    Some(Measurement {
        group: "password/hash_owasp".into(),
        function: "libargon2 (argon2 CLI)".into(),
        mean_ns: seconds[seconds.len() / 2] * 1e9,
        bytes: None,
        elements: None,
    })
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Time per iteration, with MB/s or elements/s when the group declares a throughput.
#[allow(clippy::cast_precision_loss, reason = "a rate for display")]
fn timing(m: &Measurement) -> String {
    if m.mean_ns <= 0.0 {
        return human(m.mean_ns);
    }
    let per_second = |n: u64| n as f64 / (m.mean_ns / 1e9);
    match (m.bytes, m.elements) {
        (Some(bytes), _) => format!("{} ({:.0} MB/s)", human(m.mean_ns), per_second(bytes) / 1e6),
        (None, Some(elements)) => {
            let rate = per_second(elements);
            if rate >= 1e6 {
                format!("{} ({:.2} M/s)", human(m.mean_ns), rate / 1e6)
            } else {
                format!("{} ({:.1} k/s)", human(m.mean_ns), rate / 1e3)
            }
        }
        (None, None) => human(m.mean_ns),
    }
}

fn render(measurements: &[Measurement]) -> String {
    let mut groups: BTreeMap<&str, Vec<&Measurement>> = BTreeMap::new();
    for m in measurements {
        groups.entry(&m.group).or_default().push(m);
    }
    let mut out = String::from(
        "| benchmark | palisade | baseline | baseline time | palisade / baseline |\n\
         |---|---|---|---|---|\n",
    );
    for (group, members) in groups {
        let Some(subject) = members.iter().find(|m| m.function == "palisade") else {
            continue;
        };
        let mut baselines: Vec<&&Measurement> = members
            .iter()
            .filter(|m| m.function != "palisade")
            .collect();
        baselines.sort_by(|a, b| a.function.cmp(&b.function));
        for baseline in baselines {
            let _ = writeln!(
                out,
                "| {group} | {} | {} | {} | {:.2} |",
                timing(subject),
                baseline.function,
                timing(baseline),
                subject.mean_ns / baseline.mean_ns
            );
        }
    }
    out
}

/// Rewrites the results section of docs/benchmarks.md with the machine, date and table.
fn record(table: &str, quick: bool) -> Result<(), String> {
    let path = workspace_root().join("docs/benchmarks.md");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let marker = "<!-- results: written by `cargo xtask bench --write` -->";
    let head = text.split(marker).next().unwrap_or(&text);
    let machine = machine();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let command = if quick {
        "cargo xtask bench --quick --write"
    } else {
        "cargo xtask bench --write"
    };
    let body = format!(
        "{head}{marker}\n\n- Machine: {machine}\n- Date: {date}\n- Command: `{command}`\n\
         - Heap: {heap}\n\n{table}",
        heap = heap_settings(),
    );
    fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {rustc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_table_names_the_heap_settings() {
        let (name, ours) = STEADY_HEAP;
        let line = heap_settings();
        match std::env::var_os(name) {
            Some(theirs) => {
                assert!(line.contains(&*theirs.to_string_lossy()), "{line}");
                assert!(line.ends_with("(set by the caller)"), "{line}");
            }
            None => assert_eq!(line, format!("`{name}={ours}`")),
        }
    }

    #[test]
    fn measuring_processes_run_on_a_steady_heap() {
        let cmd = measuring(&["bench"]);
        let (name, value) = STEADY_HEAP;
        let set = cmd
            .get_envs()
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value);
        match std::env::var_os(name) {
            // The caller's own settings win, and the child inherits them.
            Some(_) => assert_eq!(set, None),
            None => assert_eq!(set, Some(std::ffi::OsStr::new(value))),
        }
        for setting in value.split(':') {
            let (key, number) = setting.split_once('=').expect("key=value");
            assert!(key.starts_with("glibc.malloc."), "{key}");
            // 32 MiB is the largest mmap threshold glibc accepts on 64-bit targets.
            assert!(
                number.parse::<u64>().expect("a number") >= 32 << 20,
                "{setting}"
            );
        }
    }

    #[test]
    fn side_by_side_lines_become_rows_of_their_groups() {
        let rows = parse_side_by_side(
            "append_ratio",
            "audit/append_group_commit_64 (side by side)\tpalisade\t6450.5\n\
             audit/append_group_commit_64 (side by side)\tplain jsonl append\t4450.0\n",
        )
        .expect("two rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].group, "audit/append_group_commit_64 (side by side)");
        assert_eq!(rows[1].function, "plain jsonl append");
        assert!((rows[0].mean_ns - 6450.5).abs() < 1e-9);
        assert_eq!(rows[0].elements, Some(1));
        let table = render(&rows);
        assert!(
            table.contains("| plain jsonl append | 4.45 µs (224.7 k/s) | 1.45 |"),
            "{table}"
        );
    }

    /// A run renders only the results it wrote: one left by an earlier run (or a bench binary
    /// run by hand into the same directory) is skipped, and `--report-only` shows them all.
    #[test]
    fn results_older_than_the_run_are_not_rendered() {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let new_dir = dir
            .join("crypt_decrypt_64B")
            .join("feature_off")
            .join("new");
        fs::create_dir_all(&new_dir).expect("dir");
        fs::write(
            new_dir.join("benchmark.json"),
            r#"{"group_id": "metrics_cost/crypt_decrypt_64B", "function_id": "feature_off"}"#,
        )
        .expect("benchmark.json");
        fs::write(
            new_dir.join("estimates.json"),
            r#"{"mean": {"point_estimate": 154.0}}"#,
        )
        .expect("estimates.json");
        let all = read_criterion(&dir, None).expect("one result");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].function, "feature_off");
        let later = SystemTime::now() + std::time::Duration::from_secs(1);
        assert!(
            read_criterion(&dir, Some(later)).is_err(),
            "no result of this run"
        );
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_malformed_side_by_side_line_is_an_error() {
        for bad in [
            "group\tpalisade",
            "group\tpalisade\tsoon",
            "g\tf\t1\tmany",
            "g\tf\t1\t64\textra",
        ] {
            assert!(parse_side_by_side("example", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_side_by_side_line_with_bytes_has_a_byte_rate() {
        let rows = parse_side_by_side(
            "aws_lc_ratio",
            "decrypt_aws_lc/64B (side by side)\tpalisade\t128.0\t64\n\
             decrypt_aws_lc/64B (side by side)\taws_lc_rs\t112.0\t64\n",
        )
        .expect("two rows");
        assert_eq!((rows[0].bytes, rows[0].elements), (Some(64), None));
        let table = render(&rows);
        assert!(
            table.contains("| aws_lc_rs | 112 ns (571 MB/s) | 1.14 |"),
            "{table}"
        );
    }
}
