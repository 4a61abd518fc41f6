//! Key-encryption keys: what seals the keyring file. A KMS or Vault plugs in by implementing
//! [`KeyEncryptionKey`].

use std::{fmt, path::Path};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::Mac as _;
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use zeroize::Zeroizing;

use crate::{cipher::FieldCipher, error::KekError};

/// The environment variable [`MasterKey::from_env`] reads.
pub const MASTER_KEY_ENV: &str = "PALISADE_MASTER_KEY";

/// Wraps and unwraps the keyring. Implementations for a KMS or Vault call the service in
/// [`wrap`](KeyEncryptionKey::wrap) and [`unwrap`](KeyEncryptionKey::unwrap).
pub trait KeyEncryptionKey: Send + Sync {
    /// A public, non-secret fingerprint of this key-encryption key (for a local key, a keyed
    /// hash; for a KMS, say, a hash of the key's ARN). Stored in the keyring file so loading
    /// with the wrong key reports [`KeyringError::WrongMasterKey`](crate::KeyringError) rather
    /// than corruption.
    fn key_check(&self) -> [u8; 16];

    /// Encrypts and authenticates `plaintext` bound to `aad`.
    ///
    /// # Errors
    /// If the key service fails.
    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError>;

    /// Reverses [`wrap`](KeyEncryptionKey::wrap).
    ///
    /// # Errors
    /// [`KekError::Unwrap`] if `wrapped` or `aad` was altered or another key wrapped it.
    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError>;
}

/// A local 256-bit master key; wraps with AES-256-GCM and a random nonce. Zeroized on drop.
///
/// It has no `Display`, so it cannot be printed by mistake:
///
/// ```compile_fail
/// let key = palisade_crypt::MasterKey::generate().unwrap();
/// let _ = format!("{key}");
/// ```
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
}

/// The key bytes live in a `Zeroizing` buffer.
impl zeroize::ZeroizeOnDrop for MasterKey {}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl MasterKey {
    /// A fresh random master key.
    ///
    /// # Errors
    /// [`KekError::Random`].
    pub fn generate() -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(|_| KekError::Random)?;
        Ok(Self { key })
    }

    /// From standard base64 of exactly 32 bytes (surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`KekError::InvalidMasterKey`].
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| KekError::InvalidMasterKey)?,
        );
        Self::from_slice(&bytes)
    }

    fn from_slice(bytes: &[u8]) -> Result<Self, KekError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(KekError::InvalidMasterKey);
        }
        key.copy_from_slice(bytes);
        Ok(Self { key })
    }

    /// From exactly 32 raw bytes held in a secret (read from a secret manager, say), without
    /// a detour through base64.
    ///
    /// # Errors
    /// [`KekError::InvalidMasterKey`] if `key` is not 32 bytes long.
    pub fn from_secret(key: &SecretSlice<u8>) -> Result<Self, KekError> {
        Self::from_slice(key.expose_secret())
    }

    /// From `PALISADE_MASTER_KEY` (base64 of 32 bytes).
    ///
    /// # Errors
    /// [`KekError::MissingEnv`] or [`KekError::InvalidMasterKey`].
    pub fn from_env() -> Result<Self, KekError> {
        Self::from_env_var(MASTER_KEY_ENV)
    }

    /// From the named environment variable (base64 of 32 bytes).
    ///
    /// # Errors
    /// [`KekError::MissingEnv`] or [`KekError::InvalidMasterKey`].
    pub fn from_env_var(name: &str) -> Result<Self, KekError> {
        let value =
            Zeroizing::new(std::env::var(name).map_err(|_| KekError::MissingEnv(name.to_owned()))?);
        Self::from_base64(&value)
    }

    /// From a file holding either base64 of 32 bytes or exactly 32 raw bytes.
    ///
    /// # Errors
    /// [`KekError::Io`] or [`KekError::InvalidMasterKey`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KekError> {
        let path = path.as_ref();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KekError::Io {
            path: path.to_owned(),
            source,
        })?);
        if bytes.len() == 32 {
            return Self::from_slice(&bytes);
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| KekError::InvalidMasterKey)?;
        Self::from_base64(text)
    }

    /// The key as standard base64, for storing it in a secret manager.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.key.as_ref()))
    }

    fn cipher(&self) -> FieldCipher {
        FieldCipher::new(&self.key)
    }
}

const KEY_CHECK_LABEL: &[u8] = b"palisade-crypt master key check v1";

impl KeyEncryptionKey for MasterKey {
    fn key_check(&self) -> [u8; 16] {
        let mut mac = crate::cipher::hmac_sha256(&self.key);
        mac.update(KEY_CHECK_LABEL);
        let tag = mac.finalize().into_bytes();
        let mut out = [0; 16];
        out.copy_from_slice(&tag[..16]);
        out
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| KekError::Random)?;
        let mut out = Vec::with_capacity(12 + plaintext.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher()
            .seal(nonce, aad, &mut out[12..])
            .ok_or_else(|| KekError::Service("plaintext too long to wrap".to_owned()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        if wrapped.len() < 12 + 16 {
            return Err(KekError::Unwrap);
        }
        let (nonce, rest) = wrapped.split_at(12);
        let (body, tag) = rest.split_at(rest.len() - 16);
        let mut out = Zeroizing::new(body.to_vec());
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KekError::Unwrap)?;
        let tag: [u8; 16] = tag.try_into().map_err(|_| KekError::Unwrap)?;
        if !self.cipher().open(nonce, aad, &mut out, &tag) {
            return Err(KekError::Unwrap);
        }
        Ok(out)
    }
}

impl MasterKey {
    #[doc(hidden)]
    pub fn insecure_from_bytes(key: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the value zeroizes itself on drop.
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}

    #[test]
    fn master_keys_are_zeroized_on_drop() {
        let key = MasterKey::generate().unwrap();
        zeroized_on_drop(&key.key);
        zeroized_on_drop(&key);
    }

    /// Keyring files sealed by a build on one backend open on the other.
    #[cfg(feature = "aws-lc")]
    #[test]
    fn master_key_wraps_cross_backends() {
        let key = MasterKey::generate().unwrap();
        let aes = crate::cipher::AesGcmCipher::new(&key.key);

        let wrapped = key.wrap(b"keyring body", b"aad").unwrap();
        let (nonce, rest) = wrapped.split_at(12);
        let (body, tag) = rest.split_at(rest.len() - 16);
        let mut opened = body.to_vec();
        assert!(aes.open(
            nonce.try_into().unwrap(),
            b"aad",
            &mut opened,
            tag.try_into().unwrap()
        ));
        assert_eq!(opened, b"keyring body");

        let nonce = [5u8; 12];
        let mut body = b"keyring body".to_vec();
        let tag = aes.seal(nonce, b"aad", &mut body).unwrap();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(&tag);
        assert_eq!(
            key.unwrap(&sealed, b"aad").unwrap().as_slice(),
            b"keyring body"
        );
        sealed[20] ^= 1;
        assert!(matches!(key.unwrap(&sealed, b"aad"), Err(KekError::Unwrap)));
    }
}
