//! Errors. None of them ever contains a key.

use std::{io, path::PathBuf};

/// A key could not be made or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The operating system's random generator failed.
    #[error("the operating system's random generator failed")]
    Randomness,
    /// The bytes are not an Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
    /// The file does not hold a palisade-audit checkpoint signing key.
    #[error("not a palisade-audit checkpoint signing key file")]
    InvalidSigningKey,
    /// The file does not hold a palisade-audit verifier bundle.
    #[error("not a palisade-audit verifier bundle")]
    InvalidBundle,
    /// The key file could not be read.
    #[error("the key file cannot be read")]
    Unreadable,
}

/// A checkpoint did not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signature is not the checkpoint key's.
    #[error("checkpoint signature does not verify")]
    BadSignature,
    /// The later tree does not extend the earlier one: the log was forked or truncated.
    #[error("checkpoints are inconsistent: the log was rewritten or truncated")]
    Inconsistent,
    /// The checkpoints belong to different logs.
    #[error("checkpoints belong to different logs")]
    OtherLog,
    /// The record is not in the checkpoint's tree.
    #[error("record is not included in the checkpoint")]
    NotIncluded,
    /// The text is not a checkpoint.
    #[error("not a palisade-audit checkpoint")]
    Malformed,
}

/// A log configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The epoch is shorter than one second.
    #[error("epoch length must be at least 1 s, got {millis} ms; 15 minutes is a good default")]
    EpochTooShort {
        /// The length given, in milliseconds.
        millis: u128,
    },
    /// The epoch is longer than one week.
    #[error(
        "epoch length must be at most 7 days, got {secs} s: an intruder could forge a whole epoch"
    )]
    EpochTooLong {
        /// The length given, in seconds.
        secs: u64,
    },
    /// Files would rotate before holding a single large record.
    #[error("max_file_bytes must be at least 64 KiB, got {bytes}")]
    FileTooSmall {
        /// The size given.
        bytes: u64,
    },
    /// Group commit every 0 records.
    #[error("group commit needs at least 1 record and an interval of at least 1 ms")]
    EmptyGroup,
    /// Checkpoints every 0 records.
    #[error("checkpoint_every must be at least 1 record")]
    NoCheckpoints,
    /// The origin cannot name a log.
    #[error(
        "the origin must be 1 to 255 printable ASCII characters without spaces, '+', '\"' or '\\'"
    )]
    BadOrigin,
    /// An [`AuditWriter`](crate::AuditWriter) queue of no records.
    #[error("the audit queue must hold at least 1 record")]
    EmptyQueue,
}

/// A log could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// `create` found a log already there.
    #[error("{0}: an audit log already exists here; open it instead")]
    Exists(PathBuf),
    /// `open` found no log.
    #[error("{0}: no audit log here; create one first")]
    NotFound(PathBuf),
    /// The log is damaged somewhere other than a torn last line, so it was left untouched:
    /// verify it with [`Verifier`](crate::Verifier) and investigate.
    #[error("{file}: line {line}: {reason}; the log was left untouched, verify it")]
    Damaged {
        /// The file.
        file: PathBuf,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The epoch key file is missing, unreadable or for another log.
    #[error("{path}: {reason}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The verifier bundle could not be written or delivered, so no log was created.
    #[error("{}the verifier bundle was not written ({source}); no log was created", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    BundleNotWritten {
        /// The file, when the bundle was to go to one.
        path: Option<PathBuf>,
        /// What went wrong.
        source: io::Error,
    },
    /// No checkpoint signing key: none was given and the directory holds none.
    #[error("{0}: no checkpoint signing key here; give the log its signer")]
    NoSigner(PathBuf),
    /// A retention cut file is missing or does not check out.
    #[error("{path}: {reason}")]
    Cut {
        /// The cut file (or the first segment, when no cut file matches it).
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// The signing key given is not the one the log was created with.
    #[error("the signing key (id {given}) is not this log's (id {expected})")]
    WrongSigningKey {
        /// The log's key id.
        expected: String,
        /// The given key's id.
        given: String,
    },
}

/// An append, seal or checkpoint failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// A write or sync failed. The log refuses further appends until it is opened again, which
    /// cuts away any partly written line.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// An earlier write failed; open the log again.
    #[error("an earlier write failed; open the log again to recover")]
    Poisoned,
    /// The record would be longer than [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES).
    #[error("the record would be {len} bytes, more than the {max} a line may hold")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The checkpoint signer failed.
    #[error(transparent)]
    Sign(#[from] crate::keys::SignError),
    /// The clock jumped so far ahead that sealing every epoch in between would take too long.
    #[error("the clock jumped {epochs} epochs ahead; check the system clock")]
    ClockJump {
        /// How many epochs.
        epochs: u64,
    },
}
