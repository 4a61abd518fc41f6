//! The peer of the full stack: the same route behind what a team assembles today from the
//! crates palisade wraps, each used the way its documentation shows. tower-http's request id
//! layers (`MakeRequestUuid`, the client's id kept as the server's), `TraceLayer` as the request
//! log, `SetResponseHeaderLayer` for each security header, `CatchPanicLayer`, the full stack's
//! CORS settings, and three `axum::middleware::from_fn` functions: governor's keyed limiter by
//! the peer address (`ConnectInfo`), `jsonwebtoken::decode` of the bearer token into the
//! application's claims, governor again by the token's subject; a fourth checks the scope
//! around the route, and the body limit is innermost.
//!
//! It does less than the full stack: no client-address resolution behind proxies, no client id
//! kept apart from the server's, no redaction of the logged path, no sanitized errors, no audit
//! events, no `RateLimit` fields, no memory of verified tokens. What it shows is what the same
//! kinds of layers cost when built from the ecosystem's parts, and how much of that is the
//! token's verification (`jsonwebtoken_only` in the bench).

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
};

use axum::{
    Extension, Router,
    extract::{ConnectInfo, Request, State},
    middleware::{Next, from_fn, from_fn_with_state},
    response::{IntoResponse as _, Response},
    routing::get,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::{HeaderName, HeaderValue, StatusCode, header};
use jsonwebtoken::{DecodingKey, Validation};
use palisade_http::tower_http::{
    catch_panic::CatchPanicLayer,
    cors::CorsLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use serde::Deserialize;
use tower::ServiceBuilder;

/// The claims the application reads, as a `serde` struct.
#[derive(Clone, Deserialize)]
pub(crate) struct AppClaims {
    pub(crate) sub: String,
    pub(crate) scope: String,
}

/// The HS256 key and the checks `jsonwebtoken` verifies a token with: the bench's secret,
/// audience `bench`, `exp` required (its default).
#[derive(Clone)]
pub(crate) struct Jwt {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl Jwt {
    pub(crate) fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["bench"]);
        Self {
            key: Arc::new(DecodingKey::from_secret(secret)),
            validation: Arc::new(validation),
        }
    }

    /// The token's claims, if it verifies.
    pub(crate) fn verify(&self, token: &str) -> Option<AppClaims> {
        jsonwebtoken::decode::<AppClaims>(token, &self.key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// A limit no request here reaches, as the full stack's policies.
fn limiter<K: std::hash::Hash + Eq + Clone>() -> Arc<DefaultKeyedRateLimiter<K>> {
    let burst = NonZeroU32::new(1_000_000_000).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_second(burst)))
}

async fn per_ip(
    State(limiter): State<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.check_key(&peer.ip()).is_err() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    next.run(request).await
}

async fn bearer(State(jwt): State<Jwt>, mut request: Request, next: Next) -> Response {
    let claims = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| jwt.verify(token));
    let Some(claims) = claims else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    request.extensions_mut().insert(claims);
    next.run(request).await
}

async fn per_user(
    State(limiter): State<Arc<DefaultKeyedRateLimiter<String>>>,
    Extension(claims): Extension<AppClaims>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.check_key(&claims.sub).is_err() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    next.run(request).await
}

async fn needs_profile(
    Extension(claims): Extension<AppClaims>,
    request: Request,
    next: Next,
) -> Response {
    if !claims.scope.split(' ').any(|scope| scope == "profile") {
        return StatusCode::FORBIDDEN.into_response();
    }
    next.run(request).await
}

/// The full stack's `Permissions-Policy` (`SecurityHeaders::api`).
const PERMISSIONS_NONE: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     publickey-credentials-get=(), usb=(), xr-spatial-tracking=()";

/// A response header set unless the handler set its own, as the full stack's security headers.
fn security_header(name: &'static str, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// The route `handler` serves behind the hand-glued stack, outermost layer first.
pub(crate) fn stack(jwt: Jwt, cors: CorsLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(_claims): Extension<AppClaims>| super::me()),
        )
        .route_layer(from_fn(needs_profile))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(TraceLayer::new_for_http())
                .layer(security_header(
                    "content-security-policy",
                    "default-src 'none'; frame-ancestors 'none'",
                ))
                .layer(security_header("x-content-type-options", "nosniff"))
                .layer(security_header("x-frame-options", "DENY"))
                .layer(security_header("referrer-policy", "no-referrer"))
                .layer(security_header("permissions-policy", PERMISSIONS_NONE))
                .layer(security_header("cross-origin-opener-policy", "same-origin"))
                .layer(CatchPanicLayer::new())
                .layer(from_fn_with_state(limiter::<IpAddr>(), per_ip))
                .layer(cors)
                .layer(from_fn_with_state(jwt, bearer))
                .layer(from_fn_with_state(limiter::<String>(), per_user))
                // Innermost: `from_fn` middleware takes axum's own body type, which the limit
                // replaces with its `Limited` one.
                .layer(RequestBodyLimitLayer::new(64 * 1024)),
        )
}
