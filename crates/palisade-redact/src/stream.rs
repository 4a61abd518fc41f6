//! Streaming redaction: whole lines at a time, so a secret split across `write` calls or
//! chunks is seen whole, and PEM private key blocks are held until their END line.

use std::io::{self, Write};

use crate::{detect, redactor::Redactor};

/// Redacts a byte stream line by line, whatever the chunk boundaries.
///
/// Complete lines are redacted as they arrive; a partial line waits for the rest. A line that
/// opens a PEM private key block waits, with the lines after it, for the block's END line (up
/// to `max_pending` bytes; past that the held text is redacted from the BEGIN line on, so a
/// truncated key never leaks). A line longer than `max_pending` with no newline is cut at a
/// space, tab or comma where nothing before the cut can make what follows a secret: a cut is
/// taken only if a value placed right after it would pass through unredacted, so a key, its
/// operator and quotes, or an authorization scheme is never separated from its value. When no
/// such cut is found among the last separators, the rest of that line is dropped and replaced
/// by one `[REDACTED]`: in doubt, nothing leaks. A line with no separator at all is cut at
/// `max_pending`.
///
/// ```
/// use palisade_redact::{LineRedactor, Redactor};
///
/// let mut stream = LineRedactor::new(Redactor::new());
/// let mut out = Vec::new();
/// stream.push(b"user=alice passw", &mut out);
/// stream.push(b"ord=hunter2\nnext line\n", &mut out);
/// stream.finish(&mut out);
/// assert_eq!(out, b"user=alice password=[REDACTED]\nnext line\n");
/// ```
#[derive(Debug, Clone)]
pub struct LineRedactor {
    redactor: Redactor,
    pending: Vec<u8>,
    max_pending: usize,
    /// Inside a private key block whose start was already redacted (the block outgrew
    /// `max_pending`): its remaining lines are dropped up to and including the END line.
    in_block: bool,
    /// An overlong line had no safe cut: its remaining bytes are dropped up to its newline.
    in_unsafe_line: bool,
}

/// How many bytes before a cut are read to decide whether the cut is safe: far more than any
/// key name, operator, quotes and authorization scheme together.
const CUT_CONTEXT: usize = 1024;
/// How many separators, from the last one back, are tried as a cut before failing closed.
const CUT_TRIES: usize = 64;
/// Values placed after a candidate cut: bare and quoted, as a value follows `key=`, `key: `,
/// `"key": ` or `Bearer `. Plain letters and digits that no detector flags on their own.
const CUT_PROBES: [&[u8]; 2] = [b"probevalue42", b"\"probevalue42\""];

impl LineRedactor {
    /// Default bound on held text: 1 MiB.
    pub const DEFAULT_MAX_PENDING: usize = 1 << 20;

    /// A stream redactor with the default bound.
    pub fn new(redactor: Redactor) -> Self {
        Self::with_max_pending(redactor, Self::DEFAULT_MAX_PENDING)
    }

