//! Two instances sharing one real Redis enforce one limit and one token state.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

mod common;

use common::{PASSWORD, Server, bearer};
use serde_json::json;

#[test]
fn two_instances_share_limits_and_token_state_through_redis() {
    let redis = palisade_testkit::RedisServer::start().expect("redis-server");
    let url = redis.url();
    let dir_a = Server::temp_dir("redis-a");
    let dir_b = Server::temp_dir("redis-b");
    let shared = [
        ("PALISADE_REDIS_URL", url.as_str()),
        ("PALISADE_RATE_LIMIT", "10"),
        ("PALISADE_REFRESH_GRACE_SECS", "0"),
    ];
    let a = Server::start(&dir_a, &shared);
    // B shares A's database and keyring, as a second replica would; its audit log is its own.
    let db = dir_a.join("db.sqlite").display().to_string();
    let keyring = dir_a.join("keyring").display().to_string();
    let b = Server::start(
        &dir_b,
        &[
            shared[0],
            shared[1],
            shared[2],
            ("PALISADE_DATABASE", &db),
            ("PALISADE_KEYRING", &keyring),
        ],
    );

    let login = a.account("judy@example.com", PASSWORD); // 2 requests
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        a.get("/me", &[("Authorization", &bearer(&access))]).status,
        200
    ); // 3
    // A family started on A rotates on B: the refresh store is shared.
    let r = b.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": refresh}).to_string(),
    ); // 4
    assert_eq!(r.status, 200, "{}", r.body);
    // Replaying the rotated token on A is reuse.
    let r = a.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": refresh}).to_string(),
    ); // 5
    assert_eq!(r.status, 401, "the rotation on B is seen by A");
    // Logout on B revokes the access token on A: the revocation list is shared.
    assert_eq!(
        b.post("/auth/logout", &[("Authorization", &bearer(&access))], "")
            .status,
        204
    ); // 6
    assert_eq!(
        a.get("/me", &[("Authorization", &bearer(&access))]).status,
        401
    ); // 7

    // One limit of 10 per client across both instances: alternate until refused.
    let mut allowed = 0;
    let mut refused_on = None;
    for i in 0..30 {
        let server = if i % 2 == 0 { &a } else { &b };
        let r = server.get("/nope", &[]);
        if r.status == 429 {
            refused_on = Some(i);
            break;
        }
        allowed += 1;
    }
    assert!(refused_on.is_some(), "never limited");
    // 7 counted requests were made above: the loop gets the remaining 3 of the shared 10.
    assert_eq!(allowed, 3);
    let r = b.get("/nope", &[]);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
}
