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
    /// The canonical encoding (see [`Context::encoded`]), kept up to date by [`Context::with`]:
    /// a decryption copies it into the associated data as it is, in one piece. It is the only
    /// copy of the attributes; two contexts are equal exactly when their encodings are.
    encoded: Vec<u8>,
}

/// Encoding bytes reserved beyond the field when a context is created: room for a row id and a
/// tenant or two without growing the buffer.
const ATTRIBUTE_ROOM: usize = 48;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.'))
}

/// Appends a value's text to the encoding, refusing (with `fmt::Error`) to grow it past `end`:
/// a value over the limit is never written out in full.
struct ValueWriter<'a> {
    out: &'a mut Vec<u8>,
    end: usize,
}

impl fmt::Write for ValueWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() > self.end.saturating_sub(self.out.len()) {
            return Err(fmt::Error);
        }
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
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
        let mut encoded = Vec::with_capacity(2 + field.len() + ATTRIBUTE_ROOM);
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
    /// An invalid name, a value over 1024 bytes or containing `;` (or whose `Display` fails), a
    /// repeated name, or more than 32 attributes.
    pub fn with(mut self, name: &str, value: impl fmt::Display) -> Result<Self, ContextError> {
        use fmt::Write as _;
        if !valid_name(name) {
            return Err(ContextError::InvalidName {
                name: name.to_owned(),
            });
        }
        // The new attribute is written at the end, then rotated into its place by name.
        let start = self.encoded.len();
        self.encoded.push(name.len() as u8);
        self.encoded.extend_from_slice(name.as_bytes());
        self.encoded.extend_from_slice(&[0, 0]);
        let value_at = self.encoded.len();
        let mut writer = ValueWriter {
            out: &mut self.encoded,
            end: value_at + MAX_VALUE,
        };
        let written = write!(writer, "{value}").is_ok();
        let value = self.encoded.get(value_at..).unwrap_or_default();
        if !written || value.contains(&b';') {
            return Err(ContextError::InvalidValue {
                name: name.to_owned(),
            });
        }
        // At most `MAX_VALUE` (1024) bytes: fits the two length bytes.
        let value_len = (value.len() as u16).to_be_bytes();
        self.encoded[value_at - 2..value_at].copy_from_slice(&value_len);
        let count_at = 1 + self.field.len();
        let count = self.encoded[count_at];
        if usize::from(count) >= MAX_ATTRIBUTES {
            return Err(ContextError::TooManyAttributes);
        }
        let mut at = count_at + 1;
        while at < start {
            let Some((existing, _, next)) = self.attribute_at(at) else {
                break;
            };
            match existing.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => at = next,
                std::cmp::Ordering::Equal => {
                    return Err(ContextError::DuplicateAttribute {
                        name: name.to_owned(),
                    });
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        let added = self.encoded.len() - start;
        self.encoded[at..].rotate_right(added);
        self.encoded[count_at] = count + 1;
        Ok(self)
    }

    /// The field name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The attributes, sorted by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut at = 2 + self.field.len();
        std::iter::from_fn(move || {
            let (name, value, next) = self.attribute_at(at)?;
            at = next;
            // Both were written from `str`s by `with`.
            Some((
                std::str::from_utf8(name).unwrap_or_default(),
                std::str::from_utf8(value).unwrap_or_default(),
            ))
        })
    }

    /// The name and value of the attribute encoded at `at`, and where the next one starts;
    /// `None` past the end.
    fn attribute_at(&self, at: usize) -> Option<(&[u8], &[u8], usize)> {
        let encoded = &self.encoded;
        let name_at = at + 1;
        let len_at = name_at + usize::from(*encoded.get(at)?);
        let name = encoded.get(name_at..len_at)?;
        let value_len = u16::from_be_bytes([*encoded.get(len_at)?, *encoded.get(len_at + 1)?]);
        let next = len_at + 2 + usize::from(value_len);
        let value = encoded.get(len_at + 2..next)?;
        Some((name, value, next))
    }

    /// Appends [`Context::encoded`] to `out`.
    #[cfg(test)]
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encoded);
    }

    /// The length of [`Context::encoded`].
    pub(crate) fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    /// The canonical, unambiguous encoding bound as associated data: length-prefixed field,
    /// attribute count, then length-prefixed names and values, sorted by name (names are at
    /// most 64 bytes, values at most 1024 and there are at most 32 attributes, so the length
    /// bytes cannot overflow).
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
        let (mut f_enc, mut b_enc) = (Vec::new(), Vec::new());
        forward.encode_into(&mut f_enc);
        backward.encode_into(&mut b_enc);
        assert_eq!(f_enc, b_enc);
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
        assert_eq!(f_enc[2], names.len() as u8, "attribute count");
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

    /// A value whose `Display` fails, or that keeps writing past 1024 bytes, is refused with
    /// `InvalidValue` (no panic, and the writing stops at the limit); the context it was added
    /// to is unchanged for a clone taken before.
    #[test]
    fn a_failing_or_endless_value_is_refused() {
        struct Failing;
        impl fmt::Display for Failing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("partial")?;
                Err(fmt::Error)
            }
        }
        struct Endless;
        impl fmt::Display for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                loop {
                    f.write_str("0123456789")?;
                }
            }
        }
        let ctx = Context::new("f").and_then(|c| c.with("b", 1)).unwrap();
        for result in [
            ctx.clone().with("a", Failing),
            ctx.clone().with("a", Endless),
        ] {
            assert!(matches!(
                result,
                Err(ContextError::InvalidValue { ref name }) if name == "a"
            ));
        }
        let exact = ctx.clone().with("a", "x".repeat(MAX_VALUE)).unwrap();
        assert_eq!(exact.attributes().next().unwrap().1.len(), MAX_VALUE);
        assert_eq!(ctx.to_string(), "f;b=1");
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
