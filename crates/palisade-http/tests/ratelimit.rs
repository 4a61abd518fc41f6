//! Rate limits with palisade-ratelimit: the in-process backend, the trusted-proxy resolver and
//! per-user keys after JWT authentication.

mod common;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, body::Body, routing::get};
use common::body_text;
use http::{Request, StatusCode, header};
use palisade_http::{
    BearerLayer, ClientIpLayer, JwtVerifier, KeyBy, PeerAddr, PolicyLimiter, RateLimitLayer,
};
use palisade_ratelimit::{
    MemoryBackend, Policy,
    client_ip::{ClientIpResolver, ForwardedHeader},
};
use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier};
use tower::{ServiceBuilder, ServiceExt};

fn per_client(limit: u32) -> RateLimitLayer<PolicyLimiter<MemoryBackend>> {
    let policy = Policy::new("per-ip", limit, Duration::from_secs(60)).unwrap();
    RateLimitLayer::new(PolicyLimiter::new(
        Arc::new(MemoryBackend::default()),
        policy,
    ))
    .name("per-ip")
}

fn resolver() -> ClientIpResolver {
    ClientIpResolver::new(["10.0.0.0/8"], ForwardedHeader::XForwardedFor).unwrap()
}

fn app(limit: u32) -> Router {
    Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(ClientIpLayer::new().resolver(resolver()))
            .layer(per_client(limit)),
    )
}

fn from(peer: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri("/");
    if let Some(xff) = forwarded_for {
        builder = builder.header("x-forwarded-for", xff);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    request
}

#[tokio::test]
async fn the_limit_answers_429_with_ratelimit_fields_and_retry_after() {
    let app = app(2);
    for remaining in [1, 0] {
        let response = app
            .clone()
            .oneshot(from("192.0.2.1:1", None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let fields = response.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(fields.contains(&format!("r={remaining}")), "{fields}");
        assert!(
            response.headers()["ratelimit-policy"]
                .to_str()
                .unwrap()
                .contains("q=2")
        );
    }
    let response = app
        .clone()
        .oneshot(from("192.0.2.1:1", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(response.headers().contains_key("ratelimit"));
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(body_text(response).await.contains("\"status\":429"));
}

#[tokio::test]
async fn forged_forwarding_from_an_untrusted_peer_is_ignored() {
    let app = app(1);
    let first = app
        .clone()
        .oneshot(from("198.51.100.9:1", Some("1.1.1.1")))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = app
        .oneshot(from("198.51.100.9:2", Some("2.2.2.2")))
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_apart() {
    let app = app(1);
    for client in ["203.0.113.50", "203.0.113.51"] {
        // The client wrote the leftmost entry itself; the proxy appended the real address.
        let xff = format!("6.6.6.6, {client}");
        let response = app
            .clone()
            .oneshot(from("10.0.0.2:1", Some(&xff)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{client}");
    }
    let again = app
        .oneshot(from("10.0.0.2:1", Some("7.7.7.7, 203.0.113.50")))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ipv6_clients_share_their_prefix() {
    let app = app(1);
    let first = app
        .clone()
        .oneshot(from("[2001:db8:1:1ff::2]:1", None))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let neighbour = app
        .oneshot(from("[2001:db8:1:100::9]:1", None))
        .await
        .unwrap();
    assert_eq!(neighbour.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn authenticated_users_get_their_own_budget() {
    let keys = Arc::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, b"http layer test secret, 32 bytes")
            .unwrap()
            .with_kid("k1")
            .unwrap(),
    ));
    let issuer = Issuer::new(keys.clone()).unwrap();
    let verifier = Verifier::new(keys);
    let policy = Policy::new("per-user", 1, Duration::from_secs(60)).unwrap();
    let app = Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(ClientIpLayer::new())
            .layer(BearerLayer::new(JwtVerifier::new(verifier)))
            .layer(
                RateLimitLayer::new(PolicyLimiter::new(
                    Arc::new(MemoryBackend::default()),
                    policy,
                ))
                .key_by(KeyBy::UserOrClient),
            ),
    );
    let request = |user: &str| {
        let token = issuer.issue(Claims::empty().subject(user)).unwrap();
        let mut request = Request::builder()
            .uri("/")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(PeerAddr("203.0.113.5:1".parse().unwrap()));
        request
    };
    for user in ["alice", "bob"] {
        let response = app.clone().oneshot(request(user)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{user}");
    }
    let response = app.oneshot(request("alice")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn two_limits_both_report_their_fields() {
    let per_user = Policy::new("per-user", 5, Duration::from_secs(60)).unwrap();
    let app = Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new()
            .layer(ClientIpLayer::new())
            .layer(per_client(5))
            .layer(
                RateLimitLayer::new(PolicyLimiter::new(
                    Arc::new(MemoryBackend::default()),
                    per_user,
                ))
                .key_by(KeyBy::UserOrClient),
            ),
    );
    let response = app.oneshot(from("192.0.2.3:1", None)).await.unwrap();
    let policies: Vec<String> = response
        .headers()
        .get_all("ratelimit-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(policies.len(), 2, "{policies:?}");
    assert!(policies.iter().any(|p| p.contains("per-ip")));
    assert!(policies.iter().any(|p| p.contains("per-user")));
}
