//! A subject and its baseline timed in turn, a short slice each, so that both meet the same host.
//!
//! Criterion times one function after another, seconds apart; on a shared or virtual machine the
//! host's speed drifts by more than a thin wrapper's own cost in that time. Taking turns puts
//! both sides of every pair of slices in the same few milliseconds, and the ratio per pair shows
//! how far the drift reached.

use std::time::{Duration, Instant};

use crate::Spread;

/// What [`Turns::run`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turns {
    /// The subject's mean time per operation over every counted slice, in nanoseconds (a
    /// `Duration` would round it to a whole nanosecond, which is 2 % of a 50 ns operation).
    pub subject_ns: f64,
    /// The baseline's mean time per operation over every counted slice, in nanoseconds.
    pub baseline_ns: f64,
    /// The subject's time over the baseline's, per pair of slices.
    pub ratios: Spread,
}

impl Turns {
    /// Times `pairs` pairs of slices of `subject` and `baseline`, each slice the same number of
    /// operations (about `slice` of the subject's time, measured first), the side that goes
    /// first alternating from pair to pair, after one uncounted slice of each.
    ///
    /// ```
    /// use std::{hint::black_box, time::Duration};
    ///
    /// use palisade_testkit::Turns;
    ///
    /// let sum = |n: u64| {
    ///     black_box((0..black_box(n)).sum::<u64>());
    /// };
    /// let turns = Turns::run(
    ///     || sum(64),
    ///     || sum(32),
    ///     20,
    ///     Duration::from_micros(200),
    /// );
    /// assert!(turns.subject_ns > 0.0 && turns.baseline_ns > 0.0);
    /// assert!(turns.ratios.low <= turns.ratios.median && turns.ratios.median <= turns.ratios.high);
    /// ```
    ///
    /// # Panics
    ///
    /// When `pairs` is zero.
    pub fn run(
        mut subject: impl FnMut(),
        mut baseline: impl FnMut(),
        pairs: u32,
        slice: Duration,
    ) -> Self {
        assert!(pairs > 0, "at least one pair of slices");
        let per_slice = operations_in(slice, &mut subject);
        let time = |op: &mut dyn FnMut()| {
            let start = Instant::now();
            for _ in 0..per_slice {
                op();
            }
            start.elapsed()
        };
        time(&mut subject);
        time(&mut baseline);
        let (mut total_subject, mut total_baseline) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::with_capacity(pairs as usize);
        for pair in 0..pairs {
            let (a, b) = if pair % 2 == 0 {
                let a = time(&mut subject);
                (a, time(&mut baseline))
            } else {
                let b = time(&mut baseline);
                (time(&mut subject), b)
            };
            total_subject += a;
            total_baseline += b;
            ratios.push(a.as_secs_f64() / b.as_secs_f64());
        }
        let operations = f64::from(pairs) * f64::from(per_slice);
        Self {
            subject_ns: total_subject.as_secs_f64() * 1e9 / operations,
            baseline_ns: total_baseline.as_secs_f64() * 1e9 / operations,
            ratios: Spread::of(&ratios),
        }
    }

    /// The subject's mean time over the baseline's, over every counted slice.
    #[must_use]
    pub fn overall(&self) -> f64 {
        self.subject_ns / self.baseline_ns
    }
}

/// The command line of an example that takes turns: `[--tsv] [PAIRS]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnsArgs {
    /// `--tsv`: lines for `cargo xtask bench` instead of a summary.
    pub tsv: bool,
    /// How many pairs of slices; 1,000 when not given.
    pub pairs: u32,
}

impl TurnsArgs {
    /// Reads `args` (without the program's name).
    ///
    /// ```
    /// use palisade_testkit::TurnsArgs;
    ///
    /// let args = TurnsArgs::parse(["--tsv".to_owned(), "100".to_owned()], "ratio")?;
    /// assert_eq!((args.tsv, args.pairs), (true, 100));
    /// # Ok::<(), String>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The usage line, naming `program`, for anything else or for zero pairs.
    pub fn parse(args: impl IntoIterator<Item = String>, program: &str) -> Result<Self, String> {
        let usage = || format!("usage: {program} [--tsv] [PAIRS]");
        let mut args: Vec<String> = args.into_iter().collect();
        let tsv = args.first().is_some_and(|a| a == "--tsv");
        if tsv {
            args.remove(0);
        }
        let pairs = match args.as_slice() {
            [] => 1000,
            [n] => n.parse().map_err(|_| usage())?,
            _ => return Err(usage()),
        };
        if pairs == 0 {
            return Err(usage());
        }
        Ok(Self { tsv, pairs })
    }
}

/// How many runs of `op` take about `slice`, from trials of doubling length: at least one, and
/// at most 2^20, so that an operation too quick for the clock still gets slices that end.
fn operations_in(slice: Duration, op: &mut impl FnMut()) -> u32 {
    const MOST: u32 = 1 << 20;
    let mut n = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        let took = start.elapsed();
        if took >= slice / 4 || n >= MOST {
            let per_op = took.as_secs_f64() / f64::from(n);
            if per_op <= 0.0 {
                return MOST;
            }
            let wanted = (slice.as_secs_f64() / per_op).clamp(1.0, f64::from(MOST));
            // Clamped to 1..=2^20 just above.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped to 1..=2^20 first"
            )]
            return wanted as u32;
        }
        n *= 2;
    }
}

#[cfg(test)]
mod tests {
    use std::{hint::black_box, thread};

    use super::*;

    #[test]
    fn a_slower_subject_has_a_ratio_above_one_in_every_quartile() {
        // A sleep lasts at least its length; the baseline does next to nothing.
        let turns = Turns::run(
            || thread::sleep(Duration::from_micros(200)),
            || {
                black_box(0u8);
            },
            10,
            Duration::from_millis(1),
        );
        assert!(turns.ratios.low > 1.0, "{turns:?}");
        assert!(turns.overall() > 1.0, "{turns:?}");
        assert!(turns.subject_ns > 200_000.0, "{turns:?}");
    }

    #[test]
    fn both_sides_run_the_same_number_of_times() {
        let (mut a, mut b) = (0u64, 0u64);
        let _ = Turns::run(
            || a += black_box(1),
            || b += black_box(1),
            7,
            Duration::from_micros(50),
        );
        // The baseline ran eight equal slices (one uncounted); the subject the same, plus the
        // trials of 1, 2, 4, … runs that sized the slices.
        assert!(b >= 8 && b % 8 == 0, "{b}");
        assert!((a - b + 1).is_power_of_two(), "{a} against {b}");
    }

    #[test]
    fn the_command_line_is_read_or_refused_with_its_usage() {
        let parse = |args: &[&str]| TurnsArgs::parse(args.iter().map(|a| (*a).to_owned()), "ratio");
        assert_eq!(
            parse(&[]),
            Ok(TurnsArgs {
                tsv: false,
                pairs: 1000
            })
        );
        assert_eq!(
            parse(&["--tsv"]),
            Ok(TurnsArgs {
                tsv: true,
                pairs: 1000
            })
        );
        assert_eq!(
            parse(&["50"]),
            Ok(TurnsArgs {
                tsv: false,
                pairs: 50
            })
        );
        for bad in [
            &["0"][..],
            &["many"],
            &["50", "--tsv"],
            &["--tsv", "1", "2"],
        ] {
            assert_eq!(
                parse(bad),
                Err("usage: ratio [--tsv] [PAIRS]".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "at least one pair")]
    fn no_pairs_is_refused() {
        let _ = Turns::run(|| {}, || {}, 0, Duration::from_micros(1));
    }
}
