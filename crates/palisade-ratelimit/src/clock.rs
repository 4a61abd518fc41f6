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
///
/// Readings advance in steps of [`MonotonicClock::STEP_NANOS`] (1,024 ns): the ratchet, an
/// atomic compare-exchange, is written once per step rather than once per reading, which is
/// most of what a reading would otherwise cost on a busy key. Within a step the clock stands
/// still, so a limiter sees less time pass, never more: no extra capacity.
#[derive(Debug)]
pub struct MonotonicClock {
    epoch: Instant,
    last: AtomicU64,
}

impl MonotonicClock {
    /// The clock's resolution in nanoseconds: every reading is a multiple of it.
    pub const STEP_NANOS: u64 = 1 << 10;

    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// The reading for a raw time of `nanos` since the epoch: `nanos` down to its step, or the
    /// largest reading returned before if that is later (the platform's clock went back).
    #[inline]
    fn ratchet(&self, nanos: u64) -> u64 {
        let now = nanos & !(Self::STEP_NANOS - 1);
        let last = self.last.load(Ordering::Relaxed);
        if now <= last {
            return last;
        }
        // A new step: one exchange from the value just read; if another thread stored a
        // reading meanwhile, keep the larger of the two.
        match self
            .last
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => now,
            Err(_) => self.last.fetch_max(now, Ordering::Relaxed).max(now),
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
        self.ratchet(
            elapsed
                .as_secs()
                .saturating_mul(1_000_000_000)
                .saturating_add(u64::from(elapsed.subsec_nanos())),
        )
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
    fn monotonic_clock_reads_in_steps_close_behind_the_platform_clock() {
        let clock = MonotonicClock::new();
        for _ in 0..1_000 {
            let now = clock.now_nanos();
            let elapsed = u64::try_from(clock.epoch.elapsed().as_nanos()).unwrap();
            assert_eq!(now % MonotonicClock::STEP_NANOS, 0, "{now}");
            assert!(now <= elapsed, "{now} ahead of {elapsed}");
        }
        std::thread::sleep(Duration::from_millis(2));
        let later = clock.now_nanos();
        assert!(later >= 2_000_000, "{later}");
    }

    /// The platform's clock going back (the case the ratchet exists for) never shows: the
    /// reading stays at the largest one returned, within a step and across steps.
    #[test]
    fn the_clock_never_runs_backwards_when_the_platform_clock_does() {
        let clock = MonotonicClock::new();
        let step = MonotonicClock::STEP_NANOS;
        let raw = [
            10 * step + 5,
            10 * step + 900,
            10 * step + 1,
            3 * step,
            12 * step + 7,
            11 * step + 1_023,
            0,
            12 * step,
            13 * step,
        ];
        let readings: Vec<u64> = raw.iter().map(|&r| clock.ratchet(r)).collect();
        assert_eq!(
            readings,
            [10, 10, 10, 10, 12, 12, 12, 12, 13].map(|s| s * step)
        );
    }

    /// Threads reading one clock together: no thread ever sees a reading smaller than one it
    /// saw, and a reading taken after they all finish is at least the largest of theirs.
    #[test]
    fn concurrent_readers_never_see_the_clock_go_back() {
        let clock = MonotonicClock::new();
        let largest = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let mut last = 0;
                        for _ in 0..200_000 {
                            let now = clock.now_nanos();
                            assert!(now >= last, "{now} after {last}");
                            last = now;
                        }
                        last
                    })
                })
                .collect();
            readers
                .into_iter()
                .map(|r| r.join().unwrap())
                .max()
                .unwrap()
        });
        assert!(clock.now_nanos() >= largest);
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
