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
    Problem, ResponseBody, SecurityEvent, client::Principal, future::LayerFuture,
    request_id::request_id, telemetry,
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

/// Claims shared behind an `Arc` are authorized as the claims themselves: a verifier whose
/// claims are `Arc<C>` (palisade-token's `CachedVerifier` hands them out so) puts a pointer in
/// each request's extensions instead of a copy of every string in the token, and handlers
/// take `Extension<Arc<C>>`.
impl<T: Authorized + ?Sized> Authorized for Arc<T> {
    fn subject(&self) -> Option<&str> {
        (**self).subject()
    }

    fn has_scope(&self, scope: &str) -> bool {
        (**self).has_scope(scope)
    }

    fn has_role(&self, role: &str) -> bool {
        (**self).has_role(role)
    }
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

    /// Verifies `token` at once, when that needs no I/O, so that [`BearerLayer`] decides in
    /// `call` without a boxed future; `None` (the default) means [`verify`](Self::verify) must
    /// be awaited. When it returns `Some`, the result must be the one `verify` would give.
    fn verify_now(&self, token: &str) -> Option<Result<Self::Claims, Rejection>> {
        let _ = token;
        None
    }
}

/// Which paths need no token.
#[derive(Debug, Clone, Default)]
struct PublicPaths {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl PublicPaths {
    fn contains(&self, path: &str) -> bool {
        let listed = self.exact.iter().any(|p| p == path)
            || self.prefixes.iter().any(|p| path.starts_with(p));
        // A path with dot segments or encoded separators could be read differently by a router
        // behind this layer; it is never public. Checked only for a listed path: every other
        // path needs a token anyway.
        listed
            && !(path.split('/').any(|s| s == "." || s == "..")
                || encoded_separator(path)
                || path.contains('\\')
                || path.contains("//"))
    }
}

/// Whether `path` holds `%2e`, `%2f` or `%5c` in any letter case (an encoded dot, slash or
/// backslash).
fn encoded_separator(path: &str) -> bool {
    path.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'e' | b'f') | (b'5', b'c')
            )
    })
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
    /// Everything the layer holds, behind one reference count: the stack is cloned for each
    /// request (axum and hyper both do), so each field of its own would be one more atomic
    /// increment and decrement per request.
    settings: Arc<BearerSettings<V>>,
}

struct BearerSettings<V> {
    verifier: Arc<V>,
    public: PublicPaths,
    realm: HeaderValue,
    challenge_invalid: HeaderValue,
}

impl<V> Clone for BearerSettings<V> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            public: self.public.clone(),
            realm: self.realm.clone(),
            challenge_invalid: self.challenge_invalid.clone(),
        }
    }
}

impl<V> Clone for BearerLayer<V> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<V> fmt::Debug for BearerLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerLayer")
            .field("public", &self.settings.public)
            .field("realm", &self.settings.realm)
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
            settings: Arc::new(BearerSettings {
                verifier,
                public: PublicPaths::default(),
                realm,
                challenge_invalid,
            }),
        }
    }

    /// The realm named in `WWW-Authenticate` (quotes and control characters are dropped).
    #[must_use]
    pub fn realm(mut self, realm: &str) -> Self {
        let settings = Arc::make_mut(&mut self.settings);
        (settings.realm, settings.challenge_invalid) = challenges(realm);
        self
    }

    /// A path that needs no token, matched exactly (`/health`).
    #[must_use]
    pub fn public_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.settings)
            .public
            .exact
            .push(path.into());
        self
    }

    /// Paths under `prefix` need no token (`/docs/`). End the prefix with `/` unless you mean
    /// `/docs` to also cover `/docsecret`.
    #[must_use]
    pub fn public_prefix(mut self, prefix: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.settings)
            .public
            .prefixes
            .push(prefix.into());
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

/// Whether every byte is one of RFC 6750's b64token (section 2.1), apart from the trailing `=`:
/// `A-Z a-z 0-9 - . _ ~ + /`. Written without branches or early exit, so the compiler checks
/// many bytes per instruction: a token is a few hundred bytes on every request.
#[allow(clippy::needless_bitwise_bool)] // `&` and `|`, not `&&` and `||`: no branches.
fn is_b64token(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &c| {
        // `| 0x20` folds A-Z onto a-z and sends no other byte into a-z.
        let letter = (c | 0x20).wrapping_sub(b'a') < 26;
        // `-`, `.`, `/` and the ten digits are the thirteen bytes from 0x2D: one range test
        // where four comparisons and a range cost a quarter more per token.
        let run = c.wrapping_sub(b'-') < 13;
        let mark = (c == b'_') | (c == b'~') | (c == b'+');
        ok & (letter | run | mark)
    })
}

