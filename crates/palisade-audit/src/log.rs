//! The writer: [`AuditLog`] and its builder.

use std::{
    fmt,
    fs::{self, File, OpenOptions},
    io::{Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use palisade_redact::Redactor;

use crate::{
    bundle::VerifierBundle,
    checkpoint::Checkpoint,
    clock::{Clock, SystemClock, TimeText, Timestamp},
    error::{AppendError, ConfigError, KeyError, OpenError},
    event::{Event, RedactedEvent},
    files::{self, Line, LineReader, io_err},
    hex,
    keys::{CheckpointSigner, MAX_EPOCH_STEP, MacKey, SigningKey, VerifyingKey},
    merkle::{Frontier, Hash},
    prune::Cut,
    record::{self, Body, CheckpointBody, Genesis, MAX_LINE_BYTES},
    segment::{ActiveSegment, DEFAULT_PREALLOCATE},
    telemetry::LogMeters,
};

/// The default epoch: 15 minutes.
pub const DEFAULT_EPOCH: Duration = Duration::from_secs(15 * 60);
/// The default size at which a segment file is closed and the next begun: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;
/// The default group commit of [`AuditWriter`](crate::AuditWriter): 64 records or 50 ms.
pub const DEFAULT_GROUP: Durability = Durability::Group {
    records: 64,
    interval: Duration::from_millis(50),
};

/// Whether `origin` may name a log: 1 to 255 printable ASCII characters, no space, `+`, `"` or
/// `\` (C2SP asks for no spaces or plus signs; the rest keeps it plain in JSON).
pub(crate) fn valid_origin(origin: &str) -> bool {
    (1..=255).contains(&origin.len())
        && origin
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'+' | b'"' | b'\\'))
}

/// When appended records are made durable (`fsync`ed).
///
/// A record is *committed* once it is durable; a crash never loses a committed record. A
/// record written but not yet synced survives a crash of the process (it is in the operating
/// system's cache) but not necessarily a power loss.
///
/// [`AuditLog`] used directly syncs every record unless told otherwise; [`AuditWriter`],
/// the service front end, defaults to [`DEFAULT_GROUP`].
///
/// [`AuditWriter`]: crate::AuditWriter
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Sync after every record: each `append` returns only once its record is committed.
    #[default]
    EveryRecord,
    /// Group commit: sync once `records` records are pending, or when the oldest pending record
    /// is `interval` old (checked on every append and every [`AuditLog::tick`]).
    Group {
        /// Pending records that force a sync.
        records: u32,
        /// Age of the oldest pending record that forces a sync.
        interval: Duration,
    },
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Receipt {
    /// The record's sequence number.
    pub seq: u64,
    /// Whether the record is already committed (synced to storage).
    pub durable: bool,
}

/// Settings for [`AuditLog`]; made by [`AuditLog::builder`].
pub struct AuditLogBuilder {
    dir: PathBuf,
    epoch: Duration,
    pub(crate) durability: Option<Durability>,
    max_file_bytes: u64,
    preallocate: u64,
    checkpoint_every: u64,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
    signer: Option<Arc<dyn CheckpointSigner>>,
    origin: Option<String>,
    epoch0: Option<MacKey>,
}

