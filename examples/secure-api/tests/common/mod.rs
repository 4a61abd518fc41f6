//! Test support: start the real `secure-api` binary on a free port and talk HTTP/1.1 to it
//! over a plain `TcpStream`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::panic,
    clippy::missing_panics_doc
)]

use std::{
    collections::HashMap,
    fmt::Write as _,
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Secrets for tests: fixed, distinct, never defaults.
pub const SECRETS: &[(&str, &str)] = &[
    (
        "PALISADE_JWT_KEY",
        "3f1c9a7e5b2d4f60817263a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
    ),
    (
        "PALISADE_TOKEN_KEY",
        "a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00",
    ),
    (
        "PALISADE_MASTER_KEY",
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff1",
    ),
    (
        "PALISADE_AUDIT_SIGNING_KEY",
        "9e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f1001f2e3d4c5b6a",
    ),
    (
        "PALISADE_PEPPER",
        "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07",
    ),
    (
        "PALISADE_CSRF_KEY",
        "d00dfeed11223344d00dfeed55667788d00dfeed99aabbccd00dfeedddeeff00",
    ),
    (
        "PALISADE_DEVICE_KEY",
        "6d3a0e9f41b27c58e6a1d0c4f83b92e75a6c1d8e4f02b37a9c5e8d1f60a4b7c2",
    ),
];

pub const ORIGIN: &str = "https://app.example";

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    req.push_str("\r\n");
    if let Some(body) = body {
        req.push_str(body);
    }
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

pub fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// The test secrets and the database, audit log and keyring paths under `dir`.
fn files_env(dir: &Path) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = SECRETS
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    for (name, file) in [
        ("PALISADE_DATABASE", "db.sqlite"),
        ("PALISADE_AUDIT_DIR", "audit"),
        ("PALISADE_KEYRING", "keyring"),
        // Created on first start; in production this file is moved off the machine.
        ("PALISADE_AUDIT_VERIFIER_OUT", "audit.verifier"),
    ] {
        env.insert(name.into(), dir.join(file).display().to_string());
    }
    env
}

/// Runs a one-off command (`rotate-keys`, ...) on the files in `dir`, with no server, with the
/// test secrets and `extra` environment.
pub fn offline_command(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_secure-api"))
        .args(args)
        .env_clear()
        .envs(files_env(dir))
        .envs(extra.iter().copied())
        .output()
        .unwrap()
}

/// Writes the service's keyring (in `dir`, sealed by the test master key) with keys made
/// `days_old` days ago; returns the primary encryption key's id.
pub fn keyring_made_days_ago(dir: &Path, days_old: u64) -> String {
    use palisade_crypt::{KeyPurpose, Keyring, ManualClock, MasterKey};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let clock = Arc::new(ManualClock::new(now - days_old * 86_400));
    let mut keyring = Keyring::generate_with_clock(clock).unwrap();
    let master = MasterKey::insecure_from_bytes(master_key_bytes());
    keyring.save_new(dir.join("keyring"), &master).unwrap();
    keyring
        .primary(KeyPurpose::Encryption)
        .unwrap()
        .id
        .to_string()
}

