//! Account flows an attacker turns against users, over real HTTP against the binary:
//! password reset and change, signing out everywhere, sessions across a restart, private
//! files, and registration and reset requests that reveal nothing.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    time::Duration,
};

use common::{PASSWORD, Server, bearer};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a new passphrase after the theft";

/// One request from the loopback address `127.0.0.<host>`: a second client as far as the
/// server's per-client limits can tell.
fn request_from(host: u8, port: u16, path: &str, body: &str) -> (u16, String) {
    // std cannot choose a source address; tokio's socket can.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
            .unwrap();
        socket
            .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .unwrap()
            .into_std()
            .unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

fn access_of(login: &Value) -> String {
    login["access_token"].as_str().unwrap().to_owned()
}

fn me_status(server: &Server, access: &str) -> u16 {
    server
        .get("/me", &[("Authorization", &bearer(access))])
        .status
}

fn refresh_status(server: &Server, refresh: &Value) -> u16 {
    server
        .post(
            "/auth/refresh",
            &[],
            &json!({ "refresh_token": refresh }).to_string(),
        )
        .status
}

fn request_reset(server: &Server, email: &str) -> common::Response {
    server.post(
        "/auth/password-reset",
        &[],
        &json!({ "email": email }).to_string(),
    )
}

fn confirm(server: &Server, token: &str, password: &str) -> common::Response {
    server.post(
        "/auth/password-reset/confirm",
        &[],
        &json!({ "token": token, "new_password": password }).to_string(),
    )
}

/// The reset tokens mailed to `email`, oldest first, once there are `count`.
fn reset_tokens(server: &Server, email: &str, count: usize) -> Vec<String> {
    server.wait_for_reset_token(email, count);
    server.reset_tokens(email)
}

// ---- Item 7: password reset, change and signing out everywhere ----

/// A new password the policy refuses does not spend the reset token: the owner fixes the
/// password and uses the same link.
#[test]
fn reset_checks_the_password_before_spending_the_token() {
    let dir = Server::temp_dir("flows-weak-reset");
    let server = Server::start(&dir, &[]);
    server.account("kim@example.com", PASSWORD);
    assert_eq!(request_reset(&server, "kim@example.com").status, 202);
    let token = reset_tokens(&server, "kim@example.com", 1).remove(0);
    assert_eq!(confirm(&server, &token, "short").status, 422);
    let r = confirm(&server, &token, NEW_PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(confirm(&server, &token, NEW_PASSWORD).status, 403, "spent");
    assert_eq!(server.login("kim@example.com", NEW_PASSWORD).status, 200);
}

/// After a reset, every access token issued before it is refused, while a login right after
/// it (even in the same second) works; every other outstanding reset link is dead.
#[test]
fn reset_ends_access_tokens_and_other_reset_links() {
    let dir = Server::temp_dir("flows-reset-ends");
    let server = Server::start(&dir, &[]);
    let laptop = access_of(&server.account("lee@example.com", PASSWORD));
    let thief = access_of(&server.login("lee@example.com", PASSWORD).json());
    assert_eq!(me_status(&server, &thief), 200);
    for _ in 0..2 {
        assert_eq!(request_reset(&server, "lee@example.com").status, 202);
    }
    let tokens = reset_tokens(&server, "lee@example.com", 2);
    let r = confirm(&server, &tokens[1], NEW_PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body);
    let fresh = access_of(&server.login("lee@example.com", NEW_PASSWORD).json());
    assert_eq!(
        me_status(&server, &fresh),
        200,
        "a login right after the reset"
    );
    assert_eq!(me_status(&server, &thief), 401, "the thief's access token");
    assert_eq!(me_status(&server, &laptop), 401);
    // The older link, mailed before the reset, cannot set another password.
    assert_eq!(
        confirm(&server, &tokens[0], "the attacker's own passphrase").status,
        403
    );
    assert_eq!(server.login("lee@example.com", NEW_PASSWORD).status, 200);
}

/// Concurrent confirmations, five with each of two reset tokens of one account: exactly one
/// sets a password (a token is spent once, and the first password change ends the other
/// token).
fn concurrent_confirmations(server: &Server, email: &str) {
    server.account(email, PASSWORD);
    for _ in 0..2 {
        assert_eq!(request_reset(server, email).status, 202);
    }
    let tokens = reset_tokens(server, email, 2);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let token = &tokens[i % 2];
                s.spawn(move || confirm(server, token, &format!("{NEW_PASSWORD} {i}")).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 403),
        "{statuses:?}"
    );
}

#[test]
fn concurrent_reset_confirmations_set_one_password() {
    let dir = Server::temp_dir("flows-reset-race");
    let server = Server::start(&dir, &[]);
    concurrent_confirmations(&server, "max@example.com");
}

#[test]
fn concurrent_reset_confirmations_set_one_password_with_redis() {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let dir = Server::temp_dir("flows-reset-race-redis");
    let server = Server::start(&dir, &[("PALISADE_REDIS_URL", &redis.url())]);
    concurrent_confirmations(&server, "max@example.com");
}

/// `POST /auth/logout-all` ends every session of the account: access tokens and refresh
/// tokens on every device.
fn logout_all_case(server: &Server) {
    let laptop = server.account("nia@example.com", PASSWORD);
    let phone = server.login("nia@example.com", PASSWORD).json();
    let r = server.post(
        "/auth/logout-all",
        &[("Authorization", &bearer(&access_of(&laptop)))],
        "",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    for device in [&laptop, &phone] {
        assert_eq!(me_status(server, &access_of(device)), 401);
        assert_eq!(refresh_status(server, &device["refresh_token"]), 401);
    }
    let again = server.login("nia@example.com", PASSWORD).json();
    assert_eq!(me_status(server, &access_of(&again)), 200);
    assert_eq!(refresh_status(server, &again["refresh_token"]), 200);
    assert!(
        server
            .wait_for_audit("auth.logout_all", 1)
            .contains("\"sessions_revoked\":\"2\"")
    );
}

#[test]
fn logout_all_ends_every_session() {
    let dir = Server::temp_dir("flows-logout-all");
    logout_all_case(&Server::start(&dir, &[]));
}

#[test]
fn logout_all_ends_every_session_with_redis() {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let dir = Server::temp_dir("flows-logout-all-redis");
    logout_all_case(&Server::start(
        &dir,
        &[("PALISADE_REDIS_URL", &redis.url())],
    ));
}

/// `POST /auth/password` asks for the current password, refuses a weak new one, then ends
/// every session (including the caller's: 204, log in again) and every reset link.
#[test]
fn change_password_needs_the_current_one_and_ends_every_session() {
    let dir = Server::temp_dir("flows-change");
    let server = Server::start(&dir, &[]);
    let session = server.account("omar@example.com", PASSWORD);
    let other = server.login("omar@example.com", PASSWORD).json();
    assert_eq!(request_reset(&server, "omar@example.com").status, 202);
    let link = reset_tokens(&server, "omar@example.com", 1).remove(0);
    let auth = bearer(&access_of(&session));
    let change = |current: &str, new: &str| {
        server.post(
            "/auth/password",
            &[("Authorization", &auth)],
            &json!({ "current_password": current, "new_password": new }).to_string(),
        )
    };
    assert_eq!(change("not the current password", NEW_PASSWORD).status, 401);
    assert_eq!(change(PASSWORD, "short").status, 422);
    assert_eq!(
        me_status(&server, &access_of(&session)),
        200,
        "nothing changed yet"
    );
    let r = change(PASSWORD, NEW_PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body);
    for device in [&session, &other] {
        assert_eq!(me_status(&server, &access_of(device)), 401);
        assert_eq!(refresh_status(&server, &device["refresh_token"]), 401);
    }
    assert_eq!(
        confirm(&server, &link, "the attacker's own passphrase").status,
        403
    );
    assert_eq!(server.login("omar@example.com", PASSWORD).status, 401);
    assert_eq!(server.login("omar@example.com", NEW_PASSWORD).status, 200);
}

/// A stolen access token cannot brute-force the current password through the change
/// endpoint: it counts against the login limits.
#[test]
fn change_password_guesses_count_against_the_login_limit() {
    let dir = Server::temp_dir("flows-change-guess");
    let server = Server::start(&dir, &[("PALISADE_LOGIN_MAX_FAILURES", "3")]);
    let auth = bearer(&access_of(&server.account("pia@example.com", PASSWORD)));
    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            server
                .post(
                    "/auth/password",
                    &[("Authorization", &auth)],
                    &json!({ "current_password": format!("guess number {i}"), "new_password": NEW_PASSWORD })
                        .to_string(),
                )
                .status
        })
        .collect();
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
}

