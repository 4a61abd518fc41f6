//! An authenticated GET (an HS256 JWT through palisade-token) through palisade's full layer
//! stack against the same axum handler with no layers, in process (`tower::ServiceExt::oneshot`,
//! no sockets), against the token verification alone, and against the peer stack a team glues
//! together from tower-http, governor and jsonwebtoken (`hand_glued`, `benches/hand_glued`) with
//! its own verification alone (`jsonwebtoken_only`). The full stack remembers the
//! tokens that passed (`JwtVerifier::remember_verified`), as a service whose clients reuse a
//! token for many requests would; `palisade_verify_each` is the same stack verifying every
//! token in full. `fused` and `fused_verify_each` do the full stack's work by hand in one
//! handler, with no layers (`benches/fused`): the floor under the layered stack.
//!
//! With the `metrics` feature, `http_metrics/*` measures the same stack with a recorder
//! installed against none.
//!
//! With `PALISADE_HTTP_COUNT=<n>` and `PALISADE_HTTP_STAGE=<stage>` set, the binary instead
//! sends `n` requests through one stack and exits, for instruction counts under
//! `valgrind --tool=callgrind` (see docs/benchmarks.md): the stages add the layers of the full
//! stack one group at a time, outermost first, so the differences are the groups' costs;
//! `hand_glued` and `verify_jsonwebtoken` count the peer stack and its verification;
//! `fused` and `fused_verify_each` count the full stack's work done by hand in one handler with
//! no layers (`benches/fused`).

use std::{hint::black_box, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Extension, Router, body::Body, extract::ConnectInfo, routing::get};
use criterion::{Criterion, Throughput};
use http::{HeaderValue, Method, Request};
use palisade_http::{
    AuditLayer, BearerLayer, ClientIpLayer, ClientRequestIdLayer, JwtVerifier, KeyBy, PeerAddr,
    PolicyLimiter, RateLimitLayer, RequestIdLayer, RequestLogLayer, RequestUuids, RequireLayer,
    SanitizeErrorsLayer, SecurityHeaders, SecurityHeadersLayer, SharedClaimsVerifier, catch_panic,
    tower_http::{
        cors::{AllowOrigin, CorsLayer},
        limit::RequestBodyLimitLayer,
        request_id::{MakeRequestId, MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    },
};
use palisade_ratelimit::{MemoryBackend, Policy};
use palisade_token::jwt::{
    Algorithm, CachedVerifier, Claims, Issuer, KeySet, SigningKey, Verifier,
};
use tower::{ServiceBuilder, ServiceExt};

mod fused;
mod hand_glued;

const SECRET: &[u8] = b"bench secret for HS256, 32 bytes";

/// The application claims `JwtVerifier::new` decodes.
type ClaimsMap = serde_json::Map<String, serde_json::Value>;

fn keys() -> Arc<KeySet> {
    let key = SigningKey::hmac(Algorithm::HS256, SECRET)
        .and_then(|k| k.with_kid("k1"))
        .expect("a 32-byte HS256 secret is valid");
    Arc::new(KeySet::single(key))
}

fn verifier() -> Verifier {
    Verifier::new(keys()).audience("bench")
}

/// How many verified tokens the stack remembers, and for how long.
const REMEMBERED: usize = 4096;
const REMEMBER_FOR: Duration = Duration::from_secs(60);

/// The bearer check: every token verified in full, or the verified ones remembered; the
/// claims shared into each request (`Arc<Claims>`), not copied.
fn jwt(remember: bool) -> SharedClaimsVerifier {
    let each = JwtVerifier::new(verifier());
    let jwt = if remember {
        each.remember_verified(REMEMBERED, REMEMBER_FOR)
            .expect("valid cache settings")
    } else {
        each
    };
    jwt.shared_claims()
}

async fn me() -> &'static str {
    r#"{"id":"user-42","name":"Alice"}"#
}

fn bare() -> Router {
    Router::new().route("/me", get(me))
}

/// A policy no request here reaches.
fn policy(name: &str) -> Policy {
    Policy::new(name, 1_000_000_000, Duration::from_secs(1_000_000)).expect("a valid policy")
}

fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(
            "https://app.example",
        )]))
        .allow_methods([Method::GET])
}

/// The handler with no authentication, behind `$layer`s (outermost first).
macro_rules! open {
    ($($layer:expr),* $(,)?) => {
        Router::new().route("/me", get(me)).layer(ServiceBuilder::new()$(.layer($layer))*)
    };
}

/// The handler behind the scope check, taking the shared claims as an application would.
fn guarded() -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(_claims): Extension<Arc<Claims>>| me()),
        )
        .route_layer(RequireLayer::<Arc<Claims>>::scopes(["profile"]))
}

