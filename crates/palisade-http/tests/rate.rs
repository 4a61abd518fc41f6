//! The rate-limit layer with a counting limiter written for the tests (`ratelimit.rs` runs it
//! with palisade-ratelimit).

mod common;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Body, routing::get};
use common::body_text;
use http::{HeaderName, HeaderValue, Request, StatusCode, header};
use palisade_audit::Event;
use palisade_http::{
    AuditLayer, ClientIpLayer, KeyBy, PeerAddr, Principal, RateLimitLayer, RateLimiter, Verdict,
};
use tower::{ServiceBuilder, ServiceExt};

/// At most `limit` requests per key, forever.
#[derive(Default)]
struct Counting {
    limit: u64,
    seen: Mutex<HashMap<String, u64>>,
}

impl RateLimiter for Counting {
    async fn check(&self, key: &str) -> Verdict {
        let mut seen = self.seen.lock().unwrap();
        let used = seen.entry(key.to_owned()).or_default();
        *used += 1;
        let remaining = self.limit.saturating_sub(*used);
        let fields = vec![
            (
                HeaderName::from_static("ratelimit"),
                HeaderValue::from_str(&format!("\"default\";r={remaining};t=60")).unwrap(),
            ),
            (
                HeaderName::from_static("ratelimit-policy"),
                HeaderValue::from_str(&format!("\"default\";q={};w=60", self.limit)).unwrap(),
            ),
        ];
        if *used <= self.limit {
            Verdict::allow(fields)
        } else {
            Verdict::deny(fields, Duration::from_millis(59_001))
        }
    }
}

fn app(limiter: Arc<Counting>, key_by: KeyBy, events: Arc<Mutex<Vec<Event>>>) -> Router {
    Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(ClientIpLayer::new())
            .layer(AuditLayer::new(move |e| events.lock().unwrap().push(e)))
            .layer(
                RateLimitLayer::from_arc(limiter)
                    .key_by(key_by)
                    .name("per-client"),
            ),
    )
}

fn from(peer: &str, user: Option<&str>, forwarded_for: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri("/");
    if let Some(xff) = forwarded_for {
        builder = builder.header("x-forwarded-for", xff);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    if let Some(user) = user {
        request.extensions_mut().insert(Principal(Arc::from(user)));
    }
    request
}

#[tokio::test]
async fn over_the_limit_gets_429_with_fields_retry_after_and_a_problem() {
    let limiter = Arc::new(Counting {
        limit: 3,
        ..Counting::default()
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    for n in 0..3 {
        let response = app(limiter.clone(), KeyBy::Client, events.clone())
            .oneshot(from("192.0.2.1:1000", None, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["ratelimit"],
            format!("\"default\";r={};t=60", 2 - n).as_str()
        );
        assert_eq!(
            response.headers()["ratelimit-policy"],
            "\"default\";q=3;w=60"
        );
    }
    let response = app(limiter.clone(), KeyBy::Client, events.clone())
        .oneshot(from("192.0.2.1:1001", None, None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    assert_eq!(response.headers()["ratelimit"], "\"default\";r=0;t=60");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = body_text(response).await;
    assert!(body.contains("\"status\":429"), "{body}");
    let recorded = format!("{:?}", events.lock().unwrap());
    assert!(
        recorded.contains("ratelimit") && recorded.contains("192.0.2.1"),
        "{recorded}"
    );
    // Another client is unaffected.
    let response = app(limiter, KeyBy::Client, Arc::default())
        .oneshot(from("192.0.2.2:1000", None, None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn forged_forwarding_headers_do_not_make_a_new_client() {
    let limiter = Arc::new(Counting {
        limit: 1,
        ..Counting::default()
    });
    let first = app(limiter.clone(), KeyBy::Client, Arc::default())
        .oneshot(from("192.0.2.9:1", None, Some("198.51.100.1")))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = app(limiter, KeyBy::Client, Arc::default())
        .oneshot(from("192.0.2.9:2", None, Some("198.51.100.2")))
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn users_behind_one_address_are_counted_apart() {
    let limiter = Arc::new(Counting {
        limit: 1,
        ..Counting::default()
    });
    for user in ["alice", "bob"] {
        let response = app(limiter.clone(), KeyBy::UserOrClient, Arc::default())
            .oneshot(from("203.0.113.5:1", Some(user), None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{user}");
    }
    let response = app(limiter.clone(), KeyBy::UserOrClient, Arc::default())
        .oneshot(from("203.0.113.5:1", Some("alice"), None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let seen = limiter.seen.lock().unwrap();
    assert!(seen.contains_key("user:alice") && seen.contains_key("user:bob"));
}

#[tokio::test]
async fn no_client_address_is_refused_not_pooled() {
    let limiter = Arc::new(Counting {
        limit: 100,
        ..Counting::default()
    });
    let request = Request::builder().uri("/").body(Body::empty()).unwrap();
    let response = app(limiter.clone(), KeyBy::Client, Arc::default())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(limiter.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn per_user_only_leaves_anonymous_requests_uncounted() {
    let limiter = Arc::new(Counting {
        limit: 1,
        ..Counting::default()
    });
    // Anonymous requests (public paths) pass as often as they come, with no fields.
    for _ in 0..3 {
        let response = app(limiter.clone(), KeyBy::User, Arc::default())
            .oneshot(from("203.0.113.7:1", None, None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("ratelimit").is_none());
    }
    assert!(limiter.seen.lock().unwrap().is_empty());
    // A request without even an address is not this layer's to refuse either.
    let request = Request::builder().uri("/").body(Body::empty()).unwrap();
    let response = app(limiter.clone(), KeyBy::User, Arc::default())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Authenticated ones are counted per user.
    let alice = || from("203.0.113.7:1", Some("alice"), None);
    let app_ = || app(limiter.clone(), KeyBy::User, Arc::default());
    assert_eq!(
        app_().oneshot(alice()).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        app_().oneshot(alice()).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        limiter
            .seen
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        ["user:alice".to_owned()]
    );
}
