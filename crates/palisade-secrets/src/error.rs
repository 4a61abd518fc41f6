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
    /// The source refused access (credentials without the permission, a key that may not be
    /// used; Vault's 403, AWS's `AccessDeniedException`). Not cured by retrying with the same
    /// credentials.
    #[error("access denied")]
    Denied,
    /// The source's answer could not be understood: not the response its API documents, or a
    /// value that is not the JSON object a `#field` selection needs (a field that is missing
    /// or not a string).
    #[error("malformed response or value")]
    Malformed,
    /// This source does not serve this kind of address (a `vault:` address given to
    /// [`LocalSource`](crate::LocalSource), an `env:` address given to a remote provider).
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
