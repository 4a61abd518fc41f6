//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from fixed strings: the provider is read from the address's scheme and
//! mapped to a closed set, so no name, path or value ever reaches a label.

use crate::{Address, SecretError};

/// The provider label of an address: its scheme, from a closed set.
#[cfg(feature = "metrics")]
fn provider(address: &Address) -> &'static str {
    // The scheme is the text before the first ':' of the address's display form.
    let text = address.to_string();
    match text.split_once(':').map_or("", |(scheme, _)| scheme) {
        "env" => "env",
        "file" => "file",
        "systemd" => "systemd",
        "vault" => "vault",
        scheme if scheme.starts_with("aws") => "aws_sm",
        _ => "other",
    }
}

/// One fetch from the source finished.
#[cfg(feature = "metrics")]
pub(crate) fn fetched<T>(address: &Address, result: &Result<T, SecretError>) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) if e.kind() == crate::SecretErrorKind::Timeout => "timeout",
        Err(_) => "error",
    };
    metrics::counter!(
        "palisade_secrets_fetches_total",
        "provider" => provider(address),
        "outcome" => outcome,
    )
    .increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn fetched<T>(_: &Address, _: &Result<T, SecretError>) {}

/// The source failed and the last value was served instead.
#[cfg(feature = "metrics")]
pub(crate) fn stale_served() {
    metrics::counter!("palisade_secrets_stale_served_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn stale_served() {}

/// A refresh brought a value different from the one before.
#[cfg(feature = "metrics")]
pub(crate) fn changed() {
    metrics::counter!("palisade_secrets_changes_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn changed() {}
