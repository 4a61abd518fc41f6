//! The `metrics` feature: names, kinds and labels after real operations, each failure reason
//! that can be provoked, and a bounded number of series under hostile input.
#![cfg(feature = "metrics")]
#![allow(
    clippy::float_cmp,
    reason = "gauges hold whole KiB counts, exact in an f64"
)]

mod support;

use std::time::Duration;

use palisade_password::{Hasher, Limits, Params, Password, Peppers, RehashReason, VerifyErrorKind};
use palisade_testkit::metrics::{assert_bounded, capture, counter, gauge, histogram_len};
use support::{hasher, pepper, peppered};

#[test]
fn verifications_are_counted_by_outcome_with_durations() {
    let pw = Password::from("correct horse");
    let mut kept = None;
    let series = capture(|| {
        let h = hasher(64, 1);
        let stored = h.hash(&pw).unwrap();
        assert!(h.verify(&pw, stored.as_str()).is_ok());
        let wrong = h.verify(&Password::from("wrong"), stored.as_str());
        assert_eq!(wrong.unwrap_err().kind(), VerifyErrorKind::Mismatch);
        let none = h.verify_account(&pw, None).unwrap_err();
        assert_eq!(none.kind(), VerifyErrorKind::NoStoredHash);
        let junk = h.verify(&pw, "$argon2id$nonsense").unwrap_err();
        assert_eq!(junk.kind(), VerifyErrorKind::Malformed);
        let huge = stored.as_str().replace("m=64", "m=1048576");
        let huge = h.verify(&pw, &huge).unwrap_err();
        assert_eq!(huge.kind(), VerifyErrorKind::ExceedsLimits);
        let long = Password::from("x".repeat(Limits::DEFAULT.max_password_bytes + 1));
        let long = h.verify(&long, stored.as_str()).unwrap_err();
        assert_eq!(long.kind(), VerifyErrorKind::PasswordTooLong);
        let long = Password::from("x".repeat(Limits::DEFAULT.max_password_bytes + 1));
        assert!(h.hash(&long).is_err());
        kept = Some(h);
    });
    for outcome in [
        "ok",
        "mismatch",
        "no_stored_hash",
        "malformed",
        "exceeds_limits",
        "password_too_long",
    ] {
        assert_eq!(
            counter(
                &series,
                &format!("palisade_password_verifications_total{{outcome={outcome}}}")
            ),
            1,
            "{outcome}"
        );
    }
    assert_eq!(
        counter(&series, "palisade_password_hashes_total{outcome=ok}"),
        1
    );
    assert_eq!(
        counter(&series, "palisade_password_hashes_total{outcome=error}"),
        1
    );
    assert_eq!(
        histogram_len(
            &series,
            "palisade_password_duration_seconds{operation=verify}"
        ),
        6
    );
    assert_eq!(
        histogram_len(
            &series,
            "palisade_password_duration_seconds{operation=hash}"
        ),
        2
    );
    // Nothing is in flight once the calls return; the gauge holds the live budget's capacity
    // (a dropped hasher takes its capacity out again).
    assert_eq!(gauge(&series, "palisade_password_permits_in_use"), 0.0);
    assert_eq!(
        gauge(&series, "palisade_password_permits"),
        f64::from(512 * 1024)
    );
    drop(kept);
}

