//! Known values: the exact bytes of secrets an application loaded, registered at run time and
//! redacted wherever they appear, even where no pattern would recognise them.

use core::{fmt, ops::Range};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use secrecy::{ExposeSecret as _, SecretBox};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The shortest value [`KnownSecrets::insert`] accepts, in bytes. Shorter values would redact
/// ordinary words and numbers wherever they occur.
pub const MIN_KNOWN_SECRET_LEN: usize = 8;

/// The longest value [`KnownSecrets::insert`] accepts, in bytes (64 KiB, a key file at most).
pub const MAX_KNOWN_SECRET_LEN: usize = 64 * 1024;

/// A value [`KnownSecrets::insert`] refuses. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KnownSecretError {
    /// No line of the value is [`MIN_KNOWN_SECRET_LEN`] bytes or longer.
    #[error(
        "a known secret needs a line of at least {MIN_KNOWN_SECRET_LEN} bytes; the longest of this one has {longest}"
    )]
    TooShort {
        /// The length of the value's longest line.
        longest: usize,
    },
    /// The value is longer than [`MAX_KNOWN_SECRET_LEN`].
    #[error("a known secret must be at most {MAX_KNOWN_SECRET_LEN} bytes, got {len}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// The search over the registered values could not be built.
    #[error("could not build the known-secret search: {0}")]
    Automaton(String),
}

/// A shared registry of exact secret values. Every [`Redactor`](crate::Redactor) built with
/// [`RedactorBuilder::known_secrets`](crate::RedactorBuilder::known_secrets) redacts each
/// registered value wherever it occurs, as [`Kind::KnownSecret`](crate::Kind::KnownSecret),
/// in text, JSON strings, streams and tracing output, whatever surrounds it.
///
/// Cloning is cheap and every clone is the same registry: values added or removed through any
/// clone are seen by every redactor at its next search. A rotated secret is handled by
/// inserting the new value and removing the old one when it is retired.
///
/// Each [`insert`](Self::insert) is undone by one [`remove`](Self::remove): a value inserted
/// twice (by two caches loading the same secret) stays registered until both remove it.
///
/// The search is one Aho-Corasick automaton over every registered value, rebuilt when the set
/// changes and swapped in whole, so searching costs the same for one value or a thousand, and
/// a search never waits for a rebuild.
///
/// Values must be at least [`MIN_KNOWN_SECRET_LEN`] bytes. A value of several lines is
/// searched line by line (a stream redacts one line at a time); lines shorter than
/// [`MIN_KNOWN_SECRET_LEN`] are not searched. A value that is valid UTF-8 is also searched
/// in its JSON-escaped form (quotes, backslashes and control characters escaped), as a JSON
/// log line would show it.
///
/// # Memory
///
/// The registry keeps its values in [`SecretBox`]es, wiped when removed or when the last
/// clone is dropped, and never shows them in `Debug`. The automaton keeps its own copies of
/// the values in its transition tables; the `aho-corasick` crate does not wipe them, so those
/// bytes stay in freed memory after a rebuild or drop until the allocator reuses it. The
/// lists the automaton is built from are wiped.
///
/// ```
/// use palisade_redact::{KnownSecrets, Redactor};
///
/// let known = KnownSecrets::new();
/// let redactor = Redactor::builder().known_secrets(known.clone()).build()?;
/// known.insert(b"correct horse battery staple")?;
/// assert_eq!(
///     redactor.redact("connecting with correct horse battery staple"),
///     "connecting with [REDACTED]"
/// );
/// // Too short to redact safely.
/// assert!(known.insert(b"hunter2").is_err());
/// // Removed: no longer redacted.
/// assert!(known.remove(b"correct horse battery staple"));
/// assert_eq!(redactor.redact("x correct horse battery staple"), "x correct horse battery staple");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct KnownSecrets {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Each registered value and how many inserts it has not yet had undone.
    values: Mutex<Vec<(SecretBox<[u8]>, u64)>>,
    /// The search over `values`; `None` while there are none.
    search: RwLock<Option<Arc<AhoCorasick>>>,
}

impl fmt::Debug for KnownSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownSecrets")
            .field("values", &self.len())
            .finish_non_exhaustive()
    }
}

