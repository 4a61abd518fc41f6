//! How a command fails: a negative answer (exit 1) or a usage, configuration or input error
//! (exit 2). Messages never contain secrets or the input they describe.

use std::{fmt, io};

/// Why a command did not succeed. The message is printed on one line of standard error.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A negative answer: mismatch, invalid token, tampered or unauthenticated data (exit 1).
    Negative(String),
    /// A usage, configuration or input error (exit 2).
    Usage(String),
}

impl Failure {
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Self::Usage(message.to_string())
    }

    pub(crate) fn negative(message: impl fmt::Display) -> Self {
        Self::Negative(message.to_string())
    }

    /// An I/O error on a standard stream, with what was being done.
    pub(crate) fn io(doing: &str, e: &io::Error) -> Self {
        Self::Usage(format!("{doing}: {e}"))
    }
}

pub(crate) type CmdResult = Result<(), Failure>;

/// `palisade redact --json` met input that is not a sequence of JSON values, or could not
/// read or write.
///
/// What was already written stays written: the output up to the error is redacted, and
/// nothing after it is copied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonStreamError {
    /// The input is not JSON at this byte offset (from 0).
    #[error("input is not JSON at byte {offset}: {reason}")]
    Syntax {
        /// Where the problem was found, in bytes from the start of the input.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// Reading the input or writing the output failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}