// ---- Item 7: files and the development directory ----

#[cfg(unix)]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", entry.path().display());
            assert_private(&entry.path());
        } else {
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
}

/// The database (with its WAL), the audit log and the keyring are created 0600 in
/// directories created 0700.
#[cfg(unix)]
#[test]
fn files_are_created_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Server::temp_dir("flows-files");
    let data = dir.join("data");
    let paths = [
        ("PALISADE_DATABASE", data.join("db.sqlite")),
        ("PALISADE_AUDIT_DIR", data.join("audit")),
        ("PALISADE_KEYRING", data.join("keys").join("keyring")),
    ];
    let paths: Vec<(&str, String)> = paths
        .iter()
        .map(|(k, p)| (*k, p.display().to_string()))
        .collect();
    let env: Vec<(&str, &str)> = paths.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&dir, &env);
    server.account("quinn@example.com", PASSWORD);
    assert_eq!(request_reset(&server, "quinn@example.com").status, 202);
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(data.join("db.sqlite-wal").exists());
    assert_private(&data);
}

/// `--dev` puts its files in a new random directory, created 0700, different on every run.
#[cfg(unix)]
#[test]
fn dev_mode_uses_a_new_private_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Server::temp_dir("flows-dev");
    let start = || {
        let server = Server::try_start(
            &dir,
            &common::SECRETS
                .iter()
                .map(|(k, _)| (*k, ""))
                .collect::<Vec<_>>(),
            &["--dev"],
        )
        .unwrap();
        let logs = server.logs();
        let path = logs
            .split("data lives in ")
            .nth(1)
            .and_then(|rest| rest.split(". Never").next())
            .unwrap_or_else(|| panic!("no data directory in the log:\n{logs}"))
            .to_owned();
        (server, std::path::PathBuf::from(path))
    };
    let (first, a) = start();
    let (second, b) = start();
    assert_ne!(a, b);
    for path in [&a, &b] {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(&std::process::id().to_string()) && name.len() >= 30,
            "{name}"
        );
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", path.display());
    }
    drop((first, second));
    for path in [a, b] {
        let _ = std::fs::remove_dir_all(path);
    }
}

