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
    attributes: Vec<(String, String)>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.'))
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
        Ok(Self {
            field: field.to_owned(),
            attributes: Vec::new(),
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
        if self.attributes.len() >= MAX_ATTRIBUTES {
            return Err(ContextError::TooManyAttributes);
        }
        match self
            .attributes
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
        {
            Ok(_) => Err(ContextError::DuplicateAttribute {
                name: name.to_owned(),
            }),
            Err(at) => {
                self.attributes.insert(at, (name.to_owned(), value));
                Ok(self)
            }
        }
    }

    /// The field name.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The attributes, sorted by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attributes
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Appends [`Context::encode_to`]'s encoding to `out`.
    #[cfg(test)]
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.resize(at + self.encoded_len(), 0);
        self.encode_to(&mut out[at..]);
    }

    /// The length of [`Context::encode_to`]'s output.
    pub(crate) fn encoded_len(&self) -> usize {
        2 + self.field.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| 3 + name.len() + value.len())
                .sum::<usize>()
    }

    /// The canonical, unambiguous encoding bound as associated data (length-prefixed field,
    /// attribute count, then length-prefixed names and values), written to the start of `out`,
    /// which holds at least
    /// [`Context::encoded_len`] bytes (names are at most 64 bytes, values at most 1024 and
    /// there are at most 32 attributes, so the length bytes cannot overflow).
    pub(crate) fn encode_to(&self, out: &mut [u8]) {
        let mut rest = out;
        let mut put = |bytes: &[u8]| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(bytes.len());
            head.copy_from_slice(bytes);
            rest = tail;
        };
        put(&[self.field.len() as u8]);
        put(self.field.as_bytes());
        put(&[self.attributes.len() as u8]);
        for (name, value) in &self.attributes {
            put(&[name.len() as u8]);
            put(name.as_bytes());
            put(&(value.len() as u16).to_be_bytes());
            put(value.as_bytes());
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.field)?;
        for (name, value) in &self.attributes {
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
