//! The verifier: reads a log and reports every problem it finds, with its position.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    checkpoint::Checkpoint,
    clock::Timestamp,
    files, hex,
    keys::{MAX_EPOCH_STEP, MacKey, VerifyingKey},
    merkle::{self, Frontier, Hash},
    record::{self, Body, Genesis, Record},
};

/// The most findings a report lists; past it they are only counted, so a hostile file cannot
/// make the report grow without bound.
pub const MAX_FINDINGS: usize = 1000;

/// How long after an epoch's end its seal may still be missing before a verifier given the
/// time reports the log as stale: the writer seals on its next `tick`.
const SEAL_GRACE: Duration = Duration::from_secs(60);

/// A directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// No log files in the directory.
    #[error("{0}: no audit log files here")]
    NotFound(PathBuf),
    /// A line is not a record (from [`read_records`]; the verifier reports it instead).
    #[error("{file}: line {line}: {reason}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Where a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The file, when verifying a directory.
    pub file: Option<PathBuf>,
    /// The line in the file, from 1.
    pub line: u64,
    /// The sequence number the record carries, when it could be read.
    pub seq: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
        }
        write!(f, "line {}", self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (record {seq})")?;
        }
        Ok(())
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Expected in a live log, worth knowing (records not yet sealed or checkpointed).
    Notice,
    /// Suspicious but possibly benign (a clock stepped back, a torn last line).
    Warning,
    /// The log was changed, or records are missing.
    Tamper,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// The line is not a record.
    Malformed {
        /// Why.
        reason: &'static str,
    },
    /// The last line of the last file is incomplete: a crash in the middle of an append that
    /// the writer will cut when it opens the log.
    TornLastLine,
    /// The log does not start with a genesis record, or has a second one.
    BadGenesis,
    /// The checkpoint key's id in the genesis record is not the verifying key's.
    WrongKey,
    /// The record's `prev` is not the hash of the record before it: this record or the one
    /// before was changed, or one was inserted.
    BrokenChain,
    /// The record's MAC does not verify with its epoch's key: it was changed or forged.
    BadMac,
    /// The sequence number is not the next one: records were deleted, inserted or reordered.
    SequenceGap {
        /// The sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The record's time is earlier than an earlier record's.
    TimeWentBackwards {
        /// The latest time seen before.
        previous: Timestamp,
        /// This record's time.
        found: Timestamp,
    },
    /// The record is in a later epoch than expected: an epoch ended without its seal.
    MissingEpoch {
        /// The epoch expected.
        expected: u64,
        /// The epoch found.
        found: u64,
    },
    /// The record is in an epoch that was already sealed.
    EpochAfterSeal {
        /// The epoch expected.
        expected: u64,
        /// The epoch found.
        found: u64,
    },
    /// The record's epoch is too far from the last one to derive its key; its MAC was not
    /// checked.
    EpochOutOfReach {
        /// The epoch found.
        found: u64,
    },
    /// A checkpoint in the log does not match the records before it.
    CheckpointMismatch {
        /// The size it claims.
        size: u64,
    },
    /// A checkpoint's signature does not verify.
    BadCheckpointSignature {
        /// The size it claims.
        size: u64,
    },
    /// A trusted checkpoint belongs to another log.
    TrustedFromOtherLog,
    /// The log is shorter than a trusted checkpoint: it was truncated.
    TruncatedBelowTrusted {
        /// The trusted checkpoint's size.
        trusted_size: u64,
        /// The records found.
        found: u64,
    },
    /// The log's first `size` records do not have the trusted checkpoint's root: history was
    /// rewritten (a fork).
    ForkedFromTrusted {
        /// The trusted checkpoint's size.
        size: u64,
    },
    /// The log's last seal is older than the verification time allows: the tail was cut, or
    /// the writer stopped.
    Stale {
        /// The epoch the log ends in.
        log_epoch: u64,
        /// The epoch the verification time is in.
        now_epoch: u64,
    },
    /// Records after the last seal, protected only by the current epoch's key.
    UnsealedTail {
        /// How many.
        records: u64,
    },
    /// Records after the last checkpoint, not yet covered by a signature.
    UncheckpointedTail {
        /// How many.
        records: u64,
    },
}

