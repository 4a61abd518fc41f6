//! The writer: [`AuditLog`] and its builder.

use std::{
    fmt,
    fs::{self, File, OpenOptions},
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use palisade_redact::Redactor;

use crate::{
    checkpoint::Checkpoint,
    clock::{Clock, SystemClock, Timestamp},
    error::{AppendError, ConfigError, KeyError, OpenError},
    event::Event,
    files::{self, io_err},
    hex,
    keys::{MAX_EPOCH_STEP, MacKey, SigningKey, VerifyingKey},
    merkle::{Frontier, Hash},
    record::{self, Body, Genesis, MAX_LINE_BYTES},
};

/// When appended records are made durable (`fsync`ed).
///
/// A record is *committed* once it is durable; a crash never loses a committed record. A
/// record written but not yet synced survives a crash of the process (it is in the operating
/// system's cache) but not necessarily a power loss.
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
    durability: Durability,
    max_file_bytes: u64,
    checkpoint_every: u64,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
}

impl fmt::Debug for AuditLogBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLogBuilder")
            .field("dir", &self.dir)
            .field("epoch", &self.epoch)
            .field("durability", &self.durability)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("clock", &self.clock)
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

    /// When appends are synced (default [`Durability::EveryRecord`]).
    #[must_use]
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Start a new file once the current one would grow past this size (default 64 MiB).
    #[must_use]
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
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
        if let Durability::Group { records, interval } = self.durability
            && (records == 0 || interval < Duration::from_millis(1))
        {
            return Err(ConfigError::EmptyGroup);
        }
        if self.checkpoint_every == 0 {
            return Err(ConfigError::NoCheckpoints);
        }
        Ok(())
    }

    /// Creates a new log in the directory (made if missing), with the epoch-0 MAC key and the
    /// checkpoint signing key, and writes its genesis record.
    ///
    /// Keep a copy of `mac_key` offline before calling this (see [`MacKey`]): the log
    /// steps it forward and the writer never holds it again.
    ///
    /// # Errors
    ///
    /// [`OpenError::Config`] for a bad setting, [`OpenError::Exists`] when the directory
    /// already holds a log, [`OpenError::Io`] when it cannot be written.
    pub fn create(self, mac_key: MacKey, signing: SigningKey) -> Result<AuditLog, OpenError> {
        self.validate()?;
        let dir = self.dir.clone();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        if !files::segments(&dir).map_err(io_err(&dir))?.is_empty() {
            return Err(OpenError::Exists(dir));
        }
        let mut log_id = [0u8; 16];
        getrandom::fill(&mut log_id).map_err(|_| KeyError::Randomness)?;
        let key_id = hex::decode::<4>(&signing.verifying_key().key_id())
            .ok_or(KeyError::InvalidPublicKey)?;
        let genesis = Genesis {
            log_id,
            epoch_ms: u64::try_from(self.epoch.as_millis()).unwrap_or(u64::MAX),
            start: self.clock.now(),
            key_id,
        };
        files::save_key(&dir, &log_id, &mac_key)?;
        let path = dir.join(files::segment_name(0));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path))?;
        files::sync_dir(&dir).map_err(io_err(&dir))?;
        let mut log = AuditLog::assemble(self, genesis, signing, mac_key, file, path);
        let start = log.genesis.start;
        log.write(&Body::Genesis(genesis), start)
            .and_then(|_| log.sync())
            .map_err(|e| match e {
                AppendError::Io { path, source } => OpenError::Io { path, source },
                other => OpenError::Damaged {
                    file: log.path.clone(),
                    line: 1,
                    reason: other.to_string(),
                },
            })?;
        Ok(log)
    }

    /// Opens an existing log to append to it, with the signing key it was created with.
    ///
    /// Every file is read and every link checked, and the records of the current epoch are
    /// checked against the current MAC key. A torn last line, left by a crash in the middle of
    /// an append, is cut away; any other damage stops the open with [`OpenError::Damaged`] and
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`OpenError`]: a bad setting, no log, damage, a missing or foreign key file, the wrong
    /// signing key, or an I/O failure.
    pub fn open(self, signing: SigningKey) -> Result<AuditLog, OpenError> {
        self.validate()?;
        let dir = self.dir.clone();
        let segments = files::segments(&dir).map_err(io_err(&dir))?;
        if segments.is_empty() {
            return Err(OpenError::NotFound(dir));
        }
        let (key_log_id, mut key) = files::load_key(&dir)?;
        let scan = recover(&segments, &key)?;
        let genesis = scan.genesis;
        let key_path = dir.join(files::KEY_FILE);
        if genesis.log_id != key_log_id {
            return Err(OpenError::KeyFile {
                path: key_path,
                reason: "the epoch key file belongs to another log",
            });
        }
        let given = signing.verifying_key().key_id();
        if given != hex::encode(&genesis.key_id) {
            return Err(OpenError::WrongSigningKey {
                expected: hex::encode(&genesis.key_id),
                given,
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
        let file = OpenOptions::new()
            .append(true)
            .open(&scan.last_path)
            .map_err(io_err(&scan.last_path))?;
        let mut log = AuditLog::assemble(self, genesis, signing, key, file, scan.last_path);
        log.next_seq = scan.next_seq;
        log.durable_seq = scan.next_seq;
        log.prev = scan.prev;
        log.frontier = scan.frontier;
        log.last_time = scan.last_time;
        log.since_checkpoint = scan.since_checkpoint;
        log.latest_checkpoint = scan.latest_checkpoint;
        log.file_len = scan.last_len;
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
    last_len: u64,
    last_line: u64,
}

/// Reads every segment, checks links and current-epoch MACs, and cuts a torn tail.
#[allow(
    clippy::too_many_lines,
    reason = "one pass over the files; split, the torn-tail rule would be harder to follow"
)]
fn recover(segments: &[(u64, PathBuf)], key: &MacKey) -> Result<Scan, OpenError> {
    let mut genesis: Option<Genesis> = None;
    let mut next_seq = 0u64;
    let mut prev = [0u8; 32];
    let mut frontier = Frontier::new();
    let mut last_time = Timestamp::from_unix_millis(0);
    let mut epoch = 0u64;
    let mut since_checkpoint = 0u64;
    let mut latest_checkpoint = None;
    let mut last_len = 0;
    let mut last_line = 0;
    for (i, (first_seq, path)) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let data = fs::read(path).map_err(io_err(path))?;
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
        let mut offset = 0usize;
        let mut line_no = 0u64;
        while offset < data.len() {
            line_no += 1;
            let rest = &data[offset..];
            let end = rest.iter().position(|&b| b == b'\n');
            let problem = match end {
                None => Some("incomplete last line".to_owned()),
                Some(end) => {
                    check_line(&rest[..end], key, next_seq, &prev, epoch, genesis.as_ref()).err()
                }
            };
            if let Some(reason) = problem {
                // Only a crash's leftover is cut: an incomplete last line, or a last line
                // holding NUL bytes (blocks allocated but never written), with nothing after
                // it. Records never contain a raw NUL or newline.
                let this = &rest[..end.map_or(rest.len(), |e| e + 1)];
                let after = &rest[this.len()..];
                let torn = is_last
                    && (end.is_none() || this.contains(&0))
                    && after.iter().all(|&b| b == b'\n' || b == 0);
                if !torn {
                    return Err(damaged(line_no, reason));
                }
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?;
                file.set_len(offset as u64).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
                break;
            }
            let end = end.unwrap_or(rest.len());
            let rec = record::parse(&rest[..end])
                .map_err(|reason| damaged(line_no, reason.to_owned()))?;
            match &rec.body {
                Body::Genesis(g) => genesis = Some(*g),
                Body::Seal { through } => epoch = through + 1,
                Body::Checkpoint(cp) => {
                    let mut cp = cp.clone();
                    cp.log_id = genesis.map(|g| g.log_id).unwrap_or_default();
                    latest_checkpoint = Some(cp);
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
            offset += end + 1;
            last_line = line_no;
        }
        if is_last {
            last_len = offset as u64;
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

/// A tamper-evident, append-only audit log in a directory of JSON Lines files.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use palisade_audit::{AuditLog, Durability, Event, MacKey, Outcome, SigningKey, Verifier};
/// use secrecy::ExposeSecret;
///
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-log-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mac_key = MacKey::generate().unwrap();
/// let offline_copy = MacKey::from_bytes(*mac_key.expose_secret()); // keep in a vault
/// let signing = SigningKey::generate().unwrap();
/// let public = signing.verifying_key();
///
/// let mut log = AuditLog::builder(&dir)
///     .epoch_length(Duration::from_secs(900))
///     .durability(Durability::Group { records: 64, interval: Duration::from_millis(50) })
///     .create(mac_key, signing)
///     .unwrap();
/// log.append(
///     Event::new("auth.login").actor("user:42").outcome(Outcome::Success)
///         .field("password", "hunter2"), // redacted before it is written
/// ).unwrap();
/// log.flush().unwrap();
///
/// let report = Verifier::new().public_key(public).mac_key(offline_copy).verify_dir(&dir).unwrap();
/// assert!(report.is_intact(), "{report}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct AuditLog {
    dir: PathBuf,
    genesis: Genesis,
    signing: SigningKey,
    key: MacKey,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
    durability: Durability,
    max_file_bytes: u64,
    checkpoint_every: u64,
    file: File,
    path: PathBuf,
    file_len: u64,
    next_seq: u64,
    durable_seq: u64,
    prev: Hash,
    frontier: Frontier,
    last_time: Timestamp,
    since_checkpoint: u64,
    pending_since: Option<Timestamp>,
    latest_checkpoint: Option<Checkpoint>,
    poisoned: bool,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("log_id", &hex::encode(&self.genesis.log_id))
            .field("epoch", &self.key.epoch())
            .field("len", &self.next_seq)
            .field("durable_len", &self.durable_seq)
            .field("file", &self.path)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Settings for a log in `dir`; finish with [`create`](AuditLogBuilder::create) or
    /// [`open`](AuditLogBuilder::open).
    pub fn builder(dir: impl AsRef<Path>) -> AuditLogBuilder {
        AuditLogBuilder {
            dir: dir.as_ref().to_path_buf(),
            epoch: Duration::from_secs(900),
            durability: Durability::EveryRecord,
            max_file_bytes: 64 << 20,
            checkpoint_every: 10_000,
            clock: Arc::new(SystemClock),
            redactor: Redactor::new(),
        }
    }

    fn assemble(
        b: AuditLogBuilder,
        genesis: Genesis,
        signing: SigningKey,
        key: MacKey,
        file: File,
        path: PathBuf,
    ) -> Self {
        Self {
            dir: b.dir,
            genesis,
            signing,
            key,
            clock: b.clock,
            redactor: b.redactor,
            durability: b.durability,
            max_file_bytes: b.max_file_bytes,
            checkpoint_every: b.checkpoint_every,
            file,
            path,
            file_len: 0,
            next_seq: 0,
            durable_seq: 0,
            prev: [0; 32],
            frontier: Frontier::new(),
            last_time: Timestamp::from_unix_millis(0),
            since_checkpoint: 0,
            pending_since: None,
            latest_checkpoint: None,
            poisoned: false,
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
        let now = self.clock.now();
        self.seal_elapsed(now)?;
        let body = Body::Event(event.into_redacted_json(&self.redactor));
        let seq = self.write(&body, now)?;
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
        self.signing.verifying_key()
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
        self.write(
            &Body::Seal {
                through: target - 1,
            },
            now,
        )?;
        // The seal must be on disk before the key that could forge it is erased.
        self.sync()?;
        for _ in 0..steps {
            self.key.advance();
        }
        files::save_key(&self.dir, &self.genesis.log_id, &self.key).map_err(|e| match e {
            OpenError::Io { path, source } => {
                self.poisoned = true;
                AppendError::Io { path, source }
            }
            _ => AppendError::Poisoned,
        })?;
        self.write_checkpoint(now)?;
        self.sync()
    }

    fn write_checkpoint(&mut self, now: Timestamp) -> Result<Checkpoint, AppendError> {
        let cp = Checkpoint::sign(
            self.genesis.log_id,
            self.next_seq,
            self.frontier.root(),
            now,
            &self.signing,
        );
        self.write(&Body::Checkpoint(cp.clone()), now)?;
        self.since_checkpoint = 0;
        self.latest_checkpoint = Some(cp.clone());
        Ok(cp)
    }

    /// Writes one record in a single write call; returns its sequence number.
    fn write(&mut self, body: &Body, now: Timestamp) -> Result<u64, AppendError> {
        if self.poisoned {
            return Err(AppendError::Poisoned);
        }
        let seq = self.next_seq;
        let is_checkpoint = matches!(body, Body::Checkpoint(_));
        let (mut line, hash) =
            record::encode(seq, now, self.key.epoch(), body, &self.prev, &self.key);
        line.push('\n');
        if line.len() > MAX_LINE_BYTES {
            return Err(AppendError::TooLarge {
                len: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
        if self.file_len > 0 && self.file_len + line.len() as u64 > self.max_file_bytes {
            self.rotate(seq)?;
        }
        if let Err(source) = self.file.write_all(line.as_bytes()) {
            self.poisoned = true;
            return Err(AppendError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.file_len += line.len() as u64;
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

    /// Closes the current file (synced) and starts `audit-<seq>.jsonl`.
    fn rotate(&mut self, seq: u64) -> Result<(), AppendError> {
        self.sync()?;
        let path = self.dir.join(files::segment_name(seq));
        let fail = |path: &Path, source| AppendError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| fail(&path, e))?;
        files::sync_dir(&self.dir).map_err(|e| fail(&self.dir, e))?;
        self.file = file;
        self.path = path;
        self.file_len = 0;
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
        if let Err(source) = self.file.sync_data() {
            self.poisoned = true;
            return Err(AppendError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.durable_seq = self.next_seq;
        self.pending_since = None;
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if !self.poisoned {
            let _ = self.sync();
        }
    }
}
