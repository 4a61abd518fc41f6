//! Audit events through palisade-audit: what the defences refused, recorded by one layer.

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http::{Request, Response, StatusCode};
use palisade_audit::{AuditLog, Event, Outcome};
use tower::Service;

use crate::{
    facts::{Facts, facts},
    future::{OnResult, ResponseFuture},
    service::layer_service,
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
///
/// With [`aggregate_refusals`](Self::aggregate_refusals), a flood of refusals costs one record
/// per window instead of one per request.
#[derive(Clone)]
pub struct AuditLayer {
    /// One reference count for the whole layer: the stack is cloned for each request, and
    /// each request's hook holds it too.
    settings: Arc<AuditSettings>,
}

struct AuditSettings {
    sink: Arc<dyn AuditSink>,
    refusals: Option<Refusals>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer").finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer recording into `sink`.
    pub fn new(sink: impl AuditSink) -> Self {
        Self::from_arc(Arc::new(sink))
    }

    /// A layer recording into a shared sink (an `Arc<Mutex<AuditLog>>` also used elsewhere).
    pub fn from_arc(sink: Arc<dyn AuditSink>) -> Self {
        Self {
            settings: Arc::new(AuditSettings {
                sink,
                refusals: None,
            }),
        }
    }

    /// Folds repeated refusals (401, 403 and 429 responses) into one record per `window`.
    ///
    /// The first refusal of a kind is recorded at once; further refusals of the same kind
    /// (same client, action, reason, status, actor, fields and method and path) within the
    /// window are only counted, and the count is recorded when the window has closed, as the
    /// same event with the fields `repeated` (how many were folded) and `window_secs` and
    /// without a request id. Call [`flush_refusals`](Self::flush_refusals) on a timer so the
    /// count of a flood that stopped is written too. At most `MAX_REFUSAL_KINDS` (10 000)
    /// kinds are tracked at once; beyond that, refusals are recorded one by one.
    #[must_use]
    pub fn aggregate_refusals(mut self, window: Duration) -> Self {
        self.settings = Arc::new(AuditSettings {
            sink: Arc::clone(&self.settings.sink),
            refusals: Some(Refusals::new(window, MAX_REFUSAL_KINDS)),
        });
        self
    }

    /// Records the counts of every refusal window that has closed (see
    /// [`aggregate_refusals`](Self::aggregate_refusals)); with `all`, of every open window too
    /// (at shutdown).
    pub fn flush_refusals(&self, all: bool) {
        let settings = &*self.settings;
        if let Some(refusals) = &settings.refusals {
            for event in refusals.flush(Instant::now(), all) {
                settings.sink.record(event);
            }
        }
    }
}

/// The most refusal kinds [`AuditLayer::aggregate_refusals`] tracks at once.
pub const MAX_REFUSAL_KINDS: usize = 10_000;

/// What makes two refusals "the same" for aggregation: everything recorded but the request id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RefusalKind {
    action: String,
    outcome: &'static str,
    status: u16,
    target: String,
    client: Option<String>,
    reason: Option<String>,
    actor: Option<String>,
    fields: Vec<(String, String)>,
}

impl RefusalKind {
    fn event(&self) -> Event {
        let mut event = Event::new(self.action.clone())
            .outcome(Outcome::from_name(self.outcome))
            .target(self.target.clone())
            .field("status", self.status);
        if let Some(reason) = &self.reason {
            event = event.field("reason", reason.clone());
        }
        for (name, value) in &self.fields {
            event = event.field(name.clone(), value.clone());
        }
        if let Some(actor) = &self.actor {
            event = event.actor(actor.clone());
        }
        if let Some(client) = &self.client {
            event = event.client(client.clone());
        }
        event
    }
}

/// The open windows of [`AuditLayer::aggregate_refusals`].
struct Refusals {
    window: Duration,
    max_kinds: usize,
    open: Mutex<HashMap<RefusalKind, Window>>,
}

