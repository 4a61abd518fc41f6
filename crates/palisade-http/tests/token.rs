//! Bearer authentication and CSRF with palisade-token: real JWTs (HS256), a revocation list and
//! signed double-submit tokens. Each attack test fails if its defence is removed.

mod common;

use std::{sync::Arc, time::Duration};

use axum::{Extension, Router, body::Body, routing::get};
use common::{body_text, capture_log};
use http::{Method, Request, StatusCode, header};
use palisade_http::{BearerLayer, CsrfLayer, JwtVerifier, RequireLayer, TokenCsrf, TokenVerifier};
use palisade_token::{
    clock::ManualClock,
    csrf::{CsrfTokens, OriginPolicy},
    jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier},
    revocation::RevocationList,
    store::MemoryStore,
};
use tower::ServiceExt;

const NOW: u64 = 1_800_000_000;
const SECRET: &[u8] = b"http layer test secret, 32 bytes";

fn keys() -> Arc<KeySet> {
    let key = SigningKey::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .with_kid("k1")
        .unwrap();
    Arc::new(KeySet::single(key))
}

struct Tokens {
    issuer: Issuer,
    verifier: Verifier,
    clock: Arc<ManualClock>,
}

fn tokens() -> Tokens {
    let clock = Arc::new(ManualClock::new(NOW));
    let keys = keys();
    let issuer = Issuer::new(keys.clone())
        .unwrap()
        .issuer("https://auth.example")
        .audience("orders-api")
        .ttl(Duration::from_secs(300))
        .unwrap()
        .clock(clock.clone());
    let verifier = Verifier::new(keys)
        .issuer("https://auth.example")
        .audience("orders-api")
        .clock(clock.clone());
    Tokens {
        issuer,
        verifier,
        clock,
    }
}

type Jwt = Claims;

impl Tokens {
    /// A token for `subject` with the scopes `scope` (space-separated).
    fn scoped(&self, subject: &str, scope: &str) -> String {
        self.issuer
            .issue(Claims::empty().subject(subject).scope(scope))
            .unwrap()
    }
}

fn app<V: TokenVerifier<Claims = Jwt>>(verifier: V) -> Router {
    let orders = Router::new()
        .route(
            "/orders",
            get(|| async { "orders" }).post(|| async { "created" }),
        )
        .route_layer(RequireLayer::<Jwt>::scopes(["orders:write"]));
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireLayer::<Jwt>::roles(["admin"]));
    Router::new()
        .route(
            "/me",
            get(|Extension(claims): Extension<Jwt>| async move { claims.sub.unwrap_or_default() }),
        )
        .route("/health", get(|| async { "up" }))
        .merge(orders)
        .merge(admin)
        .layer(BearerLayer::new(verifier).public_path("/health"))
}

fn get_with(uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn refused_as(app: Router, token: &str, kind: &str) {
    let (capture, _guard) = capture_log();
    let response = app.oneshot(get_with("/me", token)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{kind}");
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\", error=\"invalid_token\""
    );
    let body = body_text(response).await;
    assert!(!body.contains(kind), "the body says why: {body}");
    let log = capture.text();
    assert!(log.contains(&format!("kind=\"{kind}\"")), "{log}");
    assert!(!log.contains(token), "the token was logged: {log}");
}

#[tokio::test]
async fn a_valid_jwt_reaches_the_handler_with_its_claims() {
    let t = tokens();
    let token = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    let response = app(JwtVerifier::new(t.verifier))
        .oneshot(get_with("/me", &token))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "alice");
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let t = tokens();
    let token = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    t.clock.advance(Duration::from_secs(301));
    refused_as(app(JwtVerifier::new(t.verifier)), &token, "expired").await;
}

#[tokio::test]
async fn tampered_tokens_are_refused() {
    let t = tokens();
    let token = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    // Swap the payload for one naming another subject; keep the signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = t
        .issuer
        .issue(Claims::empty().subject("mallory").role("admin"))
        .unwrap();
    let forged_payload = forged.split('.').nth(1).unwrap().to_owned();
    parts[1] = &forged_payload;
    let tampered = parts.join(".");
    refused_as(
        app(JwtVerifier::new(t.verifier)),
        &tampered,
        "bad_signature",
    )
    .await;
}