fn credential(headers: &http::HeaderMap) -> Credential<'_> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credential::Missing;
    };
    if values.next().is_some() {
        return Credential::Malformed;
    }
    let bytes = value.as_bytes();
    let Some(space) = bytes.iter().position(|&b| b == b' ') else {
        return Credential::Malformed;
    };
    let (scheme, rest) = bytes.split_at(space);
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    let end = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    // One or more b64token characters, then optional `=`; all ASCII, so the token is text.
    let b64token = end > 0 && is_b64token(&token[..end]);
    if !scheme.eq_ignore_ascii_case(b"bearer") || !b64token {
        return Credential::Malformed;
    }
    match std::str::from_utf8(token) {
        Ok(token) => Credential::Token(token),
        Err(_) => Credential::Malformed,
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

/// Puts verified claims, and the subject as a [`Principal`], in the request's extensions.
fn admit<C: Authorized + Clone + Send + Sync + 'static, B>(request: &mut Request<B>, claims: C) {
    if let Some(subject) = claims.subject() {
        request
            .extensions_mut()
            .insert(Principal(Arc::from(subject)));
    }
    request.extensions_mut().insert(claims);
}

/// Logs a token the verifier refused and answers 401.
fn rejected<B>(
    challenge: HeaderValue,
    id: Option<String>,
    rejection: &Rejection,
) -> Response<ResponseBody<B>> {
    telemetry::refusal("bearer", telemetry::bearer_rejection(rejection.kind()));
    tracing::warn!(
        target: AUTH_TARGET,
        request_id = id.as_deref().unwrap_or("-"),
        kind = rejection.kind(),
        "bearer token refused",
    );
    refuse(challenge, id, Some(rejection.kind()))
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
    type Future = LayerFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let settings = &*self.layer.settings;
        if settings.public.contains(request.uri().path()) {
            return LayerFuture::passed(self.inner.call(request));
        }
        let token = match credential(request.headers()) {
            Credential::Token(token) => token,
            Credential::Missing => {
                let id = request_id(request.extensions(), request.headers());
                telemetry::refusal("bearer", "missing");
                tracing::info!(target: AUTH_TARGET, request_id = id.as_deref().unwrap_or("-"), kind = "missing", "bearer token refused");
                return LayerFuture::ready(refuse(settings.realm.clone(), id, Some("missing")));
            }
            Credential::Malformed => {
                let id = request_id(request.extensions(), request.headers());
                telemetry::refusal("bearer", "malformed");
                tracing::warn!(target: AUTH_TARGET, request_id = id.as_deref().unwrap_or("-"), kind = "malformed", "bearer token refused");
                return LayerFuture::ready(refuse(
                    settings.challenge_invalid.clone(),
                    id,
                    Some("malformed"),
                ));
            }
        };
        // A verifier that needs no I/O decides here: no boxed future, no copy of the token.
        match settings.verifier.verify_now(token) {
            Some(Ok(claims)) => {
                admit(&mut request, claims);
                return LayerFuture::passed(self.inner.call(request));
            }
            Some(Err(rejection)) => {
                let id = request_id(request.extensions(), request.headers());
                return LayerFuture::ready(rejected(
                    settings.challenge_invalid.clone(),
                    id,
                    &rejection,
                ));
            }
            None => {}
        }
        let token = token.to_owned();
        // The service that was polled ready handles this request; a fresh clone takes its
        // place for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let id = request_id(request.extensions(), request.headers());
        let verifier = settings.verifier.clone();
        let challenge = settings.challenge_invalid.clone();
        LayerFuture::boxed(Box::pin(async move {
            match verifier.verify(&token).await {
                Ok(claims) => {
                    admit(&mut request, claims);
                    inner
                        .call(request)
                        .await
                        .map(|r| r.map(ResponseBody::inner))
                }
                Err(rejection) => Ok(rejected(challenge, id, &rejection)),
            }
        }))
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
    /// One reference count for the whole layer, as in [`BearerLayer`].
    settings: Arc<RequireSettings>,
    claims: std::marker::PhantomData<fn() -> C>,
}

#[derive(Debug)]
struct RequireSettings {
    scopes: Box<[String]>,
    roles: Box<[String]>,
    challenge: HeaderValue,
}

impl<C> Clone for RequireLayer<C> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            claims: std::marker::PhantomData,
        }
    }
}