#[test]
fn hash_upgrades_are_counted_by_reason() {
    let pw = Password::from("pw");
    let weak = hasher(32, 1).hash(&pw).unwrap();
    let v1 = peppered(Peppers::new(pepper("v1", 1)));
    let old = v1.hash(&pw).unwrap();
    let series = capture(|| {
        let policy = hasher(64, 1);
        assert_eq!(
            policy.verify(&pw, weak.as_str()).unwrap().rehash_reason(),
            Some(RehashReason::MemoryCost)
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
        // A wrong password against a weak hash is no upgrade.
        assert!(policy.verify(&Password::from("no"), weak.as_str()).is_err());
    });
    assert_eq!(
        counter(
            &series,
            "palisade_password_rehashes_total{reason=memory_cost}"
        ),
        1
    );
    assert_eq!(
        counter(
            &series,
            "palisade_password_rehashes_total{reason=pepper_retired}"
        ),
        1
    );
    assert_eq!(
        counter(&series, "palisade_password_verifications_total{outcome=ok}"),
        2
    );
}

#[test]
fn pepper_misses_and_downgrades_are_counted() {
    let pw = Password::from("pw");
    let peppered_hash = peppered(Peppers::new(pepper("v9", 9))).hash(&pw).unwrap();
    let planted = hasher(64, 1).hash(&pw).unwrap();
    let series = capture(|| {
        let err = hasher(64, 1)
            .verify(&pw, peppered_hash.as_str())
            .unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::UnknownPepper);
        let h = peppered(Peppers::new(pepper("v1", 1)));
        let err = h.verify(&pw, peppered_hash.as_str()).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::UnknownPepper);
        let err = h.verify(&pw, planted.as_str()).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::PepperDowngrade);
    });
    assert_eq!(counter(&series, "palisade_password_pepper_misses_total"), 2);
    assert_eq!(
        counter(
            &series,
            "palisade_password_verifications_total{outcome=unknown_pepper}"
        ),
        2
    );
    assert_eq!(
        counter(
            &series,
            "palisade_password_verifications_total{outcome=pepper_downgrade}"
        ),
        1
    );
}

/// With the budget held by a long hash on another thread, this thread's verify, hash and
/// unknown-account verify are refused as `busy` and counted so.
#[test]
fn busy_is_counted_for_hashes_and_verifications() {
    let mut limits = Limits::DEFAULT;
    limits.max_memory_kib = 1024;
    limits.max_time_cost = 200;
    let h = Hasher::builder()
        .params(Params::insecure(1024, 1, 1).unwrap())
        .limits(limits)
        .memory_budget(1024, Duration::ZERO)
        .build()
        .unwrap();
    let pw = Password::from("pw");
    let stored = h.hash(&pw).unwrap();
    // Long enough (one 1 MiB pass repeated) that this thread sees the budget held.
    let slow = Hasher::builder()
        .params(Params::insecure(1024, 200, 1).unwrap())
        .limits(limits)
        .build()
        .unwrap()
        .hash(&pw)
        .unwrap();
    let mut kept = None;
    let series = capture(|| {
        let h = h.clone();
        let mut seen = (false, false, false);
        while !(seen.0 && seen.1 && seen.2) {
            let holder = h.clone();
            let slow = slow.as_str().to_owned();
            let worker = std::thread::spawn(move || {
                let _ = holder.verify(&Password::from("pw"), &slow);
            });
            while !(worker.is_finished() || seen.0 && seen.1 && seen.2) {
                if !seen.0 {
                    seen.0 = h.verify(&pw, stored.as_str()).is_err();
                } else if !seen.1 {
                    seen.1 = h.hash(&pw).is_err();
                } else {
                    seen.2 =
                        h.verify_account(&pw, None).unwrap_err().kind() == VerifyErrorKind::Busy;
                }
                std::thread::yield_now();
            }
            worker.join().unwrap();
        }
        // One verification admitted on this thread, whose permits the gauge below must show
        // returned: on a loaded machine every attempt above may have met the budget held, and
        // this thread's recorder would then hold no gauge at all.
        let verified = h.verify(&pw, stored.as_str()).unwrap();
        assert!(!verified.needs_rehash());
        kept = Some(h);
    });
    assert!(
        counter(
            &series,
            "palisade_password_verifications_total{outcome=busy}"
        ) >= 2
    );
    assert!(counter(&series, "palisade_password_hashes_total{outcome=busy}") >= 1);
    assert_eq!(gauge(&series, "palisade_password_permits_in_use"), 0.0);
    drop(kept);
}

/// Thousands of distinct passwords, stored strings and pepper ids leave a handful of series,
/// none of whose labels carries any of them.
#[test]
fn hostile_input_leaves_series_bounded() {
    let h = hasher(32, 1);
    let template = peppered(Peppers::new(pepper("v1", 1)))
        .hash(&Password::from("x"))
        .unwrap();
    let series = capture(|| {
        for i in 0..2000 {
            let pw = Password::from(format!("user{i}-guess"));
            let _ = h.verify(&pw, &format!("$argon2id$v=19$junk{i}"));
            let _ = h.verify(
                &pw,
                &template
                    .as_str()
                    .replace("keyid=", &format!("keyid={i:04}")),
            );
            let _ = h.verify_account(&pw, None);
        }
    });
    assert_bounded(&series, "palisade_password_", 8, &["user", "junk", "keyid"]);
}
