//! The router, its handlers and the state they share.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use palisade_audit::{AuditLog, Event, Outcome};
use palisade_http::{SanitizeErrorsLayer, SecurityHeaders, SecurityHeadersLayer, catch_panic};
use palisade_password::{Hasher, Password, PasswordPolicy};
use palisade_ratelimit::{
    Policy,
    client_ip::{ClientIpResolver, ClientKey},
    headers::{self, HeaderOptions},
    login::LoginThrottle,
};
use palisade_token::{
    ErrorKind, ExposeSecret as _,
    csrf::{CsrfTokens, Decision, OriginPolicy, RequestOrigin},
    jwt::{Claims, Issuer, Verifier},
    onetime::OneTimeTokens,
    opaque::Purpose,
    refresh::RefreshTokens,
    revocation::RevocationList,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    config::Config,
    db::Db,
    metrics::Metrics,
    problem::ApiError,
    profile::FieldCrypto,
    shared::{LoginCounters, RateLimiter, TokenStore, now},
};

/// Everything the handlers share.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) db: Db,
    pub(crate) hasher: Hasher,
    pub(crate) policy: PasswordPolicy,
    pub(crate) issuer: Issuer,
    pub(crate) verifier: Verifier,
    pub(crate) refresh: RefreshTokens<TokenStore>,
    pub(crate) revocation: RevocationList<TokenStore>,
    pub(crate) onetime: OneTimeTokens<TokenStore>,
    pub(crate) csrf: CsrfTokens,
    pub(crate) origins: OriginPolicy,
    pub(crate) limiter: RateLimiter,
    pub(crate) rate_policy: Policy,
    pub(crate) login_throttle: LoginThrottle<LoginCounters>,
    pub(crate) resolver: ClientIpResolver,
    pub(crate) audit: Arc<Mutex<AuditLog>>,
    pub(crate) metrics: Metrics,
    pub(crate) html: palisade_sanitize::html::Policy,
    pub(crate) crypto: FieldCrypto,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

type Shared = State<Arc<AppState>>;

type Route = (&'static str, &'static str, MethodRouter<Arc<AppState>>);

use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        _ => MethodFilter::GET,
    }
}

/// Every route, in one table: the router is built from it and `openapi.yaml` is checked
/// against it.
fn table() -> Vec<Route> {
    macro_rules! route {
        ($method:literal, $path:literal, $handler:expr) => {
            ($method, $path, on(filter($method), $handler))
        };
    }
    vec![
        route!("POST", "/auth/register", register),
        route!("POST", "/auth/login", login),
        route!("POST", "/auth/refresh", refresh),
        route!("POST", "/auth/logout", logout),
        route!("POST", "/auth/password-reset", reset_request),
        route!("POST", "/auth/password-reset/confirm", reset_confirm),
        route!("GET", "/me", crate::profile::get_me),
        route!("PUT", "/me", crate::profile::put_me),
        route!("GET", "/admin/users", admin_users),
        route!("GET", "/health", health),
        route!("GET", "/metrics", crate::metrics::metrics),
    ]
}

/// The (method, path) of every route the router serves.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    table().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The client's address: the peer, or the last `X-Forwarded-For` hop when the peer is a
/// trusted proxy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub(crate) IpAddr);

impl AppState {
    /// Appends an audit record; a failure is logged (the request still completes: the audit
    /// log is evidence, not a gate).
    pub(crate) fn audit(&self, event: Event) {
        let result = self
            .audit
            .lock()
            .map_err(|_| "audit lock poisoned".to_owned())
            .and_then(|mut log| log.append(event).map(|_| ()).map_err(|e| e.to_string()));
        if let Err(e) = result {
            Metrics::inc(&self.metrics.audit_failures);
            tracing::error!(target: "secure_api::audit", error = %e, "audit append failed");
        }
    }
}

/// The client key (IPv6 grouped by /56) limits and login throttling count against.
pub(crate) fn client_key(state: &AppState, client: Option<ClientIp>) -> ClientKey {
    let ip = client.map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0);
    state.resolver.key(ip)
}

