//! Bearer authentication and per-route scope and role requirements.

use std::{
    borrow::Cow,
    fmt,
    future::Future,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderValue, Request, Response, StatusCode, header};
use palisade_audit::Outcome;
use tower::Service;

use crate::service::layer_service;
use crate::{
    Problem, ResponseBody, SecurityEvent,
    client::Principal,
    future::{BoxFuture, passed},
    request_id::request_id,
    telemetry,
};

/// The tracing target of authentication and authorization failures.
pub const AUTH_TARGET: &str = "palisade_http::auth";

/// Why a token was refused: a short word for logs, metrics and audit records (`expired`,
/// `bad_signature`, `revoked`), never sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: Cow<'static, str>,
}

impl Rejection {
    /// A rejection of kind `kind`.
    pub fn new(kind: impl Into<Cow<'static, str>>) -> Self {
        Self { kind: kind.into() }
    }

    /// The kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

/// What authorization needs to know about verified claims.
pub trait Authorized {
    /// The subject (`sub`), used as the actor in audit records and as the per-user rate-limit
    /// key.
    fn subject(&self) -> Option<&str>;
    /// Whether the token grants `scope`.
    fn has_scope(&self, scope: &str) -> bool;
    /// Whether the subject has `role`.
    fn has_role(&self, role: &str) -> bool;
}

/// Checks a bearer token and returns its verified claims.
///
/// palisade-token's verifier implements it; implement it yourself to accept tokens from
/// elsewhere. Verification may be asynchronous (a revocation list in Redis, say).
pub trait TokenVerifier: Send + Sync + 'static {
    /// The verified claims, placed in the request's extensions.
    type Claims: Authorized + Clone + Send + Sync + 'static;

    /// Verifies `token` (the credential after `Bearer `).
    fn verify(&self, token: &str) -> impl Future<Output = Result<Self::Claims, Rejection>> + Send;
}

/// Which paths need no token.
#[derive(Debug, Clone, Default)]
struct PublicPaths {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl PublicPaths {
    fn contains(&self, path: &str) -> bool {
        // A path with dot segments or encoded separators could be read differently by a router
        // behind this layer; it is never public.
        let lower = path.to_ascii_lowercase();
        let tricky = path.split('/').any(|s| s == "." || s == "..")
            || lower.contains("%2e")
            || lower.contains("%2f")
            || lower.contains("%5c")
            || path.contains('\\')
            || path.contains("//");
        if tricky {
            return false;
        }
        self.exact.iter().any(|p| p == path) || self.prefixes.iter().any(|p| path.starts_with(p))
    }
}

/// Requires a valid bearer token on every request except configured public paths.
///
/// A request without a token gets `401` with `WWW-Authenticate: Bearer realm="…"`; a malformed
/// header or a token the verifier refuses gets `401` with `error="invalid_token"` (RFC 6750
/// section 3.1). The body is a [`Problem`] that never says why: the reason goes to the log
/// (target [`AUTH_TARGET`]) and, as a [`SecurityEvent`] `auth.bearer` with that reason, to
/// [`AuditLayer`](crate::AuditLayer). On success the verified claims are inserted into the
/// request's extensions (axum: `Extension<Claims>`), together with a [`Principal`] carrying the
/// subject.
///
/// Public paths match exactly ([`public_path`](Self::public_path)) or by prefix
/// ([`public_prefix`](Self::public_prefix)); a path with `.` or `..` segments, `//`, a
/// backslash or percent-encoded dots, slashes or backslashes is never public, so a router that
/// normalizes paths differently cannot be walked from a public prefix into a private route.
/// `OPTIONS` requests are not exempt: put the CORS layer outside this one to answer preflights.
pub struct BearerLayer<V> {
    verifier: Arc<V>,
    public: Arc<PublicPaths>,
    realm: HeaderValue,
    challenge_invalid: HeaderValue,
}

impl<V> Clone for BearerLayer<V> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            public: self.public.clone(),
            realm: self.realm.clone(),
            challenge_invalid: self.challenge_invalid.clone(),
        }
    }
}

impl<V> fmt::Debug for BearerLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerLayer")
            .field("public", &self.public)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// A realm value that is safe inside a quoted string.
fn challenges(realm: &str) -> (HeaderValue, HeaderValue) {
    let clean: String = realm
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let plain = HeaderValue::from_str(&format!("Bearer realm=\"{clean}\""))
        .unwrap_or(HeaderValue::from_static("Bearer"));
    let invalid = HeaderValue::from_str(&format!(
        "Bearer realm=\"{clean}\", error=\"invalid_token\""
    ))
    .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""));
    (plain, invalid)
}