impl fmt::Debug for AuditLogBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLogBuilder")
            .field("dir", &self.dir)
            .field("epoch", &self.epoch)
            .field("durability", &self.durability)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("preallocate", &self.preallocate)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("clock", &self.clock)
            .field("signer", &self.signer)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl AuditLogBuilder {
    /// The epoch length (default 15 minutes): how often the MAC key moves forward and a seal and
    /// a checkpoint are written. Fixed when the log is created; `open` uses the log's own.
    #[must_use]
    pub fn epoch_length(mut self, d: Duration) -> Self {
        self.epoch = d;
        self
    }

    /// When appends are synced (default [`Durability::EveryRecord`], and [`DEFAULT_GROUP`] for
    /// an [`AuditWriter`](crate::AuditWriter)).
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = Some(d);
        self
    }

    /// Sign checkpoints with this signer (an HSM or KMS behind [`CheckpointSigner`], or a
    /// [`SigningKey`] read from a file of its own) instead of a key kept in the log's directory.
    /// `create` then writes no signing key; `open` needs the same signer again.
    #[must_use]
    pub fn signer(mut self, signer: Arc<dyn CheckpointSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The log's name (default `palisade-audit/<log id in hex>`): the origin line of its
    /// checkpoint notes and their signing key's name; a schema-less URL such as
    /// `audit.example.com/billing` is the C2SP recommendation. Fixed at creation.
    #[must_use]
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Start the MAC chain from this epoch-0 key instead of a fresh random one: for a key made
    /// in a vault or KMS that keeps it. The writer steps it forward at the first epoch boundary
    /// and keeps no copy; whoever keeps one elsewhere holds what the verifier bundle holds.
    #[must_use]
    pub fn epoch0_key(mut self, key: MacKey) -> Self {
        self.epoch0 = Some(key);
        self
    }

    /// Start a new file once the current one would grow past this size (default 64 MiB).
    #[must_use]
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Keep this many bytes of zeros written ahead of the records in the file being written
    /// (default [`DEFAULT_PREALLOCATE`], 1 MiB); 0 writes none.
    ///
    /// A sync then writes the records' pages and not the file's length: on ext4 a group
    /// commit's sync took about 125 µs instead of about 210 (`examples/sync_cost.rs`). The
    /// zeros are cut away when the log is dropped or moves to its next file, so a file at rest
    /// ends with its last record, and readers of this crate take a tail of zeros for space not
    /// yet written. Turn it off when another program follows the file being written by its
    /// length, as `tail -f` does: it would see the zeros and not the records written over them.
    #[must_use]
    pub fn preallocate(mut self, bytes: u64) -> Self {
        self.preallocate = bytes;
        self
    }

    /// Write a signed checkpoint after this many records (default 10 000), besides the one at
    /// every epoch boundary.
    #[must_use]
    pub fn checkpoint_every(mut self, records: u64) -> Self {
        self.checkpoint_every = records;
        self
    }

    /// The clock (default the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The redactor every event passes through (default `Redactor::new()`).
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.epoch < Duration::from_secs(1) {
            return Err(ConfigError::EpochTooShort {
                millis: self.epoch.as_millis(),
            });
        }
        if self.epoch > Duration::from_secs(7 * 86_400) {
            return Err(ConfigError::EpochTooLong {
                secs: self.epoch.as_secs(),
            });
        }
        if self.max_file_bytes < 64 * 1024 {
            return Err(ConfigError::FileTooSmall {
                bytes: self.max_file_bytes,
            });
        }
        if let Some(Durability::Group { records, interval }) = self.durability
            && (records == 0 || interval < Duration::from_millis(1))
        {
            return Err(ConfigError::EmptyGroup);
        }
        if self.checkpoint_every == 0 {
            return Err(ConfigError::NoCheckpoints);
        }
        if let Some(origin) = &self.origin
            && !valid_origin(origin)
        {
            return Err(ConfigError::BadOrigin);
        }
        Ok(())
    }

    /// Creates a new log in the directory (made if missing) with fresh keys, and writes its
    /// [`VerifierBundle`] (the epoch-0 MAC key and the checkpoint public key) to `verifier_out`,
    /// a new file readable by its owner only, before anything else: move that file off this
    /// machine. The writer keeps only the current epoch's MAC key and, unless a
    /// [`signer`](Self::signer) was given, the checkpoint signing key, in the directory.
    ///
    /// # Errors
    ///
    /// [`OpenError::Config`] for a bad setting, [`OpenError::Exists`] when the directory
    /// already holds a log, [`OpenError::BundleNotWritten`] when `verifier_out` exists or
    /// cannot be written (nothing is created then), [`OpenError::Io`] when the directory cannot
    /// be written.
    pub fn create(self, verifier_out: impl AsRef<Path>) -> Result<AuditLog, OpenError> {
        let path = verifier_out.as_ref().to_path_buf();
        self.create_with(|bundle| bundle.write_new_file(&path))
            .map_err(|e| match e {
                OpenError::BundleNotWritten { source, .. } => OpenError::BundleNotWritten {
                    path: Some(path.clone()),
                    source,
                },
                other => other,
            })
    }

    /// Creates a new log as [`create`](Self::create) does, handing the verifier bundle to
    /// `deliver` (a vault's API, say) before the log exists. If `deliver` fails, nothing is
    /// created.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn create_with(
        mut self,
        deliver: impl FnOnce(&VerifierBundle) -> std::io::Result<()>,
    ) -> Result<AuditLog, OpenError> {
        self.validate()?;
        let dir = self.dir.clone();
        if dir.is_dir() && !files::segments(&dir).map_err(io_err(&dir))?.is_empty() {
            return Err(OpenError::Exists(dir));
        }
        let mut log_id = [0u8; 16];
        getrandom::fill(&mut log_id).map_err(|_| KeyError::Randomness)?;
        let mac_key = match self.epoch0.take() {
            Some(k) => k,
            None => MacKey::generate()?,
        };
        let (signer, key_text): (Arc<dyn CheckpointSigner>, _) = if let Some(s) = &self.signer {
            (s.clone(), None)
        } else {
            let key = SigningKey::generate()?;
            let text = key.to_file_text();
            (Arc::new(key), Some(text))
        };
        let origin = self
            .origin
            .clone()
            .unwrap_or_else(|| format!("palisade-audit/{}", hex::encode(&log_id)));
        let public = signer.verifying_key();
        let genesis = Genesis {
            log_id,
            epoch_ms: u64::try_from(self.epoch.as_millis()).unwrap_or(u64::MAX),
            start: self.clock.now(),
            key_id: public.note_key_id(&origin),
            origin,
        };
        let bundle = VerifierBundle {
            genesis: genesis.clone(),
            public_key: public,
            mac_key: mac_key.duplicate(),
        };
        deliver(&bundle).map_err(|source| OpenError::BundleNotWritten { path: None, source })?;
        drop(bundle);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        if let Some(text) = key_text {
            let path = dir.join(files::SIGNING_KEY_FILE);
            files::replace_private(&dir, files::SIGNING_KEY_FILE, text.as_bytes())
                .map_err(io_err(&path))?;
        }
        files::save_key(&dir, &log_id, &mac_key)?;
        let path = dir.join(files::segment_name(0));
        let segment = ActiveSegment::create(path.clone(), self.preallocate, self.max_file_bytes)
            .map_err(io_err(&path))?;
        files::sync_dir(&dir).map_err(io_err(&dir))?;
        let mut log = AuditLog::assemble(self, genesis, signer, mac_key, segment);
        let start = log.genesis.start;
        let body = Body::Genesis(log.genesis.clone());
        log.write(&body, start)
            .and_then(|_| log.sync())
            .map_err(|e| match e {
                AppendError::Io { path, source } => OpenError::Io { path, source },
                other => OpenError::Damaged {
                    file: log.segment.path().to_path_buf(),
                    line: 1,
                    reason: other.to_string(),
                },
            })?;
        Ok(log)
    }

    /// Opens an existing log to append to it, with the [`signer`](Self::signer) it was created
    /// with, or else the signing key in its directory.
    ///
    /// Every file is read and every link checked, and the records of the current epoch are
    /// checked against the current MAC key. A torn last line, left by a crash in the middle of
    /// an append, is cut away; any other damage stops the open with [`OpenError::Damaged`] and
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`OpenError`]: a bad setting, no log, damage, a missing or foreign key file, no signing
    /// key or the wrong one, or an I/O failure.
    pub fn open(self) -> Result<AuditLog, OpenError> {
        self.validate()?;
        let dir = self.dir.clone();
        let all = files::segments(&dir).map_err(io_err(&dir))?;
        if all.is_empty() {
            return Err(OpenError::NotFound(dir));
        }
        // Segments before the newest retention cut are an interrupted prune's leftovers.
        let segments = &all[crate::prune::start_of(&all, &dir).map_err(io_err(&dir))?..];
        let signer: Arc<dyn CheckpointSigner> = if let Some(s) = &self.signer {
            s.clone()
        } else {
            let path = dir.join(files::SIGNING_KEY_FILE);
            if !path.exists() {
                return Err(OpenError::NoSigner(path));
            }
            Arc::new(SigningKey::read_file(&path)?)
        };
        let files::KeyFile {
            log_id: key_log_id,
            mut key,
            staged_seal,
        } = files::load_key(&dir)?;
        let cut = if segments[0].0 == 0 {
            None
        } else {
            Some(Cut::load(&dir, segments[0].0)?)
        };
        let mut scan = recover(segments, &key, cut.as_ref())?;
        let key_path = dir.join(files::KEY_FILE);
        if let Some(seal) = &staged_seal {
            if append_staged_seal(seal, &scan, &key_path)? {
                scan = recover(segments, &key, cut.as_ref())?;
            }
            files::save_key(&dir, &scan.genesis.log_id, &key)?;
        }
        let genesis = scan.genesis;
        if genesis.log_id != key_log_id {
            return Err(OpenError::KeyFile {
                path: key_path,
                reason: "the epoch key file belongs to another log",
            });
        }
        let given = signer.verifying_key().note_key_id(&genesis.origin);
        if given != genesis.key_id {
            return Err(OpenError::WrongSigningKey {
                expected: hex::encode(&genesis.key_id),
                given: hex::encode(&given),
            });
        }
        // A crash between a seal and the key file's update leaves the key behind: catch up.
        if key.epoch() < scan.epoch {
            let steps = scan.epoch - key.epoch();
            if steps > MAX_EPOCH_STEP {
                return Err(OpenError::KeyFile {
                    path: key_path,
                    reason: "the epoch key is too far behind the log",
                });
            }
            key = key.derive_forward(steps);
            files::save_key(&dir, &genesis.log_id, &key)?;
        } else if key.epoch() > scan.epoch {
            return Err(OpenError::Damaged {
                file: scan.last_path,
                line: scan.last_line,
                reason: format!(
                    "the epoch key is at epoch {} but the log's last seal leaves it at {}: \
                     seals were removed (truncation)",
                    key.epoch(),
                    scan.epoch
                ),
            });
        }
        let segment = ActiveSegment::open(
            scan.last_path.clone(),
            scan.last_len,
            self.preallocate,
            self.max_file_bytes,
        )
        .map_err(io_err(&scan.last_path))?;
        let mut log = AuditLog::assemble(self, genesis, signer, key, segment);
        log.next_seq = scan.next_seq;
        log.durable_seq = scan.next_seq;
        log.prev = scan.prev;
        log.frontier = scan.frontier;
        log.last_time = scan.last_time;
        log.since_checkpoint = scan.since_checkpoint;
        log.latest_checkpoint = scan.latest_checkpoint;
        Ok(log)
    }
}

