//! Redaction of tracing output, whatever the formatter.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use crate::redactor::Redactor;

/// Wraps a tracing-subscriber `MakeWriter`: every formatted record (plain, compact, pretty or
/// JSON) is redacted as a whole before it reaches the inner writer.
///
/// This covers everything a record prints: the message, every field, span fields. Fields named
/// like secrets (`password`, `api_key`, …) are caught by the key-name rules, because the
/// formatters print them as `password=…` or `"password":"…"`.
///
/// ```
/// use palisade_redact::{RedactingMakeWriter, Redactor};
///
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(RedactingMakeWriter::new(std::io::stderr, Redactor::new()))
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(password = "hunter2", "user logged in"); // prints password="[REDACTED]"
/// });
/// ```
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `inner`.
    pub fn new(inner: M, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RecordWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RecordWriter {
            inner: self.inner.make_writer(),
            redactor: self.redactor.clone(),
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing_core::Metadata<'_>) -> Self::Writer {
        RecordWriter {
            inner: self.inner.make_writer_for(meta),
            redactor: self.redactor.clone(),
            buf: Vec::new(),
        }
    }
}

/// Buffers one record and writes it, redacted, when dropped.
#[derive(Debug)]
pub struct RecordWriter<W: Write> {
    inner: W,
    redactor: Redactor,
    buf: Vec<u8>,
}

impl<W: Write> Write for RecordWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RecordWriter<W> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let redacted = self.redactor.redact_bytes(&self.buf);
            let _ = self.inner.write_all(&redacted);
            let _ = self.inner.flush();
        }
    }
}
