//! End-to-end tests: the real binary on a free port, driven over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::too_many_lines,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::{ORIGIN, PASSWORD, SECRETS, Server, bearer, kid_in, kid_of};
use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, TokenType};
use serde_json::json;

fn me(server: &Server, access: &str) -> common::Response {
    server.get("/me", &[("Authorization", &bearer(access))])
}

#[test]
fn full_account_lifecycle() {
    let dir = Server::temp_dir("lifecycle");
    let server = Server::start(&dir, &[]);
    assert_eq!(server.get("/health", &[]).status, 200);

    let login = server.account("Alice@Example.com", PASSWORD);
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        server.register("alice@example.com", PASSWORD).status,
        201,
        "a taken email is answered like a new one"
    );

    let profile = me(&server, &access).json();
    assert_eq!(profile["email"], "alice@example.com");
    assert_eq!(profile["role"], "user");

    // Profile: phone and address encrypted at rest, bound to the row.
    let update = json!({
        "display_name": "Alice",
        "bio": "<p>Hi <b>there</b><script>alert(1)</script><img src=x onerror=alert(2)></p>",
        "phone": "+1 555 0100",
        "address": "1 Main Street\nSpringfield",
    });
    let r = server.put(
        "/me",
        &[("Authorization", &bearer(&access))],
        &update.to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let profile = me(&server, &access).json();
    assert_eq!(profile["phone"], "+1 555 0100");
    assert_eq!(profile["address"], "1 Main Street\nSpringfield");
    let bio = profile["bio"].as_str().unwrap();
    assert!(bio.contains("<b>there</b>"), "{bio}");
    assert!(
        !bio.contains("<script") && !bio.contains("onerror") && !bio.contains("alert(1)"),
        "{bio}"
    );
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    let (phone, address): (String, String) = conn
        .query_row(
            "SELECT phone, address FROM users WHERE email = 'alice@example.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(phone.starts_with("pc1:") && address.starts_with("pc1:"));
    // Whole plaintexts, not fragments: a random ciphertext may hold "555" by chance.
    assert!(!phone.contains("555 0100") && !address.contains("Main Street"));

    // A ciphertext copied into another row does not decrypt there.
    let bob = server.account("bob@example.com", PASSWORD);
    conn.execute(
        "UPDATE users SET phone = ?1 WHERE email = 'bob@example.com'",
        [&phone],
    )
    .unwrap();
    let r = me(&server, bob["access_token"].as_str().unwrap());
    assert_eq!(r.status, 500);
    // The problem body carries a random request id, which may hold "555" by chance.
    assert!(!r.body.contains("555 0100"), "{}", r.body);

    // Refresh rotates; the new access token works.
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": refresh}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = r.json();
    let access2 = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh, refresh2);
    assert_eq!(me(&server, &access2).status, 200);

    // Logout revokes the access token and the refresh family.
    let r = server.post("/auth/logout", &[("Authorization", &bearer(&access2))], "");
    assert_eq!(r.status, 204);
    assert_eq!(me(&server, &access2).status, 401);
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": refresh2}).to_string(),
    );
    assert_eq!(r.status, 401);

    // Password reset through the outbox; the token works once.
    let r = server.post(
        "/auth/password-reset",
        &[],
        &json!({"email": "alice@example.com"}).to_string(),
    );
    assert_eq!(r.status, 202);
    let unknown = server.post(
        "/auth/password-reset",
        &[],
        &json!({"email": "nobody@example.com"}).to_string(),
    );
    assert_eq!(
        (unknown.status, unknown.body.clone()),
        (202, r.body.clone()),
        "no account enumeration"
    );
    let token = server.outbox_token("alice@example.com");
    assert!(token.starts_with("palp_"));
    let new_password = "a brand new passphrase, long enough";
    let confirm = json!({"token": token, "new_password": new_password}).to_string();
    assert_eq!(
        server
            .post("/auth/password-reset/confirm", &[], &confirm)
            .status,
        204
    );
    assert_eq!(
        server
            .post("/auth/password-reset/confirm", &[], &confirm)
            .status,
        403,
        "single use"
    );
    assert_eq!(server.login("alice@example.com", PASSWORD).status, 401);
    assert_eq!(server.login("alice@example.com", new_password).status, 200);

    let metrics = server.metrics();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(
        metrics
            .body
            .contains("secure_api_logins_total{result=\"success\"}")
    );
    assert!(
        !metrics.body.contains("secure_api_users"),
        "no account count is disclosed"
    );

    // The audit log holds the authentication events.
    let audit = server.audit();
    for action in [
        "auth.register",
        "auth.login",
        "auth.refresh",
        "auth.logout",
        "auth.password_reset",
        "profile.updated",
    ] {
        assert!(
            audit.contains(&format!("\"action\":\"{action}\"")),
            "{action} not audited"
        );
    }
    assert!(!audit.contains(PASSWORD) && !audit.contains(&refresh));
}

