//! palisade-token behind [`BearerLayer`](crate::BearerLayer) and
//! [`CsrfLayer`](crate::CsrfLayer).

use std::{
    any::Any, borrow::Cow, fmt, future::Future, marker::PhantomData, sync::Arc, time::Duration,
};

use http::{HeaderMap, Method, header};
use palisade_token::{
    ConfigError, TokenError,
    csrf::{CsrfTokens, Decision, OriginPolicy, RequestOrigin},
    jwt::{CachedVerifier, Claims, Verifier},
    revocation::RevocationList,
    store::RevocationStore,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{
    auth::{Authorized, Rejection, TokenVerifier},
    csrf::CsrfCheck,
};

impl<T> Authorized for Claims<T> {
    fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    fn has_scope(&self, scope: &str) -> bool {
        Claims::has_scope(self, scope)
    }

    fn has_role(&self, role: &str) -> bool {
        Claims::has_role(self, role)
    }
}

/// A check run after the signature and claims: is this token revoked?
pub trait Revocation: Send + Sync + 'static {
    /// `Ok` if the token may be used.
    ///
    /// # Errors
    /// The rejection to log when it is revoked or cannot be checked.
    fn check<T: Sync>(
        &self,
        claims: &Claims<T>,
    ) -> impl Future<Output = Result<(), Rejection>> + Send;
}

/// No revocation list: a verified token is valid until it expires.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRevocation;

impl Revocation for NoRevocation {
    async fn check<T: Sync>(&self, _claims: &Claims<T>) -> Result<(), Rejection> {
        Ok(())
    }
}

impl<S: RevocationStore + 'static> Revocation for RevocationList<S> {
    async fn check<T: Sync>(&self, claims: &Claims<T>) -> Result<(), Rejection> {
        match RevocationList::check(self, claims).await {
            Ok(()) => Ok(()),
            Err(TokenError::Invalid(invalid)) => Err(Rejection::new(invalid.kind().as_str())),
            // A store outage refuses the token (fail closed), with its own kind for the logs.
            Err(_) => Err(Rejection::new("revocation_unavailable")),
        }
    }
}

/// palisade-token's JWT [`Verifier`] as a [`TokenVerifier`]: the claims `Claims<T>` go into
/// the request's extensions (axum: `Extension<Claims<T>>`), and the rejection's kind
/// (`expired`, `bad_signature`, `alg_none`...) goes to the log.
///
/// With [`revocation`](Self::revocation), each verified token is also checked against a
/// palisade-token `RevocationList` (by `jti`); a store failure refuses the token.
pub struct JwtVerifier<T = Map<String, Value>, R = NoRevocation> {
    verifier: Verifying,
    revocation: R,
    claims: PhantomData<fn() -> T>,
}

/// Every token verified in full, or the ones that passed remembered.
#[derive(Debug)]
enum Verifying {
    Each(Verifier),
    Remembered(CachedVerifier),
}

impl<T, R> fmt::Debug for JwtVerifier<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Verifies with `verifier`, no revocation list; the application's claims stay a JSON map
    /// (`Claims<Map<String, Value>>`, which is `Claims` with its default parameter).
    pub fn new(verifier: Verifier) -> Self {
        Self::typed(verifier)
    }
}

impl<T> JwtVerifier<T, NoRevocation> {
    /// Verifies with `verifier`, no revocation list, deserializing the application's claims
    /// into `T` (`Claims<T>` in the request's extensions).
    pub fn typed(verifier: Verifier) -> Self {
        Self {
            verifier: Verifying::Each(verifier),
            revocation: NoRevocation,
            claims: PhantomData,
        }
    }
}

impl<T, R> JwtVerifier<T, R> {
    /// Remembers up to `capacity` tokens that passed, each for at most `ttl`, and serves
    /// them again without their signature or JSON (palisade-token's [`CachedVerifier`]: the
    /// checks that depend on the time run on every request, refused tokens are never
    /// remembered). The revocation list, if any, is still consulted on every request.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] for a capacity outside 1 to 1,048,576 or a lifetime
    /// outside 1 second to 1 hour.
    pub fn remember_verified(self, capacity: usize, ttl: Duration) -> Result<Self, ConfigError> {
        let verifier = match self.verifier {
            Verifying::Each(verifier) => verifier,
            Verifying::Remembered(cached) => cached.into_verifier(),
        };
        Ok(Self {
            verifier: Verifying::Remembered(CachedVerifier::new(verifier, capacity, ttl)?),
            ..self
        })
    }

    /// Also checks every verified token against `list`.
    pub fn revocation<S: RevocationStore + 'static>(
        self,
        list: RevocationList<S>,
    ) -> JwtVerifier<T, RevocationList<S>> {
        JwtVerifier {
            verifier: self.verifier,
            revocation: list,
            claims: PhantomData,
        }
    }

    /// Hands out the verified claims as `Arc<Claims<T>>` instead of `Claims<T>` (axum:
    /// `Extension<Arc<Claims<T>>>`, `RequireLayer::<Arc<Claims<T>>>`). With
    /// [`remember_verified`](Self::remember_verified) a remembered token's claims are the ones
    /// in memory, shared rather than copied (every string of the token) into each request;
    /// cloning them out of the request's extensions is a reference count too. Call it last,
    /// after the other settings.
    pub fn shared_claims(self) -> SharedClaimsVerifier<T, R> {
        SharedClaimsVerifier(self)
    }
}

