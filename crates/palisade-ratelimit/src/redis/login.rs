//! Login failure counters in Redis, on the server's clock.

use std::{fmt, future::Future, time::Duration};

use redis::{Script, aio::ConnectionManager};

use super::backend::RedisBackend;
use crate::{
    error::{BackendError, BackendErrorKind},
    login::{Counter, LoginStore, Snapshot},
};

/// Login failure counters in Redis. Each counter is its own key (cluster-safe); one attempt
/// costs three script calls.
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

impl RedisLoginStore {
    /// A store sharing the backend's connection.
    pub fn new(backend: &RedisBackend) -> Self {
        Self {
            conn: backend.connection(),
            script: Script::new(include_str!("login.lua")),
            timeout: backend.timeout(),
        }
    }

    async fn run(
        &self,
        keys: &[String; 3],
        mode: &str,
        window_ms: u64,
    ) -> Result<Snapshot, BackendError> {
        let mut snapshot = Snapshot::default();
        for (i, key) in keys.iter().enumerate() {
            let mut conn = self.conn.clone();
            let mut invocation = self.script.key(key);
            invocation.arg(mode).arg(window_ms);
            let reply =
                tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn)).await;
            let (failures, last, now): (u64, u64, u64) = match reply {
                Err(_) => return Err(BackendError::new(BackendErrorKind::Timeout)),
                Ok(Err(e)) => return Err(BackendError::new(super::backend::classify(&e))),
                Ok(Ok(v)) => v,
            };
            snapshot.now_ms = now;
            snapshot.counters[i] = Counter {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                last_ms: last,
            };
        }
        Ok(snapshot)
    }
}

impl LoginStore for RedisLoginStore {
    fn read(
        &self,
        keys: &[String; 3],
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send {
        self.run(keys, "read", 0)
    }

    fn record_failure(
        &self,
        keys: &[String; 3],
        window: Duration,
    ) -> impl Future<Output = Result<Snapshot, BackendError>> + Send {
        self.run(
            keys,
            "fail",
            u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1),
        )
    }

    fn clear(&self, keys: &[String]) -> impl Future<Output = Result<(), BackendError>> + Send {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        for key in keys {
            cmd.arg(key);
        }
        async move {
            match tokio::time::timeout(self.timeout, cmd.query_async::<()>(&mut conn)).await {
                Err(_) => Err(BackendError::new(BackendErrorKind::Timeout)),
                Ok(Err(e)) => Err(BackendError::new(super::backend::classify(&e))),
                Ok(Ok(())) => Ok(()),
            }
        }
    }
}
