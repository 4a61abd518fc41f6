//! The router, its handlers and the state they share.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Extension, Router,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use palisade_audit::{AuditLog, Event, Outcome};
use palisade_http::{
    AuditLayer, BearerLayer, ClientIp, ClientIpLayer, CsrfLayer, HttpsRedirectLayer, JwtVerifier,
    PolicyLimiter, RateLimitLayer, RequestLogLayer, RequireLayer, SanitizeErrorsLayer,
    SecurityEvent, SecurityHeaders, SecurityHeadersLayer, TokenCsrf, catch_panic,
    tower_http::{
        cors::{AllowOrigin, CorsLayer},
        limit::RequestBodyLimitLayer,
        request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    },
};
use palisade_password::{Hasher, Password, PasswordPolicy};
use palisade_ratelimit::{
    client_ip::{ClientIpResolver, ClientKey},
    login::LoginThrottle,
    redis::{AnyLimiter, AnyLoginStore},
};
use palisade_token::{
    ErrorKind, ExposeSecret as _,
    csrf::CsrfTokens,
    jwt::{Claims, Issuer},
    onetime::OneTimeTokens,
    opaque::Purpose,
    refresh::RefreshTokens,
    revocation::RevocationList,
    store::AnyStore,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    config::Config,
    db::Db,
    metrics::Metrics,
    problem::{ApiError, audited},
    profile::FieldCrypto,
};

/// The verified claims of an access token, put in the request's extensions by the bearer
/// layer: `sub` is the user id, `roles` the account's role, `fam` the refresh family.
pub type UserClaims = Claims<Map<String, Value>>;

/// The bearer layer's verifier: signature and claims, then the revocation list.
pub(crate) type AccessVerifier = JwtVerifier<Map<String, Value>, RevocationList<AnyStore>>;

/// palisade-http's defences, built once from the configuration and secrets; [`router`]
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
    pub(crate) hasher: Hasher,
    pub(crate) policy: PasswordPolicy,
    pub(crate) issuer: Issuer,
    pub(crate) refresh: RefreshTokens<AnyStore>,
    pub(crate) revocation: RevocationList<AnyStore>,
    pub(crate) onetime: OneTimeTokens<AnyStore>,
    pub(crate) csrf: CsrfTokens,
    pub(crate) login_throttle: LoginThrottle<AnyLoginStore>,
    pub(crate) resolver: ClientIpResolver,
    pub(crate) audit: Arc<Mutex<AuditLog>>,
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

type Shared = State<Arc<AppState>>;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Health and metrics probes: no token, no rate limit.
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
        route!("POST", "/auth/register", Public, register),
        route!("POST", "/auth/login", Public, login),
        route!("POST", "/auth/refresh", Cookie, refresh),
        route!("POST", "/auth/logout", User, logout),
        route!("POST", "/auth/password-reset", Public, reset_request),
        route!(
            "POST",
            "/auth/password-reset/confirm",
            Public,
            reset_confirm
        ),
        route!("GET", "/me", User, crate::profile::get_me),
        route!("PUT", "/me", User, crate::profile::put_me),
        route!("GET", "/admin/users", Admin, admin_users),
        route!("GET", "/health", Probe, health),
        route!("GET", "/metrics", Probe, crate::metrics::metrics),
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
    /// Appends an audit record written outside a response (a password rehash beside the
    /// login's own record); a failure is logged and counted, and the request still completes:
    /// the audit log is evidence, not a gate.
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

/// The client key (IPv6 grouped by /56) login throttling counts against.
pub(crate) fn client_key(state: &AppState, client: Option<&ClientIp>) -> ClientKey {
    let ip = client.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
    state.resolver.key(ip)
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
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
}

