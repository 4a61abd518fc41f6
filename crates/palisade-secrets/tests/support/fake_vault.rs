//! A small HTTP server on 127.0.0.1 answering as Vault's API documentation says Vault answers:
//! KV version 2 reads (`GET /v1/MOUNT/data/PATH[?version=N]`, data and metadata), Transit
//! encrypt and decrypt (`POST /v1/MOUNT/encrypt|decrypt/KEY`), 403 without the right token,
//! 404 for what does not exist or was deleted. The bodies are shaped as in the documentation;
//! the cryptography is simulated (the "ciphertext" carries its associated data and plaintext
//! in base64) so that a wrong associated data is refused as Vault refuses it.
//!
//! Faults on demand: stop the server, delay answers, answer with a malformed body.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

pub(crate) const TOKEN: &str = "hvs.test-token-not-a-real-one";

/// One version of a KV secret.
#[derive(Clone)]
struct Version {
    data: Value,
    deleted: bool,
}

#[derive(Default)]
struct State {
    /// `mount/path` to its versions, oldest first (version N at index N - 1).
    kv: HashMap<String, Vec<Version>>,
    delay: Duration,
    malformed: bool,
    requests: u64,
    /// Set by [`FakeVault::stop`] before it aborts the server. A connection task that another
    /// worker thread was still polling can read a request sent after `stop` returned; it must
    /// not answer it.
    stopped: bool,
}

pub(crate) struct FakeVault {
    pub(crate) address: SocketAddr,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl FakeVault {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            // Connections live in this set: stopping the server (aborting this task) drops
            // them all, as a crashed server would.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(serve(stream, shared.clone()));
            }
        });
        Self {
            address,
            state,
            server,
        }
    }

    /// A server on a runtime of its own (one worker thread), for tests whose code under test
    /// is synchronous or another process. The server runs until the runtime is dropped.
    #[allow(
        dead_code,
        reason = "used by the CLI's and the service's tests, which include this file"
    )]
    pub(crate) fn start_on_own_runtime() -> (Self, tokio::runtime::Runtime) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let vault = runtime.block_on(Self::start());
        (vault, runtime)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a new version of `mount/path` (as `POST /v1/MOUNT/data/PATH` would).
    pub(crate) fn put(&self, mount_path: &str, data: Value) {
        self.state()
            .kv
            .entry(mount_path.to_owned())
            .or_default()
            .push(Version {
                data,
                deleted: false,
            });
    }

    /// Soft-deletes the latest version (as `DELETE /v1/MOUNT/data/PATH` would).
    pub(crate) fn delete_latest(&self, mount_path: &str) {
        if let Some(last) = self
            .state()
            .kv
            .get_mut(mount_path)
            .and_then(|v| v.last_mut())
        {
            last.deleted = true;
        }
    }

    pub(crate) fn set_delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    pub(crate) fn set_malformed(&self, malformed: bool) {
        self.state().malformed = malformed;
    }

    pub(crate) fn requests(&self) -> u64 {
        self.state().requests
    }

    /// Stops the server: the listener closes and open connections are dropped. No request
    /// sent after this returns is answered.
    pub(crate) async fn stop(self) {
        self.state().stopped = true;
        self.server.abort();
        let _ = self.server.await;
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    loop {
        // The head.
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buffer[head_end..head_end + length].to_vec();
        buffer.drain(..head_end + length);

        let (delay, malformed) = {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.stopped {
                return;
            }
            s.requests += 1;
            (s.delay, s.malformed)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let (status, body) = if malformed {
            (200, r#"{"data": {"data": {"password": "#.to_owned())
        } else {
            answer(&request_line, &headers, &body, &state)
        };
        if std::env::var_os("FAKE_VAULT_TRACE").is_some() {
            eprintln!("{request_line} -> {status} {body}");
        }
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            _ => "Not Found",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Every Vault answer with data comes in this envelope (the documentation's samples show
/// only `data` for some endpoints; a live Vault always sends the whole envelope, and
/// vaultrs requires it).
fn envelope(data: &Value) -> String {
    json!({
        "request_id": "a4a1c0c4-4d4b-4b9b-8a3f-8c8f0e2b1d51",
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": null,
        "auth": null
    })
    .to_string()
}

fn errors(status: u16, messages: &[&str]) -> (u16, String) {
    (status, json!({ "errors": messages }).to_string())
}

fn answer(
    request_line: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
    state: &Mutex<State>,
) -> (u16, String) {
    if headers.get("x-vault-token").map(String::as_str) != Some(TOKEN) {
        return errors(403, &["permission denied"]);
    }
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let Some(path) = path.strip_prefix("/v1/") else {
        return errors(404, &[]);
    };
    let segments: Vec<&str> = path.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", [mount, "data", rest @ ..]) => {
            let key = format!("{mount}/{}", rest.join("/"));
            let state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(versions) = state.kv.get(&key) else {
                return errors(404, &[]);
            };
            let number = match query.strip_prefix("version=") {
                Some(n) => n.parse::<usize>().unwrap_or(0),
                None => versions.len(),
            };
            let Some(version) = number.checked_sub(1).and_then(|i| versions.get(i)) else {
                return errors(404, &[]);
            };
            if version.deleted {
                // Vault answers a deleted version with 404 and its metadata.
                let body = json!({
                    "data": {
                        "data": null,
                        "metadata": {
                            "created_time": "2018-03-22T02:24:06.945319214Z",
                            "custom_metadata": null,
                            "deletion_time": "2018-03-22T02:36:43.986212308Z",
                            "destroyed": false,
                            "version": number
                        }
                    }
                });
                return (404, body.to_string());
            }
            let data = json!({
                "data": version.data,
                "metadata": {
                    "created_time": "2018-03-22T02:24:06.945319214Z",
                    "custom_metadata": { "owner": "jdoe", "mission_critical": "false" },
                    "deletion_time": "",
                    "destroyed": false,
                    "version": number
                }
            });
            (200, envelope(&data))
        }
        ("POST" | "PUT", [_mount, operation @ ("encrypt" | "decrypt"), _key]) => {
            let Ok(request) = serde_json::from_slice::<Value>(body) else {
                return errors(400, &["failed to parse JSON input"]);
            };
            let ad = request["associated_data"].as_str().unwrap_or("").to_owned();
            if *operation == "encrypt" {
                let plaintext = request["plaintext"].as_str().unwrap_or("");
                let sealed = STANDARD.encode(format!("{ad}.{plaintext}"));
                let data = json!({ "ciphertext": format!("vault:v1:{sealed}"), "key_version": 1 });
                return (200, envelope(&data));
            }
            let ciphertext = request["ciphertext"].as_str().unwrap_or("");
            let opened = ciphertext
                .strip_prefix("vault:v1:")
                .and_then(|c| STANDARD.decode(c).ok())
                .and_then(|c| String::from_utf8(c).ok());
            let Some((sealed_ad, plaintext)) = opened.as_deref().and_then(|o| o.split_once('.'))
            else {
                return errors(400, &["invalid ciphertext: could not decode"]);
            };
            if sealed_ad != ad {
                return errors(400, &["cipher: message authentication failed"]);
            }
            (200, envelope(&json!({ "plaintext": plaintext })))
        }
        _ => errors(404, &[]),
    }
}
