//! Retention: removing whole old segments, and the signed record of the cut that lets the rest
//! of the log verify without them.
//!
//! A cut at record `c` is a file `cut-<c, 20 digits>.note` in the log's directory: a C2SP
//! signed note, signed by the checkpoint key under the log's origin, whose text holds
//! everything needed to carry on from record `c`: the first and last record removed, the
//! Merkle root and right edge (frontier) of the tree of records `0..c`, the hash of record
//! `c - 1`, the epoch and the time the log had reached, and the genesis record's line (MAC-ed
//! with the epoch-0 key, so a verifier holding the bundle checks it).

use std::{
    fmt,
    fs::{self, File},
    io::BufReader,
    path::{Path, PathBuf},
    sync::Arc,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{
    checkpoint::{self, Checkpoint, NoteSignature},
    clock::Timestamp,
    error::OpenError,
    files::{self, Line, LineReader},
    hex,
    keys::{CheckpointSigner, SignError, SigningKey, VerifyingKey},
    merkle::{Frontier, Hash},
    record::{self, Body, Genesis},
};

const CUT_PREFIX: &str = "cut-";
const CUT_SUFFIX: &str = ".note";
const CUT_HEADER: &str = "palisade-audit cut v1";

pub(crate) fn cut_name(size: u64) -> String {
    format!("{CUT_PREFIX}{size:020}{CUT_SUFFIX}")
}

/// The state of a log at a retention cut: what its first kept record continues from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cut {
    pub(crate) genesis: Genesis,
    pub(crate) genesis_line: String,
    /// The first record this cut removed (0, or an earlier cut's size).
    pub(crate) first: u64,
    /// Records `0..size` are gone; `size` is the first kept record.
    pub(crate) size: u64,
    pub(crate) frontier: Frontier,
    /// The hash of record `size - 1`, which record `size` links to.
    pub(crate) prev: Hash,
    /// The epoch record `size` is in: one past the last seal before the cut.
    pub(crate) epoch: u64,
    pub(crate) last_time: Timestamp,
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Cut {
    fn text_of(&self) -> String {
        let mut text = format!(
            "{CUT_HEADER}\norigin {}\nfirst {}\nlast {}\nsize {}\nroot {}\nprev {}\nepoch {}\ntime {}\n",
            self.genesis.origin,
            self.first,
            self.size.saturating_sub(1),
            self.size,
            STANDARD.encode(self.frontier.root()),
            hex::encode(&self.prev),
            self.epoch,
            self.last_time,
        );
        for h in self.frontier.hashes() {
            text.push_str("frontier ");
            text.push_str(&STANDARD.encode(h));
            text.push('\n');
        }
        text.push_str("genesis ");
        text.push_str(&self.genesis_line);
        text.push('\n');
        text
    }

    /// The root of records `0..size`.
    pub(crate) fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Whether `key` signed it under the log's origin.
    pub(crate) fn signed_by(&self, key: &VerifyingKey) -> bool {
        checkpoint::note_signed_by(&self.text, &self.signatures, &self.genesis.origin, key)
    }

    pub(crate) fn to_note(&self) -> String {
        checkpoint::join_note(&self.text, &self.signatures)
    }

    /// Parses a cut note; `None` unless every field is there and the frontier matches the size.
    pub(crate) fn parse(note: &str) -> Option<Self> {
        let (text, signatures) = checkpoint::split_note(note)?;
        let mut lines = text.lines();
        if lines.next()? != CUT_HEADER {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .map(str::to_owned)
        };
        let origin = field("origin")?;
        let first = field("first")?.parse::<u64>().ok()?;
        let _last = field("last")?;
        let size = field("size")?.parse::<u64>().ok()?;
        let root: Hash = STANDARD.decode(field("root")?).ok()?.try_into().ok()?;
        let prev = hex::decode::<32>(&field("prev")?)?;
        let epoch = field("epoch")?.parse::<u64>().ok()?;
        let last_time = Timestamp::parse(&field("time")?)?;
        let mut hashes = Vec::new();
        let mut genesis_line = None;
        for line in lines {
            if let Some(h) = line.strip_prefix("frontier ") {
                hashes.push(STANDARD.decode(h).ok()?.try_into().ok()?);
            } else if let Some(g) = line.strip_prefix("genesis ") {
                genesis_line = Some(g.to_owned());
            } else {
                return None;
            }
        }
        let genesis_line = genesis_line?;
        let rec = record::parse(genesis_line.as_bytes()).ok()?;
        let Body::Genesis(genesis) = rec.body else {
            return None;
        };
        let frontier = Frontier::from_parts(size, &hashes)?;
        let cut = Self {
            genesis,
            genesis_line,
            first,
            size,
            frontier,
            prev,
            epoch,
            last_time,
            text: text.to_owned(),
            signatures,
        };
        let consistent = cut.genesis.origin == origin
            && cut.root() == root
            && first < size
            && cut.text_of() == text;
        consistent.then_some(cut)
    }

    /// The cut the log in `dir` starts from, given its first segment's sequence number.
    pub(crate) fn load(dir: &Path, first_seq: u64) -> Result<Self, OpenError> {
        let path = dir.join(cut_name(first_seq));
        let bad = |reason| OpenError::Cut {
            path: path.clone(),
            reason,
        };
        let text = files::read_small(&path).map_err(|_| {
            bad("the log's first records were removed and no cut file records where it continues")
        })?;
        let cut = Self::parse(&text).ok_or_else(|| bad("not a valid cut file"))?;
        if cut.size != first_seq {
            return Err(bad("the cut file does not match the first segment"));
        }
        Ok(cut)
    }
}

/// The first segment to read: the log's first, or the first after the newest cut whose
/// segment is there (segments before it are left over from an interrupted prune).
pub(crate) fn start_of(segments: &[(u64, PathBuf)], dir: &Path) -> std::io::Result<usize> {
    let cuts = files::numbered(dir, CUT_PREFIX, CUT_SUFFIX)?;
    for (size, _) in cuts.iter().rev() {
        if let Some(i) = segments.iter().position(|(s, _)| s == size) {
            return Ok(i);
        }
    }
    Ok(0)
}

/// Why a prune did not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PruneError {
    /// The log could not be read, or is damaged.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// No exported checkpoint was given: nothing may be removed that no one outside holds.
    #[error(
        "no exported checkpoint: export one (and hand it to a witness) before removing records"
    )]
    NoExportedCheckpoint,
    /// An exported checkpoint is not this log's, or the log no longer matches it.
    #[error("checkpoint of size {size} is not this log's, or the log does not extend it")]
    ForeignCheckpoint {
        /// Its size.
        size: u64,
    },
    /// A file could not be written or removed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pruned {
    /// How many segment files were removed.
    pub files_removed: usize,
    /// The records removed, `first..=last`, if any.
    pub removed: Option<(u64, u64)>,
    /// Why the next segment was kept, if one could have been a candidate.
    pub kept_because: Option<KeptBecause>,
}