#[tokio::test]
async fn alg_none_tokens_are_refused() {
    let t = tokens();
    // {"alg":"none","typ":"JWT"} . {"sub":"admin","exp":1900000000,"iss":…,"aud":…} . (empty)
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImV4cCI6MTkwMDAwMDAwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUiLCJhdWQiOiJvcmRlcnMtYXBpIn0.";
    refused_as(app(JwtVerifier::new(t.verifier)), none, "alg_none").await;
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    let t = tokens();
    let other = Issuer::new(keys())
        .unwrap()
        .issuer("https://auth.example")
        .audience("billing-api")
        .clock(t.clock.clone());
    let token = other.issue(Claims::empty().subject("alice")).unwrap();
    refused_as(app(JwtVerifier::new(t.verifier)), &token, "wrong_audience").await;
}

#[tokio::test]
async fn revocation_list_is_consulted() {
    let t = tokens();
    let token = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    let list = revoked(&t, &token).await;
    let verifier = JwtVerifier::new(t.verifier).revocation(list);
    refused_as(app(verifier), &token, "revoked").await;
}

/// A revocation list, on `t`'s clock, in which `token` is revoked.
async fn revoked(t: &Tokens, token: &str) -> RevocationList<MemoryStore> {
    let list = RevocationList::new(MemoryStore::new()).clock(t.clock.clone());
    let claims = t
        .verifier
        .verify::<serde_json::Map<String, serde_json::Value>>(token)
        .unwrap();
    list.revoke_claims(&claims).await.unwrap();
    list
}

/// `JwtVerifier::remember_verified`: a revocation list is still consulted on every request,
/// and a remembered token still expires on time.
#[tokio::test]
async fn remembered_tokens_are_still_checked_for_revocation_and_still_expire() {
    let t = tokens();
    let alice = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    let bob = t.issuer.issue(Claims::empty().subject("bob")).unwrap();
    let list = revoked(&t, &alice).await;
    let app = app(JwtVerifier::new(t.verifier)
        .revocation(list)
        .remember_verified(64, Duration::from_secs(3600))
        .unwrap());
    // The first request remembers alice's token (its signature and claims pass); the
    // second finds it, and the list refuses it both times.
    for _ in 0..2 {
        refused_as(app.clone(), &alice, "revoked").await;
    }
    for _ in 0..2 {
        let response = app.clone().oneshot(get_with("/me", &bob)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "bob");
    }
    t.clock.advance(Duration::from_secs(300));
    refused_as(app, &bob, "expired").await;
}

/// A verifier whose claims are shared (`Arc<Claims>`, as palisade-token's `CachedVerifier`
/// hands them out): the bearer layer, `RequireLayer` and the handler's extractor take the
/// `Arc` as they take the claims.
struct OwnSharingVerifier(palisade_token::jwt::CachedVerifier);

impl TokenVerifier for OwnSharingVerifier {
    type Claims = Arc<Jwt>;

    async fn verify(&self, token: &str) -> Result<Arc<Jwt>, palisade_http::Rejection> {
        self.0
            .verify(token)
            .map_err(|e| palisade_http::Rejection::new(e.kind().as_str()))
    }
}

/// `/me` and `/orders` (scope `orders:write`) answer with the subject of the shared claims the
/// handler extracts.
fn shared_app<V: TokenVerifier<Claims = Arc<Jwt>>>(verifier: V) -> Router {
    let subject = |Extension(claims): Extension<Arc<Jwt>>| async move {
        claims.sub.clone().unwrap_or_default()
    };
    let orders = Router::new()
        .route("/orders", get(subject))
        .route_layer(RequireLayer::<Arc<Jwt>>::scopes(["orders:write"]));
    Router::new()
        .route("/me", get(subject))
        .merge(orders)
        .layer(BearerLayer::new(verifier))
}

