//! Behaviour of the public API: upgrade decisions, peppers, limits, secrets kept out of
//! output, and round trips as properties.

use std::time::Duration;

use palisade_password::{
    ConfigError, Hasher, Limits, Params, Password, Pepper, Peppers, Preset, RehashReason,
    SecretBox, VerifyErrorKind,
};
use proptest::prelude::*;

fn hasher(m_kib: u32, t: u32) -> Hasher {
    Hasher::builder()
        .params(Params::insecure(m_kib, t, 1).unwrap())
        .build()
        .unwrap()
}

fn pepper(id: &str, byte: u8) -> Pepper {
    Pepper::new(id, SecretBox::new(vec![byte; 32].into_boxed_slice())).unwrap()
}

fn peppered(peppers: Peppers) -> Hasher {
    Hasher::builder()
        .params(Params::insecure(64, 1, 1).unwrap())
        .peppers(peppers)
        .build()
        .unwrap()
}

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
    assert_eq!(
        v1.verify(&pw, unpeppered.as_str()).unwrap().rehash_reason(),
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

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_helpers_run_off_the_executor() {
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
