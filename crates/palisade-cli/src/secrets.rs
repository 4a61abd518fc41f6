//! `palisade secrets check ADDRESS...`: whether each secret address resolves, with its size
//! and version, never its value, on palisade-secrets' local sources.

use std::io::Write;

use palisade_secrets::{Address, LocalSource};

use crate::{
    args::SecretsCommand,
    error::{CmdResult, Failure},
};

pub(crate) fn run(cmd: SecretsCommand) -> CmdResult {
    match cmd {
        SecretsCommand::Check { addresses } => check(&addresses),
    }
}

/// One line per address, named by its position (what was typed is never echoed): `ok` with the
/// size and version, or why it does not resolve. Exits 1 when any does not resolve.
fn check(addresses: &[String]) -> CmdResult {
    // Every address is parsed before any is read, so a typo costs nothing.
    let parsed = addresses
        .iter()
        .enumerate()
        .map(|(i, text)| {
            text.parse::<Address>()
                .map_err(|e| Failure::usage(format!("address {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let source = LocalSource::default();
    let mut out = std::io::stdout().lock();
    let mut unresolved = 0;
    for (i, address) in parsed.iter().enumerate() {
        let line = match source.load(address) {
            Ok(secret) => format!(
                "address {}: ok, {} bytes{}",
                i + 1,
                secret.len(),
                secret
                    .version()
                    .map_or_else(String::new, |v| format!(", version {v}"))
            ),
            Err(e) => {
                unresolved += 1;
                format!("address {}: {}", i + 1, e.kind())
            }
        };
        writeln!(out, "{line}").map_err(|e| Failure::io("writing the report", &e))?;
    }
    out.flush()
        .map_err(|e| Failure::io("writing the report", &e))?;
    if unresolved == 0 {
        Ok(())
    } else {
        Err(Failure::negative(format!(
            "{unresolved} of {} addresses do not resolve",
            parsed.len()
        )))
    }
}
