//! Policies: how many requests per period, the burst, shadow mode and the failure policy.

use std::{fmt, sync::Arc, time::Duration};

/// The largest GCRA horizon (`burst` emission intervals) a policy may span, in microseconds.
///
/// Keeps every quantity the Redis script handles far below 2^53, where Lua's numbers stop
/// being exact integers.
const MAX_HORIZON_MICROS: u64 = 1 << 45;
/// The longest policy name; names become part of Redis keys and metric labels.
const MAX_NAME_LEN: usize = 64;

/// What to do with a decision when the shared store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Admit the request (availability first). The decision reports full capacity.
    Open,
    /// Deny the request (protection first), with `retry_after` of one emission interval.
    #[default]
    Closed,
    /// Decide with a local in-process limiter using the same policy. Each process then
    /// enforces the full limit on its own, so a fleet of N admits up to N times the limit
    /// while the store is down.
    Local,
}

/// Whether a policy's denials are enforced or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Denials deny.
    #[default]
    Enforce,
    /// Decisions are computed, counted and logged, but the caller is told to admit: for
    /// trying a new limit on production traffic.
    Shadow,
}

/// A policy that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The name is empty, longer than 64 bytes, or has characters other than ASCII letters,
    /// digits, `_`, `-` and `.`.
    #[error(
        "policy name {0:?} must be 1 to 64 ASCII letters, digits, '_', '-' or '.' (it becomes part of store keys and metric labels)"
    )]
    InvalidName(String),
    /// The limit is zero.
    #[error("a policy's limit must be at least 1 request per period")]
    ZeroLimit,
    /// The burst is zero.
    #[error("a policy's burst must be at least 1")]
    ZeroBurst,
    /// The period divided by the limit is below one microsecond.
    #[error(
        "period / limit must be at least 1 microsecond (the shared store counts in whole microseconds); raise the period or lower the limit"
    )]
    IntervalTooShort,
    /// burst x (period / limit) is longer than about 400 days.
    #[error("burst x (period / limit) must stay under 2^45 microseconds (about 400 days)")]
    HorizonTooLong,
}

/// A rate limit: `limit` requests per `period`, with bursts up to `burst` (by default equal to
/// the limit), evaluated with GCRA.
///
/// The emission interval `period / limit` is truncated to whole microseconds so that the
/// in-process and Redis backends compute with the same integers.
#[derive(Clone, Eq)]
pub struct Policy {
    inner: Arc<Settings>,
}

/// A policy's settings, shared by its clones.
#[derive(Clone, PartialEq, Eq)]
struct Settings {
    name: Box<str>,
    limit: u32,
    burst: u32,
    period: Duration,
    interval_micros: u64,
    mode: Mode,
    failure: FailurePolicy,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        // Clones share their settings: the common case (a backend finding the policy it was
        // handed before) is one pointer compare instead of the name and six settings.
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner == other.inner
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &*self.inner;
        f.debug_struct("Policy")
            .field("name", &s.name)
            .field("limit", &s.limit)
            .field("burst", &s.burst)
            .field("period", &s.period)
            .field("mode", &s.mode)
            .field("failure", &s.failure)
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// `limit` requests per `period`, burst equal to the limit, enforced, failing closed.
    ///
    /// # Errors
    ///
    /// See [`PolicyError`].
    pub fn new(name: &str, limit: u32, period: Duration) -> Result<Self, PolicyError> {
        let valid_name = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid_name {
            return Err(PolicyError::InvalidName(name.chars().take(80).collect()));
        }
        if limit == 0 {
            return Err(PolicyError::ZeroLimit);
        }
        let period_micros = u64::try_from(period.as_micros()).unwrap_or(u64::MAX);
        let interval_micros = period_micros / u64::from(limit);
        if interval_micros == 0 {
            return Err(PolicyError::IntervalTooShort);
        }
        let policy = Self {
            inner: Arc::new(Settings {
                name: name.into(),
                limit,
                burst: limit,
                period,
                interval_micros,
                mode: Mode::Enforce,
                failure: FailurePolicy::Closed,
            }),
        };
        policy.check_horizon()?;
        Ok(policy)
    }

    fn check_horizon(&self) -> Result<(), PolicyError> {
        match self
            .inner
            .interval_micros
            .checked_mul(u64::from(self.inner.burst))
        {
            Some(h) if h <= MAX_HORIZON_MICROS => Ok(()),
            _ => Err(PolicyError::HorizonTooLong),
        }
    }

