//! One reserved login attempt and how it is settled.

use std::{fmt, time::Duration};

use super::{
    LoginThrottle, SuspiciousActivity,
    store::{AttemptKeys, LoginStore, Reserved, Scope},
};
use crate::{client_ip::ClientKey, error::BackendError};

/// The throttle's answer to [`LoginThrottle::begin`].
#[derive(Debug)]
#[must_use]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per login and matched at once; a move of a few hundred bytes is \
              nothing next to the password hash that follows"
)]
pub enum Admission<'a, S> {
    /// Check the password (after [`LoginAttempt::delay`]), then settle the attempt.
    Admitted(LoginAttempt<'a, S>),
    /// Do not check the password: answer "too many attempts".
    Refused(Refusal),
}

/// A refused attempt: nothing was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The hard limit reached.
    pub scope: Scope,
    /// How long until an attempt is let through (at least 1 ms).
    pub retry_after: Duration,
}

/// A settled failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Failure {
    /// Whether this failure reached a hard limit for this client: its next attempt will be
    /// refused (or, for a device, no longer trusted).
    pub limit_reached: bool,
    /// Whether the account has had enough failures that a second factor is advised.
    pub second_factor_advised: bool,
}

/// A settled success.
#[derive(Debug)]
#[must_use]
pub struct Success {
    /// A fresh device cookie for this account, when the throttle has
    /// [device cookies](LoginThrottle::with_device_cookies): set it on the response.
    pub device_cookie: Option<String>,
}

/// A login attempt, counted as a failure until it is settled. Dropping it unsettled leaves it
/// counted, so a cancelled request is never a free guess.
#[must_use = "settle the attempt with succeed, fail or not_checked"]
pub struct LoginAttempt<'a, S> {
    throttle: &'a LoginThrottle<S>,
    keys: AttemptKeys,
    reserved: Reserved,
    account: String,
    client: ClientKey,
    delay: Duration,
}

impl<S> fmt::Debug for LoginAttempt<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("trusted_device", &self.reserved.trusted)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl<'a, S: LoginStore> LoginAttempt<'a, S> {
    pub(super) fn new(
        throttle: &'a LoginThrottle<S>,
        keys: AttemptKeys,
        reserved: Reserved,
        account: &str,
        client: ClientKey,
    ) -> Self {
        let delay = if reserved.trusted {
            Duration::ZERO
        } else {
            let full = throttle
                .policy
                .account_delay
                .delay(reserved.account.failures);
            let since = reserved.now_ms.saturating_sub(reserved.account.last_ms);
            full.saturating_sub(Duration::from_millis(since))
        };
        Self {
            throttle,
            keys,
            reserved,
            account: account.to_owned(),
            client,
            delay,
        }
    }

    /// How long to wait before checking the password: the account-wide delay, never more than
    /// [`LoginPolicy::account_delay`](super::LoginPolicy::account_delay)'s `max`, and zero for
    /// a trusted device.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Whether the client presented a valid device cookie that is under its own limit.
    pub fn trusted_device(&self) -> bool {
        self.reserved.trusted
    }

    /// Whether the account has had enough failures from anywhere that a second factor is
    /// advised for a client without a trusted device cookie.
    pub fn second_factor_advised(&self) -> bool {
        let after = self.throttle.policy.second_factor_after;
        !self.reserved.trusted
            && after > 0
            && self.reserved.account.failures.saturating_add(1) >= after
    }

    /// The password was right: takes this attempt back from the account and client network
    /// counters, clears the (account, client) and device counters, and issues a fresh device
    /// cookie when configured. The account-wide counter keeps other clients' failures.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable; the attempt then stays counted as a
    /// failure (the safe side), and the login itself may go ahead.
    pub async fn succeed(self) -> Result<Success, BackendError> {
        let mut clear = vec![self.keys.account_client.clone()];
        clear.extend(self.keys.device.clone());
        self.throttle
            .store
            .undo(
                &[self.keys.account.clone(), self.keys.client.clone()],
                &clear,
            )
            .await?;
        let device_cookie = match &self.throttle.devices {
            Some(devices) => match devices.issue(&self.account) {
                Ok(cookie) => Some(cookie),
                Err(e) => {
                    tracing::warn!(target: "palisade_ratelimit", error = %e, "login: no device cookie issued");
                    None
                }
            },
            None => None,
        };
        Ok(Success { device_cookie })
    }

    /// The password was wrong, or the account does not exist. The failure was already counted
    /// by [`begin`](LoginThrottle::begin), so this cannot fail: no store error can make a
    /// guess free.
    pub fn fail(self) -> Failure {
        let policy = &self.throttle.policy;
        let r = &self.reserved;
        let account = r.account.failures.saturating_add(1);
        let pair = r.account_client.failures.saturating_add(1);
        let client = r.client.failures.saturating_add(1);
        let device = r.device.map(|d| d.failures.saturating_add(1));
        let reached = |count: u32, limit: u32| limit > 0 && count >= limit;
        let limit_reached = reached(client, policy.client.failures)
            || if r.trusted {
                device.is_some_and(|d| reached(d, policy.device.failures))
            } else {
                reached(pair, policy.account_client.failures)
            };
        if policy.second_factor_after > 0 && account == policy.second_factor_after {
            self.throttle
                .notify(&SuspiciousActivity::AccountUnderAttack {
                    account: self.account.clone(),
                    failures: account,
                });
        }
        if client == policy.client.failures {
            self.throttle.notify(&SuspiciousActivity::ClientThrottled {
                client: self.client,
                failures: client,
            });
        }
        if limit_reached {
            tracing::warn!(target: "palisade_ratelimit", "login: a client reached a lockout");
        }
        crate::telemetry::login_failure();
        Failure {
            limit_reached,
            second_factor_advised: self.second_factor_advised(),
        }
    }

    /// The password was not checked (the hasher was busy, say): takes the attempt back from
    /// every counter, as if it had not been made.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable; the attempt then stays counted.
    pub async fn not_checked(self) -> Result<(), BackendError> {
        self.throttle.store.undo(&self.keys.all(), &[]).await
    }
}
