//! Audit records of the offline commands (`grant-role`, `rotate-keys`).
//!
//! The running server is the audit log's only writer, so a command cannot append to it. It
//! queues its record in the database instead, in the same transaction as the change it
//! describes: the change and its record commit together or not at all. The server moves queued
//! records into the audit log every second (and at start, for records queued while it was
//! down), deleting each only after it was appended. A crash between the two appends a record
//! twice, never loses one; the `queued_id` field tells duplicates apart.

use palisade_audit::{Event, Outcome, Queued as Admission};
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use crate::{app::AppState, db::DbError};

/// The actor of every queued record: the operator at the command line.
const ACTOR: &str = "cli";

/// Queues one record on `conn` (inside the caller's transaction, if it has one).
///
/// # Errors
/// The database's.
pub(crate) fn queue(
    conn: &Connection,
    action: &str,
    outcome: Outcome,
    fields: &Map<String, Value>,
    now: i64,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO audit_queue (action, outcome, fields, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            action,
            outcome.as_str(),
            Value::Object(fields.clone()).to_string(),
            now
        ],
    )?;
    Ok(())
}

/// A queued record.
struct Queued {
    id: i64,
    action: String,
    outcome: String,
    fields: String,
    created_at: i64,
}

impl Queued {
    fn event(self) -> Event {
        let mut event = Event::new(self.action)
            .actor(ACTOR)
            .outcome(Outcome::from_name(&self.outcome))
            .field("queued_id", self.id)
            .field("queued_at", self.created_at);
        // Written by `queue` as a JSON object; anything else is kept whole rather than lost.
        match serde_json::from_str::<Map<String, Value>>(&self.fields) {
            Ok(fields) => {
                for (name, value) in fields {
                    event = event.field(name, value);
                }
            }
            Err(_) => event = event.field("fields", self.fields),
        }
        event
    }
}

/// Hands the queued records to the audit writer (up to 100, oldest first), waits until they
/// are appended and synced, then deletes them from the queue. Returns how many were moved.
///
/// # Errors
/// The database's or the writer's; a record the writer's full queue refuses stops the pass and
/// stays queued with the ones after it.
pub(crate) async fn drain(state: &AppState) -> Result<usize, DbError> {
    let queued = state
        .db
        .call(|c| {
            let mut statement = c.prepare(
                "SELECT id, action, outcome, fields, created_at FROM audit_queue \
                 ORDER BY id LIMIT 100",
            )?;
            let rows = statement.query_map([], |r| {
                Ok(Queued {
                    id: r.get(0)?,
                    action: r.get(1)?,
                    outcome: r.get(2)?,
                    fields: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    if queued.is_empty() {
        return Ok(0);
    }
    // Append and sync first; only records that are on disk leave the queue. A record the
    // writer's full queue refused stays queued for the next pass.
    let mut appended = Vec::with_capacity(queued.len());
    for record in queued {
        let id = record.id;
        if state.audit.record(record.event()) == Admission::Dropped {
            break;
        }
        appended.push(id);
    }
    let writer = state.audit.clone();
    let synced = tokio::task::spawn_blocking(move || {
        writer.flush()?;
        // An append that failed is reported here, not by the flush.
        match writer.last_failure() {
            Some(_) => Err(palisade_audit::AppendError::Poisoned),
            None => Ok(()),
        }
    })
    .await;
    match synced {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(DbError::new(format!("audit sync: {e}"))),
        Err(e) => return Err(DbError::new(format!("audit sync: {e}"))),
    }
    let moved = appended.len();
    state
        .db
        .call(move |c| {
            let tx = c.transaction()?;
            for id in appended {
                tx.execute("DELETE FROM audit_queue WHERE id = ?1", [id])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(moved)
}
