//! Refusals cost less than service (issue 15 item 9), a Redis outage is named as one (item
//! 11), and the trusted-proxy rule end to end (issue 24). Over real HTTP, from several loopback
//! source addresses where more than one client is needed. Each test is named after the claim
//! it proves.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

mod common;

use std::{
    fmt::Write as _,
    io::{Read as _, Write as _},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use common::{Response, Server};
use serde_json::Value;

/// One request with `Connection: close` from the loopback address `source`.
fn request_from(source: Ipv4Addr, port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
        socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .unwrap()
    });
    let mut stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    common::parse_response(&raw)
}

/// The audit records (event lines) whose action is `action`.
fn records<'a>(audit: &'a str, action: &str) -> Vec<&'a str> {
    let needle = format!("\"action\":\"{action}\"");
    audit.lines().filter(|l| l.contains(&needle)).collect()
}

/// Polls `f` every 200 ms until it holds, for up to `secs` seconds.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "never: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn three_hundred_unauthenticated_requests_write_one_record_and_a_count() {
    let dir = Server::temp_dir("refusal-flood");
    let server = Server::start(&dir, &[]);
    for _ in 0..300 {
        assert_eq!(server.get("/me", &[]).status, 401);
    }
    let audit = server.audit();
    let refused = records(&audit, "auth.bearer");
    assert!(
        refused.len() <= 3,
        "{} records for 300 refusals:\n{audit}",
        refused.len()
    );
    // When the window closes, its count is written: every refusal is accounted for.
    let mut total = 0;
    eventually(25, "the folded refusals are counted", || {
        let audit = server.audit();
        total = records(&audit, "auth.bearer")
            .iter()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                // A count record stands for `repeated` refusals; any other for one.
                record["event"]["fields"]["repeated"].as_u64().unwrap_or(1)
            })
            .sum::<u64>();
        total == 300
    });
    let audit = server.audit();
    let summary = records(&audit, "auth.bearer")
        .into_iter()
        .find(|l| l.contains("\"repeated\""))
        .unwrap();
    assert!(summary.contains("\"client\":\"127.0.0.1\""), "{summary}");
    assert!(summary.contains("\"reason\":\"missing\""), "{summary}");
    assert!(summary.contains("\"window_secs\":10"), "{summary}");
}

#[test]
fn refusals_from_different_clients_are_recorded_apart() {
    let dir = Server::temp_dir("refusal-clients");
    let server = Server::start(&dir, &[]);
    for source in [2, 3, 4] {
        for _ in 0..5 {
            let r = request_from(Ipv4Addr::new(127, 0, 0, source), server.port, "/me", &[]);
            assert_eq!(r.status, 401);
        }
    }
    let audit = server.audit();
    for source in [2, 3, 4] {
        let client = format!("\"client\":\"127.0.0.{source}\"");
        let of_client = records(&audit, "auth.bearer")
            .into_iter()
            .filter(|l| l.contains(&client))
            .count();
        assert_eq!(of_client, 1, "127.0.0.{source}:\n{audit}");
    }
}

#[test]
fn metrics_are_served_on_the_admin_listener_only_and_disclose_no_account_count() {
    let dir = Server::temp_dir("refusal-metrics");
    let server = Server::start(&dir, &[]);
    let _ = server.account("ivan@example.com", common::PASSWORD);
    assert_eq!(
        server.get("/metrics", &[]).status,
        404,
        "not on the public listener"
    );
    let metrics = server.metrics();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("secure_api_logins_total{result=\"success\"} 1")
    );
    assert!(metrics.body.contains("secure_api_audit_dropped_total 0"));
    assert!(
        !metrics.body.contains("secure_api_users"),
        "{}",
        metrics.body
    );
    // The admin listener serves nothing else.
    let r = common::request(server.admin_port, "GET", "/me", &[], None);
    assert_eq!(r.status, 404);
}

#[test]
fn the_admin_listener_is_loopback_by_default() {
    let config = secure_api::Config::load(None, &std::collections::BTreeMap::new()).unwrap();
    assert!(config.admin_listen.ip().is_loopback());
}

