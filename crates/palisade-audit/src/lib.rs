#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod checkpoint;
mod clock;
mod error;
mod event;
mod files;
mod hex;
mod keys;
mod log;
pub mod merkle;
mod pseudonym;
mod record;
#[cfg(feature = "tracing")]
mod tracing;
mod verify;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::tracing::{AUDIT_TARGET, AuditLayer};
pub use crate::{
    checkpoint::Checkpoint,
    clock::{Clock, ManualClock, SystemClock, Timestamp},
    error::{AppendError, CheckpointError, ConfigError, KeyError, OpenError},
    event::{Event, Outcome},
    keys::{MacKey, SigningKey, VerifyingKey},
    log::{AuditLog, AuditLogBuilder, Durability, Receipt},
    pseudonym::Pseudonyms,
    record::{MAX_LINE_BYTES, Record, RecordKind},
    verify::{
        Finding, FindingKind, MAX_FINDINGS, Position, Report, Severity, Verifier, VerifyError,
        read_records, tree_of,
    },
};
/// Re-exported so callers can handle keys without naming `secrecy`.
pub use secrecy::{ExposeSecret, SecretBox};
