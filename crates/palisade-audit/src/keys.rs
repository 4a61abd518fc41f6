//! Keys: the forward-evolving MAC key and the Ed25519 checkpoint keys.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signer as _, Verifier as _};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::KeyError;

type HmacSha256 = Hmac<Sha256>;

/// The message that turns epoch `e`'s key into epoch `e + 1`'s: `k' = HMAC-SHA256(k, NEXT)`.
/// Record MACs cover JSON objects, which start with `{`, so no record MAC equals a key.
const NEXT_EPOCH: &[u8] = b"palisade-audit v1 next epoch";

/// How many epochs a writer or verifier steps its MAC key forward in one go, at most
/// (about half a minute of HMACs). Beyond that the clock or the record is wrong.
pub(crate) const MAX_EPOCH_STEP: u64 = 1 << 26;

fn random32() -> Result<[u8; 32], KeyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| KeyError::Randomness)?;
    Ok(bytes)
}

/// The MAC key of one epoch. The log's writer holds only the current epoch's key and steps it
/// forward at every epoch boundary, erasing the old one, so a key stolen today cannot forge a
/// record of an earlier epoch (Schneier and Kelsey's forward-secure MAC).
///
/// Keep the epoch-0 key, the one the log was created with, offline: a verifier given it
/// re-derives every epoch's key and checks every record's MAC. Its `Debug` never shows the
/// key; read it only through [`ExposeSecret`]. It is zeroized on drop.
///
/// ```
/// use palisade_audit::MacKey;
/// use secrecy::ExposeSecret;
///
/// let key = MacKey::generate().unwrap();
/// let saved: [u8; 32] = *key.expose_secret(); // store offline, e.g. in a vault
/// let restored = MacKey::from_bytes(saved);
/// assert_eq!(format!("{restored:?}"), "MacKey { epoch: 0, key: [REDACTED] }");
/// ```
pub struct MacKey {
    epoch: u64,
    key: SecretBox<[u8; 32]>,
}

impl MacKey {
    /// A new random epoch-0 key, from the operating system's generator.
    ///
    /// # Errors
    ///
    /// [`KeyError::Randomness`] when the operating system has no randomness to give.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::from_bytes(random32()?))
    }

    /// The epoch-0 key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::at_epoch(0, bytes)
    }

    pub(crate) fn at_epoch(epoch: u64, bytes: [u8; 32]) -> Self {
        let mut bytes = bytes;
        let key = SecretBox::new(Box::new(bytes));
        zeroize::Zeroize::zeroize(&mut bytes);
        Self { epoch, key }
    }

    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Steps the key forward one epoch; the old key is zeroized as `self` is replaced.
    pub(crate) fn advance(&mut self) {
        let next = self.derive_next();
        *self = next;
    }

    /// A new key `steps` epochs later, leaving `self` as it is (for verifiers).
    pub(crate) fn derive_forward(&self, steps: u64) -> Self {
        let mut k = Self::at_epoch(self.epoch, *self.key.expose_secret());
        for _ in 0..steps {
            k.advance();
        }
        k
    }

    fn derive_next(&self) -> Self {
        let next: [u8; 32] = self
            .hmac()
            .chain_update(NEXT_EPOCH)
            .finalize()
            .into_bytes()
            .into();
        Self::at_epoch(self.epoch + 1, next)
    }

    fn hmac(&self) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length, so a 32-byte key")
    }

    /// HMAC-SHA256 of a record's content.
    pub(crate) fn mac(&self, content: &[u8]) -> [u8; 32] {
        self.hmac()
            .chain_update(content)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `tag` is this key's MAC of `content`, in constant time.
    pub(crate) fn check(&self, content: &[u8], tag: &[u8; 32]) -> bool {
        self.mac(content).ct_eq(tag).into()
    }
}

impl ExposeSecret<[u8; 32]> for MacKey {
    fn expose_secret(&self) -> &[u8; 32] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("epoch", &self.epoch)
            .field("key", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// The Ed25519 key that signs checkpoints. Zeroized on drop; its `Debug` shows only the public
/// key's id.
///
/// ```
/// use palisade_audit::SigningKey;
///
/// let key = SigningKey::generate().unwrap();
/// let public = key.verifying_key();
/// assert!(format!("{key:?}").contains(&public.key_id()));
/// ```
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A new random key, from the operating system's generator.
    ///
    /// # Errors
    ///
    /// [`KeyError::Randomness`] when the operating system has no randomness to give.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = random32()?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(Self(key))
    }

    /// The key with this 32-byte secret seed (RFC 8032).
    pub fn from_secret(seed: &SecretBox<[u8; 32]>) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed.expose_secret()))
    }

    /// The public key that verifies this key's signatures.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl ExposeSecret<[u8; 32]> for SigningKey {
    fn expose_secret(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.verifying_key().key_id())
            .field("secret", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// The Ed25519 public key that verifies checkpoints. Anyone may hold it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// Parses the 32-byte encoding.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] when the bytes are not a valid Ed25519 point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Parses the standard base64 of the 32-byte encoding.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] when the text is not the base64 of a valid key.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::InvalidPublicKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::InvalidPublicKey)?;
        Self::from_bytes(&bytes)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The standard base64 of the 32-byte encoding.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// A short id: the hex of the first four bytes of SHA-256 of the key. Records and
    /// checkpoints name the key they expect by it.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        crate::hex::encode(&digest[..4])
    }

    /// Checks a strict (RFC 8032, no malleability) Ed25519 signature.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &sig).is_ok() && self.0.verify(message, &sig).is_ok()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evolution_is_deterministic_and_one_way_in_shape() {
        let k0 = MacKey::from_bytes([7; 32]);
        let k3 = k0.derive_forward(3);
        assert_eq!(k3.epoch(), 3);
        let mut k = MacKey::from_bytes([7; 32]);
        k.advance();
        k.advance();
        k.advance();
        assert_eq!(k.expose_secret(), k3.expose_secret());
        assert_ne!(k.expose_secret(), k0.expose_secret());
        let tag = k3.mac(b"{\"a\":1}");
        assert!(k.check(b"{\"a\":1}", &tag));
        assert!(!k0.check(b"{\"a\":1}", &tag));
    }

    #[test]
    fn signatures_round_trip() {
        let key = SigningKey::from_secret(&SecretBox::new(Box::new([9; 32])));
        let public = key.verifying_key();
        let sig = key.sign(b"message");
        assert!(public.verify(b"message", &sig));
        assert!(!public.verify(b"messagf", &sig));
        let again = VerifyingKey::from_base64(&public.to_base64()).unwrap();
        assert_eq!(again, public);
        assert!(!format!("{key:?}").contains(&format!("{:?}", [9u8; 32])));
    }
}
