//! A loaded secret value, and the trait of the places secrets are loaded from.

use std::{fmt, future::Future};

use secrecy::{ExposeSecret as _, SecretBox};

use crate::{address::Address, error::SecretError};

/// The largest secret value any source returns, in bytes: 64 KiB. Secrets are keys,
/// passwords and tokens; a larger value is a misconfiguration (a log file named by mistake).
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// A secret value: its bytes, zeroized when dropped and never shown by `Debug`, and the
/// version its source gave it, if any.
pub struct Secret {
    bytes: SecretBox<[u8]>,
    version: Option<String>,
}

impl Secret {
    /// A secret holding `bytes` (taken over, so no copy is left behind).
    pub fn new(bytes: Vec<u8>, version: Option<String>) -> Self {
        Self {
            bytes: SecretBox::new(bytes.into_boxed_slice()),
            version,
        }
    }

    /// The secret's bytes.
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes.expose_secret()
    }

    /// The version its source gave it (a file's modification time, a remote version id).
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// How many bytes it holds.
    pub fn len(&self) -> usize {
        self.bytes.expose_secret().len()
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether two values hold the same bytes, compared in constant time.
    pub(crate) fn same_value(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("bytes", &"[REDACTED]")
            .field("len", &self.len())
            .field("version", &self.version)
            .finish()
    }
}

/// A place secrets are loaded from. [`LocalSource`](crate::LocalSource) reads the
/// environment, files and systemd credentials; [`SecretCache`](crate::SecretCache) sits in
/// front of any source.
pub trait Source: Send + Sync + 'static {
    /// Loads the current value at `address`.
    ///
    /// # Errors
    ///
    /// [`SecretError`], which names the address and what went wrong, never the value.
    fn fetch(&self, address: &Address) -> impl Future<Output = Result<Secret, SecretError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new(b"hunter2-hunter2".to_vec(), Some("7".into()));
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("[REDACTED]") && shown.contains("len: 15"),
            "{shown}"
        );
    }

    #[test]
    fn same_value_compares_bytes() {
        let a = Secret::new(b"abc".to_vec(), None);
        assert!(a.same_value(&Secret::new(b"abc".to_vec(), Some("2".into()))));
        assert!(!a.same_value(&Secret::new(b"abd".to_vec(), None)));
        assert!(!a.same_value(&Secret::new(b"ab".to_vec(), None)));
    }
}