    /// A stream redactor holding at most `max_pending` bytes (at least 4 KiB).
    pub fn with_max_pending(redactor: Redactor, max_pending: usize) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
            max_pending: max_pending.max(4096),
            in_block: false,
            in_unsafe_line: false,
        }
    }

    /// Takes a chunk; appends to `out` every line now complete, redacted.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(chunk);
        self.skip_block_rest();
        self.skip_unsafe_line_rest();
        let (ready, forced_open_block) = self.ready_len();
        if ready == 0 && self.pending.len() > self.max_pending && !self.pending.contains(&b'\n') {
            self.fail_closed(out);
            return;
        }
        if ready > 0 {
            let rest = self.pending.split_off(ready);
            out.extend_from_slice(&self.redactor.redact_bytes(&self.pending));
            self.pending = rest;
            if forced_open_block {
                // The block was redacted to the end of what was released; drop the rest of it.
                self.in_block = true;
                self.skip_block_rest();
            }
        }
    }

    /// The last cut of an overlong line that separates nothing a detector needs, trying the
    /// last [`CUT_TRIES`] separators. `None` when there is none: the caller fails closed.
    fn safe_cut(&self, p: &[u8]) -> Option<usize> {
        let mut end = p.len();
        if memchr::memrchr3(b' ', b'\t', b',', p).is_none() {
            // One unbroken run of bytes: cut at the bound, if that leaves no key behind.
            return self.cut_is_safe(p).then_some(p.len());
        }
        for _ in 0..CUT_TRIES {
            let cut = memchr::memrchr3(b' ', b'\t', b',', &p[..end])? + 1;
            if self.cut_is_safe(&p[..cut]) {
                return Some(cut);
            }
            end = cut - 1;
        }
        None
    }

    /// Whether a value right after `before` would come out unredacted, so nothing in
    /// `before` (within [`CUT_CONTEXT`]) makes what follows the cut a secret.
    fn cut_is_safe(&self, before: &[u8]) -> bool {
        let context = &before[before.len().saturating_sub(CUT_CONTEXT)..];
        // A registered value with a space, tab or comma in it must not be cut at one.
        if self
            .redactor
            .known()
            .is_some_and(|known| known.may_continue(context))
        {
            return false;
        }
        CUT_PROBES.iter().all(|probe| {
            let mut text = Vec::with_capacity(context.len() + probe.len());
            text.extend_from_slice(context);
            text.extend_from_slice(probe);
            self.redactor.redact_bytes(&text).ends_with(probe)
        })
    }

    /// Fails closed on an overlong line with no safe cut: what is held of it is redacted and
    /// released, then the rest of the line up to its newline is replaced by one marker.
    fn fail_closed(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.redactor.redact_bytes(&self.pending));
        out.extend_from_slice(b"[REDACTED]");
        self.pending.clear();
        self.in_unsafe_line = true;
    }

    /// Drops the rest of an overlong line that had no safe cut, through (not including) its
    /// newline.
    fn skip_unsafe_line_rest(&mut self) {
        if !self.in_unsafe_line {
            return;
        }
        match memchr::memchr(b'\n', &self.pending) {
            Some(newline) => {
                self.pending.drain(..newline);
                self.in_unsafe_line = false;
            }
            None => self.pending.clear(),
        }
    }

    /// Drops held lines of a private key block already redacted, through its END line.
    fn skip_block_rest(&mut self) {
        while self.in_block {
            let Some(newline) = memchr::memchr(b'\n', &self.pending) else {
                // No complete line yet; an endless block never grows past the bound.
                if self.pending.len() > self.max_pending {
                    self.pending.clear();
                }
                return;
            };
            if memchr::memmem::find(&self.pending[..newline], b"-----END ").is_some() {
                self.in_block = false;
            }
            self.pending.drain(..=newline);
        }
    }

    /// Ends the stream: appends whatever is held, redacted.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.skip_unsafe_line_rest();
        if !self.in_block && !self.in_unsafe_line {
            out.extend_from_slice(&self.redactor.redact_bytes(&self.pending));
        }
        self.pending.clear();
        self.in_block = false;
        self.in_unsafe_line = false;
    }

    /// How many leading pending bytes can be redacted now, and whether that releases a
    /// private key block without its END line (held text outgrew the bound).
    fn ready_len(&self) -> (usize, bool) {
        let p = &self.pending;
        let Some(last_newline) = memchr::memrchr(b'\n', p) else {
            if p.len() <= self.max_pending {
                return (0, false);
            }
            // An overlong line: cut where no token can continue and no key is left behind.
            return match self.safe_cut(p) {
                Some(cut) => (cut, detect::hold_point(&p[..cut]).is_some()),
                None => (0, false),
            };
        };
        let complete = last_newline + 1;
        match detect::hold_point(&p[..complete]) {
            None => (complete, false),
            // Hold the block's lines back unless that would exceed the bound.
            Some(hold) if p.len() <= self.max_pending => (hold, false),
            Some(_) => (complete, true),
        }
    }
}

/// A [`Write`] adapter that redacts everything written through it, line by line.
///
/// Call [`finish`](Self::finish) at the end of the stream to write the last partial line;
/// dropping the writer does the same, ignoring errors.
///
/// ```
/// use std::io::Write;
/// use palisade_redact::{RedactingWriter, Redactor};
///
/// let mut w = RedactingWriter::new(Vec::new(), Redactor::new());
/// write!(w, "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9")?;
/// write!(w, ".eyJzdWIiOiIxIn0.c2ln\nok\n")?;
/// let out = w.finish()?;
/// assert_eq!(out, b"Authorization: [REDACTED]\nok\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: Option<W>,
    stream: LineRedactor,
    out: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, redactor: Redactor) -> Self {
        Self {
            inner: Some(inner),
            stream: LineRedactor::new(redactor),
            out: Vec::new(),
        }
    }

    /// Writes what is held and returns the inner writer.
    ///
    /// # Errors
    /// The inner writer's error.
    pub fn finish(mut self) -> io::Result<W> {
        self.drain()?;
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("writer already finished"))
    }

    fn drain(&mut self) -> io::Result<()> {
        self.stream.finish(&mut self.out);
        self.write_out()?;
        if let Some(inner) = self.inner.as_mut() {
            inner.flush()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> io::Result<()> {
        if let Some(inner) = self.inner.as_mut() {
            inner.write_all(&self.out)?;
        }
        self.out.clear();
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.push(buf, &mut self.out);
        self.write_out()?;
        Ok(buf.len())
    }

    /// Flushes the inner writer. A partial line stays held: it may be the first half of a
    /// secret.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        if self.inner.is_some() {
            let _ = self.drain();
        }
    }
}
