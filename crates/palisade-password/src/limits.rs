//! Caps on what a stored hash may demand, checked before any memory is allocated.

/// The most a stored hash may demand of the server.
///
/// A hash string comes from the database; whoever can write the database (an SQL injection, a
/// compromised admin tool) could otherwise plant `m=4194304` and make every login allocate
/// 4 GiB. Every limit is checked on the parsed string before any hashing starts, and a hash
/// beyond them fails with [`VerifyErrorKind::ExceedsLimits`](crate::VerifyErrorKind).
///
/// Fields are plain settings; start from [`Limits::DEFAULT`] and change what you need:
///
/// ```
/// let mut limits = palisade_password::Limits::DEFAULT;
/// limits.max_memory_kib = 64 * 1024;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest Argon2 memory cost (and scrypt `128·r·N`), in KiB. Default 256 MiB.
    pub max_memory_kib: u32,
    /// Largest Argon2 time cost. Default 16.
    pub max_time_cost: u32,
    /// Largest Argon2 or scrypt parallelism. Default 16.
    pub max_parallelism: u32,
    /// Largest work a stored hash may ask for: the product memory (KiB) × passes × lanes for
    /// Argon2, and `128·r·N` bytes in KiB × 2 × `p` for scrypt (one pass writes its memory,
    /// one reads it). Default 786 432, RFC 9106's second recommendation (64 MiB, t = 3,
    /// p = 4) and about 20 times the default policy.
    ///
    /// The separate caps alone let a hash combine the largest memory with the most passes
    /// (256 MiB × 16, about 100 times the default policy's cost); the product cannot.
    /// palisade fills Argon2's lanes one after another, so its time grows with memory ×
    /// passes; counting lanes as well errs on the side of refusing.
    pub max_work: u64,
    /// Longest password accepted, in bytes after normalization. Default 4096.
    pub max_password_bytes: usize,
    /// Largest bcrypt cost (log2 rounds). Default 16.
    pub max_bcrypt_cost: u32,
    /// Most PBKDF2 iterations. Default 2 000 000 (three times OWASP's 600 000).
    pub max_pbkdf2_iterations: u32,
}

impl Limits {
    /// The defaults: room for every OWASP preset and RFC 9106's second, with headroom.
    pub const DEFAULT: Self = Self {
        max_memory_kib: 256 * 1024,
        max_time_cost: 16,
        max_parallelism: 16,
        max_work: 65_536 * 3 * 4,
        max_password_bytes: 4096,
        max_bcrypt_cost: 16,
        max_pbkdf2_iterations: 2_000_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
