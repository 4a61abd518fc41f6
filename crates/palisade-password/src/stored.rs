//! Parsing of stored hash strings, with every limit checked before any work is done.

use argon2::{Algorithm, Version};
use password_hash::phc;

use crate::{error::VerifyErrorKind, limits::Limits};

/// Longest stored hash string read at all. Every supported format fits in far less: the
/// longest well-formed Argon2 PHC string is 270 bytes, and the PHC parser itself caps a
/// string at about 320.
pub(crate) const MAX_STORED_LEN: usize = 512;

/// A parsed Argon2 PHC string.
pub(crate) struct Argon2Stored {
    pub(crate) algorithm: Algorithm,
    pub(crate) version: Version,
    pub(crate) params: argon2::Params,
    pub(crate) salt: Vec<u8>,
    pub(crate) hash: Vec<u8>,
}

impl Argon2Stored {
    pub(crate) fn memory_kib(&self) -> u64 {
        // Argon2 fills `m` rounded down to a multiple of 4p blocks of 1 KiB.
        self.params.block_count() as u64
    }
}

/// A stored hash, parsed and within limits.
pub(crate) enum Stored {
    Argon2(Argon2Stored),
    #[cfg(feature = "legacy")]
    Legacy(crate::legacy::LegacyStored),
}

/// Parses `s`, refusing anything beyond `limits`.
pub(crate) fn parse(s: &str, limits: &Limits) -> Result<Stored, VerifyErrorKind> {
    parse_within(s, limits, MAX_STORED_LEN)
}

/// [`parse`] with the length cap as an argument, so a test can show the cap refusing a
/// well-formed hash (none is as long as the real cap).
fn parse_within(s: &str, limits: &Limits, max_len: usize) -> Result<Stored, VerifyErrorKind> {
    if s.len() > max_len {
        return Err(VerifyErrorKind::Malformed);
    }
    if s.starts_with("$argon2") {
        return parse_argon2(s, limits).map(Stored::Argon2);
    }
    #[cfg(feature = "legacy")]
    {
        crate::legacy::parse(s, limits).map(Stored::Legacy)
    }
    #[cfg(not(feature = "legacy"))]
    {
        if is_legacy_format(s) {
            Err(VerifyErrorKind::Unsupported)
        } else {
            Err(VerifyErrorKind::Malformed)
        }
    }
}

/// Whether `s` starts like one of the legacy formats the `legacy` feature verifies.
#[cfg(not(feature = "legacy"))]
fn is_legacy_format(s: &str) -> bool {
    [
        "$2a$",
        "$2b$",
        "$2y$",
        "$pbkdf2-sha256$",
        "pbkdf2_sha256$",
        "$scrypt$",
    ]
    .iter()
    .any(|prefix| s.starts_with(prefix))
}

