//! Where the service keeps refresh families, revoked access tokens, not-before marks and
//! one-time tokens: in its `SQLite` database when it runs alone, so that a logout or a reset
//! survives a restart, or in Redis when a fleet shares them.

use std::sync::Arc;

use palisade_token::{
    StoreError,
    store::{
        Either, NewFamily, OneTimeRecord, OneTimeStore, RedisStore, RefreshStore, RevocationStore,
        RotateOutcome, Rotation,
    },
};
use rusqlite::{OptionalExtension as _, TransactionBehavior, params};

use crate::{
    db::{Db, DbError},
    revocation_index::RevocationIndex,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS token_families (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    last_used  INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS token_families_subject ON token_families (subject);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    rotated_at INTEGER,
    successor  TEXT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS subject_not_before (
    subject    TEXT PRIMARY KEY,
    not_before INTEGER NOT NULL,
    keep_until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS one_time_tokens (
    lookup_id  TEXT PRIMARY KEY,
    verifier   BLOB NOT NULL,
    subject    TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
";

/// Unix seconds as `SQLite` stores them (a time past `i64::MAX` is stored as `i64::MAX`).
fn db_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

fn app_time(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// The token state in the service's database. Every decision (rotate or detect reuse, take a
/// one-time token once, move a not-before mark) is one `IMMEDIATE` transaction on the
/// service's single connection, so concurrent requests see one order; the state is durable
/// with the database (WAL), so it survives a restart.
///
/// The revocation tables are also mirrored in memory (`RevocationIndex`), so checking a
/// token on each request reads no database; writes commit to the database before the mirror.
#[derive(Debug, Clone)]
pub struct SqliteTokenStore {
    db: Db,
    revocations: Arc<RevocationIndex>,
}

impl SqliteTokenStore {
    /// The store in `db`, creating its tables if needed and loading the revocation tables'
    /// mirror.
    ///
    /// # Errors
    /// [`DbError`] if the tables cannot be created or read.
    pub fn new(db: Db) -> Result<Self, DbError> {
        let revocations = db.with(|c| {
            c.execute_batch(SCHEMA)?;
            let revoked = c
                .prepare("SELECT jti, expires_at FROM revoked_tokens")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let marks = c
                .prepare("SELECT subject, not_before, keep_until FROM subject_not_before")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RevocationIndex::load(revoked, marks))
        })?;
        Ok(Self {
            db,
            revocations: Arc::new(revocations),
        })
    }

    /// Runs `f` with the connection on tokio's blocking pool; a database error is a store
    /// error.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, DbError> + Send + 'static,
    {
        self.db
            .call(f)
            .await
            .map_err(|e| StoreError::new(format!("sqlite token store: {e}")))
    }

    /// Forgets what has expired: families past their absolute end with their tokens, revoked
    /// ids and not-before marks past their keep time, expired one-time tokens. Returns how
    /// many rows went.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn purge(&self, now: u64) -> Result<usize, StoreError> {
        let now = db_time(now);
        let mirror = Arc::clone(&self.revocations);
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut n = tx.execute(
                "DELETE FROM refresh_tokens WHERE family IN
                     (SELECT id FROM token_families WHERE expires_at <= ?1)",
                [now],
            )?;
            n += tx.execute("DELETE FROM token_families WHERE expires_at <= ?1", [now])?;
            n += tx.execute("DELETE FROM revoked_tokens WHERE expires_at <= ?1", [now])?;
            n += tx.execute(
                "DELETE FROM subject_not_before WHERE keep_until <= ?1",
                [now],
            )?;
            n += tx.execute("DELETE FROM one_time_tokens WHERE expires_at <= ?1", [now])?;
            tx.commit()?;
            mirror.purge(now);
            Ok(n)
        })
        .await
    }
}

impl RefreshStore for SqliteTokenStore {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        let (id, subject, token) = (
            family.family.to_owned(),
            family.subject.to_owned(),
            family.token.to_owned(),
        );
        let (now, expires_at) = (db_time(family.now), db_time(family.expires_at));
        self.call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "INSERT OR REPLACE INTO token_families (id, subject, expires_at, last_used, revoked)
                     VALUES (?1, ?2, ?3, ?4, 0)",
                    params![id, subject, expires_at, now],
                )?;
                tx.execute(
                    "INSERT OR REPLACE INTO refresh_tokens (hash, family, rotated_at)
                     VALUES (?1, ?2, NULL)",
                    params![token, id],
                )?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    async fn rotate(&self, r: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        let (presented, next) = (r.presented.to_owned(), r.next.to_owned());
        let (now, idle, grace) = (r.now, r.idle_secs, r.grace_secs);
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let token: Option<(String, Option<i64>, Option<String>)> = tx
                .query_row(
                    "SELECT family, rotated_at, successor FROM refresh_tokens WHERE hash = ?1",
                    [&presented],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            let Some((family, rotated_at, successor)) = token else {
                return Ok(RotateOutcome::Unknown);
            };
            let record: Option<(String, i64, i64, bool)> = tx
                .query_row(
                    "SELECT subject, expires_at, last_used, revoked FROM token_families
                         WHERE id = ?1",
                    [&family],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()?;
            let Some((subject, expires_at, last_used, revoked)) = record else {
                return Ok(RotateOutcome::Unknown);
            };
            if revoked {
                return Ok(RotateOutcome::Revoked);
            }
            if now >= app_time(expires_at) || now >= app_time(last_used).saturating_add(idle) {
                return Ok(RotateOutcome::Expired);
            }
            if let Some(at) = rotated_at {
                // One successor per token: a retry inside the grace window gets the same
                // successor while it is unused; anything else is reuse.
                let successor_unused = successor.as_deref() == Some(next.as_str())
                    && tx
                        .query_row(
                            "SELECT rotated_at IS NULL FROM refresh_tokens WHERE hash = ?1",
                            [&next],
                            |row| row.get::<_, bool>(0),
                        )
                        .optional()?
                        .unwrap_or(false);
                if now >= app_time(at).saturating_add(grace) || !successor_unused {
                    tx.execute(
                        "UPDATE token_families SET revoked = 1 WHERE id = ?1",
                        [&family],
                    )?;
                    tx.commit()?;
                    return Ok(RotateOutcome::Reused);
                }
                tx.execute(
                    "UPDATE token_families SET last_used = ?2 WHERE id = ?1",
                    params![family, db_time(now)],
                )?;
                tx.commit()?;
                return Ok(RotateOutcome::Rotated { family, subject });
            }
            tx.execute(
                "UPDATE refresh_tokens SET rotated_at = ?2, successor = ?3 WHERE hash = ?1",
                params![presented, db_time(now), next],
            )?;
            tx.execute(
                "UPDATE token_families SET last_used = ?2 WHERE id = ?1",
                params![family, db_time(now)],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO refresh_tokens (hash, family, rotated_at, successor)
                     VALUES (?1, ?2, NULL, NULL)",
                params![next, family],
            )?;
            tx.commit()?;
            Ok(RotateOutcome::Rotated { family, subject })
        })
        .await
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        let family = family.to_owned();
        self.call(move |c| {
            c.execute(
                "UPDATE token_families SET revoked = 1 WHERE id = ?1",
                [family],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        let subject = subject.to_owned();
        let now = db_time(now);
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live: i64 = tx.query_row(
                "SELECT COUNT(*) FROM token_families
                     WHERE subject = ?1 AND revoked = 0 AND expires_at > ?2",
                params![subject, now],
                |row| row.get(0),
            )?;
            tx.execute(
                "UPDATE token_families SET revoked = 1 WHERE subject = ?1",
                [&subject],
            )?;
            tx.commit()?;
            Ok(app_time(live))
        })
        .await
    }
}

impl RevocationStore for SqliteTokenStore {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        if expires_at <= now {
            return Ok(());
        }
        let (jti, expires_at) = (jti.to_owned(), db_time(expires_at));
        let mirror = Arc::clone(&self.revocations);
        self.call(move |c| {
                c.execute(
                    "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?1, ?2)
                     ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
                    params![jti, expires_at],
                )?;
                // In the task, after the commit: a caller that stops waiting cannot leave the
                // mirror behind the table.
                mirror.revoke(jti, expires_at);
                Ok(())
            })
            .await
    }

    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        Ok(self.revocations.is_revoked(jti, db_time(now)))
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        if keep_until <= now {
            return Ok(());
        }
        let subject = subject.to_owned();
        let (not_before, keep_until) = (db_time(not_before), db_time(keep_until));
        let mirror = Arc::clone(&self.revocations);
        self.call(move |c| {
            c.execute(
                "INSERT INTO subject_not_before (subject, not_before, keep_until)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (subject) DO UPDATE SET
                       not_before = max(not_before, excluded.not_before),
                       keep_until = max(keep_until, excluded.keep_until)",
                params![subject, not_before, keep_until],
            )?;
            mirror.mark(subject, not_before, keep_until);
            Ok(())
        })
        .await
    }

    async fn subject_not_before(&self, subject: &str, now: u64) -> Result<Option<u64>, StoreError> {
        Ok(self
            .revocations
            .not_before(subject, db_time(now))
            .map(app_time))
    }
}

