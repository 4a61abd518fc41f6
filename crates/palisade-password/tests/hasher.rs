//! Behaviour of the public API: upgrade decisions, peppers, limits, secrets kept out of
//! output, and round trips as properties.

mod support;

use std::time::Duration;

use palisade_password::{
    ConfigError, Hasher, Limits, Params, Password, Peppers, Preset, RehashReason, VerifyErrorKind,
};
use proptest::prelude::*;
use support::{hasher, pepper, peppered};

#[test]
fn default_hash_is_owasp_argon2id() {
    let stored = palisade_password::hash(&Password::from("hunter2 hunter2 hunter2")).unwrap();
    assert!(
        stored
            .as_str()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored:?}"
    );
    let verified =
        palisade_password::verify(&Password::from("hunter2 hunter2 hunter2"), stored.as_str())
            .unwrap();
    assert!(!verified.needs_rehash());
}

#[test]
fn weaker_hashes_are_flagged_with_their_reason() {
    let policy = hasher(256, 2);
    let pw = Password::from("pw");
    for (maker, reason) in [
        (hasher(128, 2), Some(RehashReason::MemoryCost)),
        (hasher(256, 1), Some(RehashReason::TimeCost)),
        (hasher(256, 2), None),
        (hasher(512, 3), None),
    ] {
        let stored = maker.hash(&pw).unwrap();
        assert_eq!(
            policy.verify(&pw, stored.as_str()).unwrap().rehash_reason(),
            reason
        );
        assert_eq!(policy.needs_rehash(stored.as_str()).unwrap(), reason);
    }
    let short = Hasher::builder()
        .params(
            Params::insecure(256, 2, 1)
                .unwrap()
                .with_output_len(16)
                .unwrap(),
        )
        .build()
        .unwrap()
        .hash(&pw)
        .unwrap();
    assert_eq!(
        policy.needs_rehash(short.as_str()).unwrap(),
        Some(RehashReason::OutputLength)
    );
}

#[test]
fn pepper_rotation_keeps_old_hashes_and_flags_them() {
    let pw = Password::from("pw");
    let unpeppered = hasher(64, 1).hash(&pw).unwrap();
    let v1 = peppered(Peppers::new(pepper("v1", 1)));
    let old = v1.hash(&pw).unwrap();
    assert!(old.as_str().contains(",keyid="), "{old:?}");
    assert!(!v1.verify(&pw, old.as_str()).unwrap().needs_rehash());
    let migrating = Hasher::builder()
        .params(Params::insecure(64, 1, 1).unwrap())
        .peppers(Peppers::new(pepper("v1", 1)))
        .insecure_accept_unpeppered_hashes()
        .build()
        .unwrap();
    assert_eq!(
        migrating
            .verify(&pw, unpeppered.as_str())
            .unwrap()
            .rehash_reason(),
        Some(RehashReason::PepperMissing)
    );

    let v2 = peppered(
        Peppers::new(pepper("v2", 2))
            .with_retired(pepper("v1", 1))
            .unwrap(),
    );
    assert_eq!(
        v2.verify(&pw, old.as_str()).unwrap().rehash_reason(),
        Some(RehashReason::PepperRetired)
    );
    let new = v2.hash(&pw).unwrap();
    assert!(!v2.verify(&pw, new.as_str()).unwrap().needs_rehash());

    // A hasher that lacks the pepper cannot verify, and says so in the kind.
    let err = hasher(64, 1).verify(&pw, new.as_str()).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::UnknownPepper);
    // The same id with other secret bytes is a mismatch, not a match.
    let impostor = peppered(Peppers::new(pepper("v2", 9)));
    assert_eq!(
        impostor.verify(&pw, new.as_str()).unwrap_err().kind(),
        VerifyErrorKind::Mismatch
    );
}

/// Whoever can write one row plants an unpeppered hash of a password they know: a hasher
/// with peppers refuses it, names the downgrade for the logs, and tells the caller nothing.
#[test]
fn planted_unpeppered_hash_is_refused_by_a_peppered_hasher() {
    let known = Password::from("attacker knows this one");
    let planted = hasher(64, 1).hash(&known).unwrap();
    let h = peppered(Peppers::new(pepper("v1", 1)));
    let err = h.verify(&known, planted.as_str()).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::PepperDowngrade);
    assert_eq!(err.kind().as_str(), "pepper_downgrade");
    assert!(!err.is_mismatch());
    assert_eq!(err.to_string(), "password verification failed");
    assert_eq!(
        h.needs_rehash(planted.as_str()).unwrap_err().kind(),
        VerifyErrorKind::PepperDowngrade
    );
    // Without peppers nothing changes.
    assert!(hasher(64, 1).verify(&known, planted.as_str()).is_ok());
}

#[test]
fn hash_demanding_a_gibibyte_is_refused_before_allocation() {
    let good = hasher(64, 1).hash(&Password::from("pw")).unwrap();
    let evil = good.as_str().replace("m=64", "m=1048576");
    let h = Hasher::new();
    let err = h.verify(&Password::from("pw"), &evil).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::ExceedsLimits);
    assert_eq!(err.to_string(), "password verification failed");
    for (from, to) in [("t=1", "t=17"), ("p=1", "p=64")] {
        let evil = good.as_str().replace(from, to);
        assert_eq!(
            h.verify(&Password::from("pw"), &evil).unwrap_err().kind(),
            VerifyErrorKind::ExceedsLimits
        );
    }
    let long = Password::from("x".repeat(Limits::DEFAULT.max_password_bytes + 1));
    assert_eq!(
        h.verify(&long, good.as_str()).unwrap_err().kind(),
        VerifyErrorKind::PasswordTooLong
    );
}

