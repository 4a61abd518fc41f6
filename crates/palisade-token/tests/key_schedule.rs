//! Signing-key rotation schedule: what is due when, on a fixed clock.

use std::{sync::Arc, time::Duration};

use palisade_token::{
    ConfigError,
    clock::ManualClock,
    jwt::{Algorithm, Claims, Issuer, RotationPolicy, ScheduledKeySet, SigningKey, Verifier},
};

const T0: u64 = 1_750_000_000;
const DAY: u64 = 86_400;

fn key(kid: &str, byte: u8) -> SigningKey {
    SigningKey::hmac(Algorithm::HS256, &[byte; 32])
        .expect("key")
        .with_kid(kid)
        .expect("kid")
}

fn policy() -> RotationPolicy {
    RotationPolicy::days(30, 2).expect("policy")
}

fn scheduled() -> (ScheduledKeySet, ManualClock) {
    let clock = ManualClock::new(T0);
    let keys = ScheduledKeySet::new(key("k1", 1), Arc::new(clock.clone())).expect("keys");
    (keys, clock)
}

#[test]
fn zero_periods_are_refused() {
    assert!(matches!(
        RotationPolicy::days(0, 1),
        Err(ConfigError::InvalidSetting(_))
    ));
    assert!(matches!(
        RotationPolicy::new(Duration::from_secs(1), Duration::ZERO),
        Err(ConfigError::InvalidSetting(_))
    ));
}

#[test]
fn a_key_without_kid_is_refused() {
    let unnamed = SigningKey::hmac(Algorithm::HS256, &[1; 32]).expect("key");
    let clock = Arc::new(ManualClock::new(T0));
    assert!(matches!(
        ScheduledKeySet::new(unnamed, clock),
        Err(ConfigError::MissingKid)
    ));
    let (keys, _clock) = scheduled();
    let unnamed = SigningKey::hmac(Algorithm::HS256, &[2; 32]).expect("key");
    assert!(matches!(keys.rotate(unnamed), Err(ConfigError::MissingKid)));
    assert!(matches!(
        keys.rotate(key("k1", 3)),
        Err(ConfigError::DuplicateKid(_))
    ));
}

#[test]
fn rotation_is_due_from_the_exact_rotation_age() {
    let (keys, clock) = scheduled();
    clock.set(T0 + 30 * DAY - 1);
    let status = keys.status(&policy());
    assert!(!status.rotate_due());
    assert!(!status.is_due());
    clock.set(T0 + 30 * DAY);
    let status = keys.status(&policy());
    assert!(status.rotate_due());
    assert_eq!(status.signing_age(), Duration::from_secs(30 * DAY));
}

#[test]
fn a_clock_set_back_counts_as_a_new_key() {
    let (keys, _clock) = scheduled();
    let status = keys.status_at(&policy(), T0 - 100 * DAY);
    assert_eq!(status.signing_age(), Duration::ZERO);
    assert!(!status.is_due());
}

#[test]
fn a_replaced_key_is_due_for_retirement_after_it_stopped_signing_and_keeps_verifying_until_then() {
    let (keys, clock) = scheduled();
    let issuer = Issuer::new(keys.key_set().clone())
        .expect("issuer")
        .clock(Arc::new(clock.clone()));
    let old_token = issuer.issue(Claims::empty().subject("u1")).expect("token");

    clock.set(T0 + 40 * DAY);
    let keys = keys.rotate(key("k2", 2)).expect("rotate");
    assert_eq!(keys.signing_kid(), "k2");
    let status = keys.status(&policy());
    assert!(!status.rotate_due());
    // k1 signed for 40 days, but stopped only now.
    assert!(status.retire_due().is_empty());
    assert_eq!(status.verify_only(), 1);

    clock.set(T0 + 42 * DAY - 1);
    assert!(keys.status(&policy()).retire_due().is_empty());
    clock.set(T0 + 42 * DAY);
    let status = keys.status(&policy());
    assert_eq!(status.retire_due(), ["k1"]);
    assert!(status.is_due());

    // Until retired, k1's tokens still verify (checked at a time the token was valid).
    let verifier = Verifier::new(keys.key_set().clone()).clock(Arc::new(ManualClock::new(T0 + 60)));
    verifier.verify_json(&old_token).expect("k1 still verifies");
    let keys = keys.retire("k1").expect("retire");
    assert!(!keys.status(&policy()).is_due());
    let verifier = Verifier::new(keys.key_set().clone()).clock(Arc::new(ManualClock::new(T0 + 60)));
    assert_eq!(
        verifier
            .verify_json(&old_token)
            .map(|_| ())
            .map_err(|e| e.kind()),
        Err(palisade_token::ErrorKind::UnknownKey)
    );
}

#[test]
fn the_signing_key_cannot_be_retired() {
    let (keys, _clock) = scheduled();
    assert!(matches!(
        keys.retire("k1"),
        Err(ConfigError::InvalidSetting(_))
    ));
    assert!(matches!(
        keys.retire("nope"),
        Err(ConfigError::UnknownKid(_))
    ));
}

#[test]
fn keys_loaded_with_their_dates_are_scheduled_from_those_dates() {
    let clock = Arc::new(ManualClock::new(T0));
    let keys = ScheduledKeySet::signing_since(key("k3", 3), T0 - 31 * DAY, clock)
        .expect("keys")
        .with_replaced_key(key("k2", 2).verifying_key(), T0 - 31 * DAY)
        .expect("k2")
        .with_replaced_key(key("k1", 1).verifying_key(), T0 - 61 * DAY)
        .expect("k1");
    let status = keys.status(&policy());
    assert!(status.rotate_due());
    assert_eq!(status.retire_due(), ["k1", "k2"]);
    assert_eq!(status.verify_only(), 2);
    assert_eq!(keys.key_set().len(), 3);
}

#[cfg(feature = "metrics")]
#[allow(
    clippy::float_cmp,
    reason = "the gauges hold whole numbers of keys, seconds and flags"
)]
mod metrics_gauges {
    use palisade_testkit::metrics::{Recorder, gauge};

    use super::*;

    #[test]
    fn record_metrics_sets_the_contract_gauges_without_kids() {
        let (keys, clock) = scheduled();
        clock.set(T0 + DAY);
        let keys = keys.rotate(key("k2", 2)).expect("rotate");
        clock.set(T0 + 31 * DAY);
        let recorder = Recorder::new();
        recorder.run(|| keys.status(&policy()).record_metrics());
        let gauges = recorder.series();
        assert_eq!(
            gauge(&gauges, "palisade_token_signing_key_age_seconds"),
            2_592_000.0
        );
        assert_eq!(gauge(&gauges, "palisade_token_key_rotation_due"), 1.0);
        assert_eq!(gauge(&gauges, "palisade_token_keys{state=signing}"), 1.0);
        assert_eq!(
            gauge(&gauges, "palisade_token_keys{state=verify_only}"),
            1.0
        );
        let names: Vec<&String> = gauges.keys().collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.iter().all(|n| !n.contains("k1") && !n.contains("k2")));

        let keys = keys.rotate(key("k3", 3)).expect("rotate");
        recorder.run(|| keys.status(&policy()).record_metrics());
        let gauges = recorder.series();
        assert_eq!(gauge(&gauges, "palisade_token_key_rotation_due"), 0.0);
        assert_eq!(
            gauge(&gauges, "palisade_token_signing_key_age_seconds"),
            0.0
        );
        assert_eq!(
            gauge(&gauges, "palisade_token_keys{state=verify_only}"),
            2.0
        );
    }
}
