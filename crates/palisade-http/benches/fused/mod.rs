//! The full stack's work without its layers: one handler that does, in order and with the same
//! crates, what the palisade layers do for the bench request when it is served. It makes and
//! sets the request id, records the client address, reads the clock for the log line, decides
//! both rate limits and writes their `RateLimit` fields (through the same `PolicyLimiter`s), checks the bearer token (remembered or
//! verified each time, through the same verifier), puts the claims and the principal in the
//! request, checks the scope, and sets the six security headers and CORS's `Vary`.
//!
//! It is the floor under the layered stack for the question "how much of the overhead is token
//! verification": what is left when nothing is layered, nested or cloned per request. It skips
//! what only matters off the happy path (refusal bodies, sanitized errors, panics, audit
//! events) and what the stack does that a request without an `Origin` never uses.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{Request, State},
    response::{IntoResponse as _, Response},
    routing::get,
};
use http::{HeaderName, HeaderValue, StatusCode, header};
use palisade_http::{
    Authorized as _, ClientIp, PeerAddr, PolicyLimiter, Principal, RateLimiter as _, RequestUuids,
    SharedClaimsVerifier, TokenVerifier as _, tower_http::request_id::MakeRequestId as _,
};
use palisade_ratelimit::{MemoryBackend, Policy};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the handler needs, made once.
pub(crate) struct Work {
    uuids: RequestUuids,
    verifier: SharedClaimsVerifier,
    /// Both limits on one `MemoryBackend`, deciding and writing their fields as
    /// `RateLimitLayer` has them do.
    per_ip: PolicyLimiter<MemoryBackend>,
    per_user: PolicyLimiter<MemoryBackend>,
    security: Vec<(HeaderName, HeaderValue)>,
    vary: HeaderValue,
}

/// The bench route with the full stack's work done by hand in its handler.
pub(crate) fn router(verifier: SharedClaimsVerifier, per_ip: Policy, per_user: Policy) -> Router {
    let limits = Arc::new(MemoryBackend::default());
    let work = Arc::new(Work {
        uuids: RequestUuids::new(),
        verifier,
        per_ip: PolicyLimiter::new(Arc::clone(&limits), per_ip),
        per_user: PolicyLimiter::new(limits, per_user),
        security: api_headers(),
        vary: HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    });
    Router::new().route("/me", get(serve)).with_state(work)
}

/// `SecurityHeaders::api()`'s six headers for a plain-HTTP request (HSTS is for HTTPS only).
fn api_headers() -> Vec<(HeaderName, HeaderValue)> {
    [
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "permissions-policy",
            "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), \
             gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
             publickey-credentials-get=(), usb=(), xr-spatial-tracking=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    .into_iter()
    .map(|(name, value)| {
        (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    })
    .collect()
}

async fn serve(State(work): State<Arc<Work>>, mut request: Request) -> Response {
    let start = Instant::now();
    let id = work
        .uuids
        .clone()
        .make_request_id(&request)
        .map(|id| id.header_value().clone());
    if let Some(id) = &id {
        request.headers_mut().insert(X_REQUEST_ID, id.clone());
    }
    let Some(ip) = request.extensions().get::<PeerAddr>().map(|p| p.0.ip()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    request.extensions_mut().insert(ClientIp(ip));
    let Some(per_ip) = work.per_ip.check_now(&ip.to_string()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !per_ip.is_allowed() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(Ok(claims)) = token.and_then(|t| work.verifier.verify_now(t)) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !claims.has_scope("profile") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let subject: Arc<str> = Arc::from(claims.subject().unwrap_or_default());
    request
        .extensions_mut()
        .insert(Principal(Arc::clone(&subject)));
    request.extensions_mut().insert(claims);
    let Some(per_user) = work.per_user.check_now(&subject) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !per_user.is_allowed() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let mut response = super::me().await.into_response();
    let headers = response.headers_mut();
    for (name, value) in &work.security {
        headers.insert(name, value.clone());
    }
    headers.insert(header::VARY, work.vary.clone());
    per_ip.append_fields(headers);
    per_user.append_fields(headers);
    if let Some(id) = id {
        headers.insert(X_REQUEST_ID, id);
    }
    tracing::info!(
        target: "palisade_http::request",
        method = %request.method(),
        path = request.uri().path(),
        status = response.status().as_u16(),
        elapsed_us = start.elapsed().as_micros() as u64,
        "request served",
    );
    response
}
