//! The 32-byte server secret behind HMAC-based tokens (opaque tokens, CSRF tokens).

use secrecy::SecretBox;
use sha2::{Digest as _, Sha256};

use crate::ConfigError;

/// `key` as a 32-byte HMAC-SHA256 key: refused when shorter than 32 bytes, taken as is at 32,
/// hashed to 32 with SHA-256 when longer.
pub(crate) fn server_key(key: &[u8]) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    if key.len() < 32 {
        return Err(ConfigError::SecretTooShort {
            alg: "HMAC-SHA256",
            min: 32,
            got: key.len(),
        });
    }
    let mut k = Box::new([0u8; 32]);
    if key.len() == 32 {
        k.copy_from_slice(key);
    } else {
        k.copy_from_slice(&Sha256::digest(key));
    }
    Ok(SecretBox::new(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the value zeroizes itself on drop.
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}

    #[test]
    fn server_keys_are_zeroized_on_drop() {
        for len in [32, 64] {
            zeroized_on_drop(&server_key(&vec![1; len]).unwrap());
        }
    }
}
