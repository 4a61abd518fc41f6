//! The handlers' state, the route table and the service: the routes behind their layers.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use palisade_audit::{AuditWriter, Event, Outcome, Queued};
use palisade_http::{
    AuditLayer, BearerLayer, ClientIp, ClientIpLayer, ContentTypeLayer, CsrfLayer, Https,
    HttpsRedirectLayer, PolicyLimiter, RateLimitLayer, RequestIdLayer, RequestLogLayer,
    RequireLayer, SanitizeErrorsLayer, SecurityEvent, SecurityHeaders, SecurityHeadersLayer,
    TokenCsrf, catch_panic, tower_http::limit::RequestBodyLimitLayer,
};
use palisade_password::PasswordPolicy;
use palisade_ratelimit::{
    client_ip::{ClientIpResolver, ClientKey},
    login::LoginThrottle,
    redis::{AnyLimiter, AnyLoginStore},
};
use palisade_token::{
    csrf::CsrfTokens, jwt::Claims, onetime::OneTimeTokens, refresh::RefreshTokens,
    revocation::RevocationList,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use tower::{
    Service, ServiceBuilder,
    util::{Either, future::EitherResponseFuture},
};

use crate::{
    config::Config,
    cors::ApiCorsLayer,
    crypto::FieldCrypto,
    db::Db,
    handlers,
    metrics::Metrics,
    problem::ApiError,
    token_store::{SqliteTokenStore, TokenStore},
};

/// The verified claims of an access token, put in the request's extensions by the bearer
/// layer: `sub` is the user id, `roles` the account's role, `fam` the refresh family.
pub type UserClaims = Claims<Map<String, Value>>;

/// The claims as the bearer layer puts them in a request's extensions: shared with the
/// verifier's remembered tokens, not copied (handlers take `Extension<SharedClaims>`).
pub type SharedClaims = Arc<UserClaims>;

/// The bearer layer's verifier: signature and claims under the current key set, then the
/// revocation list.
pub(crate) use crate::reload::AccessVerifier;

/// palisade-http's defences, built once from the configuration and secrets; [`service`]
/// clones them onto the routes.
#[derive(Debug, Clone)]
pub(crate) struct Defences {
    /// Bearer tokens: signature and claims, then the revocation list (which shares its store
    /// with [`AppState::revocation`], so a logout takes effect at once).
    pub(crate) bearer: BearerLayer<AccessVerifier>,
    /// The cookie refresh: Fetch Metadata or origin, then the signed double-submit token.
    pub(crate) csrf: CsrfLayer<TokenCsrf>,
    /// Requests per client address.
    pub(crate) per_client: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
    /// Requests per authenticated user.
    pub(crate) per_user: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
}

/// Everything the handlers share.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) db: Db,
    pub(crate) hasher: Arc<crate::reload::PepperedHasher>,
    pub(crate) policy: PasswordPolicy,
    /// The access-token issuer and verifier, swapped when the JWT key rotates.
    pub(crate) jwt: Arc<crate::reload::JwtKeys>,
    pub(crate) refresh: RefreshTokens<TokenStore>,
    pub(crate) revocation: RevocationList<TokenStore>,
    pub(crate) onetime: OneTimeTokens<TokenStore>,
    /// The token state in the database (purged of expired rows by the server's ticker), when
    /// Redis does not hold it.
    pub(crate) local_tokens: Option<SqliteTokenStore>,
    /// Reset requests per address and per client.
    pub(crate) reset_limits: handlers::reset::ResetLimits,
    /// Wakes the reset worker when a request is queued.
    pub(crate) reset_wakeup: tokio::sync::Notify,
    pub(crate) csrf: CsrfTokens,
    pub(crate) login_throttle: LoginThrottle<AnyLoginStore>,
    pub(crate) resolver: ClientIpResolver,
    /// The audit log's writer thread and bounded queue.
    pub(crate) audit: Arc<AuditWriter>,
    /// Records what the defences refused, repeated refusals folded per window; the ticker
    /// flushes its closed windows.
    pub(crate) audit_layer: AuditLayer,
    /// The shared Redis connection, when configured (for the readiness check).
    pub(crate) redis: Option<redis::aio::ConnectionManager>,
    /// The rate limiter both policies share (to tell a Redis outage from a flood).
    pub(crate) limiter: Arc<AnyLimiter>,
    /// The last readiness check of each backend.
    pub(crate) backends: handlers::health::Backends,
    pub(crate) metrics: Metrics,
    pub(crate) html: palisade_sanitize::html::Policy,
    pub(crate) crypto: FieldCrypto,
    pub(crate) defences: Defences,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) type Shared = State<Arc<AppState>>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Health probes: no token, no rate limit, no backend touched.
    Probe,
    /// No token (register, login, password reset).
    Public,
    /// No token, but the refresh cookie may authenticate it: CSRF-checked.
    Cookie,
    /// A valid bearer token.
    User,
    /// A valid bearer token with the `admin` role.
    Admin,
}

struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    handler: MethodRouter<Arc<AppState>>,
}

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        _ => MethodFilter::GET,
    }
}

/// Every route, in one table: the router, the bearer layer's public paths and the route
/// list `openapi.yaml` is checked against all come from it.
fn table() -> Vec<Route> {
    macro_rules! route {
        ($method:literal, $path:literal, $access:ident, $handler:expr) => {
            Route {
                method: $method,
                path: $path,
                access: Access::$access,
                handler: on(filter($method), $handler),
            }
        };
    }
    vec![
        route!(
            "POST",
            "/auth/register",
            Public,
            handlers::account::register
        ),
        route!("POST", "/auth/login", Public, handlers::session::login),
        route!("POST", "/auth/refresh", Cookie, handlers::session::refresh),
        route!("POST", "/auth/logout", User, handlers::session::logout),
        route!(
            "POST",
            "/auth/password-reset",
            Public,
            handlers::reset::reset_request
        ),
        route!(
            "POST",
            "/auth/password-reset/confirm",
            Public,
            handlers::reset::reset_confirm
        ),
        route!(
            "POST",
            "/auth/logout-all",
            User,
            handlers::password::logout_all
        ),
        route!(
            "POST",
            "/auth/password",
            User,
            handlers::password::change_password
        ),
        route!("GET", "/me", User, handlers::profile::get_me),
        route!("PUT", "/me", User, handlers::profile::put_me),
        route!("GET", "/admin/users", Admin, handlers::admin::admin_users),
        route!("GET", "/health/live", Probe, handlers::health::live),
        route!("GET", "/health/ready", Probe, handlers::health::ready),
        route!("GET", "/health", Probe, handlers::health::ready),
    ]
}

/// The (method, path, access) of every route the router serves.
pub fn routes() -> Vec<(&'static str, &'static str, Access)> {
    table()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect()
}

impl AppState {
    /// Queues an audit record for the writer thread; never waits. A record the full queue
    /// drops is counted (`secure_api_audit_dropped_total`) and the log gets an `audit.dropped`
    /// record with the count: the audit log is evidence, not a gate.
    pub(crate) fn audit(&self, event: Event) {
        let _: Queued = self.audit.record(event);
    }
}

/// The client key (IPv6 grouped by /56) login throttling counts against.
pub(crate) fn client_key(state: &AppState, client: Option<&ClientIp>) -> ClientKey {
    let ip = client.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
    state.resolver.key(ip)
}

