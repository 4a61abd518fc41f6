//! Requests per second for an authenticated `GET /me` over loopback: the full layer stack
//! (`service`) against the same handlers with no layers (`routes_only`, given the claims the
//! bearer layer would have verified). Then the refused paths through the full stack, which
//! must cost no more than serving: `GET /me` without a token and with a forged one (401), and
//! a flood past the per-client rate limit (429).
//!
//! A small load generator: for each variant, `CONNECTIONS` keep-alive HTTP/1.1 connections
//! sending requests back to back. The variants take the machine in turn, a slice of
//! `SLICE_MS` each, after a warm-up, until each has been counted for `SECONDS` (10); one
//! variant's connections are all idle before the next one's start. Run with
//! `cargo bench -p secure-api --bench throughput`; `SECURE_API_BENCH_SECONDS` changes the
//! counted time, `SECURE_API_BENCH_ONLY=0,1` (for a profiler) measures only those variants.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout, missing_docs)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use palisade_testkit::Spread;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

const CONNECTIONS: usize = 16;

/// How long one variant has the machine before the next takes it.
const SLICE_MS: u64 = 250;

/// Each slice's uncounted start: the pool's connections start sending.
const SETTLE: Duration = Duration::from_millis(25);

/// Each variant's uncounted first second.
const WARM_UP: Duration = Duration::from_secs(1);

/// Sends `request` and reads one answer, returning its status.
///
/// The load generator shares the two cores with the service, so it does as little per answer
/// as it can: one `memmem` search for the end of the head, no copy of it. The full stack's
/// answers carry fifteen headers (about 770 bytes) more than the bare routes' (the security
/// headers, CORS, the request id, the rate-limit fields); a byte-by-byte scan and a lower-cased
/// copy of every head made the client's own work on those bytes count against the layers.
async fn one_request(stream: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> u16 {
    stream.write_all(request).await.unwrap();
    buf.clear();
    let mut searched = 0;
    let end = loop {
        read_more(stream, buf).await;
        if let Some(at) = memchr::memmem::find(&buf[searched..], b"\r\n\r\n") {
            break searched + at;
        }
        searched = buf.len().saturating_sub(3);
    };
    let head = &buf[..end];
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    let length = content_length(head);
    while buf.len() < end + 4 + length {
        read_more(stream, buf).await;
    }
    status
}

/// Appends what the connection has to `buf`, straight into its spare room.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    buf.reserve(4096);
    let n = stream.read_buf(buf).await.unwrap();
    assert!(n > 0, "connection closed");
}

/// The `Content-Length` of an answer's head (any case), or 0.
fn content_length(head: &[u8]) -> usize {
    const NAME: &[u8] = b"content-length:";
    head.split(|&b| b == b'\n')
        .find_map(|line| {
            let value = line.get(NAME.len()..)?;
            line[..NAME.len()]
                .eq_ignore_ascii_case(NAME)
                .then(|| std::str::from_utf8(value).unwrap().trim().parse().unwrap())
        })
        .unwrap_or(0)
}

async fn login(port: u16) -> String {
    let body = r#"{"email":"bench@example.com","password":"correct horse battery staple"}"#;
    let mut token = String::new();
    for path in ["/auth/register", "/auth/login"] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: \
             application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        if let Some(json) = text
            .split("\r\n\r\n")
            .nth(1)
            .filter(|b| b.contains("access_token"))
        {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            v["access_token"].as_str().unwrap().clone_into(&mut token);
        }
    }
    assert!(!token.is_empty(), "login failed");
    token
}

/// `GET /me` with `Authorization: Bearer <token>`, or with no `Authorization` at all.
fn get_me(token: Option<&str>) -> Vec<u8> {
    match token {
        Some(token) => {
            format!("GET /me HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n")
        }
        None => "GET /me HTTP/1.1\r\nHost: bench\r\n\r\n".to_owned(),
    }
    .into_bytes()
}

/// One variant's load: `CONNECTIONS` keep-alive connections, each sending `request` back to
/// back while its variant has the machine, and parked (no request in flight) otherwise.
struct Pool {
    /// Answers completed while counting.
    count: Arc<AtomicU64>,
    /// Connections with a request in flight.
    busy: Arc<AtomicUsize>,
    /// Seconds counted, in all.
    seconds: f64,
    /// The count and seconds of each slice, for the spread.
    slices: Vec<(u64, f64)>,
}

