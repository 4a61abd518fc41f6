//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from [`FindingKind::as_str`] and fixed strings: never an actor, a target,
//! an event's fields or a path.

use crate::verify::FindingKind;

/// An `AuditLog::append` succeeded or failed.
#[cfg(feature = "metrics")]
pub(crate) fn appended(ok: bool) {
    // Literal labels make the macro build the key once, in a static, instead of a vector of
    // labels on every append, recorder or none.
    if ok {
        metrics::counter!("palisade_audit_appends_total", "outcome" => "ok").increment(1);
    } else {
        metrics::counter!("palisade_audit_appends_total", "outcome" => "error").increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn appended(_: bool) {}

/// A write or sync of the log file failed (an I/O error: the log is poisoned).
#[cfg(feature = "metrics")]
pub(crate) fn write_failed() {
    metrics::counter!("palisade_audit_write_failures_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn write_failed() {}

/// An event was dropped by the `AuditWriter` (queue full, or the writer stopped).
#[cfg(feature = "metrics")]
pub(crate) fn dropped() {
    metrics::counter!("palisade_audit_dropped_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn dropped() {}

/// Events queued for the writer thread and not yet taken by it.
#[cfg(feature = "metrics")]
#[allow(
    clippy::cast_precision_loss,
    reason = "a queue's length, far below 2^52"
)]
pub(crate) fn queue_depth(depth: u64) {
    metrics::gauge!("palisade_audit_queue_depth").set(depth as f64);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn queue_depth(_: u64) {}

/// A verification found something wrong (a warning or tampering; notices such as an unsealed
/// tail are expected in a live log and not counted).
#[cfg(feature = "metrics")]
pub(crate) fn finding(kind: &FindingKind) {
    if kind.severity() != crate::verify::Severity::Notice {
        metrics::counter!("palisade_audit_verification_failures_total", "kind" => kind.as_str())
            .increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn finding(_: &FindingKind) {}

/// When a sync of the log file started.
#[cfg(feature = "metrics")]
pub(crate) struct SyncTimer(std::time::Instant);

#[cfg(not(feature = "metrics"))]
pub(crate) struct SyncTimer;

#[cfg(feature = "metrics")]
pub(crate) fn sync_started() -> SyncTimer {
    SyncTimer(std::time::Instant::now())
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn sync_started() -> SyncTimer {
    SyncTimer
}

/// The sync that started at `timer` ended.
#[cfg(feature = "metrics")]
pub(crate) fn synced(timer: &SyncTimer) {
    metrics::histogram!("palisade_audit_fsync_duration_seconds")
        .record(timer.0.elapsed().as_secs_f64());
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn synced(_: &SyncTimer) {}
