//! `cargo xtask load`: the reference service under an HTTP load generator over loopback.
//!
//! Builds `examples/secure-api` with the release profile, starts it on a free loopback port
//! (as `cargo xtask dast` does, with the same throwaway secrets), and drives it with `wrk`
//! (Debian's package, installed when missing) at each connection count: an authenticated
//! `GET /me`, a login (bound by Argon2id), a request without a token and one with a forged
//! token (401), and a flood past the per-client rate limit (429, on a second instance whose
//! limit is one request a minute). While `wrk` runs, the service's `/proc` status and its
//! admin listener's `/metrics` are sampled for the resident set and the audit writer's queue.
//! Prints one table. It judges no speed (speed lives in benches, and a loaded machine moves
//! these figures), but it fails when the service's peak resident memory leaves the password
//! hasher's budget by more than [`PEAK_RSS_ABOVE_BUDGET_MIB`]: logins from many connections
//! once took the release build to 2.7 GiB against a 512 MiB budget.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    dast::{
        http::{Piece, exchange},
        register_and_log_in,
        service::{self, Service},
    },
    run::{cargo, step, target_dir},
};

/// The account the load logs in with.
const EMAIL: &str = "load@bench.test";
const PASSWORD: &str = "correct horse battery staple";

/// Connection counts measured when `--connections` is not given.
const DEFAULT_CONNECTIONS: [u32; 2] = [16, 64];
const DEFAULT_SECONDS: u32 = 10;
/// The limited instance's window: it admits one request per client in this many seconds.
const LIMITED_WINDOW_SECS: u32 = 60;
/// The longest run: ten seconds shorter than the limited instance's window, whose one admitted
/// request each rate-limited run starts by spending.
const MAX_SECONDS: u32 = LIMITED_WINDOW_SECS - 10;

/// The password hasher's memory budget of the service as started here (`hash_memory_mib`'s
/// default), which its buffer pool may keep whole.
const HASH_BUDGET_MIB: u64 = 512;
/// What the release build may hold beside that budget at its peak (it serves everything else
/// in about 20 MiB). Freed Argon2 buffers kept by the allocator, or any unbounded queue,
/// pass it quickly.
const PEAK_RSS_ABOVE_BUDGET_MIB: u64 = 64;

/// Why the peak resident set `kib` (the service's `VmHWM`) is too large, if it is.
fn peak_over_budget(kib: u64) -> Option<String> {
    let (mib, limit) = (kib / 1024, HASH_BUDGET_MIB + PEAK_RSS_ABOVE_BUDGET_MIB);
    (mib > limit).then(|| {
        format!(
            "peak resident memory {mib} MiB, over the hasher's {HASH_BUDGET_MIB} MiB budget \
             and {PEAK_RSS_ABOVE_BUDGET_MIB} MiB"
        )
    })
}

/// The line the `wrk` script's `done` hook prints: requests, duration (µs), p50 and p99
/// latency (µs), then wrk's error counts: status (answers outside 2xx/3xx), connect, read,
/// write and timeout.
const RESULT_TAG: &str = "xtask-load ";
/// The line after it: `STATUS=COUNT` pairs.
const STATUSES_TAG: &str = "xtask-load-statuses";

/// The script's common part: each wrk thread counts the statuses it saw, and `done` prints
/// [`RESULT_TAG`]'s line and then `RESULT_TAG-statuses STATUS=COUNT ...`.
const COUNT_STATUSES: &str = r#"
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("xtask-load %d %d %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect,
    e.read, e.write, e.timeout))
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  io.write("xtask-load-statuses")
  for status, count in pairs(total) do
    io.write(string.format(" %d=%d", status, count))
  end
  io.write("\n")
end
"#;

/// One kind of request the load sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    AuthenticatedGet,
    Login,
    NoToken,
    ForgedToken,
    RateLimited,
}

impl Scenario {
    const ALL: [Self; 5] = [
        Self::AuthenticatedGet,
        Self::Login,
        Self::NoToken,
        Self::ForgedToken,
        Self::RateLimited,
    ];