fn forge(issued_at: u64, ttl: u64, key: &[u8]) -> String {
    forge_typed(issued_at, ttl, key, TokenType::AccessToken)
}

/// A token signed with `key` as the service signs its own, with the header's `typ` as given.
fn forge_typed(issued_at: u64, ttl: u64, key: &[u8], typ: TokenType) -> String {
    #[derive(Debug)]
    struct At(u64);
    impl palisade_token::clock::Clock for At {
        fn now(&self) -> u64 {
            self.0
        }
    }
    let keys = KeySet::single(
        SigningKey::hmac(Algorithm::HS256, key)
            .unwrap()
            .with_kid(kid_of(key))
            .unwrap(),
    );
    Issuer::new(keys)
        .unwrap()
        .typ(typ)
        .issuer("secure-api")
        .audience("secure-api")
        .ttl(Duration::from_secs(ttl))
        .unwrap()
        .clock(std::sync::Arc::new(At(issued_at)))
        .issue(Claims::empty().subject("1").role("admin"))
        .unwrap()
}

#[test]
fn expired_tampered_and_alg_none_tokens_are_rejected() {
    let dir = Server::temp_dir("tokens");
    let server = Server::start(&dir, &[]);
    let login = server.account("carol@example.com", PASSWORD);
    let good = login["access_token"].as_str().unwrap();
    assert_eq!(me(&server, good).status, 200);

    let key = palisade_testkit::unhex(SECRETS[0].1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Correctly signed with the service's key: accepted when fresh, rejected when expired.
    let fresh = forge(now, 60, &key);
    assert_eq!(me(&server, &fresh).status, 200);
    let expired = forge(now - 3600, 60, &key);
    let wrong_key = forge(now, 60, b"another key of at least 32 bytes!!");
    // Signed with the service's key, but a plain JWT (`typ: JWT`), not an access token
    // (RFC 8725 section 3.11 explicit typing).
    let plain_jwt = forge_typed(now, 60, &key, TokenType::Jwt);

    let (head, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let mut claims: serde_json::Value = serde_json::from_slice(&b64_decode(payload)).unwrap();
    claims["roles"] = json!(["admin"]);
    let tampered = format!("{head}.{}.{sig}", b64_encode(claims.to_string().as_bytes()));
    let none = format!(
        "{}.{payload}.",
        b64_encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let none_upper = format!(
        "{}.{payload}.",
        b64_encode(br#"{"alg":"NONE","typ":"JWT","kid":"k1"}"#)
    );

    for (name, token) in [
        ("expired", expired.as_str()),
        ("wrong key", wrong_key.as_str()),
        ("plain JWT, not an access token", plain_jwt.as_str()),
        ("tampered", tampered.as_str()),
        ("alg none", none.as_str()),
        ("alg NONE", none_upper.as_str()),
        ("garbage", "not-a-token"),
    ] {
        let r = me(&server, token);
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"secure-api\", error=\"invalid_token\""),
            "{name}"
        );
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    let r = server.get("/me", &[]);
    assert_eq!(r.status, 401, "no token");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"secure-api\""),
        "RFC 6750 section 3.1: no error code when no credentials were sent"
    );
    // The reasons are in the audit log, never in the responses.
    let audit = server.audit();
    for reason in [
        "expired",
        "bad_signature",
        "alg_none",
        "wrong_type",
        "malformed",
        "missing",
    ] {
        assert!(
            audit.contains(&format!("\"reason\":\"{reason}\"")),
            "{reason} not audited"
        );
    }
    assert!(audit.contains("\"action\":\"auth.bearer\""));
    let metrics = server.metrics().body;
    assert!(
        metrics.contains("\nsecure_api_token_rejections_total 8\n"),
        "{metrics}"
    );
}

fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[test]
fn refresh_token_reuse_revokes_the_family() {
    let dir = Server::temp_dir("reuse");
    let server = Server::start(&dir, &[("PALISADE_REFRESH_GRACE_SECS", "0")]);
    let login = server.account("dave@example.com", PASSWORD);
    let first = login["refresh_token"].as_str().unwrap();
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": first}).to_string(),
    );
    assert_eq!(r.status, 200);
    let second = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // An attacker replays the stolen first token: refused, and the family dies.
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": first}).to_string(),
    );
    assert_eq!(r.status, 401);
    let r = server.post(
        "/auth/refresh",
        &[],
        &json!({"refresh_token": second}).to_string(),
    );
    assert_eq!(
        r.status, 401,
        "the legitimate holder's token is revoked with the family"
    );
    let audit = server.audit();
    assert!(audit.contains("\"reason\":\"reused\""));
}