#[test]
fn liveness_answers_while_the_database_is_locked_and_readiness_names_it() {
    let dir = Server::temp_dir("refusal-probes");
    let server = Server::start(&dir, &[]);
    let ready = server.get("/health/ready", &[]);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["backends"]["database"], "up");
    assert_eq!(ready.json()["backends"]["audit"], "up");
    assert!(
        ready.json()["backends"].get("redis").is_none(),
        "not configured"
    );

    // Another process holds the database's write lock.
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE;").unwrap();
    eventually(10, "readiness reports the database down", || {
        let r = server.get("/health/ready", &[]);
        r.status == 503 && r.json()["backends"]["database"] == "down"
    });
    let started = Instant::now();
    let live = server.get("/health/live", &[]);
    assert_eq!(live.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "live waited for the database"
    );
    conn.execute_batch("ROLLBACK;").unwrap();
    eventually(10, "readiness recovers", || {
        server.get("/health/ready", &[]).status == 200
    });
}

#[test]
fn a_redis_outage_answers_503_naming_redis_and_readiness_reports_it_until_it_returns() {
    let mut redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let url = redis.url();
    let dir = Server::temp_dir("refusal-redis");
    let server = Server::start(&dir, &[("PALISADE_REDIS_URL", url.as_str())]);
    let ready = server.get("/health/ready", &[]);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["backends"]["redis"], "up");
    assert_eq!(server.get("/nope", &[]).status, 404);

    redis.stop();
    let r = server.get("/nope", &[]);
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["backend"], "redis");
    assert!(r.header("ratelimit").is_none(), "not a rate-limit answer");
    let login = server.login("nobody@example.com", common::PASSWORD);
    assert_eq!(login.status, 503, "{login:?}");
    eventually(10, "readiness reports redis down", || {
        let r = server.get("/health/ready", &[]);
        r.status == 503 && r.json()["backends"]["redis"] == "down"
    });
    assert_eq!(server.get("/health/live", &[]).status, 200);

    redis.restart().unwrap();
    eventually(20, "readiness reports redis up again", || {
        server.get("/health/ready", &[]).status == 200
    });
    eventually(20, "requests are served again", || {
        server.get("/nope", &[]).status == 404
    });
}

/// A server whose only trusted proxy is 127.0.0.2, with a limit of 3 requests per client.
fn behind_proxy(name: &str) -> Server {
    let dir = Server::temp_dir(name);
    let config = dir.join("config.toml");
    std::fs::write(&config, "trusted_proxies = [\"127.0.0.2\"]\n").unwrap();
    Server::try_start(
        &dir,
        &[("PALISADE_RATE_LIMIT", "3")],
        &["--config", &config.display().to_string()],
    )
    .unwrap()
}

#[test]
fn forwarded_headers_from_an_untrusted_peer_do_not_change_the_client_the_limit_counts() {
    let server = behind_proxy("proxy-untrusted");
    let untrusted = Ipv4Addr::new(127, 0, 0, 3);
    let spoofs = [
        ("X-Forwarded-For", "198.51.100.1"),
        ("Forwarded", "for=198.51.100.2"),
        ("X-Forwarded-For", "198.51.100.3, 127.0.0.2"),
    ];
    for (name, value) in spoofs {
        let r = request_from(untrusted, server.port, "/nope", &[(name, value)]);
        assert_eq!(r.status, 404, "{name}: {value}");
    }
    let r = request_from(
        untrusted,
        server.port,
        "/nope",
        &[("X-Forwarded-For", "198.51.100.4")],
    );
    assert_eq!(r.status, 429, "every spoof was counted against the peer");
    let audit = server.audit();
    let limited = records(&audit, "ratelimit");
    assert!(
        limited
            .iter()
            .all(|l| l.contains("\"client\":\"127.0.0.3\"")),
        "{audit}"
    );
    assert!(
        !audit.contains("198.51.100."),
        "a spoofed address was believed"
    );
}

#[test]
fn x_forwarded_for_from_the_trusted_proxy_names_the_client_the_limit_counts() {
    let server = behind_proxy("proxy-trusted");
    let proxy = Ipv4Addr::new(127, 0, 0, 2);
    let via = |client: &str| {
        request_from(proxy, server.port, "/nope", &[("X-Forwarded-For", client)]).status
    };
    for _ in 0..3 {
        assert_eq!(via("198.51.100.7"), 404);
    }
    assert_eq!(via("198.51.100.7"), 429, "the forwarded client is limited");
    assert_eq!(
        via("198.51.100.8"),
        404,
        "another client behind the proxy has its own budget"
    );
    let audit = server.audit();
    let limited = records(&audit, "ratelimit");
    assert!(!limited.is_empty());
    assert!(
        limited
            .iter()
            .all(|l| l.contains("\"client\":\"198.51.100.7\"")),
        "{audit}"
    );
}
