//! Reading secrets and inputs from standard input and files, with a size bound, and writing
//! secrets to standard output.
//!
//! What is wiped, and what is not:
//!
//! - Everything read from standard input or a key file lands in one [`Zeroizing`] buffer,
//!   zeroed to its full capacity when it is dropped. The buffer never grows by reallocation
//!   (which would free the old block unwiped): it starts at up to [`FIRST_BUFFER`] bytes, which
//!   every password, token and key file fits, and a larger input moves to a new buffer twice
//!   the size, after which the old one is wiped and freed. Input over the limit is refused.
//! - On Unix, standard input is read from a duplicate of its file descriptor, never through
//!   std's process-wide `Stdin` buffer, which would keep a copy that nothing wipes. Elsewhere
//!   it is read through `Stdin`, so that copy stays.
//! - Secrets written out (a decrypted plaintext, a signed token) go, on Unix, to a duplicate of
//!   standard output's descriptor in one write, never through std's `Stdout` buffer.
//! - Not wiped: what the libraries that parse the input copy for themselves (`serde_json`
//!   values in `audit append`, PEM and JWKS parsing), the kernel's pipe and terminal buffers,
//!   and anything the process leaves in memory it gave back before this module saw the data.

use std::{
    fs::File,
    io::{self, Read, Write},
    path::Path,
};

use zeroize::Zeroizing;

use crate::error::Failure;

/// The first buffer's size. Inputs that fit are read into this one buffer, which never moves.
pub(crate) const FIRST_BUFFER: usize = 64 * 1024;

/// Reads all of standard input, refusing more than `max` bytes (`what` names the input in
/// the error).
pub(crate) fn stdin_bounded(max: usize, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let stdin = raw_stdin().map_err(|e| Failure::io(&format!("reading {what}"), &e))?;
    read_bounded(stdin, max, what)
}

