//! Everything a tracing subscriber writes, kept in memory, for the tests that read log lines.
#![allow(
    clippy::panic,
    reason = "test assertions: a line that is not UTF-8 fails the test that reads it"
)]

use std::{
    io,
    sync::{Arc, Mutex, PoisonError},
};

use tracing_subscriber::fmt::MakeWriter;

/// A `MakeWriter` whose writers all append to one shared buffer; clones share it too, so a
/// test keeps one clone and hands another to the subscriber (or to a writer wrapping it).
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far.
    ///
    /// # Panics
    ///
    /// When it is not UTF-8, which no formatter of tracing-subscriber writes.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("the log is not UTF-8: {e}"))
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn every_clone_and_writer_appends_to_one_buffer() {
        let capture = LogCapture::default();
        capture.make_writer().write_all(b"one ").unwrap();
        capture.clone().write_all(b"two").unwrap();
        assert_eq!(capture.text(), "one two");
    }
}
