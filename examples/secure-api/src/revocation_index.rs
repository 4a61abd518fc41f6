//! The `SQLite` token store's revocation tables (`revoked_tokens`, `subject_not_before`)
//! mirrored in memory.
//!
//! Every authenticated request asks whether its token's `jti` is revoked and whether its
//! subject has a not-before mark. Asked of the database, that is two hand-offs to the blocking
//! pool and two waits for the one connection (behind any write transaction and its sync) on
//! the hottest path of the service. The mirror answers both from memory.
//!
//! The database stays the record: a write goes to the database first and reaches the mirror
//! once it has committed, in the same blocking task (so a caller that stops waiting cannot
//! leave the mirror behind), and the mirror is loaded from the database when the store is
//! opened, so a restart (or a crash anywhere) loses nothing. Both tables only ever move an
//! entry later (`max` on conflict), so concurrent writes reach the same state in either order,
//! in the database and in the mirror alike. The mirror holds what the tables hold: the purge
//! that forgets expired rows forgets them here too.
//!
//! One process owns a database (a fleet shares its token state through Redis instead), so no
//! other writer can change the tables behind the mirror.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

/// Revoked token ids and subjects' not-before marks, times in Unix seconds as the database
/// stores them.
#[derive(Debug, Default)]
pub(crate) struct RevocationIndex {
    tables: RwLock<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    /// `jti` → when the entry may be forgotten (the token's `exp`).
    revoked: HashMap<String, i64>,
    /// subject → (`not_before`, `keep_until`).
    marks: HashMap<String, (i64, i64)>,
}

impl RevocationIndex {
    /// The mirror of the rows read from the database.
    pub(crate) fn load(
        revoked: impl IntoIterator<Item = (String, i64)>,
        marks: impl IntoIterator<Item = (String, i64, i64)>,
    ) -> Self {
        let index = Self::default();
        for (jti, expires_at) in revoked {
            index.revoke(jti, expires_at);
        }
        for (subject, not_before, keep_until) in marks {
            index.mark(subject, not_before, keep_until);
        }
        index
    }

    // A panic while the lock is held cannot leave the maps half-changed (each change is one
    // map operation), so a poisoned lock is used as it is.

    /// Records a committed revocation of `jti` until `expires_at`, keeping the later time.
    pub(crate) fn revoke(&self, jti: String, expires_at: i64) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let kept = tables.revoked.entry(jti).or_insert(expires_at);
        *kept = (*kept).max(expires_at);
    }

    /// Records a committed not-before mark, keeping the later of each time.
    pub(crate) fn mark(&self, subject: String, not_before: i64, keep_until: i64) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let kept = tables
            .marks
            .entry(subject)
            .or_insert((not_before, keep_until));
        *kept = (kept.0.max(not_before), kept.1.max(keep_until));
    }

    /// Whether `jti` is revoked at `now`: the query `revoked_tokens` would answer.
    pub(crate) fn is_revoked(&self, jti: &str, now: i64) -> bool {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables.revoked.get(jti).is_some_and(|&until| until > now)
    }

    /// The not-before mark of `subject` still kept at `now`.
    pub(crate) fn not_before(&self, subject: &str, now: i64) -> Option<i64> {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        tables
            .marks
            .get(subject)
            .filter(|&&(_, keep_until)| keep_until > now)
            .map(|&(not_before, _)| not_before)
    }

    /// Forgets what the purge at `now` deleted from the tables.
    pub(crate) fn purge(&self, now: i64) {
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        tables.revoked.retain(|_, until| *until > now);
        tables.marks.retain(|_, (_, keep_until)| *keep_until > now);
    }

    /// How many entries the mirror holds (revoked ids, marks).
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        (tables.revoked.len(), tables.marks.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_times_win_in_either_order() {
        let index = RevocationIndex::default();
        index.revoke("a".into(), 20);
        index.revoke("a".into(), 10);
        index.mark("s".into(), 5, 50);
        index.mark("s".into(), 7, 40);
        assert!(index.is_revoked("a", 19));
        assert!(!index.is_revoked("a", 20));
        assert_eq!(index.not_before("s", 0), Some(7));
        assert_eq!(index.not_before("s", 49), Some(7));
        assert_eq!(index.not_before("s", 50), None);
    }

    #[test]
    fn purge_forgets_only_what_has_expired() {
        let index = RevocationIndex::load(
            [("old".to_owned(), 10), ("new".to_owned(), 1000)],
            [("s".to_owned(), 1, 10), ("t".to_owned(), 1, 1000)],
        );
        index.purge(100);
        assert_eq!(index.len(), (1, 1));
        assert!(index.is_revoked("new", 100));
        assert_eq!(index.not_before("t", 100), Some(1));
    }
}
