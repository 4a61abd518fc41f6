//! Argon2id cost parameters, their named presets and their validation.

use core::{fmt, str::FromStr};

use crate::error::ConfigError;

/// Length of the random salt palisade generates, in bytes (RFC 9106 recommends 16).
pub const SALT_LEN: usize = 16;

/// Argon2id cost parameters for new hashes.
///
/// Fields are private so every value has passed validation: either [`Params::new`], which also
/// refuses anything weaker than OWASP's weakest recommendation, or the visibly named
/// [`Params::insecure`] for tests.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    m_kib: u32,
    t: u32,
    p: u32,
    output_len: usize,
}

impl Params {
    /// The default: OWASP's first recommendation, m = 19456 KiB (19 MiB), t = 2, p = 1.
    pub const DEFAULT: Self = Preset::Owasp.params();

    /// Smallest memory cost [`Params::new`] accepts, in KiB (OWASP's t = 5 point).
    pub const MIN_SAFE_M_KIB: u32 = 7168;

    /// Smallest memory × time product [`Params::new`] accepts (OWASP's t = 5 point).
    pub const MIN_SAFE_M_T: u64 = 35_840;

    /// Default hash output length in bytes.
    pub const DEFAULT_OUTPUT_LEN: usize = 32;

    /// Validated parameters: `m_kib` memory in KiB, `t` passes, `p` lanes.
    ///
    /// # Errors
    /// [`ConfigError`] when a value is outside Argon2's ranges or weaker than OWASP's weakest
    /// recommended point (m ≥ 7168 KiB and m × t ≥ 35840).
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, ConfigError> {
        let params = Self::insecure(m_kib, t, p)?;
        if m_kib < Self::MIN_SAFE_M_KIB || u64::from(m_kib) * u64::from(t) < Self::MIN_SAFE_M_T {
            return Err(ConfigError::BelowMinimumStrength { m_kib, t });
        }
        Ok(params)
    }

    /// Parameters checked only against Argon2's own ranges, with no strength floor.
    ///
    /// For tests and benchmarks that need fast hashes. Never use it for real passwords.
    ///
    /// # Errors
    /// [`ConfigError`] when a value is outside Argon2's ranges (`m ≥ 8p`, `t ≥ 1`,
    /// `1 ≤ p ≤ 255`).
    pub fn insecure(m_kib: u32, t: u32, p: u32) -> Result<Self, ConfigError> {
        if p == 0 || p > 255 {
            return Err(ConfigError::ParallelismOutOfRange { p });
        }
        if t == 0 {
            return Err(ConfigError::TimeTooLow);
        }
        let min_kib = 8 * p;
        if m_kib < min_kib {
            return Err(ConfigError::MemoryTooLow { m_kib, min_kib });
        }
        Ok(Self {
            m_kib,
            t,
            p,
            output_len: Self::DEFAULT_OUTPUT_LEN,
        })
    }

    /// The same parameters with another hash output length (16 to 64 bytes).
    ///
    /// # Errors
    /// [`ConfigError::OutputLengthOutOfRange`] outside 16..=64.
    pub fn with_output_len(mut self, len: usize) -> Result<Self, ConfigError> {
        if !(16..=64).contains(&len) {
            return Err(ConfigError::OutputLengthOutOfRange { len });
        }
        self.output_len = len;
        Ok(self)
    }

    /// Memory cost in KiB.
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Time cost (passes over memory).
    pub const fn t(&self) -> u32 {
        self.t
    }

    /// Parallelism (lanes).
    pub const fn p(&self) -> u32 {
        self.p
    }

    /// The work these parameters ask for, as [`Limits::max_work`](crate::Limits::max_work)
    /// counts it: memory (KiB) × passes × lanes.
    pub const fn work(&self) -> u64 {
        self.m_kib as u64 * self.t as u64 * self.p as u64
    }

    /// Hash output length in bytes.
    pub const fn output_len(&self) -> usize {
        self.output_len
    }
}

impl Default for Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Params(argon2id m={} t={} p={} len={})",
            self.m_kib, self.t, self.p, self.output_len
        )
    }
}

