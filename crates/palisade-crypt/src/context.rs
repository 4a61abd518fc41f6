//! Encryption contexts: what a ciphertext belongs to (field, row, tenant, ...), bound as
//! associated data so a value copied elsewhere fails to decrypt.

use std::{fmt, marker::PhantomData, str::FromStr};

use crate::error::ContextError;

const MAX_NAME: usize = 64;
const MAX_VALUE: usize = 1024;
const MAX_ATTRIBUTES: usize = 32;

/// Where a value lives: a field name (such as `users.email`, which also selects the per-field
/// subkey) and attributes such as the row id and tenant.
///
/// Attributes are kept sorted by name, so the same attributes given in any order make the same
/// context. The text form is `field` or `field;name=value;...`, as the command line takes it.
///
/// ```
/// use palisade_crypt::Context;
/// let ctx = Context::new("users.email")?.with("row", "42")?.with("tenant", "acme")?;
/// assert_eq!(ctx.to_string(), "users.email;row=42;tenant=acme");
/// assert_eq!("users.email;tenant=acme;row=42".parse::<Context>()?, ctx);
/// # Ok::<(), palisade_crypt::ContextError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Context {
    field: String,
    /// The canonical encoding bound as associated data (see [`Context::encoded`]), built as
    /// the context is, so that encrypting and decrypting copy it instead of encoding it for
    /// every message. The attributes are read back from it.
    encoded: Vec<u8>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.'))
}

/// The attributes of an encoding, from `at` (the first attribute) on: name, value and where
/// the attribute starts. Every encoding was built by [`Context::with`] from valid names and
/// UTF-8 values, so the lengths are in bounds and the bytes are UTF-8.
struct Attributes<'a> {
    encoded: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a str, &'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.at;
        let name_len = usize::from(*self.encoded.get(start)?);
        let name = self.encoded.get(start + 1..start + 1 + name_len)?;
        let len_at = start + 1 + name_len;
        let value_len = usize::from(u16::from_be_bytes([
            *self.encoded.get(len_at)?,
            *self.encoded.get(len_at + 1)?,
        ]));
        let value = self.encoded.get(len_at + 2..len_at + 2 + value_len)?;
        self.at = len_at + 2 + value_len;
        Some((
            std::str::from_utf8(name).ok()?,
            std::str::from_utf8(value).ok()?,
            start,
        ))
    }
}

impl Context {
    /// A context for `field` with no attributes yet.
    ///
    /// # Errors
    /// [`ContextError::InvalidName`] unless the name is 1 to 64 characters from `a-z`, `0-9`,
    /// `_`, `-`, `.`.
    pub fn new(field: &str) -> Result<Self, ContextError> {
        if !valid_name(field) {
            return Err(ContextError::InvalidName {
                name: field.to_owned(),
            });
        }
        let mut encoded = Vec::with_capacity(2 + field.len());
        encoded.push(field.len() as u8);
        encoded.extend_from_slice(field.as_bytes());
        encoded.push(0);
        Ok(Self {
            field: field.to_owned(),
            encoded,
        })
    }

