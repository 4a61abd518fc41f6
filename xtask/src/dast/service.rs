//! The reference service (and a redis-server) as child processes on free loopback ports.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::run::{cargo, step, target_dir};

/// Fixed secrets for the scan, distinct from each other and from every default; they guard
/// nothing but a throwaway database under the target directory.
const TEST_SECRETS: [(&str, &str); 7] = [
    (
        "PALISADE_JWT_KEY",
        "5a0c9e7f3b1d4a62807f6e5d4c3b2a1908f7e6d5c4b3a29180706f5e4d3c2b1a",
    ),
    (
        "PALISADE_TOKEN_KEY",
        "b2c3d4e5f60718293a4b5c6d7e8f901a2233445566778899aabbccddeeff0011",
    ),
    (
        "PALISADE_MASTER_KEY",
        "1e2d3c4b5a6978879a6b5c4d3e2f10010203040506070809a0b0c0d0e0f01020",
    ),
    (
        "PALISADE_AUDIT_SIGNING_KEY",
        "8f7e6d5c4b3a29180f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978",
    ),
    (
        "PALISADE_PEPPER",
        "d1ce00d1ce01d1ce02d1ce03d1ce04d1ce05d1ce06d1ce07d1ce08d1ce09d1ce",
    ),
    (
        "PALISADE_CSRF_KEY",
        "e11e0000aa11bb22e11e0000cc33dd44e11e0000ee55ff66e11e000077889900",
    ),
    (
        "PALISADE_DEVICE_KEY",
        "7c4b1f0e52c38d69f7b2e1d5a94ca3f86b7d2e9f5a13c48b0d6f9e2a71b5c8d3",
    ),
];

/// The connection timeouts the scan runs the service with, shorter than the defaults so the
/// slow-client cases end in seconds: what matters is that they end.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(2);
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// A port nothing listens on now (the OS picks it; another process may still take it first,
/// which the start notices and retries).
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Log) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            return Err(format!("{what} exited ({status}):\n{}", log.text()));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            return Err(format!(
                "{what} did not listen within 60 s:\n{}",
                log.text()
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A child's stderr, collected by a thread.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<String>>);

impl Log {
    fn collect(child: &mut Child) -> Self {
        let log = Self::default();
        if let Some(stderr) = child.stderr.take() {
            let sink = log.0.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut text) = sink.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            });
        }
        log
    }

    fn text(&self) -> String {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// A redis-server with no persistence on a free loopback port; killed on drop.
pub(crate) struct Redis {
    pub(crate) port: u16,
    child: Child,
}

impl Redis {
    pub(crate) fn start(dir: &Path) -> Result<Self, String> {
        for _ in 0..5 {
            let port = free_port()?;
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ])
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| {
                    format!("redis-server: {e} (install it: apt-get install redis-server)")
                })?;
            let log = Log::collect(&mut child);
            match wait_for_port(port, &mut child, "redis-server", &log) {
                Ok(()) => return Ok(Self { port, child }),
                Err(e) if e.contains("Address already in use") => {}
                Err(e) => return Err(e),
            }
        }
        Err("redis-server: no free port after 5 tries".into())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The running reference service; killed on drop.
pub(crate) struct Service {
    pub(crate) port: u16,
    pub(crate) admin_port: u16,
    binary: PathBuf,
    env: Vec<(String, String)>,
    child: Child,
    log: Log,
}

impl Service {
    /// Starts `binary` with the test secrets and its files in a fresh `dir`, with Redis at
    /// `redis` when given.
    pub(crate) fn start(binary: &Path, dir: &Path, redis: Option<u16>) -> Result<Self, String> {
        Self::start_with(binary, dir, redis, &[])
    }

    /// [`Service::start`] with more settings, given last so they override the scan's own.
    pub(crate) fn start_with(
        binary: &Path,
        dir: &Path,
        redis: Option<u16>,
        settings: &[(&str, &str)],
    ) -> Result<Self, String> {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut last = String::new();
        for _ in 0..5 {
            match Self::start_once(binary, dir, redis, settings) {
                Err(log) if log.contains("Address already in use") => last = log,
                result => return result,
            }
        }
        Err(format!("secure-api: no free port after 5 tries:\n{last}"))
    }

