//! Peppers: server-side secrets mixed into every hash, with versions so they can be rotated.
//!
//! The pepper is Argon2's secret input `K` (RFC 9106 section 3.1), so a stolen database alone
//! cannot be brute-forced. Its id is written into the PHC string's `keyid` parameter, so after a
//! rotation old hashes still verify with their old pepper and are reported for upgrade.

use core::fmt;

use secrecy::{ExposeSecret, SecretBox};

use crate::error::ConfigError;

/// Smallest pepper accepted, in bytes.
pub const MIN_PEPPER_LEN: usize = 32;

/// One pepper and its id.
pub struct Pepper {
    id: String,
    secret: SecretBox<[u8]>,
}

impl Pepper {
    /// A pepper named `id` (1 to 8 characters from `[A-Za-z0-9_-]`, recorded in every hash made
    /// with it) holding `secret` (at least 32 random bytes, kept out of the database).
    ///
    /// # Errors
    /// [`ConfigError::InvalidPepperId`] or [`ConfigError::PepperTooShort`].
    pub fn new(id: &str, secret: SecretBox<[u8]>) -> Result<Self, ConfigError> {
        let id_ok = (1..=8).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(ConfigError::InvalidPepperId);
        }
        let len = secret.expose_secret().len();
        if len < MIN_PEPPER_LEN {
            return Err(ConfigError::PepperTooShort { len });
        }
        Ok(Self {
            id: id.to_owned(),
            secret,
        })
    }

    /// The pepper's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn secret(&self) -> &[u8] {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// The current pepper, used for new hashes, and retired ones, used only to verify.
#[derive(Debug)]
pub struct Peppers {
    current: usize,
    all: Vec<Pepper>,
}

impl Peppers {
    /// A set whose current pepper is `current`.
    pub fn new(current: Pepper) -> Self {
        Self {
            current: 0,
            all: vec![current],
        }
    }

    /// Adds a retired pepper: hashes that name it still verify and are reported for upgrade.
    ///
    /// # Errors
    /// [`ConfigError::DuplicatePepperId`] if its id is already in the set.
    pub fn with_retired(mut self, retired: Pepper) -> Result<Self, ConfigError> {
        if self.find(retired.id.as_bytes()).is_some() {
            return Err(ConfigError::DuplicatePepperId);
        }
        self.all.push(retired);
        Ok(self)
    }

    pub(crate) fn current(&self) -> &Pepper {
        // `current` is an index set by `new` (0) and never changed; `all` is never emptied.
        &self.all[self.current]
    }

    pub(crate) fn find(&self, id: &[u8]) -> Option<&Pepper> {
        self.all.iter().find(|p| p.id.as_bytes() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(n: usize) -> SecretBox<[u8]> {
        SecretBox::new(vec![7u8; n].into_boxed_slice())
    }

    #[test]
    fn ids_and_lengths_are_validated() {
        assert!(Pepper::new("2026a", secret(32)).is_ok());
        assert_eq!(
            Pepper::new("", secret(32)).err(),
            Some(ConfigError::InvalidPepperId)
        );
        assert_eq!(
            Pepper::new("123456789", secret(32)).err(),
            Some(ConfigError::InvalidPepperId)
        );
        assert_eq!(
            Pepper::new("a$b", secret(32)).err(),
            Some(ConfigError::InvalidPepperId)
        );
        assert_eq!(
            Pepper::new("a", secret(31)).err(),
            Some(ConfigError::PepperTooShort { len: 31 })
        );
    }

    /// The secret bytes live in a `SecretBox`, which zeroizes them on drop.
    #[test]
    fn pepper_secret_is_zeroized_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}
        let pepper = Pepper::new("a", secret(32)).unwrap();
        zeroized_on_drop(&pepper.secret);
    }

    #[test]
    fn duplicate_ids_are_refused_and_debug_hides_secret() {
        let set = Peppers::new(Pepper::new("a", secret(32)).unwrap());
        let err = set
            .with_retired(Pepper::new("a", secret(40)).unwrap())
            .err();
        assert_eq!(err, Some(ConfigError::DuplicatePepperId));
        let shown = format!("{:?}", Pepper::new("a", secret(32)).unwrap());
        assert!(
            shown.contains("REDACTED") && !shown.contains('7'),
            "{shown}"
        );
    }
}
