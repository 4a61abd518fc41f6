//! The verifier: reads a log and reports every problem it finds, with its position.

use std::{
    fmt,
    fs::File,
    io::{self, BufRead, BufReader},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use crate::{
    bundle::VerifierBundle,
    checkpoint::Checkpoint,
    clock::{Clock, SystemClock, Timestamp},
    files::{self, Line, LineReader},
    keys::{MAX_EPOCH_STEP, MacKey, VerifyingKey},
    merkle::{ConsistencyBuilder, Frontier, Hash},
    prune::{self, Cut},
    record::{self, Body, Genesis, Record},
};

/// How far past the verifier's clock a writer's clock may run: the verifier derives epoch keys
/// up to the epoch of its own time plus this, never further.
const CLOCK_SLACK: Duration = Duration::from_secs(86_400);

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
    /// The record's epoch was not reached through an authenticated seal (or lies beyond the
    /// epoch of the verification time), so its key was never derived and its MAC not checked:
    /// a verifier steps its key only forward, only when a seal it checked tells it to.
    EpochOutOfReach {
        /// The epoch found.
        found: u64,
    },
    /// The retention cut file the log starts from does not check out.
    BadCut {
        /// Why.
        reason: &'static str,
    },
    /// Records before the log's first file were removed by a retention prune.
    Pruned {
        /// The first record the last prune removed.
        first: u64,
        /// The last record removed.
        last: u64,
    },
    /// A trusted checkpoint covers only records removed by a retention prune; it cannot be
    /// checked against the records that remain.
    TrustedBeforeCut {
        /// Its size.
        size: u64,
    },
    /// Records not covered by any trusted checkpoint: cutting them off would go unnoticed.
    NotAnchored {
        /// The first such record.
        from: u64,
        /// How many.
        records: u64,
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
    /// A short stable `snake_case` name of the kind, without its details: for log fields and
    /// metric labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed",
            Self::TornLastLine => "torn_last_line",
            Self::BadGenesis => "bad_genesis",
            Self::WrongKey => "wrong_key",
            Self::BrokenChain => "broken_chain",
            Self::BadMac => "bad_mac",
            Self::SequenceGap { .. } => "sequence_gap",
            Self::TimeWentBackwards { .. } => "time_went_backwards",
            Self::MissingEpoch { .. } => "missing_epoch",
            Self::EpochAfterSeal { .. } => "epoch_after_seal",
            Self::EpochOutOfReach { .. } => "epoch_out_of_reach",
            Self::BadCut { .. } => "bad_cut",
            Self::Pruned { .. } => "pruned",
            Self::TrustedBeforeCut { .. } => "trusted_before_cut",
            Self::NotAnchored { .. } => "not_anchored",
            Self::CheckpointMismatch { .. } => "checkpoint_mismatch",
            Self::BadCheckpointSignature { .. } => "bad_checkpoint_signature",
            Self::TrustedFromOtherLog => "trusted_from_other_log",
            Self::TruncatedBelowTrusted { .. } => "truncated_below_trusted",
            Self::ForkedFromTrusted { .. } => "forked_from_trusted",
            Self::Stale { .. } => "stale",
            Self::UnsealedTail { .. } => "unsealed_tail",
            Self::UncheckpointedTail { .. } => "uncheckpointed_tail",
        }
    }

    /// How serious it is.
    pub fn severity(&self) -> Severity {
        match self {
            Self::UnsealedTail { .. }
            | Self::UncheckpointedTail { .. }
            | Self::Pruned { .. }
            | Self::TrustedBeforeCut { .. }
            | Self::NotAnchored { .. } => Severity::Notice,
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
            Self::EpochOutOfReach { found } => write!(
                f,
                "epoch {found} was not reached through a checked seal; its MACs were not checked"
            ),
            Self::BadCut { reason } => write!(f, "the retention cut file is bad: {reason}"),
            Self::Pruned { first, last } => {
                write!(
                    f,
                    "records {first} to {last} were removed by a retention prune"
                )
            }
            Self::TrustedBeforeCut { size } => write!(
                f,
                "a trusted checkpoint of size {size} covers only pruned records"
            ),
            Self::NotAnchored { from, records } => write!(
                f,
                "{records} record(s) from record {from} on are not covered by a trusted \
                 checkpoint: they could have been cut off undetected"
            ),
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
    key_derivations: u64,
    anchored: Option<u64>,
    start: u64,
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

    /// How many epoch keys the verifier derived (one HMAC each): its costliest work, bounded by
    /// the epochs the log's authenticated seals reach, never by what a record claims.
    pub fn key_derivations(&self) -> u64 {
        self.key_derivations
    }

    /// The size of the largest trusted checkpoint the log was proved to extend (by an RFC 9162
    /// consistency proof), if any: records from there on could have been cut undetected.
    pub fn anchored_size(&self) -> Option<u64> {
        self.anchored
    }

    /// The log's size: the sequence number its next record would have (records removed by a
    /// retention prune included).
    pub fn size(&self) -> u64 {
        self.start + self.records
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
/// Its work is linear in the log's size and its memory constant: files are streamed line by
/// line (a line longer than [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES) is skipped, never
/// buffered); each record costs one MAC; the epoch key is only ever stepped forward, and only
/// when a seal whose MAC it checked says so, never past the epoch of the verification time, so
/// a forged record claiming a far epoch costs nothing.
///
/// ```
/// # use palisade_audit::{AuditLog, Event, FindingKind, Verifier, VerifierBundle};
/// # let base = std::env::temp_dir().join(format!("palisade-audit-doc-ver-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&base);
/// # std::fs::create_dir_all(&base).unwrap();
/// # let dir = base.join("log");
/// let mut log = AuditLog::builder(&dir).create(base.join("verifier")).unwrap();
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
/// let bundle = VerifierBundle::read_file(base.join("verifier")).unwrap();
/// let report = Verifier::new().bundle(&bundle).verify_dir(&dir).unwrap();
/// let first = report.first_tampering().unwrap();
/// assert_eq!(first.position.seq, Some(2));
/// assert_eq!(first.kind, FindingKind::BadMac);
/// # std::fs::remove_dir_all(&base).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Verifier {
    public_key: Option<VerifyingKey>,
    mac_key: Option<MacKey>,
    genesis: Option<Genesis>,
    trusted: Vec<Checkpoint>,
    now: Option<Timestamp>,
    clock: Option<Arc<dyn Clock>>,
}

impl Verifier {
    /// A verifier that checks links, sequence, time and epochs; add keys to check more.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything the bundle holds: the public key, the epoch-0 MAC key, and the log's
    /// identity (a log whose genesis record differs is reported).
    #[must_use]
    pub fn bundle(mut self, bundle: &VerifierBundle) -> Self {
        self.public_key = Some(bundle.public_key);
        self.mac_key = Some(bundle.mac_key.duplicate());
        self.genesis = Some(bundle.genesis.clone());
        self
    }

    /// Check checkpoint signatures and the genesis record's key id with this key.
    #[must_use]
    pub fn public_key(mut self, key: VerifyingKey) -> Self {
        self.public_key = Some(key);
        self
    }

    /// Check every record's MAC: the epoch-0 key is stepped forward at each checked seal.
    #[must_use]
    pub fn mac_key(mut self, key: MacKey) -> Self {
        self.mac_key = Some(key);
        self
    }

    /// A checkpoint kept outside the writer's machine (by a witness, or from an earlier
    /// verification): the log must extend it, proved by an RFC 9162 consistency proof. May be
    /// given several times.
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

    /// The clock whose time bounds how far epoch keys are derived (default the system clock;
    /// [`now`](Self::now), when given, is used instead).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    fn time(&self) -> Timestamp {
        self.now.unwrap_or_else(|| match &self.clock {
            Some(c) => c.now(),
            None => SystemClock.now(),
        })
    }

    /// Verifies the log in `dir`, every file in order, from its retention cut if it was pruned.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] when the directory or a file cannot be read, or holds no log. Problems
    /// in the log itself are findings in the report.
    pub fn verify_dir(&self, dir: impl AsRef<Path>) -> Result<Report, VerifyError> {
        let dir = dir.as_ref();
        let all = log_segments(dir)?;
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| VerifyError::Io { path, source }
        };
        let start = prune::start_of(&all, dir).map_err(io_err(dir))?;
        let segments = &all[start..];
        let mut state = State::new(self);
        if segments[0].0 != 0 {
            let path = dir.join(prune::cut_name(segments[0].0));
            let pos = Position {
                file: Some(path.clone()),
                line: 1,
                seq: None,
            };
            match files::read_small(&path) {
                Ok(text) => match Cut::parse(&text) {
                    Some(cut) => state.begin_at_cut(&pos, &cut),
                    None => state.report(
                        &pos,
                        FindingKind::BadCut {
                            reason: "not a valid cut file",
                        },
                    ),
                },
                Err(_) => state.report(
                    &pos,
                    FindingKind::BadCut {
                        reason: "the first records are gone and no cut file says where the log continues",
                    },
                ),
            }
        }
        let count = segments.len();
        for (i, (_, path)) in segments.iter().enumerate() {
            let file = File::open(path).map_err(io_err(path))?;
            state
                .feed(
                    Some(path),
                    BufReader::with_capacity(1 << 16, file),
                    i + 1 == count,
                )
                .map_err(io_err(path))?;
        }
        Ok(state.finish(count))
    }

    /// Verifies a log given as the bytes of its JSON Lines, all files joined in order.
    pub fn verify_bytes(&self, data: &[u8]) -> Report {
        let mut state = State::new(self);
        // Reading from memory cannot fail.
        let _ = state.feed(None, data, true);
        state.finish(1)
    }
}