impl KnownSecrets {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `value`, or counts one more insert of a value already registered.
    ///
    /// # Errors
    /// [`KnownSecretError::TooShort`] when no line of `value` has [`MIN_KNOWN_SECRET_LEN`]
    /// bytes, [`KnownSecretError::TooLong`] past [`MAX_KNOWN_SECRET_LEN`],
    /// [`KnownSecretError::Automaton`] if the search cannot be built (the registry is then
    /// unchanged).
    pub fn insert(&self, value: &[u8]) -> Result<(), KnownSecretError> {
        if value.len() > MAX_KNOWN_SECRET_LEN {
            return Err(KnownSecretError::TooLong { len: value.len() });
        }
        let longest = lines(value).map(<[u8]>::len).max().unwrap_or(0);
        if longest < MIN_KNOWN_SECRET_LEN {
            return Err(KnownSecretError::TooShort { longest });
        }
        let mut values = self.lock();
        if let Some(i) = position(&values, value) {
            values[i].1 = values[i].1.saturating_add(1);
            return Ok(());
        }
        values.push((SecretBox::new(Box::from(value)), 1));
        if let Err(e) = self.rebuild(&values) {
            values.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Undoes one [`insert`](Self::insert) of `value`; the value stops being redacted when
    /// every insert of it is undone. Whether it was registered.
    pub fn remove(&self, value: &[u8]) -> bool {
        let mut values = self.lock();
        let Some(i) = position(&values, value) else {
            return false;
        };
        values[i].1 -= 1;
        if values[i].1 == 0 {
            // Dropping the box wipes the value.
            drop(values.swap_remove(i));
            // Only fails for sets far beyond any registry; the search then keeps the removed
            // value, which redacts more, never less.
            let _ = self.rebuild(&values);
        }
        true
    }

    /// Whether `value` is registered.
    pub fn contains(&self, value: &[u8]) -> bool {
        position(&self.lock(), value).is_some()
    }

    /// How many distinct values are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no value is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SecretBox<[u8]>, u64)>> {
        self.shared
            .values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Builds the search over `values` and swaps it in.
    fn rebuild(&self, values: &[(SecretBox<[u8]>, u64)]) -> Result<(), KnownSecretError> {
        let mut needles: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for (value, _) in values {
            let value = value.expose_secret();
            needles.extend(
                lines(value)
                    .filter(|l| l.len() >= MIN_KNOWN_SECRET_LEN)
                    .map(|l| Zeroizing::new(l.to_vec())),
            );
            if let Ok(text) = core::str::from_utf8(value) {
                let escaped = Zeroizing::new(serde_json::to_string(text).unwrap_or_default());
                let inner = escaped
                    .get(1..escaped.len().saturating_sub(1))
                    .unwrap_or_default();
                if inner.len() != value.len() && inner.len() >= MIN_KNOWN_SECRET_LEN {
                    needles.push(Zeroizing::new(inner.as_bytes().to_vec()));
                }
            }
        }
        let search = if needles.is_empty() {
            None
        } else {
            Some(Arc::new(
                AhoCorasickBuilder::new()
                    // The longest registered value at a place wins, so a value that extends
                    // another is redacted whole.
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(AhoCorasickKind::DFA))
                    .prefilter(false)
                    .build(needles.iter().map(|n| n.as_slice()))
                    .map_err(|e| KnownSecretError::Automaton(e.to_string()))?,
            ))
        };
        *self
            .shared
            .search
            .write()
            .unwrap_or_else(PoisonError::into_inner) = search;
        Ok(())
    }

    /// The current search, taken without waiting for a rebuild in progress beyond the swap.
    fn search(&self) -> Option<Arc<AhoCorasick>> {
        self.shared
            .search
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Calls `f` with the range of every registered value in `text`, except where the text
    /// at that place is a redaction marker (so redacting twice changes nothing).
    pub(crate) fn for_each(&self, text: &[u8], mut f: impl FnMut(Range<usize>)) {
        let Some(search) = self.search() else {
            return;
        };
        for m in search.find_iter(text) {
            if !inside_marker(text, m.range()) {
                f(m.range());
            }
        }
    }

    /// Whether the end of `before` could be the start of a registered value (some value's
    /// line starts with a non-empty suffix of `before`): a stream must not cut there.
    pub(crate) fn may_continue(&self, before: &[u8]) -> bool {
        let values = self.lock();
        values.iter().any(|(value, _)| {
            lines(value.expose_secret()).any(|line| {
                (1..line.len().min(before.len() + 1))
                    .any(|n| line.starts_with(&before[before.len() - n..]))
            })
        })
    }
}

/// The index of `value` in `values`, comparing in constant time for equal lengths.
fn position(values: &[(SecretBox<[u8]>, u64)], value: &[u8]) -> Option<usize> {
    values
        .iter()
        .position(|(v, _)| bool::from(v.expose_secret().ct_eq(value)))
}

/// The lines of a value, without their `\r\n` or `\n`.
fn lines(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Whether `range` lies inside a redaction marker in `text`: `[REDACTED]` or
/// `[REDACTED:hmac:` + 16 lower-case hex digits + `]`.
fn inside_marker(text: &[u8], range: Range<usize>) -> bool {
    const FIXED: &[u8] = b"[REDACTED]";
    const HMAC: &[u8] = b"[REDACTED:hmac:";
    let from = range.start.saturating_sub(HMAC.len() + 17);
    let to = (range.start + HMAC.len()).min(text.len());
    memchr::memmem::rfind_iter(&text[from..to], b"[REDACTED").any(|i| {
        let s = from + i;
        if s > range.start {
            return false;
        }
        let rest = &text[s..];
        let len = if rest.starts_with(FIXED) {
            FIXED.len()
        } else if rest.starts_with(HMAC)
            && rest.len() > HMAC.len() + 16
            && rest[HMAC.len()..HMAC.len() + 16]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && rest[HMAC.len() + 16] == b']'
        {
            HMAC.len() + 17
        } else {
            return false;
        };
        range.end <= s + len
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_not_values() {
        assert!(inside_marker(b"a [REDACTED] b", 3..11));
        assert!(!inside_marker(b"a [REDACTED] b", 3..13));
        let hmac = b"x [REDACTED:hmac:0123456789abcdef] y";
        assert!(inside_marker(hmac, 17..33));
        assert!(!inside_marker(hmac, 17..35));
        assert!(!inside_marker(b"a REDACTED b", 2..10));
    }

    #[test]
    fn may_continue_sees_a_value_split_at_its_spaces() {
        let known = KnownSecrets::new();
        known.insert(b"correct horse battery").unwrap();
        assert!(known.may_continue(b"log: correct "));
        assert!(known.may_continue(b"log: correct horse "));
        assert!(!known.may_continue(b"log: nothing "));
    }
}