/// Standard input without std's shared buffer: a duplicate of descriptor 0 on Unix.
#[cfg(unix)]
fn raw_stdin() -> io::Result<impl Read> {
    use std::os::fd::AsFd as _;
    Ok(File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

#[cfg(not(unix))]
fn raw_stdin() -> io::Result<impl Read> {
    Ok(io::stdin())
}

/// Writes `bytes` to standard output in one unbuffered write (on Unix; elsewhere through
/// std's `Stdout`), so no copy of a secret stays in std's output buffer.
pub(crate) fn write_secret(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    // Anything printed before goes first.
    stdout.flush()?;
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let mut raw = File::from(stdout.as_fd().try_clone_to_owned()?);
        raw.write_all(bytes)?;
        raw.flush()
    }
    #[cfg(not(unix))]
    {
        stdout.write_all(bytes)?;
        stdout.flush()
    }
}

/// Reads all of `reader`, refusing more than `max` bytes.
pub(crate) fn read_bounded(
    reader: impl Read,
    max: usize,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut buf = WipedBuffer::new(max);
    buf.fill(reader)
        .map_err(|e| Failure::io(&format!("reading {what}"), &e))?;
    buf.into_bytes()
        .ok_or_else(|| Failure::usage(format!("{what} is longer than the limit of {max} bytes")))
}

/// A read buffer that is wiped whenever it is dropped or outgrown.
struct WipedBuffer {
    buf: Zeroizing<Vec<u8>>,
    len: usize,
    /// One byte over the limit: reading it tells "exactly the limit" from "more".
    cap: usize,
}

impl WipedBuffer {
    fn new(max: usize) -> Self {
        let cap = max.saturating_add(1);
        Self {
            buf: Zeroizing::new(vec![0; cap.min(FIRST_BUFFER)]),
            len: 0,
            cap,
        }
    }

    /// Reads until end of input or until `cap` bytes are held.
    fn fill(&mut self, mut reader: impl Read) -> io::Result<()> {
        loop {
            if self.len == self.buf.len() {
                if self.len == self.cap {
                    return Ok(());
                }
                self.grow();
            }
            match reader.read(&mut self.buf[self.len..]) {
                Ok(0) => return Ok(()),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves the contents to a buffer twice the size (at most `cap`); the old buffer is wiped
    /// as it is replaced.
    fn grow(&mut self) {
        let size = self.buf.len().saturating_mul(2).clamp(1, self.cap);
        let mut bigger = Zeroizing::new(vec![0; size]);
        bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
        self.buf = bigger;
    }

    /// The bytes read, or `None` when there were more than the limit.
    fn into_bytes(mut self) -> Option<Zeroizing<Vec<u8>>> {
        if self.len == self.cap {
            return None;
        }
        // Shrinking the length keeps the block: `Zeroizing` wipes its whole capacity.
        self.buf.truncate(self.len);
        Some(self.buf)
    }
}

/// Removes one trailing newline (`\n` or `\r\n`) from a secret read from standard input.
pub(crate) fn strip_one_newline(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes)
}

/// The longest key or secret file read: key material is small, and a larger file is a
/// mistake (the wrong path).
pub(crate) const MAX_KEY_FILE: usize = 64 * 1024;

/// Reads a file named by `option`, refusing more than `max` bytes. Errors name the option,
/// never the path typed after it (a secret pasted there by mistake is not echoed) nor the
/// file's contents.
pub(crate) fn named_file(
    path: &Path,
    max: usize,
    option: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let file = File::open(path).map_err(|e| Failure::usage(format!("{option}: {e}")))?;
    read_bounded(file, max, &format!("the {option} file"))
}

/// Reads a file of secret bytes, as they are (no newline stripping), requiring at least
/// `min` of them.
pub(crate) fn key_file(
    path: &Path,
    min: usize,
    option: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let bytes = named_file(path, MAX_KEY_FILE, option)?;
    if bytes.len() < min {
        return Err(Failure::usage(format!(
            "{option}: the file holds {} bytes; at least {min} secret bytes are required",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read, so a buffer is filled by many reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(self.step).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn one_newline_is_stripped() {
        assert_eq!(strip_one_newline(b"pw\n"), b"pw");
        assert_eq!(strip_one_newline(b"pw\r\n"), b"pw");
        assert_eq!(strip_one_newline(b"pw\n\n"), b"pw\n");
        assert_eq!(strip_one_newline(b"pw"), b"pw");
        assert_eq!(strip_one_newline(b""), b"");
    }

    #[test]
    fn bounded_read_refuses_more() {
        assert_eq!(
            read_bounded(&b"12345"[..], 5, "x").ok().as_deref(),
            Some(&b"12345".to_vec())
        );
        assert!(matches!(
            read_bounded(&b"123456"[..], 5, "x"),
            Err(Failure::Usage(_))
        ));
        assert!(read_bounded(&b""[..], 0, "x").is_ok_and(|b| b.is_empty()));
        assert!(matches!(
            read_bounded(&b"1"[..], 0, "x"),
            Err(Failure::Usage(_))
        ));
    }

    #[test]
    fn a_secret_that_fits_is_read_into_one_buffer_that_never_moves() {
        let secret = pattern(FIRST_BUFFER - 1);
        let mut buf = WipedBuffer::new(64 * 1024 * 1024);
        let (block, capacity) = (buf.buf.as_ptr(), buf.buf.capacity());
        buf.fill(Trickle {
            data: &secret,
            step: 7,
        })
        .expect("read");
        assert_eq!(buf.buf.as_ptr(), block, "the buffer was reallocated");
        assert_eq!(buf.buf.capacity(), capacity);
        let bytes = buf.into_bytes().expect("within the limit");
        assert_eq!(bytes.as_ptr(), block);
        assert_eq!(*bytes, secret);
    }

    #[test]
    fn a_small_limit_sizes_the_buffer_once_for_the_whole_input() {
        // A password limit: the buffer is the limit plus one byte from the start.
        let mut buf = WipedBuffer::new(100);
        assert_eq!(buf.buf.capacity(), 101);
        let block = buf.buf.as_ptr();
        buf.fill(Trickle {
            data: &pattern(100),
            step: 3,
        })
        .expect("read");
        assert_eq!(buf.buf.as_ptr(), block);
        assert_eq!(buf.into_bytes().map(|b| b.len()), Some(100));
    }

    #[test]
    fn a_large_input_moves_to_bigger_wiped_buffers_and_never_past_the_limit() {
        let max = 5 * FIRST_BUFFER + 17;
        for len in [FIRST_BUFFER, FIRST_BUFFER + 1, 3 * FIRST_BUFFER, max] {
            let input = pattern(len);
            let mut buf = WipedBuffer::new(max);
            buf.fill(Trickle {
                data: &input,
                step: 4096 + 3,
            })
            .expect("read");
            assert!(buf.buf.capacity() <= max + 1, "{len}");
            assert_eq!(
                buf.into_bytes().as_deref().map(Vec::as_slice),
                Some(&input[..])
            );
        }
    }

    #[test]
    fn input_over_the_limit_is_refused_after_reading_one_byte_more() {
        let max = 2 * FIRST_BUFFER;
        let input = pattern(10 * FIRST_BUFFER);
        let mut reader = Trickle {
            data: &input,
            step: 1000,
        };
        let mut buf = WipedBuffer::new(max);
        buf.fill(&mut reader).expect("read");
        assert_eq!(buf.len, max + 1);
        assert_eq!(buf.buf.capacity(), max + 1);
        // The rest was never read.
        assert_eq!(reader.data.len(), input.len() - (max + 1));
        assert!(buf.into_bytes().is_none());
    }
}
