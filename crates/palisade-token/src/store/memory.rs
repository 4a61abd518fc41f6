//! The in-memory store: one process, or tests.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::{
    NewFamily, OneTimeRecord, OneTimeStore, RefreshStore, RevocationStore, RotateOutcome, Rotation,
};
use crate::error::StoreError;

#[derive(Debug)]
struct Family {
    subject: String,
    expires_at: u64,
    last_used: u64,
    revoked: bool,
}

#[derive(Debug)]
struct Token {
    family: String,
    /// When the token was exchanged, and the hash of its one successor.
    rotated: Option<(u64, String)>,
}

#[derive(Debug, Default)]
struct State {
    families: HashMap<String, Family>,
    /// Family ids by subject, for `revoke_subject`. Every id in it names a family in
    /// `families` until that family expires; pruned with the families.
    subjects: HashMap<String, HashSet<String>>,
    tokens: HashMap<String, Token>,
    revoked: HashMap<String, u64>,
    /// Per subject: (not before, keep until).
    not_before: HashMap<String, (u64, u64)>,
    one_time: HashMap<String, OneTimeRecord>,
    writes: u64,
}

impl State {
    /// Forgets expired entries every 1024 writes, so memory stays bounded by live tokens.
    fn maybe_purge(&mut self, now: u64) {
        self.writes += 1;
        if !self.writes.is_multiple_of(1024) {
            return;
        }
        self.families.retain(|_, f| f.expires_at > now);
        let families = &self.families;
        self.tokens.retain(|_, t| families.contains_key(&t.family));
        self.subjects.retain(|_, ids| {
            ids.retain(|id| families.contains_key(id));
            !ids.is_empty()
        });
        self.revoked.retain(|_, exp| *exp > now);
        self.not_before.retain(|_, (_, keep)| *keep > now);
        self.one_time.retain(|_, r| r.expires_at > now);
    }
}

/// Refresh families, revocations and one-time tokens in process memory, behind one mutex.
/// Every decision is made under the lock, so concurrent refreshes see one order.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }
}

impl RefreshStore for MemoryStore {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "create_family");
        let mut state = self.lock()?;
        state.maybe_purge(family.now);
        let State {
            families, subjects, ..
        } = &mut *state;
        let ids = subjects.entry(family.subject.to_owned()).or_default();
        // The subject's own ids are pruned on every login, so a subject who logs in often
        // holds only its live families even between purges.
        ids.retain(|id| families.get(id).is_some_and(|f| f.expires_at > family.now));
        ids.insert(family.family.to_owned());
        state.families.insert(
            family.family.to_owned(),
            Family {
                subject: family.subject.to_owned(),
                expires_at: family.expires_at,
                last_used: family.now,
                revoked: false,
            },
        );
        state.tokens.insert(
            family.token.to_owned(),
            Token {
                family: family.family.to_owned(),
                rotated: None,
            },
        );
        Ok(())
    }

    async fn rotate(&self, r: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "rotate");
        let mut state = self.lock()?;
        state.maybe_purge(r.now);
        let State {
            families, tokens, ..
        } = &mut *state;
        let Some(token) = tokens.get(r.presented) else {
            return Ok(RotateOutcome::Unknown);
        };
        let Some(family) = families.get_mut(&token.family) else {
            return Ok(RotateOutcome::Unknown);
        };
        if family.revoked {
            return Ok(RotateOutcome::Revoked);
        }
        if r.now >= family.expires_at || r.now >= family.last_used.saturating_add(r.idle_secs) {
            return Ok(RotateOutcome::Expired);
        }
        let outcome = RotateOutcome::Rotated {
            family: token.family.clone(),
            subject: family.subject.clone(),
        };
        match &token.rotated {
            None => {
                let family_id = token.family.clone();
                tokens.insert(
                    r.next.to_owned(),
                    Token {
                        family: family_id,
                        rotated: None,
                    },
                );
                if let Some(token) = tokens.get_mut(r.presented) {
                    token.rotated = Some((r.now, r.next.to_owned()));
                }
            }
            // A retry inside the grace window: the same successor, still unused.
            Some((at, successor))
                if r.now < at.saturating_add(r.grace_secs)
                    && successor == r.next
                    && tokens
                        .get(r.next)
                        .is_some_and(|next| next.rotated.is_none()) => {}
            Some(_) => {
                family.revoked = true;
                return Ok(RotateOutcome::Reused);
            }
        }
        family.last_used = r.now;
        Ok(outcome)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "revoke_family");
        if let Some(f) = self.lock()?.families.get_mut(family) {
            f.revoked = true;
        }
        Ok(())
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "revoke_subject");
        let mut state = self.lock()?;
        state.maybe_purge(now);
        let State {
            families, subjects, ..
        } = &mut *state;
        let Some(ids) = subjects.remove(subject) else {
            return Ok(0);
        };
        let mut live = 0;
        for id in ids {
            if let Some(f) = families.get_mut(&id) {
                if !f.revoked && f.expires_at > now {
                    live += 1;
                }
                f.revoked = true;
            }
        }
        Ok(live)
    }
}