/// The test master key (`PALISADE_MASTER_KEY`), as bytes.
pub fn master_key_bytes() -> [u8; 32] {
    let hex = SECRETS
        .iter()
        .find(|(k, _)| *k == "PALISADE_MASTER_KEY")
        .map(|(_, v)| *v)
        .unwrap();
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// A running server process; killed on drop.
pub struct Server {
    pub port: u16,
    /// The admin listener (`/metrics`).
    pub admin_port: u16,
    pub dir: PathBuf,
    child: Child,
    pub log: Arc<Mutex<String>>,
}

/// What the server logs once its listeners are bound.
const LISTENING: &str = "secure-api listening";

impl Server {
    /// A fresh directory for one test.
    pub fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("secure-api-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Starts the binary with the test secrets and `extra` environment in `dir`.
    pub fn start(dir: &Path, extra: &[(&str, &str)]) -> Self {
        Self::try_start(dir, extra, &[])
            .unwrap_or_else(|log| panic!("server did not start:\n{log}"))
    }

    /// Starts the binary, or returns its log if it exits first. A port picked free can be
    /// taken by another test's server before this one binds it: that start is tried again on
    /// new ports.
    pub fn try_start(dir: &Path, extra: &[(&str, &str)], args: &[&str]) -> Result<Self, String> {
        let mut attempt = 0;
        loop {
            match Self::try_start_once(dir, extra, args) {
                Err(log) if log.contains("Address already in use") && attempt < 5 => attempt += 1,
                result => return result,
            }
        }
    }

    fn try_start_once(dir: &Path, extra: &[(&str, &str)], args: &[&str]) -> Result<Self, String> {
        let port = palisade_testkit::free_port().unwrap();
        let admin_port = palisade_testkit::free_port().unwrap();
        Self::try_start_on(dir, extra, args, port, admin_port)
    }

    /// Starts the binary on the given ports, or returns its log if it exits first.
    pub fn try_start_on(
        dir: &Path,
        extra: &[(&str, &str)],
        args: &[&str],
        port: u16,
        admin_port: u16,
    ) -> Result<Self, String> {
        let mut env = files_env(dir);
        env.insert(
            "PALISADE_ADMIN_LISTEN".into(),
            format!("127.0.0.1:{admin_port}"),
        );
        env.insert("PALISADE_ALLOWED_ORIGINS".into(), ORIGIN.into());
        env.insert("PALISADE_RATE_LIMIT".into(), "1000".into());
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        env.retain(|_, v| !v.is_empty());
        let mut child = Command::new(env!("CARGO_BIN_EXE_secure-api"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(log.lock().unwrap().clone());
            }
            // Its own word, not a connection to the port: another process can hold that port
            // (the server then exits with "Address already in use" and the start is tried
            // again), and the line comes after both listeners are bound.
            if log.lock().unwrap().contains(LISTENING) {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err(format!("timed out\n{}", log.lock().unwrap()));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(Self {
            port,
            admin_port,
            dir: dir.to_owned(),
            child,
            log,
        })
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        request(self.port, "GET", path, headers, None)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        request(self.port, "POST", path, headers, Some(body))
    }

    pub fn put(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        request(self.port, "PUT", path, headers, Some(body))
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Every audit record written so far, as the JSON lines of the log's segments. The log's
    /// writer thread appends shortly after a response (after a group sync that a busy disk can
    /// hold up), so this waits until the segments stop changing (600 ms without a new line, up
    /// to 10 s).
    pub fn audit(&self) -> String {
        let read = || -> String {
            let mut files: Vec<_> = std::fs::read_dir(self.dir.join("audit"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            files
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap_or_default())
                .collect()
        };
        let started = Instant::now();
        let mut last = read();
        let mut unchanged = 0;
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = read();
            unchanged = if now == last { unchanged + 1 } else { 0 };
            if unchanged == 3 || started.elapsed() > Duration::from_secs(10) {
                return now;
            }
            last = now;
        }
    }

    /// `GET /metrics` on the admin listener.
    pub fn metrics(&self) -> Response {
        request(self.admin_port, "GET", "/metrics", &[], None)
    }

    pub fn register(&self, email: &str, password: &str) -> Response {
        self.post(
            "/auth/register",
            &[],
            &serde_json::json!({"email": email, "password": password}).to_string(),
        )
    }

    pub fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/auth/login",
            &[],
            &serde_json::json!({"email": email, "password": password}).to_string(),
        )
    }

    /// Logs in every 250 ms, at most 40 times, until the access token is signed by the JWT key
    /// `key_hex`, and returns that token: for the reload tests, where a rotated key is taken up
    /// within the service's one-second refresh.
    pub fn login_until_signed_by(&self, email: &str, password: &str, key_hex: &str) -> String {
        let wanted = kid_of(&palisade_testkit::unhex(key_hex));
        for _ in 0..40 {
            let r = self.login(email, password);
            assert_eq!(r.status, 200, "{}", r.body);
            let token = r.json()["access_token"].as_str().unwrap().to_owned();
            if kid_in(&token) == wanted {
                return token;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("the new key {wanted} was not taken up");
    }

    /// Registers and logs in; returns the login body.
    pub fn account(&self, email: &str, password: &str) -> serde_json::Value {
        assert_eq!(self.register(email, password).status, 201);
        let r = self.login(email, password);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// The password-reset tokens mailed to `email` so far, oldest first.
    pub fn reset_tokens(&self, email: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.dir.join("db.sqlite")).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT body FROM outbox WHERE recipient = ?1 AND kind = 'password_reset' \
                 ORDER BY id",
            )
            .unwrap();
        stmt.query_map([email], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|body| {
                serde_json::from_str::<serde_json::Value>(&body.unwrap()).unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// Waits (up to 10 s: the reset worker mails off the request path) until `count` reset
    /// tokens were mailed to `email`; returns the newest.
    pub fn wait_for_reset_token(&self, email: &str, count: usize) -> String {
        let started = Instant::now();
        loop {
            let tokens = self.reset_tokens(email);
            if tokens.len() >= count {
                return tokens[count - 1].clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "reset mail {count} for {email} never arrived"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The latest password-reset token mailed to `email`, waiting for the first.
    pub fn outbox_token(&self, email: &str) -> String {
        let count = self.reset_tokens(email).len().max(1);
        self.wait_for_reset_token(email, count)
    }

    /// Waits (up to 10 s) until the audit log contains `needle` `times` times; returns the log.
    pub fn wait_for_audit(&self, needle: &str, times: usize) -> String {
        let started = Instant::now();
        loop {
            let audit = self.audit();
            if audit.matches(needle).count() >= times {
                return audit;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{needle} never reached the audit log:\n{audit}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Requests a reset for `email`, reads the token from the outbox and sets `new_password`
    /// with it, asserting each step succeeds.
    pub fn reset_password(&self, email: &str, new_password: &str) {
        let request = serde_json::json!({ "email": email }).to_string();
        let mailed = self.reset_tokens(email).len();
        assert_eq!(self.post("/auth/password-reset", &[], &request).status, 202);
        let token = self.wait_for_reset_token(email, mailed + 1);
        let confirm = serde_json::json!({ "token": token, "new_password": new_password });
        let r = self.post("/auth/password-reset/confirm", &[], &confirm.to_string());
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Runs a one-off command (`rotate-keys`, `grant-role ...`) against this server's files.
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        let env = files_env(&self.dir);
        Command::new(env!("CARGO_BIN_EXE_secure-api"))
            .args(args)
            .env_clear()
            .envs(&env)
            .output()
            .unwrap()
    }
}

impl Server {
    /// The server's process id, to send it a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to exit: its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The `kid` the service gives a JWT signing key: `k` and the first 7 hex digits of
/// HMAC-SHA256(key, "secure-api jwt kid v1").
pub fn kid_of(key: &[u8]) -> String {
    use hmac::{KeyInit, Mac as _};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(b"secure-api jwt kid v1");
    let tag = mac.finalize().into_bytes();
    let hex = format!("{:02x}{:02x}{:02x}{:02x}", tag[0], tag[1], tag[2], tag[3]);
    format!("k{}", &hex[..7])
}

/// The `kid` in a token's header.
pub fn kid_in(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub const PASSWORD: &str = "correct horse battery staple";

/// One HTTP/1.1 request like [`request`], sent from the loopback address `source`
/// (`[127, 0, 0, x]`): the service sees a different client for each address.
pub fn request_from(
    source: [u8; 4],
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = connect_from(source, port, 1).remove(0);
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
    } else {
        req.push_str("\r\n");
    }
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

/// Connections from the loopback address `source` (`[127, 0, 0, x]`) to `port`, `count` of
/// them, opened together; blocking `TcpStream`s.
pub fn connect_from(source: [u8; 4], port: u16, count: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut streams = Vec::with_capacity(count);
        for _ in 0..count {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::from((source, 0)))
                .unwrap();
            let stream = socket
                .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                .await
                .unwrap();
            let stream = stream.into_std().unwrap();
            stream.set_nonblocking(false).unwrap();
            streams.push(stream);
        }
        streams
    })
}

/// Whether the server has closed `stream` (end of stream, a reset, or a failed write), without
/// waiting: a connection still open with nothing to read is not closed.
pub fn closed_by_server(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 256];
    let closed = loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => break true,
            // A response (a 408 or 400) before the close: read on.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

impl Server {
    /// `POST /auth/login` from the loopback address `source`, with extra `headers`.
    pub fn login_from(
        &self,
        source: [u8; 4],
        email: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let body = serde_json::json!({"email": email, "password": password}).to_string();
        request_from(
            source,
            self.port,
            "POST",
            "/auth/login",
            headers,
            Some(&body),
        )
    }
}
