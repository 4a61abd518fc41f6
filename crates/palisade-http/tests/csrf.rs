//! The CSRF layer with a check written for the tests (`token.rs` runs it with palisade-token).

mod common;

use std::borrow::Cow;

use axum::{Router, body::Body, routing::post};
use http::{HeaderMap, Method, Request, StatusCode, header};
use palisade_http::{CsrfCheck, CsrfLayer};
use tower::ServiceExt;

/// Cross-site per `Sec-Fetch-Site`; a token is valid for session `s` when it is `s.ok`.
struct TestCheck;

impl CsrfCheck for TestCheck {
    fn check_origin(&self, _: &Method, headers: &HeaderMap) -> Result<(), Cow<'static, str>> {
        match headers
            .get("sec-fetch-site")
            .map(http::HeaderValue::as_bytes)
        {
            Some(b"cross-site") => Err("cross_site".into()),
            _ => Ok(()),
        }
    }
    fn verify_token(&self, session_id: &str, cookie: &str, submitted: &str) -> bool {
        cookie == submitted && submitted == format!("{session_id}.ok")
    }
}

fn app() -> Router {
    Router::new()
        .route(
            "/transfer",
            post(|| async { "moved" }).get(|| async { "form" }),
        )
        .layer(CsrfLayer::new(TestCheck, "session"))
}

fn request(
    method: Method,
    cookies: &str,
    token: Option<&str>,
    site: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri("/transfer");
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies);
    }
    if let Some(token) = token {
        builder = builder.header("x-csrf-token", token);
    }
    if let Some(site) = site {
        builder = builder.header("sec-fetch-site", site);
    }
    builder.body(Body::empty()).unwrap()
}

async fn status(request: Request<Body>) -> StatusCode {
    app().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn same_origin_with_a_bound_token_passes() {
    let cookies = "session=abc; csrf_token=abc.ok";
    assert_eq!(
        status(request(
            Method::POST,
            cookies,
            Some("abc.ok"),
            Some("same-origin")
        ))
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_missing_piece_is_refused() {
    let cases = [
        (
            "cross-site",
            "session=abc; csrf_token=abc.ok",
            Some("abc.ok"),
            Some("cross-site"),
        ),
        (
            "no header",
            "session=abc; csrf_token=abc.ok",
            None,
            Some("same-origin"),
        ),
        (
            "no cookie token",
            "session=abc",
            Some("abc.ok"),
            Some("same-origin"),
        ),
        (
            "mismatch",
            "session=abc; csrf_token=abc.ok",
            Some("abd.ok"),
            None,
        ),
        // A sibling domain planted a token and cookie of its own session.
        (
            "other session",
            "session=abc; csrf_token=evil.ok",
            Some("evil.ok"),
            None,
        ),
        (
            "two sessions",
            "session=abc; session=evil; csrf_token=abc.ok",
            Some("abc.ok"),
            None,
        ),
    ];
    for (what, cookies, token, site) in cases {
        let response = app()
            .oneshot(request(Method::POST, cookies, token, site))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn safe_methods_and_requests_without_the_session_cookie_pass() {
    assert_eq!(
        status(request(
            Method::GET,
            "session=abc",
            None,
            Some("cross-site")
        ))
        .await,
        StatusCode::OK
    );
    // No ambient credential: nothing to forge (bearer-token clients).
    assert_eq!(
        status(request(Method::POST, "", None, Some("cross-site"))).await,
        StatusCode::OK
    );
}
