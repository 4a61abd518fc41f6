//! The service under browser-shaped attacks: cross-origin requests as real browsers send them,
//! bodies in the wrong content type, slow clients, shutdown, and client-chosen request ids.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    fmt::Write as _,
    io::{Read as _, Write as _},
    net::TcpStream,
    time::Duration,
};

use common::{ORIGIN, PASSWORD, Response, Server};
use serde_json::json;

/// The single-page app on the trusted origin `https://app.example` refreshes through the
/// cookie with the double-submit token, as a browser sends it from another origin of the same
/// site (`same-site`) or another site (`cross-site`); the service's own pages (`same-origin`
/// with its own Origin) pass too, and an untrusted origin is refused even with the token.
#[test]
fn spa_on_a_trusted_origin_refreshes_through_the_cookie() {
    let dir = Server::temp_dir("web-spa");
    let server = Server::start(&dir, &[]);
    let login = server.account("spa@example.com", PASSWORD);
    let mut refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let mut csrf = login["csrf_token"].as_str().unwrap().to_owned();
    let own = format!("http://127.0.0.1:{}", server.port);
    for (site, origin) in [
        ("same-site", ORIGIN),
        ("cross-site", ORIGIN),
        ("same-origin", own.as_str()),
    ] {
        let cookie = format!("refresh={refresh}; csrf={csrf}");
        let r = server.post(
            "/auth/refresh",
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Origin", origin),
                ("Sec-Fetch-Site", site),
            ],
            "",
        );
        assert_eq!(r.status, 200, "{site} {origin}: {}", r.body);
        if origin == ORIGIN {
            assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
            assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        }
        refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
        csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
    }
    let cookie = format!("refresh={refresh}; csrf={csrf}");
    for (site, origin) in [
        ("cross-site", "https://evil.example"),
        ("same-site", "https://blog.app.example"),
    ] {
        let r = server.post(
            "/auth/refresh",
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Origin", origin),
                ("Sec-Fetch-Site", site),
            ],
            "",
        );
        assert_eq!(r.status, 403, "{site} {origin}");
    }
    // The refused requests did not spend the token.
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({ "refresh_token": refresh }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A stolen refresh token replayed inside the grace window buys the thief nothing of their
/// own: a retry gets the successor the owner already holds, and once that successor has been
/// used the replay is reuse, which ends the family for both.
#[test]
fn refresh_replay_in_the_grace_window_gets_no_branch_of_its_own() {
    let dir = Server::temp_dir("web-grace");
    let server = Server::start(&dir, &[("PALISADE_REFRESH_GRACE_SECS", "30")]);
    let login = server.account("grace@example.com", PASSWORD);
    let refresh = |token: &str| {
        server.post(
            "/auth/refresh",
            &[],
            &json!({ "refresh_token": token }).to_string(),
        )
    };
    let t0 = login["refresh_token"].as_str().unwrap().to_owned();
    let r = refresh(&t0);
    assert_eq!(r.status, 200);
    let t1 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // The thief replays t0 at once: the same successor, not a fresh one.
    let r = refresh(&t0);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["refresh_token"].as_str().unwrap(), t1);
    // The owner moves on; a later replay of t0, still inside the window, is reuse.
    let r = refresh(&t1);
    assert_eq!(r.status, 200);
    let t2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&t0).status, 401);
    assert_eq!(refresh(&t2).status, 401, "the family is revoked");
    server.wait_for_audit("\"reason\":\"reused\"", 1);
}

