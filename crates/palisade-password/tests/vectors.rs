//! Hash strings made by other implementations (see `vectors/generate.py` and the header of
//! each file) must verify, and every one of them, mutated, must not.

use palisade_password::{Hasher, Password, RehashReason, VerifyErrorKind};
#[cfg(feature = "legacy")]
use palisade_password::{Pepper, Peppers};

struct Record {
    line: usize,
    password: String,
    stored: String,
}

/// Reads `<password hex> TAB <stored hash>` records, skipping `#` comments.
fn records(file: &str) -> Vec<Record> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let records: Vec<Record> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| {
            let (hex, stored) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{file}:{}", i + 1));
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).expect("hex"))
                .collect();
            Record {
                line: i + 1,
                password: String::from_utf8(bytes).expect("vector passwords are UTF-8"),
                stored: stored.to_owned(),
            }
        })
        .collect();
    assert!(records.len() >= 5, "{file} has too few records");
    records
}

/// Replaces the last character of the hash field by another from the same alphabet.
fn flip_last(stored: &str) -> String {
    let mut s = stored.to_owned();
    let last = s.pop().expect("non-empty");
    let replacement = if last == 'A' { 'B' } else { 'A' };
    s.push(replacement);
    s
}

/// Verifies every record, and checks that three mutations of each fail.
fn run(file: &str, expect_rehash: impl Fn(&str) -> Option<RehashReason>) {
    let hasher = Hasher::new();
    for r in records(file) {
        if r.stored.starts_with("$2") && r.password.len() > 72 {
            continue; // refused, see `bcrypt_refuses_passwords_past_72_bytes`
        }
        let at = format!("{file}:{}", r.line);
        let verified = hasher
            .verify(&Password::from(r.password.as_str()), &r.stored)
            .unwrap_or_else(|e| panic!("{at}: {:?}", e.kind()));
        assert_eq!(verified.rehash_reason(), expect_rehash(&r.stored), "{at}");

        // Another password of at most the same length (bcrypt refuses more than 72 bytes).
        let wrong = format!("x{}", r.password.get(1..).unwrap_or_default());
        let err = hasher
            .verify(&Password::from(wrong), &r.stored)
            .unwrap_err();
        assert_eq!(
            err.kind(),
            VerifyErrorKind::Mismatch,
            "{at}: wrong password"
        );

        let err = hasher
            .verify(&Password::from(r.password.as_str()), &flip_last(&r.stored))
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                VerifyErrorKind::Mismatch | VerifyErrorKind::Malformed
            ),
            "{at}: flipped hash gave {:?}",
            err.kind()
        );

        let truncated = &r.stored[..r.stored.len() - 4];
        assert!(
            hasher
                .verify(&Password::from(r.password.as_str()), truncated)
                .is_err(),
            "{at}: truncated"
        );
    }
}

#[test]
fn argon2_reference_implementation() {
    run("argon2_reference.txt", |stored| {
        Some(if !stored.starts_with("$argon2id$") {
            RehashReason::Argon2Variant
        } else if stored.contains("$v=16$") {
            RehashReason::Argon2Version
        } else {
            RehashReason::MemoryCost
        })
    });
}

#[cfg(feature = "legacy")]
mod legacy {
    use super::*;

    #[allow(
        clippy::unnecessary_wraps,
        reason = "signature of the expectation `run` takes"
    )]
    fn legacy(_: &str) -> Option<RehashReason> {
        Some(RehashReason::LegacyAlgorithm)
    }

    #[test]
    fn bcrypt() {
        run("bcrypt.txt", legacy);
    }

    /// bcrypt, PBKDF2 and scrypt hashes never used the pepper: a hasher with peppers refuses
    /// every one of them unless the migration window is open.
    #[test]
    fn planted_legacy_hashes_are_refused_by_a_peppered_hasher() {
        let pepper = || {
            Pepper::new(
                "v1",
                palisade_password::SecretBox::new(vec![5u8; 32].into_boxed_slice()),
            )
            .unwrap()
        };
        let strict = Hasher::builder()
            .peppers(Peppers::new(pepper()))
            .build()
            .unwrap();
        let migrating = Hasher::builder()
            .peppers(Peppers::new(pepper()))
            .insecure_accept_unpeppered_hashes()
            .build()
            .unwrap();
        for file in [
            "bcrypt.txt",
            "pbkdf2_sha256_phc.txt",
            "pbkdf2_sha256_passlib.txt",
            "django_pbkdf2_sha256.txt",
            "scrypt_phc.txt",
        ] {
            let r = &records(file)[0];
            let password = Password::from(r.password.as_str());
            let err = strict.verify(&password, &r.stored).unwrap_err();
            assert_eq!(err.kind(), VerifyErrorKind::PepperDowngrade, "{file}");
            let verified = migrating.verify(&password, &r.stored).unwrap();
            assert_eq!(
                verified.rehash_reason(),
                Some(RehashReason::LegacyAlgorithm),
                "{file}"
            );
        }
    }

    /// The vector file's 80-byte password was hashed as its first 72 bytes. Those 72 bytes
    /// verify; the full password and a 73-byte one sharing the 72 are refused, so no longer
    /// password can log in and be rehashed into Argon2id.
    #[test]
    fn bcrypt_refuses_passwords_past_72_bytes() {
        let hasher = Hasher::new();
        let long = records("bcrypt.txt")
            .into_iter()
            .find(|r| r.password.len() == 80)
            .expect("the 80-byte record");
        let verified = hasher
            .verify(&Password::from(&long.password[..72]), &long.stored)
            .expect("the 72 bytes bcrypt hashed");
        assert_eq!(
            verified.rehash_reason(),
            Some(RehashReason::LegacyAlgorithm)
        );
        for password in [&long.password[..73], long.password.as_str()] {
            let err = hasher
                .verify(&Password::from(password), &long.stored)
                .unwrap_err();
            assert_eq!(err.kind(), VerifyErrorKind::BcryptTruncation);
            assert!(err.is_mismatch());
            assert_eq!(err.to_string(), "password verification failed");
        }
    }

    #[test]
    fn pbkdf2_sha256_phc() {
        run("pbkdf2_sha256_phc.txt", legacy);
    }

    #[test]
    fn pbkdf2_sha256_passlib() {
        run("pbkdf2_sha256_passlib.txt", legacy);
    }

    #[test]
    fn django_pbkdf2_sha256() {
        run("django_pbkdf2_sha256.txt", legacy);
    }

    #[test]
    fn scrypt_phc() {
        run("scrypt_phc.txt", legacy);
    }
}

/// Without the feature, legacy formats are recognised and refused as unsupported, not
/// mistaken for garbage.
#[cfg(not(feature = "legacy"))]
#[test]
fn legacy_formats_are_unsupported_without_the_feature() {
    let hasher = Hasher::new();
    for file in [
        "bcrypt.txt",
        "pbkdf2_sha256_phc.txt",
        "pbkdf2_sha256_passlib.txt",
        "django_pbkdf2_sha256.txt",
        "scrypt_phc.txt",
    ] {
        for r in records(file) {
            let err = hasher
                .verify(&Password::from(r.password.as_str()), &r.stored)
                .unwrap_err();
            assert_eq!(
                err.kind(),
                VerifyErrorKind::Unsupported,
                "{file}:{}",
                r.line
            );
        }
    }
}
