#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod args;
mod audit;
mod error;
mod input;
mod json_stream;
mod keys;
mod password;
mod redact;
mod sanitize;
mod secrets;
mod token;

use std::{ffi::OsString, io::Write, process::ExitCode};

use clap::Parser as _;

use crate::{
    args::{Cli, Command},
    error::Failure,
};
pub use crate::{
    error::JsonStreamError,
    redact::{RedactMode, redact_stream},
};

/// The exit status for success.
pub const EXIT_OK: u8 = 0;
/// The exit status for a negative answer: a mismatch, an invalid token, tampered or
/// unauthenticated data.
pub const EXIT_NEGATIVE: u8 = 1;
/// The exit status for a usage, configuration or input error.
pub const EXIT_USAGE: u8 = 2;

/// Runs `palisade` with the process's arguments, environment and standard streams, and
/// returns its exit status. The `palisade` binary is this function.
pub fn run() -> ExitCode {
    ExitCode::from(run_with(std::env::args_os()))
}

/// Runs `palisade` with these arguments (the first is the program name) on the process's
/// environment and standard streams; returns the exit status: [`EXIT_OK`], [`EXIT_NEGATIVE`]
/// or [`EXIT_USAGE`]. Every failure has printed one line on standard error.
pub fn run_with<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return args::report_clap_error(&e),
    };
    let result = match cli.command {
        Command::Password(cmd) => password::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Keyring(cmd) => keys::run_keyring(cmd),
        Command::Encrypt(args) => keys::encrypt(&args),
        Command::Decrypt(args) => keys::decrypt(&args),
        Command::Rewrap(args) => keys::rewrap(&args),
        Command::Redact(cmd) => redact::run(&cmd),
        Command::Sanitize(cmd) => sanitize::run(&cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Secrets(cmd) => secrets::run(cmd),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(failure) => {
            let (code, message) = match failure {
                Failure::Negative(m) => (EXIT_NEGATIVE, m),
                Failure::Usage(m) => (EXIT_USAGE, m),
            };
            // One line, whatever the message holds.
            let line = message.replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr().lock(), "palisade: {line}");
            code
        }
    }
}
