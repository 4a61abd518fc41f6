//! The audit log's custody: created once with its verifier bundle written elsewhere, then
//! written by palisade-audit's [`AuditWriter`] (a thread of its own, a bounded queue, group
//! commit).
//!
//! The service holds what appending needs and nothing more: the log directory (with the
//! current epoch's MAC key, which cannot recreate an earlier epoch's) and the checkpoint
//! signing key (the `audit_signing_key` secret). The verifier bundle (the epoch-0 MAC key and
//! the public key) is written once, to a new file the operator moves off the machine; without
//! it nobody on this machine can make a changed sealed record verify.

use std::{path::Path, sync::Arc, time::Duration};

use palisade_audit::{AuditLog, AuditLogBuilder, AuditWriter, Event, Overflow, Queued, SigningKey};
use palisade_http::AuditLayer;
use secrecy::SecretBox;

use crate::{Config, Secrets, StartError, component};

/// Events the writer's queue holds before it drops (and counts) further ones: a flood of
/// refusals can slow nothing but its own records.
pub(crate) const QUEUE_CAPACITY: usize = 4096;

/// Refusals of one kind from one client within this window become one audit record with a
/// count.
pub(crate) const REFUSAL_WINDOW: Duration = Duration::from_secs(10);

/// The layer recording what the defences refused into `writer`, repeated refusals folded per
/// [`REFUSAL_WINDOW`]. A record the full queue drops is counted by the writer.
pub(crate) fn layer(writer: &Arc<AuditWriter>) -> AuditLayer {
    let sink = writer.clone();
    AuditLayer::new(move |event: Event| {
        let _: Queued = sink.record(event);
    })
    .aggregate_refusals(REFUSAL_WINDOW)
}

fn builder(config: &Config, secrets: &Secrets) -> AuditLogBuilder {
    let signing = SigningKey::from_secret(&SecretBox::new(Box::new(Secrets::array(
        &secrets.audit_signing_key,
    ))));
    AuditLog::builder(&config.audit_dir)
        .epoch_length(Duration::from_secs(config.audit_epoch_secs))
        .signer(Arc::new(signing))
}

fn has_log(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Creates the log in `config.audit_dir` and writes its verifier bundle to `verifier_out`, a
/// new file readable by its owner only. Refuses when the log or the file already exists.
///
/// # Errors
/// [`StartError::Component`] naming what exists or could not be written.
pub(crate) fn init(
    config: &Config,
    secrets: &Secrets,
    verifier_out: &Path,
) -> Result<(), StartError> {
    if has_log(&config.audit_dir) {
        return Err(component("audit log")(&format!(
            "{} already holds a log; its verifier bundle was written when it was created",
            config.audit_dir.display()
        )));
    }
    let log = builder(config, secrets)
        .create(verifier_out)
        .map_err(|e| component("audit log")(&e))?;
    drop(log);
    Ok(())
}

/// The writer of the existing log, or of a new one when `audit_verifier_out` is set (its
/// bundle written there first).
///
/// # Errors
/// [`StartError::Component`] when there is no log and nowhere to put a new one's bundle, or
/// the log cannot be opened or created.
pub(crate) fn writer(config: &Config, secrets: &Secrets) -> Result<AuditWriter, StartError> {
    if !has_log(&config.audit_dir) {
        let Some(out) = &config.audit_verifier_out else {
            return Err(component("audit log")(&format!(
                "no log in {}: create it with `secure-api audit-init --verifier-out FILE` (or set \
                 audit_verifier_out) and keep FILE off this machine",
                config.audit_dir.display()
            )));
        };
        init(config, secrets, out)?;
        tracing::warn!(
            target: "secure_api::audit",
            bundle = %out.display(),
            "audit log created; move its verifier bundle off this machine"
        );
    }
    AuditWriter::open(
        builder(config, secrets),
        QUEUE_CAPACITY,
        Overflow::DropAndCount,
    )
    .map_err(|e| component("audit log")(&e))
}
