#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod blind_index;
mod cipher;
mod clock;
mod context;
mod crypter;
mod error;
mod format;
mod job;
mod kek;
mod keyring;
mod nonce;
mod padding;
mod rotation;
#[cfg(feature = "serde")]
mod serde;
mod storage;
mod telemetry;

pub use crate::{
    blind_index::{BlindIndex, BlindIndexer, InvalidIndexSize},
    cipher::{BACKEND, SUBKEY_BUDGET},
    clock::{Clock, ManualClock, SystemClock},
    context::{Context, Field, FieldContext},
    crypter::{Crypter, Encrypted, Plaintext, RewrapError},
    error::{ContextError, DecryptError, DecryptErrorKind, EncryptError, KekError, KeyringError},
    format::{Ciphertext, OVERHEAD, TEXT_PREFIX},
    job::{
        Census, Checkpoint, CheckpointStore, FileCheckpoint, JobError, JobReport, MemoryCheckpoint,
        Record, RecordSource, RewrapJob, census,
    },
    kek::{KeyEncryptionKey, MASTER_KEY_ENV, MasterKey},
    keyring::{KeyId, KeyInfo, KeyPurpose, KeyState, Keyring},
    padding::{InvalidBucket, Padding},
    rotation::{InvalidPolicy, RotationPolicy, RotationStatus},
};

#[doc(hidden)]
pub use crate::storage::fuzzing;
