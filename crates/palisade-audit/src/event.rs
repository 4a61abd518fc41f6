//! The event schema.

use std::borrow::Cow;

use palisade_redact::Redactor;
use serde_json::{Map, Value};

use crate::json;

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

    /// The event redacted: every text field and every extra field through the redactor, as
    /// a record will carry it. Text the redactor leaves alone is moved, not copied.
    pub(crate) fn redact(self, redactor: &Redactor) -> RedactedEvent {
        let text = |s: String| {
            match redactor.redact(&s) {
                Cow::Owned(r) => Some(r),
                Cow::Borrowed(_) => None,
            }
            .unwrap_or(s)
        };
        let fields = (!self.fields.is_empty()).then(|| {
            let mut fields = Value::Object(self.fields);
            redactor.redact_json(&mut fields);
            fields
        });
        RedactedEvent {
            action: text(self.action),
            outcome: self.outcome,
            actor: self.actor.map(text),
            client: self.client.map(text),
            target: self.target.map(text),
            request_id: self.request_id.map(text),
            fields,
        }
    }
}

/// An [`Event`] after redaction: what a record's `event` member holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RedactedEvent {
    action: String,
    outcome: Outcome,
    actor: Option<String>,
    client: Option<String>,
    target: Option<String>,
    request_id: Option<String>,
    /// The extra fields, redacted, as one JSON object; `None` when there are none.
    fields: Option<Value>,
}

impl RedactedEvent {
    /// Writes the event's JSON object into `out`: byte for byte what `serde_json` writes for
    /// [`to_json`](Self::to_json)'s object, members in the order of `serde_json`'s map (sorted
    /// by name) and text escaped as `serde_json` escapes it, without building the map.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        let text = |out: &mut Vec<u8>, member: &[u8], value: &str| {
            out.extend_from_slice(member);
            json::push_str(out, value);
        };
        text(out, b"{\"action\":", &self.action);
        if let Some(actor) = &self.actor {
            text(out, b",\"actor\":", actor);
        }
        if let Some(client) = &self.client {
            text(out, b",\"client\":", client);
        }
        if let Some(fields) = &self.fields {
            out.extend_from_slice(b",\"fields\":");
            json::push_value(out, fields);
        }
        text(out, b",\"outcome\":", self.outcome.as_str());
        if let Some(id) = &self.request_id {
            text(out, b",\"request_id\":", id);
        }
        if let Some(target) = &self.target {
            text(out, b",\"target\":", target);
        }
        out.push(b'}');
    }

    /// The event as a JSON object (as read back from a record).
    #[cfg(test)]
    pub(crate) fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("action".into(), Value::from(self.action.as_str()));
        out.insert("outcome".into(), Value::from(self.outcome.as_str()));
        for (name, value) in [
            ("actor", &self.actor),
            ("client", &self.client),
            ("target", &self.target),
            ("request_id", &self.request_id),
        ] {
            if let Some(v) = value {
                out.insert(name.into(), Value::from(v.as_str()));
            }
        }
        if let Some(fields) = &self.fields {
            out.insert("fields".into(), fields.clone());
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use palisade_redact::Redactor;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::{Event, Outcome};

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Success),
            Just(Outcome::Failure),
            Just(Outcome::Denied),
            Just(Outcome::Unknown),
        ]
    }

    /// Text with what JSON must escape (quotes, backslashes, control characters), multi-byte
    /// characters and things the redactor replaces.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,24}",
            "[\"\\\\\\x00-\\x1f\\x7f a-z\u{e9}\u{2028}\u{1f600}]{0,16}",
            Just("password=hunter2".to_owned()),
            Just("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345".to_owned()),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        /// The event member written straight from the redacted event is, byte for byte, what
        /// serde_json writes for the event's JSON object (the first encoder's way).
        #[test]
        fn written_json_is_what_serde_json_writes(
            action in text(),
            outcome in outcome(),
            actor in proptest::option::of(text()),
            client in proptest::option::of(text()),
            target in proptest::option::of(text()),
            request_id in proptest::option::of(text()),
            fields in prop::collection::vec(
                (prop_oneof![text(), Just("password".to_owned()), Just("token".to_owned())], value()),
                0..5,
            ),
        ) {
            let mut event = Event::new(action).outcome(outcome);
            if let Some(a) = actor { event = event.actor(a); }
            if let Some(c) = client { event = event.client(c); }
            if let Some(t) = target { event = event.target(t); }
            if let Some(r) = request_id { event = event.request_id(r); }
            for (name, v) in fields {
                event = event.field(name, v);
            }
            let redacted = event.redact(&Redactor::new());
            let mut written = b"prefix".to_vec();
            redacted.write_json(&mut written);
            let expected = serde_json::to_vec(&redacted.to_json()).unwrap();
            prop_assert_eq!(&written[6..], &expected[..]);
        }
    }

    /// Redaction is the same whether or not the event is written straight: a secret in any
    /// field never reaches the JSON.
    #[test]
    fn secrets_in_every_field_are_redacted_before_writing() {
        let secret = "AKIAIOSFODNN7EXAMPLE";
        let event = Event::new(format!("key {secret} used"))
            .actor(format!("key {secret} used"))
            .client(format!("key {secret} used"))
            .target("https://bob:hunter2@db.internal/")
            .request_id(format!("key {secret} used"))
            .field("note", format!("x {secret}"))
            .field("password", "hunter2");
        let mut written = Vec::new();
        event.redact(&Redactor::new()).write_json(&mut written);
        let written = String::from_utf8(written).unwrap();
        assert!(!written.contains(secret), "{written}");
        assert!(!written.contains("hunter2"), "{written}");
        let parsed: Value = serde_json::from_str(&written).unwrap();
        assert!(parsed.is_object());
    }
}
