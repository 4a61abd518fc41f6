//! `HttpsRedirectLayer`: plain HTTP goes to HTTPS on the configured host, and only there.

mod common;

use axum::{Router, body::Body, routing::get};
use http::{Method, Request, StatusCode, header, uri::Authority};
use palisade_http::{HttpsRedirectLayer, TrustedProxy};
use proptest::prelude::*;
use tower::ServiceExt;

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "home" }))
        .route("/me", get(|| async { "me" }).post(|| async { "posted" }))
        .route("/health", get(|| async { "ok" }))
        .layer(
            HttpsRedirectLayer::new(Authority::from_static("api.example.com"))
                .exempt_path("/health"),
        )
}

/// A request as `ClientIpLayer` hands it on from a trusted proxy: forwarding headers count.
fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = from_untrusted_peer(method, uri, headers);
    request.extensions_mut().insert(TrustedProxy);
    request
}

/// A request straight from a client (no `TrustedProxy` extension): its forwarding headers are
/// the client's own claim.
fn from_untrusted_peer(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

async fn location(method: Method, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let response = app().oneshot(request(method, uri, headers)).await.unwrap();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), location)
}

#[tokio::test]
async fn plain_http_is_redirected_with_path_and_query() {
    assert_eq!(
        location(Method::GET, "/me?tab=keys&x=1", &[]).await,
        (
            StatusCode::MOVED_PERMANENTLY,
            "https://api.example.com/me?tab=keys&x=1".to_owned()
        )
    );
    assert_eq!(
        location(Method::HEAD, "/", &[]).await.0,
        StatusCode::MOVED_PERMANENTLY
    );
    // Other methods keep their method and body across the redirect.
    assert_eq!(
        location(Method::POST, "/me", &[]).await,
        (
            StatusCode::PERMANENT_REDIRECT,
            "https://api.example.com/me".to_owned()
        )
    );
}

#[tokio::test]
async fn https_requests_pass() {
    for headers in [
        &[("x-forwarded-proto", "https")][..],
        &[("x-forwarded-proto", "HTTPS")][..],
        &[("forwarded", "for=192.0.2.1;proto=https")][..],
    ] {
        let response = app()
            .oneshot(request(Method::GET, "/me", headers))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{headers:?}");
    }
    let response = app()
        .oneshot(request(Method::GET, "https://api.example.com/me", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A proxy saying plain HTTP is plain HTTP.
    let (status, _) = location(Method::GET, "/me", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
}

/// A client on plain HTTP that claims HTTPS in `X-Forwarded-Proto` or `Forwarded` is still
/// redirected: only a trusted proxy's word counts, as for HSTS.
#[tokio::test]
async fn forwarded_proto_from_an_untrusted_peer_is_ignored() {
    for headers in [
        &[("x-forwarded-proto", "https")][..],
        &[("forwarded", "for=192.0.2.1;proto=https")][..],
    ] {
        let response = app()
            .oneshot(from_untrusted_peer(Method::GET, "/me", headers))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::MOVED_PERMANENTLY,
            "{headers:?}"
        );
    }
    // A URI with the https scheme is the server's own knowledge, trusted from anyone.
    let response = app()
        .oneshot(from_untrusted_peer(
            Method::GET,
            "https://api.example.com/me",
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn exempt_paths_are_served_over_plain_http() {
    let response = app()
        .oneshot(request(Method::GET, "/health", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body_text(response).await, "ok");
    // Exact match only.
    assert_eq!(
        location(Method::GET, "/health/x", &[]).await.0,
        StatusCode::MOVED_PERMANENTLY
    );
}

#[tokio::test]
async fn the_host_header_never_chooses_the_target() {
    // Open-redirect and cache-poisoning attempts: the client's Host, an absolute-form target
    // naming another host, a path that looks like a network path.
    let cases = [
        (
            "/me",
            vec![("host", "evil.example")],
            "https://api.example.com/me",
        ),
        (
            "http://evil.example/me",
            vec![],
            "https://api.example.com/me",
        ),
        (
            "//evil.example/x",
            vec![],
            "https://api.example.com//evil.example/x",
        ),
    ];
    for (uri, headers, expected) in cases {
        let (status, location) = location(Method::GET, uri, &headers).await;
        assert_eq!(status, StatusCode::MOVED_PERMANENTLY, "{uri}");
        assert_eq!(location, expected, "{uri}");
    }
}

proptest! {
    #[test]
    fn the_location_always_names_the_configured_host(path in "/[a-zA-Z0-9/._~%!$&'()*+,;=:@?-]{0,64}") {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        prop_assume!(path != "/health");
        let Ok(request) = Request::builder().uri(path.as_str()).body(Body::empty()) else {
            return Ok(());
        };
        let response = runtime.block_on(app().oneshot(request)).unwrap();
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        prop_assert!(location.starts_with("https://api.example.com/"), "{}", location);
    }
}
