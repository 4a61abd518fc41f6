//! `palisade secrets check ADDRESS...`: whether each secret address resolves, with its size
//! and version, never its value: on palisade-secrets' local sources, AWS Secrets Manager
//! (feature `aws`) and Vault (feature `vault`).

use std::io::Write;

use palisade_secrets::{Address, LocalSource, Secret};

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
        let line = match resolve(address, &source) {
            Ok(secret) => format!(
                "address {}: ok, {} bytes{}",
                i + 1,
                secret.len(),
                secret
                    .version()
                    .map_or_else(String::new, |v| format!(", version {v}"))
            ),
            Err(why) => {
                unresolved += 1;
                format!("address {}: {why}", i + 1)
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

/// Reads one address from the source its scheme names; the error is the kind of failure (or
/// the missing feature), never the value.
fn resolve(address: &Address, local: &LocalSource) -> Result<Secret, String> {
    match address {
        Address::AwsSecretsManager(_) => aws(address),
        Address::Vault(_) => vault(address),
        _ => local.load(address).map_err(|e| e.kind().to_string()),
    }
}

/// A runtime for one remote read: the command itself is synchronous.
#[cfg(any(feature = "aws", feature = "vault"))]
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no async runtime: {e}"))
}

/// AWS Secrets Manager, configured the SDK's usual way (environment, profile, instance role).
#[cfg(feature = "aws")]
fn aws(address: &Address) -> Result<Secret, String> {
    use palisade_secrets::Source as _;
    runtime()?.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        palisade_secrets::AwsSecretsManager::new(&config)
            .fetch(address)
            .await
            .map_err(|e| e.kind().to_string())
    })
}

#[cfg(not(feature = "aws"))]
fn aws(_address: &Address) -> Result<Secret, String> {
    Err("not read: palisade was built without the `aws` feature".to_owned())
}

/// Vault's KV version 2, configured from `VAULT_ADDR` and `VAULT_TOKEN`.
#[cfg(feature = "vault")]
fn vault(address: &Address) -> Result<Secret, String> {
    use palisade_secrets::Source as _;
    let config = palisade_secrets::VaultConfig::from_env().map_err(|e| format!("Vault: {e}"))?;
    let source = palisade_secrets::VaultSource::new(&config).map_err(|e| format!("Vault: {e}"))?;
    runtime()?.block_on(async {
        source
            .fetch(address)
            .await
            .map_err(|e| e.kind().to_string())
    })
}

#[cfg(not(feature = "vault"))]
fn vault(_address: &Address) -> Result<Secret, String> {
    Err("not read: palisade was built without the `vault` feature".to_owned())
}
