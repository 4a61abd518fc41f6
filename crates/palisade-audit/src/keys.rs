//! Keys: the forward-evolving MAC key, the Ed25519 checkpoint keys and the [`CheckpointSigner`]
//! seam that lets the signing key live somewhere else (a file, an HSM, a KMS).

use std::{fmt, path::Path};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signer as _, Verifier as _};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::{error::KeyError, files};

type HmacSha256 = Hmac<Sha256>;

/// The message that turns epoch `e`'s key into epoch `e + 1`'s: `k' = HMAC-SHA256(k, NEXT)`.
/// Record MACs cover JSON objects, which start with `{`, so no record MAC equals a key.
const NEXT_EPOCH: &[u8] = b"palisade-audit v1 next epoch";

/// The C2SP signed-note signature type of Ed25519.
pub(crate) const ED25519_NOTE_TYPE: u8 = 0x01;

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
/// key; read it only through [`ExposeSecret`]. It is zeroized on drop, and so is the keyed
/// HMAC state it keeps to MAC records without running HMAC's key schedule for each one.
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
///
/// It has no `Display`, so it cannot be printed by mistake:
///
/// ```compile_fail
/// let key = palisade_audit::MacKey::generate().unwrap();
/// let _ = format!("{key}");
/// ```
pub struct MacKey {
    epoch: u64,
    key: SecretBox<[u8; 32]>,
    /// HMAC-SHA256 with `key` absorbed (the inner and outer pads' compressions): every MAC
    /// under this key starts from a copy of it.
    keyed: SecretBox<KeyedHmac>,
}

/// An HMAC-SHA256 state that has absorbed a key and nothing else. As secret as the key: its
/// two SHA-256 states are the key's inner and outer pad compressed.
///
/// `hmac`'s states hold `sha2` cores that zeroize their state on drop (the workspace turns on
/// `sha2/zeroize` and `hmac/zeroize`; `keyed_states_are_wiped_on_drop` checks the bound), so
/// [`Zeroize`] drops the state in place and leaves one keyed with all zeros there.
#[derive(Clone)]
struct KeyedHmac(HmacSha256);

impl KeyedHmac {
    fn new(key: &[u8; 32]) -> Self {
        Self(
            <HmacSha256 as KeyInit>::new_from_slice(key)
                .expect("HMAC accepts keys of any length, so a 32-byte key"),
        )
    }
}

impl Default for KeyedHmac {
    fn default() -> Self {
        Self::new(&[0; 32])
    }
}

