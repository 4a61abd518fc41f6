//! `palisade password hash|verify`, on palisade-password (with its `legacy` feature).

use std::io::Write;

use palisade_password::{Hasher, Limits, Password, Preset, VerifyErrorKind};

use crate::{
    args::PasswordCommand,
    error::{CmdResult, Failure},
    input,
};

/// Longest password read from standard input; palisade-password refuses longer ones anyway
/// (`Limits::max_password_bytes`), this only bounds the read.
const MAX_PASSWORD_INPUT: usize = 64 * 1024;

pub(crate) fn run(cmd: PasswordCommand) -> CmdResult {
    match cmd {
        PasswordCommand::Hash { preset } => hash(&preset),
        PasswordCommand::Verify { hash } => verify(&hash),
    }
}

fn read_password() -> Result<Password, Failure> {
    let raw = input::stdin_bounded(MAX_PASSWORD_INPUT, "the password on standard input")?;
    let bytes = input::strip_one_newline(&raw);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Failure::usage("the password on standard input is not valid UTF-8"))?;
    Ok(Password::new(text.to_owned()))
}

/// Limits that admit every preset the command can hash with, so `verify` reads what `hash`
/// writes: the defaults, with memory and work raised to the largest preset (RFC 9106's 2 GiB).
fn cli_limits() -> Limits {
    let mut limits = Limits::DEFAULT;
    for preset in Preset::ALL {
        let params = preset.params();
        limits.max_memory_kib = limits.max_memory_kib.max(params.m_kib());
        limits.max_work = limits.max_work.max(params.work());
    }
    limits
}

fn hasher_for(preset: Preset) -> Result<Hasher, Failure> {
    let limits = cli_limits();
    Hasher::builder()
        .params(preset)
        .limits(limits)
        .memory_budget(
            u64::from(limits.max_memory_kib),
            std::time::Duration::from_secs(2),
        )
        .build()
        .map_err(|e| Failure::usage(format!("password hasher: {e}")))
}

fn hash(preset: &str) -> CmdResult {
    let preset: Preset = preset
        .parse()
        .map_err(|e| Failure::usage(format!("--preset: {e}")))?;
    let hasher = hasher_for(preset)?;
    let password = read_password()?;
    if password.expose_secret().is_empty() {
        return Err(Failure::usage(
            "no password on standard input (an empty password is never hashed)",
        ));
    }
    let stored = hasher
        .hash(&password)
        .map_err(|e| Failure::usage(format!("hashing failed: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", stored.as_str())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing the hash", &e))
}

fn verify(stored: &str) -> CmdResult {
    // The default policy decides `needs-rehash`; the limits admit every preset's hashes.
    let hasher = hasher_for(Preset::Owasp)?;
    let password = read_password()?;
    let stored = stored.trim();
    let answer = match hasher.verify(&password, stored) {
        Ok(v) if v.needs_rehash() => "ok needs-rehash",
        Ok(_) => "ok",
        Err(e) if e.is_mismatch() => {
            print_line("mismatch")?;
            return Err(Failure::negative("password does not match the hash"));
        }
        Err(e) => {
            return Err(Failure::usage(match e.kind() {
                VerifyErrorKind::Malformed => "the hash is malformed: not a format palisade reads",
                VerifyErrorKind::Unsupported => "the hash's algorithm or version is not supported",
                VerifyErrorKind::ExceedsLimits => {
                    "the hash demands more memory, passes or lanes than allowed"
                }
                VerifyErrorKind::UnknownPepper => {
                    "the hash was made with a pepper; peppered hashes cannot be checked here"
                }
                VerifyErrorKind::PasswordTooLong => "the password is longer than allowed",
                _ => "the hash could not be checked",
            }));
        }
    };
    print_line(answer)
}

fn print_line(line: &str) -> CmdResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("writing the answer", &e))
}
