//! schemathesis (PyPI) against the running service: every check, the stateful links of
//! `openapi.yaml`, a fixed seed and a bounded number of examples.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_json::Value;

use crate::run::{show, succeeds};

/// The pinned version; a new one is taken on purpose (its new checks may find new things).
pub(crate) const VERSION: &str = "4.32.5";

/// The settings file, committed beside this module.
pub(crate) const CONFIG: &str = include_str!("schemathesis.toml");

/// A virtual environment under `dir` with schemathesis [`VERSION`]; made once, then reused.
/// Returns the `schemathesis` executable.
pub(crate) fn ensure_installed(dir: &Path) -> Result<PathBuf, String> {
    let venv = dir.join("venv");
    let exe = venv.join("bin").join("schemathesis");
    let installed = Command::new(&exe)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if installed
        .as_deref()
        .is_some_and(|v| v.trim().ends_with(VERSION))
    {
        return Ok(exe);
    }
    if !venv.join("bin").join("python").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut make = Command::new(&python);
        make.args(["-m", "venv"]).arg(&venv);
        eprintln!("xtask: dast: {}", show(&make));
        if !succeeds(&mut make) {
            return Err(format!(
                "`{}` failed: install Python 3 with its venv module (Debian: python3-venv)",
                show(&make)
            ));
        }
    }
    let mut pip = Command::new(venv.join("bin").join("python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("schemathesis=={VERSION}"),
    ]);
    eprintln!("xtask: dast: {}", show(&pip));
    let status = pip.status().map_err(|e| format!("`{}`: {e}", show(&pip)))?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})", show(&pip)));
    }
    Ok(exe)
}

/// How one run is bounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) max_examples: u32,
    pub(crate) seed: u64,
}

/// The scan account schemathesis logs in with (dynamic bearer auth).
pub(crate) const EMAIL: &str = "scanner@dast.test";
pub(crate) const PASSWORD: &str = "violet harbour lantern quietly 7";

/// Runs schemathesis against `base_url` twice: the examples, coverage and fuzzing phases, then
/// the stateful phase on its own (run after the others in one invocation, it followed few of
/// the links: 2 of 11 against 7 alone, with the same seed). One report for both.
pub(crate) fn run(
    exe: &Path,
    openapi: &Path,
    base_url: &str,
    work: &Path,
    budget: Budget,
) -> Result<Report, String> {
    let mut report = run_phases(
        exe,
        openapi,
        base_url,
        work,
        budget,
        "examples,coverage,fuzzing",
    )?;
    report.merge(run_phases(
        exe, openapi, base_url, work, budget, "stateful",
    )?);
    Ok(report)
}

fn run_phases(
    exe: &Path,
    openapi: &Path,
    base_url: &str,
    work: &Path,
    budget: Budget,
    phases: &str,
) -> Result<Report, String> {
    let config = work.join("schemathesis.toml");
    fs::write(&config, CONFIG).map_err(|e| format!("{}: {e}", config.display()))?;
    let report = work.join(format!(
        "schemathesis-{}.json",
        phases.split(',').next().unwrap_or("run")
    ));
    let _ = fs::remove_file(&report);
    let mut cmd = Command::new(exe);
    cmd.arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(openapi)
        .args(["--url", base_url])
        .args(["--checks", "all"])
        .args(["--phases", phases])
        .args(["--seed", &budget.seed.to_string()])
        .args(["--max-examples", &budget.max_examples.to_string()])
        .args(["--workers", "2"])
        .args(["--report", "json"])
        .arg("--report-json-path")
        .arg(&report)
        .args(["--no-color"])
        .current_dir(work)
        .env("DAST_EMAIL", EMAIL)
        .env("DAST_PASSWORD", PASSWORD)
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null());
    eprintln!("xtask: dast: {}", show(&cmd));
    let status = cmd.status().map_err(|e| format!("`{}`: {e}", show(&cmd)))?;
    let text = fs::read_to_string(&report).map_err(|e| {
        format!(
            "schemathesis ({status}) wrote no report at {}: {e}",
            report.display()
        )
    })?;
    let parsed = Report::parse(&text)?;
    if !status.success() && parsed.findings().is_empty() {
        return Err(format!(
            "schemathesis failed ({status}) without reporting a failure"
        ));
    }
    Ok(parsed)
}

/// What schemathesis's JSON report (`--report json`) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// Test cases generated (each one request, or a few for a stateful step).
    pub(crate) generated: u64,
    /// Each kind of failure: code, title, count and the operations it was seen on.
    pub(crate) failures: Vec<Failure>,
    /// Errors (an operation schemathesis could not test, a network error).
    pub(crate) errors: Vec<String>,
    /// Whether the run completed (not interrupted or stopped early).
    pub(crate) complete: bool,
    /// Warning kinds with the operations they name (not findings, but printed).
    pub(crate) warnings: Vec<(String, Vec<String>)>,
}

