//! The probes: `GET /health/live` (the process answers) and `GET /health/ready` (each backend
//! answers). Neither touches a backend on the request: readiness is checked once a second in
//! the background ([`check`]) and the probe reads the last result, so probing costs nothing a
//! flood of probes could turn against the database.

use std::{
    sync::atomic::{AtomicU8, Ordering},
    time::Duration,
};

use axum::{extract::State, http::StatusCode, response::Response};
use serde_json::{Map, Value, json};

use crate::{
    app::{AppState, Shared, json_response, ok_json},
    problem::public_body,
};

/// How long one backend may take to answer a readiness check.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// A backend's last known state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// Not checked yet, or not configured.
    Unknown = 0,
    /// Answered the last check.
    Up = 1,
    /// Failed the last check.
    Down = 2,
}

/// The last readiness check of each backend.
#[derive(Debug, Default)]
pub(crate) struct Backends {
    database: AtomicU8,
    redis: AtomicU8,
    audit: AtomicU8,
}

fn load(cell: &AtomicU8) -> Status {
    match cell.load(Ordering::Relaxed) {
        1 => Status::Up,
        2 => Status::Down,
        _ => Status::Unknown,
    }
}

fn store(cell: &AtomicU8, up: bool) {
    let state = if up { Status::Up } else { Status::Down };
    cell.store(state as u8, Ordering::Relaxed);
}

/// Checks every backend once and records the result: the database answers `SELECT 1`, Redis
/// answers `PING` (when configured), the audit writer has not failed an append.
///
/// The database check takes its write lock (`BEGIN IMMEDIATE`) with a short busy timeout, so
/// a database another process holds locked is reported down rather than waited for.
pub(crate) async fn check(state: &AppState) {
    // Ready means the database can take a write soon: its write lock, within the check's
    // time, then released at once.
    let db = tokio::time::timeout(
        CHECK_TIMEOUT,
        state.db.call(|c| {
            c.busy_timeout(CHECK_TIMEOUT / 2)?;
            let result = c.execute_batch("BEGIN IMMEDIATE; ROLLBACK;");
            c.busy_timeout(crate::db::BUSY_TIMEOUT)?;
            Ok(result?)
        }),
    )
    .await;
    store(&state.backends.database, matches!(db, Ok(Ok(()))));
    if let Some(redis) = &state.redis {
        let mut conn = redis.clone();
        let ping = tokio::time::timeout(
            CHECK_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await;
        store(&state.backends.redis, matches!(ping, Ok(Ok(_))));
    }
    store(&state.backends.audit, state.audit.last_failure().is_none());
}

/// `GET /health/live`: the process is serving. Touches nothing.
pub(crate) async fn live() -> Response {
    ok_json(&json!({ "status": "live" }))
}

/// `GET /health/ready` (and `GET /health`): 200 when every configured backend answered its
/// last check, 503 naming the ones that did not.
pub(crate) async fn ready(State(state): Shared) -> Response {
    let mut backends = Map::new();
    let mut ready = true;
    let configured = [
        ("database", &state.backends.database, true),
        ("redis", &state.backends.redis, state.redis.is_some()),
        ("audit", &state.backends.audit, true),
    ];
    for (name, cell, present) in configured {
        if !present {
            continue;
        }
        let up = load(cell);
        ready &= up == Status::Up;
        let text = match up {
            Status::Up => "up",
            Status::Down => "down",
            Status::Unknown => "unknown",
        };
        backends.insert(name.into(), Value::from(text));
    }
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "backends": backends,
    });
    if ready {
        ok_json(&body)
    } else {
        let response = json_response(StatusCode::SERVICE_UNAVAILABLE, &body);
        public_body(response, "application/json", body.to_string())
    }
}