/// Every palisade layer, in the documented order, with limits no request here reaches.
fn full(remember: bool) -> Router {
    let limits = Arc::new(MemoryBackend::default());
    guarded().layer(
        ServiceBuilder::new()
            .layer(RequestIdLayer::new())
            .layer(ClientIpLayer::new())
            .layer(RequestLogLayer::new())
            .layer(SecurityHeadersLayer::new(SecurityHeaders::api()))
            .layer(SanitizeErrorsLayer::new())
            .layer(catch_panic())
            .layer(AuditLayer::new(|_event| {}))
            .layer(RateLimitLayer::new(PolicyLimiter::new(
                limits.clone(),
                policy("per-ip"),
            )))
            .layer(cors())
            .layer(RequestBodyLimitLayer::new(64 * 1024))
            .layer(BearerLayer::new(jwt(remember)))
            .layer(
                RateLimitLayer::new(PolicyLimiter::new(limits, policy("per-user")))
                    .key_by(KeyBy::UserOrClient),
            ),
    )
}

/// The full stack's layers up to `stage`, outermost first: each stage adds a group.
fn stage(stage: &str) -> Router {
    let limits = Arc::new(MemoryBackend::default());
    let per_ip = || RateLimitLayer::new(PolicyLimiter::new(limits.clone(), policy("per-ip")));
    let ids = RequestIdLayer::new;
    let headers = || SecurityHeadersLayer::new(SecurityHeaders::api());
    let audit = || AuditLayer::new(|_event| {});
    match stage {
        "bare" => bare(),
        "ids" => open!(ids()),
        // What `RequestIdLayer` does, in the three layers it replaces.
        "ids_three_layers" => open!(
            ClientRequestIdLayer::new(),
            SetRequestIdLayer::x_request_id(RequestUuids::new()),
            PropagateRequestIdLayer::x_request_id(),
        ),
        "log" => open!(ids(), ClientIpLayer::new(), RequestLogLayer::new()),
        "errors" => open!(
            ids(),
            ClientIpLayer::new(),
            RequestLogLayer::new(),
            headers(),
            SanitizeErrorsLayer::new(),
            catch_panic(),
        ),
        "audit" => open!(
            ids(),
            ClientIpLayer::new(),
            RequestLogLayer::new(),
            headers(),
            SanitizeErrorsLayer::new(),
            catch_panic(),
            audit(),
        ),
        "per_ip" => open!(
            ids(),
            ClientIpLayer::new(),
            RequestLogLayer::new(),
            headers(),
            SanitizeErrorsLayer::new(),
            catch_panic(),
            audit(),
            per_ip(),
        ),
        "cors" => open!(
            ids(),
            ClientIpLayer::new(),
            RequestLogLayer::new(),
            headers(),
            SanitizeErrorsLayer::new(),
            catch_panic(),
            audit(),
            per_ip(),
            cors(),
            RequestBodyLimitLayer::new(64 * 1024),
        ),
        "bearer" => guarded().layer(
            ServiceBuilder::new()
                .layer(ids())
                .layer(ClientIpLayer::new())
                .layer(RequestLogLayer::new())
                .layer(headers())
                .layer(SanitizeErrorsLayer::new())
                .layer(catch_panic())
                .layer(audit())
                .layer(per_ip())
                .layer(cors())
                .layer(RequestBodyLimitLayer::new(64 * 1024))
                .layer(BearerLayer::new(jwt(true))),
        ),
        "full" => full(true),
        "full_verify_each" => full(false),
        // The same work done by hand in the handler, with no layers.
        "fused" => fused_stack(true),
        "fused_verify_each" => fused_stack(false),
        other => panic!(
            "unknown stage {other}: bare, ids, log, errors, audit, per_ip, cors, bearer, full, \
             full_verify_each, fused, fused_verify_each, verify, verify_remembered, hand_glued, \
             verify_jsonwebtoken"
        ),
    }
}

/// The full stack's work done by hand in the handler (`benches/fused`), with the same limits.
fn fused_stack(remember: bool) -> Router {
    fused::router(jwt(remember), policy("per-ip"), policy("per-user"))
}

/// The peer stack, with the same CORS settings as the full stack.
fn hand_glued_stack() -> Router {
    hand_glued::stack(hand_glued::Jwt::new(SECRET), cors())
}

/// The router as `axum::serve` runs it: `into_make_service` calls `with_state(())`, which
/// turns each handler and the layers around it into a service once. Without it, axum applies
/// every layer to the handler again on each request (`MethodEndpoint::BoxedHandler`), which a
/// served application never pays.
fn served(router: Router) -> Router {
    router.with_state(())
}

/// The bench request, from the client address palisade's layers read.
fn request(token: &str) -> Request<Body> {
    request_from(token, PeerAddr(([203, 0, 113, 7], 50_000).into()))
}

