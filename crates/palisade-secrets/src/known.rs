//! Registration of loaded values with palisade-redact's [`KnownSecrets`] (feature `redact`).

use palisade_redact::KnownSecrets;

use crate::{address::Address, secret::Secret};

/// Registers `secret` with `known`; whether it was. A value the registry refuses (shorter than
/// [`palisade_redact::MIN_KNOWN_SECRET_LEN`] on every line) is logged, by address and reason,
/// never by value, and the load goes on: it is then redacted only where a pattern or key name
/// recognises it.
pub(crate) fn register(known: &KnownSecrets, address: &Address, secret: &Secret) -> bool {
    match known.insert(secret.expose_secret()) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                target: "palisade_secrets",
                address = %address,
                reason = %e,
                "loaded secret not registered for redaction"
            );
            false
        }
    }
}
