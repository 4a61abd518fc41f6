//! Error types: detailed enums for configuration and storage, opaque values with a `kind()` for
//! decryption failures.

use std::fmt;

use crate::keyring::KeyId;

/// Why a ciphertext was rejected. For logs and metrics; callers should treat every kind the
/// same way (the value is unavailable) and never echo the kind to an untrusted party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecryptErrorKind {
    /// Shorter than the smallest possible ciphertext.
    Truncated,
    /// Not palisade-crypt data: wrong text prefix, invalid base64url, or unknown flag bits.
    Malformed,
    /// A format version this build does not read.
    UnsupportedVersion,
    /// An algorithm identifier this build does not know.
    UnsupportedAlgorithm,
    /// The key id is not in the keyring (a foreign ciphertext, or the wrong keyring).
    UnknownKey,
    /// The key was destroyed: the data it protected is gone for good.
    KeyDestroyed,
    /// The key is disabled; re-enable it to read this value.
    KeyDisabled,
    /// The key's version is below the keyring's minimum decryption version.
    KeyBelowMinimumVersion,
    /// The key id is known but the key commitment does not match: the value was made with a
    /// different key carrying the same id, or its header was altered.
    KeyCommitmentMismatch,
    /// The value was encrypted for another context (another table, column, row or tenant).
    WrongContext,
    /// Authentication failed: the nonce, body or tag was altered.
    Tampered,
    /// The key id names a blind-index key, not an encryption key.
    WrongKeyPurpose,
}

impl DecryptErrorKind {
    /// A stable lowercase name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::Malformed => "malformed",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::KeyDestroyed => "key_destroyed",
            Self::KeyDisabled => "key_disabled",
            Self::KeyBelowMinimumVersion => "key_below_minimum_version",
            Self::KeyCommitmentMismatch => "key_commitment_mismatch",
            Self::WrongContext => "wrong_context",
            Self::Tampered => "tampered",
            Self::WrongKeyPurpose => "wrong_key_purpose",
        }
    }
}

impl fmt::Display for DecryptErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ciphertext could not be decrypted. Deliberately says nothing to the caller beyond "no";
/// [`DecryptError::kind`] gives the reason for logs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecryptError {
    kind: DecryptErrorKind,
}

impl DecryptError {
    pub(crate) fn new(kind: DecryptErrorKind) -> Self {
        Self { kind }
    }

    /// The reason, for logs and metrics.
    pub fn kind(&self) -> DecryptErrorKind {
        self.kind
    }
}

impl fmt::Debug for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptError")
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            DecryptErrorKind::KeyDestroyed => "key destroyed",
            DecryptErrorKind::WrongContext => "wrong context",
            _ => "decryption failed",
        };
        write!(f, "{why} ({})", self.kind)
    }
}

impl std::error::Error for DecryptError {}

/// Encryption could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// The plaintext is larger than AES-GCM or the padding scheme allows.
    #[error("the plaintext is too long ({len} bytes)")]
    TooLong {
        /// The plaintext length.
        len: usize,
    },
}

/// A context could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// Field and attribute names are 1 to 64 bytes of `a-z`, `0-9`, `_`, `-` and `.`.
    #[error("invalid name {name:?}: use 1 to 64 characters from a-z, 0-9, '_', '-' and '.'")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// Attribute values are at most 1024 bytes and may not contain `;`.
    #[error("invalid value for attribute {name:?}: at most 1024 bytes, no ';'")]
    InvalidValue {
        /// The attribute whose value was rejected.
        name: String,
    },
    /// An attribute was given twice.
    #[error("attribute {name:?} given twice")]
    DuplicateAttribute {
        /// The repeated attribute.
        name: String,
    },
    /// The text form is not `field` or `field;name=value;...`.
    #[error("a context reads `field` or `field;name=value;...`; could not read {text:?}")]
    Syntax {
        /// The text that could not be read.
        text: String,
    },
    /// More than 32 attributes.
    #[error("at most 32 attributes per context")]
    TooManyAttributes,
}

/// A keyring operation was refused or a keyring could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// No key with this id.
    #[error("no key with id {0}")]
    UnknownKey(KeyId),
    /// A key id is written as 8 hex digits.
    #[error("a key id is 8 hex digits, as `keyring list` shows")]
    InvalidKeyId,
    /// The primary key cannot be disabled or destroyed; promote another key first.
    #[error("key {0} is the primary key; promote another key first")]
    IsPrimary(KeyId),
    /// The operation needs a key in another state.
    #[error("key {id} is {state}; {needed}")]
    WrongState {
        /// The key.
        id: KeyId,
        /// Its current state.
        state: crate::keyring::KeyState,
        /// What the operation needs.
        needed: &'static str,
    },
    /// Ciphertexts still use the key; run the rewrap job until the census reads zero.
    #[error("{remaining} ciphertext(s) still use key {id}; rewrap them first")]
    StillInUse {
        /// The key.
        id: KeyId,
        /// How many ciphertexts the census found on it.
        remaining: u64,
    },
    /// The minimum decryption version would lock out the primary key.
    #[error("minimum decryption version {requested} is above the primary key's version {primary}")]
    MinimumAbovePrimary {
        /// The requested minimum.
        requested: u32,
        /// The primary key's version.
        primary: u32,
    },
    /// The keyring has no primary key for this purpose.
    #[error("the keyring has no primary {0} key")]
    NoPrimary(crate::keyring::KeyPurpose),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// The keyring file is damaged or not a keyring file (it authenticated, or failed to, under
    /// the right master key).
    #[error("the keyring file is corrupted: {0}")]
    Corrupted(&'static str),
    /// The keyring file was written by a newer version of palisade-crypt.
    #[error("unsupported keyring file version {0}")]
    UnsupportedVersion(u8),
    /// The master key is not the one the keyring was sealed with.
    #[error("wrong master key: the keyring was sealed under a different key-encryption key")]
    WrongMasterKey,
    /// The key-encryption key failed.
    #[error("key-encryption key: {0}")]
    Kek(#[from] KekError),
    /// Another writer saved the keyring file after this keyring was loaded: saving would lose
    /// its change. Load the file again, redo the change and save.
    #[error(
        "the keyring file changed since it was loaded (generation {on_disk}, loaded at \
         {loaded}); load it again and redo the change"
    )]
    StaleWrite {
        /// The generation this keyring was loaded or last saved at.
        loaded: u64,
        /// The generation of the file now.
        on_disk: u64,
    },
    /// The keyring file is older than the minimum generation it was opened with: an older
    /// sealed copy was put in its place.
    #[error(
        "the keyring file is generation {generation}, older than the minimum {minimum}: \
         an older copy replaced it"
    )]
    RolledBack {
        /// The file's generation.
        generation: u64,
        /// The minimum accepted.
        minimum: u64,
    },
    /// The file already exists (creating a new keyring never overwrites one).
    #[error("{0} already exists")]
    AlreadyExists(std::path::PathBuf),
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A key-encryption key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The master key is not base64 of exactly 32 bytes.
    #[error("the master key must be base64 of exactly 32 bytes (or 32 raw bytes in a file)")]
    InvalidMasterKey,
    /// The master-key file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The wrapped data did not authenticate under this key-encryption key.
    #[error("unwrapping failed: wrong key-encryption key or altered data")]
    Unwrap,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// A remote key service (KMS, Vault) failed; the message comes from the implementation and
    /// must not contain secrets.
    #[error("key service: {0}")]
    Service(String),
}
