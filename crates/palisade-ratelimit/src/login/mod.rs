//! Login throttling after OWASP's authentication guidance and NIST SP 800-63B §5.2.2.
//!
//! Failures are counted in three scopes: per account (a distributed attack on one account),
//! per (account, client network) (one client guessing one account) and per client network
//! (one client trying many accounts: credential stuffing). Past a scope's free failures each
//! further failure doubles a delay, capped; an account with many failures is locked out for a
//! limited time, never permanently by default. Success clears the account's and the pair's
//! counters. The throttle never asks whether an account exists: unknown accounts are counted
//! exactly like known ones, so its answers reveal nothing about which names are real.

mod memory;

use std::{fmt, future::Future, sync::Arc, time::Duration};

pub use memory::MemoryLoginStore;

use crate::{client_ip::ClientKey, error::BackendError};

/// Longest account name used in a store key, in bytes; longer names are truncated.
const MAX_ACCOUNT_LEN: usize = 256;

/// Which counter a limit belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Failures for one account from anywhere.
    Account,
    /// Failures for one account from one client network.
    AccountClient,
    /// Failures from one client network for any account.
    Client,
}

/// Delays for one scope: after `free` failures the next attempt waits `base`, and each further
/// failure doubles the wait, up to `max`.
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
    /// The delay after `failures` failures.
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

/// Login throttling settings. The defaults follow NIST SP 800-63B (at most 100 consecutive
/// failures per account before the account is blocked, here temporarily).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginPolicy {
    /// Per-account delays (default: 10 free, 1 s doubling to 15 min).
    pub account: Backoff,
    /// Per (account, client network) delays (default: 3 free, 1 s doubling to 15 min).
    pub account_client: Backoff,
    /// Per client network delays (default: 100 free, 1 s doubling to 1 h).
    pub client: Backoff,
    /// Account failures that lock the account (default 100); `None` never locks.
    pub lockout_after: Option<u32>,
    /// How long a lockout lasts (default 1 h); it ends by itself.
    pub lockout: Duration,
    /// How long a counter is kept after its last failure (default 24 h).
    pub window: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        let fifteen_min = Duration::from_secs(15 * 60);
        Self {
            account: Backoff {
                free: 10,
                base: Duration::from_secs(1),
                max: fifteen_min,
            },
            account_client: Backoff {
                free: 3,
                base: Duration::from_secs(1),
                max: fifteen_min,
            },
            client: Backoff {
                free: 100,
                base: Duration::from_secs(1),
                max: Duration::from_secs(3600),
            },
            lockout_after: Some(100),
            lockout: Duration::from_secs(3600),
            window: Duration::from_secs(24 * 3600),
        }
    }
}

/// One counter as stored: failures and the store-clock time of the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Failures counted.
    pub failures: u32,
    /// Milliseconds on the store's clock at the last failure.
    pub last_ms: u64,
}

/// The three counters for one attempt, and the store's clock when they were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The store's clock, milliseconds.
    pub now_ms: u64,
    /// Account, account+client, client: in [`Scope`] order.
    pub counters: [Counter; 3],
}

/// Where failure counters live: in process ([`MemoryLoginStore`]) or in Redis
/// (`RedisLoginStore`, feature `redis`).
pub trait LoginStore: Send + Sync {
    /// Reads the three counters.
    fn read(
        &self,
        keys: &[String; 3],
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send;
    /// Adds one failure to each counter, each kept for `window` after this failure.
    fn record_failure(
        &self,
        keys: &[String; 3],
        window: Duration,
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send;
    /// Deletes counters.
    fn clear(&self, keys: &[String]) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// The throttle's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct LoginDecision {
    /// Whether a login attempt may be made now.
    pub allowed: bool,
    /// When denied, how long until an attempt is allowed.
    pub retry_after: Option<Duration>,
    /// The scope imposing the longest wait.
    pub scope: Option<Scope>,
    /// Whether the account is in a (temporary) lockout.
    pub locked: bool,
}

/// Something a security team may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SuspiciousActivity {
    /// An account reached the lockout threshold.
    AccountLocked {
        /// The account, as given to the throttle.
        account: String,
        /// Failures counted.
        failures: u32,
    },
    /// A client network started being delayed (many failures across accounts).
    ClientThrottled {
        /// The client network.
        client: ClientKey,
        /// Failures counted.
        failures: u32,
    },
}

type Hook = Arc<dyn Fn(&SuspiciousActivity) + Send + Sync>;

/// Login throttling over a [`LoginStore`].
pub struct LoginThrottle<S> {
    store: S,
    policy: LoginPolicy,
    prefix: String,
    hook: Option<Hook>,
}

impl<S> fmt::Debug for LoginThrottle<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("policy", &self.policy)
            .field("hook", &self.hook.is_some())
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
    /// A throttle with the given policy. Account names are used as given: normalise them
    /// (case, Unicode) the way the login form does before calling.
    pub fn new(store: S, policy: LoginPolicy) -> Self {
        Self {
            store,
            policy,
            prefix: "palisade:login".to_owned(),
            hook: None,
        }
    }

