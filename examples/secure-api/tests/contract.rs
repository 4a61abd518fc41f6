//! The answers `openapi.yaml` promises where the service once answered otherwise (issue 22):
//! each found by schemathesis (`cargo xtask dast`) or the hostile-request battery, each test
//! named after the promise.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

mod common;

use common::{PASSWORD, Server, bearer, request};
use serde_json::json;

fn is_problem(r: &common::Response, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{status}: {}",
        r.body
    );
    assert_eq!(r.json()["status"], status, "{}", r.body);
}

#[test]
fn contract_answers() {
    let dir = Server::temp_dir("contract");
    let server = Server::start(&dir, &[]);
    let session = server.account("carol@example.com", PASSWORD);
    let token = session["access_token"].as_str().unwrap();
    let auth = bearer(token);

    // A well-formed reset token that grants nothing is 403, not 400 (the request is valid).
    let confirm = json!({"token": "palp_unknownunknownunknown", "new_password": "a new passphrase, long enough"});
    let r = server.post("/auth/password-reset/confirm", &[], &confirm.to_string());
    is_problem(&r, 403);

    // A refresh with no token at all, in the body or the cookie, is 401 like a bad one.
    is_problem(&server.post("/auth/refresh", &[], "{}"), 401);
    is_problem(
        &server.post("/auth/refresh", &[], "{\"refresh_token\":\"nope\"}"),
        401,
    );

    // `null` is not "unchanged": it is refused.
    for member in ["display_name", "bio", "phone", "address"] {
        let body = json!({ member: null }).to_string();
        let r = server.put("/me", &[("Authorization", &auth)], &body);
        is_problem(&r, 400);
    }

    // Limits are counted on the value as sent: surrounding spaces do not make room.
    let phone = format!(" {} ", "1".repeat(31));
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "phone": phone }).to_string(),
    );
    is_problem(&r, 400);
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "phone": format!(" {} ", "1".repeat(30)) }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["phone"], "1".repeat(30), "stored trimmed");
    // A control character is refused wherever it is, before or after trimming.
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "address": "\t1 Main Street" }).to_string(),
    );
    is_problem(&r, 400);
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "display_name": "\tCarol" }).to_string(),
    );
    is_problem(&r, 400);
    // The bio limit is in characters: 8192 two-byte characters fit.
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "bio": "é".repeat(8192) }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        &json!({ "bio": "e".repeat(8193) }).to_string(),
    );
    is_problem(&r, 400);

    // An address with spaces around it is refused, not trimmed; upper case is folded.
    let r = server.register(" dave@example.com", PASSWORD);
    is_problem(&r, 400);
    let r = server.register("dave@example.com@evil.example", PASSWORD);
    is_problem(&r, 400);
    assert_eq!(server.register("Dave@Example.com", PASSWORD).status, 201);
    assert_eq!(server.login("dave@example.com", PASSWORD).status, 200);

    // The framework's own refusals are problem documents too: 405 (with Allow) and 413.
    let r = server.post("/health/live", &[], "{}");
    is_problem(&r, 405);
    assert!(r.header("allow").is_some(), "{:?}", r.headers);
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(70 * 1024));
    is_problem(&server.post("/auth/password-reset", &[], &big), 413);
    let r = request(
        server.port,
        "DELETE",
        "/me",
        &[("Authorization", &auth)],
        None,
    );
    is_problem(&r, 405);
}
