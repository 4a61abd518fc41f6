//! The resumable re-encryption job and the per-key census.
//!
//! Architecture invariant: the job writes a record only through
//! [`RecordSource::replace`], a compare-and-swap on the old ciphertext, and saves its
//! checkpoint only after every record before the cursor was replaced or found current. A kill
//! at any point therefore leaves each record on either its old or its new ciphertext, both
//! decryptable, and a rerun continues from the last checkpoint, skipping what is already done.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    context::Context,
    crypter::{Crypter, RewrapError},
    error::{DecryptErrorKind, EncryptError},
    format::Ciphertext,
    keyring::KeyId,
    storage::write_atomic,
};

/// One stored encrypted value.
#[derive(Clone, Debug)]
pub struct Record {
    /// The record's unique key; the job walks records in ascending order of it (byte order).
    pub id: String,
    /// The context the value was encrypted for.
    pub context: Context,
    /// The stored value.
    pub ciphertext: Ciphertext,
}

/// Where the job reads and writes encrypted values (a database table, say).
pub trait RecordSource {
    /// The source's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Up to `limit` records whose id is strictly greater than `after` (all records when
    /// `None`), in ascending id order. An empty result ends the scan.
    ///
    /// # Errors
    /// If the source fails; the job stops and can be rerun.
    fn scan(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<Record>, Self::Error>;

    /// Replaces the value of record `id` with `new` only if it still equals `expected`
    /// (`UPDATE ... WHERE id = ? AND value = ?`), durably. Returns whether it was replaced.
    ///
    /// # Errors
    /// If the source fails; the job stops and can be rerun.
    fn replace(
        &mut self,
        id: &str,
        expected: &Ciphertext,
        new: &Ciphertext,
    ) -> Result<bool, Self::Error>;
}

/// The job's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The primary key the job moves records to. A checkpoint for another key is discarded.
    pub target: KeyId,
    /// Every record with an id up to and including this one is done.
    pub after: Option<String>,
    /// Records re-encrypted so far.
    pub rewrapped: u64,
    /// Records found already on the target key.
    pub current: u64,
    /// Records changed by someone else between scan and replace (left as they are).
    pub raced: u64,
    /// Records that failed to decrypt (left as they are).
    pub failed: u64,
}

impl Checkpoint {
    fn new(target: KeyId) -> Self {
        Self {
            target,
            after: None,
            rewrapped: 0,
            current: 0,
            raced: 0,
            failed: 0,
        }
    }

    const MAGIC: &'static str = "palisade-crypt rewrap checkpoint v1";

    fn to_text(&self) -> String {
        let after = self
            .after
            .as_ref()
            .map_or_else(|| "-".to_owned(), |a| URL_SAFE_NO_PAD.encode(a));
        format!(
            "{}\ntarget {}\nafter {after}\nrewrapped {}\ncurrent {}\nraced {}\nfailed {}\n",
            Self::MAGIC,
            self.target,
            self.rewrapped,
            self.current,
            self.raced,
            self.failed
        )
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != Self::MAGIC {
            return None;
        }
        let mut field = |name: &str| lines.next()?.strip_prefix(name)?.strip_prefix(' ');
        let target = KeyId::parse(field("target")?)?;
        let after = match field("after")? {
            "-" => None,
            b64 => Some(String::from_utf8(URL_SAFE_NO_PAD.decode(b64).ok()?).ok()?),
        };
        let rewrapped = field("rewrapped")?.parse().ok()?;
        let current = field("current")?.parse().ok()?;
        let raced = field("raced")?.parse().ok()?;
        let failed = field("failed")?.parse().ok()?;
        if lines.next().is_some() {
            return None;
        }
        Some(Self {
            target,
            after,
            rewrapped,
            current,
            raced,
            failed,
        })
    }
}

/// Durable storage for a [`Checkpoint`].
pub trait CheckpointStore {
    /// The saved checkpoint, if any.
    ///
    /// # Errors
    /// If it cannot be read or is corrupted.
    fn load(&mut self) -> Result<Option<Checkpoint>, std::io::Error>;
    /// Saves atomically: after a crash, `load` returns this checkpoint or the previous one.
    ///
    /// # Errors
    /// If it cannot be written.
    fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), std::io::Error>;
    /// Removes the checkpoint once the job is complete.
    ///
    /// # Errors
    /// If it cannot be removed.
    fn clear(&mut self) -> Result<(), std::io::Error>;
}

