//! The crate's three error types.
//!
//! Configuration errors say exactly what is wrong, because they reach the developer who wrote
//! the configuration. Verification errors say nothing to the caller beyond "failed", because they
//! reach whoever typed the password; [`VerifyError::kind`] gives logs and metrics the reason.

use core::fmt;

/// A configuration that palisade refuses: parameters, limits, peppers or policy settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The memory cost is below what Argon2 accepts or what is safe.
    #[error("argon2 memory cost {m_kib} KiB is below the minimum of {min_kib} KiB")]
    MemoryTooLow {
        /// The value given.
        m_kib: u32,
        /// The smallest value accepted.
        min_kib: u32,
    },
    /// The parameters are weaker than the weakest OWASP-recommended point (m ≥ 7168 KiB and
    /// m × t ≥ 35840). Use [`Params::insecure`](crate::Params::insecure) only in tests.
    #[error(
        "argon2 parameters m={m_kib} KiB, t={t} are weaker than OWASP's minimum \
         (m >= 7168 KiB and m*t >= 35840)"
    )]
    BelowMinimumStrength {
        /// Memory cost given.
        m_kib: u32,
        /// Time cost given.
        t: u32,
    },
    /// The time cost (number of passes) is zero.
    #[error("argon2 time cost must be at least 1")]
    TimeTooLow,
    /// The number of lanes is zero or larger than Argon2 allows.
    #[error("argon2 parallelism {p} is outside 1..=255")]
    ParallelismOutOfRange {
        /// The value given.
        p: u32,
    },
    /// The hash output length is outside the range palisade produces.
    #[error("hash output length {len} is outside 16..=64 bytes")]
    OutputLengthOutOfRange {
        /// The value given.
        len: usize,
    },
    /// The policy parameters demand more than the configured [`Limits`](crate::Limits) allow,
    /// so every hash this hasher made would be refused by its own verify.
    #[error(
        "argon2 parameters (m={m_kib} KiB, t={t}, p={p}) exceed the configured limits; raise \
         them with Limits::max_memory_kib / max_time_cost / max_parallelism / max_work"
    )]
    ParamsExceedLimits {
        /// Memory cost of the policy.
        m_kib: u32,
        /// Time cost of the policy.
        t: u32,
        /// Lanes of the policy.
        p: u32,
    },
    /// The memory budget cannot hold even one hash at the largest memory cost the limits allow.
    #[error(
        "memory budget {budget_kib} KiB is smaller than the largest hash the limits allow \
         ({needed_kib} KiB); raise the budget or lower Limits::max_memory_kib"
    )]
    BudgetTooSmall {
        /// The budget given.
        budget_kib: u64,
        /// The memory one hash at the limits needs.
        needed_kib: u64,
    },
    /// A pepper identifier is empty, longer than 8 bytes, or not `[A-Za-z0-9_-]`.
    #[error("pepper id must be 1 to 8 characters from [A-Za-z0-9_-]")]
    InvalidPepperId,
    /// A pepper is shorter than 32 bytes.
    #[error("pepper must be at least 32 bytes of secret random data, got {len}")]
    PepperTooShort {
        /// The length given.
        len: usize,
    },
    /// Two peppers share one identifier.
    #[error("pepper id is used twice")]
    DuplicatePepperId,
    /// A password policy length setting is out of range.
    #[error("policy length bounds are invalid: {reason}")]
    InvalidPolicy {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Hashing a new password failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The memory budget was exhausted for longer than the configured wait; try again later
    /// (HTTP 503).
    #[error("password hashing is busy: memory budget exhausted")]
    Busy,
    /// The password is longer than [`Limits::max_password_bytes`](crate::Limits).
    #[error("password is longer than the configured maximum")]
    PasswordTooLong,
    /// The operating system's random number generator failed.
    #[error("operating system random number generator failed")]
    Rng,
    /// The hashing task was cancelled or panicked (async helpers only).
    #[error("password hashing task did not complete")]
    TaskFailed,
    /// Argon2 refused parameters that palisade had validated; a bug, please report it.
    #[error("password hashing failed unexpectedly")]
    Internal,
}

/// Why a verification failed, for logs and metrics. Never show it to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// The password does not match the stored hash.
    Mismatch,
    /// There was no stored hash (unknown account or account without password); a dummy
    /// verification ran so the response time matched a real one.
    NoStoredHash,
    /// The stored hash is not in any format palisade reads.
    Malformed,
    /// The stored hash is in a known format that is not enabled (enable the `legacy` feature)
    /// or not supported (an unknown algorithm variant or version).
    Unsupported,
    /// The stored hash demands more memory, time, lanes or length than [`Limits`](crate::Limits)
    /// allow; it was refused before any memory was allocated.
    ExceedsLimits,
    /// The stored hash names a pepper id this hasher does not know.
    UnknownPepper,
    /// The hasher has peppers but the stored hash was made without one (an Argon2 hash
    /// without `keyid`, or a legacy hash): refused as a possible planted downgrade. Open a
    /// migration window with
    /// [`HasherBuilder::insecure_accept_unpeppered_hashes`](crate::HasherBuilder::insecure_accept_unpeppered_hashes)
    /// while old hashes remain.
    PepperDowngrade,
    /// The password is longer than [`Limits::max_password_bytes`](crate::Limits).
    PasswordTooLong,
    /// The password is longer than the 72 bytes bcrypt reads, and the stored hash is bcrypt:
    /// refused rather than truncated, since any password sharing the first 72 bytes would
    /// match. Counts as a mismatch; a user whose real password is that long needs a reset.
    BcryptTruncation,
    /// The memory budget was exhausted for longer than the configured wait.
    Busy,
    /// The hashing task was cancelled or panicked (async helpers only).
    TaskFailed,
}

impl VerifyErrorKind {
    /// A short stable name, for log fields and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mismatch => "mismatch",
            Self::NoStoredHash => "no_stored_hash",
            Self::Malformed => "malformed",
            Self::Unsupported => "unsupported",
            Self::ExceedsLimits => "exceeds_limits",
            Self::UnknownPepper => "unknown_pepper",
            Self::PepperDowngrade => "pepper_downgrade",
            Self::PasswordTooLong => "password_too_long",
            Self::BcryptTruncation => "bcrypt_truncation",
            Self::Busy => "busy",
            Self::TaskFailed => "task_failed",
        }
    }
}

impl fmt::Display for VerifyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Password verification failed.
///
/// Its `Display` is the same for every reason, so it can be returned to a client as is;
/// [`kind`](Self::kind) tells logs why.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyError {
    kind: VerifyErrorKind,
}

impl VerifyError {
    pub(crate) const fn new(kind: VerifyErrorKind) -> Self {
        Self { kind }
    }

    /// Why verification failed. For logs and metrics only.
    pub const fn kind(&self) -> VerifyErrorKind {
        self.kind
    }

    /// True when the password was checked and is wrong (or there was no account, or it is
    /// longer than a bcrypt hash can check without truncating): the answer
    /// to give the user is "wrong user name or password". Every other kind is a fault of the
    /// stored data or the server.
    pub const fn is_mismatch(&self) -> bool {
        matches!(
            self.kind,
            VerifyErrorKind::Mismatch
                | VerifyErrorKind::NoStoredHash
                | VerifyErrorKind::BcryptTruncation
        )
    }
}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyError")
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("password verification failed")
    }
}

impl core::error::Error for VerifyError {}

impl From<VerifyErrorKind> for VerifyError {
    fn from(kind: VerifyErrorKind) -> Self {
        Self::new(kind)
    }
}
