//! Login lockout attacks over real HTTP, from several loopback addresses (127.0.0.x): the
//! lockout must stop the attacker without locking out the owner, concurrent guesses must not
//! pass it, and a guess must never be free when the password could not be checked or counted.

mod common;

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use common::{PASSWORD, Response, Server};
use palisade_testkit::RedisServer;

const WRONG: &str = "not the right password at all";

fn ip(last: u8) -> [u8; 4] {
    [127, 0, 0, last]
}

/// The `device` cookie a login response set, as `device=VALUE`.
fn device_cookie(r: &Response) -> String {
    let set = r
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("device="))
        .unwrap_or_else(|| panic!("no device cookie: {:?}", r.headers));
    assert!(
        set.contains("HttpOnly") && set.contains("Path=/auth/login"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

/// The lockout attack: five wrong passwords from one address, then more from two others.
/// The guessing address is refused, and only it.
fn guess_from_other_addresses(server: &Server, email: &str) {
    for _ in 0..5 {
        let r = server.login_from(ip(10), email, WRONG, &[]);
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = server.login_from(ip(10), email, WRONG, &[]);
    assert_eq!(r.status, 429, "the attacker's own address is locked out");
    assert!(r.header("retry-after").is_some());
    for attacker in 11..13 {
        let r = server.login_from(ip(attacker), email, WRONG, &[]);
        assert_eq!(r.status, 401, "{}", r.body);
    }
}

#[test]
fn wrong_passwords_from_other_addresses_do_not_lock_the_owner_out() {
    let dir = Server::temp_dir("lockout-owner");
    let server = Server::start(&dir, &[]);
    assert_eq!(server.register("owner@example.com", PASSWORD).status, 201);
    guess_from_other_addresses(&server, "owner@example.com");
    // Without a device cookie: at most the capped delay (8 s), never a lockout.
    let started = Instant::now();
    let r = server.login_from(ip(3), "owner@example.com", PASSWORD, &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_device_cookie_lets_the_owner_in_at_once_during_an_attack() {
    let dir = Server::temp_dir("lockout-device");
    let server = Server::start(&dir, &[]);
    assert_eq!(server.register("owner@example.com", PASSWORD).status, 201);
    // The owner's browser logged in once and kept its device cookie.
    let first = server.login_from(ip(2), "owner@example.com", PASSWORD, &[]);
    assert_eq!(first.status, 200, "{}", first.body);
    let cookie = device_cookie(&first);
    guess_from_other_addresses(&server, "owner@example.com");
    let started = Instant::now();
    let r = server.login_from(ip(2), "owner@example.com", PASSWORD, &[("Cookie", &cookie)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // A cookie issued for one account is worth nothing for another.
    assert_eq!(server.register("other@example.com", PASSWORD).status, 201);
    for _ in 0..5 {
        let r = server.login_from(ip(4), "other@example.com", WRONG, &[("Cookie", &cookie)]);
        assert_eq!(r.status, 401);
    }
    let r = server.login_from(ip(4), "other@example.com", PASSWORD, &[("Cookie", &cookie)]);
    assert_eq!(r.status, 429);
}

/// Thirty simultaneous wrong passwords from one address: counts by status.
fn concurrent_guesses(server: &Arc<Server>, email: &str) -> (usize, usize, usize) {
    let barrier = Arc::new(Barrier::new(30));
    let handles: Vec<_> = (0..30)
        .map(|_| {
            let server = server.clone();
            let barrier = barrier.clone();
            let email = email.to_owned();
            std::thread::spawn(move || {
                barrier.wait();
                server.login_from(ip(20), &email, WRONG, &[]).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let count = |s| statuses.iter().filter(|x| **x == s).count();
    assert_eq!(count(200), 0, "{statuses:?}");
    (count(401), count(429), count(503))
}

#[test]
fn concurrent_wrong_passwords_get_at_most_the_limit_checked() {
    let dir = Server::temp_dir("lockout-concurrent");
    let server = Arc::new(Server::start(&dir, &[]));
    assert_eq!(server.register("race@example.com", PASSWORD).status, 201);
    let (checked, refused, busy) = concurrent_guesses(&server, "race@example.com");
    assert!(checked <= 5, "{checked} checked guesses, limit 5");
    assert_eq!(checked + refused + busy, 30);
    assert!(refused >= 25, "{refused} refused");
}

#[test]
fn concurrent_wrong_passwords_get_at_most_the_limit_checked_with_redis() {
    let redis = RedisServer::start().unwrap();
    let dir = Server::temp_dir("lockout-concurrent-redis");
    let url = redis.url();
    let server = Arc::new(Server::start(&dir, &[("PALISADE_REDIS_URL", url.as_str())]));
    assert_eq!(server.register("race@example.com", PASSWORD).status, 201);
    // A reservation the store does not answer in time is a 503 (fail closed), never a guess.
    let (checked, refused, unavailable) = concurrent_guesses(&server, "race@example.com");
    assert!(checked <= 5, "{checked} checked guesses, limit 5");
    assert_eq!(checked + refused + unavailable, 30);
    assert!(
        refused >= 25 - unavailable,
        "{refused} refused, {unavailable} unavailable"
    );
}

#[test]
fn a_busy_hasher_answers_503_and_the_attempt_is_not_counted() {
    let dir = Server::temp_dir("lockout-busy");
    // One failure per (account, address): a counted attempt is refused on the next try.
    let server = Arc::new(Server::start(
        &dir,
        &[
            ("PALISADE_LOGIN_MAX_FAILURES", "1"),
            ("PALISADE_RATE_LIMIT", "100000"),
            // The smallest budget the hasher takes (its largest allowed hash), and no waiting.
            ("PALISADE_HASH_MEMORY_MIB", "256"),
            ("PALISADE_HASH_WAIT_MS", "1"),
        ],
    ));
    // More simultaneous password checks than the hasher's memory budget can hold: some are
    // answered "busy".
    let n = 80;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let server = server.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let email = format!("nobody{i}@example.com");
                let source = ip(100 + (i % 100) as u8);
                barrier.wait();
                let r = server.login_from(source, &email, WRONG, &[]);
                (email, source, r)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let busy: Vec<_> = results.iter().filter(|(_, _, r)| r.status == 503).collect();
    assert!(!busy.is_empty(), "the hasher was never busy");
    for (email, source, r) in &busy {
        assert_eq!(r.header("retry-after"), Some("1"));
        // Not counted: the same address may still make its one checked guess.
        let again = server.login_from(*source, email, WRONG, &[]);
        assert_ne!(again.status, 429, "a busy answer was counted as a failure");
    }
    let checked = results.iter().find(|(_, _, r)| r.status == 401).unwrap();
    let again = server.login_from(checked.1, &checked.0, WRONG, &[]);
    assert_eq!(again.status, 429, "a checked failure is counted");
}

#[test]
fn a_redis_outage_fails_the_login_closed() {
    let mut redis = RedisServer::start().unwrap();
    let dir = Server::temp_dir("lockout-redis-down");
    let url = redis.url();
    let server = Server::start(&dir, &[("PALISADE_REDIS_URL", url.as_str())]);
    assert_eq!(server.register("kim@example.com", PASSWORD).status, 201);
    assert_eq!(
        server
            .login_from(ip(30), "kim@example.com", WRONG, &[])
            .status,
        401
    );
    redis.stop();
    // No password is checked while the attempt cannot be counted: neither 200 nor 401.
    for password in [WRONG, PASSWORD] {
        let r = server.login_from(ip(30), "kim@example.com", password, &[]);
        assert!(
            r.status == 503 || r.status == 429,
            "{}: {}",
            r.status,
            r.body
        );
    }
}