/// One HTTP/1.1 request with `Connection: close`, the given headers and body, and nothing
/// added (no `Content-Type`).
fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(request, "{k}: {v}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    Response {
        status,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

/// Login CSRF: a cross-site form posts the attacker's credentials as `text/plain` (no CORS
/// preflight), hoping the JSON parser takes it. Refused with 415, and no session is set.
#[test]
fn login_with_a_text_plain_body_is_refused_415() {
    let dir = Server::temp_dir("web-ctype");
    let server = Server::start(&dir, &[]);
    assert_eq!(server.register("mallory@example.com", PASSWORD).status, 201);
    let credentials = json!({ "email": "mallory@example.com", "password": PASSWORD }).to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut headers = vec![
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let r = raw(server.port, "POST", "/auth/login", &headers, &credentials);
        assert_eq!(r.status, 415, "{content_type:?}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert!(
            r.header("set-cookie").is_none(),
            "no session for {content_type:?}"
        );
        assert!(!r.body.contains("access_token"));
    }
    // The same credentials as JSON log in.
    let r = raw(
        server.port,
        "POST",
        "/auth/login",
        &[("Content-Type", "application/json; charset=utf-8")],
        &credentials,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Profile updates are guarded too.
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = common::bearer(&access);
    let r = raw(
        server.port,
        "PUT",
        "/me",
        &[("Authorization", &bearer), ("Content-Type", "text/plain")],
        r#"{"display_name":"x"}"#,
    );
    assert_eq!(r.status, 415);
}

/// Test limits: one second for headers and bodies, two for a whole request.
const SHORT_LIMITS: &[(&str, &str)] = &[
    ("PALISADE_HEADER_READ_TIMEOUT_SECS", "1"),
    ("PALISADE_BODY_READ_TIMEOUT_SECS", "1"),
    ("PALISADE_REQUEST_TIMEOUT_SECS", "2"),
];

/// Reads until the server closes the connection (or 10 s pass); how long that took.
fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = std::time::Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
        if started.elapsed() > Duration::from_secs(10) {
            return started.elapsed();
        }
    }
}

/// Sends `bytes` one at a time every `gap` on a clone of `stream`, until a write fails.
fn dribble(stream: &TcpStream, bytes: Vec<u8>, gap: Duration) -> std::thread::JoinHandle<usize> {
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut sent = 0;
        for b in bytes {
            std::thread::sleep(gap);
            if writer.write_all(&[b]).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    })
}

/// Slowloris: clients that send their headers a byte at a time, or nothing at all, are cut
/// off after the header-read timeout instead of holding a connection for as long as they like.
#[test]
fn slow_header_clients_are_closed_after_the_header_timeout() {
    let dir = Server::temp_dir("web-slow-header");
    let server = Server::start(&dir, SHORT_LIMITS);
    let mut clients = Vec::new();
    for _ in 0..20 {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let header = b"POST /auth/login HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec();
        let writer = dribble(&stream, header, Duration::from_millis(100));
        clients.push((stream, writer));
    }
    let silent = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    clients.push((silent, std::thread::spawn(|| 0)));
    let handles: Vec<_> = clients
        .into_iter()
        .map(|(mut stream, writer)| {
            std::thread::spawn(move || {
                let took = time_until_closed(&mut stream);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                (took, writer.join().unwrap())
            })
        })
        .collect();
    for handle in handles {
        let (took, sent) = handle.join().unwrap();
        assert!(took < Duration::from_secs(4), "held for {took:?}");
        assert!(sent < 60, "the whole header got through ({sent} bytes)");
    }
    // The service still answers.
    assert_eq!(server.get("/health", &[]).status, 200);
}

/// A keep-alive connection left idle after its response is closed after the header timeout.
#[test]
fn idle_keep_alive_connections_are_closed() {
    let dir = Server::temp_dir("web-idle");
    let server = Server::start(&dir, SHORT_LIMITS);
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let took = time_until_closed(&mut stream);
    assert!(took < Duration::from_secs(4), "idle for {took:?}");
}

