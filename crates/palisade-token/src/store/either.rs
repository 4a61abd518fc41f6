//! `Either`: one of two stores, chosen at run time.

use super::{
    NewFamily, OneTimeRecord, OneTimeStore, RefreshStore, RevocationStore, RotateOutcome, Rotation,
    TokenState,
};
use crate::error::StoreError;

/// One of two stores, picked when the service starts: the store traits return `impl Future`,
/// so they cannot be `dyn` objects, and this enum is the way to choose between two stores at
/// run time. It is a store of each kind both sides are, and forwards every call (including
/// [`RevocationStore::token_state`], so a store that answers it in one round trip still does).
///
/// `AnyStore` (feature `redis`) is the one this crate names: its in-memory store or Redis. An
/// application with a store of its own picks between it and another store the same way (here
/// between the in-memory store and one that remembers nothing):
///
/// ```
/// use palisade_token::store::{Either, MemoryStore, RevocationStore};
///
/// /// A store the application writes, here one that remembers nothing.
/// struct Forgetful;
///
/// impl RevocationStore for Forgetful {
///     async fn revoke(&self, _: &str, _: u64, _: u64) -> Result<(), palisade_token::StoreError> {
///         Ok(())
///     }
///     async fn is_revoked(&self, _: &str, _: u64) -> Result<bool, palisade_token::StoreError> {
///         Ok(false)
///     }
///     async fn revoke_subject_before(
///         &self,
///         _: &str,
///         _: u64,
///         _: u64,
///         _: u64,
///     ) -> Result<(), palisade_token::StoreError> {
///         Ok(())
///     }
///     async fn subject_not_before(
///         &self,
///         _: &str,
///         _: u64,
///     ) -> Result<Option<u64>, palisade_token::StoreError> {
///         Ok(None)
///     }
/// }
///
/// # async fn example(remember: bool) -> Result<(), palisade_token::StoreError> {
/// let store: Either<MemoryStore, Forgetful> = if remember {
///     Either::Left(MemoryStore::new())
/// } else {
///     Either::Right(Forgetful)
/// };
/// store.revoke("jti-1", 2_000_000_000, 1_800_000_000).await?;
/// assert_eq!(store.is_revoked("jti-1", 1_800_000_000).await?, remember);
/// # Ok(())
/// # }
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(example(true)).unwrap();
/// # rt.block_on(example(false)).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Either<L, R> {
    /// The first store.
    Left(L),
    /// The second store.
    Right(R),
}

/// Forwards a trait method to the store inside.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Either::Left($store) => $call.await,
            Either::Right($store) => $call.await,
        }
    };
}

impl<L: RefreshStore, R: RefreshStore> RefreshStore for Either<L, R> {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        forward!(self, s => s.create_family(family))
    }

    async fn rotate(&self, rotation: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        forward!(self, s => s.rotate(rotation))
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        forward!(self, s => s.revoke_family(family))
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        forward!(self, s => s.revoke_subject(subject, now))
    }
}

impl<L: RevocationStore, R: RevocationStore> RevocationStore for Either<L, R> {
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

impl<L: OneTimeStore, R: OneTimeStore> OneTimeStore for Either<L, R> {
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