    /// Calls `hook` on suspicious activity (lockouts, throttled client networks).
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

    /// Sets the store key prefix (default `palisade:login`).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    fn keys(&self, account: &str, client: &ClientKey) -> [String; 3] {
        let account = truncate(account);
        let p = &self.prefix;
        [
            format!("{p}:{{a:{account}}}"),
            format!("{p}:{{ac:{client}:{account}}}"),
            format!("{p}:{{c:{client}}}"),
        ]
    }

    fn judge(&self, snapshot: &Snapshot) -> LoginDecision {
        let backoffs = [
            (Scope::Account, self.policy.account),
            (Scope::AccountClient, self.policy.account_client),
            (Scope::Client, self.policy.client),
        ];
        let mut wait = Duration::ZERO;
        let mut scope = None;
        let mut locked = false;
        for (i, (s, backoff)) in backoffs.iter().enumerate() {
            let c = snapshot.counters[i];
            if c.failures == 0 {
                continue;
            }
            let mut delay = backoff.delay(c.failures);
            if *s == Scope::Account && self.policy.lockout_after.is_some_and(|n| c.failures >= n) {
                delay = delay.max(self.policy.lockout);
            }
            let until = c
                .last_ms
                .saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            let left = Duration::from_millis(until.saturating_sub(snapshot.now_ms));
            if *s == Scope::Account && !left.is_zero() && delay >= self.policy.lockout {
                locked = self.policy.lockout_after.is_some_and(|n| c.failures >= n);
            }
            if left > wait {
                wait = left;
                scope = Some(*s);
            }
        }
        LoginDecision {
            allowed: wait.is_zero(),
            retry_after: (!wait.is_zero()).then_some(wait),
            scope,
            locked,
        }
    }

    /// Whether `account` may attempt a login from `client` now. Call before verifying the
    /// password, for known and unknown accounts alike.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable (treat as "not now").
    pub async fn check(
        &self,
        account: &str,
        client: &ClientKey,
    ) -> Result<LoginDecision, BackendError> {
        let snapshot = self.store.read(&self.keys(account, client)).await?;
        Ok(self.judge(&snapshot))
    }

    /// Records a failed attempt (wrong password or unknown account) and returns the wait it
    /// imposes.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable.
    pub async fn record_failure(
        &self,
        account: &str,
        client: &ClientKey,
    ) -> Result<LoginDecision, BackendError> {
        let snapshot = self
            .store
            .record_failure(&self.keys(account, client), self.policy.window)
            .await?;
        let decision = self.judge(&snapshot);
        if let Some(hook) = &self.hook {
            let [acct, _, net] = snapshot.counters;
            if self.policy.lockout_after == Some(acct.failures) {
                hook(&SuspiciousActivity::AccountLocked {
                    account: truncate(account).to_owned(),
                    failures: acct.failures,
                });
            }
            if net.failures == self.policy.client.free.max(1) {
                hook(&SuspiciousActivity::ClientThrottled {
                    client: *client,
                    failures: net.failures,
                });
            }
        }
        if decision.locked {
            tracing::warn!(target: "palisade_ratelimit", "login: account locked out temporarily");
        }
        metrics::counter!("palisade_ratelimit_login_failures_total").increment(1);
        Ok(decision)
    }

    /// Records a successful login: clears the account's and the (account, client) counters.
    /// The client network's counter stays, so one valid account does not reset a network that
    /// is trying many others.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when the store is unreachable.
    pub async fn record_success(
        &self,
        account: &str,
        client: &ClientKey,
    ) -> Result<(), BackendError> {
        let [a, ac, _] = self.keys(account, client);
        self.store.clear(&[a, ac]).await
    }
}
