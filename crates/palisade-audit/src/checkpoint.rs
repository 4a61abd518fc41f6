//! Signed checkpoints: the size and RFC 9162 root of the log's Merkle tree, as C2SP
//! `tlog-checkpoint` signed notes with Ed25519 note signatures.
//!
//! ```text
//! palisade-audit/5f0c…            <- origin: the log's name, also the signing key's name
//! 20                              <- tree size
//! 4Yr1m1nJ7tq2…=                  <- base64 of the root hash
//!                                 <- blank line
//! — palisade-audit/5f0c… AbCd…    <- em dash, key name, base64(4-byte key id || signature)
//! ```

use std::fmt::Write as _;

use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{
    error::CheckpointError,
    keys::{CheckpointSigner, SignError, VerifyingKey},
    merkle::{ConsistencyProof, Hash, InclusionProof},
};

/// The most signature lines a note may carry (C2SP asks verifiers to accept at least 16).
const MAX_SIGNATURES: usize = 64;
/// The longest note read.
const MAX_NOTE_BYTES: usize = 64 * 1024;

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NoteSignature {
    name: String,
    key_id: [u8; 4],
    signature: Vec<u8>,
}

impl NoteSignature {
    /// `signer`'s signature of `text` under the key name `name`.
    pub(crate) fn sign(
        name: &str,
        text: &str,
        signer: &dyn CheckpointSigner,
    ) -> Result<Self, SignError> {
        Ok(Self {
            name: name.to_owned(),
            key_id: signer.verifying_key().note_key_id(name),
            signature: signer.sign(text.as_bytes())?.to_vec(),
        })
    }
}

/// A signed note split into its text (ending in a newline) and its signature lines, as C2SP
/// signed-note says; `None` for anything else.
pub(crate) fn split_note(note: &str) -> Option<(&str, Vec<NoteSignature>)> {
    if note.len() > MAX_NOTE_BYTES
        || !note.ends_with('\n')
        || note.chars().any(|c| c < ' ' && c != '\n')
    {
        return None;
    }
    // The text ends at the last blank line; everything after it is signature lines.
    let split = note.rfind("\n\n")?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let mut signatures = Vec::new();
    for line in sigs.lines() {
        let (name, b64) = line.strip_prefix("\u{2014} ")?.split_once(' ')?;
        if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
            return None;
        }
        let blob = STANDARD.decode(b64).ok()?;
        if blob.len() < 5 || signatures.len() == MAX_SIGNATURES {
            return None;
        }
        signatures.push(NoteSignature {
            name: name.to_owned(),
            key_id: [blob[0], blob[1], blob[2], blob[3]],
            signature: blob[4..].to_vec(),
        });
    }
    (!signatures.is_empty()).then_some((text, signatures))
}

/// `text`, a blank line, and the signature lines.
pub(crate) fn join_note(text: &str, signatures: &[NoteSignature]) -> String {
    let mut note = format!("{text}\n");
    for s in signatures {
        let mut blob = s.key_id.to_vec();
        blob.extend_from_slice(&s.signature);
        let _ = writeln!(note, "\u{2014} {} {}", s.name, STANDARD.encode(blob));
    }
    note
}

/// Whether `key`, under the key name `name`, signed `text`: signatures of other keys are
/// ignored, every one of this key must verify (strict Ed25519), and there must be one.
pub(crate) fn note_signed_by(
    text: &str,
    signatures: &[NoteSignature],
    name: &str,
    key: &VerifyingKey,
) -> bool {
    let id = key.note_key_id(name);
    let mut known = signatures
        .iter()
        .filter(|s| s.name == name && s.key_id == id)
        .peekable();
    known.peek().is_some()
        && known.all(|s| {
            <[u8; 64]>::try_from(s.signature.as_slice())
                .is_ok_and(|sig| key.verify(text.as_bytes(), &sig))
        })
}

