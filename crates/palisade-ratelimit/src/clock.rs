//! Time sources: a monotonic clock that never runs backwards, and a manual clock for tests.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A source of monotonic time, in nanoseconds since the clock's own epoch.
///
/// Implementations must never return a smaller value than one they returned before; the
/// limiters rely on it (a clock running backwards would hand out extra capacity).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Nanoseconds since this clock's epoch.
    fn now_nanos(&self) -> u64;
}

/// The process's monotonic clock, ratcheted so that it can never run backwards even where the
/// platform's `Instant` misbehaves (virtual machines, some multi-socket hosts).
#[derive(Debug)]
pub struct MonotonicClock {
    epoch: Instant,
    last: AtomicU64,
}

impl MonotonicClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        let elapsed = self.epoch.elapsed();
        // Saturates after 584 years of uptime. (Whole seconds and the rest, rather than
        // `as_nanos`, whose 128-bit product costs more than the reading on this path.)
        let now = elapsed
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(elapsed.subsec_nanos()));
        let last = self.last.load(Ordering::Relaxed);
        if now <= last {
            return last;
        }
        // One exchange from the value just read; if another thread stored a reading meanwhile,
        // keep the larger of the two.
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => now,
            Err(_) => self.last.fetch_max(now, Ordering::Relaxed).max(now),
        }
    }
}

/// A clock moved only by the caller: deterministic tests of triggering and reset.
///
/// Clones share the same time. `set` to an earlier time is ignored, so the manual clock keeps
/// the same guarantee as [`MonotonicClock`].
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at its epoch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the clock to `at` after its epoch; earlier than the current time is ignored.
    pub fn set(&self, at: Duration) {
        let at = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.now.fetch_max(at, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_never_decreases() {
        let clock = MonotonicClock::new();
        let mut last = 0;
        for _ in 0..10_000 {
            let now = clock.now_nanos();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn manual_clock_ignores_going_back() {
        let clock = ManualClock::new();
        clock.set(Duration::from_secs(5));
        clock.set(Duration::from_secs(1));
        assert_eq!(clock.now_nanos(), 5_000_000_000);
        clock.advance(Duration::from_millis(1));
        assert_eq!(clock.now_nanos(), 5_001_000_000);
    }
}
