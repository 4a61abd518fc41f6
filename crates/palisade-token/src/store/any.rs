//! `AnyStore`: the in-process or the Redis store, chosen at run time.

use std::sync::Arc;

use super::{
    MemoryStore, NewFamily, OneTimeRecord, OneTimeStore, RedisStore, RefreshStore, RevocationStore,
    RotateOutcome, Rotation, TokenState,
};
use crate::error::StoreError;

/// One of the stores this crate ships, picked when the service starts (memory for one process
/// or development, Redis when a fleet shares the state), behind one type.
///
/// The store traits return `impl Future`, so they cannot be used as `dyn` objects; this enum is
/// the way to choose at run time. Clones share the store: give one clone to a
/// `RevocationList` that checks tokens and another to the handler that revokes them.
///
/// ```
/// use palisade_token::store::{AnyStore, RedisStore};
///
/// # async fn example(redis_url: Option<&str>) -> Result<(), palisade_token::StoreError> {
/// let store = match redis_url {
///     Some(url) => AnyStore::from(RedisStore::connect(url, "myapp:tokens").await?),
///     None => AnyStore::memory(),
/// };
/// let checker = palisade_token::revocation::RevocationList::new(store.clone());
/// let revoker = palisade_token::revocation::RevocationList::new(store);
/// # let _ = (checker, revoker);
/// # Ok(())
/// # }
/// ```
#[expect(
    clippy::large_enum_variant,
    reason = "made once at startup and cloned a few times; boxing the Redis store would only add an indirection to every call"
)]
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// In this process only ([`MemoryStore`]).
    Memory(Arc<MemoryStore>),
    /// In Redis, shared by every process that uses the same server and prefix
    /// ([`RedisStore`]).
    Redis(RedisStore),
}

impl AnyStore {
    /// A new, empty in-process store.
    pub fn memory() -> Self {
        Self::Memory(Arc::new(MemoryStore::new()))
    }
}

impl From<MemoryStore> for AnyStore {
    fn from(store: MemoryStore) -> Self {
        Self::Memory(Arc::new(store))
    }
}

impl From<RedisStore> for AnyStore {
    fn from(store: RedisStore) -> Self {
        Self::Redis(store)
    }
}

/// Forwards a trait method to the store inside.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => {
                let $store: &MemoryStore = $store;
                $call.await
            }
            AnyStore::Redis($store) => $call.await,
        }
    };
}

impl RefreshStore for AnyStore {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        forward!(self, s => s.create_family(family))
    }

    async fn rotate(&self, rotation: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        forward!(self, s => s.rotate(rotation))
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        forward!(self, s => RefreshStore::revoke_family(s, family))
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        forward!(self, s => s.revoke_subject(subject, now))
    }
}

impl RevocationStore for AnyStore {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        forward!(self, s => s.revoke(jti, expires_at, now))
    }

    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        forward!(self, s => s.is_revoked(jti, now))
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        forward!(self, s => s.revoke_subject_before(subject, not_before, keep_until, now))
    }

    async fn subject_not_before(&self, subject: &str, now: u64) -> Result<Option<u64>, StoreError> {
        forward!(self, s => s.subject_not_before(subject, now))
    }

    async fn token_state(
        &self,
        jti: &str,
        subject: Option<&str>,
        now: u64,
    ) -> Result<TokenState, StoreError> {
        forward!(self, s => s.token_state(jti, subject, now))
    }
}

impl OneTimeStore for AnyStore {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        forward!(self, s => s.put(lookup_id, record, now))
    }

    async fn take(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        forward!(self, s => s.take(lookup_id, now))
    }

    async fn peek(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        forward!(self, s => s.peek(lookup_id, now))
    }
}