    /// The name `--only` takes.
    fn flag(self) -> &'static str {
        match self {
            Self::AuthenticatedGet => "get",
            Self::Login => "login",
            Self::NoToken => "no-token",
            Self::ForgedToken => "forged",
            Self::RateLimited => "rate-limited",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::AuthenticatedGet => "GET /me, valid token",
            Self::Login => "POST /auth/login",
            Self::NoToken => "GET /me, no token (401)",
            Self::ForgedToken => "GET /me, forged token (401)",
            Self::RateLimited => "GET /me past the rate limit (429)",
        }
    }

    /// The path the request goes to.
    fn path(self) -> &'static str {
        if self == Self::Login {
            "/auth/login"
        } else {
            "/me"
        }
    }

    /// The status every answer should have.
    fn expected_status(self) -> u16 {
        match self {
            Self::AuthenticatedGet | Self::Login => 200,
            Self::NoToken | Self::ForgedToken => 401,
            Self::RateLimited => 429,
        }
    }

    /// The `wrk` script: the request, and the `done` hook printing [`RESULT_TAG`]'s line.
    fn script(self, token: &str) -> String {
        let request = match self {
            Self::AuthenticatedGet | Self::RateLimited => {
                format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")
            }
            Self::ForgedToken => format!(
                "wrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
                forge(token)
            ),
            Self::NoToken => String::new(),
            Self::Login => format!(
                "wrk.method = \"POST\"\n\
                 wrk.headers[\"Content-Type\"] = \"application/json\"\n\
                 wrk.body = '{{\"email\":\"{EMAIL}\",\"password\":\"{PASSWORD}\"}}'\n"
            ),
        };
        format!("{request}{COUNT_STATUSES}")
    }
}

/// `token` with its signature's last four characters replaced: well-formed, wrongly signed.
fn forge(token: &str) -> String {
    let keep = token.len().saturating_sub(4);
    let last = if token.ends_with("AAAA") {
        "BBBB"
    } else {
        "AAAA"
    };
    format!("{}{last}", &token[..keep])
}

/// What one `wrk` run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    requests: u64,
    duration_us: u64,
    p50_us: u64,
    p99_us: u64,
    /// Answers outside 2xx/3xx.
    status_errors: u64,
    /// Connect, read, write and timeout errors together.
    socket_errors: u64,
    /// Answers by status, in status order.
    statuses: Vec<(u16, u64)>,
}

impl Outcome {
    /// The line the script printed, among wrk's own output.
    fn parse(output: &str) -> Option<Self> {
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix(RESULT_TAG))?
            .trim();
        let n: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let [
            requests,
            duration_us,
            p50_us,
            p99_us,
            status,
            connect,
            read,
            write,
            timeout,
        ] = n[..]
        else {
            return None;
        };
        let mut statuses: Vec<(u16, u64)> = output
            .lines()
            .find_map(|l| l.strip_prefix(STATUSES_TAG))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|pair| {
                let (status, count) = pair.split_once('=')?;
                Some((status.parse().ok()?, count.parse().ok()?))
            })
            .collect();
        statuses.sort_unstable();
        Some(Self {
            requests,
            duration_us,
            p50_us,
            p99_us,
            status_errors: status,
            socket_errors: connect + read + write + timeout,
            statuses,
        })
    }

    /// `200: 1200, 503: 17`.
    fn statuses_text(&self) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        parts.join(", ")
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "request counts and durations far below 2^52"
    )]
    fn per_second(&self) -> f64 {
        self.requests as f64 * 1e6 / self.duration_us.max(1) as f64
    }

    /// Whether every answer had the scenario's status, as far as wrk tells (it counts answers
    /// outside 2xx/3xx): all of them for a success, none for a refusal.
    ///
    /// A login may also be throttled (429, the login throttle's limit on one account's
    /// attempts) or shed (503, the password hasher's memory budget full past its wait): that is
    /// the service protecting itself, reported in the table.
    fn statuses_as_expected(&self, scenario: Scenario) -> bool {
        let expected = scenario.expected_status();
        if !self.statuses.is_empty() {
            return self.statuses.iter().all(|&(status, _)| {
                status == expected || (scenario == Scenario::Login && status == 503)
            });
        }
        if expected < 400 {
            self.status_errors == 0
        } else {
            self.status_errors == self.requests
        }
    }
}

/// Peaks seen by the sampler while wrk ran.
#[derive(Default)]
struct Peaks {
    rss_kib: AtomicU64,
    queue_depth: AtomicU64,
}