/// The same request for the hand-glued stack, its client address where axum's `ConnectInfo`
/// puts it.
fn peer_request(token: &str) -> Request<Body> {
    request_from(
        token,
        ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 50_000))),
    )
}

fn request_from<P: Clone + Send + Sync + 'static>(token: &str, peer: P) -> Request<Body> {
    let mut request = Request::builder()
        .uri("/me?page=1")
        .header("user-agent", "bench/1")
        .header("authorization", token)
        .body(Body::empty())
        .expect("static request parts are valid");
    request.extensions_mut().insert(peer);
    request
}

fn token() -> String {
    let issuer = Issuer::new(keys())
        .expect("a signing key set")
        .audience("bench")
        .ttl(Duration::from_secs(3600))
        .expect("a valid ttl");
    issuer
        .issue(Claims::empty().subject("user-42").scope("profile"))
        .expect("claims sign")
}

/// Sends `request` through `stack` and checks that it was served.
fn assert_serves(
    runtime: &tokio::runtime::Runtime,
    stack: &Router,
    request: Request<Body>,
    what: &str,
) {
    let response = runtime.block_on(stack.clone().oneshot(request));
    assert_eq!(
        response.expect("the stack never fails").status(),
        http::StatusCode::OK,
        "{what}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
}

fn authenticated_get(c: &mut Criterion) {
    let runtime = runtime();
    let jwt = token();
    let token = format!("Bearer {jwt}");
    assert_serves(
        &runtime,
        &served(full(true)),
        request(&token),
        "the full stack must authenticate the bench request",
    );
    let mut group = c.benchmark_group("http/authenticated_get");
    group.throughput(Throughput::Elements(1));
    for (name, remember) in [("palisade", true), ("palisade_verify_each", false)] {
        let stack = served(full(remember));
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = stack.clone().oneshot(request(&token)).await;
                black_box(response.expect("the stack never fails"))
            });
        });
    }
    // The same work done by hand in the handler, with no layers: the floor under the layered
    // stack.
    for (name, remember) in [("fused", true), ("fused_verify_each", false)] {
        let stack = fused_stack(remember);
        assert_serves(&runtime, &stack, request(&token), name);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = stack.clone().oneshot(request(&token)).await;
                black_box(response.expect("the router never fails"))
            });
        });
    }
    let handler = served(bare());
    group.bench_function("axum_bare", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = handler.clone().oneshot(request(&token)).await;
            black_box(response.expect("the router never fails"))
        });
    });
    // The part of the stack's cost that is the token's own: what is left when the layers are
    // free.
    let verify = verifier();
    group.bench_function("verify_only", |b| {
        b.iter(|| black_box(verify.verify::<ClaimsMap>(black_box(&jwt))).is_ok());
    });
    let remembered = remembering_verifier();
    group.bench_function("verify_remembered", |b| {
        b.iter(|| black_box(remembered.verify::<ClaimsMap>(black_box(&jwt))).is_ok());
    });
    let peer = served(hand_glued_stack());
    assert_serves(
        &runtime,
        &peer,
        peer_request(&token),
        "the hand-glued stack must authenticate the bench request",
    );
    group.bench_function("hand_glued", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = peer.clone().oneshot(peer_request(&token)).await;
            black_box(response.expect("the router never fails"))
        });
    });
    let peer_jwt = hand_glued::Jwt::new(SECRET);
    group.bench_function("jsonwebtoken_only", |b| {
        b.iter(|| black_box(peer_jwt.verify(black_box(&jwt))).is_some());
    });
    group.finish();
}

/// The full stack with a recorder installed (`metrics-util`'s debugging recorder, the atomic
/// storage `metrics-exporter-prometheus` uses), built under it as a service builds its stack
/// after installing its exporter, against the same stack with none: what counting costs a
/// served request. palisade-http itself counts only refusals; with the workspace's features
/// (as `cargo xtask bench` builds it), palisade-ratelimit counts both limiters' decisions and
/// palisade-token the verified tokens.
#[cfg(feature = "metrics")]
fn authenticated_get_metrics(c: &mut Criterion) {
    let runtime = runtime();
    let token = format!("Bearer {}", token());
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    for (group_name, remember) in [
        ("http_metrics/authenticated_get", true),
        ("http_metrics/authenticated_get_verify_each", false),
    ] {
        // Each stack's first request outside the group, under its own recorder or none: the
        // rate limiters take their handles at their first decision.
        let counted = metrics::with_local_recorder(&recorder, || served(full(remember)));
        metrics::with_local_recorder(&recorder, || {
            assert_serves(&runtime, &counted, request(&token), group_name);
        });
        let uncounted = served(full(remember));
        assert_serves(&runtime, &uncounted, request(&token), group_name);
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("palisade", |b| {
            metrics::with_local_recorder(&recorder, || {
                b.to_async(&runtime).iter(|| async {
                    let response = counted.clone().oneshot(request(&token)).await;
                    black_box(response.expect("the stack never fails"))
                });
            });
        });
        group.bench_function("no_recorder", |b| {
            b.to_async(&runtime).iter(|| async {
                let response = uncounted.clone().oneshot(request(&token)).await;
                black_box(response.expect("the stack never fails"))
            });
        });
        group.finish();
    }
}

