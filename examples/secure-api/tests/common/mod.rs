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
        "PALISADE_AUDIT_MAC_KEY",
        "5a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273747576777879",
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

fn parse_response(raw: &[u8]) -> Response {
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
    ] {
        env.insert(name.into(), dir.join(file).display().to_string());
    }
    env
}

/// A running server process; killed on drop.
pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
    pub log: Arc<Mutex<String>>,
}

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

    pub fn try_start(dir: &Path, extra: &[(&str, &str)], args: &[&str]) -> Result<Self, String> {
        let port = palisade_testkit::free_port().unwrap();
        let mut env = files_env(dir);
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
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
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

    /// Every audit record written so far, as the JSON lines of the log's segments.
    pub fn audit(&self) -> String {
        std::fs::read_dir(self.dir.join("audit"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect()
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

    /// Registers and logs in; returns the login body.
    pub fn account(&self, email: &str, password: &str) -> serde_json::Value {
        assert_eq!(self.register(email, password).status, 201);
        let r = self.login(email, password);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// The latest password-reset token queued for `email` in the outbox.
    pub fn outbox_token(&self, email: &str) -> String {
        let conn = rusqlite::Connection::open(self.dir.join("db.sqlite")).unwrap();
        let body: String = conn
            .query_row(
                "SELECT body FROM outbox WHERE recipient = ?1 ORDER BY id DESC LIMIT 1",
                [email],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
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
        assert_eq!(self.post("/auth/password-reset", &[], &request).status, 202);
        let token = self.outbox_token(email);
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub const PASSWORD: &str = "correct horse battery staple";