struct Window {
    opened: Instant,
    repeated: u64,
}

/// What to do with one refusal.
#[derive(Debug, PartialEq, Eq)]
enum Fold {
    /// Record it now (the first of its window, or untracked).
    Record,
    /// Counted in an open window.
    Counted,
}

impl Refusals {
    fn new(window: Duration, max_kinds: usize) -> Self {
        Self {
            window,
            max_kinds,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn summary(&self, kind: &RefusalKind, repeated: u64) -> Event {
        kind.event()
            .field("repeated", repeated)
            .field("window_secs", self.window.as_secs())
    }

    /// Folds one refusal at `now`; returns whether to record it, and the counts of windows it
    /// closed.
    fn fold(&self, kind: &RefusalKind, now: Instant) -> (Fold, Vec<Event>) {
        let mut closed = Vec::new();
        // A poisoned lock only means a panic elsewhere mid-update; the map stays usable.
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(window) = open.get_mut(kind) {
            if now.saturating_duration_since(window.opened) < self.window {
                window.repeated += 1;
                return (Fold::Counted, closed);
            }
            if window.repeated > 0 {
                closed.push(self.summary(kind, window.repeated));
            }
            *window = Window {
                opened: now,
                repeated: 0,
            };
            return (Fold::Record, closed);
        }
        if open.len() >= self.max_kinds {
            closed.extend(self.close(&mut open, now, false));
        }
        if open.len() < self.max_kinds {
            let _ = open.insert(
                kind.clone(),
                Window {
                    opened: now,
                    repeated: 0,
                },
            );
        }
        (Fold::Record, closed)
    }

    fn close(
        &self,
        open: &mut HashMap<RefusalKind, Window>,
        now: Instant,
        all: bool,
    ) -> Vec<Event> {
        let mut closed = Vec::new();
        open.retain(|kind, window| {
            let keep = !all && now.saturating_duration_since(window.opened) < self.window;
            if !keep && window.repeated > 0 {
                closed.push(self.summary(kind, window.repeated));
            }
            keep
        });
        closed
    }

    fn flush(&self, now: Instant, all: bool) -> Vec<Event> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.close(&mut open, now, all)
    }
}

layer_service! {
    /// The service of [`AuditLayer`].
    pub struct Audit<S> of AuditLayer;
}

/// What the audit record needs from the request, kept as the request had it (shared, not
/// copied) and turned into text only when a record is written.
pub struct AuditHook {
    settings: Arc<AuditSettings>,
    facts: Arc<Facts>,
}

impl fmt::Debug for AuditHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditHook")
            .field("method", self.facts.method())
            .field("path", &self.facts.path())
            .finish_non_exhaustive()
    }
}

