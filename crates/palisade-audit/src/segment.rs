//! The segment file being written, and the zeros written ahead of its records.
//!
//! A sync after writes that grew a file must also write the file's new length (and on a
//! journaling file system commit a transaction for it). Records written over zeros already in
//! the file leave its length alone, so a group commit's `fdatasync` writes the records' pages
//! and nothing else. `examples/sync_cost.rs` measures it: on the ext4 machine of
//! `docs/benchmarks.md`, 406-byte lines with a sync every 64 took 4.4 to 4.8 µs a line
//! appended (syncs of 206 to 233 µs) and 3.1 to 3.5 µs written over zeros (syncs of 118 to
//! 137 µs), the zeros' own writing and syncing counted. The same reason has database servers fill
//! their write-ahead log files with zeros before use.
//!
//! So while a log is open its last segment holds its records, then zeros: up to
//! [`DEFAULT_PREALLOCATE`] bytes (`AuditLogBuilder::preallocate`), written ahead of the records
//! a page per `write`. One large write would leave the range in large page-cache folios, and
//! every later small write into one walks all of the folio's blocks (1.2 µs a line became
//! 2.3 µs). Dropping the log, or moving on to the next segment, cuts the zeros away, so a segment
//! at rest ends with its last record. After a crash the zeros are still there: readers take a
//! tail of NUL bytes for space not yet written
//! ([`Line::Unwritten`](crate::files::Line::Unwritten)), and `open` writes over it.

