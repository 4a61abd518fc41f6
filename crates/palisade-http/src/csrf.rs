//! CSRF protection for cookie-authenticated, state-changing requests: a Fetch Metadata check
//! and a signed double-submit token bound to the session.

use std::{
    borrow::Cow,
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode};
use palisade_audit::Outcome;
use tower::Service;

use crate::service::layer_service;
use crate::{
    Problem, ResponseBody, SecurityEvent,
    cookie::{CookieValue, cookie},
    future::LayerFuture,
    request_id::request_id,
    telemetry,
};

/// The tracing target of CSRF refusals.
pub const CSRF_TARGET: &str = "palisade_http::csrf";

/// The checks behind [`CsrfLayer`]. palisade-token's CSRF protector implements it.
pub trait CsrfCheck: Send + Sync + 'static {
    /// Whether the browser says the request came from a site that may make it (Fetch
    /// Metadata, with an `Origin`/`Referer` fallback).
    ///
    /// # Errors
    /// The reason for logs and audit records when the request is cross-site.
    fn check_origin(&self, method: &Method, headers: &HeaderMap) -> Result<(), Cow<'static, str>>;

    /// Whether `cookie` and `submitted` (the header) are the same double-submit token, signed
    /// for the session `session_id`. Compare in constant time.
    fn verify_token(&self, session_id: &str, cookie: &str, submitted: &str) -> bool;
}

/// Refuses cross-site and token-less state-changing requests that carry the session cookie.
///
/// A request is checked when its method is not safe (`GET`, `HEAD`, `OPTIONS`, `TRACE` are)
/// and it carries the session cookie: only then does the browser lend it authority the page
/// that sent it may not have. Requests authenticated by a bearer token are not checked; a
/// browser never attaches those on its own. A checked request passes when
///
/// 1. [`CsrfCheck::check_origin`] accepts its Fetch Metadata or origin;
/// 2. the CSRF header and the CSRF cookie are both present, once each; and
/// 3. [`CsrfCheck::verify_token`] finds them equal and signed for the session id in the
///    session cookie (so a token planted by a sibling domain for another session fails).
///
/// Otherwise it gets `403` with a [`Problem`] and a [`SecurityEvent`] `csrf` naming the reason.
/// A session cookie sent twice is refused: which one is genuine cannot be told.
pub struct CsrfLayer<C> {
    check: Arc<C>,
    session_cookie: Arc<str>,
    token_cookie: Arc<str>,
    token_header: HeaderName,
}

impl<C> Clone for CsrfLayer<C> {
    fn clone(&self) -> Self {
        Self {
            check: self.check.clone(),
            session_cookie: self.session_cookie.clone(),
            token_cookie: self.token_cookie.clone(),
            token_header: self.token_header.clone(),
        }
    }
}

impl<C> fmt::Debug for CsrfLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("session_cookie", &self.session_cookie)
            .field("token_cookie", &self.token_cookie)
            .field("token_header", &self.token_header)
            .finish_non_exhaustive()
    }
}

impl<C: CsrfCheck> CsrfLayer<C> {
    /// Protects requests carrying the cookie `session_cookie`; the token travels in the
    /// `csrf_token` cookie and the `x-csrf-token` header.
    pub fn new(check: C, session_cookie: &str) -> Self {
        Self {
            check: Arc::new(check),
            session_cookie: Arc::from(session_cookie),
            token_cookie: Arc::from("csrf_token"),
            token_header: HeaderName::from_static("x-csrf-token"),
        }
    }

    /// The cookie holding the token.
    #[must_use]
    pub fn token_cookie(mut self, name: &str) -> Self {
        self.token_cookie = Arc::from(name);
        self
    }

    /// The header echoing the token.
    #[must_use]
    pub fn token_header(mut self, name: HeaderName) -> Self {
        self.token_header = name;
        self
    }

    /// `Ok` if the request may pass, else the reason.
    fn decide(&self, method: &Method, headers: &HeaderMap) -> Result<(), Cow<'static, str>> {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) {
            return Ok(());
        }
        let session = match cookie(headers, &self.session_cookie) {
            CookieValue::Absent => return Ok(()),
            CookieValue::Ambiguous => return Err("ambiguous_session_cookie".into()),
            CookieValue::One(session) => session,
        };
        self.check.check_origin(method, headers)?;
        let mut sent = headers.get_all(&self.token_header).iter();
        let header = match (sent.next(), sent.next()) {
            (Some(value), None) => value.to_str().map_err(|_| "malformed_token")?,
            (None, _) => return Err("missing_token".into()),
            (Some(_), Some(_)) => return Err("duplicate_token".into()),
        };
        let CookieValue::One(cookie_token) = cookie(headers, &self.token_cookie) else {
            return Err("missing_token_cookie".into());
        };
        if !self.check.verify_token(session, cookie_token, header) {
            return Err("bad_token".into());
        }
        Ok(())
    }
}

layer_service! {
    /// The service of [`CsrfLayer`].
    pub struct Csrf<S, C> of CsrfLayer<C>;
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for Csrf<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    C: CsrfCheck,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self.layer.decide(request.method(), request.headers()) {
            Ok(()) => LayerFuture::passed(self.inner.call(request)),
            Err(reason) => {
                telemetry::refusal("csrf", telemetry::csrf_reason(&reason));
                let id = request_id(request.extensions(), request.headers());
                tracing::warn!(
                    target: CSRF_TARGET,
                    request_id = id.as_deref().unwrap_or("-"),
                    kind = %reason,
                    "cross-site request refused",
                );
                let mut problem = Problem::new(StatusCode::FORBIDDEN);
                if let Some(id) = id {
                    problem = problem.with_request_id(id);
                }
                let mut response = problem.into_response();
                response
                    .extensions_mut()
                    .insert(SecurityEvent::new("csrf", Outcome::Denied).reason(reason));
                LayerFuture::ready(response)
            }
        }
    }
}
