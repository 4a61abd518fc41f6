//! A rotation schedule: when the primary encryption key is due to be replaced and which
//! replaced keys are due to be retired, from the dates the keyring records.

use std::time::Duration;

use crate::keyring::{KeyInfo, KeyPurpose, KeyState, Keyring};

/// A rotation policy was given a zero period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a rotation policy's periods must be longer than zero")]
pub struct InvalidPolicy;

/// When keys are due: rotate the primary encryption key once it is `rotate_after` old, and
/// retire (rewrap, then disable) a replaced key once it has been decrypt-only for
/// `retire_after`.
///
/// Only encryption keys follow the schedule: a new blind-index key changes every index value,
/// so blind-index keys are rotated by hand, with a reindex.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use palisade_crypt::{KeyPurpose, Keyring, ManualClock, RotationPolicy};
///
/// const DAY: u64 = 86_400;
/// let clock = Arc::new(ManualClock::new(1_700_000_000));
/// let mut keyring = Keyring::generate_with_clock(clock.clone())?;
/// let policy = RotationPolicy::days(90, 30)?;
///
/// clock.set(1_700_000_000 + 89 * DAY);
/// assert!(!policy.status(&keyring)?.is_due());
///
/// clock.set(1_700_000_000 + 90 * DAY);
/// let status = policy.status(&keyring)?;
/// assert!(status.rotate_due());
/// assert!(status.retire_due().is_empty());
///
/// let old = status.primary().id;
/// keyring.rotate(KeyPurpose::Encryption)?;
/// clock.set(1_700_000_000 + 120 * DAY);
/// let status = policy.status(&keyring)?;
/// assert!(!status.rotate_due());
/// assert_eq!(status.retire_due()[0].id, old);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    rotate_after: Duration,
    retire_after: Duration,
}

const DAY_SECS: u64 = 86_400;

impl RotationPolicy {
    /// A policy with these periods.
    ///
    /// # Errors
    /// [`InvalidPolicy`] if either is zero.
    pub fn new(rotate_after: Duration, retire_after: Duration) -> Result<Self, InvalidPolicy> {
        if rotate_after.is_zero() || retire_after.is_zero() {
            return Err(InvalidPolicy);
        }
        Ok(Self {
            rotate_after,
            retire_after,
        })
    }

    /// A policy in whole days: rotate after `rotate_after`, retire after `retire_after`.
    ///
    /// # Errors
    /// [`InvalidPolicy`] if either is zero.
    pub fn days(rotate_after: u64, retire_after: u64) -> Result<Self, InvalidPolicy> {
        Self::new(
            Duration::from_secs(rotate_after.saturating_mul(DAY_SECS)),
            Duration::from_secs(retire_after.saturating_mul(DAY_SECS)),
        )
    }

    /// How old the primary key may get.
    pub fn rotate_after(&self) -> Duration {
        self.rotate_after
    }

    /// How long a replaced key may stay decrypt-only.
    pub fn retire_after(&self) -> Duration {
        self.retire_after
    }

    /// The keyring's state under this policy, now by the keyring's clock.
    ///
    /// # Errors
    /// [`KeyringError::NoPrimary`](crate::KeyringError::NoPrimary) (never for a loaded or
    /// generated keyring).
    pub fn status(&self, keyring: &Keyring) -> Result<RotationStatus, crate::KeyringError> {
        self.status_at(keyring, keyring.now_unix())
    }

    /// The keyring's state under this policy at `now_unix` (seconds since the Unix epoch). A
    /// key dated after `now_unix` (a clock set back) counts as new.
    ///
    /// # Errors
    /// As [`status`](Self::status).
    pub fn status_at(
        &self,
        keyring: &Keyring,
        now_unix: u64,
    ) -> Result<RotationStatus, crate::KeyringError> {
        let primary = keyring.primary(KeyPurpose::Encryption)?;
        let age = |since: u64| Duration::from_secs(now_unix.saturating_sub(since));
        let primary_age = age(primary.created_at);
        // A decrypt-only key newer than the primary is being rolled out, not retired.
        let retire_due = keyring
            .keys()
            .filter(|k| {
                k.purpose == KeyPurpose::Encryption
                    && k.state == KeyState::DecryptOnly
                    && k.version < primary.version
                    && age(k.changed_at) >= self.retire_after
            })
            .collect();
        let mut keys = [0; 4];
        for k in keyring.keys() {
            keys[state_index(k.state)] += 1;
        }
        Ok(RotationStatus {
            primary,
            primary_age,
            rotate_due: primary_age >= self.rotate_after,
            retire_due,
            keys,
        })
    }
}