/// Builds the service: routes, then the layers (the last added runs first).
pub fn router(state: Arc<AppState>) -> Router {
    let cors = {
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins: Vec<HeaderValue> = state
            .config
            .allowed_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("x-csrf-token"),
            ])
            .allow_credentials(true)
            .max_age(Duration::from_secs(600))
    };
    let body_limit = tower_http::limit::RequestBodyLimitLayer::new(state.config.max_body_bytes);
    let headers = SecurityHeaders::api()
        .header(
            header::CACHE_CONTROL,
            Some(HeaderValue::from_static("no-store")),
        )
        .header(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            Some(HeaderValue::from_static("same-origin")),
        );
    // The last layer added runs first: request id, request log, security headers (so errors,
    // preflights and 413s carry them), error sanitizing around panics, then the rate limit,
    // CORS and the body limit.
    routes_only(state.clone())
        .layer(body_limit)
        .layer(cors)
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(catch_panic())
        .layer(SanitizeErrorsLayer::new())
        .layer(SecurityHeadersLayer::new(headers))
        .layer(middleware::from_fn_with_state(state, request_log))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The same routes and handlers with no layer at all: no security headers, request log, rate
/// limit, CORS or body limit. For measuring what the layers cost; never serve this.
pub fn routes_only(state: Arc<AppState>) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, method_router)| {
            router.route(path, method_router)
        })
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// One log event per request: method, path (never the query), status, latency, client. The
/// subscriber's writer redacts whatever else might slip in.
async fn request_log(State(state): Shared, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    let client = state.resolver.resolve(
        peer.ip(),
        request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    request.extensions_mut().insert(ClientIp(client));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    state.metrics.observe(status.as_u16());
    tracing::info!(
        target: "secure_api::request",
        %method,
        path = %path,
        status = status.as_u16(),
        micros = started.elapsed().as_micros() as u64,
        client = %client,
        "request"
    );
    response
}

/// The per-client limit (palisade-ratelimit's GCRA) with the IETF `RateLimit` /
/// `RateLimit-Policy` fields on every limited response and `Retry-After` on a 429.
async fn rate_limit(State(state): Shared, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/health" || path == "/metrics" {
        return next.run(request).await;
    }
    let client = request.extensions().get::<ClientIp>().copied();
    let key = client_key(&state, client);
    let decision = state
        .limiter
        .check(&key.to_string(), &state.rate_policy)
        .await;
    let fields = headers::decision_fields(&state.rate_policy, &decision, HeaderOptions::default());
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        Metrics::inc(&state.metrics.rate_limited);
        state.audit(
            Event::new("http.rate_limited")
                .client(key.to_string())
                .outcome(Outcome::Denied)
                .field("path", path.to_owned()),
        );
        ApiError::TooMany(decision.retry_after.map_or(1, |d| d.as_secs().max(1))).into_response()
    };
    for (name, value) in fields {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Parses a JSON body without echoing any of it in the error.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("the body is not the expected JSON"))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
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

/// The verified claims of the request's bearer token, or 401 (audited).
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<ClientIp>,
) -> Result<Claims<Map<String, Value>>, ApiError> {
    let client = client.map_or_else(String::new, |c| c.0.to_string());
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let reject = |kind: &str| {
        Metrics::inc(&state.metrics.token_rejections);
        state.audit(
            Event::new("auth.token_rejected")
                .client(client.clone())
                .outcome(Outcome::Denied)
                .field("reason", kind.to_owned()),
        );
        ApiError::Unauthorized
    };
    let Some(token) = token else {
        return Err(reject("missing"));
    };
    let claims = state
        .verifier
        .verify::<Map<String, Value>>(token)
        .map_err(|e| reject(e.kind().as_str()))?;
    match state.revocation.check(&claims).await {
        Ok(()) => Ok(claims),
        Err(e) if e.kind().is_some() => Err(reject(e.kind().map_or("invalid", ErrorKind::as_str))),
        Err(_) => Err(ApiError::Unavailable),
    }
}

/// The numeric user id in `sub`.
pub(crate) fn user_id(claims: &Claims<Map<String, Value>>) -> Result<i64, ApiError> {
    claims
        .sub
        .as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or(ApiError::Unauthorized)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

fn normalize_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(ApiError::BadRequest("email must be an email address"))
    }
}

