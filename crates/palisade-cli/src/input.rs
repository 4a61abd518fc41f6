//! Reading secrets and inputs: standard input with a size bound, key files, and the stripping
//! rules the command line promises. Buffers that held a secret are zeroized.

use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use zeroize::Zeroizing;

use crate::error::Failure;

/// Reads all of standard input, refusing more than `max` bytes (`what` names the input in
/// the error).
pub(crate) fn stdin_bounded(max: usize, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    read_bounded(io::stdin().lock(), max, what)
}

/// Reads all of `reader`, refusing more than `max` bytes.
pub(crate) fn read_bounded(
    reader: impl Read,
    max: usize,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut buf = Zeroizing::new(Vec::new());
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::io(&format!("reading {what}"), &e))?;
    if buf.len() > max {
        return Err(Failure::usage(format!(
            "{what} is longer than the limit of {max} bytes"
        )));
    }
    Ok(buf)
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

/// Reads a file of secret bytes, as they are (no newline stripping), requiring at least
/// `min` of them. `option` names the command-line option in errors; the contents never
/// appear in one.
pub(crate) fn key_file(
    path: &Path,
    min: usize,
    option: &str,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let file = File::open(path)
        .map_err(|e| Failure::usage(format!("{option} {}: {e}", path.display())))?;
    let bytes = read_bounded(file, MAX_KEY_FILE, &format!("{option} {}", path.display()))?;
    if bytes.len() < min {
        return Err(Failure::usage(format!(
            "{option} {}: holds {} bytes; at least {min} secret bytes are required",
            path.display(),
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(read_bounded(&b"12345"[..], 5, "x").is_ok());
        assert!(matches!(
            read_bounded(&b"123456"[..], 5, "x"),
            Err(Failure::Usage(_))
        ));
    }
}