/// A [`JwtVerifier`] whose claims go into the request's extensions as `Arc<Claims<T>>`: see
/// [`JwtVerifier::shared_claims`]. It verifies exactly as the verifier it was made from.
pub struct SharedClaimsVerifier<T = Map<String, Value>, R = NoRevocation>(JwtVerifier<T, R>);

impl<T, R> fmt::Debug for SharedClaimsVerifier<T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClaimsVerifier")
            .field(&self.0)
            .finish()
    }
}

impl<T, R> TokenVerifier for JwtVerifier<T, R>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
    R: Revocation,
{
    type Claims = Claims<T>;

    async fn verify(&self, token: &str) -> Result<Claims<T>, Rejection> {
        let claims = self.signed(token)?;
        self.revocation.check(&claims).await?;
        Ok(claims)
    }

    /// Without a revocation list, verifying is the signature and the claims only, in memory.
    fn verify_now(&self, token: &str) -> Option<Result<Claims<T>, Rejection>> {
        self.in_memory().then(|| self.signed(token))
    }
}

impl<T, R> TokenVerifier for SharedClaimsVerifier<T, R>
where
    T: DeserializeOwned + Send + Sync + 'static,
    R: Revocation,
{
    type Claims = Arc<Claims<T>>;

    async fn verify(&self, token: &str) -> Result<Arc<Claims<T>>, Rejection> {
        let claims = self.0.signed_shared(token)?;
        self.0.revocation.check(&claims).await?;
        Ok(claims)
    }

    /// As [`JwtVerifier`]'s: at once without a revocation list.
    fn verify_now(&self, token: &str) -> Option<Result<Arc<Claims<T>>, Rejection>> {
        self.0.in_memory().then(|| self.0.signed_shared(token))
    }
}

impl<T, R> JwtVerifier<T, R>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Whether verifying needs no I/O: there is no revocation list to consult.
    fn in_memory(&self) -> bool
    where
        R: 'static,
    {
        (&self.revocation as &dyn Any).is::<NoRevocation>()
    }

    /// The claims if the signature and the registered claims check out.
    fn signed(&self, token: &str) -> Result<Claims<T>, Rejection>
    where
        T: Clone,
    {
        match &self.verifier {
            Verifying::Each(verifier) => verifier.verify::<T>(token),
            Verifying::Remembered(cached) => cached.verify::<T>(token).map(|c| Claims::clone(&c)),
        }
        .map_err(reject)
    }

    /// As [`signed`](Self::signed), the claims shared: a remembered token's are the ones in
    /// memory.
    fn signed_shared(&self, token: &str) -> Result<Arc<Claims<T>>, Rejection> {
        match &self.verifier {
            Verifying::Each(verifier) => verifier.verify::<T>(token).map(Arc::new),
            Verifying::Remembered(cached) => cached.verify::<T>(token),
        }
        .map_err(reject)
    }
}

/// The rejection for a token palisade-token refused, named by the refusal's kind.
fn reject(error: palisade_token::InvalidToken) -> Rejection {
    Rejection::new(error.kind().as_str())
}

/// palisade-token's CSRF defences as a [`CsrfCheck`]: `OriginPolicy` reads `Sec-Fetch-Site`,
/// then `Origin` (against the `Host` header and the trusted origins), then `Referer`;
/// `CsrfTokens` verifies the signed double-submit token for the session.
///
/// A request the origin policy calls cross-site is refused even with a valid token; one with
/// no browser signal at all, or from a trusted origin, still needs the token. Only the `Host`
/// header is compared (an HTTP/2 request names its authority in the URI instead): without it,
/// a browser lacking Fetch Metadata passes only from a trusted origin.
pub struct TokenCsrf {
    tokens: CsrfTokens,
    policy: OriginPolicy,
}

impl fmt::Debug for TokenCsrf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCsrf")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TokenCsrf {
    /// Tokens from `tokens`, origins judged by `policy`.
    pub fn new(tokens: CsrfTokens, policy: OriginPolicy) -> Self {
        Self { tokens, policy }
    }
}

fn text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl CsrfCheck for TokenCsrf {
    fn check_origin(&self, method: &Method, headers: &HeaderMap) -> Result<(), Cow<'static, str>> {
        let request = RequestOrigin {
            method: method.as_str(),
            sec_fetch_site: text(headers, "sec-fetch-site"),
            origin: text(headers, header::ORIGIN),
            referer: text(headers, header::REFERER),
            host: text(headers, header::HOST),
        };
        match self.policy.check(&request) {
            Decision::Allow | Decision::RequireToken => Ok(()),
            Decision::Deny => Err(Cow::Borrowed("cross_site")),
            _ => Err(Cow::Borrowed("origin_undecided")),
        }
    }

    fn verify_token(&self, session_id: &str, cookie: &str, submitted: &str) -> bool {
        self.tokens.verify(session_id, cookie, submitted).is_ok()
    }
}