#[test]
fn rate_limit_answers_429_with_headers() {
    let dir = Server::temp_dir("ratelimit");
    let server = Server::start(&dir, &[("PALISADE_RATE_LIMIT", "5")]);
    for i in 0..5 {
        let r = server.get("/nope", &[]);
        assert_eq!(r.status, 404);
        assert_eq!(
            r.header("ratelimit-policy"),
            Some("\"per-client\";q=5;w=60")
        );
        assert!(
            r.header("ratelimit")
                .unwrap()
                .starts_with(&format!("\"per-client\";r={};t=", 4 - i))
        );
    }
    let r = server.get("/me", &[]);
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"per-client\";r=0;t=")
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json()["status"], 429);
    // The probes stay reachable.
    assert_eq!(server.get("/health/live", &[]).status, 200);
    assert_eq!(server.get("/health/ready", &[]).status, 200);
}

#[test]
fn per_user_limit_follows_the_account() {
    let dir = Server::temp_dir("peruser");
    let server = Server::start(&dir, &[("PALISADE_RATE_LIMIT_PER_USER", "3")]);
    // Public routes are not counted per user: two accounts register and log in.
    let alice = server.account("alice.limit@example.com", PASSWORD);
    let bob = server.account("bob.limit@example.com", PASSWORD);
    let alice = alice["access_token"].as_str().unwrap();
    for i in 0..3 {
        let r = me(&server, alice);
        assert_eq!(r.status, 200);
        let policies = r.headers_named("ratelimit-policy");
        assert!(policies.contains(&"\"per-user\";q=3;w=60"), "{policies:?}");
        assert!(
            policies.contains(&"\"per-client\";q=1000;w=60"),
            "{policies:?}"
        );
        assert!(
            r.headers_named("ratelimit")
                .iter()
                .any(|v| v.starts_with(&format!("\"per-user\";r={};t=", 2 - i)))
        );
    }
    let r = me(&server, alice);
    assert_eq!(r.status, 429);
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"per-user\";r=0;t=")
    );
    assert!(r.header("retry-after").is_some());
    // The same address, another account: its own budget.
    assert_eq!(
        me(&server, bob["access_token"].as_str().unwrap()).status,
        200
    );
    let audit = server.audit();
    assert!(audit.contains("\"reason\":\"per-user\""), "{audit}");
}

