//! `ContentTypeLayer`: state-changing bodies must be declared JSON.
#![allow(clippy::unwrap_used, clippy::panic)]

use axum::{
    Router,
    body::Body,
    routing::{get, post},
};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use palisade_http::ContentTypeLayer;
use tower::ServiceExt as _;

fn app(layer: ContentTypeLayer) -> Router {
    Router::new()
        .route(
            "/login",
            post(|body: String| async move { body })
                .put(|| async { "put" })
                .patch(|| async { "patch" })
                .delete(|| async { "delete" }),
        )
        .route("/page", get(|| async { "page" }))
        .layer(layer)
}

fn request(method: Method, content_type: Option<&str>, body: &'static str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri("/login")
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(Body::from(body)).unwrap()
}

async fn status(app: Router, request: Request<Body>) -> StatusCode {
    app.oneshot(request).await.unwrap().status()
}

/// The bodies a cross-site form or `fetch` without preflight can send are refused with 415
/// before the handler runs: the login CSRF vector.
#[tokio::test]
async fn form_and_text_bodies_are_refused_with_415() {
    let body = r#"{"email":"a@example.com","password":"x"}"#;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for ct in [
            None,
            Some("text/plain"),
            Some("text/plain; charset=utf-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("application/json; charset=latin1"),
            Some("application/json; boundary=x"),
            Some("application/problem+json"),
            Some("text/json"),
        ] {
            let got = status(
                app(ContentTypeLayer::json()),
                request(method.clone(), ct, body),
            )
            .await;
            assert_eq!(got, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{method} {ct:?}");
        }
    }
    let response = app(ContentTypeLayer::json())
        .oneshot(request(Method::POST, Some("text/plain"), body))
        .await
        .unwrap();
    assert_eq!(response.headers()[header::ACCEPT], "application/json");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["status"], 415);
}

/// Two Content-Type headers are refused: which one a parser believes cannot be told.
#[tokio::test]
async fn duplicate_content_types_are_refused() {
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CONTENT_LENGTH, 2)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        status(app(ContentTypeLayer::json()), request).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn json_bodies_pass() {
    for ct in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=\"UTF-8\"",
    ] {
        let got = status(
            app(ContentTypeLayer::json()),
            request(Method::POST, Some(ct), "{}"),
        )
        .await;
        assert_eq!(got, StatusCode::OK, "{ct}");
    }
    let structured = ContentTypeLayer::json().structured_syntax();
    for ct in ["application/merge-patch+json", "application/json"] {
        let got = status(app(structured), request(Method::POST, Some(ct), "{}")).await;
        assert_eq!(got, StatusCode::OK, "{ct}");
    }
    for ct in ["application/+json", "text/x+json", "application/a b+json"] {
        let got = status(app(structured), request(Method::POST, Some(ct), "{}")).await;
        assert_eq!(got, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
}

/// Safe methods and requests without a body pass whatever they declare.
#[tokio::test]
async fn safe_methods_and_empty_bodies_pass() {
    let page = Request::get("/page")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        status(app(ContentTypeLayer::json()), page).await,
        StatusCode::OK
    );
    for ct in [None, Some("text/plain")] {
        let got = status(app(ContentTypeLayer::json()), request(Method::POST, ct, "")).await;
        assert_eq!(got, StatusCode::OK, "{ct:?}");
    }
}
