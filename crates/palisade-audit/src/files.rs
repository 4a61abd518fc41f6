//! The log's directory: segment files named by their first sequence number, the writer's key
//! files, private-file creation, atomic replacement, directory syncs and a bounded line reader.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufRead, Read, Write},
    path::{Path, PathBuf},
};

use zeroize::Zeroizing;

use crate::{error::OpenError, hex, keys::MacKey, record::MAX_LINE_BYTES};

const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";
pub(crate) const KEY_FILE: &str = "epoch.key";
/// The checkpoint signing key, when the log keeps it in its directory.
pub(crate) const SIGNING_KEY_FILE: &str = "checkpoint.key";
const KEY_HEADER: &str = "palisade-audit epoch key v1";
/// The longest key, bundle or note file read.
const MAX_SMALL_FILE: u64 = 64 * 1024;

/// `audit-<first seq, 20 digits>.jsonl`.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{PREFIX}{first_seq:020}{SUFFIX}")
}

/// The files in `dir` named `<prefix><20 digits><suffix>`, with the number, in order.
pub(crate) fn numbered(dir: &Path, prefix: &str, suffix: &str) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(num) = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(suffix))
        else {
            continue;
        };
        if num.len() == 20
            && num.bytes().all(|b| b.is_ascii_digit())
            && let Ok(seq) = num.parse::<u64>()
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The segment files in `dir`, with the sequence number their names give, in order.
pub(crate) fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    numbered(dir, PREFIX, SUFFIX)
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
thread_local! {
    /// Every directory this thread synced, in order: the test seam for "the directory is synced".
    pub(crate) static SYNCED_DIRS: std::cell::RefCell<Vec<PathBuf>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Makes a directory entry (a new, renamed or removed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(test)]
    SYNCED_DIRS.with(|s| s.borrow_mut().push(dir.to_path_buf()));
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates a new file for writing, readable and writable by its owner only; fails if it
/// exists.
pub(crate) fn create_new_private(path: &Path) -> io::Result<File> {
    private_options().write(true).create_new(true).open(path)
}

/// Writes `bytes` to a new private file (never over an existing one) and syncs it and its
/// directory.
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = private_options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    sync_dir(parent_of(path))
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `dir/name` atomically with `bytes`: a new private file, synced, renamed over the
/// old, directory synced. A crash leaves the old file or the new one, never a mixture.
pub(crate) fn replace_private(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, &path)?;
    sync_dir(dir)
}

/// Reads a small text file (a key, a bundle, a note), refusing more than 64 KiB.
pub(crate) fn read_small(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    File::open(path)?
        .take(MAX_SMALL_FILE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SMALL_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "larger than 64 KiB",
        ));
    }
    Ok(text)
}

/// Replaces the key file atomically. The old key's bytes are gone from the file system's view
/// once the rename is durable (the storage below may keep old blocks; see the threat model).
pub(crate) fn save_key(dir: &Path, log_id: &[u8; 16], key: &MacKey) -> Result<(), OpenError> {
    save_key_staging(dir, log_id, key, None)
}

/// Replaces the key file atomically with `key` and, when given, the seal record that ends the
/// epoch before it (`seal <record>` on a fifth line): the record carries its MAC under the old key,
/// which is then needed nowhere, and is appended to the log at the next open if a crash kept
/// it out.
pub(crate) fn save_key_staging(
    dir: &Path,
    log_id: &[u8; 16],
    key: &MacKey,
    staged_seal: Option<&str>,
) -> Result<(), OpenError> {
    use secrecy::ExposeSecret;
    let mut text = Zeroizing::new(format!(
        "{KEY_HEADER}\n{}\n{}\n{}\n",
        hex::encode(log_id),
        key.epoch(),
        Zeroizing::new(hex::encode(key.expose_secret())).as_str()
    ));
    if let Some(seal) = staged_seal {
        text.push_str("seal ");
        text.push_str(seal);
        text.push('\n');
    }
    replace_private(dir, KEY_FILE, text.as_bytes()).map_err(io_err(&dir.join(KEY_FILE)))
}

/// What the key file holds: the log id, the current epoch's key, and a seal record staged
/// for the log (see [`save_key_staging`]).
pub(crate) struct KeyFile {
    pub(crate) log_id: [u8; 16],
    pub(crate) key: MacKey,
    pub(crate) staged_seal: Option<String>,
}

