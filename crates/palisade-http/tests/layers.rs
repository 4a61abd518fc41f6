//! The layers that need no keys: security headers, error sanitization, request logs, audit.

mod common;

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
};

use axum::{Router, body::Body, routing::get};
use common::{body_text, capture_log, get as get_req};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use palisade_audit::{Event, Outcome};
use palisade_http::{
    AuditLayer, ClientIpLayer, ClientRequestIdLayer, Https, PeerAddr, RequestLogLayer,
    RequestUuids, SanitizeErrorsLayer, SecurityEvent, SecurityHeaders, SecurityHeadersLayer,
    TrustedProxy, catch_panic,
    tower_http::{
        cors::{AllowOrigin, CorsLayer},
        limit::RequestBodyLimitLayer,
        request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    },
};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const LEAKY: &str = "query failed: password=hunter2 on postgres://app:s3cr3tpw@db:5432/main";

fn routes() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, LEAKY) }),
        )
        .route(
            "/unavailable",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "30")],
                    "replica lag on db-7",
                )
            }),
        )
        .route(
            "/panic",
            get(|| async {
                panic!("invariant broken: api_key=sk_live_51Habcdefghijklmnopqrstuv");
                #[allow(unreachable_code)]
                "never"
            }),
        )
        .route(
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
        )
        .route(
            "/framed",
            get(|| async { ([(header::X_FRAME_OPTIONS, "SAMEORIGIN")], "framed") }),
        )
        .route(
            "/login",
            axum::routing::post(|| async {
                let mut response = Response::new(Body::from("no"));
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                response.extensions_mut().insert(
                    SecurityEvent::new("auth.login", Outcome::Failure)
                        .reason("bad_password")
                        .field("factor", "password")
                        .actor("user:42"),
                );
                response
            }),
        )
        .route(
            "/upload",
            axum::routing::post(|body: axum::body::Bytes| async move {
                format!("{} bytes", body.len())
            }),
        )
}

/// The step-1 stack in the documented order.
fn app(headers: SecurityHeaders, events: Arc<Mutex<Vec<Event>>>) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(
            "https://app.example",
        )]))
        .allow_methods([Method::GET, Method::POST]);
    routes().layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(RequestUuids::new()))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(RequestLogLayer::new().log_headers(true))
            .layer(SecurityHeadersLayer::new(headers))
            .layer(SanitizeErrorsLayer::new())
            .layer(catch_panic())
            .layer(AuditLayer::new(move |event: Event| {
                events.lock().unwrap().push(event);
            }))
            .layer(cors)
            .layer(RequestBodyLimitLayer::new(16)),
    )
}

fn default_app() -> Router {
    app(SecurityHeaders::api(), Arc::default())
}

const EXPECTED: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=()"),
];

fn assert_security_headers<B>(response: &Response<B>, what: &str) {
    for (name, value) in EXPECTED {
        let got = response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap();
        assert!(got.contains(value), "{what}: {name}: {got}");
    }
}