/// A trusted checkpoint on its way through the log.
struct Trusted<'v> {
    checkpoint: &'v Checkpoint,
    /// Started when the log reaches the checkpoint's size.
    proof: Option<ConsistencyBuilder>,
}

struct State<'v> {
    v: &'v Verifier,
    genesis: Option<Genesis>,
    /// Genesis parameters a verifier may trust: the bundle's, or the log's once its MAC checks.
    trusted_genesis: Option<Genesis>,
    /// The last epoch whose key may be derived (from the trusted genesis and the time).
    max_epoch: Option<u64>,
    start: u64,
    expected_seq: u64,
    prev: Option<Hash>,
    last_time: Option<Timestamp>,
    epoch: u64,
    sealed_through: Option<u64>,
    key: Option<MacKey>,
    key_derivations: u64,
    unreachable: Option<u64>,
    frontier: Frontier,
    records: u64,
    since_seal: u64,
    since_checkpoint: u64,
    last_checkpoint: Option<Checkpoint>,
    trusted: Vec<Trusted<'v>>,
    findings: Vec<Finding>,
    uncounted: u64,
    last_position: Position,
    line: Vec<u8>,
}

impl<'v> State<'v> {
    fn new(v: &'v Verifier) -> Self {
        let mut state = Self {
            v,
            genesis: None,
            trusted_genesis: None,
            max_epoch: None,
            start: 0,
            expected_seq: 0,
            prev: None,
            last_time: None,
            epoch: 0,
            sealed_through: None,
            key: v.mac_key.as_ref().map(MacKey::duplicate),
            key_derivations: 0,
            unreachable: None,
            frontier: Frontier::new(),
            records: 0,
            since_seal: 0,
            since_checkpoint: 0,
            last_checkpoint: None,
            trusted: v
                .trusted
                .iter()
                .map(|checkpoint| Trusted {
                    checkpoint,
                    proof: None,
                })
                .collect(),
            findings: Vec::new(),
            uncounted: 0,
            last_position: Position {
                file: None,
                line: 0,
                seq: None,
            },
            line: Vec::new(),
        };
        if let Some(g) = &v.genesis {
            state.trust_genesis(g.clone());
        }
        state
    }

