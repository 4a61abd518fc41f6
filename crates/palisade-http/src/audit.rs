//! Audit events through palisade-audit: what the defences refused, recorded by one layer.

use std::{
    borrow::Cow,
    fmt,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use http::{Method, Request, Response, StatusCode};
use palisade_audit::{AuditLog, Event, Outcome};
use tower::{Layer, Service};

use crate::{
    client::client_addr,
    future::{OnResult, ResponseFuture},
    request_id::request_id,
};

/// Where audit events go.
///
/// Implemented for `Mutex<AuditLog>` (appends; a failed append is logged at `ERROR` on the
/// target `palisade_http::audit` and the request goes on) and for any `Fn(Event)`, so events
/// can be sent to a channel and appended by a task that owns the log, off the request path.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event. Called on the request path: keep it short.
    fn record(&self, event: Event);
}

impl AuditSink for Mutex<AuditLog> {
    fn record(&self, event: Event) {
        // A panic while appending left the log's state unknown: refuse to write.
        let Ok(mut log) = self.lock() else {
            tracing::error!(target: "palisade_http::audit", "audit log lock poisoned");
            return;
        };
        if let Err(error) = log.append(event) {
            tracing::error!(target: "palisade_http::audit", %error, "audit append failed");
        }
    }
}

impl<F> AuditSink for F
where
    F: Fn(Event) + Send + Sync + 'static,
{
    fn record(&self, event: Event) {
        self(event);
    }
}

/// A security decision reported in a response's extensions, for [`AuditLayer`] to record.
///
/// palisade's layers attach one to every response they refuse (`auth.bearer` with the reason
/// `expired`, say). A handler can attach its own (a failed login, a role change) with
/// `response.extensions_mut().insert(SecurityEvent::new(...))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    action: Cow<'static, str>,
    outcome: Outcome,
    reason: Option<Cow<'static, str>>,
    actor: Option<String>,
    fields: Vec<(Cow<'static, str>, String)>,
}

impl SecurityEvent {
    /// An event for `action` (a dotted name such as `auth.bearer`) that ended with `outcome`.
    pub fn new(action: impl Into<Cow<'static, str>>, outcome: Outcome) -> Self {
        Self {
            action: action.into(),
            outcome,
            reason: None,
            actor: None,
            fields: Vec::new(),
        }
    }

    /// Why (a short machine-readable word: `expired`, `bad_signature`, `missing_scope`). Goes
    /// into the audit record, never to the client.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Who (a user id or pseudonym), when known.
    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// A further detail for the audit record (`fields` = `phone,address`, say). Never put a
    /// secret or personal data here: the record is kept for years.
    #[must_use]
    pub fn field(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The action's name.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The reason, if one was given.
    pub fn reason_text(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
}

/// Records an audit event for every response that carries a [`SecurityEvent`], and for every
/// other 401, 403 and 429 response (`http.unauthenticated`, `http.forbidden`,
/// `http.rate_limited`), with the client address, the request id and the method and path as
/// target (no query).
///
/// Put it outside the defences (bearer, CSRF, rate limit) and inside the request-id layer.
#[derive(Clone)]
pub struct AuditLayer {
    sink: Arc<dyn AuditSink>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer").finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer recording into `sink`.
    pub fn new(sink: impl AuditSink) -> Self {
        Self {
            sink: Arc::new(sink),
        }
    }

    /// A layer recording into a shared sink (an `Arc<Mutex<AuditLog>>` also used elsewhere).
    pub fn from_arc(sink: Arc<dyn AuditSink>) -> Self {
        Self { sink }
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            sink: self.sink.clone(),
        }
    }
}

/// The service of [`AuditLayer`].
#[derive(Clone)]
pub struct Audit<S> {
    inner: S,
    sink: Arc<dyn AuditSink>,
}

impl<S: fmt::Debug> fmt::Debug for Audit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audit")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// What the audit record needs from the request.
pub struct AuditHook {
    sink: Arc<dyn AuditSink>,
    method: Method,
    path: String,
    request_id: Option<String>,
    client: Option<String>,
}

impl fmt::Debug for AuditHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditHook")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<B, E> OnResult<Response<B>, E> for AuditHook {
    fn on_result(self, result: &mut Result<Response<B>, E>) {
        let Ok(response) = result else { return };
        let status = response.status();
        let reported = response.extensions().get::<SecurityEvent>().cloned();
        let reported = reported.or_else(|| match status {
            StatusCode::UNAUTHORIZED => {
                Some(SecurityEvent::new("http.unauthenticated", Outcome::Failure))
            }
            StatusCode::FORBIDDEN => Some(SecurityEvent::new("http.forbidden", Outcome::Denied)),
            StatusCode::TOO_MANY_REQUESTS => {
                Some(SecurityEvent::new("http.rate_limited", Outcome::Denied))
            }
            _ => None,
        });
        let Some(reported) = reported else { return };
        let mut event = Event::new(reported.action.into_owned())
            .outcome(reported.outcome)
            .target(format!("{} {}", self.method, self.path))
            .field("status", status.as_u16());
        if let Some(reason) = reported.reason {
            event = event.field("reason", reason.into_owned());
        }
        for (name, value) in reported.fields {
            event = event.field(name.into_owned(), value);
        }
        if let Some(actor) = reported.actor {
            event = event.actor(actor);
        }
        if let Some(client) = self.client {
            event = event.client(client);
        }
        if let Some(id) = self.request_id {
            event = event.request_id(id);
        }
        self.sink.record(event);
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, AuditHook>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let hook = AuditHook {
            sink: self.sink.clone(),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            request_id: request_id(request.extensions(), request.headers()),
            client: client_addr(request.extensions()).map(|ip| ip.to_string()),
        };
        ResponseFuture::new(self.inner.call(request), hook)
    }
}
