#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod log_capture;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod runbook;
mod server;
mod spread;
mod turns;

use std::{
    fmt,
    io::{self, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use server::{Kind, Served};
pub use spread::Spread;
pub use turns::{Turns, TurnsArgs};

/// How long a fresh server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

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
    served: Served,
    dir: PathBuf,
    binary: PathBuf,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.served.port)
            .field("running", &self.served.is_running())
            .finish_non_exhaustive()
    }
}

const REDIS: Kind = Kind {
    name: "redis-server",
    ready_means: "answer PING",
    probe: ping,
    timeout: READY_TIMEOUT,
    poll: Duration::from_millis(20),
    install_hint: "install Redis (Debian: apt-get install redis-server) or set \
                   PALISADE_REDIS_SERVER to the binary",
};

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
        let served = Served::start(&REDIS, |port| redis_command(&binary, &dir, port))?;
        Ok(Self {
            served,
            dir,
            binary,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.served.port
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// A `redis://` URL for clients.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.served.port)
    }

    /// Whether the server process is running (it was not stopped).
    pub fn is_running(&self) -> bool {
        self.served.is_running()
    }

    /// Kills the server, as a crash or an outage would. Clients see refused connections.
    pub fn stop(&mut self) {
        self.served.stop();
    }

    /// Starts the server again on the same port, empty.
    ///
    /// # Errors
    ///
    /// When the port was taken in the meantime or the server does not come up.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.served.stop();
        let mut command = redis_command(&self.binary, &self.dir, self.served.port);
        self.served.spawn(&REDIS, &mut command)
    }
}

/// `redis-server` on `port`, without persistence, its files in `dir`.
fn redis_command(binary: &Path, dir: &Path, port: u16) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--bind", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--protected-mode", "yes", "--loglevel", "warning"])
        .arg("--dir")
        .arg(dir);
    command
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
        self.served.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
    served: Served,
}

impl fmt::Debug for MotoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MotoServer")
            .field("port", &self.served.port)
            .field("running", &self.served.is_running())
            .finish_non_exhaustive()
    }
}

const MOTO: Kind = Kind {
    name: "moto_server",
    ready_means: "answer HTTP",
    probe: answers_http,
    // A fresh moto server imports every mocked service before it answers.
    timeout: Duration::from_secs(60),
    poll: Duration::from_millis(50),
    install_hint: "install moto's server (`python3 -m venv ~/.cache/palisade/moto-venv && \
                   ~/.cache/palisade/moto-venv/bin/pip install 'moto[server]'`, as .ci/run does) \
                   or set PALISADE_MOTO_SERVER to the binary",
};

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
        let served = Served::start(&MOTO, |port| {
            let mut command = Command::new(&binary);
            command
                .args(["-H", "127.0.0.1", "-p"])
                .arg(port.to_string());
            command
        })?;
        Ok(Self { served })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.served.port
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.served.addr()
    }

    /// The endpoint URL to give an AWS SDK client (`http://127.0.0.1:PORT`).
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.served.port)
    }

    /// Whether the server process is running (it was not stopped).
    pub fn is_running(&self) -> bool {
        self.served.is_running()
    }

    /// Kills the server, as an outage would. Clients see refused connections.
    pub fn stop(&mut self) {
        self.served.stop();
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
        let missing = Path::new("/nonexistent/redis-server");
        let err = Served::start(&REDIS, |port| {
            redis_command(missing, &std::env::temp_dir(), port)
        })
        .expect_err("no such binary");
        assert!(
            err.to_string().contains("apt-get install redis-server"),
            "{err}"
        );
        assert!(
            err.to_string().contains("/nonexistent/redis-server"),
            "{err}"
        );
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
        let err = Served::start(&MOTO, |_| Command::new("/nonexistent/moto_server"))
            .expect_err("no such binary");
        assert!(err.to_string().contains("moto[server]"), "{err}");
    }
}