impl AuditHook {
    /// The record's target: the method and the path, without the query.
    fn target(&self) -> String {
        format!("{} {}", self.facts.method(), self.facts.path())
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
        let sink = &*self.settings.sink;
        if let Some(refusals) = &self.settings.refusals
            && matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
            )
        {
            let kind = RefusalKind {
                action: reported.action.into_owned(),
                outcome: reported.outcome.as_str(),
                status: status.as_u16(),
                target: self.target(),
                client: self.facts.client().map(str::to_owned),
                reason: reported.reason.map(Cow::into_owned),
                actor: reported.actor,
                fields: reported
                    .fields
                    .into_iter()
                    .map(|(name, value)| (name.into_owned(), value))
                    .collect(),
            };
            let (fold, closed) = refusals.fold(&kind, Instant::now());
            for summary in closed {
                sink.record(summary);
            }
            if fold == Fold::Record {
                let mut event = kind.event();
                if let Some(id) = self.facts.request_id() {
                    event = event.request_id(id.to_owned());
                }
                // Not part of the kind: a client could otherwise open a window per request.
                if let Some(id) = self.facts.client_request_id() {
                    event = event.field("client_request_id", id.to_string());
                }
                sink.record(event);
            }
            return;
        }
        let mut event = Event::new(reported.action.into_owned())
            .outcome(reported.outcome)
            .target(self.target())
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
        if let Some(client) = self.facts.client() {
            event = event.client(client.to_owned());
        }
        if let Some(id) = self.facts.request_id() {
            event = event.request_id(id.to_owned());
        }
        if let Some(id) = self.facts.client_request_id() {
            event = event.field("client_request_id", id.to_string());
        }
        sink.record(event);
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let hook = AuditHook {
            settings: Arc::clone(&self.layer.settings),
            facts: facts(&mut request),
        };
        ResponseFuture::new(self.inner.call(request), hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stack is cloned for each request: the layer is one reference count to clone, with
    /// or without refusal aggregation (each request's hook holds the same one).
    #[test]
    fn a_cloned_audit_layer_takes_one_reference_count() {
        for layer in [
            AuditLayer::new(|_event| {}),
            AuditLayer::new(|_event| {}).aggregate_refusals(Duration::from_secs(60)),
        ] {
            let sink = Arc::clone(&layer.settings.sink);
            let copy = layer.clone();
            assert!(Arc::ptr_eq(&layer.settings, &copy.settings));
            assert_eq!(Arc::strong_count(&layer.settings), 2);
            assert_eq!(Arc::strong_count(&sink), 2, "ours and the settings'");
        }
    }

    fn kind(client: &str) -> RefusalKind {
        RefusalKind {
            action: "auth.bearer".into(),
            outcome: "failure",
            status: 401,
            target: "GET /me".into(),
            client: Some(client.into()),
            reason: Some("missing".into()),
            actor: None,
            fields: Vec::new(),
        }
    }

    #[test]
    fn repeated_refusals_are_recorded_once_per_window_with_their_count() {
        let refusals = Refusals::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        assert_eq!(refusals.fold(&kind("192.0.2.1"), t0).0, Fold::Record);
        for i in 1..300 {
            let (fold, closed) = refusals.fold(&kind("192.0.2.1"), t0 + Duration::from_millis(i));
            assert_eq!(fold, Fold::Counted);
            assert!(closed.is_empty());
        }
        // Another client is its own kind.
        assert_eq!(refusals.fold(&kind("192.0.2.2"), t0).0, Fold::Record);
        assert!(
            refusals
                .flush(t0 + Duration::from_secs(9), false)
                .is_empty()
        );
        let closed = refusals.flush(t0 + Duration::from_secs(10), false);
        assert_eq!(
            closed.len(),
            1,
            "only the window with repeats writes a count"
        );
        // The next refusal after the window is recorded again.
        assert_eq!(
            refusals
                .fold(&kind("192.0.2.1"), t0 + Duration::from_secs(11))
                .0,
            Fold::Record
        );
    }

    #[test]
    fn a_closed_window_is_counted_by_the_next_refusal_of_its_kind() {
        let refusals = Refusals::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        let _ = refusals.fold(&kind("192.0.2.1"), t0);
        let _ = refusals.fold(&kind("192.0.2.1"), t0 + Duration::from_secs(1));
        let (fold, closed) = refusals.fold(&kind("192.0.2.1"), t0 + Duration::from_secs(12));
        assert_eq!(fold, Fold::Record);
        assert_eq!(closed.len(), 1);
    }

    #[test]
    fn beyond_the_kind_cap_refusals_are_recorded_one_by_one() {
        let refusals = Refusals::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        let _ = refusals.fold(&kind("192.0.2.1"), t0);
        let _ = refusals.fold(&kind("192.0.2.2"), t0);
        for _ in 0..3 {
            assert_eq!(refusals.fold(&kind("192.0.2.3"), t0).0, Fold::Record);
        }
        assert!(refusals.open.lock().unwrap().len() <= 2);
        assert!(
            refusals.flush(t0, true).is_empty(),
            "no repeats were folded"
        );
    }
}