#[test]
fn configuration_errors_are_specific() {
    let big = Hasher::builder()
        .params(Preset::Rfc9106First)
        .build()
        .unwrap_err();
    assert!(matches!(big, ConfigError::ParamsExceedLimits { .. }));
    assert!(big.to_string().contains("max_memory_kib"));
    let small_budget = Hasher::builder()
        .memory_budget(1024, Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(matches!(small_budget, ConfigError::BudgetTooSmall { .. }));
    let mut limits = Limits::DEFAULT;
    limits.max_memory_kib = 4 * 1024 * 1024;
    let big_work = Hasher::builder()
        .params(Preset::Rfc9106First)
        .limits(limits)
        .memory_budget(4 * 1024 * 1024, Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(big_work.to_string().contains("max_work"));
    limits.max_work = Preset::Rfc9106First.params().work();
    assert!(
        Hasher::builder()
            .params(Preset::Rfc9106First)
            .limits(limits)
            .memory_budget(4 * 1024 * 1024, Duration::ZERO)
            .build()
            .is_ok()
    );
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let h = peppered(Peppers::new(pepper("v1", 0xAB)));
    let stored = h.hash(&Password::from("SuperSecret-123")).unwrap();
    let salt_and_hash = stored
        .as_str()
        .split('$')
        .skip(4)
        .collect::<Vec<_>>()
        .join("$");
    for shown in [
        format!("{stored:?}"),
        format!("{h:?}"),
        format!("{:?}", Password::from("SuperSecret-123")),
        format!(
            "{:?}",
            h.verify(&Password::from("SuperSecret-124"), stored.as_str())
        ),
    ] {
        assert!(!shown.contains("SuperSecret"), "{shown}");
        assert!(!shown.contains(&salt_and_hash), "{shown}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
    }
}

#[test]
fn unicode_is_normalized_unless_turned_off() {
    let composed = Password::from("caf\u{e9} au lait");
    let decomposed = Password::from("cafe\u{301} au lait");
    let h = hasher(64, 1);
    let stored = h.hash(&composed).unwrap();
    assert!(h.verify(&decomposed, stored.as_str()).is_ok());
    let raw = Hasher::builder()
        .params(Params::insecure(64, 1, 1).unwrap())
        .unicode_normalization(false)
        .build()
        .unwrap();
    assert!(raw.verify(&decomposed, stored.as_str()).is_err());
}

/// `max_password_bytes` counts the password after NFKC: a compatibility character that
/// expands (U+3300 SQUARE APAATO, 3 bytes, is "アパート", 12 bytes) is measured expanded, on
/// hash and on verify. The password as typed is also checked first, so full-width letters
/// (3 bytes each, 1 after NFKC) over the limit are refused before any normalization work.
#[test]
fn password_length_limit_is_checked_after_nfkc() {
    let mut limits = Limits::DEFAULT;
    limits.max_password_bytes = 12;
    let h = Hasher::builder()
        .params(Params::insecure(64, 1, 1).unwrap())
        .limits(limits)
        .build()
        .unwrap();
    let expands = Password::from("a\u{3300}"); // 4 bytes typed, 13 after NFKC
    assert_eq!(expands.expose_secret().len(), 4);
    assert!(matches!(
        h.hash(&expands),
        Err(palisade_password::HashError::PasswordTooLong)
    ));
    let stored = h.hash(&Password::from("\u{3300}")).unwrap(); // 12 bytes after NFKC: fits
    assert_eq!(
        h.verify(&expands, stored.as_str()).unwrap_err().kind(),
        VerifyErrorKind::PasswordTooLong
    );
    assert!(
        h.verify(&Password::from("アパート"), stored.as_str())
            .is_ok()
    );
    // Five full-width letters: 15 bytes typed, 5 after NFKC, refused as typed.
    let wide = Password::from("\u{ff46}\u{ff55}\u{ff4c}\u{ff4c}\u{ff59}");
    assert_eq!(
        h.verify(&wide, stored.as_str()).unwrap_err().kind(),
        VerifyErrorKind::PasswordTooLong
    );
    assert!(h.hash(&Password::from("fully")).is_ok());
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_helpers_give_the_synchronous_answers() {
    let h = hasher(64, 1);
    let stored = h.hash_async(Password::from("pw")).await.unwrap();
    assert!(
        h.verify_async(Password::from("pw"), stored.as_str().to_owned())
            .await
            .is_ok()
    );
    let err = h
        .verify_account_async(Password::from("pw"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::NoStoredHash);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_password_round_trips(password in "\\PC{0,40}", other in "\\PC{0,40}") {
        let h = hasher(32, 1);
        let stored = h.hash(&Password::from(password.as_str())).unwrap();
        prop_assert!(h.verify(&Password::from(password.as_str()), stored.as_str()).is_ok());
        let same = palisade_password_nfkc_eq(&password, &other);
        prop_assert_eq!(h.verify(&Password::from(other.as_str()), stored.as_str()).is_ok(), same);
    }

    /// Upgrade never downgrades: a hash at or above policy in memory and passes is never
    /// flagged, and one below in either is.
    #[test]
    fn rehash_iff_weaker(m in 32u32..160, t in 1u32..4, pm in 32u32..160, pt in 1u32..4) {
        let stored = hasher(m, t).hash(&Password::from("pw")).unwrap();
        let verdict = hasher(pm, pt).verify(&Password::from("pw"), stored.as_str()).unwrap();
        prop_assert_eq!(verdict.needs_rehash(), m < pm || t < pt);
    }
}

fn palisade_password_nfkc_eq(a: &str, b: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    a.nfkc().eq(b.nfkc())
}