impl FindingKind {
    /// How serious it is.
    pub fn severity(&self) -> Severity {
        match self {
            Self::UnsealedTail { .. } | Self::UncheckpointedTail { .. } => Severity::Notice,
            Self::TornLastLine | Self::TimeWentBackwards { .. } => Severity::Warning,
            _ => Severity::Tamper,
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "not a record: {reason}"),
            Self::TornLastLine => f.write_str("incomplete last line (an interrupted append)"),
            Self::BadGenesis => f.write_str("the log must start with exactly one genesis record"),
            Self::WrongKey => f.write_str("the log names a different checkpoint key"),
            Self::BrokenChain => {
                f.write_str("does not link to the record before it (changed or inserted)")
            }
            Self::BadMac => f.write_str("MAC does not verify (changed or forged)"),
            Self::SequenceGap { expected, found } => write!(
                f,
                "expected record {expected}, found {found} (deleted, inserted or reordered)"
            ),
            Self::TimeWentBackwards { previous, found } => {
                write!(f, "time went backwards from {previous} to {found}")
            }
            Self::MissingEpoch { expected, found } => {
                write!(f, "epoch {expected} was never sealed; found epoch {found}")
            }
            Self::EpochAfterSeal { expected, found } => {
                write!(
                    f,
                    "record in sealed epoch {found}; expected epoch {expected}"
                )
            }
            Self::EpochOutOfReach { found } => {
                write!(f, "epoch {found} is too far ahead to check its MAC")
            }
            Self::CheckpointMismatch { size } => {
                write!(
                    f,
                    "checkpoint of size {size} does not match the records before it"
                )
            }
            Self::BadCheckpointSignature { size } => {
                write!(f, "checkpoint of size {size} has a bad signature")
            }
            Self::TrustedFromOtherLog => f.write_str("a trusted checkpoint is for another log"),
            Self::TruncatedBelowTrusted {
                trusted_size,
                found,
            } => write!(
                f,
                "truncated: a trusted checkpoint covers {trusted_size} records, found {found}"
            ),
            Self::ForkedFromTrusted { size } => write!(
                f,
                "forked: the first {size} records differ from a trusted checkpoint"
            ),
            Self::Stale {
                log_epoch,
                now_epoch,
            } => write!(
                f,
                "the log ends in epoch {log_epoch} but it is now epoch {now_epoch}: \
                 its tail was cut or the writer stopped"
            ),
            Self::UnsealedTail { records } => write!(f, "{records} record(s) after the last seal"),
            Self::UncheckpointedTail { records } => {
                write!(f, "{records} record(s) after the last checkpoint")
            }
        }
    }
}

/// One problem, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where.
    pub position: Position,
    /// What.
    pub kind: FindingKind,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.kind)
    }
}

/// What a verification found.
#[derive(Debug, Clone)]
#[must_use]
pub struct Report {
    records: u64,
    files: usize,
    findings: Vec<Finding>,
    uncounted: u64,
    last_checkpoint: Option<Checkpoint>,
    sealed_through: Option<u64>,
    root: Hash,
    macs_checked: bool,
    signatures_checked: bool,
}

impl Report {
    /// Whether nothing of [`Severity::Tamper`] was found.
    pub fn is_intact(&self) -> bool {
        self.first_tampering().is_none() && self.uncounted == 0
    }