/// The command line: `--seconds`, `--connections`, `--only`.
struct Options {
    seconds: u32,
    connections: Vec<u32>,
    only: Vec<Scenario>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let seconds = match crate::flag_value(args, "--seconds")? {
            Some(n) => n
                .parse()
                .map_err(|_| format!("--seconds: not a number: {n}"))?,
            None => DEFAULT_SECONDS,
        };
        if !(1..=MAX_SECONDS).contains(&seconds) {
            return Err(format!(
                "--seconds: {seconds} is outside 1..={MAX_SECONDS}: a rate-limited run must end \
                 within the limited instance's one-minute window"
            ));
        }
        let connections = match crate::flag_value(args, "--connections")? {
            Some(list) => list
                .split(',')
                .map(|n| n.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("--connections: not a list of numbers: {list}"))?,
            None => DEFAULT_CONNECTIONS.to_vec(),
        };
        let only = match crate::flag_value(args, "--only")? {
            Some(list) => list
                .split(',')
                .map(|name| {
                    Scenario::ALL
                        .into_iter()
                        .find(|s| s.flag() == name.trim())
                        .ok_or_else(|| format!("--only: unknown request kind `{name}`"))
                })
                .collect::<Result<_, _>>()?,
            None => Scenario::ALL.to_vec(),
        };
        Ok(Self {
            seconds,
            connections,
            only,
        })
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let Options {
        seconds,
        connections,
        only,
    } = Options::parse(args)?;
    let wrk = ensure_wrk()?;
    step(
        "build secure-api (release)",
        &mut cargo(&[
            "build",
            "--release",
            "-p",
            "secure-api",
            "--bin",
            "secure-api",
        ]),
    )?;
    let target = target_dir()?;
    let binary = service::release_binary(&target);
    let scratch = target.join("load");
    let most = connections.iter().max().copied().unwrap_or(64);
    let room = (most + 16).to_string();
    // One client address sends everything: the per-client connection cap must let the load's
    // connections in. The rate limits are lifted on the first instance (dast's settings), and
    // set to one request a minute on the second.
    let served = Service::start_with(
        &binary,
        &scratch.join("served"),
        None,
        &[("PALISADE_MAX_CONNECTIONS_PER_CLIENT", &room)],
    )?;
    let limited = Service::start_with(
        &binary,
        &scratch.join("limited"),
        None,
        &[
            ("PALISADE_MAX_CONNECTIONS_PER_CLIENT", &room),
            ("PALISADE_RATE_LIMIT", "1"),
            (
                "PALISADE_RATE_WINDOW_SECS",
                &LIMITED_WINDOW_SECS.to_string(),
            ),
        ],
    )?;
    let token = register_and_log_in(served.port, EMAIL, PASSWORD)?;
    let mut rows = Vec::new();
    for &c in &connections {
        for &scenario in &only {
            let service = if scenario == Scenario::RateLimited {
                // The limited instance admits one request per client and minute. Take it just
                // before each run (the window may turn between runs), so that every request
                // the run sends is refused; a run is shorter than the minute.
                spend_admitted_request(&limited)?;
                &limited
            } else {
                &served
            };
            let script = scratch.join(format!("{scenario:?}.lua"));
            fs::write(&script, scenario.script(&token))
                .map_err(|e| format!("{}: {e}", script.display()))?;
            let peaks = Arc::new(Peaks::default());
            let stop = Arc::new(AtomicBool::new(false));
            let sampler = sample(service, Arc::clone(&peaks), Arc::clone(&stop));
            let url = format!("http://127.0.0.1:{}{}", service.port, scenario.path());
            let outcome = run_wrk(&wrk, &script, &url, c, seconds);
            stop.store(true, Ordering::Relaxed);
            let _ = sampler.join();
            let outcome = outcome?;
            eprintln!(
                "xtask: load: {} at {c} connections: {:.0} req/s",
                scenario.name(),
                outcome.per_second()
            );
            rows.push(Row {
                scenario,
                connections: c,
                outcome,
                rss_kib: peaks.rss_kib.load(Ordering::Relaxed),
                queue_depth: peaks.queue_depth.load(Ordering::Relaxed),
            });
        }
    }
    println!("{}", table(&rows));
    let peak = served
        .peak_rss_kib()
        .ok_or("no VmHWM in the service's /proc status")?;
    println!(
        "peak resident set (VmHWM) of the service: {} MiB",
        peak / 1024
    );
    judge(&rows, peak)
}

