//! The rotation schedule: what is due when, on a fixed clock.

mod support;

use std::{sync::Arc, time::Duration};

use palisade_crypt::{
    Census, InvalidPolicy, KeyPurpose, KeyState, Keyring, ManualClock, RotationPolicy,
};

const T0: u64 = 1_750_000_000;
const DAY: u64 = 86_400;

fn keyring_at(t: u64) -> (Keyring, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t));
    let keyring = Keyring::generate_with_clock(clock.clone()).expect("keyring");
    (keyring, clock)
}

fn policy() -> RotationPolicy {
    RotationPolicy::days(90, 30).expect("policy")
}

#[test]
fn zero_periods_are_refused() {
    assert_eq!(RotationPolicy::days(0, 30), Err(InvalidPolicy));
    assert_eq!(RotationPolicy::days(90, 0), Err(InvalidPolicy));
    assert_eq!(
        RotationPolicy::new(Duration::ZERO, Duration::from_secs(1)),
        Err(InvalidPolicy)
    );
    let p = RotationPolicy::new(Duration::from_secs(5), Duration::from_secs(7)).expect("policy");
    assert_eq!(p.rotate_after(), Duration::from_secs(5));
    assert_eq!(p.retire_after(), Duration::from_secs(7));
}

#[test]
fn rotation_is_due_from_the_exact_rotation_age_not_a_second_before() {
    let (keyring, clock) = keyring_at(T0);
    clock.set(T0 + 90 * DAY - 1);
    let status = policy().status(&keyring).expect("status");
    assert!(!status.rotate_due());
    assert!(!status.is_due());
    assert_eq!(status.primary_age(), Duration::from_secs(90 * DAY - 1));

    clock.set(T0 + 90 * DAY);
    let status = policy().status(&keyring).expect("status");
    assert!(status.rotate_due());
    assert!(status.is_due());
    assert_eq!(
        status.primary().id,
        keyring.primary(KeyPurpose::Encryption).expect("primary").id
    );
}

#[test]
fn a_clock_set_back_before_the_key_was_made_counts_as_a_new_key() {
    let (keyring, _clock) = keyring_at(T0);
    let status = policy()
        .status_at(&keyring, T0 - 400 * DAY)
        .expect("status");
    assert_eq!(status.primary_age(), Duration::ZERO);
    assert!(!status.is_due());
}

#[test]
fn rotating_clears_the_rotation_due_state() {
    let (mut keyring, clock) = keyring_at(T0);
    clock.set(T0 + 200 * DAY);
    assert!(policy().status(&keyring).expect("status").rotate_due());
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let status = policy().status(&keyring).expect("status");
    assert!(!status.rotate_due());
    assert_eq!(status.primary_age(), Duration::ZERO);
}

#[test]
fn retirement_counts_from_when_a_key_stopped_being_primary_not_from_its_creation() {
    let (mut keyring, clock) = keyring_at(T0);
    let old = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
    clock.set(T0 + 100 * DAY);
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");

    // Created 129 days ago, but decrypt-only for 29 days only.
    clock.set(T0 + 129 * DAY);
    let status = policy().status(&keyring).expect("status");
    assert!(status.retire_due().is_empty());
    assert!(!status.is_due());

    clock.set(T0 + 130 * DAY);
    let status = policy().status(&keyring).expect("status");
    let due: Vec<_> = status.retire_due().iter().map(|k| k.id).collect();
    assert_eq!(due, [old]);
    assert!(status.is_due());
    assert!(!status.rotate_due());

    // Retiring it (nothing left on it) clears the state.
    keyring
        .disable_checked(old, &Census::default())
        .expect("disable");
    assert!(!policy().status(&keyring).expect("status").is_due());
}

#[test]
fn a_key_being_rolled_out_is_never_due_for_retirement() {
    let (mut keyring, clock) = keyring_at(T0);
    let pending = keyring.add_key(KeyPurpose::Encryption).expect("add");
    clock.set(T0 + 60 * DAY);
    let status = policy().status(&keyring).expect("status");
    assert!(status.retire_due().iter().all(|k| k.id != pending));
    assert!(status.retire_due().is_empty());
    assert_eq!(status.keys_in(KeyState::DecryptOnly), 1);
}

