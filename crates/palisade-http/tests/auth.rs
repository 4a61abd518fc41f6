//! Bearer authentication and per-route requirements, with a verifier written for the tests.
//! (`token.rs` runs the same layers with palisade-token's JWT verifier.)

mod common;

use std::sync::{Arc, Mutex};

use axum::{Extension, Router, body::Body, routing::get};
use common::{body_text, capture_log};
use http::{Request, StatusCode, header};
use palisade_audit::Event;
use palisade_http::{
    AuditLayer, Authorized, BearerLayer, Rejection, RequireLayer, SecurityHeaders,
    SecurityHeadersLayer, TokenVerifier,
};
use tower::{ServiceBuilder, ServiceExt};

#[derive(Debug, Clone)]
struct TestClaims {
    sub: String,
    scopes: Vec<String>,
    roles: Vec<String>,
}

impl Authorized for TestClaims {
    fn subject(&self) -> Option<&str> {
        Some(&self.sub)
    }
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Accepts `ok.<sub>.<scope~scope>.<role~role>`; `expired.*` is refused as expired.
struct TestVerifier;

impl TokenVerifier for TestVerifier {
    type Claims = TestClaims;

    async fn verify(&self, token: &str) -> Result<TestClaims, Rejection> {
        let parts: Vec<&str> = token.split('.').collect();
        match parts.as_slice() {
            ["ok", sub, scopes, roles] => Ok(TestClaims {
                sub: (*sub).to_owned(),
                scopes: scopes.split('~').map(str::to_owned).collect(),
                roles: roles.split('~').map(str::to_owned).collect(),
            }),
            ["expired", ..] => Err(Rejection::new("expired")),
            _ => Err(Rejection::new("bad_signature")),
        }
    }
}

fn app(events: Arc<Mutex<Vec<Event>>>) -> Router {
    let invoices = Router::new()
        .route(
            "/invoices",
            get(|| async { "invoices" }).post(|| async { "created" }),
        )
        .route_layer(RequireLayer::<TestClaims>::scopes(["invoices_write"]));
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireLayer::<TestClaims>::roles(["admin"]));
    Router::new()
        .route(
            "/me",
            get(|Extension(claims): Extension<TestClaims>| async move { claims.sub }),
        )
        .route("/health", get(|| async { "up" }))
        .route("/docs/index", get(|| async { "docs" }))
        .merge(invoices)
        .merge(admin)
        .layer(
            ServiceBuilder::new()
                .layer(SecurityHeadersLayer::new(SecurityHeaders::api()))
                .layer(AuditLayer::new(move |e| events.lock().unwrap().push(e)))
                .layer(
                    BearerLayer::new(TestVerifier)
                        .public_path("/health")
                        .public_prefix("/docs/"),
                ),
        )
}

fn request(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .uri(uri)
        .header("x-request-id", "req-auth");
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn valid_tokens_reach_the_handler_with_claims() {
    let response = app(Arc::default())
        .oneshot(request("/me", Some("Bearer ok.alice.read.user")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, "alice");
}

#[tokio::test]
async fn missing_token_gets_a_plain_challenge() {
    let response = app(Arc::default())
        .oneshot(request("/me", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\""
    );
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    let body = body_text(response).await;
    assert!(
        body.contains("\"status\":401") && body.contains("req-auth"),
        "{body}"
    );
}

#[tokio::test]
async fn refused_tokens_say_invalid_token_and_nothing_more() {
    let (capture, _guard) = capture_log();
    let events = Arc::new(Mutex::new(Vec::new()));
    for (value, kind) in [
        ("Bearer expired.x", "expired"),
        ("Bearer forged.token", "bad_signature"),
        ("Basic YWxpY2U6aHVudGVyMg==", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer ok.a b", "malformed"),
        ("bearer ok.alice.read.user\"", "malformed"),
    ] {
        let response = app(events.clone())
            .oneshot(request("/me", Some(value)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\", error=\"invalid_token\"",
            "{value}"
        );
        let body = body_text(response).await;
        assert!(!body.contains(kind), "body says why: {body}");
        assert!(
            !body.contains("expired") && !body.contains("signature"),
            "{body}"
        );
        assert!(
            capture.text().contains(&format!("kind=\"{kind}\"")),
            "{}",
            capture.text()
        );
    }
    let recorded = events.lock().unwrap();
    assert_eq!(recorded.len(), 6);
    let first = format!("{:?}", recorded[0]);
    assert!(
        first.contains("auth.bearer") && first.contains("expired"),
        "{first}"
    );
    assert!(
        !capture.text().contains("YWxpY2U6aHVudGVyMg"),
        "credential logged"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let request = Request::builder()
        .uri("/me")
        .header(header::AUTHORIZATION, "Bearer ok.alice.read.user")
        .header(header::AUTHORIZATION, "Bearer ok.mallory.read.admin")
        .body(Body::empty())
        .unwrap();
    let response = app(Arc::default()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_paths_need_no_token_but_cannot_be_walked_out_of() {
    for path in ["/health", "/docs/index"] {
        let response = app(Arc::default())
            .oneshot(request(path, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    for path in [
        "/health/",
        "/healthz",
        "/docs/../me",
        "/docs/%2e%2e/me",
        "/docs/..%2Fme",
        "/docs//me",
        "/docs/.%2e/admin",
        "/docs\\..\\me",
    ] {
        let response = app(Arc::default())
            .oneshot(request(path, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn scopes_and_roles_are_enforced_per_route() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let response = app(events.clone())
        .oneshot(request(
            "/invoices",
            Some("Bearer ok.bob.invoices_read.user"),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"invoices_write\""
    );
    assert!(body_text(response).await.contains("\"status\":403"));
    let recorded = format!("{:?}", events.lock().unwrap()[0]);
    assert!(
        recorded.contains("missing_scope") && recorded.contains("bob"),
        "{recorded}"
    );

    let response = app(Arc::default())
        .oneshot(request(
            "/invoices",
            Some("Bearer ok.bob.invoices_read~invoices_write.user"),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = app(Arc::default())
        .oneshot(request("/admin", Some("Bearer ok.bob.all.user")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app(Arc::default())
        .oneshot(request("/admin", Some("Bearer ok.root.none.user~admin")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn requirements_without_authentication_refuse() {
    let open = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireLayer::<TestClaims>::roles(["admin"]));
    let response = open.oneshot(request("/admin", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