use std::{
    fs::File,
    io::{self, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use crate::files;

/// How many bytes of zeros the writer keeps ahead of its records by default: 1 MiB.
pub const DEFAULT_PREALLOCATE: u64 = 1 << 20;

/// The unit zeros are written in.
const PAGE: usize = 4096;

static ZEROS: [u8; PAGE] = [0; PAGE];

/// The segment being written: its records, then zeros written ahead of them.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    file: File,
    path: PathBuf,
    /// Where the records end and the next one goes. The file's cursor stays here.
    len: u64,
    /// The file's length: the records and the zeros after them.
    allocated: u64,
    /// How many bytes of zeros to write ahead at a time; 0 writes none.
    ahead: u64,
    /// The segment's size limit: no zeros are written beyond it.
    limit: u64,
}

impl ActiveSegment {
    /// Creates a new, empty segment (owner-only, see [`files::create_new_private`]).
    pub(crate) fn create(path: PathBuf, ahead: u64, limit: u64) -> io::Result<Self> {
        let file = files::create_new_private(&path)?;
        Ok(Self {
            file,
            path,
            len: 0,
            allocated: 0,
            ahead,
            limit,
        })
    }

    /// Opens an existing segment whose records end at `len`; whatever follows (zeros a
    /// crash left) is written over.
    pub(crate) fn open(path: PathBuf, len: u64, ahead: u64, limit: u64) -> io::Result<Self> {
        let mut file = File::options().write(true).open(&path)?;
        let allocated = file.metadata()?.len().max(len);
        file.seek(SeekFrom::Start(len))?;
        Ok(Self {
            file,
            path,
            len,
            allocated,
            ahead,
            limit,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of records in the segment.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Writes `line` after the last record, in one `write` call once the zeros ahead of it are
    /// in place. Zeros that cannot be written (a disk too full for them) are not a failure:
    /// the segment goes on without them.
    pub(crate) fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let end = self.len + line.len() as u64;
        if end > self.allocated && self.ahead > 0 && self.write_zeros_ahead(end).is_err() {
            self.ahead = 0;
            self.file.seek(SeekFrom::Start(self.len))?;
        }
        self.file.write_all(line)?;
        self.len = end;
        self.allocated = self.allocated.max(end);
        Ok(())
    }

    /// Extends the zeros to cover `end` and `ahead` bytes more (within the segment's
    /// limit), a page at a time, and puts the cursor back after the last record.
    fn write_zeros_ahead(&mut self, end: u64) -> io::Result<()> {
        #[cfg(test)]
        if NO_ROOM_FOR_ZEROS.with(std::cell::Cell::get) {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let page = PAGE as u64;
        let wanted = (self.allocated + self.ahead).min(self.limit).max(end);
        let target = wanted.div_ceil(page) * page;
        self.file.seek(SeekFrom::Start(self.allocated))?;
        while self.allocated < target {
            // Up to the next page boundary, so every later write stays within one page.
            let n = page - self.allocated % page;
            self.file.write_all(&ZEROS[..n as usize])?;
            self.allocated += n;
        }
        self.file.seek(SeekFrom::Start(self.len))?;
        Ok(())
    }

    /// Makes every record written so far durable (`fdatasync`).
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Cuts the zeros after the last record away and syncs the file, length included: a
    /// closed segment ends with its last record. (Always cut: zeros that failed halfway may
    /// have grown the file past what `allocated` counts.)
    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.file.set_len(self.len)?;
        self.allocated = self.len;
        self.file.sync_all()
    }
}

#[cfg(test)]
thread_local! {
    /// Makes writing zeros fail, as a disk with no room left for them would.
    pub(crate) static NO_ROOM_FOR_ZEROS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "palisade-audit-segment-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Records land one after another, the zeros stay a page-aligned step ahead of them and
    /// within the limit, and trimming leaves exactly the records.
    #[test]
    fn records_go_over_zeros_written_ahead_and_trimming_leaves_only_records() {
        let dir = temp("ahead");
        let path = dir.join("s.jsonl");
        let mut seg = ActiveSegment::create(path.clone(), 10_000, 1 << 20).unwrap();
        seg.write_line(b"{\"a\":1}\n").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 12_288);
        seg.write_line(b"{\"b\":2}\n").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..16], b"{\"a\":1}\n{\"b\":2}\n");
        assert!(bytes[16..].iter().all(|&b| b == 0));
        // A line longer than the zeros ahead gets zeros to cover it first.
        let long = vec![b'x'; 20_000];
        seg.write_line(&long).unwrap();
        assert_eq!(seg.len(), 20_016);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24_576);
        seg.trim().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 20_016);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_zeros_beyond_the_limit_and_none_when_turned_off() {
        let dir = temp("limit");
        let limited = dir.join("limited.jsonl");
        let mut seg = ActiveSegment::create(limited.clone(), 1 << 20, 65_536).unwrap();
        seg.write_line(b"x\n").unwrap();
        assert_eq!(std::fs::metadata(&limited).unwrap().len(), 65_536);
        let off = dir.join("off.jsonl");
        let mut seg = ActiveSegment::create(off.clone(), 0, 65_536).unwrap();
        seg.write_line(b"x\n").unwrap();
        seg.write_line(b"y\n").unwrap();
        assert_eq!(std::fs::read(&off).unwrap(), b"x\ny\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// With no room for zeros, records are still written, one after another, and the
    /// segment writes no more zeros.
    #[test]
    fn a_disk_too_full_for_the_zeros_still_takes_the_records() {
        let dir = temp("full");
        let path = dir.join("s.jsonl");
        let mut seg = ActiveSegment::create(path.clone(), 8192, 1 << 20).unwrap();
        NO_ROOM_FOR_ZEROS.with(|c| c.set(true));
        let written = seg
            .write_line(b"one\n")
            .and_then(|()| seg.write_line(b"two\n"));
        NO_ROOM_FOR_ZEROS.with(|c| c.set(false));
        written.unwrap();
        seg.write_line(b"three\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\nthree\n");
        seg.trim().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\nthree\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Reopened where its records end, a segment writes over the zeros a crash left.
    #[test]
    fn a_reopened_segment_writes_over_the_zeros_after_its_records() {
        let dir = temp("reopen");
        let path = dir.join("s.jsonl");
        let mut seg = ActiveSegment::create(path.clone(), 8192, 1 << 20).unwrap();
        seg.write_line(b"one\n").unwrap();
        drop(seg); // as a crash would leave it: not trimmed
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8192);
        let mut seg = ActiveSegment::open(path.clone(), 4, 8192, 1 << 20).unwrap();
        seg.write_line(b"two\n").unwrap();
        seg.trim().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one\ntwo\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
