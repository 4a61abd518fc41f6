//! Verification of legacy hashes, for migration to Argon2id: bcrypt, PBKDF2-SHA256 (PHC,
//! passlib and Django forms) and scrypt. They are never produced, and every successful
//! verification reports [`RehashReason::LegacyAlgorithm`](crate::RehashReason).

use base64::{
    Engine as _, alphabet,
    engine::{GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use password_hash::phc;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{ct::digests_match, error::VerifyErrorKind, limits::Limits};

/// A parsed legacy hash.
pub(crate) enum LegacyStored {
    /// `$2a$`, `$2b$`, `$2y$`: the whole string, already checked for shape and cost.
    Bcrypt { full: String, cost: u32 },
    /// Any of the three PBKDF2-HMAC-SHA256 encodings.
    Pbkdf2Sha256 {
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// scrypt in PHC form.
    Scrypt {
        params: scrypt::Params,
        memory_kib: u64,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl LegacyStored {
    /// What the verification is charged in the memory budget, in KiB.
    ///
    /// scrypt: the memory it allocates, `128·r·(N + p + 1)` bytes. bcrypt and PBKDF2 need a
    /// few KiB but burn CPU time, so they are charged the memory an Argon2 hash at the
    /// policy's `passes` would hold for as long: the budget then bounds the work in flight,
    /// not only the bytes. Never more than `cap_kib` (the largest Argon2 memory the limits
    /// allow, which the budget always holds).
    pub(crate) fn budget_kib(&self, passes: u32, cap_kib: u32) -> u64 {
        let passes = u64::from(passes.max(1));
        let charge = match self {
            Self::Scrypt { memory_kib, .. } => *memory_kib,
            Self::Pbkdf2Sha256 {
                iterations, hash, ..
            } => {
                // One PBKDF2 run of 32 output bytes per 32-byte block of the stored hash.
                let blocks = hash.len().div_ceil(32) as u64;
                u64::from(*iterations) * blocks / PBKDF2_ITERATIONS_PER_KIB_PASS / passes
            }
            Self::Bcrypt { cost, .. } => (1u64 << cost) * BCRYPT_KIB_PASSES_PER_ROUND / passes,
        };
        charge.clamp(MIN_CHARGE_KIB, u64::from(cap_kib))
    }

    /// Recomputes the hash of `password` and compares in constant time.
    ///
    /// bcrypt reads only the first 72 bytes of a password, so any longer password sharing
    /// them would match. A password over 72 bytes is refused against a bcrypt hash
    /// ([`VerifyErrorKind::BcryptTruncation`]) instead, before any work: verification never
    /// truncates, and no such password can be rehashed into Argon2id by a login.
    pub(crate) fn matches(&self, password: &[u8]) -> Result<bool, VerifyErrorKind> {
        Ok(match self {
            Self::Bcrypt { full, .. } => {
                if password.len() > BCRYPT_MAX_PASSWORD {
                    return Err(VerifyErrorKind::BcryptTruncation);
                }
                bcrypt::verify(password, full).unwrap_or(false)
            }
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = Zeroizing::new(vec![0u8; hash.len()]);
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut out);
                digests_match(out.as_slice(), hash.as_slice())
            }
            Self::Scrypt {
                params, salt, hash, ..
            } => {
                let mut out = Zeroizing::new(vec![0u8; hash.len()]);
                scrypt::scrypt(password, salt, params, &mut out).is_ok()
                    && digests_match(out.as_slice(), hash.as_slice())
            }
        })
    }
}

/// The smallest budget charge, in KiB: the few KiB any verification holds.
const MIN_CHARGE_KIB: u64 = 4;

/// PBKDF2-HMAC-SHA256 iterations that take about as long as Argon2 filling one 1 KiB block
/// (measured 6 to 10, rounded to a power of two; docs/benchmarks.md).
const PBKDF2_ITERATIONS_PER_KIB_PASS: u64 = 8;

/// Argon2 blocks (KiB × passes) that take about as long as one bcrypt round, a cost of `c`
/// being `2^c` rounds (measured 48 to 77; docs/benchmarks.md).
const BCRYPT_KIB_PASSES_PER_ROUND: u64 = 64;

/// The longest password bcrypt reads in full, in bytes.
const BCRYPT_MAX_PASSWORD: usize = 72;

/// passlib's "adapted base64": the standard alphabet with `.` for `+`, no padding.
fn ab64_decode(s: &str) -> Option<Vec<u8>> {
    let standard = s.replace('.', "+");
    let engine = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
    );
    engine.decode(standard).ok()
}

fn decimal(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Hash and salt lengths accepted for PBKDF2 and scrypt, in bytes. PBKDF2 and scrypt output
/// is a prefix of any longer output, so a hash cut short would still verify: below 32 bytes
/// (every library's default) it is refused.
const MIN_SALT: usize = 8;
const MAX_SALT: usize = 64;
const MIN_HASH: usize = 32;
const MAX_HASH: usize = 64;

pub(crate) fn parse(s: &str, limits: &Limits) -> Result<LegacyStored, VerifyErrorKind> {
    if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
        parse_bcrypt(s, limits)
    } else if s.starts_with("$pbkdf2-sha256$") {
        parse_pbkdf2(s, limits)
    } else if let Some(rest) = s.strip_prefix("pbkdf2_sha256$") {
        parse_django(rest, limits)
    } else if s.starts_with("$scrypt$") {
        parse_scrypt(s, limits)
    } else {
        Err(VerifyErrorKind::Malformed)
    }
}

fn parse_bcrypt(s: &str, limits: &Limits) -> Result<LegacyStored, VerifyErrorKind> {
    // `$2b$` + two-digit cost + `$` + 22 salt + 31 hash characters = 60 bytes.
    let bytes = s.as_bytes();
    let shape_ok = bytes.len() == 60
        && bytes[6] == b'$'
        && bytes[7..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    if !shape_ok {
        return Err(VerifyErrorKind::Malformed);
    }
    let cost = s
        .get(4..6)
        .and_then(decimal)
        .ok_or(VerifyErrorKind::Malformed)?;
    if !(4..=31).contains(&cost) {
        return Err(VerifyErrorKind::Malformed);
    }
    if cost > limits.max_bcrypt_cost {
        return Err(VerifyErrorKind::ExceedsLimits);
    }
    Ok(LegacyStored::Bcrypt {
        full: s.to_owned(),
        cost,
    })
}

fn checked_lengths(salt: Vec<u8>, hash: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>), VerifyErrorKind> {
    if (MIN_SALT..=MAX_SALT).contains(&salt.len()) && (MIN_HASH..=MAX_HASH).contains(&hash.len()) {
        Ok((salt, hash))
    } else {
        Err(VerifyErrorKind::Malformed)
    }
}

fn checked_iterations(iterations: u32, limits: &Limits) -> Result<u32, VerifyErrorKind> {
    match iterations {
        0 => Err(VerifyErrorKind::Malformed),
        i if i > limits.max_pbkdf2_iterations => Err(VerifyErrorKind::ExceedsLimits),
        i => Ok(i),
    }
}

/// A PHC string without a `v=` field, as PBKDF2 and scrypt strings are.
fn unversioned_phc(s: &str) -> Result<phc::PasswordHash, VerifyErrorKind> {
    let phc = phc::PasswordHash::new(s).map_err(|_| VerifyErrorKind::Malformed)?;
    if phc.version.is_some() {
        return Err(VerifyErrorKind::Malformed);
    }
    Ok(phc)
}

/// The salt and hash of a PHC string, both present and of accepted lengths.
fn phc_salt_and_hash(phc: &phc::PasswordHash) -> Result<(Vec<u8>, Vec<u8>), VerifyErrorKind> {
    let salt = phc.salt.as_ref().ok_or(VerifyErrorKind::Malformed)?;
    let hash = phc.hash.as_ref().ok_or(VerifyErrorKind::Malformed)?;
    let (salt, hash) = (salt.as_ref().to_vec(), hash.as_bytes().to_vec());
    checked_lengths(salt, hash)
}

/// `$pbkdf2-sha256$i=N,l=32$salt$hash` (PHC, B64) or `$pbkdf2-sha256$N$salt$hash` (passlib).
fn parse_pbkdf2(s: &str, limits: &Limits) -> Result<LegacyStored, VerifyErrorKind> {
    let fields: Vec<&str> = s.split('$').collect();
    if let [_, _, rounds, salt, hash] = fields[..]
        && let Some(iterations) = decimal(rounds)
    {
        {
            // passlib's form.
            let iterations = checked_iterations(iterations, limits)?;
            let salt = ab64_decode(salt).ok_or(VerifyErrorKind::Malformed)?;
            let hash = ab64_decode(hash).ok_or(VerifyErrorKind::Malformed)?;
            let (salt, hash) = checked_lengths(salt, hash)?;
            return Ok(LegacyStored::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            });
        }
    }
    let phc = unversioned_phc(s)?;
    let mut iterations = None;
    for (name, value) in phc.params.iter() {
        let value = value.decimal().map_err(|_| VerifyErrorKind::Malformed)?;
        match name.as_str() {
            "i" => iterations = Some(value),
            // The output length is implied by the hash itself; it must agree.
            "l" if phc.hash.as_ref().map(phc::Output::len) == Some(value as usize) => {}
            _ => return Err(VerifyErrorKind::Malformed),
        }
    }
    let iterations = checked_iterations(iterations.ok_or(VerifyErrorKind::Malformed)?, limits)?;
    let (salt, hash) = phc_salt_and_hash(&phc)?;
    Ok(LegacyStored::Pbkdf2Sha256 {
        iterations,
        salt,
        hash,
    })
}

/// Django's `pbkdf2_sha256$iterations$salt$base64(hash)`; the salt is used as text.
fn parse_django(rest: &str, limits: &Limits) -> Result<LegacyStored, VerifyErrorKind> {
    let mut fields = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(VerifyErrorKind::Malformed);
    };
    let iterations = checked_iterations(
        decimal(iterations).ok_or(VerifyErrorKind::Malformed)?,
        limits,
    )?;
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| VerifyErrorKind::Malformed)?;
    // Django's salts are alphanumeric; older ones may be as short as 12 characters.
    if salt.is_empty() || salt.len() > MAX_SALT || !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(VerifyErrorKind::Malformed);
    }
    if !(MIN_HASH..=MAX_HASH).contains(&hash.len()) {
        return Err(VerifyErrorKind::Malformed);
    }
    Ok(LegacyStored::Pbkdf2Sha256 {
        iterations,
        salt: salt.as_bytes().to_vec(),
        hash,
    })
}