/// A signed statement "the log `origin` had `size` records whose Merkle root is `root`", in the
/// C2SP `tlog-checkpoint` format, so transparency-log witnesses and tools read it as they read
/// any other log's checkpoint.
///
/// Publish it, or hand it to a witness: anyone holding the public key can check it, a later
/// checkpoint can be proved consistent with it ([`verify_consistency`](Self::verify_consistency)),
/// and a record can be proved to be in it ([`verify_inclusion`](Self::verify_inclusion)), all
/// without the log itself. Kept outside the writer's machine, it is what catches a rewritten
/// or truncated log even when the intruder also stole the signing key.
///
/// ```
/// # use palisade_audit::{AuditLog, Checkpoint, Event};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-cp-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mut log = AuditLog::builder(&dir).origin("audit.example.com/billing").create_with(|_| Ok(())).unwrap();
/// log.append(Event::new("key.rotate")).unwrap();
/// let note = log.checkpoint().unwrap().to_note();
/// assert!(note.starts_with("audit.example.com/billing\n2\n"));
///
/// let checkpoint = Checkpoint::from_note(&note).unwrap();
/// assert!(checkpoint.verify(&log.verifying_key()).is_ok());
/// assert_eq!(checkpoint.size(), 2);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
    signatures: Vec<NoteSignature>,
}

impl Checkpoint {
    /// A checkpoint signed by `signer` under the key name `origin`.
    pub(crate) fn sign(
        origin: &str,
        size: u64,
        root: Hash,
        signer: &dyn CheckpointSigner,
    ) -> Result<Self, SignError> {
        let mut cp = Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
            signatures: Vec::new(),
        };
        let signature = NoteSignature::sign(origin, &cp.text(), signer)?;
        cp.signatures.push(signature);
        Ok(cp)
    }

    /// A checkpoint rebuilt from a checkpoint record: the log's origin and key id come from its
    /// genesis record.
    pub(crate) fn from_parts(
        origin: &str,
        key_id: [u8; 4],
        size: u64,
        root: Hash,
        signature: [u8; 64],
    ) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
            signatures: vec![NoteSignature {
                name: origin.to_owned(),
                key_id,
                signature: signature.to_vec(),
            }],
        }
    }

    /// The log's own signature (the one under its origin), as a checkpoint record stores it.
    pub(crate) fn own_signature(&self) -> [u8; 64] {
        self.signatures
            .iter()
            .find(|s| s.name == self.origin)
            .and_then(|s| s.signature.as_slice().try_into().ok())
            .unwrap_or([0; 64])
    }

    /// The signed text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The log's name: the note's origin line, also its signing key's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of records it covers (records `0..size`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle root of those records.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Checks the note signature of `key` under the key name [`origin`](Self::origin), as the
    /// C2SP signed-note rules say: signatures of other keys (a witness's cosignature) are
    /// ignored, a signature of this key must verify (strict RFC 8032 Ed25519), and there must be
    /// one.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::BadSignature`] when `key` did not sign this checkpoint.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        if note_signed_by(&self.text(), &self.signatures, &self.origin, key) {
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
        if self.origin != newer.origin {
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

    /// The checkpoint as a C2SP signed note: the text, a blank line, then one line per
    /// signature, `— <key name> <base64(key id || signature)>`.
    pub fn to_note(&self) -> String {
        join_note(&self.text(), &self.signatures)
    }

    /// Parses a C2SP `tlog-checkpoint` signed note. No signature is checked (use
    /// [`verify`](Self::verify)); signature lines of any key are kept.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Malformed`] when the text is not a checkpoint note: not ending in a
    /// newline, control characters, no blank line before the signatures, a bad signature line,
    /// no signature, more than 64 signatures or 64 KiB, or a body without origin, size and a
    /// 32-byte base64 root.
    pub fn from_note(note: &str) -> Result<Self, CheckpointError> {
        const MALFORMED: CheckpointError = CheckpointError::Malformed;
        let (text, signatures) = split_note(note).ok_or(MALFORMED)?;
        let mut lines = text.lines();
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(MALFORMED)?;
        let size_text = lines.next().ok_or(MALFORMED)?;
        let canonical = size_text == "0" || !size_text.starts_with('0');
        if !canonical || !size_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MALFORMED);
        }
        let size = size_text.parse().map_err(|_| MALFORMED)?;
        let root: Hash = lines
            .next()
            .and_then(|l| STANDARD.decode(l).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(MALFORMED)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(MALFORMED);
        }
        let cp = Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
            signatures,
        };
        // The text must be exactly what `text()` signs (no stray lines or encodings).
        if cp.text() != text {
            return Err(MALFORMED);
        }
        Ok(cp)
    }
}