    /// The first finding of [`Severity::Tamper`]: the first bad record.
    pub fn first_tampering(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| f.kind.severity() == Severity::Tamper)
    }

    /// Every finding, in log order (end-of-log findings last).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Findings past [`MAX_FINDINGS`], counted but not kept.
    pub fn uncounted_findings(&self) -> u64 {
        self.uncounted
    }

    /// The number of lines read as records.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The number of files read.
    pub fn files(&self) -> usize {
        self.files
    }

    /// The last checkpoint found in the log.
    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.last_checkpoint.as_ref()
    }

    /// The last epoch sealed.
    pub fn sealed_through(&self) -> Option<u64> {
        self.sealed_through
    }

    /// The Merkle root of every record read.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Whether record MACs were checked (a MAC key was given).
    pub fn macs_checked(&self) -> bool {
        self.macs_checked
    }

    /// Whether checkpoint signatures were checked (a public key was given).
    pub fn signatures_checked(&self) -> bool {
        self.signatures_checked
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} record(s) in {} file(s): {}",
            self.records,
            self.files,
            if self.is_intact() {
                "intact"
            } else {
                "TAMPERED"
            }
        )?;
        if !self.macs_checked {
            f.write_str(" (MACs not checked)")?;
        }
        if !self.signatures_checked {
            f.write_str(" (signatures not checked)")?;
        }
        for finding in &self.findings {
            write!(f, "\n  [{:?}] {finding}", finding.kind.severity())?;
        }
        if self.uncounted > 0 {
            write!(f, "\n  … and {} more", self.uncounted)?;
        }
        Ok(())
    }
}

/// Checks a log: links, sequence, time, epochs and seals, MACs (given the epoch-0 MAC key),
/// checkpoint roots and signatures (given the public key), and consistency with checkpoints
/// kept elsewhere.
///
/// ```
/// # use palisade_audit::{AuditLog, Event, MacKey, SigningKey, Verifier, FindingKind};
/// # use secrecy::ExposeSecret;
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-ver-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mac_key = MacKey::generate().unwrap();
/// let offline = MacKey::from_bytes(*mac_key.expose_secret());
/// let mut log = AuditLog::builder(&dir).create(mac_key, SigningKey::generate().unwrap()).unwrap();
/// for i in 0..3 {
///     log.append(Event::new("data.read").target(format!("row:{i}"))).unwrap();
/// }
/// drop(log);
///
/// // An intruder edits record 2.
/// let file = dir.join("audit-00000000000000000000.jsonl");
/// let text = std::fs::read_to_string(&file).unwrap().replace("row:1", "row:9");
/// std::fs::write(&file, text).unwrap();
///
/// let report = Verifier::new().mac_key(offline).verify_dir(&dir).unwrap();
/// let first = report.first_tampering().unwrap();
/// assert_eq!(first.position.seq, Some(2));
/// assert_eq!(first.kind, FindingKind::BadMac);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Verifier {
    public_key: Option<VerifyingKey>,
    mac_key: Option<MacKey>,
    trusted: Vec<Checkpoint>,
    now: Option<Timestamp>,
}

impl Verifier {
    /// A verifier that checks links, sequence, time and epochs; add keys to check more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Check checkpoint signatures and the genesis record's key id with this key.
    #[must_use]
    pub fn public_key(mut self, key: VerifyingKey) -> Self {
        self.public_key = Some(key);
        self
    }

    /// Check every record's MAC: the epoch-0 key is stepped forward to each record's epoch.
    #[must_use]
    pub fn mac_key(mut self, key: MacKey) -> Self {
        self.mac_key = Some(key);
        self
    }

    /// A checkpoint kept outside the writer's machine (by a witness, or from an earlier
    /// verification): the log must extend it. May be given several times.
    #[must_use]
    pub fn trusted_checkpoint(mut self, checkpoint: Checkpoint) -> Self {
        self.trusted.push(checkpoint);
        self
    }

    /// The current time: report a log whose seals stop short of it (a cut tail).
    #[must_use]
    pub fn now(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    /// Verifies the log in `dir`, every file in order.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] when the directory or a file cannot be read, or holds no log. Problems
    /// in the log itself are findings in the report.
    pub fn verify_dir(&self, dir: impl AsRef<Path>) -> Result<Report, VerifyError> {
        let dir = dir.as_ref();
        let segments = log_segments(dir)?;
        let mut state = State::new(self);
        let count = segments.len();
        for (i, (_, path)) in segments.iter().enumerate() {
            let data = fs::read(path).map_err(|source| VerifyError::Io {
                path: path.clone(),
                source,
            })?;
            state.feed_file(Some(path), &data, i + 1 == count);
        }
        Ok(state.finish(count))
    }

    /// Verifies a log given as the bytes of its JSON Lines, all files joined in order.
    pub fn verify_bytes(&self, data: &[u8]) -> Report {
        let mut state = State::new(self);
        state.feed_file(None, data, true);
        state.finish(1)
    }
}

struct State<'v> {
    v: &'v Verifier,
    genesis: Option<Genesis>,
    expected_seq: u64,
    prev: Option<Hash>,
    last_time: Option<Timestamp>,
    epoch: u64,
    sealed_through: Option<u64>,
    key: Option<MacKey>,
    frontier: Frontier,
    records: u64,
    since_seal: u64,
    since_checkpoint: u64,
    last_checkpoint: Option<Checkpoint>,
    findings: Vec<Finding>,
    uncounted: u64,
    last_position: Position,
}

