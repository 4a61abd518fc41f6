//! Helpers shared by the integration tests: a tracing capture and small request builders.
#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use http::{Request, Response};
use http_body_util::BodyExt;
use palisade_testkit::log_capture::LogCapture;

/// Installs a subscriber for this thread (tests run on a current-thread runtime): everything
/// tracing writes while the guard lives is in the capture.
pub fn capture_log() -> (LogCapture, tracing::subscriber::DefaultGuard) {
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, guard)
}

pub fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

pub async fn body_text<B>(response: Response<B>) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