/// One kind of failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) title: String,
    pub(crate) count: u64,
    pub(crate) operations: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Report {
    /// Adds `other`'s counts, failures, errors and warnings to this one.
    pub(crate) fn merge(&mut self, other: Self) {
        self.generated += other.generated;
        self.failures.extend(other.failures);
        self.errors.extend(other.errors);
        self.complete &= other.complete;
        self.warnings.extend(other.warnings);
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let json: Value =
            serde_json::from_str(text).map_err(|e| format!("schemathesis report: {e}"))?;
        let generated = json["test_cases"]["generated"]
            .as_u64()
            .ok_or("schemathesis report: no test_cases.generated")?;
        let failures = json["failures"]
            .as_array()
            .ok_or("schemathesis report: no failures list")?
            .iter()
            .map(|f| Failure {
                code: f["code"].as_str().unwrap_or("?").to_owned(),
                title: f["title"].as_str().unwrap_or("?").to_owned(),
                count: f["count"].as_u64().unwrap_or(1),
                operations: strings(&f["operations"]),
            })
            .collect();
        let errors = json["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let label = ["operation", "label", "title", "message"]
                            .iter()
                            .filter_map(|k| e[*k].as_str())
                            .collect::<Vec<_>>();
                        if label.is_empty() {
                            e.to_string()
                        } else {
                            label.join(": ")
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let warnings = json["warnings"]
            .as_object()
            .map(|w| {
                w.iter()
                    .map(|(k, v)| (k.clone(), strings(v)))
                    .filter(|(_, ops)| !ops.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            generated,
            failures,
            errors,
            complete: json["complete"].as_bool().unwrap_or(false),
            warnings,
        })
    }

    /// Every finding, one line each: failures, errors, and an incomplete run.
    pub(crate) fn findings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .failures
            .iter()
            .map(|f| {
                format!(
                    "{} {} ({}x): {}",
                    f.code,
                    f.title,
                    f.count,
                    f.operations.join(", ")
                )
            })
            .collect();
        out.extend(self.errors.iter().map(|e| format!("error: {e}")));
        if !self.complete {
            out.push("the run did not complete".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = r#"{
        "schemathesis_version": "4.32.5", "seed": 1, "complete": true, "exit_code": 0,
        "test_cases": {"generated": 473, "with_failures": 0, "unique_failures": 0},
        "failures": [], "errors": [],
        "warnings": {"missing_auth": [], "validation_mismatch": []}
    }"#;

    #[test]
    fn a_clean_report_has_no_findings() {
        let report = Report::parse(CLEAN).unwrap();
        assert_eq!(report.generated, 473);
        assert!(report.findings().is_empty());
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn failures_errors_and_warnings_are_read() {
        let text = r#"{
            "complete": true,
            "test_cases": {"generated": 10},
            "failures": [{"type": "RejectedPositiveData", "code": "ST202",
                "title": "Schema-valid request rejected", "severity": "medium", "count": 2,
                "operations": ["POST /auth/refresh", "POST /auth/password-reset/confirm"]}],
            "errors": [{"operation": "GET /me", "message": "connection refused"}, {"odd": 1}],
            "warnings": {"missing_auth": ["GET /me"], "rate_limited": []}
        }"#;
        let report = Report::parse(text).unwrap();
        assert_eq!(
            report.findings(),
            vec![
                "ST202 Schema-valid request rejected (2x): POST /auth/refresh, \
                 POST /auth/password-reset/confirm"
                    .to_owned(),
                "error: GET /me: connection refused".to_owned(),
                "error: {\"odd\":1}".to_owned(),
            ]
        );
        assert_eq!(
            report.warnings,
            vec![("missing_auth".to_owned(), vec!["GET /me".to_owned()])]
        );
    }

    #[test]
    fn an_interrupted_run_is_a_finding() {
        let text = CLEAN.replace("\"complete\": true", "\"complete\": false");
        assert_eq!(
            Report::parse(&text).unwrap().findings(),
            vec!["the run did not complete".to_owned()]
        );
    }

    #[test]
    fn merged_reports_add_up() {
        let mut first = Report::parse(CLEAN).unwrap();
        let text = r#"{"complete": false, "test_cases": {"generated": 7},
            "failures": [{"code": "ST201", "title": "t", "count": 1, "operations": ["PUT /me"]}],
            "errors": []}"#;
        first.merge(Report::parse(text).unwrap());
        assert_eq!(first.generated, 480);
        assert_eq!(
            first.findings(),
            vec![
                "ST201 t (1x): PUT /me".to_owned(),
                "the run did not complete".to_owned()
            ]
        );
    }

    #[test]
    fn the_config_lets_a_body_be_refused_for_its_size() {
        assert!(CONFIG.contains("[checks.negative_data_rejection]"));
        assert!(CONFIG.contains("\"413\""));
    }

    #[test]
    fn a_report_without_counts_is_refused() {
        assert!(Report::parse("{}").is_err());
        assert!(Report::parse("not json").is_err());
    }

    #[test]
    fn the_config_logs_in_with_the_scan_account() {
        assert!(CONFIG.contains("path = \"/auth/login\""));
        assert!(CONFIG.contains("${DAST_EMAIL}") && CONFIG.contains("${DAST_PASSWORD}"));
    }
}