    fn start_once(
        binary: &Path,
        dir: &Path,
        redis: Option<u16>,
        settings: &[(&str, &str)],
    ) -> Result<Self, String> {
        let port = free_port()?;
        let admin_port = free_port()?;
        let path = |name: &str| dir.join(name).display().to_string();
        // What every command of the binary needs: the secrets and the files.
        let mut env: Vec<(String, String)> = TEST_SECRETS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (name, file) in [
            ("PALISADE_DATABASE", "db.sqlite"),
            ("PALISADE_AUDIT_DIR", "audit"),
            ("PALISADE_KEYRING", "keyring"),
        ] {
            env.push((name.to_owned(), path(file)));
        }
        let mut cmd = Command::new(binary);
        cmd.args(["--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PALISADE_AUDIT_VERIFIER_OUT", path("audit.verifier"))
            .env("PALISADE_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))
            // The scan sends thousands of requests from one address and guesses passwords for
            // the account it logs in with: the limits would answer 429 to nearly everything.
            // (They are tested on their own in the service's tests.)
            .env("PALISADE_RATE_LIMIT", "1000000")
            .env("PALISADE_RATE_LIMIT_PER_USER", "1000000")
            .env("PALISADE_LOGIN_MAX_FAILURES", "1000000")
            .env(
                "PALISADE_HEADER_READ_TIMEOUT_SECS",
                HEADER_READ_TIMEOUT.as_secs().to_string(),
            )
            .env(
                "PALISADE_BODY_READ_TIMEOUT_SECS",
                BODY_READ_TIMEOUT.as_secs().to_string(),
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(redis) = redis {
            cmd.env("PALISADE_REDIS_URL", format!("redis://127.0.0.1:{redis}/"));
        }
        cmd.envs(settings.iter().copied());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let log = Log::collect(&mut child);
        wait_for_port(port, &mut child, "secure-api", &log)?;
        Ok(Self {
            port,
            admin_port,
            binary: binary.to_owned(),
            env,
            child,
            log,
        })
    }

    /// `secure-api grant-role EMAIL admin` against this instance's files.
    pub(crate) fn grant_admin(&self, email: &str) -> Result<(), String> {
        let out = Command::new(&self.binary)
            .args(["grant-role", email, "admin"])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| format!("grant-role: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "grant-role failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Whether the process still runs.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's peak resident set (`VmHWM`), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status_kib(&status, "VmHWM")
    }

    /// The process's id, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the service wrote to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.text()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field in KiB (`VmHWM`, `VmRSS`) from the text of `/proc/PID/status`.
pub(crate) fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The service binary in the target directory (built by [`build_as_tested`]).
pub(crate) fn binary(target: &Path) -> PathBuf {
    target.join("debug").join("secure-api")
}

/// A test target of the service's: building it builds the binary it runs.
const SERVICE_TEST_TARGET: &str = "key_schedule";

/// Builds the service's debug binary exactly as `cargo xtask ci`'s tests build it, and returns
/// its path. `cargo build --workspace --all-features` would leave out the features the
/// workspace's dev-dependencies turn on and rebuild much of the graph (about 150 s after the
/// tests); `cargo test` with the same selection and one of the service's test targets builds
/// the binary with the tests' features, so after the tests it is already there.
pub(crate) fn build_as_tested() -> Result<PathBuf, String> {
    step(
        "build secure-api",
        &mut cargo(&[
            "test",
            "--workspace",
            "--all-features",
            "--no-run",
            "--test",
            SERVICE_TEST_TARGET,
        ]),
    )?;
    Ok(binary(&target_dir()?))
}

/// The optimised service binary (built by `cargo build --release -p secure-api`).
pub(crate) fn release_binary(target: &Path) -> PathBuf {
    target.join("release").join("secure-api")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\tsecure-api\nVmPeak:\t  900 kB\nVmHWM:\t   53124 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(53_124));
        assert_eq!(status_kib(status, "VmRSS"), Some(1));
        assert_eq!(status_kib("Name:\tx\n", "VmHWM"), None);
        assert_eq!(status_kib("VmHWM:\tlots kB\n", "VmHWM"), None);
    }
}