// ---- Item 10: sessions and sign-outs survive a restart ----

fn logout(server: &Server, login: &Value) -> u16 {
    server
        .post(
            "/auth/logout",
            &[("Authorization", &bearer(&access_of(login)))],
            "",
        )
        .status
}

/// Without Redis the token state is in the database: after a restart on the same files a
/// logged-out access token stays refused, its refresh token stays dead, a sign-out everywhere
/// still holds, and a refresh token from before the restart still works.
#[test]
fn logout_and_refresh_families_survive_a_restart() {
    let dir = Server::temp_dir("flows-restart");
    let server = Server::start(&dir, &[]);
    assert!(
        server.logs().contains("token state persistence: sqlite"),
        "{}",
        server.logs()
    );
    let gone = server.account("rae@example.com", PASSWORD);
    let kept = server.login("rae@example.com", PASSWORD).json();
    let everywhere = server.account("sam@example.com", PASSWORD);
    assert_eq!(logout(&server, &gone), 204);
    assert_eq!(
        server
            .post(
                "/auth/logout-all",
                &[("Authorization", &bearer(&access_of(&everywhere)))],
                "",
            )
            .status,
        204
    );
    assert_eq!(me_status(&server, &access_of(&gone)), 401);
    drop(server);

    let server = Server::start(&dir, &[]);
    assert_eq!(
        me_status(&server, &access_of(&gone)),
        401,
        "logout forgotten"
    );
    assert_eq!(refresh_status(&server, &gone["refresh_token"]), 401);
    assert_eq!(
        me_status(&server, &access_of(&everywhere)),
        401,
        "logout-all forgotten"
    );
    assert_eq!(refresh_status(&server, &everywhere["refresh_token"]), 401);
    assert_eq!(me_status(&server, &access_of(&kept)), 200);
    assert_eq!(
        refresh_status(&server, &kept["refresh_token"]),
        200,
        "family lost"
    );
}

