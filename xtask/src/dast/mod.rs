//! `cargo xtask dast`: the reference service attacked while it runs.
//!
//! Builds `examples/secure-api`, starts it on a free loopback port with test secrets (once with
//! its token state in `SQLite`, once with a real redis-server), and runs against each instance
//! schemathesis (from PyPI, pinned, in a virtual environment under the target directory) and
//! the hostile-request battery in [`battery`]; then the same binary with TLS on, scanned by
//! testssl.sh ([`crate::tls_scan`]). Prints a table (target, check, requests, findings) and
//! fails on any finding.

mod battery;
pub(crate) mod http;
mod schemathesis;
pub(crate) mod service;

use std::{fmt::Write as _, time::Instant};

use crate::{run::target_dir, workspace_root};
use http::{Piece, exchange};
use service::{Redis, Service};

/// Peak resident memory the service may reach during a scan. It holds the password hasher's
/// budget (`hash_memory_mib`, 512 MiB by default, about 19 MiB per Argon2 check) plus what an
/// unoptimised build serves the rest with; an unbounded buffer (a body or header flood
/// accumulated) would pass it quickly.
const PEAK_RSS_LIMIT_MIB: u64 = 768;

/// schemathesis's default budget: examples per operation and phase, and the seed.
const DEFAULT_EXAMPLES: u32 = 50;
const DEFAULT_SEED: u64 = 20_261_204;

/// The account the battery's authenticated cases use.
const BATTERY_EMAIL: &str = "battery@dast.test";

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) target: &'static str,
    pub(crate) check: String,
    pub(crate) requests: String,
    pub(crate) findings: Vec<String>,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let examples = match crate::flag_value(args, "--examples")? {
        Some(n) => n
            .parse()
            .map_err(|_| format!("--examples: not a number: {n}"))?,
        None => DEFAULT_EXAMPLES,
    };
    let seed = match crate::flag_value(args, "--seed")? {
        Some(n) => n
            .parse()
            .map_err(|_| format!("--seed: not a number: {n}"))?,
        None => DEFAULT_SEED,
    };
    let budget = schemathesis::Budget {
        max_examples: examples,
        seed,
    };
    let started = Instant::now();
    let binary = service::build_as_tested()?;
    let work = target_dir()?.join("dast");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let exe = schemathesis::ensure_installed(&work)?;
    let openapi = workspace_root().join("examples/secure-api/openapi.yaml");
    let mut rows = Vec::new();
    for target in ["sqlite", "redis"] {
        let target_started = Instant::now();
        let redis = if target == "redis" {
            Some(Redis::start(&work)?)
        } else {
            None
        };
        let setup = Setup {
            exe: &exe,
            binary: &binary,
            openapi: &openapi,
            dir: work.join(target),
            budget,
        };
        rows.extend(scan(target, &setup, redis.as_ref().map(|r| r.port))?);
        drop(redis);
        eprintln!(
            "xtask: dast: {target} done in {:.0} s",
            target_started.elapsed().as_secs_f64()
        );
    }
    // The same binary with TLS on, as an outsider's scanner sees it: testssl.sh (see
    // `tls_scan`, which prints its own table of what testssl reported). A failed scan, or a
    // finding above LOW, is a finding here.
    let tls_started = Instant::now();
    let tls_findings = match crate::tls_scan::run(Some(&binary)) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("{e:#}")],
    };
    rows.push(Row {
        target: "https",
        check: "testssl.sh".to_owned(),
        requests: "1 scan".to_owned(),
        findings: tls_findings,
    });
    eprintln!(
        "xtask: dast: https done in {:.0} s",
        tls_started.elapsed().as_secs_f64()
    );
    println!("{}", table(&rows));
    let findings: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            r.findings
                .iter()
                .map(move |f| format!("{} / {}: {f}", r.target, r.check))
        })
        .collect();
    eprintln!(
        "xtask: dast: {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
    if findings.is_empty() {
        eprintln!("xtask: dast passed");
        Ok(())
    } else {
        Err(format!(
            "dast: {} finding(s):\n  {}",
            findings.len(),
            findings.join("\n  ")
        ))
    }
}

/// What every target's scan uses.
struct Setup<'a> {
    exe: &'a std::path::Path,
    binary: &'a std::path::Path,
    openapi: &'a std::path::Path,
    dir: std::path::PathBuf,
    budget: schemathesis::Budget,
}