/// A checkpoint in a small text file, written atomically (temporary file, fsync, rename,
/// directory fsync).
#[derive(Clone, Debug)]
pub struct FileCheckpoint {
    path: PathBuf,
}

impl FileCheckpoint {
    /// A checkpoint stored at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
        }
    }
}

impl CheckpointStore for FileCheckpoint {
    fn load(&mut self) -> Result<Option<Checkpoint>, std::io::Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Checkpoint::from_text(&text).map(Some).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "corrupted rewrap checkpoint",
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), std::io::Error> {
        write_atomic(&self.path, checkpoint.to_text().as_bytes(), false)
    }

    fn clear(&mut self) -> Result<(), std::io::Error> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A checkpoint in memory, for tests and for jobs that may restart from the beginning.
#[derive(Clone, Debug, Default)]
pub struct MemoryCheckpoint(pub Option<Checkpoint>);

impl CheckpointStore for MemoryCheckpoint {
    fn load(&mut self) -> Result<Option<Checkpoint>, std::io::Error> {
        Ok(self.0.clone())
    }

    fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), std::io::Error> {
        self.0 = Some(checkpoint.clone());
        Ok(())
    }

    fn clear(&mut self) -> Result<(), std::io::Error> {
        self.0 = None;
        Ok(())
    }
}

/// How many stored ciphertexts use each key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    counts: BTreeMap<KeyId, u64>,
}

impl Census {
    /// Ciphertexts on key `id`; zero means the key may be disabled.
    pub fn remaining(&self, id: KeyId) -> u64 {
        self.counts.get(&id).copied().unwrap_or(0)
    }

    /// Every key with at least one ciphertext, and its count.
    pub fn iter(&self) -> impl Iterator<Item = (KeyId, u64)> + '_ {
        self.counts.iter().map(|(&k, &v)| (k, v))
    }

    /// All ciphertexts counted.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn add(&mut self, id: KeyId) {
        *self.counts.entry(id).or_insert(0) += 1;
    }
}

/// A census from counts taken elsewhere (say, `SELECT key_id, count(*) ... GROUP BY key_id`
/// over a column of key ids, or a stored job report). Counts for the same key add up.
impl FromIterator<(KeyId, u64)> for Census {
    fn from_iter<I: IntoIterator<Item = (KeyId, u64)>>(iter: I) -> Self {
        let mut census = Self::default();
        for (id, n) in iter {
            let c = census.counts.entry(id).or_insert(0);
            *c = c.saturating_add(n);
        }
        census.counts.retain(|_, n| *n > 0);
        census
    }
}

/// Counts the ciphertexts on each key by reading headers (nothing is decrypted).
///
/// # Errors
/// If the source fails.
pub fn census<S: RecordSource>(
    source: &mut S,
    batch_size: usize,
) -> Result<Census, JobError<S::Error>> {
    let mut census = Census::default();
    let mut after: Option<String> = None;
    loop {
        let batch = source
            .scan(after.as_deref(), batch_size.max(1))
            .map_err(JobError::Source)?;
        let Some(last) = batch.last() else {
            return Ok(census);
        };
        check_order(after.as_deref(), &batch)?;
        after = Some(last.id.clone());
        for record in &batch {
            census.add(record.ciphertext.key_id());
        }
    }
}

fn check_order<E>(after: Option<&str>, batch: &[Record]) -> Result<(), JobError<E>> {
    let mut prev = after;
    for r in batch {
        if prev.is_some_and(|p| r.id.as_str() <= p) {
            return Err(JobError::SourceOrder { id: r.id.clone() });
        }
        prev = Some(&r.id);
    }
    Ok(())
}