impl<C> fmt::Debug for RequireLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("scopes", &self.settings.scopes)
            .field("roles", &self.settings.roles)
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
        let scopes: Box<[String]> = scopes.into_iter().map(Into::into).collect();
        let roles: Box<[String]> = roles.into_iter().map(Into::into).collect();
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
            settings: Arc::new(RequireSettings {
                scopes,
                roles,
                challenge,
            }),
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
        if !self.settings.scopes.iter().all(|s| claims.has_scope(s)) {
            return Err("missing_scope");
        }
        if !self.settings.roles.iter().all(|r| claims.has_role(r)) {
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
    type Future = LayerFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
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
            Ok(()) => LayerFuture::passed(self.inner.call(request)),
            Err((status, reason, subject)) => {
                let id = request_id(request.extensions(), request.headers());
                telemetry::refusal("require", reason);
                tracing::warn!(
                    target: AUTH_TARGET,
                    request_id = id.as_deref().unwrap_or("-"),
                    kind = reason,
                    "authorization refused",
                );
                let mut problem = Problem::new(status);
                if status == StatusCode::FORBIDDEN {
                    problem = problem.with_header(
                        header::WWW_AUTHENTICATE,
                        self.layer.settings.challenge.clone(),
                    );
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
                LayerFuture::ready(response)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check as first written, on the header's text: the branch-free version must agree.
    fn reference(value: &HeaderValue) -> Option<String> {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        let token = token.trim_start_matches(' ');
        let body = token.trim_end_matches('=');
        let b64token = !body.is_empty()
            && body.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
            });
        (scheme.eq_ignore_ascii_case("bearer") && b64token).then(|| token.to_owned())
    }

    /// Every byte, among them the edges of the case-folding trick (`@`, `[`, the backtick,
    /// `{`, DEL and the bytes above 0x7f).
    #[test]
    fn the_b64token_check_accepts_exactly_its_characters() {
        for c in 0..=u8::MAX {
            let expected =
                c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token(&[c]), expected, "byte {c:#04x}");
            assert_eq!(
                is_b64token(&[b'a', c, b'Z']),
                expected,
                "byte {c:#04x} inside"
            );
        }
    }

    /// Claims with a subject only.
    #[derive(Clone)]
    struct Subject(Arc<str>);

    impl Authorized for Subject {
        fn subject(&self) -> Option<&str> {
            Some(&self.0)
        }

        fn has_scope(&self, _scope: &str) -> bool {
            false
        }

        fn has_role(&self, _role: &str) -> bool {
            false
        }
    }

    /// Takes every token as its subject.
    struct Accepts;

    impl TokenVerifier for Accepts {
        type Claims = Subject;

        async fn verify(&self, token: &str) -> Result<Self::Claims, Rejection> {
            Ok(Subject(Arc::from(token)))
        }
    }

    /// The stack is cloned for each request: a layer (and so its service) is one reference
    /// count to clone, however it was configured, and the verifier inside it is not touched.
    #[test]
    fn a_cloned_bearer_layer_takes_one_reference_count() {
        let verifier = Arc::new(Accepts);
        let layer = BearerLayer::from_arc(verifier.clone())
            .realm("orders")
            .public_path("/health")
            .public_prefix("/docs/");
        let copy = layer.clone();
        assert!(Arc::ptr_eq(&layer.settings, &copy.settings));
        assert_eq!(Arc::strong_count(&layer.settings), 2);
        assert_eq!(
            Arc::strong_count(&verifier),
            2,
            "the caller's and the layer's"
        );
        // Configuring a shared layer leaves the other copy as it was.
        let other = copy.public_path("/status");
        assert!(!other.settings.public.contains("/health/x"));
        assert!(other.settings.public.contains("/status"));
        assert!(!layer.settings.public.contains("/status"));
        assert_eq!(Arc::strong_count(&layer.settings), 1);
    }

    #[test]
    fn a_cloned_require_layer_takes_one_reference_count() {
        let layer = RequireLayer::<Subject>::new(["orders:read"], ["admin"]);
        let copy = layer.clone();
        assert!(Arc::ptr_eq(&layer.settings, &copy.settings));
        assert_eq!(Arc::strong_count(&layer.settings), 2);
    }

    proptest::proptest! {
        /// The encoded-separator scan agrees with searching a lower-cased copy.
        #[test]
        fn encoded_separators_are_found_in_any_letter_case(
            path in "[/a-z%25ECFcfe.]{0,16}",
        ) {
            let lower = path.to_ascii_lowercase();
            let reference =
                lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c");
            proptest::prop_assert_eq!(encoded_separator(&path), reference, "{}", path);
        }

        #[test]
        fn the_authorization_syntax_check_agrees_with_its_text_form(
            scheme in "(Bearer|bearer|BEARER|Basic|Bear|)",
            spaces in " {0,3}",
            token in "[A-Za-z0-9._~+/= \\t\u{80}-\u{ff}-]{0,12}",
        ) {
            let Ok(value) = HeaderValue::from_bytes(format!("{scheme}{spaces}{token}").as_bytes()) else {
                return Ok(());
            };
            let mut headers = http::HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.clone());
            let got = match credential(&headers) {
                Credential::Token(token) => Some(token.to_owned()),
                Credential::Malformed => None,
                Credential::Missing => unreachable!("a header was sent"),
            };
            proptest::prop_assert_eq!(got, reference(&value));
        }
    }
}
