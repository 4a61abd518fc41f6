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
    // A label written as a literal makes the macro build the key once, in a static; a label
    // from a variable builds a vector of labels on every call, recorder or none (about 10 ns
    // on a 64-byte decryption). The common case, success, is the literal.
    match failure {
        None => {
            metrics::counter!("palisade_crypt_decryptions_total", "outcome" => "ok").increment(1);
        }
        Some(kind) => {
            metrics::counter!("palisade_crypt_decryptions_total", "outcome" => kind.as_str())
                .increment(1);
        }
    }
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn decrypted(_: Option<DecryptErrorKind>) {}

/// A rewrap succeeded or failed.
#[cfg(feature = "metrics")]
pub(crate) fn rewrapped(ok: bool) {
    // Literal labels: a static key (see `decrypted`).
    if ok {
        metrics::counter!("palisade_crypt_rewraps_total", "outcome" => "ok").increment(1);
    } else {
        metrics::counter!("palisade_crypt_rewraps_total", "outcome" => "error").increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn rewrapped(_: bool) {}