/// One target: the service started (with Redis at `redis` when given), schemathesis, the
/// battery, and what the process looks like afterwards.
fn scan(target: &'static str, setup: &Setup<'_>, redis: Option<u16>) -> Result<Vec<Row>, String> {
    let mut service = Service::start(setup.binary, &setup.dir, redis)?;
    eprintln!(
        "xtask: dast: {target}: secure-api on 127.0.0.1:{} (admin {})",
        service.port, service.admin_port
    );
    prepare_account(&service)?;
    // The battery's own account, logged in before schemathesis runs: schemathesis signs the
    // scan account out everywhere, and its failed logins from this address reach the login
    // throttle's per-client lockout (100 failures) in longer runs.
    let token = battery_login(&service)?;
    let report = schemathesis::run(
        setup.exe,
        setup.openapi,
        &format!("http://127.0.0.1:{}", service.port),
        &setup.dir,
        setup.budget,
    )?;
    for (kind, operations) in &report.warnings {
        eprintln!(
            "xtask: dast: {target}: schemathesis warning {kind}: {}",
            operations.join(", ")
        );
    }
    let mut rows = vec![Row {
        target,
        check: format!(
            "schemathesis {} (seed {}, {} examples)",
            schemathesis::VERSION,
            setup.budget.seed,
            setup.budget.max_examples
        ),
        requests: report.generated.to_string(),
        findings: report.findings(),
    }];
    let (counts, findings) = battery::run(service.port, service.admin_port, &token);
    for (group, requests) in counts {
        let prefix = format!("{group}: ");
        rows.push(Row {
            target,
            check: format!("battery: {group}"),
            requests: requests.to_string(),
            findings: findings
                .iter()
                .filter_map(|(name, finding)| {
                    let case = name.strip_prefix(&prefix)?;
                    Some(format!("{case}: {finding}"))
                })
                .collect(),
        });
    }
    rows.push(aftermath(target, &mut service));
    Ok(rows)
}

/// Registers the scan account (schemathesis logs in with it) and makes it an admin, so
/// `GET /admin/users` answers 200 and its response is checked too.
fn prepare_account(service: &Service) -> Result<(), String> {
    let body = serde_json::json!({
        "email": schemathesis::EMAIL,
        "password": schemathesis::PASSWORD,
    })
    .to_string();
    match post_json(service.port, "/auth/register", &body)? {
        (201, _) => service.grant_admin(schemathesis::EMAIL),
        (status, body) => Err(format!("registering the scan account: {status} {body}")),
    }
}

/// The battery's account, registered and logged in; its access token.
fn battery_login(service: &Service) -> Result<String, String> {
    register_and_log_in(service.port, BATTERY_EMAIL, schemathesis::PASSWORD)
}

/// Registers an account (`POST /auth/register`, 201) on the service at `port`, logs it in
/// (`POST /auth/login`, 200) and returns its access token.
pub(crate) fn register_and_log_in(
    port: u16,
    email: &str,
    password: &str,
) -> Result<String, String> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, answer) = post_json(port, "/auth/register", &body)?;
    if status != 201 {
        return Err(format!("registering {email}: {status} {answer}"));
    }
    let (status, answer) = post_json(port, "/auth/login", &body)?;
    if status != 200 {
        return Err(format!("logging {email} in: {status} {answer}"));
    }
    serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["access_token"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("logging {email} in: no access_token"))
}

/// One JSON POST; the status and body of the answer.
pub(crate) fn post_json(port: u16, path: &str, body: &str) -> Result<(u16, String), String> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let observed = exchange(
        port,
        &[Piece::now(request)],
        std::time::Duration::from_secs(30),
    )?;
    observed
        .responses
        .into_iter()
        .next()
        .ok_or_else(|| format!("POST {path}: no answer"))
}

/// After the scan: the process still runs, its peak memory stayed bounded, and it logged no
/// panic.
fn aftermath(target: &'static str, service: &mut Service) -> Row {
    let mut findings = Vec::new();
    let peak = service.peak_rss_kib();
    if !service.alive() {
        findings.push(format!("the process exited:\n{}", service.log()));
    }
    let log = service.log();
    if log.contains("panicked") {
        findings.push("the log records a panic".into());
    }
    let requests = if let Some(kib) = peak {
        let mib = kib / 1024;
        if mib > PEAK_RSS_LIMIT_MIB {
            findings.push(format!(
                "peak resident memory {mib} MiB, over {PEAK_RSS_LIMIT_MIB} MiB"
            ));
        }
        format!("VmHWM {mib} MiB")
    } else {
        findings.push("no VmHWM in /proc/PID/status".into());
        "-".into()
    };
    Row {
        target,
        check: "process alive, memory bounded, no panic".into(),
        requests,
        findings,
    }
}

/// The summary, as a plain-text table.
pub(crate) fn table(rows: &[Row]) -> String {
    let headers = ["target", "check", "requests", "findings"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.target.to_owned(),
                r.check.clone(),
                r.requests.clone(),
                r.findings.len().to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 4]| {
        let _ = writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    };
    line(&mut out, headers);
    let rule = widths.map(|w| "-".repeat(w));
    line(&mut out, [&rule[0], &rule[1], &rule[2], &rule[3]]);
    for row in &cells {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_counts_findings() {
        let rows = vec![
            Row {
                target: "sqlite",
                check: "schemathesis".into(),
                requests: "1200".into(),
                findings: vec![],
            },
            Row {
                target: "redis",
                check: "battery: smuggling".into(),
                requests: "9".into(),
                findings: vec!["a".into(), "b".into()],
            },
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("target"));
        assert!(lines[2].starts_with("sqlite  schemathesis"));
        assert!(lines[3].ends_with("  2"), "{:?}", lines[3]);
        let widths: Vec<usize> = lines.iter().map(|l| l.len()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
