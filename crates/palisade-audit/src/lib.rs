#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod bundle;
mod checkpoint;
mod clock;
mod error;
mod event;
mod files;
mod hex;
mod json;
mod keys;
mod log;
pub mod merkle;
mod prune;
mod pseudonym;
mod record;
mod segment;
mod telemetry;
#[cfg(feature = "tracing")]
mod tracing;
mod verify;
mod writer;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::tracing::{AUDIT_TARGET, AuditLayer};
pub use crate::{
    bundle::VerifierBundle,
    checkpoint::Checkpoint,
    clock::{Clock, ManualClock, SystemClock, Timestamp},
    error::{AppendError, CheckpointError, ConfigError, KeyError, OpenError},
    event::{Event, Outcome},
    keys::{CheckpointSigner, MacKey, SignError, SigningKey, VerifyingKey},
    log::{
        AuditLog, AuditLogBuilder, DEFAULT_EPOCH, DEFAULT_GROUP, DEFAULT_MAX_FILE_BYTES,
        Durability, Receipt,
    },
    prune::{KeptBecause, PruneError, Pruned, prune},
    pseudonym::Pseudonyms,
    record::{MAX_LINE_BYTES, Record, RecordKind},
    segment::DEFAULT_PREALLOCATE,
    verify::{
        Finding, FindingKind, MAX_FINDINGS, Position, Report, Severity, Verifier, VerifyError,
        read_records, tree_of,
    },
    writer::{AuditWriter, Overflow, Queued},
};
/// Re-exported so callers can handle keys without naming `secrecy`.
pub use secrecy::{ExposeSecret, SecretBox};
