//! A store behind an `Arc` is the same store: every handle made with `Arc::clone` reads and
//! writes one state, so one store can serve a `RefreshTokens`, a `RevocationList` and a
//! `OneTimeTokens` at once.

use std::sync::Arc;

use super::{
    NewFamily, OneTimeRecord, OneTimeStore, RefreshStore, RevocationStore, RotateOutcome, Rotation,
    TokenState,
};
use crate::error::StoreError;

impl<S: RefreshStore + ?Sized> RefreshStore for Arc<S> {
    async fn create_family(&self, family: NewFamily<'_>) -> Result<(), StoreError> {
        (**self).create_family(family).await
    }

    async fn rotate(&self, rotation: Rotation<'_>) -> Result<RotateOutcome, StoreError> {
        (**self).rotate(rotation).await
    }

    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        (**self).revoke_family(family).await
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        (**self).revoke_subject(subject, now).await
    }
}

impl<S: RevocationStore + ?Sized> RevocationStore for Arc<S> {
    async fn revoke(&self, jti: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        (**self).revoke(jti, expires_at, now).await
    }

    async fn is_revoked(&self, jti: &str, now: u64) -> Result<bool, StoreError> {
        (**self).is_revoked(jti, now).await
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
        keep_until: u64,
        now: u64,
    ) -> Result<(), StoreError> {
        (**self)
            .revoke_subject_before(subject, not_before, keep_until, now)
            .await
    }

    async fn subject_not_before(&self, subject: &str, now: u64) -> Result<Option<u64>, StoreError> {
        (**self).subject_not_before(subject, now).await
    }

    async fn token_state(
        &self,
        jti: &str,
        subject: Option<&str>,
        now: u64,
    ) -> Result<TokenState, StoreError> {
        (**self).token_state(jti, subject, now).await
    }
}

impl<S: OneTimeStore + ?Sized> OneTimeStore for Arc<S> {
    async fn put(
        &self,
        lookup_id: &str,
        record: OneTimeRecord,
        now: u64,
    ) -> Result<(), StoreError> {
        (**self).put(lookup_id, record, now).await
    }

    async fn take(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        (**self).take(lookup_id, now).await
    }

    async fn peek(&self, lookup_id: &str, now: u64) -> Result<Option<OneTimeRecord>, StoreError> {
        (**self).peek(lookup_id, now).await
    }
}