/// A reset link mailed before a restart still works after it, once.
#[test]
fn reset_links_survive_a_restart() {
    let dir = Server::temp_dir("flows-restart-reset");
    let server = Server::start(&dir, &[]);
    server.account("tess@example.com", PASSWORD);
    assert_eq!(request_reset(&server, "tess@example.com").status, 202);
    let token = reset_tokens(&server, "tess@example.com", 1).remove(0);
    drop(server);
    let server = Server::start(&dir, &[]);
    assert_eq!(confirm(&server, &token, NEW_PASSWORD).status, 204);
    assert_eq!(confirm(&server, &token, NEW_PASSWORD).status, 403);
}

/// In Redis mode the startup log says which persistence Redis has: the test server has none,
/// and the service warns that a Redis restart re-admits logged-out tokens.
#[test]
fn startup_log_names_the_redis_persistence() {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let dir = Server::temp_dir("flows-redis-persistence");
    let server = Server::start(&dir, &[("PALISADE_REDIS_URL", &redis.url())]);
    let logs = server.logs();
    assert!(logs.contains("token state persistence: none"), "{logs}");
    assert!(logs.contains("appendonly yes"), "{logs}");
}

// ---- Item 6: registration and reset requests that reveal nothing ----

/// The README and `openapi.yaml` say passwords are 15 to 256 characters (code points after
/// NFKC): both ends are accepted, one past either end is refused with 422.
#[test]
fn passwords_of_15_to_256_characters_are_accepted() {
    let dir = Server::temp_dir("flows-password-length");
    let server = Server::start(&dir, &[]);
    // Varied characters, so the policy's repetition and context checks stay out of the way.
    let password = |n: usize| -> String {
        "correct horse battery staple plum "
            .chars()
            .cycle()
            .take(n)
            .collect()
    };
    for (i, (length, status)) in [(14, 422), (15, 201), (256, 201), (257, 422)]
        .into_iter()
        .enumerate()
    {
        let email = format!("len{i}@example.com");
        let r = server.register(&email, &password(length));
        assert_eq!(r.status, status, "{length} characters: {}", r.body);
    }
}

/// Registering a taken address answers exactly as a new one does, mails the owner, and
/// leaves the account as it was.
#[test]
fn registration_does_not_reveal_existing_accounts() {
    let dir = Server::temp_dir("flows-register");
    let server = Server::start(&dir, &[]);
    let new = server.register("uma@example.com", PASSWORD);
    let taken = server.register("UMA@example.com", "another long passphrase here");
    assert_eq!((new.status, &new.body), (taken.status, &taken.body));
    assert_eq!(new.status, 201);
    // A weak password is refused the same way for both.
    let weak_new = server.register("vera@example.com", "short");
    let weak_taken = server.register("uma@example.com", "short");
    assert_eq!(
        (weak_new.status, &weak_new.body),
        (weak_taken.status, &weak_taken.body)
    );
    assert_eq!(server.login("uma@example.com", PASSWORD).status, 200);
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    let kinds: Vec<String> = conn
        .prepare("SELECT kind FROM outbox WHERE recipient = 'uma@example.com' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["welcome", "account_exists"]);
}

/// Concurrent registrations of one address make one account, answer alike, and mail the
/// address at most three times (the rest are refused by the per-address limit).
#[test]
fn concurrent_registrations_make_one_account() {
    let dir = Server::temp_dir("flows-register-race");
    let server = Server::start(&dir, &[]);
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let r = server.register("wes@example.com", &format!("{PASSWORD} {i}"));
                    (r.status, r.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: Vec<_> = answers.iter().filter(|a| a.0 == 201).collect();
    assert_eq!(created.len(), 3, "{answers:?}");
    assert!(created.iter().all(|a| *a == created[0]), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.0 == 201 || a.0 == 429),
        "{answers:?}"
    );
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    let (accounts, mails): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM users WHERE email = 'wes@example.com'),
                    (SELECT COUNT(*) FROM outbox WHERE recipient = 'wes@example.com')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((accounts, mails), (1, 3));
}