    /// Adds an attribute (row id, tenant, ...).
    ///
    /// # Errors
    /// An invalid name, a value over 1024 bytes or containing `;`, a repeated name, or more
    /// than 32 attributes.
    pub fn with(mut self, name: &str, value: impl fmt::Display) -> Result<Self, ContextError> {
        if !valid_name(name) {
            return Err(ContextError::InvalidName {
                name: name.to_owned(),
            });
        }
        let value = value.to_string();
        if value.len() > MAX_VALUE || value.contains(';') {
            return Err(ContextError::InvalidValue {
                name: name.to_owned(),
            });
        }
        let count_at = 1 + self.field.len();
        let count = usize::from(self.encoded[count_at]);
        if count >= MAX_ATTRIBUTES {
            return Err(ContextError::TooManyAttributes);
        }
        // Attributes stay sorted by name (bytewise), so the encoding is canonical.
        let mut insert_at = self.encoded.len();
        for (existing, _, start) in self.attribute_entries() {
            match existing.cmp(name) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(ContextError::DuplicateAttribute {
                        name: name.to_owned(),
                    });
                }
                std::cmp::Ordering::Greater => {
                    insert_at = start;
                    break;
                }
            }
        }
        let mut entry = Vec::with_capacity(3 + name.len() + value.len());
        entry.push(name.len() as u8);
        entry.extend_from_slice(name.as_bytes());
        entry.extend_from_slice(&(value.len() as u16).to_be_bytes());
        entry.extend_from_slice(value.as_bytes());
        self.encoded.splice(insert_at..insert_at, entry);
        self.encoded[count_at] = (count + 1) as u8;
        Ok(self)
    }

    /// The field name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The attributes, sorted by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attribute_entries()
            .map(|(name, value, _)| (name, value))
    }

    fn attribute_entries(&self) -> Attributes<'_> {
        Attributes {
            encoded: &self.encoded,
            at: 2 + self.field.len(),
        }
    }

    /// Appends [`Context::encoded`] to `out`.
    #[cfg(test)]
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.encoded());
    }

    /// The length of [`Context::encoded`].
    pub(crate) fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    /// The canonical, unambiguous encoding bound as associated data: the length-prefixed
    /// field, the attribute count, then each attribute in name order as a length-prefixed
    /// name and a value prefixed with its 16-bit big-endian length. Names are at most 64
    /// bytes, values at most 1024 and there are at most 32 attributes, so no length
    /// overflows its prefix.
    pub(crate) fn encoded(&self) -> &[u8] {
        &self.encoded
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.field)?;
        for (name, value) in self.attributes() {
            write!(f, ";{name}={value}")?;
        }
        Ok(())
    }
}

/// Contexts name tables and rows, not secrets, so `Debug` shows them.
impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({self})")
    }
}

impl FromStr for Context {
    type Err = ContextError;

    fn from_str(text: &str) -> Result<Self, ContextError> {
        let mut parts = text.split(';');
        let field = parts.next().unwrap_or_default();
        let mut ctx = Self::new(field)?;
        for part in parts {
            let Some((name, value)) = part.split_once('=') else {
                return Err(ContextError::Syntax {
                    text: text.to_owned(),
                });
            };
            ctx = ctx.with(name, value)?;
        }
        Ok(ctx)
    }
}

/// A column (or other field) known at compile time, so that one field's values cannot be
/// decrypted as another's: [`Encrypted<F>`](crate::Encrypted) only opens with a
/// [`FieldContext<F>`].
///
/// ```
/// use palisade_crypt::Field;
/// struct Email;
/// impl Field for Email {
///     const NAME: &'static str = "users.email";
/// }
/// ```
pub trait Field {
    /// The field name bound into every context (`a-z`, `0-9`, `_`, `-`, `.`; 1 to 64 bytes).
    const NAME: &'static str;
}

/// A [`Context`] for the field `F`; add row attributes with [`FieldContext::with`].
pub struct FieldContext<F> {
    context: Context,
    field: PhantomData<fn() -> F>,
}

impl<F: Field> FieldContext<F> {
    /// The context of field `F` with no attributes.
    ///
    /// # Errors
    /// [`ContextError::InvalidName`] if `F::NAME` is not a valid name.
    pub fn new() -> Result<Self, ContextError> {
        Ok(Self {
            context: Context::new(F::NAME)?,
            field: PhantomData,
        })
    }

    /// Adds an attribute, as [`Context::with`].
    ///
    /// # Errors
    /// As [`Context::with`].
    pub fn with(self, name: &str, value: impl fmt::Display) -> Result<Self, ContextError> {
        Ok(Self {
            context: self.context.with(name, value)?,
            field: PhantomData,
        })
    }

    /// The untyped context.
    pub fn context(&self) -> &Context {
        &self.context
    }
}

impl<F> Clone for FieldContext<F> {
    fn clone(&self) -> Self {
        Self {
            context: self.context.clone(),
            field: PhantomData,
        }
    }
}

