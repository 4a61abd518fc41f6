//! The spread of ratios measured pair by pair, for benches that run a subject and its baseline
//! in turn.

/// The median and the first and third quartiles of a set of values, by nearest rank.
///
/// ```
/// use palisade_testkit::Spread;
///
/// let s = Spread::of(&[1.4, 1.1, 1.3, 1.2, 1.5]);
/// assert_eq!((s.low, s.median, s.high), (1.2, 1.3, 1.4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// The first quartile.
    pub low: f64,
    /// The median.
    pub median: f64,
    /// The third quartile.
    pub high: f64,
}

impl Spread {
    /// The spread of `values`, in any order; NaN throughout when there are none.
    #[must_use]
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let last = sorted.len().saturating_sub(1);
        // The value a quarter, a half and three quarters of the way from the first to the last.
        let at = |quarters: usize| {
            sorted
                .get((last * quarters + 2) / 4)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Self {
            low: at(1),
            median: at(2),
            high: at(3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_by_nearest_rank_and_nan_for_nothing() {
        let s = Spread::of(&[8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0, 9.0]);
        assert_eq!((s.low, s.median, s.high), (3.0, 5.0, 7.0));
        let one = Spread::of(&[2.5]);
        assert_eq!((one.low, one.median, one.high), (2.5, 2.5, 2.5));
        let none = Spread::of(&[]);
        assert!(none.low.is_nan() && none.median.is_nan() && none.high.is_nan());
    }
}
