//! The JOSE header, read strictly before any key is used.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
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

/// The members read as text, in slot order.
const TEXT: [&str; 4] = ["alg", "kid", "typ", "cty"];

/// A decoded header read in one pass: the members read as text in slots, the other names
/// (kept only to refuse duplicates and to find the members that refuse a token).
#[derive(Default)]
struct Members {
    text: [Option<Value>; 4],
    others: BTreeSet<String>,
}

/// A member name: a text slot, or another name.
enum Name {
    Text(usize),
    Other(String),
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
                Ok(match TEXT.iter().position(|t| *t == name) {
                    Some(i) => Name::Text(i),
                    None => Name::Other(name.to_owned()),
                })
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
                let mut members = Members::default();
                while let Some(name) = access.next_key::<Name>()? {
                    // Every value is read whole, so the header is JSON throughout.
                    let value = access.next_value::<Value>()?;
                    let fresh = match name {
                        Name::Text(i) => members.text[i].replace(value).is_none(),
                        Name::Other(name) => members.others.insert(name),
                    };
                    if !fresh {
                        return Err(de::Error::custom("duplicate member"));
                    }
                }
                Ok(members)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Parses and checks a decoded header: members well typed, no `crit`, no embedded keys,
/// no unencoded payload, no nested JWT, and `alg` not `none` in any case. Duplicate member
/// names are refused, as in the payload.
pub(crate) fn parse(bytes: &[u8]) -> Result<Header, ErrorKind> {
    let Members { text, others } =
        serde_json::from_slice::<Members>(bytes).map_err(|_| ErrorKind::Malformed)?;
    let [alg, kid, typ, cty] = text;
    let Some(Value::String(alg)) = alg else {
        return Err(ErrorKind::Malformed);
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(ErrorKind::AlgNone);
    }
    if KEY_MEMBERS.iter().any(|m| others.contains(*m)) {
        return Err(ErrorKind::EmbeddedKey);
    }
    // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` lists an extension it
    // does not understand. This verifier understands none, so any `crit` is rejected.
    if others.contains("crit") {
        return Err(ErrorKind::UnknownCritical);
    }
    if others.contains("b64") {
        return Err(ErrorKind::UnsupportedHeader);
    }
    let text = |value: Option<Value>| -> Result<Option<String>, ErrorKind> {
        match value {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ErrorKind::Malformed),
        }
    };
    let kid = text(kid)?;
    if kid
        .as_deref()
        .is_some_and(|k| k.is_empty() || k.len() > super::keys::MAX_KID_LEN)
    {
        return Err(ErrorKind::UnknownKey);
    }
    let typ = text(typ)?;
    if let Some(cty) = text(cty)?
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

    /// The header check as first written, on a JSON map.
    fn reference_parse(bytes: &[u8]) -> Result<Header, ErrorKind> {
        let mut obj = super::super::json::parse_object(bytes).ok_or(ErrorKind::Malformed)?;
        let Some(Value::String(alg)) = obj.remove("alg") else {
            return Err(ErrorKind::Malformed);
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(ErrorKind::AlgNone);
        }
        if KEY_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(ErrorKind::EmbeddedKey);
        }
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
            .is_some_and(|k| k.is_empty() || k.len() > super::super::keys::MAX_KID_LEN)
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

    fn summary(
        header: Result<Header, ErrorKind>,
    ) -> Result<(String, Option<String>, Option<String>), ErrorKind> {
        header.map(|h| (h.alg, h.kid, h.typ))
    }

    #[test]
    fn duplicate_header_members_are_malformed_whatever_they_are() {
        for json in [
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"HS256","jwk":{},"jwk":{}}"#,
            r#"{"alg":"HS256","x":1,"x":2}"#,
            r#"{"alg":"HS256","crit":[],"cr\u0069t":[]}"#,
        ] {
            assert_eq!(
                parse(json.as_bytes()).unwrap_err(),
                ErrorKind::Malformed,
                "{json}"
            );
        }
    }

    proptest::proptest! {
        /// Reading the header in one pass judges every header as the map-based check did.
        #[test]
        fn the_one_pass_header_check_agrees_with_the_map_based_one(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "alg", "kid", "typ", "cty", "jwk", "jku", "x5u", "x5c", "x5t",
                        "x5t#S256", "crit", "b64", "zip", "x", "\\u0061lg",
                    ]),
                    proptest::sample::select(vec![
                        "\"HS256\"", "\"none\"", "\"NoNe\"", "\"\"", "\"k1\"", "\"JWT\"",
                        "\"jwt\"", "1", "null", "[]", "{}", "true",
                    ]),
                ),
                0..6,
            ),
        ) {
            let body: Vec<String> =
                members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let json = format!("{{{}}}", body.join(","));
            proptest::prop_assert_eq!(
                summary(parse(json.as_bytes())),
                summary(reference_parse(json.as_bytes())),
                "{}",
                json
            );
        }
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
