//! What a login store does: reserve an attempt atomically, and take reservations back.

use std::{future::Future, time::Duration};

use crate::error::BackendError;

/// A hard limit: `failures` failures lock the counter for `lockout` after the last one.
/// `failures: 0` disables the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardLimit {
    /// Failures (reserved attempts included) that lock.
    pub failures: u32,
    /// How long a lock lasts after the last counted attempt. When it has passed, one more
    /// attempt is let through; if it fails too, the lock starts again.
    pub lockout: Duration,
}

impl HardLimit {
    fn lockout_ms(&self) -> u64 {
        u64::try_from(self.lockout.as_millis()).unwrap_or(u64::MAX)
    }

    /// How long a counter at `failures`, last counted at `last_ms`, stays locked at `now_ms`
    /// (0: not locked).
    pub(crate) fn wait_ms(&self, counter: Counter, now_ms: u64) -> u64 {
        if self.failures == 0 || counter.failures < self.failures {
            return 0;
        }
        counter
            .last_ms
            .saturating_add(self.lockout_ms())
            .saturating_sub(now_ms)
    }
}

/// The store keys of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    /// Attempts at the account from anywhere: only slows down, never refuses.
    pub account: String,
    /// Attempts at the account from one client network: hard limit for untrusted clients.
    pub account_client: String,
    /// Attempts from one client network at any account: hard limit.
    pub client: String,
    /// Attempts with one valid device cookie: while under its limit the device is trusted.
    pub device: Option<String>,
}

impl AttemptKeys {
    /// Every key, in the order account, account+client, client, device.
    pub fn all(&self) -> Vec<String> {
        let mut keys = vec![
            self.account.clone(),
            self.account_client.clone(),
            self.client.clone(),
        ];
        keys.extend(self.device.clone());
        keys
    }
}

/// The hard limits a reservation is checked against, and how long counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per (account, client network), for clients without a trusted device cookie.
    pub account_client: HardLimit,
    /// Per client network.
    pub client: HardLimit,
    /// Per device cookie: past it the device is no longer trusted.
    pub device: HardLimit,
    /// How long a counter is kept after its last attempt.
    pub window: Duration,
}

impl Limits {
    pub(crate) fn window_ms(&self) -> u64 {
        u64::try_from(self.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// One counter as stored: attempts counted and the store-clock time of the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Attempts counted (failures, and reservations not yet settled).
    pub failures: u32,
    /// Milliseconds on the store's clock at the last counted attempt.
    pub last_ms: u64,
}

/// The counters as they were just before a reservation added to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reserved {
    /// The store's clock, milliseconds.
    pub now_ms: u64,
    /// Whether a device key was given and is under its limit.
    pub trusted: bool,
    /// The account's counter.
    pub account: Counter,
    /// The (account, client) counter.
    pub account_client: Counter,
    /// The client network's counter.
    pub client: Counter,
    /// The device's counter, when a device key was given.
    pub device: Option<Counter>,
}

/// Which hard limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Too many failures for this account from this client network.
    AccountClient,
    /// Too many failures from this client network across accounts.
    Client,
}

impl Scope {
    /// The scope's `snake_case` name, as in the `scope` label of
    /// `palisade_ratelimit_lockouts_total`: `account_client` or `client`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccountClient => "account_client",
            Self::Client => "client",
        }
    }
}

/// A store's answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Counted: one attempt added to every key, pending its outcome.
    Reserved(Reserved),
    /// Nothing counted: a hard limit is reached.
    Refused {
        /// The limit.
        scope: Scope,
        /// Milliseconds until it lets an attempt through.
        wait_ms: u64,
    },
}

/// The decision every store takes atomically, on counters read under one lock (memory) or in
/// one script (Redis, which mirrors this function in `login.lua`).
pub(crate) fn decide(
    limits: &Limits,
    now_ms: u64,
    account: Counter,
    account_client: Counter,
    client: Counter,
    device: Option<Counter>,
) -> Reservation {
    let trusted = device.is_some_and(|d| limits.device.wait_ms(d, now_ms) == 0);
    let wait_ms = limits.client.wait_ms(client, now_ms);
    if wait_ms > 0 {
        return Reservation::Refused {
            scope: Scope::Client,
            wait_ms,
        };
    }
    if !trusted {
        let wait_ms = limits.account_client.wait_ms(account_client, now_ms);
        if wait_ms > 0 {
            return Reservation::Refused {
                scope: Scope::AccountClient,
                wait_ms,
            };
        }
    }
    Reservation::Reserved(Reserved {
        now_ms,
        trusted,
        account,
        account_client,
        client,
        device,
    })
}

/// Where login counters live: in process ([`MemoryLoginStore`](super::MemoryLoginStore)) or
/// in Redis (`RedisLoginStore`, feature `redis`).
///
/// Architecture invariant: `reserve` reads, decides and counts in one atomic step, so
/// concurrent attempts can never together pass a hard limit.
pub trait LoginStore: Send + Sync {
    /// Atomically: reads the counters of `keys`, refuses if a hard limit of `limits` is
    /// reached (see the crate's `decide`), otherwise adds one attempt to every key (each kept
    /// for `limits.window` from now) and returns the counters as they were before.
    fn reserve(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> impl Future<Output = Result<Reservation, BackendError>> + Send;

    /// Atomically takes one attempt back from each key of `release` (never below zero) and
    /// deletes the keys of `clear`.
    fn undo(
        &self,
        release: &[String],
        clear: &[String],
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
