//! `AnyStore`: the in-process or the Redis store, chosen at run time.

use std::sync::Arc;

use super::{Either, MemoryStore, RedisStore};

/// One of the stores this crate ships, picked when the service starts (memory for one process
/// or development, Redis when a fleet shares the state), behind one type: an [`Either`] of
/// the two, `Left` in memory and `Right` in Redis.
///
/// Clones share the store: give one clone to a `RevocationList` that checks tokens and
/// another to the handler that revokes them.
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
pub type AnyStore = Either<Arc<MemoryStore>, RedisStore>;

impl AnyStore {
    /// A new, empty in-process store.
    pub fn memory() -> Self {
        Self::Left(Arc::new(MemoryStore::new()))
    }
}

impl From<MemoryStore> for AnyStore {
    fn from(store: MemoryStore) -> Self {
        Self::Left(Arc::new(store))
    }
}

impl From<RedisStore> for AnyStore {
    fn from(store: RedisStore) -> Self {
        Self::Right(store)
    }
}