fn one_time_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn one_time_record(row: Option<(Vec<u8>, String, i64)>) -> Result<Option<OneTimeRecord>, DbError> {
    row.map(|(verifier, subject, expires_at)| {
        Ok(OneTimeRecord {
            verifier: verifier
                .try_into()
                .map_err(|_| DbError::new("malformed one-time token row".into()))?,
            subject,
            expires_at: app_time(expires_at),
        })
    })
    .transpose()
}

impl OneTimeStore for SqliteTokenStore {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        if record.expires_at <= now {
            return Ok(());
        }
        let lookup_id = lookup_id.to_owned();
        self.call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO one_time_tokens (lookup_id, verifier, subject, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                params![
                    lookup_id,
                    record.verifier.to_vec(),
                    record.subject,
                    db_time(record.expires_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn take(&self, lookup_id: &str, _now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let lookup_id = lookup_id.to_owned();
        self.call(move |c| {
            let row = c
                .query_row(
                    "DELETE FROM one_time_tokens WHERE lookup_id = ?1
                         RETURNING verifier, subject, expires_at",
                    [lookup_id],
                    one_time_from_row,
                )
                .optional()?;
            one_time_record(row)
        })
        .await
    }

    async fn peek(&self, lookup_id: &str, _now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let lookup_id = lookup_id.to_owned();
        self.call(move |c| {
            let row = c
                .query_row(
                    "SELECT verifier, subject, expires_at FROM one_time_tokens
                         WHERE lookup_id = ?1",
                    [lookup_id],
                    one_time_from_row,
                )
                .optional()?;
            one_time_record(row)
        })
        .await
    }
}

/// The service's token store: the database when it runs alone (`Left`), Redis for a fleet
/// (`Right`). Clones share the store.
pub type TokenStore = Either<SqliteTokenStore, RedisStore>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::{sync::Arc, time::Duration};

    use palisade_token::{
        ErrorKind, ExposeSecret as _, TokenError,
        clock::ManualClock,
        onetime::OneTimeTokens,
        opaque::Purpose,
        refresh::{RefreshGrant, RefreshPolicy, RefreshTokens},
        revocation::RevocationList,
    };

    use super::*;

    const KEY: &[u8] = b"token store test hashing key, 32";
    const NOW: u64 = 1_800_000_000;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn temp_db(name: &str) -> (std::path::PathBuf, Db) {
        let dir = std::env::temp_dir().join(format!(
            "secure-api-token-store-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let db = Db::open(&path).unwrap();
        (path, db)
    }

    fn refresh_tokens(store: SqliteTokenStore, grace: u64) -> RefreshTokens<SqliteTokenStore> {
        RefreshTokens::new(store, KEY)
            .unwrap()
            .policy(
                RefreshPolicy::new(
                    Duration::from_secs(3600),
                    Duration::from_secs(86_400),
                    Duration::from_secs(grace),
                )
                .unwrap(),
            )
            .clock(Arc::new(ManualClock::new(NOW)))
    }

    /// `n` refreshes of `token` at once, their results in spawn order.
    async fn refresh_concurrently(
        tokens: &Arc<RefreshTokens<SqliteTokenStore>>,
        token: &str,
        n: usize,
    ) -> Vec<Result<RefreshGrant, TokenError>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (tokens, token) = (tokens.clone(), token.to_owned());
                tokio::spawn(async move { tokens.refresh(&token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    /// Sixteen concurrent refreshes of one token without a grace window: one rotates, the
    /// others are reuse, and the family is revoked (so even the winner's successor is dead).
    #[test]
    fn concurrent_refreshes_rotate_once() {
        let (_, db) = temp_db("rotate");
        rt().block_on(async {
            let tokens = Arc::new(refresh_tokens(SqliteTokenStore::new(db).unwrap(), 0));
            let login = tokens.issue("alice").await.unwrap();
            let token = login.token().to_owned();
            let mut rotated = Vec::new();
            let mut reused = 0;
            for result in refresh_concurrently(&tokens, &token, 16).await {
                match result {
                    Ok(grant) => rotated.push(grant.token().to_owned()),
                    Err(e) if e.kind() == Some(ErrorKind::Reused) => reused += 1,
                    Err(e) if e.kind() == Some(ErrorKind::Revoked) => reused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!((rotated.len(), reused), (1, 15));
            assert!(tokens.refresh(&rotated[0]).await.is_err());
        });
    }

    /// Within the grace window concurrent refreshes all succeed (two tabs), in one family,
    /// with one successor.
    #[test]
    fn concurrent_refreshes_within_grace_all_rotate() {
        let (_, db) = temp_db("grace");
        rt().block_on(async {
            let tokens = Arc::new(refresh_tokens(SqliteTokenStore::new(db).unwrap(), 10));
            let login = tokens.issue("bob").await.unwrap();
            let token = login.token().to_owned();
            let successors: Vec<String> = refresh_concurrently(&tokens, &token, 8)
                .await
                .into_iter()
                .map(|result| {
                    let grant = result.unwrap();
                    assert_eq!(grant.family(), login.family());
                    grant.token().to_owned()
                })
                .collect();
            // One successor per token: every retry in the window gets the same one.
            assert!(successors.iter().all(|s| *s == successors[0]));
        });
    }

    /// Sixteen concurrent redemptions of one one-time token: exactly one succeeds; a peek
    /// before leaves it redeemable.
    #[test]
    fn concurrent_redemptions_take_once() {
        let (_, db) = temp_db("onetime");
        rt().block_on(async {
            let tokens =
                Arc::new(OneTimeTokens::new(SqliteTokenStore::new(db).unwrap(), KEY).unwrap());
            let token = tokens
                .issue(Purpose::PasswordReset, "7.0", Duration::from_secs(60))
                .await
                .unwrap()
                .expose_secret()
                .to_owned();
            assert_eq!(
                tokens.peek(Purpose::PasswordReset, &token).await.unwrap(),
                "7.0"
            );
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (tokens, token) = (tokens.clone(), token.clone());
                    tokio::spawn(async move {
                        tokens.redeem(Purpose::PasswordReset, &token).await.is_ok()
                    })
                })
                .collect();
            let mut redeemed = 0;
            for task in tasks {
                redeemed += usize::from(task.await.unwrap());
            }
            assert_eq!(redeemed, 1);
        });
    }

    /// Concurrent not-before marks keep the latest, whatever their order.
    #[test]
    fn concurrent_marks_keep_the_latest() {
        let (_, db) = temp_db("marks");
        rt().block_on(async {
            let list = Arc::new(
                RevocationList::new(SqliteTokenStore::new(db).unwrap())
                    .clock(Arc::new(ManualClock::new(NOW))),
            );
            let tasks: Vec<_> = (1..=30u64)
                .rev()
                .map(|i| {
                    let list = list.clone();
                    tokio::spawn(async move { list.revoke_subject_before("carol", NOW + i).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            assert_eq!(list.not_before("carol").await.unwrap(), Some(NOW + 30));
        });
    }

    /// Concurrent revocations of one token id keep the latest expiry, in the database and in
    /// its mirror alike.
    #[test]
    fn concurrent_revocations_keep_the_latest_expiry() {
        let (path, db) = temp_db("revocations");
        let runtime = rt();
        runtime.block_on(async {
            let store = Arc::new(SqliteTokenStore::new(db).unwrap());
            let tasks: Vec<_> = (1..=30u64)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move { store.revoke("jti-9", NOW + i, NOW).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            assert!(store.is_revoked("jti-9", NOW + 29).await.unwrap());
            assert!(!store.is_revoked("jti-9", NOW + 30).await.unwrap());
        });
        let reopened = SqliteTokenStore::new(Db::open(&path).unwrap()).unwrap();
        runtime.block_on(async {
            assert!(reopened.is_revoked("jti-9", NOW + 29).await.unwrap());
            assert!(!reopened.is_revoked("jti-9", NOW + 30).await.unwrap());
        });
    }

    /// A logout whose caller stops waiting (the client went away) still reaches the mirror
    /// once the database has it: the mirror is written in the same task as the table.
    #[test]
    // The lock is held on purpose, to queue the write while its caller gives up.
    #[allow(clippy::await_holding_lock)]
    fn an_abandoned_revocation_still_reaches_the_mirror() {
        let (_, db) = temp_db("abandoned");
        rt().block_on(async {
            let store = SqliteTokenStore::new(db.clone()).unwrap();
            let held = db.hold();
            let revoke = store.revoke("left", NOW + 600, NOW);
            // Started (the write is queued behind the held connection), then abandoned.
            assert!(
                tokio::time::timeout(Duration::from_millis(50), revoke)
                    .await
                    .is_err()
            );
            drop(held);
            for _ in 0..500 {
                if store.is_revoked("left", NOW).await.unwrap() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the committed revocation never reached the mirror");
        });
    }

    /// Checking a token reads the revocation tables' mirror, never the database: the checks
    /// answer while the connection is held (as by a long write transaction) and see what was
    /// written before.
    #[test]
    // The lock is held across the checks on purpose: they must never take it.
    #[allow(clippy::await_holding_lock)]
    fn revocation_checks_do_not_wait_for_the_database() {
        let (_, db) = temp_db("mirror");
        rt().block_on(async {
            let store = SqliteTokenStore::new(db.clone()).unwrap();
            store.revoke("gone", NOW + 600, NOW).await.unwrap();
            store
                .revoke_subject_before("ivan", NOW, NOW + 600, NOW)
                .await
                .unwrap();
            let held = db.hold();
            let checks = async {
                (
                    store.is_revoked("gone", NOW).await.unwrap(),
                    store.is_revoked("kept", NOW).await.unwrap(),
                    store.subject_not_before("ivan", NOW).await.unwrap(),
                )
            };
            let answered = tokio::time::timeout(Duration::from_secs(10), checks).await;
            drop(held);
            assert_eq!(
                answered.expect("a revocation check waited for the database"),
                (true, false, Some(NOW))
            );
        });
    }

    /// Everything the store decided is still there after the database is closed and opened
    /// again (a restart): revoked ids, marks, families and one-time tokens.
    #[test]
    fn state_survives_reopening_the_database() {
        let (path, db) = temp_db("reopen");
        let runtime = rt();
        let (kept, revoked_family, reset) = runtime.block_on(async {
            let store = SqliteTokenStore::new(db).unwrap();
            let refresh = refresh_tokens(store.clone(), 0);
            let kept = refresh.issue("dave").await.unwrap();
            let gone = refresh.issue("dave").await.unwrap();
            refresh.revoke_family(gone.family()).await.unwrap();
            let list = RevocationList::new(store.clone()).clock(Arc::new(ManualClock::new(NOW)));
            list.revoke("jti-1", NOW + 600).await.unwrap();
            list.revoke_subject_before("erin", NOW + 1).await.unwrap();
            let onetime = OneTimeTokens::new(store, KEY)
                .unwrap()
                .clock(Arc::new(ManualClock::new(NOW)));
            let reset = onetime
                .issue(Purpose::PasswordReset, "9.0", Duration::from_secs(600))
                .await
                .unwrap()
                .expose_secret()
                .to_owned();
            (kept.token().to_owned(), gone.token().to_owned(), reset)
        });
        let db = Db::open(&path).unwrap();
        runtime.block_on(async {
            let store = SqliteTokenStore::new(db).unwrap();
            assert!(store.is_revoked("jti-1", NOW).await.unwrap());
            assert_eq!(
                store.subject_not_before("erin", NOW).await.unwrap(),
                Some(NOW + 1)
            );
            let refresh = refresh_tokens(store.clone(), 0);
            assert!(refresh.refresh(&kept).await.is_ok());
            assert_eq!(
                refresh.refresh(&revoked_family).await.unwrap_err().kind(),
                Some(ErrorKind::Revoked)
            );
            let onetime = OneTimeTokens::new(store, KEY)
                .unwrap()
                .clock(Arc::new(ManualClock::new(NOW)));
            assert_eq!(
                onetime
                    .redeem(Purpose::PasswordReset, &reset)
                    .await
                    .unwrap(),
                "9.0"
            );
        });
    }

    /// Signing a subject out counts its live families once and leaves other subjects alone.
    #[test]
    fn revoke_subject_counts_live_families() {
        let (_, db) = temp_db("subject");
        rt().block_on(async {
            let refresh = refresh_tokens(SqliteTokenStore::new(db).unwrap(), 0);
            let a = refresh.issue("frank").await.unwrap();
            let b = refresh.issue("frank").await.unwrap();
            let other = refresh.issue("gina").await.unwrap();
            refresh.revoke_family(a.family()).await.unwrap();
            assert_eq!(refresh.revoke_subject("frank").await.unwrap(), 1);
            assert_eq!(refresh.revoke_subject("frank").await.unwrap(), 0);
            assert!(refresh.refresh(b.token()).await.is_err());
            assert!(refresh.refresh(other.token()).await.is_ok());
        });
    }

    /// The purge forgets only what has expired.
    #[test]
    fn purge_forgets_only_expired_rows() {
        let (_, db) = temp_db("purge");
        rt().block_on(async {
            let store = SqliteTokenStore::new(db).unwrap();
            store.revoke("old", NOW + 10, NOW).await.unwrap();
            store.revoke("new", NOW + 1000, NOW).await.unwrap();
            store
                .revoke_subject_before("hank", NOW + 1, NOW + 10, NOW)
                .await
                .unwrap();
            assert_eq!(store.purge(NOW + 100).await.unwrap(), 2);
            assert!(!store.is_revoked("old", NOW).await.unwrap());
            assert!(store.is_revoked("new", NOW + 100).await.unwrap());
            assert_eq!(store.subject_not_before("hank", NOW).await.unwrap(), None);
        });
    }
}