fn parse_argon2(s: &str, limits: &Limits) -> Result<Argon2Stored, VerifyErrorKind> {
    let phc = phc::PasswordHash::new(s).map_err(|_| VerifyErrorKind::Malformed)?;
    let algorithm =
        Algorithm::new(phc.algorithm.as_str()).map_err(|_| VerifyErrorKind::Unsupported)?;
    // libargon2 reads a PHC string without `v=` as version 0x10.
    let version = match phc.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err(VerifyErrorKind::Unsupported),
    };
    // Limits are checked on the raw numbers, before argon2 builds anything from them.
    let mut work = 1u64;
    for (name, max) in [
        ("m", limits.max_memory_kib),
        ("t", limits.max_time_cost),
        ("p", limits.max_parallelism),
    ] {
        let value = phc
            .params
            .get_decimal(name)
            .ok_or(VerifyErrorKind::Malformed)?;
        if value > max {
            return Err(VerifyErrorKind::ExceedsLimits);
        }
        work = work.saturating_mul(u64::from(value));
    }
    if work > limits.max_work {
        return Err(VerifyErrorKind::ExceedsLimits);
    }
    let params = argon2::Params::try_from(&phc).map_err(|_| VerifyErrorKind::Malformed)?;
    let salt = phc.salt.ok_or(VerifyErrorKind::Malformed)?;
    let hash = phc.hash.ok_or(VerifyErrorKind::Malformed)?;
    Ok(Argon2Stored {
        algorithm,
        version,
        params,
        salt: salt.as_ref().to_vec(),
        hash: hash.as_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                        dGhpcyBpcyBhIDMyIGJ5dGUgaGFzaCBvdXRwdXQhIQ";

    fn kind(s: &str) -> VerifyErrorKind {
        match parse(s, &Limits::DEFAULT) {
            Ok(_) => panic!("{s} parsed"),
            Err(kind) => kind,
        }
    }

    #[test]
    fn parses_a_well_formed_string() {
        let Ok(Stored::Argon2(a)) = parse(GOOD, &Limits::DEFAULT) else {
            panic!("did not parse");
        };
        assert_eq!(a.algorithm, Algorithm::Argon2id);
        assert_eq!(a.version, Version::V0x13);
        assert_eq!(a.params.m_cost(), 19456);
        assert_eq!(a.salt.len(), 16);
    }

    #[test]
    fn refuses_what_exceeds_limits_before_building_params() {
        let huge = GOOD.replace("m=19456", "m=1048576");
        assert_eq!(kind(&huge), VerifyErrorKind::ExceedsLimits);
        assert_eq!(
            kind(&GOOD.replace("t=2", "t=4000000000")),
            VerifyErrorKind::ExceedsLimits
        );
        assert_eq!(
            kind(&GOOD.replace("p=1", "p=17")),
            VerifyErrorKind::ExceedsLimits
        );
    }

    /// Each parameter within its own cap, the product far beyond the policy's budget.
    #[test]
    fn hostile_product_is_refused_while_parsing() {
        let limits = Limits::DEFAULT;
        let hostile = GOOD
            .replace("m=19456", &format!("m={}", limits.max_memory_kib))
            .replace("t=2", &format!("t={}", limits.max_time_cost));
        assert_eq!(kind(&hostile), VerifyErrorKind::ExceedsLimits);
        // 64 MiB × 3 × 4 is exactly the default budget and parses.
        let at_budget = GOOD
            .replace("m=19456", "m=65536")
            .replace("t=2", "t=3")
            .replace("p=1", "p=4");
        assert!(parse(&at_budget, &limits).is_ok());
        assert_eq!(
            kind(&at_budget.replace("t=3", "t=4")),
            VerifyErrorKind::ExceedsLimits
        );
    }

    /// The longest well-formed Argon2 string: every numeric parameter at its largest, an
    /// 8-byte key id, 32 bytes of associated data, a 48-byte salt and a 64-byte output.
    fn longest_argon2() -> String {
        format!(
            "$argon2id$v=19$m=4294967295,t=4294967295,p=16777215,keyid={},data={}${}${}",
            "A".repeat(11),
            "A".repeat(43),
            "A".repeat(64),
            "A".repeat(86),
        )
    }

    /// Stored strings over 512 bytes are refused as `Malformed` before they are parsed; no
    /// well-formed hash is that long, so the cap refuses only oversized input.
    #[test]
    fn stored_hashes_over_512_bytes_are_refused_before_parsing() {
        assert_eq!(MAX_STORED_LEN, 512);
        let no_limits = Limits {
            max_memory_kib: u32::MAX,
            max_time_cost: u32::MAX,
            max_parallelism: u32::MAX,
            max_work: u64::MAX,
            ..Limits::DEFAULT
        };
        let longest = longest_argon2();
        assert_eq!(longest.len(), 270);
        assert!(matches!(parse(&longest, &no_limits), Ok(Stored::Argon2(_))));
        // The same check, with a cap one byte short of well-formed hashes: refused, unread.
        for well_formed in [GOOD, longest.as_str()] {
            assert!(parse_within(well_formed, &no_limits, well_formed.len()).is_ok());
            assert!(matches!(
                parse_within(well_formed, &no_limits, well_formed.len() - 1),
                Err(VerifyErrorKind::Malformed)
            ));
        }
        // 513 bytes that start as a hash refused by the cap, not the parser's own checks:
        // without `legacy` a legacy prefix would otherwise report `Unsupported`.
        let oversized = format!("$2b$12${}", "a".repeat(MAX_STORED_LEN - 6));
        assert_eq!(oversized.len(), MAX_STORED_LEN + 1);
        assert_eq!(kind(&oversized), VerifyErrorKind::Malformed);
        assert_eq!(kind(&oversized[..MAX_STORED_LEN]), {
            if cfg!(feature = "legacy") {
                VerifyErrorKind::Malformed
            } else {
                VerifyErrorKind::Unsupported
            }
        });
    }

    #[test]
    fn malformed_and_unsupported() {
        assert_eq!(kind(""), VerifyErrorKind::Malformed);
        assert_eq!(kind("plaintext"), VerifyErrorKind::Malformed);
        assert_eq!(kind(&"$argon2id$".repeat(100)), VerifyErrorKind::Malformed);
        assert_eq!(
            kind(&GOOD.replace("v=19", "v=20")),
            VerifyErrorKind::Unsupported
        );
        assert_eq!(
            kind(&GOOD.replace("argon2id", "argon2x")),
            VerifyErrorKind::Unsupported
        );
        assert_eq!(kind(&GOOD.replace(",t=2", "")), VerifyErrorKind::Malformed);
        assert_eq!(
            kind(&GOOD.replace("m=19456", "m=4")),
            VerifyErrorKind::Malformed
        );
        let no_hash = GOOD.rsplit_once('$').map_or(GOOD, |(head, _)| head);
        assert_eq!(kind(no_hash), VerifyErrorKind::Malformed);
    }
}