impl RevocationStore for MemoryStore {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "revoke");
        let mut state = self.lock()?;
        state.maybe_purge(now);
        if expires_at > now {
            let entry = state.revoked.entry(jti.to_owned()).or_insert(expires_at);
            *entry = (*entry).max(expires_at);
        }
        Ok(())
    }

    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "is_revoked");
        Ok(self.lock()?.revoked.get(jti).is_some_and(|exp| *exp > now))
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "revoke_subject_before");
        let mut state = self.lock()?;
        state.maybe_purge(now);
        if keep_until > now {
            let entry = state
                .not_before
                .entry(subject.to_owned())
                .or_insert((not_before, keep_until));
            *entry = (entry.0.max(not_before), entry.1.max(keep_until));
        }
        Ok(())
    }

    async fn subject_not_before(&self, subject: &str, now: u64) -> Result<Option<u64>, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "subject_not_before");
        Ok(self
            .lock()?
            .not_before
            .get(subject)
            .filter(|(_, keep)| *keep > now)
            .map(|(nb, _)| *nb))
    }
}

impl OneTimeStore for MemoryStore {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "put");
        let mut state = self.lock()?;
        state.maybe_purge(now);
        state.one_time.insert(lookup_id.to_owned(), record);
        Ok(())
    }

    async fn take(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "take");
        let mut state = self.lock()?;
        state.maybe_purge(now);
        Ok(state.one_time.remove(lookup_id))
    }

    async fn peek(&self, lookup_id: &str, _now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        let _timer = crate::telemetry::store_timer("memory", "peek");
        Ok(self.lock()?.one_time.get(lookup_id).cloned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn family<'a>(id: &'a str, subject: &'a str, now: u64, expires_at: u64) -> NewFamily<'a> {
        NewFamily {
            family: id,
            subject,
            token: id,
            now,
            expires_at,
        }
    }

    fn indexed(store: &MemoryStore, subject: &str) -> usize {
        store
            .lock()
            .unwrap()
            .subjects
            .get(subject)
            .map_or(0, HashSet::len)
    }

    /// A subject who keeps logging in holds only its live families in the index.
    #[test]
    fn subject_index_drops_expired_families_at_login() {
        run(async {
            let store = MemoryStore::new();
            store
                .create_family(family("a1", "alice", 0, 100))
                .await
                .unwrap();
            store
                .create_family(family("a2", "alice", 0, 200))
                .await
                .unwrap();
            assert_eq!(indexed(&store, "alice"), 2);
            store
                .create_family(family("a3", "alice", 150, 300))
                .await
                .unwrap();
            assert_eq!(indexed(&store, "alice"), 2);
            for day in 1..100u64 {
                let id = format!("d{day}");
                let now = 1000 * day;
                store
                    .create_family(family(&id, "alice", now, now + 500))
                    .await
                    .unwrap();
            }
            assert_eq!(indexed(&store, "alice"), 1);
        });
    }

    /// The periodic purge forgets subjects whose families have all expired.
    #[test]
    fn subject_index_is_purged_with_the_families() {
        run(async {
            let store = MemoryStore::new();
            store
                .create_family(family("b1", "bob", 0, 10))
                .await
                .unwrap();
            for i in 0..1100u64 {
                store
                    .revoke(&format!("jti-{i}"), 10_000, 500)
                    .await
                    .unwrap();
            }
            let state = store.lock().unwrap();
            assert!(state.subjects.is_empty());
            assert!(state.families.is_empty());
        });
    }
}