#[test]
fn password_reset_signs_the_account_out_everywhere() {
    let dir = Server::temp_dir("signout");
    let server = Server::start(&dir, &[]);
    let laptop = server.account("judy@example.com", PASSWORD);
    let phone = server.login("judy@example.com", PASSWORD).json();
    let refresh = |token: &serde_json::Value| {
        server
            .post(
                "/auth/refresh",
                &[],
                &json!({"refresh_token": token}).to_string(),
            )
            .status
    };
    server.reset_password("judy@example.com", "a new passphrase after the theft");
    assert_eq!(
        refresh(&laptop["refresh_token"]),
        401,
        "the laptop's session"
    );
    assert_eq!(refresh(&phone["refresh_token"]), 401, "the phone's session");
    assert!(server.audit().contains("\"sessions_revoked\":\"2\""));
    // A login with the new password starts a working session.
    let fresh = server
        .login("judy@example.com", "a new passphrase after the theft")
        .json();
    assert_eq!(refresh(&fresh["refresh_token"]), 200);
}

#[test]
fn login_lockout_and_recovery() {
    let dir = Server::temp_dir("lockout");
    let server = Server::start(&dir, &[("PALISADE_LOGIN_MAX_FAILURES", "3")]);
    assert_eq!(server.register("erin@example.com", PASSWORD).status, 201);
    for _ in 0..3 {
        assert_eq!(
            server
                .login("erin@example.com", "not the right password at all")
                .status,
            401
        );
    }
    // Locked: even the right password is refused, with Retry-After.
    let r = server.login("erin@example.com", PASSWORD);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // Unknown accounts fail the same way as wrong passwords (no enumeration).
    assert_eq!(server.login("nobody@example.com", PASSWORD).status, 401);
    // Recovery: a password reset proves control of the mailbox and lifts the lock.
    let new_password = "recovered through the mailbox today";
    server.reset_password("erin@example.com", new_password);
    assert_eq!(server.login("erin@example.com", new_password).status, 200);
}

