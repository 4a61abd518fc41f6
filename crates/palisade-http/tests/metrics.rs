//! The `metrics` feature: `palisade_http_refusals_total{layer, reason}` after each refusal the
//! layers make, `palisade_http_server_errors_total{source}`, and a bounded number of series
//! under hostile input (thousands of distinct paths, tokens, addresses, origins and reasons).
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    borrow::Cow,
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    routing::{get, post},
};
use http::{HeaderMap, Method, Request, StatusCode, header, uri::Authority};
use palisade_http::{
    Authorized, BearerLayer, ClientIpLayer, ContentTypeLayer, CsrfCheck, CsrfLayer,
    HttpsRedirectLayer, PeerAddr, RateLimitLayer, RateLimiter, Rejection, RequireLayer,
    SanitizeErrorsLayer, TokenVerifier, Verdict,
};
use palisade_testkit::metrics::{Series, assert_bounded, counter};
use tower::{Layer as _, ServiceBuilder, ServiceExt as _};

/// Every `palisade_http_` series recorded while `f` ran on a current-thread runtime on this
/// thread. Other crates' series (recorded by a build with every feature) are left out: their
/// own tests bound them.
fn capture<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Series {
    let mut series = palisade_testkit::metrics::capture(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    });
    series.retain(|name, _| name.starts_with("palisade_http_"));
    series
}

fn refusals(series: &Series, layer: &str, reason: &str) -> u64 {
    counter(
        series,
        &format!("palisade_http_refusals_total{{layer={layer},reason={reason}}}"),
    )
}

#[derive(Debug, Clone)]
struct Claims {
    scopes: Vec<String>,
}

impl Authorized for Claims {
    fn subject(&self) -> Option<&str> {
        Some("alice")
    }
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
    fn has_role(&self, _: &str) -> bool {
        false
    }
}

/// Accepts `ok.<scope>`; `down.*` is a revocation store outage; anything else is refused
/// with a kind that repeats the token (as a careless verifier might).
struct Verifier;

impl TokenVerifier for Verifier {
    type Claims = Claims;

    async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        match token.split_once('.') {
            Some(("ok", scope)) => Ok(Claims {
                scopes: vec![scope.to_owned()],
            }),
            Some(("down", _)) => Err(Rejection::new("revocation_unavailable")),
            _ => Err(Rejection::new(format!("bad token {token}"))),
        }
    }
}

fn bearer_app() -> Router {
    let admin = Router::new()
        .route("/admin", get(|| async { "admin" }))
        .route_layer(RequireLayer::<Claims>::new(["admin"], ["root"]));
    Router::new()
        .route("/me", get(|| async { "me" }))
        .merge(admin)
        .layer(BearerLayer::new(Verifier))
}

fn with_auth(uri: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().uri(uri);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::empty()).unwrap()
}

async fn status(app: &Router, request: Request<Body>) -> StatusCode {
    app.clone().oneshot(request).await.unwrap().status()
}

#[test]
fn bearer_and_require_refusals_are_counted_by_reason() {
    let series = capture(|| async {
        let app = bearer_app();
        let ok = StatusCode::OK;
        let unauthorized = StatusCode::UNAUTHORIZED;
        assert_eq!(
            status(&app, with_auth("/me", Some("Bearer ok.x"))).await,
            ok
        );
        assert_eq!(status(&app, with_auth("/me", None)).await, unauthorized);
        assert_eq!(
            status(&app, with_auth("/me", Some("Basic abc"))).await,
            unauthorized
        );
        assert_eq!(
            status(&app, with_auth("/me", Some("Bearer no.x"))).await,
            unauthorized
        );
        assert_eq!(
            status(&app, with_auth("/me", Some("Bearer no.y"))).await,
            unauthorized
        );
        assert_eq!(
            status(&app, with_auth("/me", Some("Bearer down.x"))).await,
            unauthorized
        );
        let admin = with_auth("/admin", Some("Bearer ok.reader"));
        assert_eq!(status(&app, admin).await, StatusCode::FORBIDDEN);
        // Without claims: the route is not behind the bearer layer.
        let bare = Router::new()
            .route("/admin", get(|| async { "admin" }))
            .route_layer(RequireLayer::<Claims>::scopes(["admin"]));
        assert_eq!(status(&bare, with_auth("/admin", None)).await, unauthorized);
    });
    assert_eq!(refusals(&series, "bearer", "missing"), 1);
    assert_eq!(refusals(&series, "bearer", "malformed"), 1);
    assert_eq!(refusals(&series, "bearer", "rejected"), 2);
    assert_eq!(refusals(&series, "bearer", "revocation_unavailable"), 1);
    assert_eq!(refusals(&series, "require", "missing_scope"), 1);
    assert_eq!(refusals(&series, "require", "no_claims"), 1);
    // An accepted request counts nothing.
    assert_eq!(series.len(), 6, "{series:#?}");
}