impl<V: TokenVerifier> BearerLayer<V> {
    /// Every path needs a token verified by `verifier`; the realm is `api`.
    pub fn new(verifier: V) -> Self {
        Self::from_arc(Arc::new(verifier))
    }

    /// As [`new`](Self::new), sharing a verifier used elsewhere.
    pub fn from_arc(verifier: Arc<V>) -> Self {
        let (realm, challenge_invalid) = challenges("api");
        Self {
            verifier,
            public: Arc::new(PublicPaths::default()),
            realm,
            challenge_invalid,
        }
    }

    /// The realm named in `WWW-Authenticate` (quotes and control characters are dropped).
    #[must_use]
    pub fn realm(mut self, realm: &str) -> Self {
        (self.realm, self.challenge_invalid) = challenges(realm);
        self
    }

    /// A path that needs no token, matched exactly (`/health`).
    #[must_use]
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.public).exact.push(path.into());
        self
    }

    /// Paths under `prefix` need no token (`/docs/`). End the prefix with `/` unless you mean
    /// `/docs` to also cover `/docsecret`.
    #[must_use]
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.public).prefixes.push(prefix.into());
        self
    }
}

layer_service! {
    /// The service of [`BearerLayer`].
    pub struct Bearer<S, V> of BearerLayer<V>;
}

/// The token in an `Authorization` header, or why there is none.
enum Credential<'a> {
    Missing,
    Malformed,
    Token(&'a str),
}

fn credential(headers: &http::HeaderMap) -> Credential<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credential::Missing;
    };
    if values.next().is_some() {
        return Credential::Malformed;
    }
    let Ok(text) = value.to_str() else {
        return Credential::Malformed;
    };
    let Some((scheme, token)) = text.split_once(' ') else {
        return Credential::Malformed;
    };
    let token = token.trim_start_matches(' ');
    // RFC 6750 section 2.1: b64token, one or more of these characters, then optional `=`.
    let body = token.trim_end_matches('=');
    let b64token = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if scheme.eq_ignore_ascii_case("bearer") && b64token {
        Credential::Token(token)
    } else {
        Credential::Malformed
    }
}

fn refuse<B>(
    challenge: HeaderValue,
    id: Option<String>,
    reason: Option<&str>,
) -> Response<ResponseBody<B>> {
    let mut problem =
        Problem::new(StatusCode::UNAUTHORIZED).with_header(header::WWW_AUTHENTICATE, challenge);
    if let Some(id) = id {
        problem = problem.with_request_id(id);
    }
    let mut response = problem.into_response();
    let mut event = SecurityEvent::new("auth.bearer", Outcome::Failure);
    if let Some(reason) = reason {
        event = event.reason(reason.to_owned());
    }
    response.extensions_mut().insert(event);
    response
}

impl<S, V, ReqBody, ResBody> Service<Request<ReqBody>> for Bearer<S, V>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    V: TokenVerifier,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready handles this request; a fresh clone takes its
        // place for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if self.layer.public.contains(request.uri().path()) {
            return passed(inner.call(request));
        }
        let id = request_id(request.extensions(), request.headers());
        let token = match credential(request.headers()) {
            Credential::Token(token) => token.to_owned(),
            Credential::Missing => {
                telemetry::refusal("bearer", "missing");
                tracing::info!(target: AUTH_TARGET, request_id = id.as_deref().unwrap_or("-"), kind = "missing", "bearer token refused");
                let response = refuse(self.layer.realm.clone(), id, Some("missing"));
                return Box::pin(async move { Ok(response) });
            }
            Credential::Malformed => {
                telemetry::refusal("bearer", "malformed");
                tracing::warn!(target: AUTH_TARGET, request_id = id.as_deref().unwrap_or("-"), kind = "malformed", "bearer token refused");
                let response = refuse(self.layer.challenge_invalid.clone(), id, Some("malformed"));
                return Box::pin(async move { Ok(response) });
            }
        };
        let verifier = self.layer.verifier.clone();
        let challenge = self.layer.challenge_invalid.clone();
        Box::pin(async move {
            match verifier.verify(&token).await {
                Ok(claims) => {
                    if let Some(subject) = claims.subject() {
                        request
                            .extensions_mut()
                            .insert(Principal(Arc::from(subject)));
                    }
                    request.extensions_mut().insert(claims);
                    inner
                        .call(request)
                        .await
                        .map(|r| r.map(ResponseBody::inner))
                }
                Err(rejection) => {
                    telemetry::refusal("bearer", telemetry::bearer_rejection(rejection.kind()));
                    tracing::warn!(
                        target: AUTH_TARGET,
                        request_id = id.as_deref().unwrap_or("-"),
                        kind = rejection.kind(),
                        "bearer token refused",
                    );
                    Ok(refuse(challenge, id, Some(rejection.kind())))
                }
            }
        })
    }
}

