//! The JOSE header, read strictly before any key is used.

use serde_json::Value;

use super::algorithm::Algorithm;
use crate::error::ErrorKind;

/// The expected `typ` of a token (RFC 8725 §3.11 explicit typing).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenType {
    /// `JWT`.
    Jwt,
    /// `at+jwt`, an OAuth 2.0 access token (RFC 9068).
    AccessToken,
    /// Any other media type, e.g. `logout+jwt`.
    Other(String),
}

impl TokenType {
    /// The value written to the header.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Jwt => "JWT",
            Self::AccessToken => "at+jwt",
            Self::Other(s) => s,
        }
    }

    /// RFC 7515 §4.1.9: compared case-insensitively, with an optional `application/` prefix.
    pub(crate) fn matches(&self, typ: &str) -> bool {
        fn strip(s: &str) -> &str {
            const PREFIX: &str = "application/";
            match s.get(..PREFIX.len()) {
                Some(head) if head.eq_ignore_ascii_case(PREFIX) => &s[PREFIX.len()..],
                _ => s,
            }
        }
        strip(typ).eq_ignore_ascii_case(strip(self.as_str()))
    }
}

/// The header members palisade-token reads.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Members that carry a key or point at one. A verifier that honoured them would let the
/// token choose its own key; palisade-token rejects any token that carries one.
const KEY_MEMBERS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

/// Parses and checks a decoded header: members well typed, no `crit`, no embedded keys,
/// no unencoded payload, no nested JWT, and `alg` not `none` in any case.
pub(crate) fn parse(bytes: &[u8]) -> Result<Header, ErrorKind> {
    let mut obj = super::json::parse_object(bytes).ok_or(ErrorKind::Malformed)?;
    let alg = match obj.remove("alg") {
        Some(Value::String(alg)) => alg,
        _ => return Err(ErrorKind::Malformed),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(ErrorKind::AlgNone);
    }
    if KEY_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return Err(ErrorKind::EmbeddedKey);
    }
    // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` lists an extension it
    // does not understand. This verifier understands none, so any `crit` is rejected.
    if obj.contains_key("crit") {
        return Err(ErrorKind::UnknownCritical);
    }
    if obj.contains_key("b64") {
        return Err(ErrorKind::UnsupportedHeader);
    }
    let mut text = |name: &str| -> Result<Option<String>, ErrorKind> {
        match obj.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ErrorKind::Malformed),
        }
    };
    let kid = text("kid")?;
    if kid
        .as_deref()
        .is_some_and(|k| k.is_empty() || k.len() > super::keys::MAX_KID_LEN)
    {
        return Err(ErrorKind::UnknownKey);
    }
    let typ = text("typ")?;
    if let Some(cty) = text("cty")?
        && cty.eq_ignore_ascii_case("jwt")
    {
        return Err(ErrorKind::UnsupportedHeader);
    }
    Ok(Header { alg, kid, typ })
}

/// Serializes the header for signing: `alg`, then `typ` and `kid` when set.
pub(crate) fn encode(alg: Algorithm, typ: Option<&TokenType>, kid: Option<&str>) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("alg".to_owned(), Value::from(alg.as_str()));
    if let Some(typ) = typ {
        obj.insert("typ".to_owned(), Value::from(typ.as_str()));
    }
    if let Some(kid) = kid {
        obj.insert("kid".to_owned(), Value::from(kid));
    }
    Value::Object(obj).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison as first written, on lower-cased copies.
    fn reference(want: &TokenType, typ: &str) -> bool {
        let strip = |s: &str| -> String {
            let lower = s.to_ascii_lowercase();
            lower
                .strip_prefix("application/")
                .map_or(lower.clone(), str::to_owned)
        };
        strip(typ) == strip(want.as_str())
    }

    proptest::proptest! {
        #[test]
        fn typ_matching_without_copies_agrees_with_lower_cased_copies(
            prefix in "(|application/|APPLICATION/|Application/|applicatio|application/application/)",
            typ in "(jwt|JWT|at\\+jwt|At\\+JWT|logout\\+jwt|\\PC{0,8})",
            other in "\\PC{0,12}",
        ) {
            let typ = format!("{prefix}{typ}");
            for want in [TokenType::Jwt, TokenType::AccessToken, TokenType::Other(other.clone())] {
                proptest::prop_assert_eq!(want.matches(&typ), reference(&want, &typ), "{:?} {}", want, typ);
            }
            let want = TokenType::Other(typ.clone());
            proptest::prop_assert!(want.matches(&typ));
        }
    }
}
