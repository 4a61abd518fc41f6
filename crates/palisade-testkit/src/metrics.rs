//! What the `metrics` facade recorded while a closure ran, for the crates' `metrics` tests.
//!
//! Every crate's `tests/metrics.rs` asserts names, kinds and labels the same way: run the
//! operations under metrics-util's debugging recorder, flatten the snapshot to
//! `name{label=value,...}` with the labels sorted, then look series up by that text.
//! The lookups are assertions: a missing or mistyped series fails the test that asked.
#![allow(
    clippy::panic,
    reason = "test assertions: a failed lookup fails the test"
)]

use std::{collections::BTreeMap, fmt::Write as _};

use metrics_util::debugging::Snapshotter;
pub use metrics_util::{
    MetricKind,
    debugging::{DebugValue, DebuggingRecorder},
};

/// What one recorder saw: `name{key=value,...}` (labels sorted; a bare name without labels)
/// to its kind and value.
pub type Series = BTreeMap<String, (MetricKind, DebugValue)>;

/// Every series recorded while `f` ran on this thread.
///
/// The recorder is installed for this thread only (`metrics::with_local_recorder`), so tests
/// running in parallel do not see each other's series; async work must run on a
/// current-thread runtime inside `f`.
pub fn capture(f: impl FnOnce()) -> Series {
    let recorder = Recorder::new();
    recorder.run(f);
    recorder.series()
}

/// A debugging recorder that outlives the closures run under it: for handles registered
/// under it in one closure and incremented later, anywhere.
pub struct Recorder {
    recorder: DebuggingRecorder,
    snapshotter: Snapshotter,
}

impl Recorder {
    /// A recorder with no series yet.
    pub fn new() -> Self {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        Self {
            recorder,
            snapshotter,
        }
    }

    /// Runs `f` with this recorder installed on this thread (as [`capture`] does).
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        ::metrics::with_local_recorder(&self.recorder, f)
    }

    /// Every series recorded so far, rendered as [`capture`] renders them.
    pub fn series(&self) -> Series {
        self.snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (kind, key) = key.into_parts();
                let mut labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                let mut name = key.name().to_owned();
                if !labels.is_empty() {
                    let _ = write!(name, "{{{}}}", labels.join(","));
                }
                (name, (kind, value))
            })
            .collect()
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// The counter `name` (as [`capture`] renders it).
///
/// # Panics
///
/// When there is no such series or it is not a counter.
pub fn counter(series: &Series, name: &str) -> u64 {
    match series.get(name) {
        Some((MetricKind::Counter, DebugValue::Counter(n))) => *n,
        other => panic!("{name}: expected a counter, got {other:?} in {series:#?}"),
    }
}

/// The counter `name`, or 0 when nothing incremented it.
///
/// # Panics
///
/// When the series exists and is not a counter.
pub fn counter_or_zero(series: &Series, name: &str) -> u64 {
    if series.contains_key(name) {
        counter(series, name)
    } else {
        0
    }
}

/// The gauge `name`'s last value.
///
/// # Panics
///
/// When there is no such series or it is not a gauge.
pub fn gauge(series: &Series, name: &str) -> f64 {
    match series.get(name) {
        Some((MetricKind::Gauge, DebugValue::Gauge(v))) => v.0,
        other => panic!("{name}: expected a gauge, got {other:?} in {series:#?}"),
    }
}

/// How many samples the histogram `name` holds.
///
/// # Panics
///
/// When there is no such series or it is not a histogram.
pub fn histogram_len(series: &Series, name: &str) -> usize {
    match series.get(name) {
        Some((MetricKind::Histogram, DebugValue::Histogram(v))) => v.len(),
        other => panic!("{name}: expected a histogram, got {other:?} in {series:#?}"),
    }
}

/// The cardinality check every crate makes after hostile input: at most `max` series whose
/// name starts with `prefix` (a build with every feature also records the crates a crate
/// depends on, each bounded by its own test), and no series name containing any of the
/// `hostile` markers the input was built from (case-insensitive).
///
/// # Panics
///
/// When either bound is broken, listing the series.
pub fn assert_bounded(series: &Series, prefix: &str, max: usize, hostile: &[&str]) {
    let own = series.keys().filter(|k| k.starts_with(prefix)).count();
    assert!(
        own <= max,
        "{own} series start with {prefix}, at most {max} expected: {:#?}",
        series.keys()
    );
    for name in series.keys() {
        let lower = name.to_lowercase();
        for marker in hostile {
            assert!(
                !lower.contains(&marker.to_lowercase()),
                "hostile input `{marker}` reached a series: {name}"
            );
        }
    }
}
