//! Registered claims (RFC 7519 §4.1) plus the application's own, and their typed checks.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::payload::Payload;
use crate::error::ErrorKind;

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` is, or contains, `ours` (exact comparison).
    pub fn contains(&self, ours: &str) -> bool {
        match self {
            Self::One(a) => a == ours,
            Self::Many(list) => list.iter().any(|a| a == ours),
        }
    }
}

/// A token's claims: the registered ones, `scope` and `roles`, and the application's own
/// (`T`, flattened into the same JSON object; the default keeps them as a JSON map).
///
/// ```
/// use palisade_token::jwt::Claims;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Session { tenant: String }
///
/// let claims = Claims::new(Session { tenant: "acme".into() })
///     .subject("alice")
///     .scope("read:orders write:orders");
/// assert!(claims.has_scope("write:orders"));
/// assert!(!claims.has_scope("write"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims<T = Map<String, Value>> {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry, seconds since the epoch. Required when verifying; set from the issuer's TTL
    /// when signing if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Token id, for revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Space-separated OAuth scopes (RFC 8693 §4.2, RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Roles (RFC 9068 §7.2.1.1 / SCIM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The application's own claims.
    #[serde(flatten)]
    pub custom: T,
}

impl<T> Claims<T> {
    /// Claims holding only `custom`; the issuer fills `iss`, `aud`, `iat`, `exp` and `jti`.
    pub fn new(custom: T) -> Self {
        Self {
            iss: None,
            sub: None,
            aud: None,
            exp: None,
            nbf: None,
            iat: None,
            jti: None,
            scope: None,
            roles: Vec::new(),
            custom,
        }
    }

    /// Sets `sub`.
    #[must_use]
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `scope` (space-separated).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds a role.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// The scopes, split on spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether `scope` is one of the scopes (exact, whole-word match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Whether every one of `scopes` is granted.
    pub fn has_scopes(&self, scopes: &[&str]) -> bool {
        scopes.iter().all(|s| self.has_scope(s))
    }

    /// Whether `role` is one of the roles (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

impl Claims<Map<String, Value>> {
    /// Claims with no application claims.
    pub fn empty() -> Self {
        Self::new(Map::new())
    }
}

/// The registered claims of a payload, type-checked.
#[derive(Debug, Default)]
pub(crate) struct Registered<'a> {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) iss: Option<&'a str>,
    /// A string, or a non-empty array of strings.
    pub(crate) aud: Option<&'a Value>,
}

/// Whether `aud` (checked by [`registered`]) is, or contains, `ours` (exact comparison).
pub(crate) fn audience_contains(aud: &Value, ours: &str) -> bool {
    match aud {
        Value::String(a) => a == ours,
        Value::Array(items) => items.iter().any(|a| a.as_str() == Some(ours)),
        _ => false,
    }
}

/// A `NumericDate`: a non-negative JSON number (fractions truncated). Strings, negatives,
/// non-finite values and values past year 9999 are not dates.
fn numeric_date(value: &Value) -> Result<u64, ErrorKind> {
    const MAX: u64 = 253_402_300_799;
    let Value::Number(n) = value else {
        return Err(ErrorKind::BadClaim);
    };
    let secs = if let Some(u) = n.as_u64() {
        u
    } else {
        // MAX is below 2^53, so it converts to f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        let max = MAX as f64;
        match n.as_f64() {
            #[allow(clippy::cast_sign_loss)]
            Some(f) if f.is_finite() && f >= 0.0 && f <= max => f as u64,
            _ => return Err(ErrorKind::BadClaim),
        }
    };
    if secs > MAX {
        return Err(ErrorKind::BadClaim);
    }
    Ok(secs)
}

fn string(value: &Value) -> Result<&str, ErrorKind> {
    value.as_str().ok_or(ErrorKind::BadClaim)
}

/// Reads the registered claims with their JSON types enforced.
pub(crate) fn registered(payload: &Payload) -> Result<Registered<'_>, ErrorKind> {
    let [exp, nbf, iat, iss, aud] = payload.registered();
    let date = |v: Option<&Value>| v.map(numeric_date).transpose();
    let out = Registered {
        exp: date(exp)?,
        nbf: date(nbf)?,
        iat: date(iat)?,
        iss: iss.map(string).transpose()?,
        aud,
    };
    for v in payload.strings().into_iter().flatten() {
        string(v)?;
    }
    match aud {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(items)) if !items.is_empty() => {
            for i in items {
                string(i)?;
            }
        }
        Some(_) => return Err(ErrorKind::BadClaim),
    }
    Ok(out)
}