/// Why a prune kept a segment it was asked to consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeptBecause {
    /// It holds a record at or after the date.
    TooRecent,
    /// It holds a record of an epoch not yet sealed.
    Unsealed,
    /// It holds a record after the newest exported checkpoint.
    AfterExportedCheckpoint {
        /// That checkpoint's size.
        size: u64,
    },
    /// It is the segment being written.
    Active,
}

impl fmt::Display for KeptBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooRecent => f.write_str("it holds records at or after the date"),
            Self::Unsealed => f.write_str("it holds records of an epoch not yet sealed"),
            Self::AfterExportedCheckpoint { size } => write!(
                f,
                "it holds records after the newest exported checkpoint (size {size})"
            ),
            Self::Active => f.write_str("it is the segment being written"),
        }
    }
}

/// One segment as a prune sees it.
struct SegmentInfo {
    path: PathBuf,
    first: u64,
    /// One past its last record.
    end: u64,
    newest: Timestamp,
    max_epoch: u64,
    /// The state after its last record.
    frontier: Frontier,
    prev: Hash,
    epoch: u64,
    last_time: Timestamp,
}

/// Removes the whole segment files, oldest first, that are sealed, hold only records older
/// than `before`, and end at or before the newest of the `exported` checkpoints (each must be
/// this log's, signed by its key and extended by the log); the segment being written is never
/// removed. Leaves a cut file signed by the checkpoint key (the log's own, from its directory,
/// unless `signer` is given) from which the rest of the log verifies.
///
/// Crash-safe: the cut file is written (atomically) before any segment is removed, readers
/// start from the newest cut whose segment exists, and running the same prune again finishes
/// an interrupted one. Stop the log's writer first, or run it where the writer runs: a prune
/// never touches the segment being written or the writer's keys.
///
/// # Errors
///
/// [`PruneError`]: no exported checkpoint, one that is not this log's, a damaged log or an I/O
/// failure. Nothing is removed then.
#[allow(
    clippy::too_many_lines,
    reason = "one crash-safe sequence: check, decide, write the cut, remove; split, its order would be harder to see"
)]
pub fn prune(
    dir: impl AsRef<Path>,
    before: Timestamp,
    exported: &[Checkpoint],
    signer: Option<Arc<dyn CheckpointSigner>>,
) -> Result<Pruned, PruneError> {
    let dir = dir.as_ref();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PruneError::Io { path, source }
    };
    let signer: Arc<dyn CheckpointSigner> = match signer {
        Some(s) => s,
        None => Arc::new(
            SigningKey::read_file(dir.join(files::SIGNING_KEY_FILE)).map_err(OpenError::from)?,
        ),
    };
    let public = signer.verifying_key();
    let all = files::segments(dir).map_err(io(dir))?;
    if all.is_empty() {
        return Err(OpenError::NotFound(dir.to_path_buf()).into());
    }
    let start = start_of(&all, dir).map_err(io(dir))?;
    let segments = &all[start..];
    let cut = if segments[0].0 == 0 {
        None
    } else {
        let cut = Cut::load(dir, segments[0].0)?;
        if !cut.signed_by(&public) {
            return Err(OpenError::Cut {
                path: dir.join(cut_name(cut.size)),
                reason: "the cut file is not signed by this log's checkpoint key",
            }
            .into());
        }
        Some(cut)
    };
    let (infos, genesis, genesis_line, sealed_through) = scan(segments, cut.as_ref())?;
    // The newest exported checkpoint this log extends bounds what may go.
    let mut limit = None;
    for cp in exported {
        if cp.origin() != genesis.origin || cp.verify(&public).is_err() {
            return Err(PruneError::ForeignCheckpoint { size: cp.size() });
        }
        let start = cut.as_ref().map_or(0, |c| c.size);
        if cp.size() < start {
            continue;
        }
        let matches = infos
            .iter()
            .any(|i| i.end == cp.size() && i.frontier.root() == cp.root())
            || root_at(segments, cut.as_ref(), cp.size())? == Some(cp.root());
        if !matches {
            return Err(PruneError::ForeignCheckpoint { size: cp.size() });
        }
        limit = limit.max(Some(cp.size()));
    }
    let limit = limit.ok_or(PruneError::NoExportedCheckpoint)?;
    let mut removable = 0;
    let mut kept_because = None;
    for (i, info) in infos.iter().enumerate() {
        let why = if i + 1 == infos.len() {
            Some(KeptBecause::Active)
        } else if info.newest >= before {
            Some(KeptBecause::TooRecent)
        } else if sealed_through.is_none_or(|t| info.max_epoch > t) {
            Some(KeptBecause::Unsealed)
        } else if info.end > limit {
            Some(KeptBecause::AfterExportedCheckpoint { size: limit })
        } else {
            None
        };
        if let Some(why) = why {
            kept_because = Some(why);
            break;
        }
        removable += 1;
    }
    // Leftovers of an interrupted prune go first, whatever is decided now.
    let mut files_removed = 0;
    for (_, path) in &all[..start] {
        fs::remove_file(path).map_err(io(path))?;
        files_removed += 1;
    }
    if removable == 0 {
        if files_removed > 0 {
            files::sync_dir(dir).map_err(io(dir))?;
        }
        return Ok(Pruned {
            files_removed,
            removed: None,
            kept_because,
        });
    }
    let last = &infos[removable - 1];
    let first = cut.as_ref().map_or(0, |c| c.size);
    let mut new_cut = Cut {
        genesis: genesis.clone(),
        genesis_line,
        first,
        size: last.end,
        frontier: last.frontier.clone(),
        prev: last.prev,
        epoch: last.epoch,
        last_time: last.last_time,
        text: String::new(),
        signatures: Vec::new(),
    };
    new_cut.text = new_cut.text_of();
    new_cut.signatures = vec![NoteSignature::sign(
        &genesis.origin,
        &new_cut.text,
        signer.as_ref(),
    )?];
    let name = cut_name(new_cut.size);
    files::replace_private(dir, &name, new_cut.to_note().as_bytes())
        .map_err(io(&dir.join(&name)))?;
    for info in &infos[..removable] {
        fs::remove_file(&info.path).map_err(io(&info.path))?;
        files_removed += 1;
    }
    files::sync_dir(dir).map_err(io(dir))?;
    for (size, path) in files::numbered(dir, CUT_PREFIX, CUT_SUFFIX).map_err(io(dir))? {
        if size < new_cut.size {
            fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    files::sync_dir(dir).map_err(io(dir))?;
    Ok(Pruned {
        files_removed,
        removed: Some((first, new_cut.size - 1)),
        kept_because,
    })
}

type ScanResult = (Vec<SegmentInfo>, Genesis, String, Option<u64>);

/// Reads every segment from the start (or the cut), checking syntax, sequence and links, and
/// notes each segment's state at its end.
fn scan(segments: &[(u64, PathBuf)], cut: Option<&Cut>) -> Result<ScanResult, OpenError> {
    let mut genesis = cut.map(|c| (c.genesis.clone(), c.genesis_line.clone()));
    let mut seq = cut.map_or(0, |c| c.size);
    let mut prev = cut.map_or([0; 32], |c| c.prev);
    let mut frontier = cut.map_or_else(Frontier::new, |c| c.frontier.clone());
    let mut epoch = cut.map_or(0, |c| c.epoch);
    let mut last_time = cut.map_or(Timestamp::from_unix_millis(0), |c| c.last_time);
    let mut sealed_through = cut.and_then(|c| c.epoch.checked_sub(1));
    let mut infos = Vec::new();
    let mut line = Vec::new();
    for (first, path) in segments {
        let damaged = |line: u64, reason: &str| OpenError::Damaged {
            file: path.clone(),
            line,
            reason: reason.to_owned(),
        };
        if *first != seq {
            return Err(damaged(1, "the file does not continue the one before it"));
        }
        let file = File::open(path).map_err(files::io_err(path))?;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 16, file));
        let (mut newest, mut max_epoch, mut line_no) = (Timestamp::from_unix_millis(0), 0, 0);
        while let Some(kind) = reader.next_line(&mut line).map_err(files::io_err(path))? {
            line_no += 1;
            if kind != Line::Complete {
                // A torn tail of the last segment is the writer's to cut; it is never pruned.
                break;
            }
            let rec = record::parse(&line).map_err(|r| damaged(line_no, r))?;
            if rec.seq != seq || rec.prev != prev {
                return Err(damaged(line_no, "does not link to the record before it"));
            }
            match &rec.body {
                Body::Genesis(g) if genesis.is_none() => {
                    genesis = Some((g.clone(), String::from_utf8_lossy(&line).into_owned()));
                }
                Body::Genesis(_) => return Err(damaged(line_no, "a second genesis record")),
                Body::Seal { through } => {
                    sealed_through = Some(*through);
                    epoch = through.saturating_add(1);
                }
                _ => {}
            }
            newest = newest.max(rec.time);
            last_time = last_time.max(rec.time);
            max_epoch = max_epoch.max(rec.epoch);
            prev = rec.hash;
            frontier.push(rec.hash);
            seq += 1;
        }
        infos.push(SegmentInfo {
            path: path.clone(),
            first: *first,
            end: seq,
            newest,
            max_epoch,
            frontier: frontier.clone(),
            prev,
            epoch,
            last_time,
        });
    }
    let (genesis, genesis_line) = genesis.ok_or_else(|| OpenError::Damaged {
        file: segments[0].1.clone(),
        line: 1,
        reason: "no genesis record".to_owned(),
    })?;
    debug_assert!(infos.iter().all(|i| i.first < i.end || i.end == i.first));
    Ok((infos, genesis, genesis_line, sealed_through))
}

/// The root of the first `size` records, reading from the start (or the cut).
fn root_at(
    segments: &[(u64, PathBuf)],
    cut: Option<&Cut>,
    size: u64,
) -> Result<Option<Hash>, OpenError> {
    let mut frontier = cut.map_or_else(Frontier::new, |c| c.frontier.clone());
    if frontier.size() == size {
        return Ok(Some(frontier.root()));
    }
    let mut line = Vec::new();
    for (_, path) in segments {
        let file = File::open(path).map_err(files::io_err(path))?;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 16, file));
        while let Some(Line::Complete) = reader.next_line(&mut line).map_err(files::io_err(path))? {
            let Ok(rec) = record::parse(&line) else {
                return Ok(None);
            };
            frontier.push(rec.hash);
            if frontier.size() == size {
                return Ok(Some(frontier.root()));
            }
        }
    }
    Ok(None)
}
