//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from closed enums ([`VerifyErrorKind`], [`RehashReason`]) and fixed
//! strings: never a password, a hash, a pepper id or an account.

#[cfg(feature = "metrics")]
pub(crate) use enabled::*;

#[cfg(not(feature = "metrics"))]
pub(crate) use disabled::*;

#[cfg(feature = "metrics")]
mod enabled {
    use std::time::Instant;

    use crate::{HashError, Verified, VerifyError, VerifyErrorKind};

    /// When an operation started.
    pub(crate) struct Timer(Instant);

    pub(crate) fn start() -> Timer {
        Timer(Instant::now())
    }

    fn duration(operation: &'static str, timer: &Timer) {
        metrics::histogram!("palisade_password_duration_seconds", "operation" => operation)
            .record(timer.0.elapsed().as_secs_f64());
    }

    pub(crate) fn hashed<T>(timer: &Timer, result: &Result<T, HashError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(HashError::Busy) => "busy",
            Err(_) => "error",
        };
        metrics::counter!("palisade_password_hashes_total", "outcome" => outcome).increment(1);
        duration("hash", timer);
    }

    pub(crate) fn verified(timer: &Timer, result: Result<&Verified, &VerifyError>) {
        verification(result);
        duration("verify", timer);
    }

    /// A verification's outcome (a task that did not complete has no duration).
    #[cfg_attr(
        not(feature = "tokio"),
        allow(dead_code, reason = "also used by the async helpers")
    )]
    pub(crate) fn verification(result: Result<&Verified, &VerifyError>) {
        let outcome = match result {
            Ok(verified) => {
                if let Some(reason) = verified.rehash_reason() {
                    metrics::counter!("palisade_password_rehashes_total", "reason" => reason.as_str())
                        .increment(1);
                }
                "ok"
            }
            Err(e) => {
                if e.kind() == VerifyErrorKind::UnknownPepper {
                    metrics::counter!("palisade_password_pepper_misses_total").increment(1);
                }
                e.kind().as_str()
            }
        };
        metrics::counter!("palisade_password_verifications_total", "outcome" => outcome)
            .increment(1);
    }

    #[allow(clippy::cast_precision_loss, reason = "KiB of memory, far below 2^52")]
    /// A memory budget of `kib` was created (its capacity joins the gauge) or dropped.
    pub(crate) fn budget_capacity(kib: u64, added: bool) {
        let gauge = metrics::gauge!("palisade_password_permits");
        if added {
            gauge.increment(kib as f64);
        } else {
            gauge.decrement(kib as f64);
        }
    }

    #[allow(clippy::cast_precision_loss, reason = "KiB of memory, far below 2^52")]
    /// `kib` of a budget was reserved (`taken`) or released.
    pub(crate) fn permits(kib: u64, taken: bool) {
        let gauge = metrics::gauge!("palisade_password_permits_in_use");
        if taken {
            gauge.increment(kib as f64);
        } else {
            gauge.decrement(kib as f64);
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod disabled {
    use crate::{HashError, Verified, VerifyError};

    pub(crate) struct Timer;

    #[inline]
    pub(crate) fn start() -> Timer {
        Timer
    }

    #[inline]
    pub(crate) fn hashed<T>(_: &Timer, _: &Result<T, HashError>) {}

    #[inline]
    pub(crate) fn verified(_: &Timer, _: Result<&Verified, &VerifyError>) {}

    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn verification(_: Result<&Verified, &VerifyError>) {}

    #[inline]
    pub(crate) fn budget_capacity(_: u64, _: bool) {}

    #[inline]
    pub(crate) fn permits(_: u64, _: bool) {}
}
