//! A tracing-subscriber layer that records events with the audit target.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use serde_json::Value;
use tracing_core::{
    Event as TracingEvent, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::layer::{Context, Layer};

use crate::{
    event::{Event, Outcome},
    log::AuditLog,
};

/// The tracing target that marks audit events: `tracing::info!(target: "audit", …)`.
pub const AUDIT_TARGET: &str = "audit";

/// Turns tracing events whose target is [`AUDIT_TARGET`] (or starts with `audit::`) into audit
/// records, so an application records audit events with the logging calls it already uses.
///
/// Fields named `action`, `actor`, `client`, `resource` (the record's target; `target` is
/// taken by tracing itself), `outcome` (`success`, `failure`, `denied`) and `request_id` fill
/// the event's schema; without an `action` field the message is the action. Every other field
/// becomes an extra field, and everything is redacted as [`AuditLog::append`] does. Other
/// events are ignored.
///
/// A layer cannot return an error: a failed append is counted in
/// [`failures`](Self::failures), which a health check should watch.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use palisade_audit::{AuditLayer, AuditLog};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-layer-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let log = AuditLog::builder(&dir)
///     .create_with(|_bundle| Ok(())) // a real log keeps its bundle: see `create`
///     .unwrap();
/// let log = Arc::new(Mutex::new(log));
/// let layer = AuditLayer::new(Arc::clone(&log));
/// let subscriber = tracing_subscriber::registry().with(layer.clone());
///
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(target: "audit", actor = "user:42", outcome = "denied",
///                    resource = "invoice:7", "invoice.read");
///     tracing::info!("not an audit event");
/// });
/// assert_eq!(log.lock().unwrap().len(), 2); // genesis + one event
/// assert_eq!(layer.failures(), 0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone)]
pub struct AuditLayer {
    log: Arc<Mutex<AuditLog>>,
    failures: Arc<AtomicU64>,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer appending to `log`.
    pub fn new(log: Arc<Mutex<AuditLog>>) -> Self {
        Self {
            log,
            failures: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many audit events could not be appended.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

fn is_audit(target: &str) -> bool {
    target == AUDIT_TARGET
        || target
            .strip_prefix(AUDIT_TARGET)
            .is_some_and(|rest| rest.starts_with("::"))
}

#[derive(Default)]
struct Collect {
    action: Option<String>,
    message: Option<String>,
    actor: Option<String>,
    client: Option<String>,
    resource: Option<String>,
    outcome: Option<String>,
    request_id: Option<String>,
    fields: Vec<(String, Value)>,
}

impl Collect {
    fn put(&mut self, field: &Field, value: Value) {
        let text = || match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match field.name() {
            "action" => self.action = Some(text()),
            "message" => self.message = Some(text()),
            "actor" => self.actor = Some(text()),
            "client" => self.client = Some(text()),
            "resource" | "target" => self.resource = Some(text()),
            "outcome" => self.outcome = Some(text()),
            "request_id" => self.request_id = Some(text()),
            name => self.fields.push((name.to_owned(), value)),
        }
    }

    fn into_event(self) -> Event {
        let action = self
            .action
            .or(self.message)
            .unwrap_or_else(|| "unnamed".to_owned());
        let mut event = Event::new(action);
        if let Some(v) = self.actor {
            event = event.actor(v);
        }
        if let Some(v) = self.client {
            event = event.client(v);
        }
        if let Some(v) = self.resource {
            event = event.target(v);
        }
        if let Some(v) = self.request_id {
            event = event.request_id(v);
        }
        if let Some(v) = self.outcome {
            event = event.outcome(Outcome::from_name(&v));
        }
        for (name, value) in self.fields {
            event = event.field(name, value);
        }
        event
    }
}

impl Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

impl<S: Subscriber> Layer<S> for AuditLayer {
    fn on_event(&self, event: &TracingEvent<'_>, _ctx: Context<'_, S>) {
        if !is_audit(event.metadata().target()) {
            return;
        }
        let mut collect = Collect::default();
        event.record(&mut collect);
        let audit = collect.into_event();
        // A panic while appending cannot leave a record half-written in memory (the log poisons
        // itself on a failed write), so a poisoned mutex's log is still usable.
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.append(audit).is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}