/// Waits for the one request the limited instance admits per client and window, and sends it:
/// the next is then a whole window away, longer than any run. Refusals cost nothing (the
/// limiter counts only admitted requests), so it asks twice a second.
fn spend_admitted_request(limited: &Service) -> Result<(), String> {
    let request = "GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    // A whole window and some: by then the window has turned at least once.
    let waited = u64::from(LIMITED_WINDOW_SECS + 10);
    let give_up = Instant::now() + Duration::from_secs(waited);
    loop {
        let observed = exchange(limited.port, &[Piece::now(request)], Duration::from_secs(5))?;
        if observed
            .responses
            .first()
            .is_some_and(|(status, _)| *status != 429)
        {
            return Ok(());
        }
        if Instant::now() >= give_up {
            return Err(format!(
                "load: the limited instance admitted no request in {waited} s"
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether the run measured what it says (every answer of the expected status, no socket
/// errors) within the memory bound.
fn judge(rows: &[Row], peak_kib: u64) -> Result<(), String> {
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| !r.outcome.statuses_as_expected(r.scenario) || r.outcome.socket_errors > 0)
        .map(|r| format!("{} at {} connections", r.scenario.name(), r.connections))
        .collect();
    let mut failures = Vec::new();
    if !wrong.is_empty() {
        // Not a speed judgement: the service answered with another status than the scenario
        // sends for, or connections failed, so the figures do not measure what they say.
        failures.push(format!(
            "unexpected statuses or socket errors in: {}",
            wrong.join("; ")
        ));
    }
    failures.extend(peak_over_budget(peak_kib));
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("load: {}", failures.join("; ")))
    }
}

/// `wrk` on the path, installed from Debian's package when missing.
fn ensure_wrk() -> Result<PathBuf, String> {
    if let Some(found) = on_path("wrk") {
        return Ok(found);
    }
    eprintln!("xtask: load: installing wrk (apt-get install wrk)");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut install = if root {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("apt-get");
        sudo
    };
    step(
        "apt-get install wrk",
        install.args(["install", "-y", "-q", "wrk"]),
    )?;
    on_path("wrk").ok_or_else(|| "wrk: still not on the path after installing it".into())
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// One `wrk` run of `script` against `url`.
fn run_wrk(
    wrk: &Path,
    script: &Path,
    url: &str,
    connections: u32,
    seconds: u32,
) -> Result<Outcome, String> {
    let out = Command::new(wrk)
        // wrk needs at least one connection per thread.
        .args(["--threads", &connections.clamp(1, 2).to_string()])
        .args(["--latency", "--timeout", "10s"])
        .args(["--connections", &connections.to_string()])
        .args(["--duration", &format!("{seconds}s")])
        .arg("--script")
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Outcome::parse(&text).ok_or_else(|| {
        format!(
            "wrk printed no result ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Samples the service's resident set and audit queue every 50 ms until `stop`.
fn sample(
    service: &Service,
    peaks: Arc<Peaks>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let pid = service.pid();
    let admin = service.admin_port;
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Some(kib) = fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| service::status_kib(&s, "VmRSS"))
            {
                peaks.rss_kib.fetch_max(kib, Ordering::Relaxed);
            }
            if let Some(depth) = queue_depth(admin) {
                peaks.queue_depth.fetch_max(depth, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// `palisade_audit_queue_depth` from the admin listener's exposition.
fn queue_depth(admin_port: u16) -> Option<u64> {
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{admin_port}\r\nConnection: close\r\n\r\n"
    );
    let observed = exchange(admin_port, &[Piece::now(request)], Duration::from_secs(2)).ok()?;
    let (status, body) = observed.responses.into_iter().next()?;
    (status == 200).then_some(())?;
    gauge(&body, "palisade_audit_queue_depth")
}

/// A gauge's value in a Prometheus text exposition, rounded down.
fn gauge(exposition: &str, name: &str) -> Option<u64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let value: f64 = rest.strip_prefix(' ')?.trim().parse().ok()?;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a queue's length, a small non-negative number"
        )]
        Some(value.max(0.0) as u64)
    })
}

/// One line of the table.
struct Row {
    scenario: Scenario,
    connections: u32,
    outcome: Outcome,
    rss_kib: u64,
    queue_depth: u64,
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| request | connections | requests/s | vs valid GET | p50 | p99 | answers | \
         peak RSS | audit queue (max) |\n|---|---:|---:|---:|---:|---:|---|---:|---:|\n",
    );
    for row in rows {
        let served = rows
            .iter()
            .find(|r| r.connections == row.connections && r.scenario == Scenario::AuthenticatedGet)
            .map_or(0.0, |r| r.outcome.per_second());
        let ratio = if served > 0.0 {
            format!("{:.2}x", row.outcome.per_second() / served)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {ratio} | {} | {} | {} | {} MiB | {} |",
            row.scenario.name(),
            row.connections,
            row.outcome.per_second(),
            micros(row.outcome.p50_us),
            micros(row.outcome.p99_us),
            if row.outcome.socket_errors == 0 {
                row.outcome.statuses_text()
            } else {
                format!(
                    "{}; {} socket errors",
                    row.outcome.statuses_text(),
                    row.outcome.socket_errors
                )
            },
            row.rss_kib / 1024,
            row.queue_depth,
        );
    }
    out
}

/// A latency in µs, or ms past 10 ms.
#[expect(
    clippy::cast_precision_loss,
    reason = "latencies in µs, far below 2^52"
)]
fn micros(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_must_end_within_the_limited_instances_window() {
        let args = |n: &str| vec!["--seconds".to_owned(), n.to_owned()];
        assert_eq!(Options::parse(&args("50")).unwrap().seconds, 50);
        assert_eq!(Options::parse(&[]).unwrap().seconds, DEFAULT_SECONDS);
        for bad in ["0", "51", "60", "600"] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_peak_beyond_the_hashers_budget_fails_the_load() {
        // The figure the load measured before the pool kept the whole budget, and after.
        assert!(peak_over_budget(2_775 * 1024).is_some());
        assert_eq!(peak_over_budget(516 * 1024), None);
        assert_eq!(peak_over_budget(576 * 1024), None);
        assert!(peak_over_budget(577 * 1024).is_some());
    }

    #[test]
    fn the_script_line_is_read_among_wrks_output() {
        let out = "Running 10s test @ http://127.0.0.1:1/me\n  2 threads and 16 connections\n\
                   xtask-load 120000 10001000 640 2100 0 0 1 0 2\nRequests/sec: 11998.80\n";
        let outcome = Outcome::parse(out).unwrap();
        assert_eq!(outcome.requests, 120_000);
        assert_eq!(outcome.p50_us, 640);
        assert_eq!(outcome.p99_us, 2_100);
        assert_eq!(outcome.socket_errors, 3);
        assert!((outcome.per_second() - 11_998.8).abs() < 0.1);
        assert_eq!(Outcome::parse("Requests/sec: 1\n"), None);
        assert_eq!(Outcome::parse("xtask-load 1 2 3\n"), None);
    }

    #[test]
    fn refusals_are_expected_to_be_counted_as_status_errors() {
        let all_refused = Outcome {
            requests: 10,
            duration_us: 1,
            p50_us: 1,
            p99_us: 1,
            status_errors: 10,
            socket_errors: 0,
            statuses: Vec::new(),
        };
        assert!(all_refused.statuses_as_expected(Scenario::NoToken));
        assert!(!all_refused.statuses_as_expected(Scenario::AuthenticatedGet));
        let served = Outcome {
            status_errors: 0,
            ..all_refused
        };
        assert!(served.statuses_as_expected(Scenario::Login));
        assert!(!served.statuses_as_expected(Scenario::RateLimited));
    }

    #[test]
    fn counted_statuses_decide_and_only_a_login_may_be_shed() {
        let out = "xtask-load 100 1000000 5 9 17 0 0 0 0\nxtask-load-statuses 503=17 200=83\n";
        let outcome = Outcome::parse(out).unwrap();
        assert_eq!(outcome.statuses, vec![(200, 83), (503, 17)]);
        assert_eq!(outcome.statuses_text(), "200: 83, 503: 17");
        assert!(outcome.statuses_as_expected(Scenario::Login));
        assert!(!outcome.statuses_as_expected(Scenario::AuthenticatedGet));
        let refused =
            Outcome::parse("xtask-load 5 1 1 1 5 0 0 0 0\nxtask-load-statuses 401=5\n").unwrap();
        assert!(refused.statuses_as_expected(Scenario::ForgedToken));
        assert!(!refused.statuses_as_expected(Scenario::RateLimited));
    }

    #[test]
    fn a_forged_token_differs_from_the_real_one_only_in_its_signature() {
        let token = "aaa.bbb.cccccccc";
        let forged = forge(token);
        assert_ne!(forged, token);
        assert_eq!(forged.len(), token.len());
        assert!(forged.starts_with("aaa.bbb.cccc"));
        assert_eq!(forge("x.y.zAAAA"), "x.y.zBBBB");
    }

    #[test]
    fn the_queue_gauge_is_read_from_an_exposition() {
        let text = "# TYPE palisade_audit_queue_depth gauge\npalisade_audit_queue_depth 7\n\
                    palisade_audit_queue_depth_other 9\n";
        assert_eq!(gauge(text, "palisade_audit_queue_depth"), Some(7));
        assert_eq!(gauge("", "palisade_audit_queue_depth"), None);
    }

    #[test]
    fn every_script_prints_the_result_line() {
        for scenario in Scenario::ALL {
            let script = scenario.script("h.p.s");
            assert!(script.contains(RESULT_TAG), "{scenario:?}");
            assert!(script.contains("latency:percentile(99)"), "{scenario:?}");
        }
        assert!(
            Scenario::Login
                .script("t")
                .contains("wrk.method = \"POST\"")
        );
        assert!(!Scenario::NoToken.script("t").contains("Authorization"));
    }
}