/// What `open` learned from the files.
struct Scan {
    genesis: Genesis,
    next_seq: u64,
    prev: Hash,
    frontier: Frontier,
    last_time: Timestamp,
    /// The epoch the writer is in: one past the last seal's `through`.
    epoch: u64,
    since_checkpoint: u64,
    latest_checkpoint: Option<Checkpoint>,
    last_path: PathBuf,
    /// Where the last file's records end.
    last_len: u64,
    last_line: u64,
}

/// Reads every segment (from a retention cut, if older ones were pruned), checks links and
/// current-epoch MACs, and cuts a torn tail.
fn recover(
    segments: &[(u64, PathBuf)],
    key: &MacKey,
    cut: Option<&Cut>,
) -> Result<Scan, OpenError> {
    let mut genesis: Option<Genesis> = cut.map(|c| c.genesis.clone());
    let mut next_seq = cut.map_or(0, |c| c.size);
    let mut prev = cut.map_or([0u8; 32], |c| c.prev);
    let mut frontier = cut.map_or_else(Frontier::new, |c| c.frontier.clone());
    let mut last_time = cut.map_or(Timestamp::from_unix_millis(0), |c| c.last_time);
    let mut epoch = cut.map_or(0, |c| c.epoch);
    let mut since_checkpoint = 0u64;
    let mut latest_checkpoint = None;
    let mut last_len = 0;
    let mut last_line = 0;
    let mut line = Vec::new();
    for (i, (first_seq, path)) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let damaged = |line: u64, reason: String| OpenError::Damaged {
            file: path.clone(),
            line,
            reason,
        };
        if *first_seq != next_seq {
            return Err(damaged(
                1,
                format!("the file should start at record {next_seq}"),
            ));
        }
        let file = File::open(path).map_err(io_err(path))?;
        let mut reader = LineReader::new(std::io::BufReader::with_capacity(1 << 16, file));
        let mut line_no = 0u64;
        while let Some(kind) = reader.next_line(&mut line).map_err(io_err(path))? {
            line_no += 1;
            let problem = match kind {
                Line::Complete => {
                    check_line(&line, key, next_seq, &prev, epoch, genesis.as_ref()).err()
                }
                Line::TooLong => Some("line too long".to_owned()),
                Line::Incomplete => Some("incomplete last line".to_owned()),
                // The zeros a writer keeps ahead of its records: the next record goes there.
                Line::Unwritten if is_last => break,
                Line::Unwritten => Some("NUL bytes at the end of a closed file".to_owned()),
            };
            if let Some(reason) = problem {
                // Only a crash's leftover is cut: an incomplete last line, or a last line
                // holding NUL bytes (blocks allocated but never written), with nothing after
                // it but NULs and newlines. Records never contain a raw NUL or newline.
                let start = reader.line_start();
                let torn_line =
                    kind == Line::Incomplete || (kind == Line::Complete && line.contains(&0));
                if !(is_last
                    && torn_line
                    && only_zeros_after(&mut reader, &mut line).map_err(io_err(path))?)
                {
                    return Err(damaged(line_no, reason));
                }
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?;
                file.set_len(start).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
                break;
            }
            let rec = record::parse(&line).map_err(|reason| damaged(line_no, reason.to_owned()))?;
            match &rec.body {
                Body::Genesis(g) => genesis = Some(g.clone()),
                Body::Seal { through } => epoch = through + 1,
                Body::Checkpoint(cp) => {
                    latest_checkpoint = genesis.as_ref().map(|g| cp.resolve(g));
                    since_checkpoint = 0;
                }
                Body::Event(_) => {}
            }
            if !matches!(rec.body, Body::Checkpoint(_)) {
                since_checkpoint += 1;
            }
            last_time = last_time.max(rec.time);
            prev = rec.hash;
            frontier.push(rec.hash);
            next_seq += 1;
            last_line = line_no;
            if is_last {
                last_len = reader.line_start() + line.len() as u64 + 1;
            }
        }
    }
    let genesis = genesis.ok_or_else(|| OpenError::Damaged {
        file: segments[0].1.clone(),
        line: 1,
        reason: "no genesis record".to_owned(),
    })?;
    Ok(Scan {
        genesis,
        next_seq,
        prev,
        frontier,
        last_time,
        epoch,
        since_checkpoint,
        latest_checkpoint,
        last_path: segments[segments.len() - 1].1.clone(),
        last_len,
        last_line,
    })
}