/// A new password for the account `email`: checked against the policy (with the account's
/// words as context), then hashed off the async threads.
async fn new_password_hash(
    state: &AppState,
    password: String,
    email: &str,
) -> Result<palisade_password::PasswordHash, ApiError> {
    let password = Password::from(password);
    let context = palisade_password::Context::new()
        .email(email)
        .service_name("secure-api");
    if let Err(violation) = state.policy.check(&password, &context) {
        return Err(ApiError::WeakPassword(violation.to_string()));
    }
    state
        .hasher
        .hash_async(password)
        .await
        .map_err(|e| ApiError::Internal(format!("hash: {e}")))
}

async fn register(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let email = normalize_email(&input.email)?;
    let hash = new_password_hash(&state, input.password, &email).await?;
    let id = state
        .db
        .insert_user(email, hash.as_str().to_owned(), "user", now_i64())
        .await?;
    let client = client.map_or_else(String::new, |c| c.0.0.to_string());
    let Some(id) = id else {
        state.audit(
            Event::new("auth.register")
                .client(client)
                .outcome(Outcome::Failure)
                .field("reason", "email_taken"),
        );
        return Err(ApiError::Conflict(
            "an account with this email address exists",
        ));
    };
    state.audit(
        Event::new("auth.register")
            .actor(format!("user:{id}"))
            .client(client)
            .outcome(Outcome::Success),
    );
    Ok(json_response(StatusCode::CREATED, &json!({ "id": id })))
}

pub(crate) fn now_i64() -> i64 {
    i64::try_from(now()).unwrap_or(i64::MAX)
}

fn cookie(name: &str, value: &str, path: &str, http_only: bool, max_age: u64) -> HeaderValue {
    let http_only = if http_only { "; HttpOnly" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; Secure; SameSite=Strict{http_only}"
    ))
    .unwrap_or(HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The login answer: an access token, a refresh token (body and `HttpOnly` cookie) and a CSRF
/// token bound to the refresh token for cookie-based refreshes.
fn session_response(
    state: &AppState,
    user: i64,
    role: &str,
    family: &str,
    refresh: &str,
) -> Result<Response, ApiError> {
    let mut custom = Map::new();
    custom.insert("fam".into(), Value::String(family.to_owned()));
    let access = state
        .issuer
        .issue(
            Claims::new(custom)
                .subject(user.to_string())
                .role(role.to_owned()),
        )
        .map_err(|e| ApiError::Internal(format!("issue: {e}")))?;
    let csrf = state.csrf.issue(refresh);
    let mut response = ok_json(&json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.config.access_ttl_secs,
        "refresh_token": refresh,
        "csrf_token": csrf,
    }));
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie("refresh", refresh, "/auth", true, 30 * 24 * 3600),
    );
    h.append(
        header::SET_COOKIE,
        cookie("csrf", &csrf, "/", false, 30 * 24 * 3600),
    );
    Ok(response)
}