/// Cross-site per `Sec-Fetch-Site`, with the site's value as the reason for any other value
/// (free text, as a careless check might write); a token is valid for session `s` when it
/// is `s.ok`.
struct Check;

impl CsrfCheck for Check {
    fn check_origin(&self, _: &Method, headers: &HeaderMap) -> Result<(), Cow<'static, str>> {
        match headers.get("sec-fetch-site").map(|v| v.to_str().unwrap()) {
            None | Some("same-origin") => Ok(()),
            Some("cross-site") => Err("cross_site".into()),
            Some(other) => Err(format!("refused {other}").into()),
        }
    }
    fn verify_token(&self, session_id: &str, cookie: &str, submitted: &str) -> bool {
        cookie == submitted && submitted == format!("{session_id}.ok")
    }
}

fn csrf_app() -> Router {
    Router::new()
        .route("/transfer", post(|| async { "moved" }))
        .layer(CsrfLayer::new(Check, "session"))
}

fn transfer(cookies: &str, token: Option<&str>, site: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/transfer")
        .header(header::COOKIE, cookies);
    if let Some(token) = token {
        builder = builder.header("x-csrf-token", token);
    }
    if let Some(site) = site {
        builder = builder.header("sec-fetch-site", site);
    }
    builder.body(Body::empty()).unwrap()
}

#[test]
fn csrf_refusals_are_counted_by_reason() {
    let series = capture(|| async {
        let app = csrf_app();
        let both = "session=s; csrf_token=s.ok";
        let forbidden = StatusCode::FORBIDDEN;
        assert_eq!(
            status(&app, transfer(both, Some("s.ok"), None)).await,
            StatusCode::OK
        );
        let cross = transfer(both, Some("s.ok"), Some("cross-site"));
        assert_eq!(status(&app, cross).await, forbidden);
        let odd = transfer(both, Some("s.ok"), Some("same-site"));
        assert_eq!(status(&app, odd).await, forbidden);
        assert_eq!(status(&app, transfer(both, None, None)).await, forbidden);
        let stale = transfer("session=s; csrf_token=t.ok", Some("t.ok"), None);
        assert_eq!(status(&app, stale).await, forbidden);
        let no_cookie = transfer("session=s", Some("s.ok"), None);
        assert_eq!(status(&app, no_cookie).await, forbidden);
        let twice = transfer("session=s; session=t", Some("s.ok"), None);
        assert_eq!(status(&app, twice).await, forbidden);
    });
    assert_eq!(refusals(&series, "csrf", "cross_site"), 1);
    assert_eq!(refusals(&series, "csrf", "origin_refused"), 1);
    assert_eq!(refusals(&series, "csrf", "missing_token"), 1);
    assert_eq!(refusals(&series, "csrf", "bad_token"), 1);
    assert_eq!(refusals(&series, "csrf", "missing_token_cookie"), 1);
    assert_eq!(refusals(&series, "csrf", "ambiguous_session_cookie"), 1);
    assert_eq!(series.len(), 6, "{series:#?}");
}

/// Allows the first `limit` requests in all, then refuses.
struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl RateLimiter for Budget {
    async fn check(&self, _key: &str) -> Verdict {
        if self.used.fetch_add(1, Ordering::Relaxed) < self.limit {
            Verdict::allow(Vec::new())
        } else {
            Verdict::deny(Vec::new(), Duration::from_secs(1))
        }
    }
}

fn rate_app(limit: u64) -> Router {
    Router::new().route("/", get(|| async { "ok" })).layer(
        ServiceBuilder::new().layer(ClientIpLayer::new()).layer(
            RateLimitLayer::new(Budget {
                limit,
                used: AtomicU64::new(0),
            })
            .name("per-client"),
        ),
    )
}

fn from(peer: &str, path: &str) -> Request<Body> {
    let mut request = Request::builder().uri(path).body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
    request
}

