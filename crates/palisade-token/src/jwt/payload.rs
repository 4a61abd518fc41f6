//! A verified token's payload, read in one pass: the registered claims into fixed slots (no map
//! and no copy of their names), every other member into a map for the application's claims.
//! Duplicate member names are refused (RFC 7515 §5.2 allows it; accepting "last wins" lets
//! two parsers disagree about one token).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::claims::{Audience, Claims};
use crate::error::ErrorKind;

/// The members read into slots, in slot order.
const SLOTS: [&str; 9] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "roles",
];
const ISS: usize = 0;
const SUB: usize = 1;
const AUD: usize = 2;
const EXP: usize = 3;
const NBF: usize = 4;
const IAT: usize = 5;
const JTI: usize = 6;
const SCOPE: usize = 7;

fn slot(name: &str) -> Option<usize> {
    SLOTS.iter().position(|s| *s == name)
}

/// A payload object with unique member names.
#[derive(Debug, Default)]
pub(crate) struct Payload {
    slots: [Option<Value>; 9],
    rest: Map<String, Value>,
}

/// The `NumericDate`s the claim checks read (fractions truncated), stored back as integers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Dates {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

impl Payload {
    /// The member `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        match slot(name) {
            Some(i) => self.slots[i].as_ref(),
            None => self.rest.get(name),
        }
    }

    /// The payload as claims, the members not registered going to `T`.
    ///
    /// # Errors
    /// [`ErrorKind::BadClaim`] when a member does not have the type the claims give it.
    pub(crate) fn into_claims<T: DeserializeOwned>(
        self,
        dates: Dates,
    ) -> Result<Claims<T>, ErrorKind> {
        let [iss, sub, aud, _, _, _, jti, scope, roles] = self.slots;
        let roles = match roles {
            None => Vec::new(),
            Some(v) => Vec::<String>::deserialize(v).map_err(|_| ErrorKind::BadClaim)?,
        };
        let aud = match aud {
            None => None,
            Some(Value::String(one)) => Some(Audience::One(one)),
            Some(many) => Some(Audience::Many(
                Vec::<String>::deserialize(many).map_err(|_| ErrorKind::BadClaim)?,
            )),
        };
        // The same `#[serde(flatten)]` as `Claims<T>`'s own, over the members it leaves.
        let Custom { custom } =
            Custom::<T>::deserialize(Value::Object(self.rest)).map_err(|_| ErrorKind::BadClaim)?;
        Ok(Claims {
            iss: string(iss)?,
            sub: string(sub)?,
            aud,
            exp: dates.exp,
            nbf: dates.nbf,
            iat: dates.iat,
            jti: string(jti)?,
            scope: string(scope)?,
            roles,
            custom,
        })
    }

    /// The whole payload as a JSON object, the dates as integers.
    pub(crate) fn into_json(self, dates: Dates) -> Map<String, Value> {
        let mut out = self.rest;
        for (i, value) in self.slots.into_iter().enumerate() {
            let value = match i {
                EXP => dates.exp.map(Value::from).or(value),
                NBF => dates.nbf.map(Value::from).or(value),
                IAT => dates.iat.map(Value::from).or(value),
                _ => value,
            };
            if let Some(value) = value {
                out.insert(SLOTS[i].to_owned(), value);
            }
        }
        out
    }

    /// The slots `exp`, `nbf`, `iat`, `iss` and `aud`, for the claim checks.
    pub(crate) fn registered(&self) -> [Option<&Value>; 5] {
        [
            self.slots[EXP].as_ref(),
            self.slots[NBF].as_ref(),
            self.slots[IAT].as_ref(),
            self.slots[ISS].as_ref(),
            self.slots[AUD].as_ref(),
        ]
    }

    /// The string-typed registered claims besides `iss`: `sub`, `jti` and `scope`.
    pub(crate) fn strings(&self) -> [Option<&Value>; 3] {
        [
            self.slots[SUB].as_ref(),
            self.slots[JTI].as_ref(),
            self.slots[SCOPE].as_ref(),
        ]
    }
}

/// A string member, moved out.
fn string(value: Option<Value>) -> Result<Option<String>, ErrorKind> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ErrorKind::BadClaim),
    }
}

/// The application's claims, read as `Claims<T>` reads its flattened field.
#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct Custom<T> {
    #[serde(flatten)]
    custom: T,
}

/// A member name: a slot, or another name.
enum Name {
    Slot(usize),
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
                Ok(slot(name).map_or_else(|| Name::Other(name.to_owned()), Name::Slot))
            }
            fn visit_string<E: de::Error>(self, name: String) -> Result<Name, E> {
                Ok(slot(&name).map_or(Name::Other(name), Name::Slot))
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Payload;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Payload, A::Error> {
                let mut payload = Payload::default();
                while let Some(name) = access.next_key::<Name>()? {
                    let value = access.next_value::<Value>()?;
                    let fresh = match name {
                        Name::Slot(i) => payload.slots[i].replace(value).is_none(),
                        Name::Other(name) => payload.rest.insert(name, value).is_none(),
                    };
                    if !fresh {
                        return Err(de::Error::custom("duplicate member"));
                    }
                }
                Ok(payload)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Parses `bytes` as a JSON object without duplicate members.
pub(crate) fn parse(bytes: &[u8]) -> Option<Payload> {
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(json: &str) -> (Option<Payload>, Option<Map<String, Value>>) {
        (
            parse(json.as_bytes()),
            super::super::json::parse_object(json.as_bytes()),
        )
    }

    #[test]
    fn duplicates_are_refused_in_slots_and_elsewhere() {
        for json in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"tenant":"a","tenant":"b"}"#,
            r#"{"s\u0075b":"a","sub":"b"}"#,
        ] {
            assert!(parse(json.as_bytes()).is_none(), "{json}");
        }
    }

    #[test]
    fn the_json_form_is_the_objects() {
        let json = r#"{"s\u0075b":"a","aud":["x"],"tenant":{"id":1},"roles":[],"scope":""}"#;
        let (payload, map) = both(json);
        assert_eq!(
            payload.unwrap().into_json(Dates::default()),
            map.unwrap(),
            "the same members, escaped names included"
        );
    }

    proptest::proptest! {
        #[test]
        fn it_accepts_and_reads_what_the_map_parser_does(
            members in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "roles",
                        "tenant", "x", "s\\u0075b",
                    ]),
                    proptest::sample::select(vec![
                        "1", "1.5", "-1", "\"s\"", "\"\"", "null", "[]", "[\"a\"]", "{}", "true",
                    ]),
                ),
                0..6,
            ),
        ) {
            let body: Vec<String> =
                members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let json = format!("{{{}}}", body.join(","));
            let (payload, map) = both(&json);
            proptest::prop_assert_eq!(payload.is_some(), map.is_some(), "{}", json);
            if let (Some(payload), Some(map)) = (payload, map) {
                for (name, value) in &map {
                    proptest::prop_assert_eq!(payload.get(name), Some(value));
                }
                proptest::prop_assert_eq!(payload.into_json(Dates::default()), map);
            }
        }
    }
}
