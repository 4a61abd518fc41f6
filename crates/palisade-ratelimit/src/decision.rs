//! The outcome of one check, and the GCRA arithmetic both backends share.

use std::time::Duration;

/// The outcome of checking a key against a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The policy's limit (requests per period).
    pub limit: u32,
    /// Requests of cost 1 that would still be admitted right now, after this decision.
    pub remaining: u32,
    /// Time until the key's capacity is fully restored.
    pub reset: Duration,
    /// For a denial, the time after which the same request would be admitted; `None` when
    /// allowed, and `None` on a denial whose cost exceeds the policy's burst (it can never be
    /// admitted).
    pub retry_after: Option<Duration>,
}

/// GCRA over integer time in one unit (nanoseconds in process, microseconds in Redis).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gcra {
    /// Emission interval.
    pub(crate) t: u64,
    /// Delay variation tolerance: (burst - 1) x t.
    pub(crate) tau: u64,
    /// `floor((2^64 - 1) / t)`: dividing by `t` on every decision becomes a multiplication.
    recip: u64,
}

impl Gcra {
    /// `t` is at least 1 (a zero interval is treated as 1).
    pub(crate) fn new(t: u64, tau: u64) -> Self {
        let t = t.max(1);
        Self {
            t,
            tau,
            recip: u64::MAX / t,
        }
    }

    /// `n / t`, exactly, without a division instruction (tens of cycles on the decision path).
    ///
    /// With `m = floor((2^64 - 1) / t)`, `q = floor(n * m / 2^64)` is never above `n / t` and
    /// at most two below it, so the remainder check below settles it.
    fn div_t(self, n: u64) -> u64 {
        let mut q = ((u128::from(n) * u128::from(self.recip)) >> 64) as u64;
        let mut r = n - q * self.t;
        while r >= self.t {
            q += 1;
            r -= self.t;
        }
        q
    }

    /// The theoretical arrival time after admitting `cost` at `now`, or `Err(earliest)` when
    /// the request does not conform yet. `tat` is the stored state (`None`: fresh key).
    #[cfg(test)]
    pub(crate) fn step(self, tat: Option<u64>, now: u64, cost: u64) -> Result<u64, u64> {
        let tat = tat.unwrap_or(now);
        let weight = self.t * (cost - 1);
        let earliest = (tat + weight).saturating_sub(self.tau);
        if now < earliest {
            Err(earliest)
        } else {
            Ok(tat.max(now) + self.t + weight)
        }
    }

    /// Cost-1 requests that conform at `now` given `tat`.
    pub(crate) fn remaining(self, tat: u64, now: u64) -> u64 {
        self.div_t(
            (now + self.tau + self.t)
                .saturating_sub(tat)
                .min(self.tau + self.t),
        )
    }
}

/// Builds a decision from GCRA state measured in `unit`-long ticks.
pub(crate) fn decide(
    gcra: Gcra,
    limit: u32,
    now: u64,
    outcome: Outcome,
    unit: fn(u64) -> Duration,
) -> Decision {
    match outcome {
        Outcome::Allowed { tat } => Decision {
            allowed: true,
            limit,
            remaining: clamp(gcra.remaining(tat, now)),
            reset: unit(tat.saturating_sub(now)),
            retry_after: None,
        },
        Outcome::Denied { tat, earliest } => Decision {
            allowed: false,
            limit,
            remaining: clamp(gcra.remaining(tat, now)),
            reset: unit(tat.saturating_sub(now)),
            retry_after: earliest.map(|e| unit(e.saturating_sub(now))),
        },
    }
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What the store saw.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    /// Admitted; `tat` is the new theoretical arrival time.
    Allowed { tat: u64 },
    /// Not admitted; `tat` is the unchanged state, `earliest` when it would conform (`None`:
    /// never, the cost exceeds the burst).
    Denied { tat: u64, earliest: Option<u64> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady() {
        let g = Gcra::new(10, 20);
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(g.step(tat, 0, 1).expect("burst of three"));
        }
        assert_eq!(g.step(tat, 0, 1), Err(10));
        assert_eq!(g.step(tat, 10, 1), Ok(40));
    }

    #[test]
    fn division_by_reciprocal_is_exact() {
        let divisors = [
            1,
            2,
            3,
            7,
            10,
            1_000,
            999_983,
            1_000_000_007,
            (1 << 32) - 1,
            1 << 32,
            (1 << 45) * 1_000,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for &t in &divisors {
            let g = Gcra::new(t, 0);
            let check = |n: u64| assert_eq!(g.div_t(n), n / t, "{n} / {t}");
            for n in [0, 1, t - 1, t, t.saturating_add(1), u64::MAX, u64::MAX - 1] {
                check(n);
            }
            for k in [1u64, 2, 3, 1_000, u64::MAX / t] {
                let n = t.saturating_mul(k);
                check(n);
                check(n.saturating_sub(1));
                check(n.saturating_add(1));
            }
            for _ in 0..10_000 {
                // xorshift64: a spread of numerators without a dependency.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                check(x);
                check(x >> (x % 64));
            }
        }
    }
}