#[test]
fn rate_limit_content_type_redirect_and_hidden_errors_are_counted() {
    let series = capture(|| async {
        let app = rate_app(1);
        assert_eq!(status(&app, from("192.0.2.1:1", "/")).await, StatusCode::OK);
        let refused = from("192.0.2.1:1", "/");
        assert_eq!(status(&app, refused).await, StatusCode::TOO_MANY_REQUESTS);
        let no_peer = Request::builder().uri("/").body(Body::empty()).unwrap();
        assert_eq!(
            status(&app, no_peer).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );

        let json = Router::new()
            .route("/login", post(|| async { "in" }))
            .layer(ContentTypeLayer::json());
        let form = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, 3)
            .body(Body::from("a=b"))
            .unwrap();
        assert_eq!(
            status(&json, form).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );

        let redirect =
            Router::new()
                .route("/", get(|| async { "ok" }))
                .layer(HttpsRedirectLayer::new(Authority::from_static(
                    "example.com",
                )));
        let plain = Request::builder()
            .uri("http://example.com/")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            status(&redirect, plain).await,
            StatusCode::MOVED_PERMANENTLY
        );
        let secure = Request::builder()
            .uri("https://example.com/")
            .body(Body::empty())
            .unwrap();
        assert_eq!(status(&redirect, secure).await, StatusCode::OK);

        let failing = Router::new()
            .route(
                "/",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "db password hunter2") }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(SanitizeErrorsLayer::new());
        let response = failing
            .clone()
            .oneshot(from("192.0.2.1:1", "/"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            status(&failing, from("192.0.2.1:1", "/fine")).await,
            StatusCode::OK
        );
        let broken =
            SanitizeErrorsLayer::new().layer(tower::service_fn(|_: Request<Body>| async {
                Err::<http::Response<Body>, _>(std::io::Error::other("db password hunter2"))
            }));
        let response = broken.oneshot(from("192.0.2.1:1", "/")).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    });
    assert_eq!(refusals(&series, "rate_limit", "exceeded"), 1);
    assert_eq!(refusals(&series, "rate_limit", "no_client_address"), 1);
    assert_eq!(refusals(&series, "content_type", "not_json"), 1);
    assert_eq!(refusals(&series, "https_redirect", "plain_http"), 1);
    assert_eq!(
        counter(
            &series,
            "palisade_http_server_errors_total{source=response}"
        ),
        1
    );
    assert_eq!(
        counter(&series, "palisade_http_server_errors_total{source=error}"),
        1
    );
    assert_eq!(series.len(), 6, "{series:#?}");
}

/// Thousands of distinct paths, tokens, client addresses, origins and session cookies leave a
/// fixed set of series, none of whose labels carries any of them.
#[test]
fn hostile_input_leaves_series_bounded() {
    let series = capture(|| async {
        let bearer = bearer_app();
        let csrf = csrf_app();
        let rate = rate_app(0);
        for i in 0..2000 {
            let path = format!("/zzpath{i}");
            let _ = status(&bearer, with_auth(&path, None)).await;
            let token = format!("Bearer zztoken{i}");
            let _ = status(&bearer, with_auth(&path, Some(&token))).await;
            let scope = format!("Bearer ok.zzscope{i}");
            let _ = status(&bearer, with_auth("/admin", Some(&scope))).await;
            let _ = status(&bearer, with_auth(&path, Some(&format!("zz{i} x")))).await;
            let cookies = format!("session=zzs{i}; csrf_token=zzt{i}");
            let site = format!("zzsite{i}");
            let _ = status(&csrf, transfer(&cookies, Some("zz"), Some(&site))).await;
            let _ = status(&csrf, transfer(&cookies, Some(&format!("zz{i}")), None)).await;
            let peer = format!("198.51.{}.{}:{}", i / 256, i % 256, 1000 + i);
            let _ = status(&rate, from(&peer, &path)).await;
        }
    });
    // Every hostile value above carries "zz" or an address.
    assert_bounded(&series, "palisade_http_", 8, &["zz", "198.51"]);
    assert_eq!(refusals(&series, "bearer", "missing"), 2000);
    assert_eq!(refusals(&series, "bearer", "rejected"), 2000);
    assert_eq!(refusals(&series, "bearer", "malformed"), 2000);
    assert_eq!(refusals(&series, "require", "missing_scope"), 2000);
    assert_eq!(refusals(&series, "csrf", "origin_refused"), 2000);
    assert_eq!(refusals(&series, "csrf", "bad_token"), 2000);
    assert_eq!(refusals(&series, "rate_limit", "exceeded"), 2000);
}
