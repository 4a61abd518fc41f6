#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod runbook;

use std::{
    fmt,
    io::{self, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

/// How long a fresh server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts at finding a port that is still free when the server binds it.
const PORT_ATTEMPTS: u32 = 8;

/// A loopback port that was free when this returned.
///
/// Another process may take it before the caller binds it; callers that start a server retry
/// with a new port when the bind fails.
///
/// # Errors
///
/// When no loopback socket can be bound.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Decodes hex (test vectors, keys written as hex).
///
/// # Panics
///
/// On an odd length or a character that is not a hex digit: a broken vector file.
pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .expect("a hex digit pair")
        })
        .collect()
}

/// Why a test server could not be started.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A `redis-server` child process on 127.0.0.1, killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    ///
    /// # Errors
    ///
    /// When `redis-server` is not installed, or no server came up after several ports.
    pub fn start() -> Result<Self, Error> {
        static SERIAL: AtomicU32 = AtomicU32::new(0);
        let binary = std::env::var_os("PALISADE_REDIS_SERVER")
            .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from);
        let dir = std::env::temp_dir().join(format!(
            "palisade-redis-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error(format!("creating {}: {e}", dir.display())))?;
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            binary,
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port().map_err(|e| Error(format!("finding a free port: {e}")))?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = e.0,
            }
        }
        Err(Error(format!(
            "no redis-server came up after {PORT_ATTEMPTS} ports; last error: {last}"
        )))
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A `redis://` URL for clients.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Whether the server process is running (it was not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server, as a crash or an outage would. Clients see refused connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    ///
    /// # Errors
    ///
    /// When the port was taken in the meantime or the server does not come up.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error(format!(
                    "cannot run {}: {e}; install Redis (Debian: apt-get install redis-server) \
                     or set PALISADE_REDIS_SERVER to the binary",
                    self.binary.display()
                ))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if ping(self.addr()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                self.child = None;
                return Err(Error(format!(
                    "redis-server on port {} exited ({status}): {}",
                    self.port,
                    stderr.trim()
                )));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(Error(format!(
                    "redis-server on port {} did not answer PING within {READY_TIMEOUT:?}",
                    self.port
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends an inline `PING` and expects `+PONG`.
fn ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0_u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long a fresh moto server may take to answer (it imports every mocked service first).
const MOTO_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `.ci/run` installs moto: a virtual environment under the user's cache.
fn moto_venv_binary() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = PathBuf::from(home).join(".cache/palisade/moto-venv/bin/moto_server");
    path.is_file().then_some(path)
}

/// A `moto_server` child process (moto's stand-alone server mode, which answers the AWS APIs
/// it mocks, Secrets Manager and KMS among them) on 127.0.0.1, killed when dropped. Its state
/// lives in memory: every server starts empty.
pub struct MotoServer {
    child: Option<Child>,
    port: u16,
    binary: PathBuf,
}

impl fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MotoServer")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl MotoServer {
    /// Starts a server on a free loopback port and waits until it answers HTTP.
    ///
    /// The binary is `$PALISADE_MOTO_SERVER` if set, else `moto_server` in the virtual
    /// environment `.ci/run` installs (`~/.cache/palisade/moto-venv`), else `moto_server` from
    /// `PATH`.
    ///
    /// # Errors
    ///
    /// When `moto_server` is not installed, or no server came up after several ports.
    pub fn start() -> Result<Self, Error> {
        let binary = std::env::var_os("PALISADE_MOTO_SERVER")
            .map(PathBuf::from)
            .or_else(moto_venv_binary)
            .unwrap_or_else(|| PathBuf::from("moto_server"));
        let mut server = Self {
            child: None,
            port: 0,
            binary,
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port().map_err(|e| Error(format!("finding a free port: {e}")))?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = e.0,
            }
        }
        Err(Error(format!(
            "no moto_server came up after {PORT_ATTEMPTS} ports; last error: {last}"
        )))
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The endpoint URL to give an AWS SDK client (`http://127.0.0.1:PORT`).
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether the server process is running (it was not stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server, as an outage would. Clients see refused connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let child = Command::new(&self.binary)
            .args(["-H", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error(format!(
                    "cannot run {}: {e}; install moto's server (`python3 -m venv \
                     ~/.cache/palisade/moto-venv && ~/.cache/palisade/moto-venv/bin/pip install \
                     'moto[server]'`, as .ci/run does) or set PALISADE_MOTO_SERVER to the binary",
                    self.binary.display()
                ))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + MOTO_READY_TIMEOUT;
        loop {
            if answers_http(self.addr()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                self.child = None;
                return Err(Error(format!(
                    "moto_server on port {} exited ({status}): {}",
                    self.port,
                    stderr.trim()
                )));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(Error(format!(
                    "moto_server on port {} did not answer HTTP within {MOTO_READY_TIMEOUT:?}",
                    self.port
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Asks moto's own API for its index page and expects an HTTP status line.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = [0_u8; 9];
    stream.read_exact(&mut reply).is_ok() && reply.starts_with(b"HTTP/1.")
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_stops_and_restarts_on_the_same_port() {
        let mut redis = RedisServer::start().expect("redis-server");
        assert!(ping(redis.addr()));
        let port = redis.port();
        redis.stop();
        assert!(!redis.is_running());
        assert!(!ping(redis.addr()));
        redis.restart().expect("restart");
        assert_eq!(redis.port(), port);
        assert!(ping(redis.addr()));
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
    }

    #[test]
    fn two_servers_get_two_ports() {
        let a = RedisServer::start().expect("redis-server");
        let b = RedisServer::start().expect("redis-server");
        assert_ne!(a.port(), b.port());
    }

    #[test]
    fn a_missing_binary_is_an_error_that_names_the_fix() {
        let mut server = RedisServer {
            child: None,
            port: free_port().expect("port"),
            dir: std::env::temp_dir(),
            binary: PathBuf::from("/nonexistent/redis-server"),
        };
        let err = server.spawn().expect_err("no such binary");
        assert!(err.to_string().contains("apt-get install redis-server"));
        // `dir` is the shared temp dir here; do not let Drop remove it.
        server.dir = std::env::temp_dir().join("palisade-redis-test-unused");
    }

    #[test]
    fn moto_starts_answers_and_stops() {
        let mut moto = MotoServer::start().expect("moto_server (see .ci/run)");
        assert!(answers_http(moto.addr()));
        assert_eq!(
            moto.endpoint_url(),
            format!("http://127.0.0.1:{}", moto.port())
        );
        moto.stop();
        assert!(!moto.is_running());
        assert!(!answers_http(moto.addr()));
    }

    #[test]
    fn a_missing_moto_is_an_error_that_names_the_fix() {
        let mut server = MotoServer {
            child: None,
            port: free_port().expect("port"),
            binary: PathBuf::from("/nonexistent/moto_server"),
        };
        let err = server.spawn().expect_err("no such binary");
        assert!(err.to_string().contains("moto[server]"), "{err}");
    }
}
