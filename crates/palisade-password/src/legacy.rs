//! Verification of legacy hashes, for migration to Argon2id: bcrypt, PBKDF2-SHA256 (PHC,
//! passlib and Django forms) and scrypt. They are never produced, and every successful
//! verification reports [`RehashReason::LegacyAlgorithm`](crate::RehashReason).

use base64::{
    Engine as _, alphabet,
    engine::{GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use password_hash::phc;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{error::VerifyErrorKind, limits::Limits};

/// A parsed legacy hash.
pub(crate) enum LegacyStored {
    /// `$2a$`, `$2b$`, `$2y$`: the whole string, already checked for shape and cost.
    Bcrypt { full: String },
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
    /// Memory the verification needs from the budget, in KiB (scrypt's `128·r·N`; bcrypt
    /// and PBKDF2 need a few KiB, counted as 4).
    pub(crate) fn memory_kib(&self) -> u64 {
        match self {
            Self::Scrypt { memory_kib, .. } => *memory_kib,
            Self::Bcrypt { .. } | Self::Pbkdf2Sha256 { .. } => 4,
        }
    }

    /// Recomputes the hash of `password` and compares in constant time.
    pub(crate) fn matches(&self, password: &[u8]) -> bool {
        match self {
            Self::Bcrypt { full, .. } => bcrypt::verify(password, full).unwrap_or(false),
            Self::Pbkdf2Sha256 {
                iterations,
                salt,
                hash,
            } => {
                let mut out = Zeroizing::new(vec![0u8; hash.len()]);
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut out);
                bool::from(out.ct_eq(hash))
            }
            Self::Scrypt {
                params, salt, hash, ..
            } => {
                let mut out = Zeroizing::new(vec![0u8; hash.len()]);
                scrypt::scrypt(password, salt, params, &mut out).is_ok()
                    && bool::from(out.ct_eq(hash))
            }
        }
    }
}

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
    Ok(LegacyStored::Bcrypt { full: s.to_owned() })
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
    // Memory is 128·r·N bytes; time grows with N·r·p. Check both before building anything.
    let memory_kib = (128u128 << log_n) * u128::from(r) / 1024;
    if memory_kib > u128::from(limits.max_memory_kib) || p > limits.max_parallelism {
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
