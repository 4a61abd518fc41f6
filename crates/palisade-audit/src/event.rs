//! The event schema.

use palisade_redact::Redactor;
use serde_json::{Map, Value};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was attempted and failed (a wrong password, a failed rotation).
    Failure,
    /// It was refused by an authorization decision.
    Denied,
    /// Not known, or not applicable.
    #[default]
    Unknown,
}

impl Outcome {
    /// The name written into records: `success`, `failure`, `denied` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
            Self::Unknown => "unknown",
        }
    }

    /// The outcome named `name` (as written by [`as_str`](Self::as_str)); others are `Unknown`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "success" | "ok" | "allowed" => Self::Success,
            "failure" | "failed" | "error" => Self::Failure,
            "denied" | "forbidden" => Self::Denied,
            _ => Self::Unknown,
        }
    }
}

/// One security event: who did what to what, from where, and how it ended.
///
/// The log adds the time (UTC) and the sequence number. Every text field and every extra field
/// passes through palisade-redact before anything is hashed or written, because a secret
/// written into an append-only log cannot be taken out again.
///
/// ```
/// use palisade_audit::{Event, Outcome};
///
/// let event = Event::new("auth.login")
///     .actor("user:42")
///     .client("203.0.113.9")
///     .target("session")
///     .outcome(Outcome::Failure)
///     .request_id("req-7f3a")
///     .field("method", "password")
///     .field("attempt", 3);
/// assert_eq!(event.action_name(), "auth.login");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    action: String,
    actor: Option<String>,
    client: Option<String>,
    target: Option<String>,
    outcome: Outcome,
    request_id: Option<String>,
    fields: Map<String, Value>,
}

impl Event {
    /// An event for `action` (a dotted name such as `auth.login` or `key.rotate`).
    pub fn new(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            actor: None,
            client: None,
            target: None,
            outcome: Outcome::Unknown,
            request_id: None,
            fields: Map::new(),
        }
    }

    /// Who acted: a user id, a service name, or a pseudonym from
    /// [`Pseudonyms`](crate::Pseudonyms).
    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// The client's address, as the service determined it.
    #[must_use]
    pub fn client(mut self, address: impl Into<String>) -> Self {
        self.client = Some(address.into());
        self
    }

    /// What was acted on: an account, a key, a record.
    #[must_use]
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// How it ended.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The request id, to join the record with other logs.
    #[must_use]
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// A structured extra field. Setting a name twice keeps the last value.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// The action's name.
    pub fn action_name(&self) -> &str {
        &self.action
    }

    /// The event as the JSON object a record carries, redacted. Fields left unset are omitted.
    pub(crate) fn into_redacted_json(self, redactor: &Redactor) -> Value {
        let text = |s: &str| Value::String(redactor.redact(s).into_owned());
        let mut out = Map::new();
        out.insert("action".into(), text(&self.action));
        out.insert("outcome".into(), Value::from(self.outcome.as_str()));
        for (name, value) in [
            ("actor", &self.actor),
            ("client", &self.client),
            ("target", &self.target),
            ("request_id", &self.request_id),
        ] {
            if let Some(v) = value {
                out.insert(name.into(), text(v));
            }
        }
        if !self.fields.is_empty() {
            let mut fields = Value::Object(self.fields);
            redactor.redact_json(&mut fields);
            out.insert("fields".into(), fields);
        }
        Value::Object(out)
    }
}
