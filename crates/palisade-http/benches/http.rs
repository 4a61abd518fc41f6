//! An authenticated GET through palisade's full layer stack against the same axum handler with
//! no layers, in process (`tower::ServiceExt::oneshot`, no sockets).

use std::hint::black_box;

use axum::{Router, body::Body, routing::get};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderValue, Method, Request};
use palisade_http::{
    AuditLayer, RequestLogLayer, SanitizeErrorsLayer, SecurityHeaders, SecurityHeadersLayer,
    catch_panic,
    tower_http::{
        cors::{AllowOrigin, CorsLayer},
        limit::RequestBodyLimitLayer,
        request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    },
};
use tower::{ServiceBuilder, ServiceExt};

async fn me() -> &'static str {
    r#"{"id":"user-42","name":"Alice"}"#
}

fn bare() -> Router {
    Router::new().route("/me", get(me))
}

fn full() -> Router {
    bare().layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(RequestLogLayer::new())
            .layer(SecurityHeadersLayer::new(SecurityHeaders::api()))
            .layer(SanitizeErrorsLayer::new())
            .layer(catch_panic())
            .layer(AuditLayer::new(|_event| {}))
            .layer(
                CorsLayer::new()
                    .allow_origin(AllowOrigin::list([HeaderValue::from_static(
                        "https://app.example",
                    )]))
                    .allow_methods([Method::GET]),
            )
            .layer(RequestBodyLimitLayer::new(64 * 1024)),
    )
}

fn request() -> Request<Body> {
    Request::builder()
        .uri("/me?page=1")
        .header("user-agent", "bench/1")
        .body(Body::empty())
        .expect("static request parts are valid")
}

fn authenticated_get(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    let mut group = c.benchmark_group("http/authenticated_get");
    group.throughput(Throughput::Elements(1));
    let stack = full();
    group.bench_function("palisade", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = stack.clone().oneshot(request()).await;
            black_box(response.expect("the stack never fails"))
        });
    });
    let handler = bare();
    group.bench_function("axum_bare", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = handler.clone().oneshot(request()).await;
            black_box(response.expect("the router never fails"))
        });
    });
    group.finish();
}

criterion_group!(benches, authenticated_get);
criterion_main!(benches);