    fn trust_genesis(&mut self, g: Genesis) {
        let limit = self.v.time().saturating_add(CLOCK_SLACK);
        self.max_epoch = Some(g.epoch_of(limit));
        self.trusted_genesis = Some(g);
    }

    fn report(&mut self, position: &Position, kind: FindingKind) {
        crate::telemetry::finding(&kind);
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                position: position.clone(),
                kind,
            });
        } else {
            self.uncounted += 1;
        }
    }

    /// Starts from a retention cut instead of a genesis record.
    fn begin_at_cut(&mut self, pos: &Position, cut: &Cut) {
        if let Some(pk) = &self.v.public_key
            && !cut.signed_by(pk)
        {
            self.report(
                pos,
                FindingKind::BadCut {
                    reason: "not signed by the checkpoint key",
                },
            );
        }
        let genesis_ok = match &self.key {
            Some(k0) if k0.epoch() == 0 => record::split_mac(cut.genesis_line.as_bytes())
                .is_ok_and(|(content, mac)| k0.check(&content, &mac)),
            _ => true,
        };
        if !genesis_ok {
            self.report(pos, FindingKind::BadMac);
        } else if self.trusted_genesis.is_none() && self.key.is_some() {
            self.trust_genesis(cut.genesis.clone());
        }
        self.check_genesis(pos, &cut.genesis);
        self.genesis = Some(cut.genesis.clone());
        self.start = cut.size;
        self.expected_seq = cut.size;
        self.prev = Some(cut.prev);
        self.frontier = cut.frontier.clone();
        self.last_time = Some(cut.last_time);
        self.epoch = cut.epoch;
        self.sealed_through = cut.epoch.checked_sub(1);
        self.report(
            pos,
            FindingKind::Pruned {
                first: cut.first,
                last: cut.size - 1,
            },
        );
        if genesis_ok {
            self.advance_key(pos, cut.epoch);
        }
        let early: Vec<u64> = self
            .trusted
            .iter()
            .map(|t| t.checkpoint.size())
            .filter(|&s| s < cut.size)
            .collect();
        for size in early {
            self.report(pos, FindingKind::TrustedBeforeCut { size });
        }
    }

    fn feed(&mut self, file: Option<&Path>, reader: impl BufRead, is_last: bool) -> io::Result<()> {
        let mut reader = LineReader::new(reader);
        let mut line = std::mem::take(&mut self.line);
        let mut line_no = 0;
        while let Some(kind) = reader.next_line(&mut line)? {
            line_no += 1;
            let mut position = Position {
                file: file.map(Path::to_path_buf),
                line: line_no,
                seq: None,
            };
            match kind {
                Line::Complete => self.feed_line(&mut position, &line),
                Line::TooLong => self.unreadable(&position, "line too long"),
                Line::Incomplete => {
                    let kind = if is_last {
                        FindingKind::TornLastLine
                    } else {
                        FindingKind::Malformed {
                            reason: "incomplete line in a closed file",
                        }
                    };
                    self.report(&position, kind);
                }
                // The zeros a writer keeps ahead of its records in the file it writes.
                Line::Unwritten if is_last => continue,
                Line::Unwritten => self.report(
                    &position,
                    FindingKind::Malformed {
                        reason: "NUL bytes at the end of a closed file",
                    },
                ),
            }
            self.last_position = position;
        }
        self.line = line;
        Ok(())
    }

    /// A line that is no record: reported, and counted so later positions and checkpoint sizes
    /// stay aligned.
    fn unreadable(&mut self, pos: &Position, reason: &'static str) {
        self.start_trusted_proofs();
        self.report(pos, FindingKind::Malformed { reason });
        self.push_leaf([0; 32]);
        self.prev = None;
        self.expected_seq += 1;
        self.records += 1;
    }

    fn push_leaf(&mut self, hash: Hash) {
        self.frontier.push(hash);
        for t in &mut self.trusted {
            if let Some(b) = &mut t.proof {
                b.push(hash);
            }
        }
    }

    /// Snapshots the tree for every trusted checkpoint of exactly the size read so far.
    fn start_trusted_proofs(&mut self) {
        let size = self.frontier.size();
        for t in &mut self.trusted {
            if t.proof.is_none() && t.checkpoint.size() == size {
                t.proof = Some(ConsistencyBuilder::new(self.frontier.clone()));
            }
        }
    }

    fn feed_line(&mut self, pos: &mut Position, line: &[u8]) {
        self.start_trusted_proofs();
        let rec = match record::parse(line) {
            Ok(rec) => rec,
            Err(reason) => return self.unreadable(pos, reason),
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
                    self.check_genesis(pos, g);
                    self.genesis = Some(g.clone());
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
            Body::Checkpoint(cp) => {
                let cp = self.genesis.as_ref().map(|g| cp.resolve(g));
                self.check_checkpoint(pos, &rec, cp);
            }
            Body::Event(_) => {}
        }
        if self.records == 0 && self.start == 0 && !matches!(rec.body, Body::Genesis(_)) {
            self.report(pos, FindingKind::BadGenesis);
        }
        if !matches!(rec.body, Body::Seal { .. }) {
            self.since_seal += 1;
        }
        if !matches!(rec.body, Body::Checkpoint(_)) {
            self.since_checkpoint += 1;
        }
        self.push_leaf(rec.hash);
        self.prev = Some(rec.hash);
        self.expected_seq = rec.seq.saturating_add(1);
        self.records += 1;
    }

    /// The genesis record (or the cut's copy) against the bundle and the public key.
    fn check_genesis(&mut self, pos: &Position, g: &Genesis) {
        if let Some(expected) = &self.v.genesis
            && expected != g
        {
            self.report(pos, FindingKind::BadGenesis);
        }
        if let Some(pk) = &self.v.public_key
            && pk.note_key_id(&g.origin) != g.key_id
        {
            self.report(pos, FindingKind::WrongKey);
        }
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
        let expected_prev = if self.records == 0 && self.start == 0 {
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
        let Some(key) = &self.key else { return };
        if rec.epoch != key.epoch() {
            // Keys move only forward, through checked seals: a record in another epoch is
            // reported here once per epoch when nothing else explains it.
            if rec.epoch == self.epoch && self.unreachable != Some(rec.epoch) {
                self.unreachable = Some(rec.epoch);
                self.report(pos, FindingKind::EpochOutOfReach { found: rec.epoch });
            }
            return;
        }
        let authentic =
            record::split_mac(line).is_ok_and(|(content, mac)| key.check(&content, &mac));
        if !authentic {
            self.report(pos, FindingKind::BadMac);
            return;
        }
        match &rec.body {
            Body::Genesis(g) if rec.seq == 0 && self.trusted_genesis.is_none() => {
                self.trust_genesis(g.clone());
            }
            Body::Seal { through } if *through >= rec.epoch => {
                self.advance_key(pos, through.saturating_add(1));
            }
            _ => {}
        }
    }

    /// Steps the key forward to `epoch`, if the trusted genesis and the time allow it.
    fn advance_key(&mut self, pos: &Position, epoch: u64) {
        let Some(key) = &self.key else { return };
        if epoch <= key.epoch() {
            return;
        }
        let steps = epoch - key.epoch();
        if steps > MAX_EPOCH_STEP || self.max_epoch.is_none_or(|max| epoch > max) {
            self.unreachable = Some(epoch);
            self.report(pos, FindingKind::EpochOutOfReach { found: epoch });
            return;
        }
        self.key = Some(key.derive_forward(steps));
        self.key_derivations += steps;
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

    fn check_checkpoint(&mut self, pos: &Position, rec: &Record, cp: Option<Checkpoint>) {
        let Some(cp) = cp else {
            self.report(pos, FindingKind::BadGenesis);
            return;
        };
        if cp.size() != rec.seq
            || cp.size() != self.frontier.size()
            || cp.root() != self.frontier.root()
        {
            self.report(pos, FindingKind::CheckpointMismatch { size: cp.size() });
        }
        if let Some(pk) = &self.v.public_key
            && cp.verify(pk).is_err()
        {
            self.report(pos, FindingKind::BadCheckpointSignature { size: cp.size() });
        }
        self.since_checkpoint = 0;
        self.last_checkpoint = Some(cp);
    }

    #[allow(
        clippy::too_many_lines,
        reason = "every end-of-log finding in report order, one after the other"
    )]
    fn finish(mut self, files: usize) -> Report {
        let end = Position {
            seq: None,
            ..self.last_position.clone()
        };
        self.start_trusted_proofs();
        let size = self.frontier.size();
        let root = self.frontier.root();
        let origin = self.genesis.as_ref().map(|g| g.origin.clone());
        let mut anchored: Option<u64> = None;
        let trusted = std::mem::take(&mut self.trusted);
        for t in &trusted {
            let cp = t.checkpoint;
            if origin.as_ref().is_some_and(|o| o != cp.origin()) {
                self.report(&end, FindingKind::TrustedFromOtherLog);
                continue;
            }
            if let Some(pk) = &self.v.public_key
                && cp.verify(pk).is_err()
            {
                self.report(
                    &end,
                    FindingKind::BadCheckpointSignature { size: cp.size() },
                );
                continue;
            }
            if cp.size() < self.start {
                continue; // reported as TrustedBeforeCut at the start
            }
            if cp.size() > size {
                self.report(
                    &end,
                    FindingKind::TruncatedBelowTrusted {
                        trusted_size: cp.size(),
                        found: size,
                    },
                );
                continue;
            }
            let proved = t
                .proof
                .as_ref()
                .and_then(ConsistencyBuilder::proof)
                .is_some_and(|p| p.verify(&cp.root(), &root).is_ok());
            if proved {
                anchored = anchored.max(Some(cp.size()));
            } else {
                self.report(&end, FindingKind::ForkedFromTrusted { size: cp.size() });
            }
        }
        if self.records == 0 && self.start == 0 {
            self.report(&end, FindingKind::BadGenesis);
        }
        if let (Some(now), Some(g)) = (self.v.now, &self.genesis) {
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
        let from = anchored.unwrap_or(self.start).max(self.start);
        if size > from {
            self.report(
                &end,
                FindingKind::NotAnchored {
                    from,
                    records: size - from,
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
            root,
            macs_checked: self.v.mac_key.is_some(),
            signatures_checked: self.v.public_key.is_some(),
            key_derivations: self.key_derivations,
            anchored,
            start: self.start,
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
    let all = log_segments(dir)?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VerifyError::Io { path, source }
    };
    let start = prune::start_of(&all, dir).map_err(io_err(dir))?;
    let mut genesis = None;
    if all[start].0 != 0 {
        let path = dir.join(prune::cut_name(all[start].0));
        let cut = files::read_small(&path)
            .ok()
            .and_then(|t| Cut::parse(&t))
            .ok_or(VerifyError::Malformed {
                file: path.clone(),
                line: 1,
                reason: "not a valid cut file",
            })?;
        genesis = Some(cut.genesis);
    }
    let mut out = Vec::new();
    let mut line = Vec::new();
    for (_, path) in &all[start..] {
        let file = File::open(path).map_err(io_err(path))?;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 16, file));
        let mut line_no = 0;
        while let Some(kind) = reader.next_line(&mut line).map_err(io_err(path))? {
            line_no += 1;
            let malformed = |reason| VerifyError::Malformed {
                file: path.clone(),
                line: line_no,
                reason,
            };
            match kind {
                Line::Incomplete | Line::Unwritten => break,
                Line::TooLong => return Err(malformed("line too long")),
                Line::Complete => {}
            }
            let mut rec = record::parse(&line).map_err(malformed)?;
            match &rec.body {
                Body::Genesis(g) => genesis = Some(g.clone()),
                Body::Checkpoint(cp) => rec.resolved = genesis.as_ref().map(|g| cp.resolve(g)),
                _ => {}
            }
            out.push(rec);
        }
    }
    Ok(out)
}

/// The Merkle tree over `records`, for inclusion and consistency proofs (of a log never
/// pruned: leaf `i` is the `i`-th record given).
///
/// ```
/// # use palisade_audit::{AuditLog, Event};
/// # let dir = std::env::temp_dir().join(format!("palisade-audit-doc-tree-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let mut log = AuditLog::builder(&dir)
///     .create_with(|_bundle| Ok(())) // a real log keeps its bundle: see `create`
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
pub fn tree_of(records: &[Record]) -> crate::merkle::Tree {
    let mut tree = crate::merkle::Tree::new();
    for r in records {
        tree.push(r.hash);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::FindingKind as K;
    use crate::Timestamp;

    /// Metric labels and log fields: every `FindingKind` has its own `snake_case` name
    /// (`as_str`'s match names every variant, so a new one cannot be forgotten there).
    #[test]
    fn finding_kind_names_are_distinct_snake_case() {
        let t = Timestamp::from_unix_millis(0);
        let kinds = [
            K::Malformed { reason: "x" },
            K::TornLastLine,
            K::BadGenesis,
            K::WrongKey,
            K::BrokenChain,
            K::BadMac,
            K::SequenceGap {
                expected: 1,
                found: 2,
            },
            K::TimeWentBackwards {
                previous: t,
                found: t,
            },
            K::MissingEpoch {
                expected: 1,
                found: 2,
            },
            K::EpochAfterSeal {
                expected: 1,
                found: 2,
            },
            K::EpochOutOfReach { found: 1 },
            K::BadCut { reason: "x" },
            K::Pruned { first: 1, last: 2 },
            K::TrustedBeforeCut { size: 1 },
            K::NotAnchored {
                from: 1,
                records: 2,
            },
            K::CheckpointMismatch { size: 1 },
            K::BadCheckpointSignature { size: 1 },
            K::TrustedFromOtherLog,
            K::TruncatedBelowTrusted {
                trusted_size: 1,
                found: 2,
            },
            K::ForkedFromTrusted { size: 1 },
            K::Stale {
                log_epoch: 1,
                now_epoch: 2,
            },
            K::UnsealedTail { records: 1 },
            K::UncheckpointedTail { records: 1 },
        ];
        let names: std::collections::BTreeSet<_> = kinds.iter().map(K::as_str).collect();
        assert_eq!(names.len(), kinds.len());
        for name in names {
            assert!(
                !name.is_empty()
                    && !name.starts_with('_')
                    && !name.ends_with('_')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }
}
