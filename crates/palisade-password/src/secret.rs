//! The two values this crate handles that must never be printed: passwords and their hashes.

use core::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// A password as typed by a user: zeroized on drop, `[REDACTED]` in `Debug`, no `Display`.
///
/// ```
/// use palisade_password::Password;
///
/// let password = Password::from("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password([REDACTED])");
/// ```
///
/// It cannot be printed with `{}`:
///
/// ```compile_fail,E0277
/// let password = palisade_password::Password::from("correct horse battery staple");
/// let _ = format!("{password}");
/// ```
pub struct Password(SecretString);

/// The password's bytes live in a `SecretString`, which zeroizes them on drop.
impl ZeroizeOnDrop for Password {}

impl Password {
    /// Wraps a password, taking ownership so no plain copy is left behind.
    pub fn new(password: String) -> Self {
        Self(SecretString::from(password))
    }

    /// The password itself. Call it only where the bytes are needed.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl From<&str> for Password {
    fn from(password: &str) -> Self {
        Self::new(password.to_owned())
    }
}

impl From<SecretString> for Password {
    fn from(password: SecretString) -> Self {
        Self(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// A stored password hash (a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// A hash is not a secret in the way a password is, but it is what an offline attacker wants,
/// so it stays out of logs: `Debug` shows only the algorithm and there is no `Display`. Store it
/// with [`as_str`](Self::as_str) or [`into_string`](Self::into_string). It is zeroized on drop.
///
/// ```compile_fail,E0277
/// let stored = palisade_password::hash(&"correct horse battery staple".into()).unwrap();
/// let _ = format!("{stored}");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(Zeroizing<String>);

/// The string lives in a `Zeroizing<String>`, which zeroizes it on drop.
impl ZeroizeOnDrop for PasswordHash {}

impl PasswordHash {
    pub(crate) fn new(phc: String) -> Self {
        Self(Zeroizing::new(phc))
    }

    /// The PHC string, to store in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, to store in the database.
    pub fn into_string(mut self) -> String {
        core::mem::take(&mut *self.0)
    }
}

impl AsRef<str> for PasswordHash {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithm = self.0.split('$').nth(1).unwrap_or("");
        write!(f, "PasswordHash({algorithm}, [REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroized_on_drop<T: ZeroizeOnDrop + ?Sized>(_: &T) {}

    /// Each secret type is `ZeroizeOnDrop`, and so is the field that owns its bytes, which is
    /// what makes the marker true: `secrecy` and `zeroize` wipe those on drop.
    #[test]
    fn password_and_hash_are_zeroized_on_drop() {
        let password = Password::from("correct horse battery staple");
        zeroized_on_drop(&password);
        zeroized_on_drop(&password.0);
        let stored = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        zeroized_on_drop(&stored);
        zeroized_on_drop(&stored.0);
    }
}
