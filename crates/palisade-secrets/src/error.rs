//! Why a secret could not be loaded.

use crate::address::Address;

/// Why a secret could not be loaded: the address and the kind of failure, never the value
/// (nor any part of a file or variable that was read).
#[derive(Debug, Clone, thiserror::Error)]
#[error("secret {address}: {kind}")]
pub struct SecretError {
    address: Address,
    kind: SecretErrorKind,
}

/// What went wrong, for logs, metrics and decisions (retry or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretErrorKind {
    /// The variable, file or credential does not exist (or `$CREDENTIALS_DIRECTORY` is unset).
    #[error("not found")]
    NotFound,
    /// It exists but could not be read (permissions, an I/O error, not UTF-8 for a variable).
    #[error("cannot be read")]
    Unreadable,
    /// Larger than [`MAX_SECRET_BYTES`](crate::MAX_SECRET_BYTES) or the configured cap.
    #[error("larger than the size cap")]
    TooLarge,
    /// Empty once its one trailing newline is removed.
    #[error("empty")]
    Empty,
    /// A file that its group or others can read or write.
    #[error("readable or writable by group or others (chmod 600, or opt out by name)")]
    NotPrivate,
    /// A path that is not a regular file (a directory, a FIFO, a device).
    #[error("not a regular file")]
    NotRegularFile,
    /// The source gave no answer within its time limit.
    #[error("timed out")]
    Timeout,
    /// The source is unreachable or answered with an error.
    #[error("source unavailable")]
    Unavailable,
    /// The source refused access (Vault's 403: a missing or expired token, a policy that does
    /// not grant the path). Not retried by changing anything but the credentials.
    #[error("access denied")]
    Denied,
    /// The source answered with something that is not the documented shape (a body that does
    /// not parse, a field that is missing or not a string).
    #[error("malformed response or value")]
    Malformed,
    /// This source does not read this kind of address (a `vault:` address given to
    /// [`LocalSource`](crate::LocalSource), say).
    #[error("address form not served by this source")]
    Unsupported,
}

impl SecretError {
    /// An error of `kind` for `address`.
    pub fn new(address: &Address, kind: SecretErrorKind) -> Self {
        Self {
            address: address.clone(),
            kind,
        }
    }

    /// The address that failed.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// What went wrong.
    pub fn kind(&self) -> SecretErrorKind {
        self.kind
    }
}