/// Which pool sends (`NONE` for none) and whether answers count now.
#[derive(Clone)]
struct Turn {
    active: tokio::sync::watch::Receiver<usize>,
    counting: Arc<AtomicBool>,
}

const NONE: usize = usize::MAX;

impl Pool {
    /// Opens the connections of variant `id`: `request` to `port`, each answered `expect`
    /// while counting.
    async fn open(id: usize, port: u16, request: Vec<u8>, expect: u16, turn: &Turn) -> Self {
        let (count, busy) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
        let request = Arc::new(request);
        for _ in 0..CONNECTIONS {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (request, count, busy) = (request.clone(), count.clone(), busy.clone());
            let Turn {
                mut active,
                counting,
            } = turn.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(8192);
                // Ends when the bench drops the sender.
                while active.wait_for(|a| *a == id).await.is_ok() {
                    busy.fetch_add(1, Ordering::SeqCst);
                    while *active.borrow() == id {
                        let status = one_request(&mut stream, &request, &mut buf).await;
                        // Before counting starts, the rate-limited service may still admit
                        // the first request of its window.
                        if counting.load(Ordering::Relaxed) {
                            assert_eq!(status, expect);
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
        Self {
            count,
            busy,
            seconds: 0.0,
            slices: Vec::new(),
        }
    }

    fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let count = self.count.load(Ordering::Relaxed) as f64;
        count / self.seconds
    }
}

/// Gives the machine to `pool` (variant `id`) for one slice: a settling time uncounted (its
/// connections start sending), then `slice` counted, then it waits until every connection
/// of the pool has parked, so no two variants ever overlap.
async fn run_slice(
    id: usize,
    pool: &mut Pool,
    active: &tokio::sync::watch::Sender<usize>,
    counting: &AtomicBool,
    slice: Duration,
) {
    active.send_replace(id);
    tokio::time::sleep(SETTLE).await;
    let before = pool.count.load(Ordering::Relaxed);
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(slice).await;
    counting.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    pool.seconds += seconds;
    pool.slices
        .push((pool.count.load(Ordering::Relaxed) - before, seconds));
    active.send_replace(NONE);
    while pool.busy.load(Ordering::SeqCst) > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The spread of the full stack's rate over the bare routes' in each pair of slices, which
/// ran one right after the other.
fn pair_spread(full: &Pool, bare: &Pool) -> Spread {
    #[allow(clippy::cast_precision_loss)]
    let ratios: Vec<f64> = full
        .slices
        .iter()
        .zip(&bare.slices)
        .map(|(&(f, fs), &(b, bs))| (f as f64 / fs) / (b as f64 / bs))
        .collect();
    Spread::of(&ratios)
}

/// The chosen variants measured in turn (see the module's documentation): their pools, each
/// with its count and the seconds it was counted.
async fn measure(
    variants: &[(&str, u16, Vec<u8>, u16)],
    chosen: &[usize],
    seconds: u64,
) -> Vec<Pool> {
    let (active, receiver) = tokio::sync::watch::channel(NONE);
    let counting = Arc::new(AtomicBool::new(false));
    let turn = Turn {
        active: receiver,
        counting: counting.clone(),
    };
    let mut pools = Vec::new();
    for &i in chosen {
        let (_, port, request, expect) = &variants[i];
        pools.push(Pool::open(i, *port, request.clone(), *expect, &turn).await);
    }
    // Warm-up: each variant sends for a second, uncounted and unchecked (the connections
    // read `counting`, which stays false; the rate-limited service admits the first request
    // of its window).
    let warming = AtomicBool::new(false);
    for (&i, pool) in chosen.iter().zip(&mut pools) {
        run_slice(i, pool, &active, &warming, WARM_UP).await;
        pool.count.store(0, Ordering::Relaxed);
        pool.seconds = 0.0;
        pool.slices.clear();
    }
    // Short slices in turn, so a drift in the machine's speed touches every variant alike:
    // with five seconds per variant at a time, one run's ratio of the full stack to the bare
    // routes ranged from 0.58 to 0.87 on a shared VM.
    let slices = (seconds * 1000).div_ceil(SLICE_MS).max(1);
    for _ in 0..slices {
        for (&i, pool) in chosen.iter().zip(&mut pools) {
            let slice = Duration::from_millis(SLICE_MS);
            run_slice(i, pool, &active, &counting, slice).await;
        }
    }
    drop(active);
    pools
}

async fn serve<S>(app: S) -> u16
where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                std::net::SocketAddr,
            >(app),
        )
        .await
        .unwrap();
    });
    port
}