/// The job failed; rerun it to continue from the last checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError<E> {
    /// The record source failed.
    #[error("record source: {0}")]
    Source(E),
    /// The checkpoint could not be read or written.
    #[error("checkpoint: {0}")]
    Checkpoint(std::io::Error),
    /// A record could not be re-encrypted.
    #[error("encryption: {0}")]
    Encrypt(EncryptError),
    /// The source returned records out of ascending id order.
    #[error("the record source returned {id:?} out of ascending order")]
    SourceOrder {
        /// The out-of-order id.
        id: String,
    },
}

/// What a completed run did, and what is left on each key.
#[derive(Clone, Debug)]
pub struct JobReport {
    /// The counters, summed over every run since the job started.
    pub totals: Checkpoint,
    /// Records of this run that failed to decrypt, with the reason; they are left unchanged.
    pub failures: Vec<(String, DecryptErrorKind)>,
    /// A full census taken after the pass.
    pub census: Census,
}

/// Re-encrypts every record on an old key under the crypter's primary key, resumably.
pub struct RewrapJob<'a> {
    crypter: &'a Crypter,
    batch_size: usize,
}

impl fmt::Debug for RewrapJob<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewrapJob")
            .field("target", &self.crypter.primary_key_id())
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl<'a> RewrapJob<'a> {
    /// A job moving records to `crypter`'s primary key, 500 records per batch.
    pub fn new(crypter: &'a Crypter) -> Self {
        Self {
            crypter,
            batch_size: 500,
        }
    }

    /// Records per batch, and so per checkpoint (at least 1).
    #[must_use]
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Runs to completion from the last checkpoint, then clears the checkpoint and takes a
    /// census.
    ///
    /// # Errors
    /// A [`JobError`]; everything done before it is kept, and a rerun continues.
    pub fn run<S: RecordSource, C: CheckpointStore>(
        &self,
        source: &mut S,
        checkpoints: &mut C,
    ) -> Result<JobReport, JobError<S::Error>> {
        let target = self.crypter.primary_key_id();
        let mut cp = checkpoints
            .load()
            .map_err(JobError::Checkpoint)?
            .filter(|cp| cp.target == target)
            .unwrap_or_else(|| Checkpoint::new(target));
        let mut failures = Vec::new();
        loop {
            let batch = source
                .scan(cp.after.as_deref(), self.batch_size)
                .map_err(JobError::Source)?;
            let Some(last) = batch.last() else { break };
            check_order(cp.after.as_deref(), &batch)?;
            let last = last.id.clone();
            for record in batch {
                if !self.crypter.needs_rewrap(&record.ciphertext) {
                    cp.current += 1;
                    continue;
                }
                match self.crypter.rewrap(&record.context, &record.ciphertext) {
                    Ok(new) => {
                        if source
                            .replace(&record.id, &record.ciphertext, &new)
                            .map_err(JobError::Source)?
                        {
                            cp.rewrapped += 1;
                        } else {
                            cp.raced += 1;
                        }
                    }
                    Err(RewrapError::Decrypt(e)) => {
                        cp.failed += 1;
                        failures.push((record.id, e.kind()));
                    }
                    Err(RewrapError::Encrypt(e)) => return Err(JobError::Encrypt(e)),
                }
            }
            cp.after = Some(last);
            checkpoints.save(&cp).map_err(JobError::Checkpoint)?;
        }
        checkpoints.clear().map_err(JobError::Checkpoint)?;
        let census = census(source, self.batch_size)?;
        Ok(JobReport {
            totals: cp,
            failures,
            census,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_text_round_trips() {
        let cp = Checkpoint {
            target: KeyId::insecure_from_u32(0xdead_beef),
            after: Some("row;42\nx".to_owned()),
            rewrapped: 3,
            current: 4,
            raced: 1,
            failed: 2,
        };
        assert_eq!(Checkpoint::from_text(&cp.to_text()), Some(cp.clone()));
        let fresh = Checkpoint::new(cp.target);
        assert_eq!(Checkpoint::from_text(&fresh.to_text()), Some(fresh));
        assert_eq!(Checkpoint::from_text("garbage"), None);
        let truncated = cp.to_text();
        assert_eq!(
            Checkpoint::from_text(&truncated[..truncated.len() / 2]),
            None
        );
    }
}