#[cfg(test)]
thread_local! {
    /// Makes `seal_elapsed` stop right after staging the seal in the key file, as a crash would.
    static STOP_AFTER_STAGING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A seal staged in the key file (see `seal_elapsed`) that a crash kept out of the log: when
/// it is the log's next record, it is appended (and synced) and `true` is returned; when the
/// log already holds it, `false`. A staged seal that fits neither is damage.
fn append_staged_seal(seal: &str, scan: &Scan, key_path: &Path) -> Result<bool, OpenError> {
    let bad = |reason| OpenError::KeyFile {
        path: key_path.to_path_buf(),
        reason,
    };
    let rec = record::parse(seal.as_bytes()).map_err(|_| bad("the staged seal is malformed"))?;
    if !matches!(rec.body, Body::Seal { .. }) {
        return Err(bad("the staged record is not a seal"));
    }
    if rec.seq < scan.next_seq {
        return Ok(false);
    }
    if rec.seq > scan.next_seq || rec.prev != scan.prev {
        return Err(OpenError::Damaged {
            file: scan.last_path.clone(),
            line: scan.last_line,
            reason: "the seal staged in the key file does not follow the log's last record: \
                     records were removed (truncation)"
                .to_owned(),
        });
    }
    // After the last record, over the zeros a crash may have left behind it.
    let mut file = OpenOptions::new()
        .write(true)
        .open(&scan.last_path)
        .map_err(io_err(&scan.last_path))?;
    file.seek(SeekFrom::Start(scan.last_len))
        .and_then(|_| file.write_all(format!("{seal}\n").as_bytes()))
        .and_then(|()| file.sync_data())
        .map_err(io_err(&scan.last_path))?;
    Ok(true)
}

/// Whether the rest of the input holds nothing but NULs and newlines.
fn only_zeros_after<R: std::io::BufRead>(
    reader: &mut LineReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    while let Some(kind) = reader.next_line(buf)? {
        if kind == Line::TooLong || buf.iter().any(|&b| b != 0) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a complete line is the next record: syntax, sequence, link, epoch and, for the
/// current epoch, MAC.
fn check_line(
    line: &[u8],
    key: &MacKey,
    seq: u64,
    prev: &Hash,
    epoch: u64,
    genesis: Option<&Genesis>,
) -> Result<(), String> {
    let rec = record::parse(line).map_err(str::to_owned)?;
    if rec.seq != seq {
        return Err(format!("expected record {seq}, found {}", rec.seq));
    }
    if rec.prev != *prev {
        return Err("does not link to the record before it".to_owned());
    }
    if genesis.is_none() != matches!(rec.body, Body::Genesis(_)) {
        return Err("a log starts with exactly one genesis record".to_owned());
    }
    if rec.epoch != epoch {
        return Err(format!(
            "record is in epoch {}, expected {epoch}",
            rec.epoch
        ));
    }
    if rec.epoch == key.epoch() {
        let (content, mac) = record::split_mac(line).map_err(str::to_owned)?;
        if !key.check(&content, &mac) {
            return Err("MAC does not verify with the current epoch key".to_owned());
        }
    }
    Ok(())
}

/// What [`AuditLog::encode`] writes: a record body, or an event straight from its redacted
/// form (the same bytes as its JSON object would give, without building that object).
#[derive(Clone, Copy)]
enum Encode<'a> {
    Body(&'a Body),
    Event(&'a RedactedEvent),
}

/// A tamper-evident, append-only audit log in a directory of JSON Lines files.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use palisade_audit::{AuditLog, Durability, Event, Outcome, SigningKey, Verifier};
///
/// # let base = std::env::temp_dir().join(format!("palisade-audit-doc-log-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&base);
/// # std::fs::create_dir_all(&base).unwrap();
/// # let dir = base.join("log");
/// // The checkpoint key in a file of its own (or an HSM behind `CheckpointSigner`).
/// let signing = SigningKey::generate().unwrap();
/// let public = signing.verifying_key();
/// let mut bundle = None; // a vault's API would take it here
///
/// let mut log = AuditLog::builder(&dir)
///     .epoch_length(Duration::from_secs(900))
///     .durability(Durability::Group { records: 64, interval: Duration::from_millis(50) })
///     .signer(Arc::new(signing))
///     .create_with(|b| { bundle = Some(b.mac_key()); Ok(()) })
///     .unwrap();
/// log.append(
///     Event::new("auth.login").actor("user:42").outcome(Outcome::Success)
///         .field("password", "hunter2"), // redacted before it is written
/// ).unwrap();
/// log.flush().unwrap();
///
/// let report = Verifier::new()
///     .public_key(public)
///     .mac_key(bundle.unwrap())
///     .verify_dir(&dir)
///     .unwrap();
/// assert!(report.is_intact(), "{report}");
/// # std::fs::remove_dir_all(&base).unwrap();
/// ```
pub struct AuditLog {
    dir: PathBuf,
    genesis: Genesis,
    signer: Arc<dyn CheckpointSigner>,
    key: MacKey,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
    durability: Durability,
    max_file_bytes: u64,
    preallocate: u64,
    checkpoint_every: u64,
    segment: ActiveSegment,
    next_seq: u64,
    durable_seq: u64,
    prev: Hash,
    frontier: Frontier,
    last_time: Timestamp,
    since_checkpoint: u64,
    pending_since: Option<Timestamp>,
    latest_checkpoint: Option<Checkpoint>,
    poisoned: bool,
    /// The line being written, newline included: one buffer for every record, so an append
    /// allocates nothing for its line once the buffer has grown to the longest line.
    line: Vec<u8>,
    /// The text of the last record's time.
    time_text: TimeText,
    /// Registered with the recorder installed when the log was opened.
    meters: LogMeters,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("log_id", &hex::encode(&self.genesis.log_id))
            .field("epoch", &self.key.epoch())
            .field("len", &self.next_seq)
            .field("durable_len", &self.durable_seq)
            .field("file", &self.segment.path())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Settings for a log in `dir`; finish with [`create`](AuditLogBuilder::create) or
    /// [`open`](AuditLogBuilder::open).
    pub fn builder(dir: impl AsRef<Path>) -> AuditLogBuilder {
        AuditLogBuilder {
            dir: dir.as_ref().to_path_buf(),
            epoch: DEFAULT_EPOCH,
            durability: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            preallocate: DEFAULT_PREALLOCATE,
            checkpoint_every: 10_000,
            clock: Arc::new(SystemClock),
            redactor: Redactor::new(),
            signer: None,
            origin: None,
            epoch0: None,
        }
    }

    fn assemble(
        b: AuditLogBuilder,
        genesis: Genesis,
        signer: Arc<dyn CheckpointSigner>,
        key: MacKey,
        segment: ActiveSegment,
    ) -> Self {
        Self {
            dir: b.dir,
            genesis,
            signer,
            key,
            clock: b.clock,
            redactor: b.redactor,
            durability: b.durability.unwrap_or_default(),
            max_file_bytes: b.max_file_bytes,
            preallocate: b.preallocate,
            checkpoint_every: b.checkpoint_every,
            segment,
            next_seq: 0,
            durable_seq: 0,
            prev: [0; 32],
            frontier: Frontier::new(),
            last_time: Timestamp::from_unix_millis(0),
            since_checkpoint: 0,
            pending_since: None,
            latest_checkpoint: None,
            poisoned: false,
            line: Vec::with_capacity(1024),
            time_text: TimeText::default(),
            meters: LogMeters::new(),
        }
    }

    /// Redacts the event, then appends it as a record.
    ///
    /// Seals any epoch that ended first (as [`tick`](Self::tick) does), writes the record in a
    /// single write, and syncs as the [`Durability`] says. A signed checkpoint follows every
    /// `checkpoint_every` records.
    ///
    /// # Errors
    ///
    /// [`AppendError`]: an I/O failure (after which the log must be opened again), a record
    /// too large, or a clock that jumped absurdly far.
    pub fn append(&mut self, event: Event) -> Result<Receipt, AppendError> {
        let result = self.append_unmetered(event);
        self.meters.appended(result.is_ok());
        result
    }

    fn append_unmetered(&mut self, event: Event) -> Result<Receipt, AppendError> {
        let now = self.clock.now();
        self.seal_elapsed(now)?;
        let event = event.redact(&self.redactor);
        let hash = self.encode(Encode::Event(&event), now)?;
        let seq = self.append_line(hash, false, now)?;
        if self.since_checkpoint >= self.checkpoint_every {
            self.write_checkpoint(now)?;
        }
        self.sync_per_policy(now)?;
        Ok(Receipt {
            seq,
            durable: self.durable_seq > seq,
        })
    }

    /// Seals every epoch that has ended, even with no events in it, and completes a group
    /// commit whose interval has passed. Call it on a timer (every few seconds): an epoch key is
    /// erased only when its epoch is sealed.
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append).
    pub fn tick(&mut self) -> Result<(), AppendError> {
        let now = self.clock.now();
        self.seal_elapsed(now)?;
        if let (Some(since), Durability::Group { interval, .. }) =
            (self.pending_since, self.durability)
            && now >= since.saturating_add(interval)
        {
            self.sync()?;
        }
        Ok(())
    }

    /// Writes and syncs a signed checkpoint of every record so far, and returns it: hand it to
    /// a witness or store it away from this machine.
    ///
    /// # Errors
    ///
    /// As [`append`](Self::append).
    pub fn checkpoint(&mut self) -> Result<Checkpoint, AppendError> {
        let now = self.clock.now();
        self.seal_elapsed(now)?;
        let cp = self.write_checkpoint(now)?;
        self.sync()?;
        Ok(cp)
    }

    /// Syncs every record written so far.
    ///
    /// # Errors
    ///
    /// [`AppendError::Io`] when the sync fails.
    pub fn flush(&mut self) -> Result<(), AppendError> {
        self.sync()
    }

    /// The number of records written (the next record's sequence number).
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// Whether the log has no records; never true, since the genesis record comes first.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// The number of records committed (synced).
    pub fn durable_len(&self) -> u64 {
        self.durable_seq
    }

    /// The current MAC epoch.
    pub fn epoch(&self) -> u64 {
        self.key.epoch()
    }

    /// The log's id, written in its genesis record and every checkpoint.
    pub fn log_id(&self) -> [u8; 16] {
        self.genesis.log_id
    }

    /// The key that verifies this log's checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signer.verifying_key()
    }

    /// The log's name: its checkpoints' origin line.
    pub fn origin(&self) -> &str {
        &self.genesis.origin
    }

    /// The epoch length, fixed when the log was created (default 15 minutes).
    pub fn epoch_length(&self) -> Duration {
        Duration::from_millis(self.genesis.epoch_ms)
    }

    /// The size past which the current segment file is closed (default 64 MiB).
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// When appends are synced.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The latest checkpoint written.
    pub fn latest_checkpoint(&self) -> Option<&Checkpoint> {
        self.latest_checkpoint.as_ref()
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn seal_elapsed(&mut self, now: Timestamp) -> Result<(), AppendError> {
        if self.poisoned {
            return Err(AppendError::Poisoned);
        }
        let target = self.genesis.epoch_of(now.max(self.last_time));
        let current = self.key.epoch();
        if target <= current {
            return Ok(());
        }
        let steps = target - current;
        if steps > MAX_EPOCH_STEP {
            return Err(AppendError::ClockJump { epochs: steps });
        }
        // The records the seal ends are durable before anything about the seal is.
        self.sync()?;
        let hash = self.encode(
            Encode::Body(&Body::Seal {
                through: target - 1,
            }),
            now,
        )?;
        // The next key and the seal, MACed under the current key, replace the key file in one
        // atomic rename: from then on the sealed epoch's key is on disk nowhere. A crash before
        // the seal reaches the log leaves it in the key file, and `open` appends it.
        let next = self.key.derive_forward(steps);
        let staged = {
            // Records are UTF-8 (JSON written by serde_json, and ASCII), so this borrows.
            let seal = String::from_utf8_lossy(&self.line);
            files::save_key_staging(
                &self.dir,
                &self.genesis.log_id,
                &next,
                Some(seal.trim_end()),
            )
        };
        self.key_saved(staged)?;
        #[cfg(test)]
        if STOP_AFTER_STAGING.with(std::cell::Cell::get) {
            self.poisoned = true;
            return Err(AppendError::Poisoned);
        }
        self.key = next;
        self.append_line(hash, false, now)?;
        self.sync()?;
        let saved = files::save_key(&self.dir, &self.genesis.log_id, &self.key);
        self.key_saved(saved)?;
        self.write_checkpoint(now)?;
        self.sync()
    }

    /// The result of replacing the key file; a failure poisons the log.
    fn key_saved(&mut self, saved: Result<(), OpenError>) -> Result<(), AppendError> {
        saved.map_err(|e| {
            crate::telemetry::write_failed();
            self.poisoned = true;
            match e {
                OpenError::Io { path, source } => AppendError::Io { path, source },
                _ => AppendError::Poisoned,
            }
        })
    }

    fn write_checkpoint(&mut self, now: Timestamp) -> Result<Checkpoint, AppendError> {
        let cp = Checkpoint::sign(
            &self.genesis.origin,
            self.next_seq,
            self.frontier.root(),
            self.signer.as_ref(),
        )?;
        self.write(&Body::Checkpoint(CheckpointBody::of(&cp)), now)?;
        self.since_checkpoint = 0;
        self.latest_checkpoint = Some(cp.clone());
        Ok(cp)
    }

    /// Writes one record in a single write call; returns its sequence number.
    fn write(&mut self, body: &Body, now: Timestamp) -> Result<u64, AppendError> {
        let hash = self.encode(Encode::Body(body), now)?;
        self.append_line(hash, matches!(body, Body::Checkpoint(_)), now)
    }

    /// Puts the next record's line (newline included), with its MAC under the current key,
    /// in `self.line`, and returns the record's hash.
    fn encode(&mut self, what: Encode<'_>, now: Timestamp) -> Result<Hash, AppendError> {
        if self.poisoned {
            return Err(AppendError::Poisoned);
        }
        let (seq, epoch) = (self.next_seq, self.key.epoch());
        let time = self.time_text.of(now);
        let hash = match what {
            Encode::Body(body) => record::encode_into(
                &mut self.line,
                seq,
                time,
                epoch,
                body,
                &self.prev,
                &self.key,
            ),
            Encode::Event(event) => record::encode_event_into(
                &mut self.line,
                seq,
                time,
                epoch,
                event,
                &self.prev,
                &self.key,
            ),
        };
        self.line.push(b'\n');
        if self.line.len() > MAX_LINE_BYTES {
            let len = self.line.len();
            // Keep no huge buffer around after a refused event.
            self.line = Vec::with_capacity(1024);
            return Err(AppendError::TooLarge {
                len,
                max: MAX_LINE_BYTES,
            });
        }
        Ok(hash)
    }

    /// Appends the line [`encode`](Self::encode) left in `self.line` for the next sequence
    /// number.
    fn append_line(
        &mut self,
        hash: Hash,
        is_checkpoint: bool,
        now: Timestamp,
    ) -> Result<u64, AppendError> {
        if self.poisoned {
            return Err(AppendError::Poisoned);
        }
        let seq = self.next_seq;
        let len = self.line.len() as u64;
        if self.segment.len() > 0 && self.segment.len() + len > self.max_file_bytes {
            self.rotate(seq)?;
        }
        if let Err(source) = self.segment.write_line(&self.line) {
            crate::telemetry::write_failed();
            self.poisoned = true;
            return Err(AppendError::Io {
                path: self.segment.path().to_path_buf(),
                source,
            });
        }
        self.prev = hash;
        self.frontier.push(hash);
        self.next_seq += 1;
        self.last_time = self.last_time.max(now);
        if !is_checkpoint {
            self.since_checkpoint += 1;
        }
        self.pending_since.get_or_insert(now);
        Ok(seq)
    }

    /// Closes the current file (synced, the zeros after its records cut away) and starts
    /// `audit-<seq>.jsonl`.
    fn rotate(&mut self, seq: u64) -> Result<(), AppendError> {
        self.sync()?;
        let fail = |path: &Path, source| AppendError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Err(e) = self.segment.trim() {
            self.poisoned = true;
            return Err(fail(self.segment.path(), e));
        }
        let path = self.dir.join(files::segment_name(seq));
        let segment = ActiveSegment::create(path.clone(), self.preallocate, self.max_file_bytes)
            .map_err(|e| fail(&path, e))?;
        files::sync_dir(&self.dir).map_err(|e| fail(&self.dir, e))?;
        self.segment = segment;
        Ok(())
    }

    fn sync_per_policy(&mut self, now: Timestamp) -> Result<(), AppendError> {
        let due = match self.durability {
            Durability::EveryRecord => true,
            Durability::Group { records, interval } => {
                self.next_seq - self.durable_seq >= u64::from(records)
                    || self
                        .pending_since
                        .is_some_and(|since| now >= since.saturating_add(interval))
            }
        };
        if due { self.sync() } else { Ok(()) }
    }

    fn sync(&mut self) -> Result<(), AppendError> {
        if self.durable_seq == self.next_seq {
            return Ok(());
        }
        let timer = crate::telemetry::sync_started();
        let synced = self.segment.sync_data();
        self.meters.synced(&timer);
        if let Err(source) = synced {
            crate::telemetry::write_failed();
            self.poisoned = true;
            return Err(AppendError::Io {
                path: self.segment.path().to_path_buf(),
                source,
            });
        }
        self.durable_seq = self.next_seq;
        self.pending_since = None;
        Ok(())
    }
}

impl Drop for AuditLog {
    /// Syncs, and leaves the file ending with its last record. A poisoned log is left as it
    /// is, for the next `open` to recover.
    fn drop(&mut self) {
        if !self.poisoned && self.sync().is_ok() {
            let _ = self.segment.trim();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::SYNCED_DIRS;

    /// The seal is staged in the key file with the next key before it is written: stopped
    /// right there, as a crash would stop it, the directory holds no copy of the sealed
    /// epoch's key, and the next open appends the staged seal; the log then verifies.
    #[test]
    fn a_crash_after_staging_leaves_no_old_key_and_open_appends_the_seal() {
        use crate::{ManualClock, SigningKey, Verifier};
        let dir = std::env::temp_dir().join(format!("palisade-audit-stage-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let clock = ManualClock::new(Timestamp::from_unix_millis(1_767_225_600_000));
        let signing = SigningKey::generate().unwrap();
        let public = signing.verifying_key();
        let signer: Arc<dyn CheckpointSigner> = Arc::new(signing);
        let builder = || {
            AuditLog::builder(&dir)
                .epoch_length(Duration::from_secs(900))
                .clock(Arc::new(clock.clone()))
                .signer(signer.clone())
        };
        let mut log = builder()
            .epoch0_key(MacKey::from_bytes([0x42; 32]))
            .create_with(|_| Ok(()))
            .unwrap();
        let _ = log.append(Event::new("a")).unwrap();
        let key_path = dir.join(files::KEY_FILE);
        let epoch0_hex = fs::read_to_string(&key_path)
            .unwrap()
            .lines()
            .nth(3)
            .unwrap()
            .to_owned();
        let records_before = log.len();

        clock.advance(Duration::from_secs(900));
        STOP_AFTER_STAGING.with(|stop| stop.set(true));
        assert!(log.tick().is_err());
        STOP_AFTER_STAGING.with(|stop| stop.set(false));
        drop(log);
        let staged = fs::read_to_string(&key_path).unwrap();
        let lines: Vec<&str> = staged.lines().collect();
        assert_eq!(lines.len(), 5, "{staged}");
        assert_eq!(lines[2], "1", "the key file holds epoch 1's key");
        assert!(lines[4].starts_with("seal {"), "the seal is staged");
        let everything: String = fs::read_dir(&dir)
            .unwrap()
            .map(|e| fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect();
        assert!(
            !everything.contains(&epoch0_hex),
            "epoch 0's key is still on disk"
        );

        let log = builder().open().unwrap();
        assert_eq!(log.epoch(), 1);
        assert_eq!(
            log.len(),
            records_before + 1,
            "the staged seal was appended"
        );
        drop(log);
        assert_eq!(fs::read_to_string(&key_path).unwrap().lines().count(), 4);
        let report = Verifier::new()
            .public_key(public)
            .mac_key(MacKey::from_bytes([0x42; 32]))
            .clock(Arc::new(clock.clone()))
            .verify_dir(&dir)
            .unwrap();
        assert!(report.is_intact(), "{report}");
        // Opening again finds the seal in the log and nothing staged.
        let mut log = builder().open().unwrap();
        let _ = log.append(Event::new("b")).unwrap();
        let _ = fs::remove_dir_all(&dir);
    }

    /// A record too large is refused before anything is written, and the reused line buffer
    /// neither leaks it into the next record nor keeps its size.
    #[test]
    fn a_record_too_large_is_refused_and_the_log_carries_on() {
        use crate::Verifier;
        let dir = std::env::temp_dir().join(format!("palisade-audit-large-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut bundle = None;
        let mut log = AuditLog::builder(&dir)
            .create_with(|b| {
                bundle = Some(b.mac_key());
                Ok(())
            })
            .unwrap();
        let _ = log.append(Event::new("before")).unwrap();
        let (len, size) = (log.len(), fs::metadata(log.segment.path()).unwrap().len());
        let huge = Event::new("huge").field("pad", "y".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            log.append(huge),
            Err(AppendError::TooLarge { len, max: MAX_LINE_BYTES }) if len > MAX_LINE_BYTES
        ));
        assert_eq!(
            (log.len(), fs::metadata(log.segment.path()).unwrap().len()),
            (len, size)
        );
        assert!(log.line.capacity() < MAX_LINE_BYTES);
        let _ = log.append(Event::new("after")).unwrap();
        drop(log);
        let text = fs::read_to_string(dir.join(files::segment_name(0))).unwrap();
        assert!(!text.contains("yyyy"));
        let report = Verifier::new()
            .mac_key(bundle.unwrap())
            .verify_dir(&dir)
            .unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.size(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_is_synced_on_rotation() {
        let dir = std::env::temp_dir().join(format!("palisade-audit-sync-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut log = AuditLog::builder(&dir)
            .max_file_bytes(64 * 1024)
            .create_with(|_| Ok(()))
            .unwrap();
        SYNCED_DIRS.with(|s| s.borrow_mut().clear());
        let first = log.segment.path().to_path_buf();
        while log.segment.path() == first {
            let _ = log
                .append(Event::new("x").field("pad", "y".repeat(500)))
                .unwrap();
        }
        // The new segment's directory entry was made durable before the segment was used.
        assert!(log.segment.path().exists());
        assert_eq!(SYNCED_DIRS.with(|s| s.borrow().clone()), vec![dir.clone()]);
        drop(log);
        fs::remove_dir_all(&dir).unwrap();
    }
}
