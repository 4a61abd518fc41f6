//! `cargo xtask tls-scan`: the reference service's HTTPS scanned as an outsider would, with
//! Debian's `testssl.sh`.
//!
//! Builds `secure-api`, makes a throwaway CA and a server certificate for `localhost` (the
//! `openssl` command line, which testssl.sh itself needs), starts the service with TLS on a free
//! loopback port and runs `testssl` against it: protocols (`-p`), cipher categories (`-s`),
//! forward secrecy (`-f`), server preferences (`-P`) and vulnerabilities (`-U`), trusting the
//! test CA. Its JSON findings decide:
//!
//! - any finding above `LOW` (`MEDIUM`, `HIGH`, `CRITICAL`) or a scan error (`FATAL`) fails;
//! - SSL 2 and 3, TLS 1.0 and TLS 1.1 must be "not offered", TLS 1.2 and 1.3 "offered";
//! - a scan missing any of those protocol findings or the cipher categories failed to reach
//!   the service, and fails too.
//!
//! [`run`] is what `cargo xtask ci` calls (and what `cargo xtask dast` may call with the binary
//! it already built); it prints a table of the findings and returns them.

use std::{
    fs,
    net::{Ipv4Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

use crate::run::{show, target_dir};

/// The testssl.sh checks run: protocols, cipher categories, forward secrecy, server
/// preferences and the known protocol vulnerabilities (Heartbleed, CCS injection, ROBOT,
/// renegotiation, CRIME, BREACH, POODLE, SWEET32, FREAK, DROWN, Logjam, BEAST, Lucky13, RC4).
/// Left out: the certificate and HTTP header checks (`-S`, `-h`), which judge the test CA's
/// certificate and the API's headers, not the TLS settings.
const CHECKS: [&str; 5] = ["-p", "-s", "-f", "-P", "-U"];

/// The longest a scan may take before it is stopped and fails.
const SCAN_LIMIT: Duration = Duration::from_secs(300);

/// Findings every complete scan has; one missing means testssl did not reach the service.
const REQUIRED: [&str; 13] = [
    "SSLv2",
    "SSLv3",
    "TLS1",
    "TLS1_1",
    "TLS1_2",
    "TLS1_3",
    "cipherlist_NULL",
    "cipherlist_aNULL",
    "cipherlist_EXPORT",
    "cipherlist_LOW",
    "cipherlist_3DES_IDEA",
    "cipherlist_AVERAGE",
    "cipherlist_STRONG",
];

/// One testssl.sh finding (its flat JSON output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// testssl's identifier (`TLS1_2`, `cipherlist_LOW`, ...).
    pub(crate) id: String,
    /// `OK`, `INFO`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`, `WARN` or `FATAL`.
    pub(crate) severity: String,
    /// What it found.
    pub(crate) text: String,
}

/// A scan's findings and which of them fail it (with the reason).
#[derive(Debug)]
pub(crate) struct Report {
    /// Every finding, in testssl's order.
    pub(crate) findings: Vec<Finding>,
    /// The reasons the scan fails; empty when it passes.
    pub(crate) failures: Vec<String>,
    /// How long the whole run took (build, certificates, start, scan).
    pub(crate) elapsed: Duration,
}

/// `cargo xtask tls-scan [--binary PATH]`.
pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let binary = crate::flag_value(args, "--binary")?.map(PathBuf::from);
    run(binary.as_deref())
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// Scans the service's TLS with testssl.sh: builds `secure-api` unless `binary` is given,
/// prints the findings, and fails on any protocol or cipher finding above `LOW`.
///
/// # Errors
/// A failed build, certificate, start or scan, or a finding that fails the scan.
pub(crate) fn run(binary: Option<&Path>) -> anyhow::Result<Report> {
    let started = Instant::now();
    ensure!(
        crate::run::succeeds(Command::new("testssl").arg("--version")),
        "testssl is not installed: `apt-get install testssl.sh` (.ci/run installs it)"
    );
    let binary = if let Some(binary) = binary {
        binary.to_owned()
    } else {
        // The workspace's feature set, as the tests built it: no rebuild after them.
        crate::dast::service::build_as_tested().map_err(anyhow::Error::msg)?
    };
    let dir = target_dir().map_err(anyhow::Error::msg)?.join("tls-scan");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    make_certificates(&dir)?;
    let service = Service::start(&binary, &dir)?;
    let json = dir.join("testssl.json");
    let scan = scan(service.port, &dir, &json);
    drop(service);
    scan?;
    let text = fs::read_to_string(&json).with_context(|| format!("{}", json.display()))?;
    let findings = parse(&text)?;
    let failures = judge(&findings);
    let report = Report {
        findings,
        failures,
        elapsed: started.elapsed(),
    };
    print_table(&report);
    if report.failures.is_empty() {
        eprintln!(
            "xtask: tls-scan passed in {:.1} s",
            report.elapsed.as_secs_f64()
        );
        Ok(report)
    } else {
        bail!("tls-scan failed:\n  {}", report.failures.join("\n  "))
    }
}

/// A throwaway CA and a certificate for `localhost` and 127.0.0.1 it signs (P-256), in `dir`:
/// `ca.pem`, `cert.pem` and `key.pem` (0600, as the service requires of a key file).
fn make_certificates(dir: &Path) -> anyhow::Result<()> {
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let mut cmd = Command::new("openssl");
        cmd.args(args).current_dir(dir).stdin(Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("could not start `{}`", show(&cmd)))?;
        ensure!(
            out.status.success(),
            "`{}` failed: {}",
            show(&cmd),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=palisade tls-scan test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(dir.join("key.pem"), fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// A free port on 127.0.0.1, as the operating system picks it.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The service, running with TLS on a loopback port; stopped when dropped.
struct Service {
    child: Child,
    port: u16,
}

impl Service {
    fn start(binary: &Path, dir: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let admin = free_port()?;
        let log = fs::File::create(dir.join("secure-api.log"))?;
        let child = Command::new(binary)
            .args(["--dev", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--tls-cert")
            .arg(dir.join("cert.pem"))
            .arg("--tls-key")
            .arg(dir.join("key.pem"))
            .env("PALISADE_ADMIN_LISTEN", format!("127.0.0.1:{admin}"))
            // `--dev` keeps its throwaway files in a new directory under the temporary one.
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut service = Self { child, port };
        let started = Instant::now();
        loop {
            if let Some(status) = service.child.try_wait()? {
                bail!(
                    "secure-api exited ({status}) before listening; its log: {}",
                    dir.join("secure-api.log").display()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(service);
            }
            if started.elapsed() > Duration::from_secs(60) {
                service.stop();
                bail!("secure-api did not listen within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs testssl.sh against `port`, its JSON findings to `json`, within [`SCAN_LIMIT`].
fn scan(port: u16, dir: &Path, json: &Path) -> anyhow::Result<()> {
    let mut cmd = Command::new("testssl");
    cmd.args(["--quiet", "--color", "0", "--warnings", "off"])
        .args(["--connect-timeout", "10", "--openssl-timeout", "10"])
        .arg("--add-ca")
        .arg(dir.join("ca.pem"))
        .args(["--ip", "127.0.0.1"])
        .args(CHECKS)
        .arg("--jsonfile")
        .arg(json)
        .arg(format!("localhost:{port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("testssl.txt"))?)
        .stderr(Stdio::inherit());
    eprintln!("xtask: ==> testssl: {}", show(&cmd));
    let started = Instant::now();
    let mut child = cmd.spawn().context("could not start testssl")?;
    loop {
        if let Some(status) = child.try_wait()? {
            eprintln!(
                "xtask: <== testssl: {:.1} s ({status}); its report: {}",
                started.elapsed().as_secs_f64(),
                dir.join("testssl.txt").display()
            );
            // testssl's exit status counts findings loosely; the JSON decides.
            ensure!(json.is_file(), "testssl wrote no JSON ({status})");
            return Ok(());
        }
        if started.elapsed() > SCAN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("testssl did not finish within {} s", SCAN_LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The findings in testssl.sh's flat JSON (`--jsonfile`): an array of objects with `id`,
/// `severity` and `finding`.
fn parse(text: &str) -> anyhow::Result<Vec<Finding>> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("testssl's JSON does not parse")?;
    let items = value
        .as_array()
        .context("testssl's JSON is not an array of findings")?;
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item[name]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("a finding without `{name}`: {item}"))
            };
            Ok(Finding {
                id: field("id")?,
                severity: field("severity")?,
                text: field("finding")?,
            })
        })
        .collect()
}

/// Why `findings` fail the scan; empty when they pass.
fn judge(findings: &[Finding]) -> Vec<String> {
    let mut failures: Vec<String> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.severity.as_str(),
                "MEDIUM" | "HIGH" | "CRITICAL" | "FATAL"
            )
        })
        .map(|f| format!("{} ({}): {}", f.id, f.severity, f.text))
        .collect();
    let get = |id: &str| findings.iter().find(|f| f.id == id);
    for id in REQUIRED {
        if get(id).is_none() {
            failures.push(format!(
                "{id}: no finding (the scan did not reach the service?)"
            ));
        }
    }
    for id in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        if let Some(f) = get(id)
            && !f.text.starts_with("not offered")
        {
            failures.push(format!("{id} must not be offered: {}", f.text));
        }
    }
    for id in ["TLS1_2", "TLS1_3"] {
        if let Some(f) = get(id)
            && !f.text.starts_with("offered")
        {
            failures.push(format!("{id} must be offered: {}", f.text));
        }
    }
    failures
}

fn print_table(report: &Report) {
    let failing = |f: &Finding| {
        report
            .failures
            .iter()
            .any(|r| r.split([' ', ':']).next() == Some(f.id.as_str()))
    };
    let width = report
        .findings
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!("| {:width$} | severity | finding |", "id");
    println!("|{}|----------|---------|", "-".repeat(width + 2));
    for f in &report.findings {
        let mark = if failing(f) { " FAIL" } else { "" };
        let finding: String = f.text.chars().take(100).collect();
        println!("| {:width$} | {:8} | {finding}{mark} |", f.id, f.severity);
    }
    println!(
        "\ntls-scan: {} findings, {} failing, {:.1} s",
        report.findings.len(),
        report.failures.len(),
        report.elapsed.as_secs_f64()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The findings of a clean scan of the service (testssl.sh 3.0.8, shortened).
    fn clean() -> Vec<Finding> {
        let text = r#"[
          {"id":"engine_problem","ip":"/","port":"443","severity":"WARN","finding":"No engine or GOST support via engine with your /usr/bin/openssl"},
          {"id":"SSLv2","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"SSLv3","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"TLS1","ip":"localhost/127.0.0.1","port":"8443","severity":"INFO","finding":"not offered"},
          {"id":"TLS1_1","ip":"localhost/127.0.0.1","port":"8443","severity":"INFO","finding":"not offered"},
          {"id":"TLS1_2","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"offered"},
          {"id":"TLS1_3","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"offered with final"},
          {"id":"cipherlist_NULL","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"cipherlist_aNULL","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"cipherlist_EXPORT","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"cipherlist_LOW","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"not offered"},
          {"id":"cipherlist_3DES_IDEA","ip":"localhost/127.0.0.1","port":"8443","severity":"INFO","finding":"not offered"},
          {"id":"cipherlist_AVERAGE","ip":"localhost/127.0.0.1","port":"8443","severity":"INFO","finding":"not offered"},
          {"id":"cipherlist_STRONG","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"offered"},
          {"id":"cipher_order","ip":"localhost/127.0.0.1","port":"8443","severity":"OK","finding":"server"}
        ]"#;
        parse(text).unwrap()
    }

    fn with(findings: &mut [Finding], id: &str, severity: &str, finding: &str) {
        let f = findings.iter_mut().find(|f| f.id == id).unwrap();
        f.severity = severity.to_owned();
        f.text = finding.to_owned();
    }

    #[test]
    fn a_clean_scan_passes() {
        assert_eq!(judge(&clean()), Vec::<String>::new());
    }

    #[test]
    fn a_finding_above_low_fails_and_low_does_not() {
        let mut findings = clean();
        with(&mut findings, "cipher_order", "LOW", "no server order");
        assert!(judge(&findings).is_empty());
        for severity in ["MEDIUM", "HIGH", "CRITICAL", "FATAL"] {
            let mut findings = clean();
            with(&mut findings, "cipherlist_AVERAGE", severity, "offered");
            let failures = judge(&findings);
            assert_eq!(failures.len(), 1, "{severity}: {failures:?}");
            assert!(failures[0].starts_with("cipherlist_AVERAGE"));
        }
    }

    #[test]
    fn an_old_protocol_offered_fails_whatever_its_severity() {
        for id in ["SSLv3", "TLS1", "TLS1_1"] {
            let mut findings = clean();
            with(&mut findings, id, "INFO", "offered (deprecated)");
            assert_eq!(judge(&findings).len(), 1, "{id}");
        }
        let mut findings = clean();
        with(&mut findings, "TLS1_3", "INFO", "not offered");
        assert_eq!(judge(&findings).len(), 1);
    }

    #[test]
    fn a_scan_that_did_not_reach_the_service_fails() {
        let findings: Vec<Finding> = clean()
            .into_iter()
            .filter(|f| !f.id.starts_with("cipherlist"))
            .collect();
        assert_eq!(judge(&findings).len(), 7);
        assert!(parse("{}").is_err());
        assert!(parse("[{\"id\":\"x\"}]").is_err());
    }
}
