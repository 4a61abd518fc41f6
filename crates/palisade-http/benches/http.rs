//! An authenticated GET (an HS256 JWT through palisade-token) through palisade's full layer
//! stack against the same axum handler with no layers, in process (`tower::ServiceExt::oneshot`,
//! no sockets).

use std::{hint::black_box, sync::Arc, time::Duration};

use axum::{Extension, Router, body::Body, routing::get};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderValue, Method, Request};
use palisade_http::{
    AuditLayer, BearerLayer, ClientIpLayer, JwtVerifier, KeyBy, PeerAddr, PolicyLimiter,
    RateLimitLayer, RequestLogLayer, RequireLayer, SanitizeErrorsLayer, SecurityHeaders,
    SecurityHeadersLayer, catch_panic,
    tower_http::{
        cors::{AllowOrigin, CorsLayer},
        limit::RequestBodyLimitLayer,
        request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    },
};
use palisade_ratelimit::{MemoryBackend, Policy};
use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier};
use tower::{ServiceBuilder, ServiceExt};

const SECRET: &[u8] = b"bench secret for HS256, 32 bytes";

fn keys() -> Arc<KeySet> {
    let key = SigningKey::hmac(Algorithm::HS256, SECRET)
        .and_then(|k| k.with_kid("k1"))
        .expect("a 32-byte HS256 secret is valid");
    Arc::new(KeySet::single(key))
}

async fn me() -> &'static str {
    r#"{"id":"user-42","name":"Alice"}"#
}

fn bare() -> Router {
    Router::new().route("/me", get(me))
}

/// Every palisade layer, in the documented order, with limits no request here reaches.
fn full() -> Router {
    let limits = Arc::new(MemoryBackend::default());
    let per_ip = Policy::new("per-ip", 1_000_000_000, Duration::from_secs(1_000_000))
        .expect("a valid policy");
    let per_user = Policy::new("per-user", 1_000_000_000, Duration::from_secs(1_000_000))
        .expect("a valid policy");
    let verifier = Verifier::new(keys()).audience("bench");
    Router::new()
        .route("/me", get(|Extension(_claims): Extension<Claims>| me()))
        .route_layer(RequireLayer::<Claims>::scopes(["profile"]))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(ClientIpLayer::new())
                .layer(RequestLogLayer::new())
                .layer(SecurityHeadersLayer::new(SecurityHeaders::api()))
                .layer(SanitizeErrorsLayer::new())
                .layer(catch_panic())
                .layer(AuditLayer::new(|_event| {}))
                .layer(RateLimitLayer::new(PolicyLimiter::new(
                    limits.clone(),
                    per_ip,
                )))
                .layer(
                    CorsLayer::new()
                        .allow_origin(AllowOrigin::list([HeaderValue::from_static(
                            "https://app.example",
                        )]))
                        .allow_methods([Method::GET]),
                )
                .layer(RequestBodyLimitLayer::new(64 * 1024))
                .layer(BearerLayer::new(JwtVerifier::new(verifier)))
                .layer(
                    RateLimitLayer::new(PolicyLimiter::new(limits, per_user))
                        .key_by(KeyBy::UserOrClient),
                ),
        )
}

fn request(token: &str) -> Request<Body> {
    let mut request = Request::builder()
        .uri("/me?page=1")
        .header("user-agent", "bench/1")
        .header("authorization", token)
        .body(Body::empty())
        .expect("static request parts are valid");
    request
        .extensions_mut()
        .insert(PeerAddr(([203, 0, 113, 7], 50_000).into()));
    request
}

fn authenticated_get(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    let issuer = Issuer::new(keys())
        .expect("a signing key set")
        .audience("bench")
        .ttl(Duration::from_secs(3600))
        .expect("a valid ttl");
    let token = format!(
        "Bearer {}",
        issuer
            .issue(Claims::empty().subject("user-42").scope("profile"))
            .expect("claims sign")
    );
    let check = full();
    let response = runtime.block_on(check.oneshot(request(&token)));
    assert_eq!(
        response.expect("the stack never fails").status(),
        http::StatusCode::OK,
        "the full stack must authenticate the bench request"
    );
    let mut group = c.benchmark_group("http/authenticated_get");
    group.throughput(Throughput::Elements(1));
    let stack = full();
    group.bench_function("palisade", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = stack.clone().oneshot(request(&token)).await;
            black_box(response.expect("the stack never fails"))
        });
    });
    let handler = bare();
    group.bench_function("axum_bare", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = handler.clone().oneshot(request(&token)).await;
            black_box(response.expect("the router never fails"))
        });
    });
    group.finish();
}

criterion_group!(benches, authenticated_get);
criterion_main!(benches);