async fn login(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let key = client_key(&state, client.map(|c| c.0));
    let client = client.map_or_else(String::new, |c| c.0.0.to_string());
    let email = normalize_email(&input.email).map_err(|_| ApiError::BadCredentials)?;
    let gate = state
        .login_throttle
        .check(&email, &key)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    if !gate.allowed {
        Metrics::inc(&state.metrics.login_locked);
        state.audit(
            Event::new("auth.login")
                .client(client)
                .outcome(Outcome::Denied)
                .field("reason", if gate.locked { "locked" } else { "throttled" }),
        );
        return Err(ApiError::TooMany(
            gate.retry_after.map_or(1, |d| d.as_secs().max(1)),
        ));
    }
    let user = state.db.user_by_email(email.clone()).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = Password::from(input.password);
    let verified = state
        .hasher
        .verify_account_async(Password::from(password.expose_secret()), stored)
        .await;
    let (user, verified) = match (user, verified) {
        (Some(user), Ok(verified)) => (user, verified),
        (user, Err(e)) => {
            Metrics::inc(&state.metrics.login_failures);
            let _ = state.login_throttle.record_failure(&email, &key).await;
            let mut event = Event::new("auth.login")
                .client(client)
                .outcome(Outcome::Failure)
                .field("reason", e.kind().as_str());
            if let Some(user) = user {
                event = event.actor(format!("user:{}", user.id));
            }
            state.audit(event);
            return Err(ApiError::BadCredentials);
        }
        (None, Ok(_)) => return Err(ApiError::BadCredentials),
    };
    if verified.needs_rehash()
        && let Ok(upgraded) = state.hasher.hash_async(password).await
    {
        state
            .db
            .set_password_hash(user.id, upgraded.as_str().to_owned(), now_i64())
            .await?;
        state.audit(
            Event::new("auth.password_rehashed")
                .actor(format!("user:{}", user.id))
                .outcome(Outcome::Success),
        );
    }
    let _ = state.login_throttle.record_success(&email, &key).await;
    let grant = state
        .refresh
        .issue(&user.id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Metrics::inc(&state.metrics.login_successes);
    state.audit(
        Event::new("auth.login")
            .actor(format!("user:{}", user.id))
            .client(client)
            .outcome(Outcome::Success),
    );
    session_response(&state, user.id, &user.role, grant.family(), grant.token())
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefreshInput {
    refresh_token: Option<String>,
}

/// A refresh from the `refresh` cookie is a cookie-authenticated state change: it needs the
/// Fetch Metadata / origin check and the signed double-submit token.
fn check_csrf(state: &AppState, headers: &HeaderMap, refresh: &str) -> Result<(), ApiError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = RequestOrigin {
        method: "POST",
        sec_fetch_site: get("sec-fetch-site"),
        origin: get("origin"),
        referer: get("referer"),
    };
    if state.origins.check(&origin) == Decision::Deny {
        return Err(ApiError::Forbidden("cross-site request refused"));
    }
    let cookie = cookie_value(headers, "csrf").unwrap_or("");
    let submitted = get("x-csrf-token").unwrap_or("");
    state
        .csrf
        .verify(refresh, cookie, submitted)
        .map_err(|_| ApiError::Forbidden("missing or invalid CSRF token"))
}

async fn refresh(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let client = client.map_or_else(String::new, |c| c.0.0.to_string());
    let input: RefreshInput = if body.is_empty() {
        RefreshInput::default()
    } else {
        parse(&body)?
    };
    let presented = if let Some(token) = input.refresh_token {
        token
    } else if let Some(token) = cookie_value(&headers, "refresh") {
        let token = token.to_owned();
        if let Err(e) = check_csrf(&state, &headers, &token) {
            state.audit(
                Event::new("auth.csrf_rejected")
                    .client(client)
                    .outcome(Outcome::Denied),
            );
            return Err(e);
        }
        token
    } else {
        return Err(ApiError::BadRequest("no refresh token"));
    };
    let grant = match state.refresh.refresh(&presented).await {
        Ok(grant) => grant,
        Err(e) => {
            let Some(kind) = e.kind() else {
                return Err(ApiError::Unavailable);
            };
            let outcome = if kind == ErrorKind::Reused {
                "reused"
            } else {
                kind.as_str()
            };
            state.audit(
                Event::new("auth.refresh")
                    .client(client)
                    .outcome(Outcome::Denied)
                    .field("reason", outcome),
            );
            return Err(ApiError::Unauthorized);
        }
    };
    let id: i64 = grant
        .subject()
        .parse()
        .map_err(|_| ApiError::Unauthorized)?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    state.audit(
        Event::new("auth.refresh")
            .actor(format!("user:{id}"))
            .client(client)
            .outcome(Outcome::Success),
    );
    session_response(&state, id, &user.role, grant.family(), grant.token())
}

async fn logout(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let client_ip = client.map(|c| c.0);
    let claims = authenticate(&state, &headers, client_ip).await?;
    let id = user_id(&claims)?;
    state
        .revocation
        .revoke_claims(&claims)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    if let Some(Value::String(family)) = claims.custom.get("fam") {
        state
            .refresh
            .revoke_family(family)
            .await
            .map_err(|_| ApiError::Unavailable)?;
    }
    state.audit(
        Event::new("auth.logout")
            .actor(format!("user:{id}"))
            .client(client_ip.map_or_else(String::new, |c| c.0.to_string()))
            .outcome(Outcome::Success),
    );
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, cookie("refresh", "", "/auth", true, 0));
    h.append(header::SET_COOKIE, cookie("csrf", "", "/", false, 0));
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

async fn reset_request(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ResetRequest = parse(&body)?;
    let client = client.map_or_else(String::new, |c| c.0.0.to_string());
    // The answer is the same whether or not the account exists.
    if let Ok(email) = normalize_email(&input.email) {
        if let Some(user) = state.db.user_by_email(email.clone()).await? {
            let ttl = Duration::from_secs(state.config.reset_ttl_secs);
            let token = state
                .onetime
                .issue(Purpose::PasswordReset, &user.id.to_string(), ttl)
                .await
                .map_err(|_| ApiError::Unavailable)?;
            let body =
                json!({ "token": token.expose_secret(), "expires_in": ttl.as_secs() }).to_string();
            state
                .db
                .push_outbox(email, "password_reset", body, now_i64())
                .await?;
            state.audit(
                Event::new("auth.password_reset_requested")
                    .actor(format!("user:{}", user.id))
                    .client(client)
                    .outcome(Outcome::Success),
            );
        } else {
            state.audit(
                Event::new("auth.password_reset_requested")
                    .client(client)
                    .outcome(Outcome::Failure)
                    .field("reason", "unknown_account"),
            );
        }
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "status": "if the account exists, a reset message was sent" }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    new_password: String,
}

async fn reset_confirm(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ResetConfirm = parse(&body)?;
    let client_ip = client.map(|c| c.0);
    let client = client.map_or_else(String::new, |c| c.0.0.to_string());
    let subject = match state
        .onetime
        .redeem(Purpose::PasswordReset, &input.token)
        .await
    {
        Ok(subject) => subject,
        Err(e) if e.kind().is_some() => {
            state.audit(
                Event::new("auth.password_reset")
                    .client(client)
                    .outcome(Outcome::Denied)
                    .field("reason", e.kind().map_or("invalid", ErrorKind::as_str)),
            );
            return Err(ApiError::BadRequest("invalid or expired reset token"));
        }
        Err(_) => return Err(ApiError::Unavailable),
    };
    let id: i64 = subject
        .parse()
        .map_err(|_| ApiError::BadRequest("invalid or expired reset token"))?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::BadRequest("invalid or expired reset token"));
    };
    let hash = new_password_hash(&state, input.new_password, &user.email).await?;
    state
        .db
        .set_password_hash(id, hash.as_str().to_owned(), now_i64())
        .await?;
    // The owner proved control of the mailbox: lift a login lockout.
    let key = client_key(&state, client_ip);
    let _ = state.login_throttle.record_success(&user.email, &key).await;
    state.audit(
        Event::new("auth.password_reset")
            .actor(format!("user:{id}"))
            .client(client)
            .outcome(Outcome::Success),
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn admin_users(
    State(state): Shared,
    client: Option<axum::Extension<ClientIp>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let client_ip = client.map(|c| c.0);
    let claims = authenticate(&state, &headers, client_ip).await?;
    let id = user_id(&claims)?;
    if !claims.has_role("admin") {
        state.audit(
            Event::new("authz.denied")
                .actor(format!("user:{id}"))
                .client(client_ip.map_or_else(String::new, |c| c.0.to_string()))
                .outcome(Outcome::Denied)
                .field("route", "/admin/users"),
        );
        return Err(ApiError::Forbidden("the admin role is required"));
    }
    let users = state.db.list_users().await?;
    state.audit(
        Event::new("admin.users_listed")
            .actor(format!("user:{id}"))
            .outcome(Outcome::Success),
    );
    let users: Vec<Value> = users
        .into_iter()
        .map(|(id, email, role)| json!({ "id": id, "email": email, "role": role }))
        .collect();
    Ok(ok_json(&json!({ "users": users })))
}

async fn health(State(state): Shared) -> Response {
    let db = state
        .db
        .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await;
    if db.is_ok() {
        ok_json(&json!({ "status": "ok" }))
    } else {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "status": "unavailable" }),
        )
    }
}