impl<'v> State<'v> {
    fn new(v: &'v Verifier) -> Self {
        Self {
            v,
            genesis: None,
            expected_seq: 0,
            prev: None,
            last_time: None,
            epoch: 0,
            sealed_through: None,
            key: v.mac_key.as_ref().map(|k| k.derive_forward(0)),
            frontier: Frontier::new(),
            records: 0,
            since_seal: 0,
            since_checkpoint: 0,
            last_checkpoint: None,
            findings: Vec::new(),
            uncounted: 0,
            last_position: Position {
                file: None,
                line: 0,
                seq: None,
            },
        }
    }

    fn report(&mut self, position: &Position, kind: FindingKind) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                position: position.clone(),
                kind,
            });
        } else {
            self.uncounted += 1;
        }
    }

    fn feed_file(&mut self, file: Option<&Path>, data: &[u8], is_last: bool) {
        let mut line_no = 0;
        let mut rest = data;
        while !rest.is_empty() {
            line_no += 1;
            let mut position = Position {
                file: file.map(Path::to_path_buf),
                line: line_no,
                seq: None,
            };
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                let kind = if is_last {
                    FindingKind::TornLastLine
                } else {
                    FindingKind::Malformed {
                        reason: "incomplete line in a closed file",
                    }
                };
                self.report(&position, kind);
                break;
            };
            let line = &rest[..end];
            rest = &rest[end + 1..];
            self.feed_line(&mut position, line);
            self.last_position = position;
        }
    }

    fn feed_line(&mut self, pos: &mut Position, line: &[u8]) {
        self.check_trusted_at_current_size(pos);
        let rec = match record::parse(line) {
            Ok(rec) => rec,
            Err(reason) => {
                self.report(pos, FindingKind::Malformed { reason });
                // Keep counting so later positions and checkpoint sizes stay aligned.
                self.frontier.push(merkle::leaf_hash(line));
                self.prev = None;
                self.expected_seq += 1;
                self.records += 1;
                return;
            }
        };
        pos.seq = Some(rec.seq);
        self.check_links(pos, &rec);
        self.check_mac(pos, &rec, line);
        self.check_time_and_epoch(pos, &rec);
        match &rec.body {
            Body::Genesis(g) => {
                if self.genesis.is_some() || rec.seq != 0 {
                    self.report(pos, FindingKind::BadGenesis);
                } else {
                    self.genesis = Some(*g);
                    if let Some(pk) = &self.v.public_key
                        && pk.key_id() != hex::encode(&g.key_id)
                    {
                        self.report(pos, FindingKind::WrongKey);
                    }
                }
            }
            Body::Seal { through } => {
                if *through < rec.epoch {
                    self.report(
                        pos,
                        FindingKind::Malformed {
                            reason: "seal ends before its own epoch",
                        },
                    );
                } else {
                    self.sealed_through = Some(*through);
                    self.epoch = through.saturating_add(1);
                    self.since_seal = 0;
                }
            }
            Body::Checkpoint(cp) => self.check_checkpoint(pos, &rec, cp),
            Body::Event(_) => {}
        }
        if self.records == 0 && !matches!(rec.body, Body::Genesis(_)) {
            self.report(pos, FindingKind::BadGenesis);
        }
        if !matches!(rec.body, Body::Seal { .. }) {
            self.since_seal += 1;
        }
        if !matches!(rec.body, Body::Checkpoint(_)) {
            self.since_checkpoint += 1;
        }
        self.frontier.push(rec.hash);
        self.prev = Some(rec.hash);
        self.expected_seq = rec.seq.saturating_add(1);
        self.records += 1;
    }

    fn check_links(&mut self, pos: &Position, rec: &Record) {
        if rec.seq != self.expected_seq {
            self.report(
                pos,
                FindingKind::SequenceGap {
                    expected: self.expected_seq,
                    found: rec.seq,
                },
            );
            return;
        }
        let expected_prev = if self.records == 0 {
            Some([0; 32])
        } else {
            self.prev
        };
        if let Some(prev) = expected_prev
            && prev != rec.prev
        {
            self.report(pos, FindingKind::BrokenChain);
        }
    }

    fn check_mac(&mut self, pos: &Position, rec: &Record, line: &[u8]) {
        let authentic = |key: &MacKey| {
            record::split_mac(line).is_ok_and(|(content, mac)| key.check(&content, &mac))
        };
        let Some(current) = &self.key else { return };
        let ok = if rec.epoch >= current.epoch() {
            let steps = rec.epoch - current.epoch();
            if steps > MAX_EPOCH_STEP {
                self.report(pos, FindingKind::EpochOutOfReach { found: rec.epoch });
                return;
            }
            if steps > 0 {
                self.key = Some(current.derive_forward(steps));
            }
            self.key.as_ref().is_some_and(authentic)
        } else {
            // An epoch earlier than the last one seen: derive its key afresh from epoch 0.
            let Some(k0) = &self.v.mac_key else { return };
            if rec.epoch > MAX_EPOCH_STEP {
                self.report(pos, FindingKind::EpochOutOfReach { found: rec.epoch });
                return;
            }
            authentic(&k0.derive_forward(rec.epoch))
        };
        if !ok {
            self.report(pos, FindingKind::BadMac);
        }
    }

    fn check_time_and_epoch(&mut self, pos: &Position, rec: &Record) {
        if let Some(previous) = self.last_time
            && rec.time < previous
        {
            self.report(
                pos,
                FindingKind::TimeWentBackwards {
                    previous,
                    found: rec.time,
                },
            );
        }
        self.last_time = Some(self.last_time.map_or(rec.time, |t| t.max(rec.time)));
        if rec.epoch > self.epoch {
            self.report(
                pos,
                FindingKind::MissingEpoch {
                    expected: self.epoch,
                    found: rec.epoch,
                },
            );
            self.epoch = rec.epoch;
        } else if rec.epoch < self.epoch {
            self.report(
                pos,
                FindingKind::EpochAfterSeal {
                    expected: self.epoch,
                    found: rec.epoch,
                },
            );
        }
    }

    fn check_checkpoint(&mut self, pos: &Position, rec: &Record, cp: &Checkpoint) {
        let mut cp = cp.clone();
        cp.log_id = self.genesis.map(|g| g.log_id).unwrap_or_default();
        if cp.size != rec.seq || cp.size != self.frontier.size() || cp.root != self.frontier.root()
        {
            self.report(pos, FindingKind::CheckpointMismatch { size: cp.size });
        }
        if let Some(pk) = &self.v.public_key
            && cp.verify(pk).is_err()
        {
            self.report(pos, FindingKind::BadCheckpointSignature { size: cp.size });
        }
        self.since_checkpoint = 0;
        self.last_checkpoint = Some(cp);
    }

    /// Compares every trusted checkpoint whose size is the number of records read so far.
    fn check_trusted_at_current_size(&mut self, pos: &Position) {
        let size = self.frontier.size();
        let mut forked = Vec::new();
        for t in &self.v.trusted {
            if t.size == size && t.root != self.frontier.root() {
                forked.push(t.size);
            }
        }
        for size in forked {
            self.report(pos, FindingKind::ForkedFromTrusted { size });
        }
    }

    fn finish(mut self, files: usize) -> Report {
        let end = Position {
            seq: None,
            ..self.last_position.clone()
        };
        self.check_trusted_at_current_size(&end);
        let log_id = self.genesis.map(|g| g.log_id);
        for t in &self.v.trusted {
            if log_id.is_some_and(|id| id != t.log_id) {
                self.report(&end, FindingKind::TrustedFromOtherLog);
            }
            if let Some(pk) = &self.v.public_key
                && t.verify(pk).is_err()
            {
                self.report(&end, FindingKind::BadCheckpointSignature { size: t.size });
            }
            if t.size > self.records {
                self.report(
                    &end,
                    FindingKind::TruncatedBelowTrusted {
                        trusted_size: t.size,
                        found: self.records,
                    },
                );
            }
        }
        if self.records == 0 {
            self.report(&end, FindingKind::BadGenesis);
        }
        if let (Some(now), Some(g)) = (self.v.now, self.genesis) {
            let now_epoch = g.epoch_of(Timestamp::from_unix_millis(
                now.unix_millis()
                    .saturating_sub(SEAL_GRACE.as_millis() as u64),
            ));
            if now_epoch > self.epoch {
                self.report(
                    &end,
                    FindingKind::Stale {
                        log_epoch: self.epoch,
                        now_epoch,
                    },
                );
            }
        }
        if self.since_seal > 0 {
            self.report(
                &end,
                FindingKind::UnsealedTail {
                    records: self.since_seal,
                },
            );
        }
        if self.since_checkpoint > 0 {
            self.report(
                &end,
                FindingKind::UncheckpointedTail {
                    records: self.since_checkpoint,
                },
            );
        }
        Report {
            records: self.records,
            files,
            findings: self.findings,
            uncounted: self.uncounted,
            last_checkpoint: self.last_checkpoint,
            sealed_through: self.sealed_through,
            root: self.frontier.root(),
            macs_checked: self.v.mac_key.is_some(),
            signatures_checked: self.v.public_key.is_some(),
        }
    }
}