/// Making a request id: palisade's per-thread generator against tower-http's `MakeRequestUuid`
/// (16 bytes from the OS per request).
fn request_ids(c: &mut Criterion) {
    let request = Request::new(());
    let mut group = c.benchmark_group("http/request_id");
    group.throughput(Throughput::Elements(1));
    let mut ours = RequestUuids::new();
    group.bench_function("palisade", |b| {
        b.iter(|| black_box(ours.make_request_id(black_box(&request))));
    });
    let mut tower = MakeRequestUuid;
    group.bench_function("tower_http_uuid", |b| {
        b.iter(|| black_box(tower.make_request_id(black_box(&request))));
    });
    group.finish();
}

/// A request through `RequestIdLayer` around the bare handler, against tower-http's two layers
/// as they come (`MakeRequestUuid`, a client's id kept as the server's) and against the three
/// layers `RequestIdLayer` replaces.
fn request_id_layers(c: &mut Criterion) {
    let runtime = runtime();
    let token = format!("Bearer {}", token());
    let mut group = c.benchmark_group("http/request_id_layers");
    group.throughput(Throughput::Elements(1));
    let tower_http = || {
        open!(
            SetRequestIdLayer::x_request_id(MakeRequestUuid),
            PropagateRequestIdLayer::x_request_id(),
        )
    };
    for (name, stack) in [
        ("palisade", stage("ids")),
        ("tower_http", tower_http()),
        ("three_layers", stage("ids_three_layers")),
    ] {
        let stack = served(stack);
        assert_serves(&runtime, &stack, request(&token), name);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = stack.clone().oneshot(request(&token)).await;
                black_box(response.expect("the stack never fails"))
            });
        });
    }
    group.finish();
}

fn remembering_verifier() -> CachedVerifier {
    CachedVerifier::new(verifier(), REMEMBERED, REMEMBER_FOR).expect("valid cache settings")
}

/// Sends `count` requests through the stack `stage` (or verifies `count` tokens).
fn count(stage_name: &str, count: usize) {
    let jwt = token();
    match stage_name {
        "verify" => {
            let verify = verifier();
            verify_repeatedly(&jwt, count, |t| {
                black_box(verify.verify::<ClaimsMap>(t)).is_ok()
            });
        }
        "verify_remembered" => {
            let verify = remembering_verifier();
            verify_repeatedly(&jwt, count, |t| {
                black_box(verify.verify::<ClaimsMap>(t)).is_ok()
            });
        }
        "verify_jsonwebtoken" => {
            let verify = hand_glued::Jwt::new(SECRET);
            verify_repeatedly(&jwt, count, |t| black_box(verify.verify(t)).is_some());
        }
        _ => send_stage(stage_name, &jwt, count),
    }
}

/// Verifies `jwt` `count` times with `verifies`, which must accept it each time.
fn verify_repeatedly(jwt: &str, count: usize, verifies: impl Fn(&str) -> bool) {
    for _ in 0..count {
        assert!(verifies(black_box(jwt)));
    }
}

/// Sends `count` requests with `jwt` through the stack `stage_name`.
fn send_stage(stage_name: &str, jwt: &str, count: usize) {
    let token = format!("Bearer {jwt}");
    if stage_name == "hand_glued" {
        send(hand_glued_stack(), count, || peer_request(&token));
    } else {
        send(stage(stage_name), count, || request(&token));
    }
}

/// Sends `count` requests made by `request` through `router`, each of which must be served.
fn send(router: Router, count: usize, request: impl Fn() -> Request<Body>) {
    let stack = served(router);
    runtime().block_on(async {
        for _ in 0..count {
            let response = stack.clone().oneshot(request()).await;
            assert_eq!(
                response.expect("the stack never fails").status(),
                http::StatusCode::OK
            );
        }
    });
}

fn main() {
    if let (Ok(stage), Ok(n)) = (
        std::env::var("PALISADE_HTTP_STAGE"),
        std::env::var("PALISADE_HTTP_COUNT"),
    ) {
        count(&stage, n.parse().expect("PALISADE_HTTP_COUNT is a number"));
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    authenticated_get(&mut criterion);
    #[cfg(feature = "metrics")]
    authenticated_get_metrics(&mut criterion);
    request_ids(&mut criterion);
    request_id_layers(&mut criterion);
    criterion.final_summary();
}
