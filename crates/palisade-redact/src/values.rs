//! Helpers for structured values: JSON, URLs, HTTP headers, and a wrapper that never prints.

use core::fmt;

use serde_json::Value;

use crate::{kind::Kind, redactor::Redactor, style::REDACTED};

/// JSON nesting deeper than this is replaced whole rather than walked.
const MAX_JSON_DEPTH: usize = 128;

impl Redactor {
    /// Redacts a JSON value in place: the value of every sensitive key (whatever its type)
    /// is replaced, and every string is redacted as text.
    ///
    /// ```
    /// use palisade_redact::Redactor;
    /// use serde_json::json;
    ///
    /// let mut v = json!({"user": "alice", "password": 1234, "note": "Authorization: Basic YWxpY2U6czNjcjN0"});
    /// Redactor::new().redact_json(&mut v);
    /// assert_eq!(v, json!({"user": "alice", "password": "[REDACTED]", "note": "Authorization: [REDACTED]"}));
    /// ```
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_json_at(value, 0);
    }

    fn redact_json_at(&self, value: &mut Value, depth: usize) {
        if depth > MAX_JSON_DEPTH {
            *value = Value::String(REDACTED.to_owned());
            return;
        }
        match value {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(r) = self.redact(s) {
                    *s = r;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_json_at(item, depth + 1);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if self.is_sensitive_key(key) {
                        let text = match &*item {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let replaced = self.replacement(Kind::KeyValue, text.as_bytes());
                        *item = Value::String(String::from_utf8_lossy(&replaced).into_owned());
                    } else {
                        self.redact_json_at(item, depth + 1);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Redacts a URL: the password in its user information, the values of sensitive query
    /// parameters (`?access_token=…`), and any token in its path.
    ///
    /// ```
    /// use palisade_redact::Redactor;
    ///
    /// let r = Redactor::new();
    /// assert_eq!(
    ///     r.redact_url("postgres://app:s3cr3t@db:5432/main?sslmode=require&password=x"),
    ///     "postgres://app:[REDACTED]@db:5432/main?sslmode=require&password=[REDACTED]"
    /// );
    /// ```
    pub fn redact_url<'a>(&self, url: &'a str) -> std::borrow::Cow<'a, str> {
        // In a URL `#` always starts the fragment (elsewhere it is percent-encoded), so the
        // two parts are redacted apart; in free text a `#` may belong to a secret and is kept
        // inside the value.
        let Some((head, fragment)) = url.split_once('#') else {
            return self.redact(url);
        };
        match (self.redact(head), self.redact(fragment)) {
            (std::borrow::Cow::Borrowed(_), std::borrow::Cow::Borrowed(_)) => {
                std::borrow::Cow::Borrowed(url)
            }
            (h, f) => std::borrow::Cow::Owned(format!("{h}#{f}")),
        }
    }

    /// A copy of `headers` with the values of sensitive headers replaced and every other
    /// value redacted as text.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn redact_headers(&self, headers: &http::HeaderMap) -> http::HeaderMap {
        let mut out = http::HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            let replaced = if self.is_sensitive_key(name.as_str()) {
                Some(self.replacement(Kind::KeyValue, value.as_bytes()))
            } else {
                match self.redact_bytes(value.as_bytes()) {
                    std::borrow::Cow::Borrowed(_) => None,
                    std::borrow::Cow::Owned(bytes) => Some(bytes),
                }
            };
            let value = match replaced {
                None => value.clone(),
                Some(bytes) => http::HeaderValue::from_bytes(&bytes)
                    .unwrap_or_else(|_| http::HeaderValue::from_static(REDACTED)),
            };
            out.append(name.clone(), value);
        }
        out
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[REDACTED]`.
///
/// ```
/// use palisade_redact::Redacted;
///
/// let key = Redacted::new("sk_live_abc".to_owned());
/// assert_eq!(format!("{key} {key:?}"), "[REDACTED] [REDACTED]");
/// assert_eq!(key.expose(), "sk_live_abc");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value. Call it only where it is used, never to print it.
    pub const fn expose(&self) -> &T {
        &self.0
    }

    /// The value, unwrapped.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Redacted<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}