fn main() {
    let seconds: u64 = std::env::var("SECURE_API_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    // The service's logging, redacting writer included, writing to nowhere: its cost is
    // measured and the bench's output stays readable. SECURE_API_BENCH_LOG=0 leaves it out.
    let log = std::env::var("SECURE_API_BENCH_LOG").map_or(true, |v| v != "0");
    // For a profiler: SECURE_API_BENCH_ONLY=0,1 measures only those variants (numbered in
    // the order printed), the others print 0.
    let only: Option<Vec<usize>> = std::env::var("SECURE_API_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
    if log {
        tracing::subscriber::set_global_default(secure_api::subscriber(
            palisade_redact::RedactingMakeWriter::new(
                std::io::sink,
                palisade_redact::Redactor::new(),
            ),
        ))
        .unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("secure-api-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let service = |name: &str, rate_limit: u32| {
            let dir = dir.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            secure_api::Config {
                database: dir.join("db.sqlite"),
                audit_dir: dir.join("audit"),
                audit_verifier_out: Some(dir.join("audit.verifier")),
                keyring: dir.join("keyring"),
                rate_limit,
                rate_limit_per_user: 10_000_000,
                ..secure_api::Config::default()
            }
        };
        let config = service("open", 10_000_000);
        let secrets = secure_api::Secrets::load(&config.secrets, &BTreeMap::new(), true).unwrap();
        let state = secure_api::build_state(config, &secrets).await.unwrap();
        let layered = serve(secure_api::service(state.clone())).await;
        let token = login(layered).await;
        // No bearer layer: the claims it would insert for the bench account (id 1) are fixed.
        let claims = Arc::new(secure_api::UserClaims::new(serde_json::Map::new()).subject("1"));
        let bare = serve(secure_api::routes_only(state).layer(axum::Extension(claims))).await;
        // The same service with a per-client limit of one request a minute: after the first
        // request, every request of the load generator (one client address) is a 429.
        let limited_state = secure_api::build_state(service("limited", 1), &secrets)
            .await
            .unwrap();
        let limited = serve(secure_api::service(limited_state)).await;
        // A token of the right shape whose signature is wrong.
        let forged = {
            let (rest, _) = token.rsplit_once('.').unwrap();
            format!("{rest}.{}", "A".repeat(43))
        };

        let variants: [(&str, u16, Vec<u8>, u16); 5] = [
            ("served (full stack)", layered, get_me(Some(&token)), 200),
            ("served (no layers)", bare, get_me(Some(&token)), 200),
            ("refused: no token", layered, get_me(None), 401),
            ("refused: forged token", layered, get_me(Some(&forged)), 401),
            ("refused: rate limit", limited, get_me(Some(&token)), 429),
        ];
        let chosen: Vec<usize> = (0..variants.len())
            .filter(|i| only.as_ref().is_none_or(|only| only.contains(i)))
            .collect();
        let pools = measure(&variants, &chosen, seconds).await;
        let slices = pools.first().map_or(0, |p| p.slices.len());
        let mut rates = [0.0f64; 5];
        for (&i, pool) in chosen.iter().zip(&pools) {
            rates[i] = pool.rate();
        }
        println!(
            "GET /me, {CONNECTIONS} keep-alive connections, {seconds} s each in {slices} \
             slices of {SLICE_MS} ms taken in turn, request log {}",
            if log { "on" } else { "off" }
        );
        for ((name, ..), rate) in variants.iter().zip(rates) {
            println!(
                "  {name:<22}: {rate:>9.0} req/s  ({:.2}x served)",
                rate / rates[0]
            );
        }
        println!(
            "  overhead of the layers on the served path: {:.1} %",
            (rates[1] / rates[0] - 1.0) * 100.0
        );
        if let (Some(full), Some(bare)) = (
            chosen.iter().position(|&i| i == 0),
            chosen.iter().position(|&i| i == 1),
        ) {
            let Spread { low, median, high } = pair_spread(&pools[full], &pools[bare]);
            println!(
                "  full stack / no layers: {:.3} overall; per pair of slices median {median:.3}, \
                 quartiles {low:.3} to {high:.3}",
                rates[0] / rates[1]
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
