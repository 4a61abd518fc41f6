//! The embedded `SQLite` database: schema, and one connection used from tokio's blocking pool.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use rusqlite::{Connection, OptionalExtension as _, params};

/// A database failure. Its text goes to the log only (redacted); clients see a generic 500.
#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct DbError(String);

impl DbError {
    pub(crate) fn new(message: String) -> Self {
        Self(message)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.to_string())
    }
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user',
    display_name  TEXT NOT NULL DEFAULT '',
    bio           TEXT NOT NULL DEFAULT '',
    phone         TEXT,
    address       TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_queue (
    id         INTEGER PRIMARY KEY,
    action     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    fields     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reset_queue (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// Columns added after the first schema, added to a database created before them.
fn migrate(conn: &Connection) -> Result<(), DbError> {
    let has_epoch: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('users') WHERE name = 'reset_epoch'",
        [],
        |r| r.get(0),
    )?;
    if !has_epoch {
        conn.execute_batch("ALTER TABLE users ADD COLUMN reset_epoch INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

/// A user row.
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Email address (the login name).
    pub email: String,
    /// PHC string.
    pub password_hash: String,
    /// `user` or `admin`.
    pub role: String,
    /// Display name (plain text).
    pub display_name: String,
    /// Sanitized HTML.
    pub bio: String,
    /// Encrypted phone number (`pc1:` text), bound to this row.
    pub phone: Option<String>,
    /// Encrypted postal address (`pc1:` text), bound to this row.
    pub address: Option<String>,
    /// Bumped by every password change: a reset token names the epoch it was issued in, so a
    /// change ends every reset token issued before it.
    pub reset_epoch: i64,
}

/// The database handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        role: row.get(3)?,
        display_name: row.get(4)?,
        bio: row.get(5)?,
        phone: row.get(6)?,
        address: row.get(7)?,
        reset_epoch: row.get(8)?,
    })
}

const USER_COLUMNS: &str =
    "id, email, password_hash, role, display_name, bio, phone, address, reset_epoch";

/// How long a statement waits for a lock another connection holds.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Db {
    /// Opens (creating if needed) the database at `path` and applies the schema.
    ///
    /// # Errors
    /// [`DbError`] if the file cannot be opened or the schema applied.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Holds the connection, as a long write transaction would.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| DbError("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|_| DbError("database task failed".into()))?
    }

    /// Runs `f` with the connection on the current thread (for the offline commands).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| DbError("connection lock poisoned".into()))?;
        f(&mut guard)
    }

    /// Registers `email`, or, when it is taken, mails its owner instead: one transaction
    /// either way (an insert and an outbox row), so both take the same work. `Some(id)` for a
    /// new account.
    pub(crate) async fn register_or_notify(
        &self,
        email: String,
        password_hash: String,
        now: i64,
    ) -> Result<Option<i64>, DbError> {
        self.call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT INTO users (email, password_hash, role, created_at, updated_at)
                 VALUES (?1, ?2, 'user', ?3, ?3) ON CONFLICT(email) DO NOTHING",
                params![email, password_hash, now],
            )? == 1;
            let id = inserted.then(|| tx.last_insert_rowid());
            let (kind, body) = if inserted {
                (
                    "welcome",
                    "Your account was created. If this was not you, ignore this message.",
                )
            } else {
                (
                    "account_exists",
                    "Someone tried to register with your address, which already has an \
                     account. If it was you, log in or reset your password.",
                )
            };
            tx.execute(
                "INSERT INTO outbox (recipient, kind, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    email,
                    kind,
                    serde_json::json!({ "text": body }).to_string(),
                    now
                ],
            )?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// Queues a password-reset request for `email` (known or not): the request path does this
    /// and nothing that depends on the account; the reset worker resolves it.
    pub(crate) async fn queue_reset(&self, email: String, now: i64) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO reset_queue (email, created_at) VALUES (?1, ?2)",
                params![email, now],
            )?;
            Ok(())
        })
        .await
    }

    /// The oldest `limit` queued reset requests: (row id, email, queued at).
    pub(crate) async fn queued_resets(
        &self,
        limit: u32,
    ) -> Result<Vec<(i64, String, i64)>, DbError> {
        self.call(move |c| {
            let mut stmt =
                c.prepare("SELECT id, email, created_at FROM reset_queue ORDER BY id LIMIT ?1")?;
            let rows = stmt
                .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Removes a handled reset request.
    pub(crate) async fn unqueue_reset(&self, id: i64) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute("DELETE FROM reset_queue WHERE id = ?1", [id])?;
            Ok(())
        })
        .await
    }

    /// The user with this email.
    pub(crate) async fn user_by_email(&self, email: String) -> Result<Option<User>, DbError> {
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                params![email],
                user_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// The user with this id.
    pub(crate) async fn user_by_id(&self, id: i64) -> Result<Option<User>, DbError> {
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                params![id],
                user_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// Replaces a user's password hash.
    pub(crate) async fn set_password_hash(
        &self,
        id: i64,
        hash: String,
        now: i64,
    ) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, hash, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Sets a new password and bumps the account's reset epoch, ending every reset token
    /// issued before. With `epoch`, only if the account is still at that epoch (a reset token
    /// of an earlier epoch, or one that lost a race with another change, sets nothing).
    /// Whether the password was set.
    pub(crate) async fn change_password(
        &self,
        id: i64,
        hash: String,
        epoch: Option<i64>,
        now: i64,
    ) -> Result<bool, DbError> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE users SET password_hash = ?2, reset_epoch = reset_epoch + 1,
                 updated_at = ?3 WHERE id = ?1 AND (?4 IS NULL OR reset_epoch = ?4)",
                params![id, hash, now, epoch],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Writes the profile fields (already sanitized and encrypted).
    pub(crate) async fn update_profile(&self, user: User, now: i64) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "UPDATE users SET display_name = ?2, bio = ?3, phone = ?4, address = ?5,
                 updated_at = ?6 WHERE id = ?1",
                params![
                    user.id,
                    user.display_name,
                    user.bio,
                    user.phone,
                    user.address,
                    now
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Queues a message for delivery (the outbox a mailer would drain).
    pub(crate) async fn push_outbox(
        &self,
        recipient: String,
        kind: &'static str,
        body: String,
        now: i64,
    ) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO outbox (recipient, kind, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![recipient, kind, body, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Every user's id, email and role, for the admin listing.
    pub(crate) async fn list_users(&self) -> Result<Vec<(i64, String, String)>, DbError> {
        self.call(|c| {
            let mut stmt = c.prepare("SELECT id, email, role FROM users ORDER BY id LIMIT 1000")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Promotes a user to `role` (the `grant-role` command).
    /// Gives the account `email` the role `role` and queues the audit record of the change in
    /// the same transaction. `Ok(false)` if there is no such account.
    pub(crate) fn set_role(&self, email: &str, role: &str, now: i64) -> Result<bool, DbError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let id: Option<i64> = tx
                .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(id) = id else {
                return Ok(false);
            };
            tx.execute(
                "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, role, now],
            )?;
            let mut fields = serde_json::Map::new();
            fields.insert("user".into(), id.into());
            fields.insert("role".into(), role.into());
            crate::audit_queue::queue(
                &tx,
                "admin.role_granted",
                palisade_audit::Outcome::Success,
                &fields,
                now,
            )?;
            tx.commit()?;
            Ok(true)
        })
    }
}