/// Named parameter sets from OWASP's Password Storage Cheat Sheet and RFC 9106.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// OWASP: m = 19456 KiB, t = 2, p = 1. The default. Name `owasp`.
    Owasp,
    /// OWASP alternative: m = 47104 KiB, t = 1, p = 1. Name `owasp-m47104-t1`.
    OwaspM47104T1,
    /// OWASP alternative: m = 12288 KiB, t = 3, p = 1. Name `owasp-m12288-t3`.
    OwaspM12288T3,
    /// OWASP alternative: m = 9216 KiB, t = 4, p = 1. Name `owasp-m9216-t4`.
    OwaspM9216T4,
    /// OWASP alternative: m = 7168 KiB, t = 5, p = 1. Name `owasp-m7168-t5`.
    OwaspM7168T5,
    /// RFC 9106 first recommendation: m = 2 GiB, t = 1, p = 4. Name `rfc9106-first`.
    /// Needs [`Limits`](crate::Limits) and the memory budget raised to at least 2 GiB.
    Rfc9106First,
    /// RFC 9106 second recommendation: m = 64 MiB, t = 3, p = 4. Name `rfc9106-second`.
    Rfc9106Second,
}

impl Preset {
    /// Every preset, in the order of the documentation.
    pub const ALL: [Self; 7] = [
        Self::Owasp,
        Self::OwaspM47104T1,
        Self::OwaspM12288T3,
        Self::OwaspM9216T4,
        Self::OwaspM7168T5,
        Self::Rfc9106First,
        Self::Rfc9106Second,
    ];

    /// The preset's parameters.
    pub const fn params(self) -> Params {
        let (m_kib, t, p) = match self {
            Self::Owasp => (19_456, 2, 1),
            Self::OwaspM47104T1 => (47_104, 1, 1),
            Self::OwaspM12288T3 => (12_288, 3, 1),
            Self::OwaspM9216T4 => (9_216, 4, 1),
            Self::OwaspM7168T5 => (7_168, 5, 1),
            Self::Rfc9106First => (2 * 1024 * 1024, 1, 4),
            Self::Rfc9106Second => (64 * 1024, 3, 4),
        };
        Params {
            m_kib,
            t,
            p,
            output_len: Params::DEFAULT_OUTPUT_LEN,
        }
    }

    /// The preset's stable name, as accepted by [`FromStr`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::Owasp => "owasp",
            Self::OwaspM47104T1 => "owasp-m47104-t1",
            Self::OwaspM12288T3 => "owasp-m12288-t3",
            Self::OwaspM9216T4 => "owasp-m9216-t4",
            Self::OwaspM7168T5 => "owasp-m7168-t5",
            Self::Rfc9106First => "rfc9106-first",
            Self::Rfc9106Second => "rfc9106-second",
        }
    }
}

/// A preset name that is not one of [`Preset::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown preset; expected one of owasp, owasp-m47104-t1, owasp-m12288-t3, owasp-m9216-t4, \
     owasp-m7168-t5, rfc9106-first, rfc9106-second"
)]
pub struct UnknownPreset;

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|preset| preset.name() == s)
            .ok_or(UnknownPreset)
    }
}

impl From<Preset> for Params {
    fn from(preset: Preset) -> Self {
        preset.params()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_pass_validation_and_round_trip_names() {
        for preset in Preset::ALL {
            let p = preset.params();
            assert_eq!(Params::new(p.m_kib(), p.t(), p.p()), Ok(p), "{preset:?}");
            assert_eq!(preset.name().parse::<Preset>(), Ok(preset));
        }
        assert_eq!("OWASP".parse::<Preset>(), Err(UnknownPreset));
    }

    #[test]
    fn strength_floor() {
        assert!(matches!(
            Params::new(4096, 10, 1),
            Err(ConfigError::BelowMinimumStrength { .. })
        ));
        assert!(matches!(
            Params::new(8192, 4, 1),
            Err(ConfigError::BelowMinimumStrength { .. })
        ));
        assert!(Params::new(8192, 5, 1).is_ok());
        assert!(Params::insecure(8, 1, 1).is_ok());
        assert!(matches!(
            Params::insecure(15, 1, 2),
            Err(ConfigError::MemoryTooLow { .. })
        ));
        assert_eq!(Params::insecure(8, 0, 1), Err(ConfigError::TimeTooLow));
        assert!(Params::insecure(64, 1, 0).is_err());
        assert!(Params::insecure(8 * 256, 1, 256).is_err());
        assert!(Params::DEFAULT.with_output_len(15).is_err());
        assert!(Params::DEFAULT.with_output_len(65).is_err());
    }
}