#[tokio::test]
async fn shared_claims_are_authorized_as_the_claims_themselves() {
    let t = tokens();
    let writer = t.scoped("alice", "orders:write");
    let reader = t.scoped("bob", "orders:read");
    let verifier = OwnSharingVerifier(
        palisade_token::jwt::CachedVerifier::new(t.verifier, 16, Duration::from_secs(60)).unwrap(),
    );
    let app = shared_app(verifier);
    let response = app
        .clone()
        .oneshot(get_with("/orders", &writer))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "alice");
    let response = app.oneshot(get_with("/orders", &reader)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// `JwtVerifier::shared_claims`: a remembered token's claims go into each request as the
/// `Arc` the verifier's memory holds, not as a copy, and they are the claims the plain verifier
/// gives.
#[tokio::test]
async fn shared_claims_of_a_remembered_token_are_the_ones_in_memory() {
    let t = tokens();
    let alice = t.scoped("alice", "orders:write");
    let plain = JwtVerifier::new(tokens().verifier);
    let shared = JwtVerifier::new(t.verifier)
        .remember_verified(16, Duration::from_secs(60))
        .unwrap()
        .shared_claims();
    let first = shared.verify(&alice).await.unwrap();
    let second = shared
        .verify_now(&alice)
        .expect("no I/O without a revocation list")
        .unwrap();
    assert!(Arc::ptr_eq(&first, &second), "copied, not shared");
    assert_eq!(*first, plain.verify(&alice).await.unwrap());
    let each = JwtVerifier::new(tokens().verifier).shared_claims();
    assert_eq!(*each.verify(&alice).await.unwrap(), *first);
}

/// Shared claims change what goes into the request, not what is checked: a tampered, revoked,
/// under-scoped or expired token is refused as without them, remembered or not.
#[tokio::test]
async fn shared_claims_keep_every_check() {
    for remember in [false, true] {
        let t = tokens();
        let alice = t.scoped("alice", "orders:write");
        let bob = t.scoped("bob", "orders:read");
        // Bob's signature under another payload (alice with the write scope, never revoked).
        let forged = t.scoped("alice", "orders:write orders:read");
        let mut parts: Vec<&str> = bob.split('.').collect();
        parts[1] = forged.split('.').nth(1).unwrap();
        let forged = parts.join(".");
        let list = revoked(&t, &alice).await;
        let mut verifier = JwtVerifier::new(t.verifier).revocation(list);
        if remember {
            verifier = verifier
                .remember_verified(64, Duration::from_secs(3600))
                .unwrap();
        }
        let app = shared_app(verifier.shared_claims());
        for _ in 0..2 {
            refused_as(app.clone(), &alice, "revoked").await;
            let response = app.clone().oneshot(get_with("/me", &bob)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(body_text(response).await, "bob");
            let response = app
                .clone()
                .oneshot(get_with("/orders", &bob))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        refused_as(app.clone(), &forged, "bad_signature").await;
        t.clock.advance(Duration::from_secs(300));
        refused_as(app, &bob, "expired").await;
    }
}

#[tokio::test]
async fn only_a_verifier_without_revocation_list_decides_without_awaiting() {
    let t = tokens();
    let token = t.issuer.issue(Claims::empty().subject("alice")).unwrap();
    let in_memory = JwtVerifier::new(t.verifier);
    let now = in_memory
        .verify_now(&token)
        .expect("no I/O without a revocation list");
    assert_eq!(now.unwrap().sub.as_deref(), Some("alice"));
    let awaited = in_memory.verify(&token).await.unwrap();
    assert_eq!(awaited.sub.as_deref(), Some("alice"));
    assert_eq!(
        in_memory.verify_now("not.a.token").map(|r| r.is_err()),
        Some(true),
        "a refusal is decided at once too"
    );
    let list = RevocationList::new(MemoryStore::new()).clock(t.clock.clone());
    let listed = JwtVerifier::new(tokens().verifier).revocation(list);
    assert!(
        listed.verify_now(&token).is_none(),
        "a revocation list is consulted by awaiting"
    );
}

#[tokio::test]
async fn scopes_and_roles_come_from_the_jwt() {
    let t = tokens();
    let reader = t.scoped("bob", "orders:read");
    let writer = t.scoped("carol", "orders:read orders:write");
    let admin = t
        .issuer
        .issue(Claims::empty().subject("root").role("admin"))
        .unwrap();
    let app = app(JwtVerifier::new(t.verifier));
    let response = app
        .clone()
        .oneshot(get_with("/orders", &reader))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"orders:write\""
    );
    let response = app
        .clone()
        .oneshot(get_with("/orders", &writer))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .clone()
        .oneshot(get_with("/admin", &writer))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .clone()
        .oneshot(get_with("/admin", &admin))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

const CSRF_KEY: &[u8] = b"csrf signing key for the tests!!";

fn csrf_app() -> Router {
    let check = TokenCsrf::new(
        CsrfTokens::new(CSRF_KEY).unwrap(),
        OriginPolicy::new(["https://app.example"]).unwrap(),
    );
    Router::new()
        .route(
            "/transfer",
            get(|| async { "form" }).post(|| async { "moved" }),
        )
        .layer(CsrfLayer::new(check, "session"))
}

fn post(
    session: &str,
    cookie_token: Option<&str>,
    header_token: Option<&str>,
    site: Option<&str>,
) -> Request<Body> {
    let cookies = match cookie_token {
        Some(t) => format!("session={session}; csrf_token={t}"),
        None => format!("session={session}"),
    };
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/transfer")
        .header(header::COOKIE, cookies);
    if let Some(t) = header_token {
        builder = builder.header("x-csrf-token", t);
    }
    if let Some(site) = site {
        builder = builder.header("sec-fetch-site", site);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn csrf_signed_double_submit_and_fetch_metadata() {
    let tokens = CsrfTokens::new(CSRF_KEY).unwrap();
    let mine = tokens.issue("s-alice");
    let theirs = tokens.issue("s-mallory");
    let ok = csrf_app()
        .oneshot(post(
            "s-alice",
            Some(&mine),
            Some(&mine),
            Some("same-origin"),
        ))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // No browser signal (an old browser, curl): the token alone decides.
    let ok = csrf_app()
        .oneshot(post("s-alice", Some(&mine), Some(&mine), None))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cases = [
        (
            "cross-site with a valid token",
            post("s-alice", Some(&mine), Some(&mine), Some("cross-site")),
        ),
        (
            "no header token",
            post("s-alice", Some(&mine), None, Some("same-origin")),
        ),
        (
            "no cookie token",
            post("s-alice", None, Some(&mine), Some("same-origin")),
        ),
        (
            "another session's token",
            post("s-alice", Some(&theirs), Some(&theirs), Some("same-origin")),
        ),
        (
            "forged token",
            post(
                "s-alice",
                Some("AAAA.BBBB"),
                Some("AAAA.BBBB"),
                Some("same-origin"),
            ),
        ),
        (
            "mismatch",
            post("s-alice", Some(&mine), Some(&theirs), Some("same-origin")),
        ),
    ];
    for (what, request) in cases {
        let response = csrf_app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    }
}

/// The single-page app on a trusted origin, and browsers without Fetch Metadata on the
/// service's own origin, pass with the token; an untrusted origin does not.
#[tokio::test]
async fn csrf_trusted_origin_and_own_host_pass() {
    let tokens = CsrfTokens::new(CSRF_KEY).unwrap();
    let mine = tokens.issue("s-alice");
    let with = |site: Option<&str>, origin: &str| {
        let mut request = post("s-alice", Some(&mine), Some(&mine), site);
        let headers = request.headers_mut();
        headers.insert(header::ORIGIN, origin.parse().unwrap());
        headers.insert(header::HOST, "api.example".parse().unwrap());
        request
    };
    let cases = [
        (Some("same-site"), "https://app.example", StatusCode::OK),
        (Some("cross-site"), "https://app.example", StatusCode::OK),
        (Some("same-origin"), "https://api.example", StatusCode::OK),
        (None, "https://api.example", StatusCode::OK),
        (None, "https://app.example", StatusCode::OK),
        (
            Some("cross-site"),
            "https://evil.example",
            StatusCode::FORBIDDEN,
        ),
        (
            Some("same-site"),
            "https://blog.example",
            StatusCode::FORBIDDEN,
        ),
        (None, "https://evil.example", StatusCode::FORBIDDEN),
    ];
    for (site, origin, want) in cases {
        let response = csrf_app().oneshot(with(site, origin)).await.unwrap();
        assert_eq!(response.status(), want, "{site:?} {origin}");
    }
}

#[tokio::test]
async fn refusals_carry_security_headers_and_problem_bodies() {
    use palisade_http::{SecurityHeaders, SecurityHeadersLayer};
    let t = tokens();
    let reader = t.scoped("bob", "orders:read");
    let secured = |router: Router| router.layer(SecurityHeadersLayer::new(SecurityHeaders::api()));
    let cases = [
        (
            secured(app(JwtVerifier::new(t.verifier.clone()))),
            get_with("/me", "not-a-jwt"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            secured(app(JwtVerifier::new(t.verifier.clone()))),
            get_with("/orders", &reader),
            StatusCode::FORBIDDEN,
        ),
        (
            secured(csrf_app()),
            post("s-alice", None, None, Some("cross-site")),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (app, request, status) in cases {
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), status);
        let h = response.headers();
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY));
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
    }
}