#[test]
fn csrf_is_required_for_cookie_refresh() {
    let dir = Server::temp_dir("csrf");
    let server = Server::start(&dir, &[]);
    let r = {
        assert_eq!(server.register("frank@example.com", PASSWORD).status, 201);
        server.login("frank@example.com", PASSWORD)
    };
    let cookies = r.headers_named("set-cookie");
    let refresh_cookie = cookies.iter().find(|c| c.starts_with("refresh=")).unwrap();
    assert!(refresh_cookie.contains("HttpOnly") && refresh_cookie.contains("SameSite=Strict"));
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
    let cookie = format!("refresh={refresh}; csrf={csrf}");

    let cookie = ("Cookie", cookie.as_str());
    let token = ("X-CSRF-Token", csrf.as_str());
    let refused = [
        ("no token", vec![cookie], "missing_token"),
        (
            "wrong token",
            vec![cookie, ("X-CSRF-Token", "x.y")],
            "bad_token",
        ),
        (
            "cross-site by Fetch Metadata, even with the token",
            vec![cookie, token, ("Sec-Fetch-Site", "cross-site")],
            "cross_site",
        ),
        (
            "a foreign origin, even with the token",
            vec![cookie, token, ("Origin", "https://evil.example")],
            "cross_site",
        ),
    ];
    for (case, headers, _) in &refused {
        assert_eq!(
            server.post("/auth/refresh", headers, "").status,
            403,
            "{case}"
        );
    }
    // Same origin with the double-submitted token: accepted. A browser sends the page's own
    // origin with `same-origin`.
    let own = format!("http://127.0.0.1:{}", server.port);
    let same_origin = [
        cookie,
        token,
        ("Origin", own.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let r = server.post("/auth/refresh", &same_origin, "");
    assert_eq!(r.status, 200, "{}", r.body);
    // Each refusal is audited with its reason.
    let audit = server.audit();
    for (case, _, reason) in &refused {
        assert!(
            audit.contains(&format!("\"reason\":\"{reason}\"")),
            "{case}"
        );
    }
    assert!(audit.contains("\"action\":\"csrf\""));
}

#[test]
fn cors_preflight_allows_only_listed_origins() {
    let dir = Server::temp_dir("cors");
    let server = Server::start(&dir, &[]);
    let preflight = |origin: &str| {
        common::request(
            server.port,
            "OPTIONS",
            "/me",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "PUT"),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
            ],
            None,
        )
    };
    let allowed = preflight(ORIGIN);
    assert!(allowed.status < 300);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        allowed
            .header("access-control-allow-methods")
            .unwrap()
            .contains("PUT")
    );
    let refused = preflight("https://evil.example");
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn security_headers_on_every_response() {
    let dir = Server::temp_dir("headers");
    let server = Server::start(&dir, &[("PALISADE_RATE_LIMIT", "7")]);
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(70 * 1024));
    let responses = vec![
        server.get("/health/ready", &[]),
        server.get("/health/live", &[]),
        server.get("/me", &[]),
        server.get("/no/such/route", &[]),
        server.post("/auth/login", &[], "{not json"),
        server.post("/auth/register", &[], &big),
        common::request(server.port, "DELETE", "/auth/login", &[], None),
        server.get("/admin/users", &[("Authorization", "Bearer x")]),
        server.get("/me", &[]),
        server.get("/me", &[]),
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 401, 404, 400, 413, 405, 401, 401, 429]);
    for r in &responses {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cross-origin-opener-policy", "same-origin"),
        ] {
            assert_eq!(r.header(name), Some(value), "{name} on {}", r.status);
        }
        assert!(
            r.header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(r.header("permissions-policy").is_some());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));
    }
}