#[test]
fn blind_index_keys_are_not_scheduled() {
    let (mut keyring, clock) = keyring_at(T0);
    clock.set(T0 + DAY);
    keyring.rotate(KeyPurpose::BlindIndex).expect("rotate");
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    clock.set(T0 + 300 * DAY);
    let status = policy().status(&keyring).expect("status");
    let due: Vec<_> = status.retire_due().iter().map(|k| k.purpose).collect();
    assert_eq!(due, [KeyPurpose::Encryption]);
}

#[test]
fn keys_are_counted_per_state() {
    let (mut keyring, clock) = keyring_at(T0);
    let first = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
    clock.set(T0 + DAY);
    let second = keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    keyring.disable(first).expect("disable");
    keyring.destroy(first).expect("destroy");
    keyring.disable(second).expect("disable");
    keyring.add_key(KeyPurpose::Encryption).expect("add");
    let status = policy().status(&keyring).expect("status");
    // Both purposes' primaries; the pending key; `second`; `first`.
    assert_eq!(status.keys_in(KeyState::Primary), 2);
    assert_eq!(status.keys_in(KeyState::DecryptOnly), 1);
    assert_eq!(status.keys_in(KeyState::Disabled), 1);
    assert_eq!(status.keys_in(KeyState::Destroyed), 1);
}

#[test]
fn a_saved_keyring_keeps_the_dates_the_schedule_reads() {
    let dir = support::TempDir::new("schedule");
    let path = dir.0.join("keyring.pck");
    let master = palisade_crypt::MasterKey::generate().expect("master");
    let (mut keyring, _clock) = keyring_at(T0);
    keyring.save_new(&path, &master).expect("save");
    let loaded = Keyring::load(&path, &master).expect("load");
    let status = policy().status_at(&loaded, T0 + 91 * DAY).expect("status");
    assert!(status.rotate_due());
    assert_eq!(status.primary_age(), Duration::from_secs(91 * DAY));
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
    fn record_metrics_sets_the_contract_gauges_without_key_ids() {
        let (mut keyring, clock) = keyring_at(T0);
        let first = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
        clock.set(T0 + 10 * DAY);
        keyring.rotate(KeyPurpose::Encryption).expect("rotate");
        clock.set(T0 + 100 * DAY);
        let status = policy().status(&keyring).expect("status");
        let recorder = Recorder::new();
        recorder.run(|| status.record_metrics());
        let gauges = recorder.series();

        assert_eq!(gauge(&gauges, "palisade_crypt_keys{state=primary}"), 2.0);
        assert_eq!(
            gauge(&gauges, "palisade_crypt_keys{state=decrypt_only}"),
            1.0
        );
        assert_eq!(gauge(&gauges, "palisade_crypt_keys{state=disabled}"), 0.0);
        assert_eq!(gauge(&gauges, "palisade_crypt_keys{state=destroyed}"), 0.0);
        assert_eq!(
            gauge(&gauges, "palisade_crypt_active_key_age_seconds"),
            7_776_000.0
        );
        assert_eq!(gauge(&gauges, "palisade_crypt_key_rotation_due"), 1.0);
        assert_eq!(gauge(&gauges, "palisade_crypt_keys_retire_due"), 1.0);
        let names: Vec<&String> = gauges.keys().collect();
        assert_eq!(names.len(), 7, "{names:?}");
        assert!(
            names.iter().all(|n| !n.contains(&first.to_string())),
            "{names:?}"
        );

        // After the rotation and retirement the gauges fall back to 0.
        keyring.rotate(KeyPurpose::Encryption).expect("rotate");
        for k in policy().status(&keyring).expect("status").retire_due() {
            keyring.disable(k.id).expect("disable");
        }
        let status = policy().status(&keyring).expect("status");
        recorder.run(|| status.record_metrics());
        let gauges = recorder.series();
        assert_eq!(gauge(&gauges, "palisade_crypt_key_rotation_due"), 0.0);
        assert_eq!(gauge(&gauges, "palisade_crypt_keys_retire_due"), 0.0);
        assert_eq!(gauge(&gauges, "palisade_crypt_active_key_age_seconds"), 0.0);
        assert_eq!(gauge(&gauges, "palisade_crypt_keys{state=disabled}"), 1.0);
    }
}
