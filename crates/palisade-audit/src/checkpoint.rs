//! Signed checkpoints: the size and RFC 9162 root of the log's Merkle tree, signed with Ed25519.

use std::fmt::Write as _;

use crate::{
    clock::Timestamp,
    error::CheckpointError,
    hex,
    keys::{SigningKey, VerifyingKey},
    merkle::{ConsistencyProof, Hash, InclusionProof},
};

const HEADER: &str = "palisade-audit checkpoint v1";

/// A signed statement "log `log_id` had `size` records whose Merkle root is `root`".
///
/// Publish it, or hand it to a witness: anyone holding the public key can check it, a later
/// checkpoint can be proved consistent with it ([`verify_consistency`](Self::verify_consistency)),
/// and a record can be proved to be in it ([`verify_inclusion`](Self::verify_inclusion)), all
/// without the log itself. Kept outside the writer's machine, it is what catches a rewritten
/// or truncated log even when the intruder also stole the signing key.
///
/// ```
/// # use palisade_audit::{AuditLog, Checkpoint, Event, MacKey, SigningKey};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-cp-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let signing = SigningKey::generate().unwrap();
/// let public = signing.verifying_key();
/// let mut log = AuditLog::builder(&dir).create(MacKey::generate().unwrap(), signing).unwrap();
/// log.append(Event::new("key.rotate")).unwrap();
/// let note = log.checkpoint().unwrap().to_note();
///
/// let checkpoint = Checkpoint::from_note(&note).unwrap();
/// assert!(checkpoint.verify(&public).is_ok());
/// assert_eq!(checkpoint.size(), 2);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub(crate) log_id: [u8; 16],
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) time: Timestamp,
    pub(crate) signature: [u8; 64],
}

impl Checkpoint {
    pub(crate) fn sign(
        log_id: [u8; 16],
        size: u64,
        root: Hash,
        time: Timestamp,
        key: &SigningKey,
    ) -> Self {
        let mut cp = Self {
            log_id,
            size,
            root,
            time,
            signature: [0; 64],
        };
        cp.signature = key.sign(cp.message().as_bytes());
        cp
    }

    /// The signed text.
    pub(crate) fn message(&self) -> String {
        format!(
            "{HEADER}\n{}\n{}\n{}\n{}\n",
            hex::encode(&self.log_id),
            self.size,
            hex::encode(&self.root),
            self.time
        )
    }

    /// The id of the log it belongs to.
    pub fn log_id(&self) -> [u8; 16] {
        self.log_id
    }

    /// The number of records it covers (records `0..size`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle root of those records.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// When it was made, by the writer's clock.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Checks the signature.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::BadSignature`] when `key` did not sign this checkpoint.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        if key.verify(self.message().as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(CheckpointError::BadSignature)
        }
    }

    /// Checks that `newer` extends this checkpoint: same log, at least as large, and the proof
    /// shows this tree is a prefix of the newer one. Neither signature is checked here.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Inconsistent`] for a fork or a truncation,
    /// [`CheckpointError::OtherLog`] when the logs differ.
    pub fn verify_consistency(
        &self,
        newer: &Checkpoint,
        proof: &ConsistencyProof,
    ) -> Result<(), CheckpointError> {
        if self.log_id != newer.log_id {
            return Err(CheckpointError::OtherLog);
        }
        if proof.old_size != self.size || proof.new_size != newer.size {
            return Err(CheckpointError::Inconsistent);
        }
        proof
            .verify(&self.root, &newer.root)
            .map_err(|_| CheckpointError::Inconsistent)
    }

    /// Checks that the record with hash `record_hash` is in this checkpoint's tree.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::NotIncluded`] when the proof does not show it.
    pub fn verify_inclusion(
        &self,
        record_hash: &Hash,
        proof: &InclusionProof,
    ) -> Result<(), CheckpointError> {
        if proof.tree_size != self.size {
            return Err(CheckpointError::NotIncluded);
        }
        proof
            .verify(record_hash, &self.root)
            .map_err(|_| CheckpointError::NotIncluded)
    }

    /// The checkpoint as text: the signed lines, then `sig <hex>`.
    pub fn to_note(&self) -> String {
        let mut note = self.message();
        let _ = writeln!(note, "sig {}", hex::encode(&self.signature));
        note
    }

    /// Parses [`to_note`](Self::to_note)'s text. The signature is not checked.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Malformed`] when the text is not a checkpoint.
    pub fn from_note(text: &str) -> Result<Self, CheckpointError> {
        let mut lines = text.lines();
        let mut next = || lines.next().ok_or(CheckpointError::Malformed);
        if next()? != HEADER {
            return Err(CheckpointError::Malformed);
        }
        let log_id = hex::decode::<16>(next()?).ok_or(CheckpointError::Malformed)?;
        let size = next()?.parse().map_err(|_| CheckpointError::Malformed)?;
        let root = hex::decode::<32>(next()?).ok_or(CheckpointError::Malformed)?;
        let time = Timestamp::parse(next()?).ok_or(CheckpointError::Malformed)?;
        let signature = next()?
            .strip_prefix("sig ")
            .and_then(hex::decode::<64>)
            .ok_or(CheckpointError::Malformed)?;
        Ok(Self {
            log_id,
            size,
            root,
            time,
            signature,
        })
    }
}