#[test]
fn plain_http_is_redirected_to_the_public_host() {
    let dir = Server::temp_dir("redirect");
    // The test client stands in for the TLS-terminating proxy, so it is trusted as one.
    let server = Server::start(
        &dir,
        &[
            ("PALISADE_HTTPS_REDIRECT_HOST", "api.example"),
            ("PALISADE_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    let r = server.get("/me?tab=1", &[("Host", "evil.example")]);
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://api.example/me?tab=1"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = server.post("/auth/login", &[], "{}");
    assert_eq!(r.status, 308, "POST keeps its method");
    // Through the TLS-terminating proxy the API answers; probes answer over plain HTTP.
    let r = server.get("/me", &[("X-Forwarded-Proto", "https")]);
    assert_eq!(r.status, 401);
    assert!(
        r.header("strict-transport-security").is_some(),
        "HSTS over HTTPS"
    );
    assert_eq!(server.get("/health", &[]).status, 200);
    // A host that is more than a host is refused at start.
    let err = Server::try_start(
        &Server::temp_dir("redirect-bad"),
        &[("PALISADE_HTTPS_REDIRECT_HOST", "https://api.example/x")],
        &[],
    )
    .err()
    .expect("must refuse");
    assert!(err.contains("https_redirect_host"), "{err}");
}

#[test]
fn admin_route_requires_the_role() {
    let dir = Server::temp_dir("admin");
    let server = Server::start(&dir, &[]);
    let login = server.account("grace@example.com", PASSWORD);
    let r = server.get(
        "/admin/users",
        &[(
            "Authorization",
            &bearer(login["access_token"].as_str().unwrap()),
        )],
    );
    assert_eq!(r.status, 403);
    let out = server.command(&["grant-role", "grace@example.com", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let login = server.login("grace@example.com", PASSWORD).json();
    let r = server.get(
        "/admin/users",
        &[(
            "Authorization",
            &bearer(login["access_token"].as_str().unwrap()),
        )],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["users"][0]["email"], "grace@example.com");
    let audit = server.audit();
    assert!(audit.contains("\"action\":\"authz.required\""));
    // The offline command's record, queued with the change, appended by the server.
    let audit = server.wait_for_audit("\"action\":\"admin.role_granted\"", 1);
    assert!(audit.contains("\"actor\":\"cli\""));
    assert!(audit.contains("\"reason\":\"missing_role\""));
}

#[test]
fn no_secret_in_logs_or_error_bodies() {
    let dir = Server::temp_dir("leaks");
    let server = Server::start(&dir, &[]);
    let login = server.account("heidi@example.com", PASSWORD);
    let access = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let mut bodies = Vec::new();
    // Errors that carry the secret in the request.
    bodies.push(
        server
            .login("heidi@example.com", "hunter2 is my password!!")
            .body,
    );
    bodies.push(
        server
            .post(
                "/auth/login",
                &[],
                &format!("{{\"email\":1,\"password\":\"{PASSWORD}\"}}"),
            )
            .body,
    );
    bodies.push(server.register("ivan@example.com", "short").body);
    bodies.push(
        server
            .post(
                "/auth/register",
                &[],
                &format!(
                    "{{\"email\":\"x@example.com\",\"password\":\"{PASSWORD}\",\"extra\":true}}"
                ),
            )
            .body,
    );
    bodies.push(server.get(&format!("/me?token={access}"), &[]).body);
    bodies.push(
        server
            .post(
                "/auth/refresh",
                &[],
                &format!("{{\"refresh_token\":\"{refresh}x\"}}"),
            )
            .body,
    );
    bodies.push(
        server
            .post(
                "/auth/password-reset/confirm",
                &[],
                "{\"token\":\"palp_bogus\",\"new_password\":\"hunter2 is my password!!\"}",
            )
            .body,
    );
    let r = server.post(
        "/auth/password-reset",
        &[],
        r#"{"email":"heidi@example.com"}"#,
    );
    assert_eq!(r.status, 202);
    let reset = server.outbox_token("heidi@example.com");
    std::thread::sleep(Duration::from_millis(300));
    let logs = server.logs();
    assert!(logs.contains("secure-api listening"), "{logs}");
    assert!(logs.contains("path=/me"), "requests are logged: {logs}");
    let mut secrets: Vec<String> = vec![PASSWORD.into(), "hunter2".into(), access, refresh, reset];
    secrets.extend(SECRETS.iter().map(|(_, v)| (*v).to_owned()));
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "log leaks a secret");
        for body in &bodies {
            assert!(
                !body.contains(secret.as_str()),
                "an error body leaks a secret: {body}"
            );
        }
    }
}

#[test]
fn refuses_to_start_without_real_secrets_unless_dev() {
    let dir = Server::temp_dir("secrets");
    let err = Server::try_start(&dir, &[("PALISADE_JWT_KEY", "")], &[])
        .err()
        .expect("must refuse");
    assert!(err.contains("secret jwt_key is missing"), "{err}");
    let err = Server::try_start(&dir, &[("PALISADE_PEPPER", "changeme")], &[])
        .err()
        .expect("must refuse");
    assert!(
        err.contains("pepper is unusable") && !err.contains("changeme"),
        "{err}"
    );
    let all_missing: Vec<(&str, &str)> = SECRETS.iter().map(|(k, _)| (*k, "")).collect();
    let dev = Server::try_start(&dir, &all_missing, &["--dev"]).expect("--dev starts");
    assert_eq!(dev.get("/health", &[]).status, 200);
    assert!(dev.logs().contains("INSECURE: --dev mode"));
}

#[test]
fn key_rotation_while_serving_loses_no_row() {
    let dir = Server::temp_dir("rotate");
    let server = Server::start(&dir, &[]);
    let mut users = Vec::new();
    for i in 0..12 {
        let email = format!("user{i}@example.com");
        let login = server.account(&email, PASSWORD);
        let access = login["access_token"].as_str().unwrap().to_owned();
        let body =
            json!({"phone": format!("+1 555 01{i:02}"), "address": format!("{i} Rotation Road")});
        assert_eq!(
            server
                .put(
                    "/me",
                    &[("Authorization", &bearer(&access))],
                    &body.to_string()
                )
                .status,
            200
        );
        users.push((i, access));
    }
    // Traffic keeps writing and reading while the rotation runs in another process.
    let port = server.port;
    let writers: Vec<_> = users
        .iter()
        .take(4)
        .cloned()
        .map(|(i, access)| {
            let log = server.log.clone();
            std::thread::spawn(move || {
                for round in 0..15 {
                    let body = json!({"phone": format!("+1 555 9{i:02}{round:02}")});
                    let r = common::request(
                        port,
                        "PUT",
                        "/me",
                        &[("Authorization", &bearer(&access))],
                        Some(&body.to_string()),
                    );
                    assert_eq!(r.status, 200, "{}\n{}", r.body, log.lock().unwrap());
                }
            })
        })
        .collect();
    let out = server.command(&["rotate-keys"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rotate-keys finished"), "{stderr}");
    for w in writers {
        w.join().unwrap();
    }
    // Every row still decrypts, through the running server (which reloads the keyring).
    for (i, access) in &users {
        let r = me(&server, access);
        assert_eq!(r.status, 200, "user {i}: {}", r.body);
        let profile = r.json();
        let expected_phone = if *i < 4 {
            format!("+1 555 9{i:02}14")
        } else {
            format!("+1 555 01{i:02}")
        };
        assert_eq!(profile["phone"], expected_phone.as_str());
        assert_eq!(profile["address"], format!("{i} Rotation Road").as_str());
    }
    // A second run moves anything the server wrote under the old key during the first one.
    let out = server.command(&["rotate-keys"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("remaining_on_old_keys=0"), "{stderr}");
    // Each run's record, queued by the command, appended by the server.
    let audit = server.wait_for_audit("\"action\":\"keys.rotated\"", 2);
    assert!(audit.contains("\"remaining_on_old_keys\":0"), "{audit}");
    for (i, access) in &users {
        assert_eq!(
            me(&server, access).status,
            200,
            "user {i} after the second rotation"
        );
    }
}

/// The JWT key given as a file is rewritten while the service runs: once the change is taken
/// up (`reload.rs`, through palisade-secrets' change signal), new tokens carry the new key and
/// tokens of the old one still verify.
#[test]
fn a_rotated_jwt_key_file_is_taken_up_without_a_restart() {
    use std::os::unix::fs::PermissionsExt as _;
    const NEW_KEY: &str = "5e4d3c2b1a0f9e8d7c6b5a49382716051f2e3d4c5b6a79881726354453627180";
    let dir = Server::temp_dir("jwt-rotation");
    let key_file = dir.join("jwt.hex");
    let write = |hex: &str| {
        let tmp = dir.join("jwt.hex.new");
        std::fs::write(&tmp, format!("{hex}\n")).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::rename(&tmp, &key_file).unwrap();
    };
    write(SECRETS[0].1);
    let address = format!("file:{}", key_file.display());
    let server = Server::start(
        &dir,
        &[
            ("PALISADE_JWT_KEY", address.as_str()),
            ("PALISADE_SECRETS_REFRESH_SECS", "1"),
        ],
    );
    let login = server.account("dave@example.com", PASSWORD);
    let old = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_in(&old), kid_of(&palisade_testkit::unhex(SECRETS[0].1)));

    write(NEW_KEY);
    let new = server.login_until_signed_by("dave@example.com", PASSWORD, NEW_KEY);
    assert_eq!(me(&server, &new).status, 200);
    assert_eq!(
        me(&server, &old).status,
        200,
        "the old key verifies until expiry"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
