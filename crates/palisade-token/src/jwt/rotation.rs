//! A rotation schedule for signing keys: a [`KeySet`] with the dates of its keys, and what a
//! [`RotationPolicy`] says is due.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use super::{
    keys::{SigningKey, VerifyingKey},
    keyset::KeySet,
};
use crate::{clock::Clock, error::ConfigError};

const DAY_SECS: u64 = 86_400;

/// When signing keys are due: rotate the signing key once it is `rotate_after` old, and retire
/// (remove) a replaced key once it has stopped signing for `retire_after`. Choose
/// `retire_after` longer than the longest lifetime of a token the key signed, so no valid
/// token loses its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPolicy {
    rotate_after: Duration,
    retire_after: Duration,
}

impl RotationPolicy {
    /// A policy with these periods.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] if either is zero.
    pub fn new(rotate_after: Duration, retire_after: Duration) -> Result<Self, ConfigError> {
        if rotate_after.is_zero() || retire_after.is_zero() {
            return Err(ConfigError::InvalidSetting(
                "a rotation policy's periods must be longer than zero",
            ));
        }
        Ok(Self {
            rotate_after,
            retire_after,
        })
    }

    /// A policy in whole days.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn days(rotate_after: u64, retire_after: u64) -> Result<Self, ConfigError> {
        Self::new(
            Duration::from_secs(rotate_after.saturating_mul(DAY_SECS)),
            Duration::from_secs(retire_after.saturating_mul(DAY_SECS)),
        )
    }

    /// How long a key may sign.
    pub fn rotate_after(&self) -> Duration {
        self.rotate_after
    }

    /// How long a replaced key stays for verification.
    pub fn retire_after(&self) -> Duration {
        self.retire_after
    }
}

/// When a key entered the set and when it stopped signing, in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dates {
    signing_since: u64,
    replaced_at: Option<u64>,
}

/// A [`KeySet`] that remembers when each key started and stopped signing, so a
/// [`RotationPolicy`] can say what is due. Every key needs a `kid`. Immutable like the set:
/// [`rotate`](Self::rotate) and [`retire`](Self::retire) return the next one; hand
/// [`key_set`](Self::key_set) to the `Issuer` and `Verifier`.
///
/// ```
/// use std::sync::Arc;
/// use palisade_token::{clock::ManualClock, jwt::{Algorithm, RotationPolicy, ScheduledKeySet, SigningKey}};
///
/// const DAY: u64 = 86_400;
/// let clock = ManualClock::new(1_700_000_000);
/// let first = SigningKey::hmac(Algorithm::HS256, &[1; 32])?.with_kid("k1")?;
/// let keys = ScheduledKeySet::new(first, Arc::new(clock.clone()))?;
/// let policy = RotationPolicy::days(30, 2)?;
///
/// clock.set(1_700_000_000 + 30 * DAY);
/// assert!(keys.status(&policy).rotate_due());
/// let next = SigningKey::hmac(Algorithm::HS256, &[2; 32])?.with_kid("k2")?;
/// let keys = keys.rotate(next)?;
///
/// clock.set(1_700_000_000 + 32 * DAY);
/// let status = keys.status(&policy);
/// assert!(!status.rotate_due());
/// assert_eq!(status.retire_due(), ["k1"]);
/// let keys = keys.retire("k1")?;
/// assert_eq!(keys.key_set().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ScheduledKeySet {
    set: KeySet,
    signer: String,
    dates: BTreeMap<String, Dates>,
    clock: Arc<dyn Clock>,
}

impl ScheduledKeySet {
    /// A set whose only key is `key`, signing from now.
    ///
    /// # Errors
    /// [`ConfigError::MissingKid`].
    pub fn new(key: SigningKey, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let since = clock.now();
        Self::signing_since(key, since, clock)
    }

    /// A set whose only key is `key`, signing since `since` (seconds since the Unix epoch):
    /// for a key loaded at start-up whose age is known.
    ///
    /// # Errors
    /// [`ConfigError::MissingKid`].
    pub fn signing_since(
        key: SigningKey,
        since: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let kid = key.kid().ok_or(ConfigError::MissingKid)?.to_owned();
        let set = KeySet::new().with_signing_key(key)?;
        let mut dates = BTreeMap::new();
        dates.insert(
            kid.clone(),
            Dates {
                signing_since: since,
                replaced_at: None,
            },
        );
        Ok(Self {
            set,
            signer: kid,
            dates,
            clock,
        })
    }

    /// Adds a key that signed before and was replaced at `replaced_at`, for verification.
    ///
    /// # Errors
    /// [`ConfigError::MissingKid`], [`ConfigError::DuplicateKid`].
    pub fn with_replaced_key(
        mut self,
        key: VerifyingKey,
        replaced_at: u64,
    ) -> Result<Self, ConfigError> {
        let kid = key.kid().ok_or(ConfigError::MissingKid)?.to_owned();
        self.set = self.set.with_verifying_key(key)?;
        self.dates.insert(
            kid,
            Dates {
                signing_since: replaced_at,
                replaced_at: Some(replaced_at),
            },
        );
        Ok(self)
    }

