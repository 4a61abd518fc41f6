//! The Redis backend: one EVALSHA of one GCRA script per decision, on the server's clock.

use std::{fmt, num::NonZeroU32, time::Duration};

use redis::{
    Client, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{
    decision::Decision,
    error::{BackendError, BackendErrorKind},
    policy::Policy,
};

const SCRIPT: &str = include_str!("gcra.lua");

/// Settings of a [`RedisBackend`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// Prefix of every key (default `palisade:rl`).
    pub prefix: String,
    /// The longest a decision may wait for Redis before it counts as a failure (default
    /// 250 ms).
    pub timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            prefix: "palisade:rl".to_owned(),
            timeout: Duration::from_millis(250),
        }
    }
}

impl RedisConfig {
    /// Sets the key prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// Sets the per-decision timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The Redis URL or configuration was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a valid Redis URL.
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// The client could not be set up.
    #[error("cannot set up the Redis client: {0}")]
    Client(String),
    /// Called outside a Tokio runtime; the connection's background task needs one.
    #[error("RedisBackend::new must be called from within a Tokio runtime")]
    NoRuntime,
}

pub(crate) fn classify(e: &redis::RedisError) -> BackendErrorKind {
    if e.is_timeout() {
        BackendErrorKind::Timeout
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        BackendErrorKind::Unavailable
    } else {
        BackendErrorKind::Protocol
    }
}

/// Limits shared by every process talking to the same Redis (or Redis Cluster: each decision
/// touches one key, tagged `{policy:key}`).
///
/// The decision is taken by one Lua script on the server, with the server's clock, so the
/// processes' clocks do not matter. The script is sent by SHA1 and loaded again when the
/// server has lost it (restart, `SCRIPT FLUSH`).
#[derive(Clone)]
pub struct RedisBackend {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A backend for the server at `url`. Connects lazily, so this succeeds while Redis is
    /// down; the failure policies take over until it is up. Must be called within a Tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// [`ConnectError`] for an invalid URL, or outside a Tokio runtime.
    pub fn new(url: &str, config: RedisConfig) -> Result<Self, ConnectError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConnectError::NoRuntime);
        }
        let client = Client::open(url).map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| ConnectError::Client(e.to_string()))?;
        Ok(Self {
            conn,
            script: Script::new(SCRIPT),
            prefix: config.prefix,
            timeout: config.timeout,
        })
    }

    pub(crate) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The Redis key holding `key`'s state under `policy`.
    pub fn key_for(&self, key: &str, policy: &Policy) -> String {
        format!("{}:{{{}:{key}}}", self.prefix, policy.name())
    }

    /// Checks one request of cost 1.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when Redis gave no decision.
    pub async fn check(&self, key: &str, policy: &Policy) -> Result<Decision, BackendError> {
        self.check_n(key, policy, NonZeroU32::MIN).await
    }

    /// Checks a request of the given cost.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when Redis gave no decision.
    pub async fn check_n(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
    ) -> Result<Decision, BackendError> {
        self.run(key, policy, cost, None).await
    }

    /// Decides as if the server's clock read `at` (microseconds since the Unix epoch).
    ///
    /// Only for replaying recorded sequences and deterministic tests: in production the
    /// server's clock must decide, or processes with skewed clocks disagree.
    ///
    /// # Errors
    ///
    /// [`BackendError`] when Redis gave no decision.
    pub async fn check_n_replaying_time(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
        at_micros: u64,
    ) -> Result<Decision, BackendError> {
        self.run(key, policy, cost, Some(at_micros)).await
    }

    async fn run(
        &self,
        key: &str,
        policy: &Policy,
        cost: NonZeroU32,
        at: Option<u64>,
    ) -> Result<Decision, BackendError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(self.key_for(key, policy));
        invocation
            .arg(policy.interval_micros())
            .arg(policy.tau_micros())
            .arg(cost.get());
        match at {
            Some(at) => invocation.arg(at),
            None => invocation.arg(""),
        };
        let round_trip = crate::telemetry::RoundTrip::start();
        let reply = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await;
        round_trip.end();
        let (allowed, remaining, reset, retry): (i64, i64, i64, i64) = match reply {
            Err(_elapsed) => return Err(BackendError::new(BackendErrorKind::Timeout)),
            Ok(Err(e)) => return Err(BackendError::new(classify(&e))),
            Ok(Ok(v)) => v,
        };
        let micros = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
        let decision = Decision {
            allowed: allowed == 1,
            limit: policy.limit(),
            remaining: u32::try_from(remaining).unwrap_or(0),
            reset: micros(reset),
            retry_after: (allowed != 1 && retry >= 0).then(|| micros(retry)),
        };
        crate::telemetry::redis_decision(policy.name(), &decision);
        Ok(decision)
    }
}