#[tokio::test]
async fn security_headers_on_every_response_including_errors() {
    let (_capture, _guard) = capture_log();
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/ok")
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let too_big = Request::builder()
        .method(Method::POST)
        .uri("/upload")
        .header(header::CONTENT_LENGTH, "64")
        .body(Body::from(vec![b'x'; 64]))
        .unwrap();
    let requests = [
        ("ok", get_req("/ok"), StatusCode::OK),
        ("500", get_req("/boom"), StatusCode::INTERNAL_SERVER_ERROR),
        (
            "panic",
            get_req("/panic"),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        ("404", get_req("/nowhere"), StatusCode::NOT_FOUND),
        ("418", get_req("/teapot"), StatusCode::IM_A_TEAPOT),
        ("405", get_req("/login"), StatusCode::METHOD_NOT_ALLOWED),
        ("preflight", preflight, StatusCode::OK),
        ("413", too_big, StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (what, request, status) in requests {
        let response = default_app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        assert_security_headers(&response, what);
        assert!(
            response
                .headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .is_none(),
            "{what}: HSTS over plain HTTP"
        );
    }
}

/// `default_app` behind a `ClientIpLayer` trusting the proxy network 10.0.0.0/8, the request
/// arriving from `peer`.
async fn through_client_ip(request: Request<Body>, peer: &str) -> Response<Body> {
    let resolver = palisade_ratelimit::client_ip::ClientIpResolver::new(
        ["10.0.0.0/8"],
        palisade_ratelimit::client_ip::ForwardedHeader::XForwardedFor,
    )
    .unwrap();
    let mut request = request;
    request
        .extensions_mut()
        .insert(PeerAddr(peer.parse().unwrap()));
    default_app()
        .layer(ClientIpLayer::new().resolver(resolver))
        .oneshot(request)
        .await
        .unwrap()
}

#[tokio::test]
async fn hsts_only_on_https() {
    let forwarded = || {
        Request::builder()
            .uri("/ok")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap()
    };
    let response = through_client_ip(forwarded(), "10.0.0.7:443").await;
    assert_eq!(
        response.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=63072000; includeSubDomains"
    );
    let standard = Request::builder()
        .uri("/boom")
        .header(
            header::FORWARDED,
            "for=192.0.2.60;proto=https;by=203.0.113.43",
        )
        .body(Body::empty())
        .unwrap();
    let response = through_client_ip(standard, "10.1.2.3:443").await;
    assert!(
        response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
    let https_uri = Request::builder()
        .uri("https://api.example/ok")
        .body(Body::empty())
        .unwrap();
    let response = default_app().oneshot(https_uri).await.unwrap();
    assert!(
        response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );

    let always = app(SecurityHeaders::api().https(Https::Always), Arc::default());
    let response = always.oneshot(get_req("/nowhere")).await.unwrap();
    assert!(
        response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );

    let never = app(SecurityHeaders::api().https(Https::Never), Arc::default());
    let forwarded = Request::builder()
        .uri("/ok")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let response = never.oneshot(forwarded).await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

/// `X-Forwarded-Proto` from a peer that is not a trusted proxy is the client's own claim: no
/// HSTS, with or without a `ClientIpLayer`, and a `TrustedProxy` extension the client could
/// not have set anyway is removed by the layer before it decides.
#[tokio::test]
async fn hsts_ignores_forwarded_proto_from_untrusted_peers() {
    let forged = || {
        Request::builder()
            .uri("/ok")
            .header("x-forwarded-proto", "https")
            .header(header::FORWARDED, "proto=https")
            .body(Body::empty())
            .unwrap()
    };
    let response = through_client_ip(forged(), "203.0.113.9:5000").await;
    assert!(
        !response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
    let response = default_app().oneshot(forged()).await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
    let mut planted = forged();
    planted.extensions_mut().insert(TrustedProxy);
    let response = through_client_ip(planted, "203.0.113.9:5000").await;
    assert!(
        !response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

#[tokio::test]
async fn presets_are_overridable_and_handlers_win_unless_overwriting() {
    let response = default_app().oneshot(get_req("/framed")).await.unwrap();
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "SAMEORIGIN");

    let strict = app(SecurityHeaders::api().overwrite(true), Arc::default());
    let response = strict.oneshot(get_req("/framed")).await.unwrap();
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");

    let custom = SecurityHeaders::web()
        .content_security_policy(Some(HeaderValue::from_static("default-src 'self'")))
        .permissions_policy(None)
        .referrer_policy(Some(HeaderValue::from_static("same-origin")))
        .header(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            Some(HeaderValue::from_static("same-origin")),
        );
    let response = app(custom, Arc::default())
        .oneshot(get_req("/ok"))
        .await
        .unwrap();
    let h = response.headers();
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
    assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    assert_eq!(h["cross-origin-resource-policy"], "same-origin");
    assert!(!h.contains_key("permissions-policy"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    let web = app(SecurityHeaders::web(), Arc::default())
        .oneshot(get_req("/ok"))
        .await
        .unwrap();
    let csp = web.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
}

async fn problem_of(response: Response<Body>) -> serde_json::Value {
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    serde_json::from_str(&body_text(response).await).unwrap()
}

#[tokio::test]
async fn server_errors_become_generic_problems_and_the_detail_is_logged_redacted() {
    let (capture, _guard) = capture_log();
    let response = default_app().oneshot(get_req("/boom")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = problem_of(response).await;
    assert_eq!(body["status"], 500);
    assert_eq!(body["title"], "Internal Server Error");
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["request_id"], id.as_str());
    let text = body.to_string();
    for leak in ["hunter2", "s3cr3tpw", "postgres", "query failed"] {
        assert!(!text.contains(leak), "body leaks {leak}: {text}");
    }
    let log = capture.text();
    assert!(log.contains("server error hidden from the client"), "{log}");
    assert!(log.contains(&id), "log lacks the request id: {log}");
    assert!(log.contains("query failed"), "log lacks the detail: {log}");
    for leak in ["hunter2", "s3cr3tpw"] {
        assert!(!log.contains(leak), "log leaks {leak}: {log}");
    }
}

#[tokio::test]
async fn panics_and_service_errors_are_sanitized_too() {
    let (capture, _guard) = capture_log();
    let response = default_app().oneshot(get_req("/panic")).await.unwrap();
    let body = problem_of(response).await;
    assert_eq!(body["status"], 500);
    assert!(!body.to_string().contains("sk_live"), "{body}");
    let log = capture.text();
    assert!(log.contains("invariant broken"), "{log}");
    assert!(!log.contains("sk_live_51H"), "{log}");

    // A plain tower service whose future fails.
    let failing = service_fn(|_: Request<Body>| async {
        Err::<Response<Body>, std::io::Error>(std::io::Error::other(
            "connect failed: token=ghp_secretsecretsecret",
        ))
    });
    let service = ServiceBuilder::new()
        .layer(SanitizeErrorsLayer::new())
        .service(failing);
    let response = service
        .oneshot(
            Request::builder()
                .uri("/x")
                .header("x-request-id", "req-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = body_text(response).await;
    assert!(text.contains("\"request_id\":\"req-1\""), "{text}");
    assert!(
        !text.contains("ghp_") && !text.contains("connect failed"),
        "{text}"
    );
    let log = capture.text();
    assert!(log.contains("connect failed"), "{log}");
    assert!(!log.contains("ghp_secretsecretsecret"), "{log}");
}

#[tokio::test]
async fn server_errors_keep_status_and_retry_after_client_errors_are_untouched() {
    let response = default_app()
        .oneshot(get_req("/unavailable"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "30");
    let body = problem_of(response).await;
    // The whole detail: a random request id in the body may contain "db-7" by chance.
    assert!(!body.to_string().contains("replica lag"), "{body}");

    let response = default_app().oneshot(get_req("/teapot")).await.unwrap();
    assert_eq!(body_text(response).await, "short and stout");
}

#[tokio::test]
async fn request_log_redacts_query_and_headers() {
    let (capture, _guard) = capture_log();
    let mut request = Request::builder()
        .uri(
            "/ok?page=2&access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
        )
        .header(header::AUTHORIZATION, "Bearer abc.def.ghi-very-secret")
        .header(header::COOKIE, "session=s3ss10nvalue")
        .header("x-api-key", "k3yvalue")
        .header(header::USER_AGENT, "curl/8")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("192.0.2.7:4444".parse().unwrap()));
    let response = default_app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let log = capture.text();
    let line = log
        .lines()
        .find(|l| l.contains("palisade_http::request"))
        .unwrap_or_else(|| panic!("no request line: {log}"));
    for expected in [
        "method=GET",
        "page=2",
        "status=200",
        "latency_us=",
        "request_id=",
        "client=\"192.0.2.7\"",
        "curl/8",
    ] {
        assert!(line.contains(expected), "missing {expected}: {line}");
    }
    for leak in ["eyJzdWIiOiIxIn0", "very-secret", "s3ss10nvalue", "k3yvalue"] {
        assert!(!log.contains(leak), "log leaks {leak}: {log}");
    }
}

/// A request log event leaves out what the request does not have: no `client_request_id`
/// without a client's own id, no `headers` unless asked for, no `client` without an address.
/// What it has is written as before.
#[tokio::test]
async fn request_log_leaves_out_what_the_request_does_not_have() {
    let (capture, _guard) = capture_log();
    let app = routes().layer(
        ServiceBuilder::new()
            .layer(ClientRequestIdLayer::new())
            .layer(SetRequestIdLayer::x_request_id(RequestUuids::new()))
            .layer(RequestLogLayer::new()),
    );
    let response = app.clone().oneshot(get_req("/ok")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut request = Request::builder()
        .uri("/ok")
        .header("x-request-id", "client-chosen-7")
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr("192.0.2.9:4444".parse().unwrap()));
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let log = capture.text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("palisade_http::request"))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    let (bare, full) = (lines[0], lines[1]);
    for present in [
        "method=GET",
        "path=/ok",
        "status=200",
        "latency_us=",
        "request_id=\"",
    ] {
        assert!(bare.contains(present), "missing {present}: {bare}");
        assert!(full.contains(present), "missing {present}: {full}");
    }
    for absent in ["client_request_id=", "client=", "headers=", "\"-\""] {
        assert!(!bare.contains(absent), "{absent} written: {bare}");
    }
    assert!(
        full.contains("client_request_id=\"client-chosen-7\""),
        "{full}"
    );
    assert!(full.contains("client=\"192.0.2.9\""), "{full}");
    assert!(!full.contains("headers="), "{full}");
}

#[tokio::test]
async fn audit_records_refusals_and_reported_events() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login?password=hunter2")
        .header("x-request-id", "req-login-1")
        .body(Body::empty())
        .unwrap();
    let response = app(SecurityHeaders::api(), events.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Ordinary responses are not audited.
    app(SecurityHeaders::api(), events.clone())
        .oneshot(get_req("/ok"))
        .await
        .unwrap();
    let recorded = events.lock().unwrap().clone();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let expected = Event::new("auth.login")
        .outcome(Outcome::Failure)
        .target("POST /login")
        .field("status", 401)
        .field("reason", "bad_password")
        .field("factor", "password")
        .actor("user:42")
        .request_id("req-login-1");
    assert_eq!(recorded[0], expected);
}

#[tokio::test]
async fn audit_writes_to_a_real_log() {
    use palisade_audit::AuditLog;
    let dir = std::env::temp_dir().join(format!("palisade-http-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The verifier bundle is not needed here: this test only reads the records back.
    let log = AuditLog::builder(&dir).create_with(|_| Ok(())).unwrap();
    let sink = Arc::new(Mutex::new(log));
    let forbidden = service_fn(|_: Request<Body>| async {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FORBIDDEN;
        Ok::<_, Infallible>(response)
    });
    let service = ServiceBuilder::new()
        .layer(AuditLayer::from_arc(sink.clone()))
        .service(forbidden);
    let mut request = get_req("/admin");
    request
        .extensions_mut()
        .insert(PeerAddr("198.51.100.4:1".parse().unwrap()));
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    sink.lock().unwrap().flush().unwrap();
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            text.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(text.contains("\"action\":\"http.forbidden\""), "{text}");
    assert!(text.contains("\"outcome\":\"denied\""), "{text}");
    assert!(text.contains("198.51.100.4"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
