//! Metrics through the `metrics` facade, behind the `metrics` feature; without it every
//! function here is an empty inline one and the crate does not depend on `metrics`.
//!
//! Labels come only from [`FindingKind::as_str`] and fixed strings: never an actor, a target,
//! an event's fields or a path.

use crate::verify::FindingKind;

/// A log's meters for every append and sync, registered once with the recorder installed
/// when the log is opened: a success is then counted through a handle, not by looking its
/// name and labels up in the recorder on every append.
#[cfg(feature = "metrics")]
pub(crate) struct LogMeters {
    appended_ok: metrics::Counter,
    fsync: metrics::Histogram,
}

#[cfg(feature = "metrics")]
impl LogMeters {
    /// The handles of the recorder installed now.
    pub(crate) fn new() -> Self {
        Self {
            appended_ok: metrics::counter!("palisade_audit_appends_total", "outcome" => "ok"),
            fsync: metrics::histogram!("palisade_audit_fsync_duration_seconds"),
        }
    }

    /// An `AuditLog::append` succeeded or failed.
    pub(crate) fn appended(&self, ok: bool) {
        if ok {
            self.appended_ok.increment(1);
        } else {
            metrics::counter!("palisade_audit_appends_total", "outcome" => "error").increment(1);
        }
    }

    /// The sync that started at `timer` ended.
    pub(crate) fn synced(&self, timer: &SyncTimer) {
        self.fsync.record(timer.0.elapsed().as_secs_f64());
    }
}

#[cfg(not(feature = "metrics"))]
pub(crate) struct LogMeters;

#[cfg(not(feature = "metrics"))]
#[allow(
    clippy::unused_self,
    reason = "the same calls as with the `metrics` feature"
)]
impl LogMeters {
    #[inline]
    pub(crate) fn new() -> Self {
        Self
    }

    #[inline]
    pub(crate) fn appended(&self, _: bool) {}

    #[inline]
    pub(crate) fn synced(&self, _: &SyncTimer) {}
}

/// A write or sync of the log file failed (an I/O error: the log is poisoned).
#[cfg(feature = "metrics")]
pub(crate) fn write_failed() {
    metrics::counter!("palisade_audit_write_failures_total").increment(1);
}

#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn write_failed() {}

/// An `AuditWriter`'s meters, registered once with the recorder installed when the writer
/// starts and shared by the callers' threads and the writer's: the queue's depth, and the
/// events dropped (queue full, or the writer stopped), which under overload is every call.
#[cfg(feature = "metrics")]
#[derive(Clone)]
pub(crate) struct WriterMeters {
    depth: metrics::Gauge,
    dropped: metrics::Counter,
}

#[cfg(feature = "metrics")]
impl WriterMeters {
    /// The handles of the recorder installed now.
    pub(crate) fn new() -> Self {
        Self {
            depth: metrics::gauge!("palisade_audit_queue_depth"),
            dropped: metrics::counter!("palisade_audit_dropped_total"),
        }
    }

    /// Events queued for the writer thread and not yet taken by it.
    #[allow(
        clippy::cast_precision_loss,
        reason = "a queue's length, far below 2^52"
    )]
    pub(crate) fn queue_depth(&self, depth: u64) {
        self.depth.set(depth as f64);
    }

    /// An event was dropped.
    pub(crate) fn dropped(&self) {
        self.dropped.increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
#[derive(Clone)]
pub(crate) struct WriterMeters;

#[cfg(not(feature = "metrics"))]
#[allow(
    clippy::unused_self,
    reason = "the same calls as with the `metrics` feature"
)]
impl WriterMeters {
    #[inline]
    pub(crate) fn new() -> Self {
        Self
    }

    #[inline]
    pub(crate) fn queue_depth(&self, _: u64) {}

    #[inline]
    pub(crate) fn dropped(&self) {}
}

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