impl<F> fmt::Debug for FieldContext<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.context, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_length_prefixed_and_encoded_len_is_exact() {
        let ctx = Context::new("users.email")
            .and_then(|c| c.with("row", 7))
            .and_then(|c| c.with("a", ""))
            .expect("context");
        let mut out = vec![0xee];
        ctx.encode_into(&mut out);
        let mut expected = vec![0xee, 11];
        expected.extend_from_slice(b"users.email");
        expected.extend_from_slice(&[2, 1, b'a', 0, 0, 3]);
        expected.extend_from_slice(b"row");
        expected.extend_from_slice(&[0, 1, b'7']);
        assert_eq!(out, expected);
        assert_eq!(ctx.encoded_len(), expected.len() - 1);
    }

    /// Attributes given in any order encode (and compare, and display) the same; the order is
    /// bytewise by name, and each attribute reads back as given.
    #[test]
    fn attributes_in_any_order_encode_the_same() {
        let names = ["tenant", "row", "a", "row2", "b-c", "z.y", "0"];
        let forward = names.iter().try_fold(Context::new("f").unwrap(), |c, n| {
            c.with(n, format!("v-{n}"))
        });
        let backward = names
            .iter()
            .rev()
            .try_fold(Context::new("f").unwrap(), |c, n| {
                c.with(n, format!("v-{n}"))
            });
        let (forward, backward) = (forward.unwrap(), backward.unwrap());
        assert_eq!(forward.encoded(), backward.encoded());
        assert_eq!(forward, backward);
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        let read: Vec<_> = forward.attributes().collect();
        let expected: Vec<_> = sorted.iter().map(|n| (*n, format!("v-{n}"))).collect();
        assert_eq!(read.len(), expected.len());
        for ((name, value), (en, ev)) in read.iter().zip(&expected) {
            assert_eq!((*name, *value), (*en, ev.as_str()));
        }
        assert_eq!(
            forward.to_string(),
            "f;0=v-0;a=v-a;b-c=v-b-c;row=v-row;row2=v-row2;tenant=v-tenant;z.y=v-z.y"
        );
        assert_eq!(forward.encoded()[2], names.len() as u8, "attribute count");
    }

    /// A repeated name is refused wherever it falls in the order, and the context is intact.
    #[test]
    fn a_repeated_attribute_is_refused_at_any_position() {
        let ctx = Context::new("f")
            .and_then(|c| c.with("b", 1))
            .and_then(|c| c.with("d", 2))
            .and_then(|c| c.with("f", 3))
            .unwrap();
        for name in ["b", "d", "f"] {
            let err = ctx.clone().with(name, 9).unwrap_err();
            assert!(
                matches!(err, ContextError::DuplicateAttribute { .. }),
                "{name}"
            );
        }
        for name in ["a", "c", "e", "g", "bb"] {
            let longer = ctx.clone().with(name, "x").unwrap();
            assert_eq!(longer.attributes().count(), 4, "{name}");
            assert!(longer.attributes().any(|(n, v)| n == name && v == "x"));
        }
        assert_eq!(ctx.to_string(), "f;b=1;d=2;f=3");
    }

    /// Values are any UTF-8 without `;`, up to 1024 bytes, empty included.
    #[test]
    fn values_of_any_utf8_read_back() {
        let long = "é".repeat(MAX_VALUE / 2);
        let ctx = Context::new("f")
            .and_then(|c| c.with("empty", ""))
            .and_then(|c| c.with("long", &long))
            .and_then(|c| c.with("text", "grüße=ok"))
            .unwrap();
        let read: Vec<_> = ctx.attributes().collect();
        assert_eq!(
            read,
            [("empty", ""), ("long", long.as_str()), ("text", "grüße=ok")]
        );
        assert!(
            Context::new("f")
                .unwrap()
                .with("x", "é".repeat(513))
                .is_err()
        );
    }

    /// The largest context there is: every length byte at its maximum, no overflow.
    #[test]
    fn the_largest_context_encodes_to_its_encoded_len() {
        let mut ctx = Context::new(&"f".repeat(MAX_NAME)).expect("field");
        for i in 0..MAX_ATTRIBUTES {
            let name = format!("{i:0>MAX_NAME$}");
            ctx = ctx.with(&name, "v".repeat(MAX_VALUE)).expect("attribute");
        }
        let mut out = Vec::new();
        ctx.encode_into(&mut out);
        assert_eq!(out.len(), ctx.encoded_len());
        assert_eq!(out[0] as usize, MAX_NAME);
        assert_eq!(out[1 + MAX_NAME] as usize, MAX_ATTRIBUTES);
    }
}