    /// The next set: `next` signs from now; the current signer stays for verification,
    /// replaced now.
    ///
    /// # Errors
    /// [`ConfigError::MissingKid`], [`ConfigError::DuplicateKid`].
    pub fn rotate(&self, next: SigningKey) -> Result<Self, ConfigError> {
        let kid = next.kid().ok_or(ConfigError::MissingKid)?.to_owned();
        let now = self.clock.now();
        let mut out = self.clone();
        out.set = self.set.rotated(next)?;
        if let Some(old) = out.dates.get_mut(&self.signer) {
            old.replaced_at = Some(now);
        }
        out.dates.insert(
            kid.clone(),
            Dates {
                signing_since: now,
                replaced_at: None,
            },
        );
        out.signer = kid;
        Ok(out)
    }

    /// The set without the replaced key `kid`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownKid`]; [`ConfigError::InvalidSetting`] for the signing key
    /// (rotate first).
    pub fn retire(&self, kid: &str) -> Result<Self, ConfigError> {
        if kid == self.signer {
            return Err(ConfigError::InvalidSetting(
                "the signing key cannot be retired; rotate first",
            ));
        }
        let mut out = self.clone();
        out.set = self.set.without(kid)?;
        out.dates.remove(kid);
        Ok(out)
    }

    /// The keys, for an `Issuer` and a `Verifier`.
    pub fn key_set(&self) -> &KeySet {
        &self.set
    }

    /// The signing key's `kid`.
    pub fn signing_kid(&self) -> &str {
        &self.signer
    }

    /// What is due under `policy`, now by the set's clock.
    pub fn status(&self, policy: &RotationPolicy) -> SigningKeyStatus {
        self.status_at(policy, self.clock.now())
    }

    /// What is due under `policy` at `now` (seconds since the Unix epoch). A date after `now`
    /// (a clock set back) counts as now.
    pub fn status_at(&self, policy: &RotationPolicy, now: u64) -> SigningKeyStatus {
        let age = |since: u64| Duration::from_secs(now.saturating_sub(since));
        let signing_age = self
            .dates
            .get(&self.signer)
            .map_or(Duration::ZERO, |d| age(d.signing_since));
        let mut retire_due: Vec<(u64, String)> = self
            .dates
            .iter()
            .filter_map(|(kid, d)| {
                let replaced = d.replaced_at?;
                (age(replaced) >= policy.retire_after).then(|| (replaced, kid.clone()))
            })
            .collect();
        retire_due.sort();
        SigningKeyStatus {
            signing_age,
            rotate_due: signing_age >= policy.rotate_after,
            retire_due: retire_due.into_iter().map(|(_, kid)| kid).collect(),
            verify_only: self.set.len().saturating_sub(1),
        }
    }
}

/// What is due in a [`ScheduledKeySet`] under a [`RotationPolicy`], at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyStatus {
    signing_age: Duration,
    rotate_due: bool,
    retire_due: Vec<String>,
    verify_only: usize,
}

impl SigningKeyStatus {
    /// How long the signing key has signed.
    pub fn signing_age(&self) -> Duration {
        self.signing_age
    }

    /// Whether the signing key is at least the policy's rotation age.
    pub fn rotate_due(&self) -> bool {
        self.rotate_due
    }

    /// The `kid`s of replaced keys retired at least the policy's retirement age ago, longest
    /// replaced first.
    pub fn retire_due(&self) -> &[String] {
        &self.retire_due
    }

    /// Whether anything is due.
    pub fn is_due(&self) -> bool {
        self.rotate_due || !self.retire_due.is_empty()
    }

    /// How many keys only verify.
    pub fn verify_only(&self) -> usize {
        self.verify_only
    }

    /// Sets the `metrics` facade's gauges `palisade_token_signing_key_age_seconds`,
    /// `palisade_token_key_rotation_due` (0 or 1) and `palisade_token_keys{state}` (`signing`,
    /// always 1, and `verify_only`). No `kid` is a label.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    // Key counts and ages in seconds are far below 2^52, where f64 starts to round.
    #[allow(clippy::cast_precision_loss)]
    pub fn record_metrics(&self) {
        metrics::gauge!("palisade_token_signing_key_age_seconds")
            .set(self.signing_age.as_secs() as f64);
        metrics::gauge!("palisade_token_key_rotation_due")
            .set(f64::from(u8::from(self.rotate_due)));
        metrics::gauge!("palisade_token_keys", "state" => "signing").set(1.0);
        metrics::gauge!("palisade_token_keys", "state" => "verify_only")
            .set(self.verify_only as f64);
    }
}