/// The log's files in order; a directory without any is an error.
fn log_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, VerifyError> {
    let segments = files::segments(dir).map_err(|source| VerifyError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if segments.is_empty() {
        return Err(VerifyError::NotFound(dir.to_path_buf()));
    }
    Ok(segments)
}

/// Reads every record of the log in `dir`, in order, checking only their syntax (use
/// [`Verifier`] to check them). An incomplete last line is skipped.
///
/// # Errors
///
/// [`VerifyError`] when a file cannot be read or a line is not a record.
pub fn read_records(dir: impl AsRef<Path>) -> Result<Vec<Record>, VerifyError> {
    let dir = dir.as_ref();
    let segments = log_segments(dir)?;
    let mut out = Vec::new();
    let mut log_id = [0u8; 16];
    for (_, path) in &segments {
        let data = fs::read(path).map_err(|source| VerifyError::Io {
            path: path.clone(),
            source,
        })?;
        let mut lines = data.split(|&b| b == b'\n').peekable();
        let mut line_no = 0;
        while let Some(line) = lines.next() {
            line_no += 1;
            if lines.peek().is_none() {
                break; // after the last newline: empty, or an incomplete line
            }
            let mut rec = record::parse(line).map_err(|reason| VerifyError::Malformed {
                file: path.clone(),
                line: line_no,
                reason,
            })?;
            match &mut rec.body {
                Body::Genesis(g) => log_id = g.log_id,
                Body::Checkpoint(cp) => cp.log_id = log_id,
                _ => {}
            }
            out.push(rec);
        }
    }
    Ok(out)
}

/// The Merkle tree over `records`, for inclusion and consistency proofs.
///
/// ```
/// # use palisade_audit::{AuditLog, Event, MacKey, SigningKey};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-tree-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mut log = AuditLog::builder(&dir)
///     .create(MacKey::generate().unwrap(), SigningKey::generate().unwrap())
///     .unwrap();
/// log.append(Event::new("auth.logout")).unwrap();
/// let checkpoint = log.checkpoint().unwrap();
///
/// let records = palisade_audit::read_records(&dir).unwrap();
/// let tree = palisade_audit::tree_of(&records);
/// let proof = tree.inclusion_proof(1, checkpoint.size()).unwrap();
/// assert!(checkpoint.verify_inclusion(&records[1].hash(), &proof).is_ok());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn tree_of(records: &[Record]) -> merkle::Tree {
    let mut tree = merkle::Tree::new();
    for r in records {
        tree.push(r.hash);
    }
    tree
}