/// Requires scopes and roles on the routes it wraps (with axum, `route_layer`), reading the
/// claims of type `C` that [`BearerLayer`] put in the request's extensions.
///
/// Every listed scope and every listed role is required. A request without claims (the route is
/// not behind [`BearerLayer`], or is public) gets `401`; one whose claims lack a scope or role
/// gets `403` with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750
/// section 3.1) and a [`SecurityEvent`] `authz.required` with the reason `missing_scope` or
/// `missing_role`.
pub struct RequireLayer<C> {
    scopes: Arc<[String]>,
    roles: Arc<[String]>,
    challenge: HeaderValue,
    claims: std::marker::PhantomData<fn() -> C>,
}

impl<C> Clone for RequireLayer<C> {
    fn clone(&self) -> Self {
        Self {
            scopes: self.scopes.clone(),
            roles: self.roles.clone(),
            challenge: self.challenge.clone(),
            claims: std::marker::PhantomData,
        }
    }
}

impl<C> fmt::Debug for RequireLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl<C: Authorized + Send + Sync + 'static> RequireLayer<C> {
    /// Requires every scope in `scopes` and every role in `roles`.
    pub fn new<I, J, A, B>(scopes: I, roles: J) -> Self
    where
        I: IntoIterator<Item = A>,
        J: IntoIterator<Item = B>,
        A: Into<String>,
        B: Into<String>,
    {
        let scopes: Arc<[String]> = scopes.into_iter().map(Into::into).collect();
        let roles: Arc<[String]> = roles.into_iter().map(Into::into).collect();
        // Scope tokens are printable ASCII without `"` or `\` (RFC 6749 section 3.3).
        let listed: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| {
                s.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            })
            .collect();
        let text = if listed.is_empty() {
            "Bearer error=\"insufficient_scope\"".to_owned()
        } else {
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                listed.join(" ")
            )
        };
        let challenge = HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(
            "Bearer error=\"insufficient_scope\"",
        ));
        Self {
            scopes,
            roles,
            challenge,
            claims: std::marker::PhantomData,
        }
    }

    /// Requires every scope in `scopes`.
    pub fn scopes<I, A>(scopes: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        Self::new(scopes, std::iter::empty::<String>())
    }

    /// Requires every role in `roles`.
    pub fn roles<I, A>(roles: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        Self::new(std::iter::empty::<String>(), roles)
    }

    fn check(&self, claims: &C) -> Result<(), &'static str> {
        if !self.scopes.iter().all(|s| claims.has_scope(s)) {
            return Err("missing_scope");
        }
        if !self.roles.iter().all(|r| claims.has_role(r)) {
            return Err("missing_role");
        }
        Ok(())
    }
}

layer_service! {
    /// The service of [`RequireLayer`].
    pub struct Require<S, C> of RequireLayer<C>;
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for Require<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    C: Authorized + Send + Sync + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let id = request_id(request.extensions(), request.headers());
        let verdict = match request.extensions().get::<C>() {
            None => Err((StatusCode::UNAUTHORIZED, "no_claims", None)),
            Some(claims) => self.layer.check(claims).map_err(|reason| {
                (
                    StatusCode::FORBIDDEN,
                    reason,
                    claims.subject().map(str::to_owned),
                )
            }),
        };
        match verdict {
            Ok(()) => passed(self.inner.call(request)),
            Err((status, reason, subject)) => {
                telemetry::refusal("require", reason);
                tracing::warn!(
                    target: AUTH_TARGET,
                    request_id = id.as_deref().unwrap_or("-"),
                    kind = reason,
                    "authorization refused",
                );
                let mut problem = Problem::new(status);
                if status == StatusCode::FORBIDDEN {
                    problem =
                        problem.with_header(header::WWW_AUTHENTICATE, self.layer.challenge.clone());
                }
                if let Some(id) = id {
                    problem = problem.with_request_id(id);
                }
                let mut response = problem.into_response();
                let mut event =
                    SecurityEvent::new("authz.required", Outcome::Denied).reason(reason);
                if let Some(subject) = subject {
                    event = event.actor(subject);
                }
                response.extensions_mut().insert(event);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