#[cfg_attr(not(any(feature = "metrics", test)), allow(dead_code))]
const STATES: [KeyState; 4] = [
    KeyState::Primary,
    KeyState::DecryptOnly,
    KeyState::Disabled,
    KeyState::Destroyed,
];

fn state_index(state: KeyState) -> usize {
    match state {
        KeyState::Primary => 0,
        KeyState::DecryptOnly => 1,
        KeyState::Disabled => 2,
        KeyState::Destroyed => 3,
    }
}

/// What is due in a keyring under a [`RotationPolicy`], at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationStatus {
    primary: KeyInfo,
    primary_age: Duration,
    rotate_due: bool,
    retire_due: Vec<KeyInfo>,
    keys: [usize; 4],
}

impl RotationStatus {
    /// The primary encryption key.
    pub fn primary(&self) -> KeyInfo {
        self.primary
    }

    /// The primary encryption key's age, from its creation.
    pub fn primary_age(&self) -> Duration {
        self.primary_age
    }

    /// Whether the primary encryption key is at least the policy's rotation age: add a new
    /// key, promote it, rewrap.
    pub fn rotate_due(&self) -> bool {
        self.rotate_due
    }

    /// Replaced encryption keys decrypt-only for at least the policy's retirement age, oldest
    /// first: rewrap what still uses them, then disable them
    /// ([`Keyring::disable_checked`]).
    pub fn retire_due(&self) -> &[KeyInfo] {
        &self.retire_due
    }

    /// Whether anything is due.
    pub fn is_due(&self) -> bool {
        self.rotate_due || !self.retire_due.is_empty()
    }

    /// How many keys of either purpose are in `state`.
    pub fn keys_in(&self, state: KeyState) -> usize {
        self.keys[state_index(state)]
    }

    /// Sets the `metrics` facade's gauges: `palisade_crypt_keys{state}` (every state, 0
    /// included; `primary`, `decrypt_only`, `disabled`, `destroyed`),
    /// `palisade_crypt_active_key_age_seconds`, `palisade_crypt_key_rotation_due` (0 or 1) and
    /// `palisade_crypt_keys_retire_due` (a count). No key id is a label.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    // Key counts and ages in seconds are far below 2^52, where f64 starts to round.
    #[allow(clippy::cast_precision_loss)]
    pub fn record_metrics(&self) {
        for state in STATES {
            metrics::gauge!("palisade_crypt_keys", "state" => metric_state(state))
                .set(self.keys_in(state) as f64);
        }
        metrics::gauge!("palisade_crypt_active_key_age_seconds")
            .set(self.primary_age.as_secs() as f64);
        metrics::gauge!("palisade_crypt_key_rotation_due")
            .set(f64::from(u8::from(self.rotate_due)));
        metrics::gauge!("palisade_crypt_keys_retire_due").set(self.retire_due.len() as f64);
    }
}

/// A state's name as a metric label: snake case.
#[cfg_attr(not(any(feature = "metrics", test)), allow(dead_code))]
pub(crate) fn metric_state(state: KeyState) -> &'static str {
    match state {
        KeyState::Primary => "primary",
        KeyState::DecryptOnly => "decrypt_only",
        KeyState::Disabled => "disabled",
        KeyState::Destroyed => "destroyed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_distinct_slot_and_label() {
        let mut slots: Vec<_> = STATES.iter().map(|&s| state_index(s)).collect();
        slots.sort_unstable();
        assert_eq!(slots, [0, 1, 2, 3]);
        for state in STATES {
            assert_eq!(metric_state(state), state.as_str().replace('-', "_"));
        }
    }
}
