//! The full stack's work without its layers: one handler that does, in order and with the same
//! crates, what the palisade layers do for the bench request when it is served. It makes and
//! sets the request id, records the client address, reads the clock for the log line, decides
//! both rate limits and writes their `RateLimit` fields, checks the bearer token (remembered or
//! verified each time, through the same verifier), puts the claims and the principal in the
//! request, checks the scope, and sets the six security headers and CORS's `Vary`.
//!
//! It is the floor under the layered stack for the question "how much of the overhead is token
//! verification": what is left when nothing is layered, nested or cloned per request. It skips
//! what only matters off the happy path (refusal bodies, sanitized errors, panics, audit
//! events) and what the stack does that a request without an `Origin` never uses.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Request, State},
    response::{IntoResponse as _, Response},
    routing::get,
};
use http::{HeaderName, HeaderValue, StatusCode, header};
use palisade_http::{
    Authorized as _, ClientIp, PeerAddr, Principal, RequestUuids, SharedClaimsVerifier,
    TokenVerifier as _, tower_http::request_id::MakeRequestId as _,
};
use palisade_ratelimit::{
    Decision, MemoryBackend, Policy,
    headers::{HeaderOptions, decision_fields},
};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// One rate limit: its policy, its fixed `RateLimit-Policy` value, and the `RateLimit` value's
/// fixed start.
struct Limit {
    policy: Policy,
    policy_field: HeaderValue,
    prefix: String,
}

impl Limit {
    /// The fields palisade-ratelimit writes for this policy, as `PolicyLimiter` precomputes
    /// them.
    fn new(policy: Policy) -> Self {
        let probe = Decision {
            allowed: true,
            limit: policy.limit(),
            remaining: 0,
            reset: Duration::ZERO,
            retry_after: None,
        };
        let fields = decision_fields(&policy, &probe, HeaderOptions::default());
        let field = |wanted: &str| {
            fields
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| value.clone())
                .expect("palisade-ratelimit writes both fields")
        };
        let policy_field = HeaderValue::from_str(&field("RateLimit-Policy")).expect("ASCII");
        let prefix = field("RateLimit")
            .strip_suffix("0;t=0")
            .expect("the remaining count and reset end the field")
            .to_owned();
        Self {
            policy,
            policy_field,
            prefix,
        }
    }

    /// Decides for `key` and appends both fields to `fields`; `false` when refused.
    fn check(
        &self,
        limits: &MemoryBackend,
        key: &str,
        fields: &mut Vec<(HeaderName, HeaderValue)>,
    ) -> bool {
        let decision = limits.check(key, &self.policy);
        let reset = decision.reset.as_secs() + u64::from(decision.reset.subsec_nanos() > 0);
        let mut value = [0u8; 128];
        let mut len = 0;
        for part in [
            self.prefix.as_bytes(),
            decimal(u64::from(decision.remaining), &mut [0; 20]),
            b";t=",
            decimal(reset, &mut [0; 20]),
        ] {
            value[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        fields.push((RATELIMIT_POLICY, self.policy_field.clone()));
        fields.push((
            RATELIMIT,
            HeaderValue::from_bytes(&value[..len]).expect("ASCII"),
        ));
        decision.allowed
    }
}

fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// What the handler needs, made once.
pub(crate) struct Work {
    uuids: RequestUuids,
    verifier: SharedClaimsVerifier,
    limits: MemoryBackend,
    per_ip: Limit,
    per_user: Limit,
    security: Vec<(HeaderName, HeaderValue)>,
    vary: HeaderValue,
}

/// The bench route with the full stack's work done by hand in its handler.
pub(crate) fn router(verifier: SharedClaimsVerifier, per_ip: Policy, per_user: Policy) -> Router {
    let work = Arc::new(Work {
        uuids: RequestUuids::new(),
        verifier,
        limits: MemoryBackend::default(),
        per_ip: Limit::new(per_ip),
        per_user: Limit::new(per_user),
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
    let mut fields = Vec::with_capacity(4);
    if !work
        .per_ip
        .check(&work.limits, &ip.to_string(), &mut fields)
    {
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
    if !work.per_user.check(&work.limits, &subject, &mut fields) {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let mut response = super::me().await.into_response();
    let headers = response.headers_mut();
    for (name, value) in &work.security {
        headers.insert(name, value.clone());
    }
    headers.insert(header::VARY, work.vary.clone());
    for (name, value) in fields {
        headers.append(name, value);
    }
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