/// Builds the service: the routes behind palisade-http's layers.
///
/// From the outside in: the client's own request id set aside; the server's request id; client
/// address (trusted proxies, which alone may claim HTTPS for HSTS); request log; counters;
/// security headers (so errors, preflights and 413s carry them); the bodies of 503s that name
/// an unavailable backend, restored after error sanitizing; error sanitizing around panics; the
/// HTTPS redirect when `https_redirect_host` is set (probes exempt); the audit layer (records
/// what every defence inside refused, repeated refusals folded into one record per client and
/// window). Then the probes
/// branch off; every other route has the per-client rate limit, CORS and the body limit; a
/// matched route then needs a bearer token unless public, is counted per user, must declare a
/// JSON body if it sends one, and the admin route needs the role; the cookie refresh is
/// CSRF-checked.
///
/// The layers wrap the routes' router directly, not an outer router holding them as its
/// fallback: such a router matched every request's path twice more and boxed its future once
/// more, for nothing hyper does not already do (the `Content-Length` of a sized body, no body
/// after `HEAD`).
pub fn service(
    state: Arc<AppState>,
) -> impl Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    let Defences {
        mut bearer,
        csrf,
        per_client,
        per_user,
    } = state.defences.clone();
    let config = &state.config;
    let admin = RequireLayer::<SharedClaims>::roles(["admin"]);
    let (mut api, mut probes, mut probe_paths) = (Router::new(), Router::new(), Vec::new());
    for route in table() {
        match route.access {
            Access::Probe => {
                probe_paths.push(route.path);
                probes = probes.route(route.path, route.handler);
            }
            Access::Public => {
                bearer = bearer.public_path(route.path);
                api = api.route(route.path, route.handler);
            }
            Access::Cookie => {
                bearer = bearer.public_path(route.path);
                api = api.route(route.path, route.handler.route_layer(csrf.clone()));
            }
            Access::User => api = api.route(route.path, route.handler),
            Access::Admin => {
                api = api.route(route.path, route.handler.route_layer(admin.clone()));
            }
        }
    }
    // `route_layer`: an unknown path is a 404 and a wrong method a 405, not a 401.
    // Every route with a body takes JSON: a form or text body (which a browser sends across
    // origins without a preflight) is refused with 415 before a handler parses it.
    let api = api
        .fallback(|| async { ApiError::NotFound })
        .route_layer(
            ServiceBuilder::new()
                .layer(bearer)
                .layer(per_user)
                .layer(ContentTypeLayer::json())
                .map_response(room_for_layer_headers),
        )
        .with_state(state.clone());
    // The groups below wrap whole routers, not each route: `Router::layer` boxes every route
    // again, and axum clones each box, with every box nested in it, per request. A router's
    // own clone is a reference count.
    let api = ServiceBuilder::new()
        .map_response(backend_refusal(state.clone()))
        .layer(per_client)
        .layer(ApiCorsLayer::new(config))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .service(api);
    // With TLS every request on the service's listener arrived over it: HSTS on each answer.
    let https = if config.tls_enabled() {
        Https::Always
    } else {
        Https::Detect
    };
    let headers = SecurityHeaders::api()
        .https(https)
        .header(
            header::CACHE_CONTROL,
            Some(HeaderValue::from_static("no-store")),
        )
        .header(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            Some(HeaderValue::from_static("same-origin")),
        );
    // With TLS the listener speaks nothing else; `http_redirect_listen` redirects plain HTTP.
    // Probes stay reachable over plain HTTP for a load balancer's health checks.
    let redirect = config
        .redirect_authority()
        .filter(|_| !config.tls_enabled())
        .map(|authority| {
            ServiceBuilder::new()
                // The same response type as without the redirect.
                .map_response(IntoResponse::into_response)
                .layer(
                    HttpsRedirectLayer::new(authority)
                        .exempt_path("/health")
                        .exempt_path("/health/live")
                        .exempt_path("/health/ready"),
                )
        });
    let (resolver, audit) = (state.resolver.clone(), state.audit_layer.clone());
    let routes = ProbesOr {
        paths: probe_paths.into(),
        probes: probes.with_state(state.clone()),
        api,
    };
    ServiceBuilder::new()
        // The server always chooses the request id; a client's own is kept apart.
        .layer(RequestIdLayer::new())
        .layer(
            ClientIpLayer::new()
                .resolver(resolver)
                .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)),
        )
        .layer(RequestLogLayer::new())
        .map_response(count(state))
        .layer(SecurityHeadersLayer::new(headers))
        .map_response(crate::problem::framework_errors_as_problems)
        .map_response(crate::problem::restore_public_body)
        .layer(SanitizeErrorsLayer::new())
        .layer(catch_panic())
        .option_layer(redirect)
        .layer(audit)
        .service(routes)
}

