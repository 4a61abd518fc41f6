//! Login counters in Redis, on the server's clock: one script call reserves an attempt.

use std::{fmt, future::Future, time::Duration};

use redis::{Script, aio::ConnectionManager};

use super::backend::RedisBackend;
use crate::{
    error::{BackendError, BackendErrorKind},
    login::{AttemptKeys, Counter, Limits, LoginStore, Reservation, Reserved, Scope},
};

/// Login counters in Redis. One attempt's keys share a hash tag (the throttle's prefix), so a
/// reservation is one atomic script call on a single node or a cluster.
#[derive(Clone)]
pub struct RedisLoginStore {
    conn: ConnectionManager,
    script: Script,
    timeout: Duration,
}

impl fmt::Debug for RedisLoginStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLoginStore").finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn counter(f: i64, t: i64) -> Counter {
    Counter {
        failures: u32::try_from(f.max(0)).unwrap_or(u32::MAX),
        last_ms: u64::try_from(t.max(0)).unwrap_or(0),
    }
}

fn protocol() -> BackendError {
    BackendError::new(BackendErrorKind::Protocol)
}

impl RedisLoginStore {
    /// A store sharing the backend's connection.
    pub fn new(backend: &RedisBackend) -> Self {
        Self {
            conn: backend.connection(),
            script: Script::new(include_str!("login.lua")),
            timeout: backend.timeout(),
        }
    }

    async fn call(
        &self,
        keys: &[String],
        args: &[u64],
        op: &str,
    ) -> Result<Vec<i64>, BackendError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation.arg(op);
        for arg in args {
            invocation.arg(*arg);
        }
        let round_trip = crate::telemetry::RoundTrip::start();
        let reply = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await;
        round_trip.end();
        match reply {
            Err(_) => Err(BackendError::new(BackendErrorKind::Timeout)),
            Ok(Err(e)) => Err(BackendError::new(super::backend::classify(&e))),
            Ok(Ok(v)) => Ok(v),
        }
    }

    async fn reserve_in_redis(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> Result<Reservation, BackendError> {
        let args = [
            limits.window_ms(),
            u64::from(limits.account_client.failures),
            ms(limits.account_client.lockout),
            u64::from(limits.client.failures),
            ms(limits.client.lockout),
            u64::from(limits.device.failures),
            ms(limits.device.lockout),
        ];
        let reply = self.call(&keys.all(), &args, "reserve").await?;
        match reply.as_slice() {
            [0, scope, wait] => Ok(Reservation::Refused {
                scope: if *scope == 2 {
                    Scope::Client
                } else {
                    Scope::AccountClient
                },
                wait_ms: u64::try_from(*wait).unwrap_or(1).max(1),
            }),
            [1, trusted, now, af, at, pf, pt, cf, ct, df, dt] => {
                Ok(Reservation::Reserved(Reserved {
                    now_ms: u64::try_from(*now).map_err(|_| protocol())?,
                    trusted: *trusted == 1,
                    account: counter(*af, *at),
                    account_client: counter(*pf, *pt),
                    client: counter(*cf, *ct),
                    device: keys.device.as_ref().map(|_| counter(*df, *dt)),
                }))
            }
            _ => Err(protocol()),
        }
    }
}

impl LoginStore for RedisLoginStore {
    fn reserve(
        &self,
        keys: &AttemptKeys,
        limits: &Limits,
    ) -> impl Future<Output = Result<Reservation, BackendError>> + Send {
        self.reserve_in_redis(keys, limits)
    }

    fn undo(
        &self,
        release: &[String],
        clear: &[String],
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        let keys: Vec<String> = release.iter().chain(clear).cloned().collect();
        let n = release.len() as u64;
        async move {
            if keys.is_empty() {
                return Ok(());
            }
            self.call(&keys, &[n], "undo").await.map(|_| ())
        }
    }
}