/// Builds the service: the routes behind palisade-http's layers.
///
/// From the outside in: request id; client address (trusted proxies); request log; counters;
/// security headers (so errors, preflights and 413s carry them); error sanitizing around
/// panics; the HTTPS redirect when `https_redirect_host` is set (probes exempt); the audit
/// layer (records what every defence inside refused). Then the probes
/// branch off; every other route has the per-client rate limit, CORS and the body limit; a
/// matched route then needs a bearer token unless public, is counted per user, and the admin
/// route needs the role; the cookie refresh is CSRF-checked.
pub fn router(state: Arc<AppState>) -> Router {
    let Defences {
        mut bearer,
        csrf,
        per_client,
        per_user,
    } = state.defences.clone();
    let config = &state.config;
    let admin = RequireLayer::<UserClaims>::roles(["admin"]);
    let (mut api, mut probes) = (Router::new(), Router::new());
    for route in table() {
        match route.access {
            Access::Probe => probes = probes.route(route.path, route.handler),
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
    let api = api
        .fallback(|| async { ApiError::NotFound })
        .route_layer(per_user)
        .route_layer(bearer)
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(cors(config))
        .layer(per_client);
    let headers = SecurityHeaders::api()
        .header(
            header::CACHE_CONTROL,
            Some(HeaderValue::from_static("no-store")),
        )
        .header(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            Some(HeaderValue::from_static("same-origin")),
        );
    let sink = state.clone();
    let resolver = state.resolver.clone();
    let mut app = probes
        .merge(api)
        .with_state(state.clone())
        .layer(AuditLayer::new(move |event: Event| sink.audit(event)));
    if let Some(authority) = config.redirect_authority() {
        // Probes stay reachable over plain HTTP for a load balancer's health checks.
        app = app.layer(
            HttpsRedirectLayer::new(authority)
                .exempt_path("/health")
                .exempt_path("/metrics"),
        );
    }
    app.layer(catch_panic())
        .layer(SanitizeErrorsLayer::new())
        .layer(SecurityHeadersLayer::new(headers))
        .layer(middleware::map_response_with_state(state, count))
        .layer(RequestLogLayer::new())
        .layer(
            ClientIpLayer::new()
                .resolver(resolver)
                .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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
async fn count(State(state): Shared, response: Response) -> Response {
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

/// The numeric user id in `sub`.
pub(crate) fn user_id(claims: &UserClaims) -> Result<i64, ApiError> {
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

/// An audit record of a handler's decision; the audit layer adds the client, the request id
/// and the route.
fn event(action: &'static str, outcome: Outcome) -> SecurityEvent {
    SecurityEvent::new(action, outcome)
}

async fn register(State(state): Shared, body: Bytes) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let email = normalize_email(&input.email)?;
    let hash = new_password_hash(&state, input.password, &email).await?;
    let id = state
        .db
        .insert_user(email, hash.as_str().to_owned(), "user", now_i64())
        .await?;
    let Some(id) = id else {
        return Err(
            ApiError::Conflict("an account with this email address exists")
                .audited(event("auth.register", Outcome::Failure).reason("email_taken")),
        );
    };
    Ok(audited(
        json_response(StatusCode::CREATED, &json!({ "id": id })),
        event("auth.register", Outcome::Success).actor(id.to_string()),
    ))
}

pub(crate) fn now_i64() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: Credentials = parse(&body)?;
    let key = client_key(&state, client.as_deref());
    let email = normalize_email(&input.email).map_err(|_| ApiError::BadCredentials)?;
    let gate = state
        .login_throttle
        .check(&email, &key)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    if !gate.allowed {
        Metrics::inc(&state.metrics.login_locked);
        let reason = if gate.locked { "locked" } else { "throttled" };
        return Err(
            ApiError::TooMany(gate.retry_after.map_or(1, |d| d.as_secs().max(1)))
                .audited(event("auth.login", Outcome::Denied).reason(reason)),
        );
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
        (user, verified) => {
            Metrics::inc(&state.metrics.login_failures);
            let _ = state.login_throttle.record_failure(&email, &key).await;
            let reason = verified
                .err()
                .map_or("unknown_account", |e| e.kind().as_str());
            let mut record = event("auth.login", Outcome::Failure).reason(reason);
            if let Some(user) = user {
                record = record.actor(user.id.to_string());
            }
            return Err(ApiError::BadCredentials.audited(record));
        }
    };
    if verified.needs_rehash()
        && let Ok(upgraded) = state.hasher.hash_async(password).await
    {
        state
            .db
            .set_password_hash(user.id, upgraded.as_str().to_owned(), now_i64())
            .await?;
        // A second record beside the login's own, so written directly.
        state.audit(
            Event::new("auth.password_rehashed")
                .actor(user.id.to_string())
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
    Ok(audited(
        session_response(&state, user.id, &user.role, grant.family(), grant.token())?,
        event("auth.login", Outcome::Success).actor(user.id.to_string()),
    ))
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

/// The refresh token from the body, or from the `refresh` cookie (the CSRF layer on this
/// route has checked the origin and the double-submit token whenever that cookie is sent).
async fn refresh(
    State(state): Shared,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: RefreshInput = if body.is_empty() {
        RefreshInput::default()
    } else {
        parse(&body)?
    };
    let presented = match (input.refresh_token, cookie_value(&headers, "refresh")) {
        (Some(token), _) => token,
        (None, Some(token)) => token.to_owned(),
        (None, None) => return Err(ApiError::BadRequest("no refresh token")),
    };
    let grant = match state.refresh.refresh(&presented).await {
        Ok(grant) => grant,
        Err(e) => {
            let Some(kind) = e.kind() else {
                return Err(ApiError::Unavailable);
            };
            let reason = if kind == ErrorKind::Reused {
                "reused"
            } else {
                kind.as_str()
            };
            return Err(ApiError::Unauthorized
                .audited(event("auth.refresh", Outcome::Denied).reason(reason)));
        }
    };
    let id: i64 = grant
        .subject()
        .parse()
        .map_err(|_| ApiError::Unauthorized)?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(ApiError::Unauthorized);
    };
    Ok(audited(
        session_response(&state, id, &user.role, grant.family(), grant.token())?,
        event("auth.refresh", Outcome::Success).actor(id.to_string()),
    ))
}

async fn logout(
    State(state): Shared,
    Extension(claims): Extension<UserClaims>,
) -> Result<Response, ApiError> {
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
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, cookie("refresh", "", "/auth", true, 0));
    h.append(header::SET_COOKIE, cookie("csrf", "", "/", false, 0));
    Ok(audited(
        response,
        event("auth.logout", Outcome::Success).actor(id.to_string()),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

async fn reset_request(State(state): Shared, body: Bytes) -> Result<Response, ApiError> {
    let input: ResetRequest = parse(&body)?;
    // The answer is the same whether or not the account exists.
    let mut record = event("auth.password_reset_requested", Outcome::Failure).reason("bad_email");
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
            record =
                event("auth.password_reset_requested", Outcome::Success).actor(user.id.to_string());
        } else {
            record = record.reason("unknown_account");
        }
    }
    Ok(audited(
        json_response(
            StatusCode::ACCEPTED,
            &json!({ "status": "if the account exists, a reset message was sent" }),
        ),
        record,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    new_password: String,
}

/// Sets the new password, signs the account out everywhere (every refresh family; access
/// tokens lapse within their lifetime) and lifts a login lockout.
async fn reset_confirm(
    State(state): Shared,
    client: Option<Extension<ClientIp>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: ResetConfirm = parse(&body)?;
    let invalid = || ApiError::BadRequest("invalid or expired reset token");
    let subject = match state
        .onetime
        .redeem(Purpose::PasswordReset, &input.token)
        .await
    {
        Ok(subject) => subject,
        Err(e) if e.kind().is_some() => {
            let reason = e.kind().map_or("invalid", ErrorKind::as_str);
            return Err(
                invalid().audited(event("auth.password_reset", Outcome::Denied).reason(reason))
            );
        }
        Err(_) => return Err(ApiError::Unavailable),
    };
    let id: i64 = subject.parse().map_err(|_| invalid())?;
    let Some(user) = state.db.user_by_id(id).await? else {
        return Err(invalid());
    };
    let hash = new_password_hash(&state, input.new_password, &user.email).await?;
    // Sessions end before the password changes: if either step fails, the account is left
    // signed out rather than holding a new password beside the old sessions.
    let revoked = state
        .refresh
        .revoke_subject(&subject)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    state
        .db
        .set_password_hash(id, hash.as_str().to_owned(), now_i64())
        .await?;
    // The owner proved control of the mailbox: lift a login lockout.
    let key = client_key(&state, client.as_deref());
    let _ = state.login_throttle.record_success(&user.email, &key).await;
    Ok(audited(
        StatusCode::NO_CONTENT.into_response(),
        event("auth.password_reset", Outcome::Success)
            .actor(subject)
            .field("sessions_revoked", revoked.to_string()),
    ))
}

/// Behind the admin role check.
async fn admin_users(
    State(state): Shared,
    Extension(claims): Extension<UserClaims>,
) -> Result<Response, ApiError> {
    let id = user_id(&claims)?;
    let users = state.db.list_users().await?;
    let users: Vec<Value> = users
        .into_iter()
        .map(|(id, email, role)| json!({ "id": id, "email": email, "role": role }))
        .collect();
    Ok(audited(
        ok_json(&json!({ "users": users })),
        event("admin.users_listed", Outcome::Success).actor(id.to_string()),
    ))
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