/// A client that sends its headers and then its body a byte at a time (or stops) is cut off
/// by the body deadline, measured from the end of the headers, however steadily it dribbles.
#[test]
fn slow_body_clients_are_closed_after_the_body_timeout() {
    let dir = Server::temp_dir("web-slow-body");
    let server = Server::start(&dir, SHORT_LIMITS);
    let body = json!({ "email": "slow@example.com", "password": "x".repeat(60) }).to_string();
    for gap in [Duration::from_millis(200), Duration::from_secs(60)] {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let head = format!(
            "POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let writer = dribble(&stream, body.clone().into_bytes(), gap);
        let took = time_until_closed(&mut stream);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        assert!(
            took < Duration::from_secs(4),
            "held for {took:?} (gap {gap:?})"
        );
        if gap < Duration::from_secs(1) {
            assert!(
                writer.join().unwrap() < body.len(),
                "the whole body got through"
            );
        }
    }
    assert_eq!(server.get("/health", &[]).status, 200);
}

/// Slowloris from several addresses: 2,000 connections from eight loopback addresses, each
/// holding its headers back. Each address keeps at most `max_connections_per_client` of them
/// (the rest are closed as soon as they are accepted), a ninth client is served meanwhile, and
/// the connections kept are cut off by the header-read timeout.
#[test]
fn slowloris_from_several_addresses_is_capped_per_client_and_cut_off() {
    const PER_CLIENT: usize = 50;
    const PER_ADDRESS: usize = 250;
    let dir = Server::temp_dir("web-slowloris");
    let per_client = PER_CLIENT.to_string();
    let server = Server::start(
        &dir,
        &[
            ("PALISADE_HEADER_READ_TIMEOUT_SECS", "5"),
            ("PALISADE_MAX_CONNECTIONS_PER_CLIENT", per_client.as_str()),
        ],
    );
    let sources: Vec<[u8; 4]> = (2..=9).map(|x| [127, 0, 0, x]).collect();
    let mut floods = Vec::new();
    for source in &sources {
        let streams = common::connect_from(*source, server.port, PER_ADDRESS);
        for mut stream in &streams {
            // The start of a request, and never the rest.
            let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a");
        }
        // The server has accepted them all (and closed those over the cap) well within the
        // header timeout.
        std::thread::sleep(Duration::from_millis(300));
        let open = streams
            .iter()
            .filter(|s| !common::closed_by_server(s))
            .count();
        assert!(
            (1..=PER_CLIENT).contains(&open),
            "{source:?} holds {open} connections"
        );
        floods.push(streams);
    }
    assert_eq!(floods.iter().map(Vec::len).sum::<usize>(), 2_000);
    // Another client is served while the flood holds its connections.
    let other = common::request_from([127, 0, 0, 1], server.port, "GET", "/health", &[], None);
    assert_eq!(other.status, 200);
    // The header-read timeout cuts off the ones each client kept.
    let started = std::time::Instant::now();
    loop {
        let open: usize = floods
            .iter()
            .flatten()
            .filter(|s| !common::closed_by_server(s))
            .count();
        if open == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{open} slow connections still open"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(server.get("/health", &[]).status, 200);
}

/// Beyond `max_concurrent_requests` requests are answered 503 with `Retry-After` at once, from
/// another client address too, and served again once the request in flight is done.
#[test]
fn requests_beyond_the_concurrency_limit_get_503() {
    let dir = Server::temp_dir("web-concurrency");
    let server = Server::start(&dir, &[("PALISADE_MAX_CONCURRENT_REQUESTS", "1")]);
    assert_eq!(server.register("busy@example.com", PASSWORD).status, 201);
    let body = json!({ "email": "busy@example.com", "password": PASSWORD }).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let r = server.get("/health", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(server.get("/health", &[]).status, 200);
}

/// SIGTERM, as an orchestrator sends it, shuts down gracefully: the listener closes, the
/// request in flight is finished and answered, and the process exits 0.
#[cfg(unix)]
#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let dir = Server::temp_dir("web-sigterm");
    let mut server = Server::start(&dir, &[]);
    assert_eq!(server.register("term@example.com", PASSWORD).status, 201);
    let body = json!({ "email": "term@example.com", "password": PASSWORD }).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "no new connection after SIGTERM"
    );
    assert!(
        server.wait_exit(Duration::from_millis(100)).is_none(),
        "waits for the request"
    );
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let exit = server
        .wait_exit(Duration::from_secs(10))
        .expect("the process exits");
    assert!(exit.success(), "{exit:?}\n{}", server.logs());
    assert!(server.logs().contains("SIGTERM"));
}

/// A client's `x-request-id` does not become the server's: the response and the audit record
/// carry an id the server chose, and the client's value, sanitized, is recorded apart as
/// `client_request_id`.
#[test]
fn client_request_ids_are_recorded_apart_from_the_servers() {
    let dir = Server::temp_dir("web-request-id");
    let server = Server::start(&dir, &[]);
    let r = server.get("/me", &[("X-Request-Id", "client-chosen-42")]);
    assert_eq!(r.status, 401);
    let server_id = r.header("x-request-id").unwrap().to_owned();
    assert_ne!(server_id, "client-chosen-42");
    assert_eq!(r.json()["request_id"], server_id.as_str());
    let audit = server.wait_for_audit("client-chosen-42", 1);
    assert!(
        audit.contains("\"client_request_id\":\"client-chosen-42\""),
        "{audit}"
    );
    assert!(
        audit.contains(&format!("\"request_id\":\"{server_id}\"")),
        "{audit}"
    );
    assert!(!audit.contains("\"request_id\":\"client-chosen-42\""));
    // A hostile id is cut to its harmless characters and 64 of them: no JSON gets through.
    let hostile = format!("x\"}},{{\"forged\":1 {}", "a".repeat(100));
    // Another route, so the refusal opens a window of its own and is recorded at once (a
    // repeat of the first would only be counted).
    let r = server.get("/admin/users", &[("X-Request-Id", &hostile)]);
    assert_eq!(r.status, 401);
    let kept = format!("xforged:1{}", "a".repeat(55));
    let audit = server.wait_for_audit(&format!("\"client_request_id\":\"{kept}\""), 1);
    assert!(!audit.contains("\"forged\":1"));
}

/// `X-Forwarded-Proto: https` earns HSTS only from a trusted proxy: from any other peer it is
/// the client's own claim.
#[test]
fn hsts_follows_forwarded_proto_only_from_trusted_proxies() {
    let has_hsts = |server: &Server| {
        server
            .get("/health", &[("X-Forwarded-Proto", "https")])
            .header("strict-transport-security")
            .is_some()
    };
    let dir = Server::temp_dir("web-hsts-untrusted");
    let server = Server::start(&dir, &[]);
    assert!(!has_hsts(&server), "a forged header from an untrusted peer");
    drop(server);

    let dir = Server::temp_dir("web-hsts-trusted");
    let config = dir.join("config.toml");
    std::fs::write(&config, "trusted_proxies = [\"127.0.0.1\"]\n").unwrap();
    let server = Server::try_start(&dir, &[], &["--config", config.to_str().unwrap()])
        .unwrap_or_else(|log| panic!("{log}"));
    assert!(has_hsts(&server), "the trusted proxy terminated TLS");
    assert!(
        server
            .get("/health", &[])
            .header("strict-transport-security")
            .is_none(),
        "plain HTTP through the proxy"
    );
}

/// A Redis URL with a password is refused on the command line (every local user can read
/// it there), is read from `--redis-url-file` or `PALISADE_REDIS_URL_FILE`, and its password
/// never reaches the log, even when the server behind it cannot be reached.
#[test]
fn redis_password_stays_off_the_command_line_and_out_of_logs() {
    const PASSWORD_IN_URL: &str = "hunter2redispw";
    let dir = Server::temp_dir("web-redis-url");
    // Port 1: nothing listens there, and unlike a free port picked now, no Redis another test
    // starts can take it.
    let url = format!("redis://:{PASSWORD_IN_URL}@127.0.0.1:1/0");
    let log = Server::try_start(&dir, &[], &["--redis-url", &url])
        .err()
        .expect("refused");
    assert!(log.contains("--redis-url-file"), "{log}");
    assert!(!log.contains(PASSWORD_IN_URL), "{log}");

    let file = dir.join("redis-url");
    std::fs::write(&file, format!("{url}\n")).unwrap();
    for (env, args) in [
        (
            vec![("PALISADE_REDIS_URL_FILE", file.to_str().unwrap())],
            vec![],
        ),
        (vec![], vec!["--redis-url-file", file.to_str().unwrap()]),
    ] {
        let log = Server::try_start(&dir, &env, &args)
            .err()
            .expect("nothing listens there");
        assert!(log.contains("redis"), "{log}");
        assert!(!log.contains(PASSWORD_IN_URL), "{log}");
    }

    // A reachable Redis through the file: sessions live there.
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    std::fs::write(&file, redis.url()).unwrap();
    let server = Server::try_start(&dir, &[], &["--redis-url-file", file.to_str().unwrap()])
        .unwrap_or_else(|log| panic!("{log}"));
    let login = server.account("redis-file@example.com", PASSWORD);
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({ "refresh_token": login["refresh_token"] }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The harness counts a server as started only once that server says it listens: a port the
/// harness picked free can be taken by another test's process before this server binds it
/// (a server waiting on an unreachable Redis leaves seconds for that), and a connection to
/// the other process must not pass for this server's.
#[test]
fn a_port_held_by_another_process_is_not_taken_for_the_server() {
    let dir = Server::temp_dir("web-port-held");
    let squatter = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    let admin_port = palisade_testkit::free_port().unwrap();
    let log = Server::try_start_on(&dir, &[], &[], port, admin_port)
        .err()
        .expect("the server cannot listen on a held port");
    assert!(log.contains("Address already in use"), "{log}");
}

/// Display names refuse what would display differently from what was sent: bidi overrides
/// and isolates (Trojan Source), control and invisible characters; ordinary names, accents and
/// emoji pass, stored in NFC.
#[test]
fn display_names_refuse_bidi_overrides_and_controls() {
    let dir = Server::temp_dir("web-display-name");
    let server = Server::start(&dir, &[]);
    let login = server.account("names@example.com", PASSWORD);
    let bearer = common::bearer(login["access_token"].as_str().unwrap());
    let put = |name: &str| {
        server.put(
            "/me",
            &[("Authorization", &bearer)],
            &json!({ "display_name": name }).to_string(),
        )
    };
    for bad in [
        "admin\u{202E}gnp.exe",
        "\u{2067}isolate\u{2069}",
        "bell\u{0007}",
        "zero\u{200B}width",
        "line\nbreak",
        &"x".repeat(101),
    ] {
        assert_eq!(put(bad).status, 400, "{bad:?}");
    }
    for good in ["Amélie Poulain", "李小龍", "👩‍👩‍👧‍👦 family"] {
        let r = put(good);
        assert_eq!(r.status, 200, "{good}: {}", r.body);
        assert_eq!(r.json()["display_name"], good);
    }
    let r = put("Ame\u{301}lie");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["display_name"], "Amélie", "stored in NFC");
}

#[test]
fn a_request_head_over_64_kib_is_refused_with_431() {
    let dir = Server::temp_dir("head-cap");
    let server = Server::start(&dir, &[]);
    let under = "v".repeat(32 * 1024);
    assert_eq!(
        server
            .get("/health/live", &[("X-Long", under.as_str())])
            .status,
        200
    );
    let over = "v".repeat(100 * 1024);
    assert_eq!(
        server
            .get("/health/live", &[("X-Long", over.as_str())])
            .status,
        431
    );
}

/// `service()` is served without an outer axum router, whose top-level future set
/// `Content-Length` and dropped the body after `HEAD` on every answer: hyper does both. An
/// answer made outside the routes' own router (the per-client limit's 429) still carries the
/// length of its body, and after `HEAD` the same length and no body.
#[test]
fn answers_outside_the_routes_keep_their_length_and_head_gets_no_body() {
    let dir = Server::temp_dir("web-head");
    let server = Server::start(&dir, &[("PALISADE_RATE_LIMIT", "2")]);
    let refused = (0..10)
        .map(|_| server.get("/me", &[]))
        .find(|r| r.status == 429)
        .expect("the per-client limit refuses");
    assert!(!refused.body.is_empty());
    let length = refused.body.len().to_string();
    assert_eq!(refused.header("content-length"), Some(length.as_str()));

    let head = raw(server.port, "HEAD", "/me", &[], "");
    assert_eq!(head.status, 429);
    assert_eq!(head.body, "", "no body after HEAD");
    let said: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(said > 0, "the length the body would have had");
}