    /// Allows bursts of up to `burst` requests (the sustained rate stays `limit / period`).
    ///
    /// # Errors
    ///
    /// [`PolicyError::ZeroBurst`], [`PolicyError::HorizonTooLong`].
    pub fn with_burst(mut self, burst: u32) -> Result<Self, PolicyError> {
        if burst == 0 {
            return Err(PolicyError::ZeroBurst);
        }
        Arc::make_mut(&mut self.inner).burst = burst;
        self.check_horizon()?;
        Ok(self)
    }

    /// Sets shadow or enforce mode.
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Self {
        Arc::make_mut(&mut self.inner).mode = mode;
        self
    }

    /// Sets what happens when the shared store is unreachable.
    #[must_use]
    pub fn with_failure_policy(mut self, failure: FailurePolicy) -> Self {
        Arc::make_mut(&mut self.inner).failure = failure;
        self
    }

    /// The policy's name (metrics label, header policy name, store key part).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Requests per period.
    pub fn limit(&self) -> u32 {
        self.inner.limit
    }

    /// The largest number of requests admitted at once.
    pub fn burst(&self) -> u32 {
        self.inner.burst
    }

    /// The period the limit applies to.
    pub fn period(&self) -> Duration {
        self.inner.period
    }

    /// The emission interval (period / limit, whole microseconds).
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.inner.interval_micros)
    }

    pub(crate) fn interval_micros(&self) -> u64 {
        self.inner.interval_micros
    }

    /// GCRA's delay variation tolerance: (burst - 1) emission intervals.
    pub(crate) fn tau_micros(&self) -> u64 {
        self.inner.interval_micros * u64::from(self.inner.burst - 1)
    }

    /// Enforce or shadow.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The failure policy.
    pub fn failure_policy(&self) -> FailurePolicy {
        self.inner.failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_policies() {
        let s = Duration::from_secs(1);
        assert_eq!(Policy::new("a", 0, s), Err(PolicyError::ZeroLimit));
        assert!(matches!(
            Policy::new("a b", 1, s),
            Err(PolicyError::InvalidName(_))
        ));
        assert!(matches!(
            Policy::new("", 1, s),
            Err(PolicyError::InvalidName(_))
        ));
        assert_eq!(
            Policy::new("a", 2_000_000, s),
            Err(PolicyError::IntervalTooShort)
        );
        assert_eq!(
            Policy::new("a", 1, Duration::from_secs(500 * 86_400)),
            Err(PolicyError::HorizonTooLong)
        );
        let p = Policy::new("a", 10, s).expect("valid");
        assert_eq!(p.clone().with_burst(0), Err(PolicyError::ZeroBurst));
        assert_eq!(p.interval(), Duration::from_millis(100));
        assert_eq!(p.tau_micros(), 900_000);
    }

    /// Equality is by value: a clone (shared name) and a policy built again from the same
    /// settings (its own name) are the same policy; any differing setting makes another.
    #[test]
    fn policies_are_equal_by_value() {
        let s = Duration::from_secs(1);
        let p = Policy::new("api", 10, s).expect("valid");
        assert_eq!(p, p.clone());
        assert_eq!(p, Policy::new("api", 10, s).expect("valid"));
        assert_ne!(p, Policy::new("apj", 10, s).expect("valid"));
        assert_ne!(p, Policy::new("api", 11, s).expect("valid"));
        assert_ne!(p, Policy::new("api", 20, 2 * s).expect("valid"));
        assert_ne!(p, p.clone().with_burst(5).expect("valid"));
        assert_ne!(p, p.clone().with_mode(Mode::Shadow));
        assert_ne!(p, p.clone().with_failure_policy(FailurePolicy::Open));
    }

    /// Clones share their settings until one is changed: changing a clone never changes the
    /// policy it was cloned from, and a clone changed back equals it again.
    #[test]
    fn changing_a_clone_leaves_the_original_alone() {
        let p = Policy::new("api", 10, Duration::from_secs(1)).expect("valid");
        let shadow = p.clone().with_mode(Mode::Shadow);
        let burst = p.clone().with_burst(3).expect("valid");
        let open = p.clone().with_failure_policy(FailurePolicy::Open);
        assert_eq!(
            (p.mode(), p.burst(), p.failure_policy()),
            (Mode::Enforce, 10, FailurePolicy::Closed)
        );
        assert_eq!(shadow.mode(), Mode::Shadow);
        assert_eq!(burst.burst(), 3);
        assert_eq!(open.failure_policy(), FailurePolicy::Open);
        assert_eq!(shadow.with_mode(Mode::Enforce), p);
        assert_eq!(burst.with_burst(10).expect("valid"), p);
    }
}
