//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from [`DecryptErrorKind::as_str`] and fixed strings: never a key id, a
//! context, a plaintext or a ciphertext.

use crate::error::DecryptErrorKind;

/// A value was encrypted.
#[cfg(feature = "metrics")]
pub(crate) fn encrypted() {
    metrics::counter!("palisade_crypt_encryptions_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn encrypted() {}

/// A decryption succeeded (`None`) or failed with this kind.
#[cfg(feature = "metrics")]
pub(crate) fn decrypted(failure: Option<DecryptErrorKind>) {
    let outcome = failure.map_or("ok", DecryptErrorKind::as_str);
    metrics::counter!("palisade_crypt_decryptions_total", "outcome" => outcome).increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn decrypted(_: Option<DecryptErrorKind>) {}

/// A rewrap succeeded or failed.
#[cfg(feature = "metrics")]
pub(crate) fn rewrapped(ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("palisade_crypt_rewraps_total", "outcome" => outcome).increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn rewrapped(_: bool) {}