/// `$scrypt$ln=L,r=R,p=P$salt$hash`.
fn parse_scrypt(s: &str, limits: &Limits) -> Result<LegacyStored, VerifyErrorKind> {
    let phc = unversioned_phc(s)?;
    let (mut log_n, mut r, mut p) = (None, None, None);
    for (name, value) in phc.params.iter() {
        let value = value.decimal().map_err(|_| VerifyErrorKind::Malformed)?;
        match name.as_str() {
            "ln" => log_n = Some(value),
            "r" => r = Some(value),
            "p" => p = Some(value),
            _ => return Err(VerifyErrorKind::Malformed),
        }
    }
    let (Some(log_n), Some(r), Some(p)) = (log_n, r, p) else {
        return Err(VerifyErrorKind::Malformed);
    };
    if log_n == 0 || log_n >= 64 || r == 0 || p == 0 {
        return Err(VerifyErrorKind::Malformed);
    }
    // Memory is 128·r·(N + p + 1) bytes; each of the p lanes writes then reads the 128·r·N
    // bytes. Check both before building anything (log_n < 64 and r, p < 2^32: no overflow).
    let (n, r128) = (1u128 << log_n, 128 * u128::from(r));
    let memory_kib = (r128 * (n + u128::from(p) + 1)).div_ceil(1024);
    let work = r128 * n / 1024 * 2 * u128::from(p);
    if memory_kib > u128::from(limits.max_memory_kib)
        || p > limits.max_parallelism
        || work > u128::from(limits.max_work)
    {
        return Err(VerifyErrorKind::ExceedsLimits);
    }
    let log_n = u8::try_from(log_n).map_err(|_| VerifyErrorKind::Malformed)?;
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| VerifyErrorKind::Malformed)?;
    let (salt, hash) = phc_salt_and_hash(&phc)?;
    Ok(LegacyStored::Scrypt {
        params,
        memory_kib: memory_kib as u64,
        salt,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> VerifyErrorKind {
        match parse(s, &Limits::DEFAULT) {
            Ok(_) => panic!("{s} parsed"),
            Err(kind) => kind,
        }
    }

    #[test]
    fn limits_are_enforced_before_any_work() {
        let bcrypt = "$2b$31$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
        assert_eq!(kind(bcrypt), VerifyErrorKind::ExceedsLimits);
        assert_eq!(
            kind(
                "$pbkdf2-sha256$i=4000000000,l=32$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ"
            ),
            VerifyErrorKind::ExceedsLimits
        );
        assert_eq!(
            kind("pbkdf2_sha256$99999999$salt$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ="),
            VerifyErrorKind::ExceedsLimits
        );
        // N = 2^30, r = 8: 1 TiB.
        assert_eq!(
            kind("$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ"),
            VerifyErrorKind::ExceedsLimits
        );
        // N = 2^18, r = 8: 256 MiB, within the memory cap, but 16 lanes each writing and
        // reading it is far beyond the work cap.
        assert_eq!(
            kind("$scrypt$ln=18,r=8,p=16$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ"),
            VerifyErrorKind::ExceedsLimits
        );
    }

    /// PBKDF2 and bcrypt are charged for their time, scrypt for all it allocates.
    #[test]
    fn legacy_hashes_are_charged_their_real_cost() {
        let cap = Limits::DEFAULT.max_memory_kib;
        let parse = |s: &str| parse(s, &Limits::DEFAULT).unwrap_or_else(|_| panic!("{s}"));
        let scrypt =
            parse("$scrypt$ln=10,r=8,p=4$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ");
        // 128·8·(1024 + 4 + 1) bytes.
        assert_eq!(scrypt.budget_kib(2, cap), 1029);
        // OWASP's 600 000 iterations take about as long as 37 500 KiB of Argon2 at t = 2,
        // twice the default policy's memory; before, PBKDF2 was charged 4 KiB.
        let owasp = parse(
            "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
        );
        assert_eq!(owasp.budget_kib(2, cap), 37_500);
        assert_eq!(owasp.budget_kib(1, cap), 75_000);
        let cheap = parse(
            "$pbkdf2-sha256$i=10,l=32$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
        );
        assert_eq!(cheap.budget_kib(2, cap), MIN_CHARGE_KIB);
        // bcrypt cost 10 is 1024 rounds; cost 16 would be 2 GiB, capped at the limit.
        let bcrypt10 = parse("$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
        assert_eq!(bcrypt10.budget_kib(2, cap), 32_768);
        let bcrypt16 = parse("$2b$16$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
        assert_eq!(bcrypt16.budget_kib(2, cap), u64::from(cap));
    }

    #[test]
    fn malformed_strings() {
        for s in [
            "$2b$04$short",
            "$2b$xx$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$2b$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$2b$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123é",
            "$pbkdf2-sha256$i=0,l=32$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
            "$pbkdf2-sha256$i=10,l=31$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
            "$pbkdf2-sha256$1000$!!$abc",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$1000$salt$not base64",
            "$scrypt$ln=0,r=8,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
            "$scrypt$ln=99,r=8,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
            "$scrypt$ln=4,r=8$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
            "$md5$whatever",
        ] {
            assert_eq!(kind(s), VerifyErrorKind::Malformed, "{s}");
        }
    }
}