/// Reads the key file.
pub(crate) fn load_key(dir: &Path) -> Result<KeyFile, OpenError> {
    let path = dir.join(KEY_FILE);
    let bad = |reason| OpenError::KeyFile {
        path: path.clone(),
        reason,
    };
    let text = Zeroizing::new(read_small(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            bad("the epoch key file is missing")
        } else {
            bad("the epoch key file cannot be read")
        }
    })?);
    let mut lines = text.lines();
    if lines.next() != Some(KEY_HEADER) {
        return Err(bad("not a palisade-audit epoch key file"));
    }
    let log_id = lines
        .next()
        .and_then(hex::decode::<16>)
        .ok_or_else(|| bad("no valid log id"))?;
    let epoch = lines
        .next()
        .and_then(|l| l.parse::<u64>().ok())
        .ok_or_else(|| bad("no valid epoch"))?;
    let bytes = Zeroizing::new(
        lines
            .next()
            .and_then(hex::decode::<32>)
            .ok_or_else(|| bad("no valid key"))?,
    );
    let staged_seal = match lines.next() {
        None => None,
        Some(line) => Some(
            line.strip_prefix("seal ")
                .filter(|record| !record.is_empty())
                .ok_or_else(|| bad("an unknown line after the key"))?
                .to_owned(),
        ),
    };
    if lines.next().is_some() {
        return Err(bad("an unknown line after the key"));
    }
    Ok(KeyFile {
        log_id,
        key: MacKey::at_epoch(epoch, *bytes),
        staged_seal,
    })
}

/// What [`LineReader::next_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, now in the buffer without its newline.
    Complete,
    /// A line longer than [`MAX_LINE_BYTES`]: skipped, the buffer left empty.
    TooLong,
    /// Bytes after the last newline: an incomplete last line, in the buffer unless too long.
    Incomplete,
    /// Nothing but NUL bytes after the last newline: space the writer wrote ahead of its
    /// records and has not written over yet (see [`crate::segment`]). The buffer is left empty.
    Unwritten,
}

/// Reads lines of at most [`MAX_LINE_BYTES`] (newline included) in constant memory: a longer
/// line is skipped, never buffered.
pub(crate) struct LineReader<R> {
    inner: R,
    offset: u64,
    line_start: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            line_start: 0,
        }
    }

    /// Where the line last returned starts, in bytes from the start of the input.
    pub(crate) fn line_start(&self) -> u64 {
        self.line_start
    }

    /// Reads the next line into `buf` (cleared first); `None` at the end of the input.
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
        buf.clear();
        self.line_start = self.offset;
        let mut too_long = false;
        let mut any = false;
        let mut zeros = true;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if any && zeros {
                    buf.clear();
                    return Ok(Some(Line::Unwritten));
                }
                return Ok(any.then_some(Line::Incomplete));
            }
            any = true;
            let newline = memchr::memchr(b'\n', available);
            let chunk = &available[..newline.unwrap_or(available.len())];
            zeros = zeros && chunk.iter().all(|&b| b == 0);
            if !too_long {
                if buf.len() + chunk.len() >= MAX_LINE_BYTES {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.inner.consume(used);
            self.offset += used as u64;
            if newline.is_some() {
                return Ok(Some(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_torn_tails_seen() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut data = b"a\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\nbc\nd");
        let mut r = LineReader::new(io::BufReader::with_capacity(64, &data[..]));
        let mut buf = Vec::new();
        assert_eq!(r.next_line(&mut buf).unwrap(), Some(Line::Complete));
        assert_eq!(buf, b"a");
        assert_eq!(r.next_line(&mut buf).unwrap(), Some(Line::TooLong));
        assert!(buf.is_empty());
        assert_eq!(r.next_line(&mut buf).unwrap(), Some(Line::Complete));
        assert_eq!(
            (buf.as_slice(), r.line_start()),
            (&b"bc"[..], 2 + long.len() as u64 + 1)
        );
        assert_eq!(r.next_line(&mut buf).unwrap(), Some(Line::Incomplete));
        assert_eq!(buf, b"d");
        assert_eq!(r.next_line(&mut buf).unwrap(), None);
    }

    /// A tail of NUL bytes after the last newline, however long, is unwritten space; NULs
    /// after other bytes, or before a newline, are not.
    #[test]
    fn a_tail_of_nul_bytes_is_unwritten_space() {
        let read_all = |data: &[u8]| {
            let mut r = LineReader::new(io::BufReader::with_capacity(64, data));
            let mut buf = Vec::new();
            let mut kinds = Vec::new();
            while let Some(kind) = r.next_line(&mut buf).unwrap() {
                kinds.push((kind, r.line_start()));
            }
            kinds
        };
        let mut data = b"a\n".to_vec();
        data.resize(2 + MAX_LINE_BYTES + 10, 0);
        assert_eq!(read_all(&data), [(Line::Complete, 0), (Line::Unwritten, 2)]);
        assert_eq!(
            read_all(b"a\nb\0\0\0"),
            [(Line::Complete, 0), (Line::Incomplete, 2)]
        );
        assert_eq!(
            read_all(b"a\n\0\0x"),
            [(Line::Complete, 0), (Line::Incomplete, 2)]
        );
        assert_eq!(
            read_all(b"a\n\0\0\n\0"),
            [
                (Line::Complete, 0),
                (Line::Complete, 2),
                (Line::Unwritten, 5)
            ]
        );
    }
}
