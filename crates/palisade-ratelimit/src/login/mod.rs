//! Login throttling that locks out the attacker, not the user (OWASP's authentication
//! guidance, NIST SP 800-63B §5.2.2).
//!
//! - **Hard limits** only where the attacker is: per (account, client network) and per client
//!   network. Past them an attempt is refused until the lockout ends.
//! - **Account-wide**, failures from anywhere only add a delay, capped
//!   ([`LoginPolicy::account_delay`]), and past a threshold the attempt reports that a second
//!   factor is advised: guesses from other networks never lock the owner out.
//! - **Device cookies** ([`DeviceCookies`]): a signed, expiring cookie issued after a
//!   successful login exempts that device from the account-wide delay and from the
//!   (account, client) lockout; a device whose cookie keeps failing has a counter of its own
//!   and stops being trusted past [`LoginPolicy::device`].
//! - **Reservation**: [`LoginThrottle::begin`] counts the attempt as a failure atomically,
//!   before the password is checked, so concurrent guesses can never together pass a limit.
//!   [`LoginAttempt::succeed`], [`LoginAttempt::fail`] and [`LoginAttempt::not_checked`]
//!   settle it; an attempt dropped unsettled stays counted as a failure.
//!
//! The throttle never asks whether an account exists: unknown accounts are counted exactly
//! like known ones, so its answers reveal nothing about which names are real.

mod attempt;
mod device;
mod memory;
mod store;

use std::{fmt, sync::Arc, time::Duration};

pub use attempt::{Admission, Failure, LoginAttempt, Refusal, Success};
pub use device::{
    DeviceCookieError, DeviceCookieErrorKind, DeviceCookieSetupError, DeviceCookies, DeviceId,
    MIN_KEY_LEN,
};
pub use memory::MemoryLoginStore;
pub use store::{
    AttemptKeys, Counter, HardLimit, Limits, LoginStore, Reservation, Reserved, Scope,
};

use crate::{client_ip::ClientKey, error::BackendError};

/// Longest account name used in a store key, in bytes; longer names are truncated.
const MAX_ACCOUNT_LEN: usize = 256;