impl Zeroize for KeyedHmac {
    fn zeroize(&mut self) {
        // The assignment drops the keyed state where it lies, and its SHA-256 cores wipe
        // themselves as they are dropped.
        *self = Self::default();
    }
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
        bytes.zeroize();
        let keyed = SecretBox::init_with_mut(|k: &mut KeyedHmac| {
            *k = KeyedHmac::new(key.expose_secret());
        });
        Self { epoch, key, keyed }
    }

    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A copy of this key (for verifiers, which keep the epoch-0 key while they step a copy).
    pub(crate) fn duplicate(&self) -> Self {
        Self::at_epoch(self.epoch, *self.key.expose_secret())
    }

    /// A new key `steps` epochs later, leaving `self` as it is.
    pub(crate) fn derive_forward(&self, steps: u64) -> Self {
        if steps == 0 {
            return self.duplicate();
        }
        // The steps between run on a working copy in one zeroized buffer; only the last key
        // gets a boxed, keyed `MacKey`.
        let mut k = zeroize::Zeroizing::new(next_key(self.keyed.expose_secret()));
        for _ in 1..steps {
            let keyed = KeyedHmac::new(&k);
            *k = next_key(&keyed);
        }
        Self::at_epoch(self.epoch + steps, *k)
    }

    /// A fresh HMAC-SHA256 under this key: a copy of the keyed state.
    fn hmac(&self) -> HmacSha256 {
        self.keyed.expose_secret().0.clone()
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

/// `k' = HMAC-SHA256(k, NEXT_EPOCH)`, from `k`'s keyed state.
fn next_key(keyed: &KeyedHmac) -> [u8; 32] {
    keyed
        .0
        .clone()
        .chain_update(NEXT_EPOCH)
        .finalize()
        .into_bytes()
        .into()
}

/// The key bytes and the keyed HMAC state live in `SecretBox`es, which zeroize them on drop.
impl zeroize::ZeroizeOnDrop for MacKey {}

impl ExposeSecret<[u8; 32]> for MacKey {
    fn expose_secret(&self) -> &[u8; 32] {
        self.key.expose_secret()
    }
}

#[allow(
    clippy::missing_fields_in_debug,
    reason = "the keyed HMAC state is the key too: both stand behind `[REDACTED]`"
)]
impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("epoch", &self.epoch)
            .field("key", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// Why a [`CheckpointSigner`] could not sign: its device or service failed. Says nothing about
/// the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the checkpoint signer failed: {reason}")]
pub struct SignError {
    reason: String,
}

impl SignError {
    /// A failure described by `reason` (never put key material in it).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Signs checkpoints: the seam for a signing key kept outside the process's memory (an HSM or a
/// KMS). [`SigningKey`] implements it for a key in memory, read from a file or generated.
///
/// A log names its signer's public key (as a C2SP note key id) in its genesis record, so
/// [`open`](crate::AuditLogBuilder::open) refuses any other.
pub trait CheckpointSigner: Send + Sync + fmt::Debug {
    /// The public key that verifies this signer's signatures.
    fn verifying_key(&self) -> VerifyingKey;

    /// An Ed25519 (RFC 8032) signature of `message`.
    ///
    /// # Errors
    ///
    /// [`SignError`] when the device or service behind the signer fails.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}

/// The Ed25519 key that signs checkpoints. Zeroized on drop; its `Debug` shows only the public
/// key.
///
/// ```
/// use palisade_audit::SigningKey;
///
/// let key = SigningKey::generate().unwrap();
/// let public = key.verifying_key();
/// assert!(format!("{key:?}").contains(&public.to_base64()));
/// ```
///
/// It has no `Display`, so it cannot be printed by mistake:
///
/// ```compile_fail
/// let key = palisade_audit::SigningKey::generate().unwrap();
/// let _ = format!("{key}");
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
        seed.zeroize();
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

    /// Writes the key to a new file (mode 0600 on Unix; never over an existing file), synced.
    ///
    /// # Errors
    ///
    /// The operating system's, [`io::ErrorKind::AlreadyExists`](std::io::ErrorKind) included.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        files::write_new_private(path.as_ref(), self.to_file_text().as_bytes())
    }

    pub(crate) fn to_file_text(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!(
            "{SIGNING_KEY_HEADER}\n{}\n",
            zeroize::Zeroizing::new(STANDARD.encode(self.0.as_bytes())).as_str()
        ))
    }

    /// Reads a key written by [`write_new_file`](Self::write_new_file).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unreadable`] when the file cannot be read, [`KeyError::InvalidSigningKey`]
    /// when it does not hold a key. Neither says anything about the file's contents.
    pub fn read_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let text = zeroize::Zeroizing::new(
            files::read_small(path.as_ref()).map_err(|_| KeyError::Unreadable)?,
        );
        let mut lines = text.lines();
        if lines.next() != Some(SIGNING_KEY_HEADER) {
            return Err(KeyError::InvalidSigningKey);
        }
        let seed = zeroize::Zeroizing::new(
            lines
                .next()
                .and_then(|l| STANDARD.decode(l.trim()).ok())
                .ok_or(KeyError::InvalidSigningKey)?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::InvalidSigningKey)?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(seed)))
    }
}

const SIGNING_KEY_HEADER: &str = "palisade-audit checkpoint signing key v1";

impl CheckpointSigner for SigningKey {
    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.0.sign(message).to_bytes())
    }
}

/// `ed25519_dalek`'s key (its `zeroize` feature is on) zeroizes its secret scalar and seed on
/// drop.
impl zeroize::ZeroizeOnDrop for SigningKey {}

impl ExposeSecret<[u8; 32]> for SigningKey {
    fn expose_secret(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.verifying_key().to_base64())
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

    /// The key's id under the note key name `name`, as C2SP signed notes compute it for
    /// Ed25519: the first four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`.
    pub fn note_key_id(&self, name: &str) -> [u8; 4] {
        let digest = Sha256::new()
            .chain_update(name.as_bytes())
            .chain_update([0x0a, ED25519_NOTE_TYPE])
            .chain_update(self.0.as_bytes())
            .finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }

    /// The key as a signed-note verifier key, `<name>+<key id, 8 hex digits>+<base64 of 0x01 ||
    /// public key>`: the form transparency-log witnesses and Go's `golang.org/x/mod/sumdb/note`
    /// are configured with.
    pub fn note_verifier_key(&self, name: &str) -> String {
        let mut data = Vec::with_capacity(33);
        data.push(ED25519_NOTE_TYPE);
        data.extend_from_slice(self.0.as_bytes());
        format!(
            "{name}+{}+{}",
            crate::hex::encode(&self.note_key_id(name)),
            STANDARD.encode(data)
        )
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
        k = k.derive_forward(1);
        k = k.derive_forward(1);
        k = k.derive_forward(1);
        assert_eq!(k.expose_secret(), k3.expose_secret());
        assert_ne!(k.expose_secret(), k0.expose_secret());
        let tag = k3.mac(b"{\"a\":1}");
        assert!(k.check(b"{\"a\":1}", &tag));
        assert!(!k0.check(b"{\"a\":1}", &tag));
    }

    /// HMAC-SHA256 with a fresh key schedule, as the first writer computed every MAC.
    fn fresh_hmac(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
        <HmacSha256 as KeyInit>::new_from_slice(key)
            .unwrap()
            .chain_update(data)
            .finalize()
            .into_bytes()
            .into()
    }

    /// MACs from the kept keyed state, and keys stepped from it, are what a fresh HMAC gives.
    #[test]
    fn the_keyed_state_gives_the_same_macs_and_keys_as_a_fresh_hmac() {
        let mut bytes = [7u8; 32];
        let k0 = MacKey::from_bytes(bytes);
        let mut k = k0.duplicate();
        for epoch in 0..5u64 {
            assert_eq!(k.epoch(), epoch);
            assert_eq!(k.expose_secret(), &bytes);
            assert_eq!(k0.derive_forward(epoch).expose_secret(), &bytes);
            for data in [&b""[..], b"{\"a\":1}", &[0x36; 200]] {
                assert_eq!(k.mac(data), fresh_hmac(&bytes, data));
                assert!(k.check(data, &fresh_hmac(&bytes, data)));
            }
            bytes = fresh_hmac(&bytes, NEXT_EPOCH);
            k = k.derive_forward(1);
        }
        // A MAC does not disturb the state the next one starts from.
        let once = k.mac(b"x");
        let _ = k.mac(b"something else");
        assert_eq!(k.mac(b"x"), once);
    }

    #[test]
    fn keyed_states_are_wiped_on_drop() {
        // What `KeyedHmac`'s `Zeroize` relies on: SHA-256's state wipes itself when dropped.
        fn core_wipes_itself<D: hmac::EagerHash>()
        where
            D::Core: zeroize::ZeroizeOnDrop,
        {
        }
        core_wipes_itself::<Sha256>();
        let key = MacKey::from_bytes([7; 32]);
        zeroized_on_drop(&key.keyed);
        // Zeroizing leaves a state keyed with zeros where the key's state was.
        let mut keyed = KeyedHmac::new(&[7; 32]);
        keyed.zeroize();
        assert_eq!(next_key(&keyed), fresh_hmac(&[0; 32], NEXT_EPOCH));
        assert!(!format!("{:?}", key.keyed).contains("7, 7"));
    }

    #[test]
    fn signatures_round_trip() {
        let key = SigningKey::from_secret(&SecretBox::new(Box::new([9; 32])));
        let public = key.verifying_key();
        let sig = CheckpointSigner::sign(&key, b"message").unwrap();
        assert!(public.verify(b"message", &sig));
        assert!(!public.verify(b"messagf", &sig));
        let again = VerifyingKey::from_base64(&public.to_base64()).unwrap();
        assert_eq!(again, public);
        assert!(!format!("{key:?}").contains(&format!("{:?}", [9u8; 32])));
    }

    /// Compiles only while the field holding the secret zeroizes itself on drop.
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}

    #[test]
    fn mac_keys_and_signing_keys_are_zeroized_on_drop() {
        let mac = MacKey::generate().unwrap();
        zeroized_on_drop(&mac.key);
        zeroized_on_drop(&mac);
        let stepped = mac.derive_forward(1);
        zeroized_on_drop(&stepped.key);
        let signing = SigningKey::generate().unwrap();
        zeroized_on_drop(&signing.0);
        zeroized_on_drop(&signing);
    }
}
