//! `palisade redact [--json] [--rules FILE]`: standard input to standard output, streaming.

use std::io::{self, BufWriter, ErrorKind, Read, Write};

use palisade_redact::{LineRedactor, Redactor};

use crate::{
    args::RedactArgs,
    error::{CmdResult, Failure, JsonStreamError},
    json_stream::JsonRedactor,
};

/// How [`redact_stream`] reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedactMode {
    /// Text, line by line: every detected secret replaced, every other byte unchanged.
    Text,
    /// A sequence of JSON values: the value of every sensitive key replaced whatever its type,
    /// every string redacted after its escapes are decoded, every other byte unchanged.
    Json,
}

/// Bytes read from the input at a time.
const CHUNK: usize = 64 * 1024;

/// Copies `input` to `output` redacted, in memory bounded by the longest line (text; at
/// most palisade-redact's `LineRedactor` bound of 1 MiB held) or the longest string (JSON; at
/// most 16 MiB), whatever the input's size. This is `palisade redact`.
///
/// ```
/// use palisade_cli::{RedactMode, redact_stream};
///
/// let mut out = Vec::new();
/// redact_stream(&b"user=alice password=hunter2\n"[..], &mut out, RedactMode::Text)?;
/// assert_eq!(out, b"user=alice password=[REDACTED]\n");
///
/// let mut out = Vec::new();
/// redact_stream(&br#"{"user": "alice", "pin": 1234, "password": {"old": 1}}"#[..], &mut out, RedactMode::Json)?;
/// assert_eq!(out, br#"{"user": "alice", "pin": 1234, "password": "[REDACTED]"}"#);
/// # Ok::<(), palisade_cli::JsonStreamError>(())
/// ```
///
/// # Errors
///
/// [`JsonStreamError::Io`] when reading or writing fails; [`JsonStreamError::Syntax`] when
/// JSON mode meets input that is not JSON (what came before it has been written, redacted).
pub fn redact_stream(
    input: impl Read,
    output: impl Write,
    mode: RedactMode,
) -> Result<(), JsonStreamError> {
    redact_with(Redactor::new(), input, output, mode)
}

/// [`redact_stream`] with a given redactor (`palisade redact --rules FILE`).
fn redact_with(
    redactor: Redactor,
    mut input: impl Read,
    output: impl Write,
    mode: RedactMode,
) -> Result<(), JsonStreamError> {
    let mut chunk = vec![0u8; CHUNK];
    match mode {
        RedactMode::Text => {
            let mut output = output;
            let mut lines = LineRedactor::new(redactor);
            let mut out = Vec::with_capacity(CHUNK);
            loop {
                let n = read_some(&mut input, &mut chunk)?;
                if n == 0 {
                    break;
                }
                lines.push(&chunk[..n], &mut out);
                output.write_all(&out)?;
                out.clear();
            }
            lines.finish(&mut out);
            output.write_all(&out)?;
            output.flush()?;
        }
        RedactMode::Json => {
            let mut json = JsonRedactor::new(redactor, output);
            loop {
                let n = read_some(&mut input, &mut chunk)?;
                if n == 0 {
                    break;
                }
                json.push(&chunk[..n])?;
            }
            json.finish()?;
        }
    }
    Ok(())
}

fn read_some(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

pub(crate) fn run(args: &RedactArgs) -> CmdResult {
    let mode = if args.json {
        RedactMode::Json
    } else {
        RedactMode::Text
    };
    let redactor = match &args.rules {
        None => Redactor::new(),
        Some(path) => Redactor::builder()
            .gitleaks_rules_file(path)
            .and_then(palisade_redact::RedactorBuilder::build)
            .map_err(Failure::usage)?,
    };
    let mut stdout = BufWriter::new(io::stdout().lock());
    let outcome = if args.files.is_empty() {
        redact_with(redactor, io::stdin().lock(), &mut stdout, mode)
    } else {
        redact_files(&redactor, &args.files, &mut stdout, mode)
    };
    match outcome {
        Ok(()) => Ok(()),
        // The reader went away (`palisade redact < log | head`): nothing more can leak.
        Err(JsonStreamError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(JsonStreamError::Io(e)) => Err(Failure::io("redact", &e)),
        Err(e) => Err(Failure::usage(e)),
    }
}

/// Each file in turn, redacted for its own path. A file that cannot be opened is named by
/// its position, never by what was typed: an argument may be a secret typed by mistake.
fn redact_files(
    redactor: &Redactor,
    files: &[std::path::PathBuf],
    mut output: impl Write,
    mode: RedactMode,
) -> Result<(), JsonStreamError> {
    for (n, path) in files.iter().enumerate() {
        let file = std::fs::File::open(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("input file {} of {}: {e}", n + 1, files.len()),
            )
        })?;
        let for_path = redactor.with_source_path(&path.to_string_lossy());
        redact_with(for_path, file, &mut output, mode)?;
    }
    Ok(())
}