/// How many header fields an answer of a matched route leaves with: the handler's two
/// (`content-type`, `content-length`), the rate limits' two, CORS's two, the request id, the
/// security headers (eight, nine with HSTS).
const ANSWER_HEADERS: usize = 16;

/// Room for every header the layers add to a handler's answer on its way out, made while the
/// map holds the handler's few: one allocation, where adding them one by one grew the map
/// (reallocating and rehashing it) twice.
fn room_for_layer_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.reserve(ANSWER_HEADERS.saturating_sub(headers.len()));
    response
}

/// Sends a request for a probe's path to the probes' router and every other request, unknown
/// paths included, to the API's: the probes skip the API's layers (rate limit, CORS, body
/// limit). The paths compare as axum matches them: the request's path exactly, undecoded.
#[derive(Clone)]
struct ProbesOr<A> {
    paths: Arc<[&'static str]>,
    probes: Router,
    api: A,
}

impl<A> Service<Request> for ProbesOr<A>
where
    A: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EitherResponseFuture<<Router as Service<Request>>::Future, A::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A router is always ready.
        self.api.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let mut either: Either<&mut Router, &mut A> = if self.paths.contains(&request.uri().path())
        {
            Either::Left(&mut self.probes)
        } else {
            Either::Right(&mut self.api)
        };
        either.call(request)
    }
}

/// The same routes and handlers with no layer at all: no authentication, security headers,
/// request log, rate limit, CORS or body limit. Handlers behind the bearer layer read the
/// claims it would have inserted, so a caller must insert them. For measuring what the layers
/// cost; never serve this.
pub fn routes_only(state: Arc<AppState>) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler)
        })
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// The response counters of `GET /metrics`, and the refusals the layers reported.
fn count<B>(state: Arc<AppState>) -> impl Fn(Response<B>) -> Response + Clone
where
    Response<B>: IntoResponse,
{
    move |response| {
        let response = response.into_response();
        state.metrics.observe(response.status().as_u16());
        if let Some(event) = response.extensions().get::<SecurityEvent>() {
            match event.action() {
                "auth.bearer" => Metrics::inc(&state.metrics.token_rejections),
                "ratelimit" => Metrics::inc(&state.metrics.rate_limited),
                _ => {}
            }
        }
        response
    }
}

/// A rate-limit refusal while Redis is unreachable is not the client's doing: the limiter
/// failed closed, and the answer says so (503 naming Redis) instead of a 429 that blames the
/// client.
fn backend_refusal<B>(state: Arc<AppState>) -> impl Fn(Response<B>) -> Response + Clone
where
    Response<B>: IntoResponse,
{
    move |response| {
        let redis_down = matches!(state.limiter.as_ref(), AnyLimiter::Redis(l) if l.store_down());
        if response.status() == StatusCode::TOO_MANY_REQUESTS && redis_down {
            return ApiError::BackendUnavailable("redis").into_response();
        }
        response.into_response()
    }
}

/// Parses a JSON body without echoing any of it in the error.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("the body is not the expected JSON"))
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        value.to_string(),
    )
        .into_response()
}

pub(crate) fn ok_json(value: &Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// The numeric user id in `sub`.
pub(crate) fn user_id(claims: &UserClaims) -> Result<i64, ApiError> {
    claims
        .sub
        .as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or(ApiError::Unauthorized)
}

/// An audit record of a handler's decision; the audit layer adds the client, the request id
/// and the route.
pub(crate) fn event(action: &'static str, outcome: Outcome) -> SecurityEvent {
    SecurityEvent::new(action, outcome)
}

pub(crate) fn now_i64() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
