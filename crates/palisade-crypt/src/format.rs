//! The ciphertext format, version 1. Every multi-byte integer is big-endian.
//!
//! ```text
//! offset  size  field
//!      0     1  format version (1)
//!      1     1  algorithm (1 = AES-256-GCM, HKDF-SHA256 salted per-field subkey, key commitment)
//!      2     1  flags (bit 0: padded; the other bits must be zero)
//!      3     4  key id
//!      7    16  subkey salt
//!     23    32  key commitment
//!     55     8  context check
//!     63    12  nonce
//!     75     n  body (AES-256-GCM ciphertext)
//!   75+n    16  tag
//! ```
//!
//! The associated data is bytes 0..75 followed by the canonical context encoding, so no header
//! byte can change without failing authentication. The text form is `pc1:` followed by the
//! bytes in unpadded base64url.

use std::{fmt, str::FromStr};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    error::{DecryptError, DecryptErrorKind},
    keyring::KeyId,
};

pub(crate) const VERSION: u8 = 1;
pub(crate) const ALG_AES256GCM_HKDF: u8 = 1;
pub(crate) const FLAG_PADDED: u8 = 0b0000_0001;
pub(crate) const SALT_LEN: usize = 16;
pub(crate) const COMMIT_LEN: usize = 32;
pub(crate) const CHECK_LEN: usize = 8;
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
pub(crate) const SALT_AT: usize = 7;
pub(crate) const COMMIT_AT: usize = SALT_AT + SALT_LEN;
pub(crate) const CHECK_AT: usize = COMMIT_AT + COMMIT_LEN;
pub(crate) const NONCE_AT: usize = CHECK_AT + CHECK_LEN;
/// Length of the authenticated header, nonce included.
pub(crate) const HEADER_LEN: usize = NONCE_AT + NONCE_LEN;
/// The smallest ciphertext: header and tag around an empty body.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The text form's prefix.
pub const TEXT_PREFIX: &str = "pc1:";

/// An encrypted value in palisade-crypt's self-describing format. Parsing checks the structure
/// only; authenticity is checked by [`Crypter::decrypt`](crate::Crypter::decrypt).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ciphertext {
    bytes: Vec<u8>,
}

impl Ciphertext {
    /// Reads the binary form.
    ///
    /// # Errors
    /// [`DecryptErrorKind::Truncated`], [`DecryptErrorKind::UnsupportedVersion`],
    /// [`DecryptErrorKind::UnsupportedAlgorithm`] or [`DecryptErrorKind::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecryptError> {
        check(bytes)?;
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Reads the text form (`pc1:` and base64url).
    ///
    /// # Errors
    /// [`DecryptErrorKind::Malformed`] for another prefix or invalid base64url, then as
    /// [`Ciphertext::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, DecryptError> {
        let body = text
            .strip_prefix(TEXT_PREFIX)
            .ok_or(DecryptError::new(DecryptErrorKind::Malformed))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| DecryptError::new(DecryptErrorKind::Malformed))?;
        check(&bytes)?;
        Ok(Self { bytes })
    }

    pub(crate) fn from_vec_unchecked(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The binary form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The binary form, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The text form: `pc1:` and unpadded base64url.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(TEXT_PREFIX.len() + self.bytes.len().div_ceil(3) * 4);
        out.push_str(TEXT_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&self.bytes, &mut out);
        out
    }

    /// The id of the key that encrypted this value (read from the header, not yet authenticated).
    pub fn key_id(&self) -> KeyId {
        KeyId::from_be_bytes(&self.bytes[3..7])
    }

    pub(crate) fn flags(&self) -> u8 {
        self.bytes[2]
    }

    pub(crate) fn salt(&self) -> &[u8; SALT_LEN] {
        self.bytes[SALT_AT..COMMIT_AT]
            .try_into()
            .unwrap_or(&[0; SALT_LEN])
    }

    pub(crate) fn commitment(&self) -> &[u8] {
        &self.bytes[COMMIT_AT..CHECK_AT]
    }

    pub(crate) fn context_check(&self) -> &[u8] {
        &self.bytes[CHECK_AT..NONCE_AT]
    }

    /// The header, nonce included: the start of the associated data.
    pub(crate) fn header(&self) -> &[u8; HEADER_LEN] {
        // `check` made every ciphertext at least `OVERHEAD` bytes long.
        self.bytes
            .first_chunk::<HEADER_LEN>()
            .unwrap_or(&[0; HEADER_LEN])
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0; NONCE_LEN];
        nonce.copy_from_slice(&self.header()[NONCE_AT..]);
        nonce
    }

    /// The body and the tag after it (`None` only below `OVERHEAD`, which `check` refuses).
    pub(crate) fn body_and_tag(&self) -> Option<(&[u8], &[u8; TAG_LEN])> {
        self.bytes.get(HEADER_LEN..)?.split_last_chunk::<TAG_LEN>()
    }
}

fn check(bytes: &[u8]) -> Result<(), DecryptError> {
    let fail = |kind| Err(DecryptError::new(kind));
    match bytes.first() {
        None => return fail(DecryptErrorKind::Truncated),
        Some(&VERSION) => {}
        Some(_) => return fail(DecryptErrorKind::UnsupportedVersion),
    }
    match bytes.get(1) {
        None => return fail(DecryptErrorKind::Truncated),
        Some(&ALG_AES256GCM_HKDF) => {}
        Some(_) => return fail(DecryptErrorKind::UnsupportedAlgorithm),
    }
    if bytes.len() < OVERHEAD {
        return fail(DecryptErrorKind::Truncated);
    }
    if bytes[2] & !FLAG_PADDED != 0 {
        return fail(DecryptErrorKind::Malformed);
    }
    Ok(())
}

impl fmt::Display for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Shows the key id and length, not the bytes.
impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ciphertext")
            .field("key_id", &self.key_id())
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl FromStr for Ciphertext {
    type Err = DecryptError;

    fn from_str(text: &str) -> Result<Self, DecryptError> {
        Self::from_text(text)
    }
}