/// Registering one address over and over, from many clients, cannot flood its owner with
/// mails: three an hour, whether or not the address has an account.
#[test]
fn registrations_are_limited_per_address() {
    let dir = Server::temp_dir("flows-register-limit");
    let server = Server::start(&dir, &[]);
    for email in ["ann@example.com", "never-registered@example.com"] {
        let body = json!({ "email": email, "password": PASSWORD }).to_string();
        let statuses: Vec<u16> = (0..5u8)
            .map(|i| request_from(100 + i, server.port, "/auth/register", &body).0)
            .collect();
        assert_eq!(statuses, [201, 201, 201, 429, 429], "{email}");
    }
}

/// Reset requests for one address are limited per address, whichever clients send them and
/// whether or not the address has an account: of twelve concurrent requests from twelve
/// loopback addresses, three are accepted; a known address gets three mails.
fn reset_requests_limited_per_address(server: &Server) {
    server.account("xena@example.com", PASSWORD);
    for email in ["xena@example.com", "nobody-here@example.com"] {
        let body = json!({ "email": email }).to_string();
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12u8)
                .map(|i| {
                    let body = &body;
                    s.spawn(move || {
                        request_from(10 + i, server.port, "/auth/password-reset", body).0
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let accepted = statuses.iter().filter(|s| **s == 202).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((accepted, limited), (3, 9), "{email}: {statuses:?}");
    }
    reset_tokens(server, "xena@example.com", 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.reset_tokens("xena@example.com").len(), 3);
}

#[test]
fn reset_requests_are_limited_per_address() {
    let dir = Server::temp_dir("flows-reset-limit");
    reset_requests_limited_per_address(&Server::start(&dir, &[]));
}

#[test]
fn reset_requests_are_limited_per_address_with_redis() {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let dir = Server::temp_dir("flows-reset-limit-redis");
    reset_requests_limited_per_address(&Server::start(
        &dir,
        &[("PALISADE_REDIS_URL", &redis.url())],
    ));
}

/// One client cannot spray reset mails over many addresses: twenty an hour.
#[test]
fn reset_requests_are_limited_per_client() {
    let dir = Server::temp_dir("flows-reset-client");
    let server = Server::start(&dir, &[]);
    let statuses: Vec<u16> = (0..22)
        .map(|i| {
            let body = json!({ "email": format!("target{i}@example.com") }).to_string();
            request_from(60, server.port, "/auth/password-reset", &body).0
        })
        .collect();
    assert!(statuses[..20].iter().all(|s| *s == 202), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    // Another client is not affected.
    let body = json!({ "email": "target0@example.com" }).to_string();
    assert_eq!(
        request_from(61, server.port, "/auth/password-reset", &body).0,
        202
    );
}

/// The request path does the same work for a known and an unknown address (a queue row);
/// the answers are byte for byte the same, and only the known address is mailed.
#[test]
fn reset_requests_answer_alike_and_mail_off_the_request_path() {
    let dir = Server::temp_dir("flows-reset-alike");
    let server = Server::start(&dir, &[]);
    server.account("yara@example.com", PASSWORD);
    let known = request_reset(&server, "yara@example.com");
    let unknown = request_reset(&server, "zed@example.com");
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(known.status, 202);
    reset_tokens(&server, "yara@example.com", 1);
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    let started = std::time::Instant::now();
    loop {
        let queued: i64 = conn
            .query_row("SELECT COUNT(*) FROM reset_queue", [], |r| r.get(0))
            .unwrap();
        if queued == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "queue not drained"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.reset_tokens("zed@example.com").is_empty());
}