/// Delays: after `free` failures the next attempt waits `base`, and each further failure
/// doubles the wait, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures that may happen before any wait.
    pub free: u32,
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The delay after `failures` failures: never more than `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.free.max(1) {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free.max(1)).min(62);
        let factor = 1u64 << doublings;
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(base.saturating_mul(factor)).min(self.max)
    }
}

/// Login throttling settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginPolicy {
    /// Per (account, client network), for clients without a trusted device cookie
    /// (default: 5 failures, then locked 15 min).
    pub account_client: HardLimit,
    /// Per client network, across accounts: credential stuffing (default: 100 failures, then
    /// locked 1 h).
    pub client: HardLimit,
    /// Per device cookie: past it the device is no longer trusted and is treated like any
    /// other client (default: 5 failures, for 15 min).
    pub device: HardLimit,
    /// Account-wide delay for clients without a trusted device cookie (default: 5 free, 1 s
    /// doubling to at most 8 s). It never refuses.
    pub account_delay: Backoff,
    /// Account-wide failures from which an attempt reports that a second factor is advised
    /// (default 10; 0 never).
    pub second_factor_after: u32,
    /// How long a counter is kept after its last attempt (default 24 h).
    pub window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        let fifteen_min = Duration::from_secs(15 * 60);
        Self {
            account_client: HardLimit {
                failures: 5,
                lockout: fifteen_min,
            },
            client: HardLimit {
                failures: 100,
                lockout: Duration::from_secs(3600),
            },
            device: HardLimit {
                failures: 5,
                lockout: fifteen_min,
            },
            account_delay: Backoff {
                free: 5,
                base: Duration::from_secs(1),
                max: Duration::from_secs(8),
            },
            second_factor_after: 10,
            window: Duration::from_secs(24 * 3600),
        }
    }
}

impl LoginPolicy {
    fn limits(&self) -> Limits {
        Limits {
            account_client: self.account_client,
            client: self.client,
            device: self.device,
            window: self.window,
        }
    }
}

/// Something a security team may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SuspiciousActivity {
    /// An account reached [`LoginPolicy::second_factor_after`] failures from anywhere.
    AccountUnderAttack {
        /// The account, as given to the throttle.
        account: String,
        /// Failures counted.
        failures: u32,
    },
    /// A client network reached its hard limit (many failures across accounts).
    ClientThrottled {
        /// The client network.
        client: ClientKey,
        /// Failures counted.
        failures: u32,
    },
}

impl SuspiciousActivity {
    /// The event's `snake_case` name, as in the `kind` label of
    /// `palisade_ratelimit_suspicious_total`: `account_under_attack` or `client_throttled`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::AccountUnderAttack { .. } => "account_under_attack",
            Self::ClientThrottled { .. } => "client_throttled",
        }
    }
}

type Hook = Arc<dyn Fn(&SuspiciousActivity) + Send + Sync>;

/// Login throttling over a [`LoginStore`].
pub struct LoginThrottle<S> {
    store: S,
    policy: LoginPolicy,
    prefix: String,
    hook: Option<Hook>,
    devices: Option<DeviceCookies>,
}

impl<S> fmt::Debug for LoginThrottle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .field("hook", &self.hook.is_some())
            .field("devices", &self.devices)
            .finish_non_exhaustive()
    }
}

fn truncate(account: &str) -> &str {
    if account.len() <= MAX_ACCOUNT_LEN {
        return account;
    }
    let mut end = MAX_ACCOUNT_LEN;
    while !account.is_char_boundary(end) {
        end -= 1;
    }
    &account[..end]
}

impl<S: LoginStore> LoginThrottle<S> {
    /// A throttle with the given policy and no device cookies. Account names are used as
    /// given: normalise them (case, Unicode) the way the login form does before calling.
    pub fn new(store: S, policy: LoginPolicy) -> Self {
        Self {
            store,
            policy,
            prefix: "palisade:login".to_owned(),
            hook: None,
            devices: None,
        }
    }

    /// Issues a device cookie on every successful login ([`Success::device_cookie`]) and
    /// trusts a valid one given to [`begin`](Self::begin).
    #[must_use]
    pub fn with_device_cookies(mut self, cookies: DeviceCookies) -> Self {
        self.devices = Some(cookies);
        self
    }

    /// Calls `hook` on suspicious activity (accounts under attack, throttled client networks).
    #[must_use]
    pub fn on_suspicious(
        mut self,
        hook: impl Fn(&SuspiciousActivity) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &LoginPolicy {
        &self.policy
    }

    /// The device cookies, when configured.
    pub fn device_cookies(&self) -> Option<&DeviceCookies> {
        self.devices.as_ref()
    }

    /// Sets the store key prefix (default `palisade:login`). Every key starts with it inside
    /// one Redis hash tag, so one attempt's keys share a cluster slot.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    fn keys(&self, account: &str, client: &ClientKey, device: Option<DeviceId>) -> AttemptKeys {
        let account = truncate(account);
        let p = &self.prefix;
        // Client strings and device ids hold no space, so `<client> <account>` is unambiguous.
        AttemptKeys {
            account: format!("{{{p}}}:a:{account}"),
            account_client: format!("{{{p}}}:ac:{client} {account}"),
            client: format!("{{{p}}}:c:{client}"),
            device: device.map(|d| format!("{{{p}}}:d:{d} {account}")),
        }
    }

    /// Reserves a login attempt at `account` from `client`, before the password is checked,
    /// for known and unknown accounts alike. `device_cookie` is the value of the device cookie
    /// the client sent, if any; an invalid one is ignored (the reason is logged at debug).
    ///
    /// The attempt is counted as a failure from here on: settle it with
    /// [`LoginAttempt::succeed`], [`LoginAttempt::fail`] or [`LoginAttempt::not_checked`].
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable: refuse the login (fail closed).
    pub async fn begin(
        &self,
        account: &str,
        client: &ClientKey,
        device_cookie: Option<&str>,
    ) -> Result<Admission<'_, S>, BackendError> {
        let device = match (&self.devices, device_cookie) {
            (Some(devices), Some(cookie)) => match devices.verify(truncate(account), cookie) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::debug!(
                        target: "palisade_ratelimit",
                        kind = ?e.kind(),
                        "login: device cookie not trusted"
                    );
                    None
                }
            },
            _ => None,
        };
        let keys = self.keys(account, client, device);
        match self.store.reserve(&keys, &self.policy.limits()).await? {
            Reservation::Refused { scope, wait_ms } => {
                crate::telemetry::lockout(scope.as_str());
                Ok(Admission::Refused(Refusal {
                    scope,
                    retry_after: Duration::from_millis(wait_ms.max(1)),
                }))
            }
            Reservation::Reserved(reserved) => Ok(Admission::Admitted(LoginAttempt::new(
                self,
                keys,
                reserved,
                truncate(account),
                *client,
            ))),
        }
    }

    /// Lifts the lockout of `account` for `client` and clears its account-wide counter: for a
    /// proof of control that is not the password, such as a completed password reset.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable.
    pub async fn unlock(&self, account: &str, client: &ClientKey) -> Result<(), BackendError> {
        let keys = self.keys(account, client, None);
        self.store
            .undo(&[], &[keys.account, keys.account_client])
            .await
    }

    fn notify(&self, event: &SuspiciousActivity) {
        crate::telemetry::suspicious(event.as_str());
        if let Some(hook) = &self.hook {
            hook(event);
        }
    }
}
