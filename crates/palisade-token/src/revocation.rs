//! A revocation list for access tokens by `jti`, entries expiring with the token.

use std::fmt;
use std::sync::Arc;

use crate::clock::{self, Clock};
use crate::error::{ErrorKind, StoreError, TokenError};
use crate::jwt::Claims;
use crate::store::RevocationStore;

/// Revoked `jti`s in a [`RevocationStore`]. Check it after [`Verifier::verify`](crate::jwt::Verifier::verify).
pub struct RevocationList<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for RevocationList<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationList").finish_non_exhaustive()
    }
}

impl<S: RevocationStore> RevocationList<S> {
    /// A list kept in `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            clock: clock::system(),
        }
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Revokes the token `jti` until `expires_at` (its `exp`).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn revoke(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.store.revoke(jti, expires_at, self.clock.now()).await
    }

    /// Revokes a verified token by its claims.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] (`MissingClaim`) if it has no `jti` or `exp`; [`TokenError::Store`].
    pub async fn revoke_claims<T>(&self, claims: &Claims<T>) -> Result<(), TokenError> {
        let (Some(jti), Some(exp)) = (claims.jti.as_deref(), claims.exp) else {
            return Err(ErrorKind::MissingClaim.into());
        };
        Ok(self.revoke(jti, exp).await?)
    }

    /// Rejects verified claims whose `jti` is revoked (or absent: a token that cannot be
    /// revoked is not accepted where revocation is checked).
    ///
    /// # Errors
    /// [`TokenError::Invalid`] with kind `Revoked` or `MissingClaim`; [`TokenError::Store`].
    pub async fn check<T>(&self, claims: &Claims<T>) -> Result<(), TokenError> {
        let Some(jti) = claims.jti.as_deref().filter(|j| !j.is_empty()) else {
            return Err(ErrorKind::MissingClaim.into());
        };
        if self.store.is_revoked(jti, self.clock.now()).await? {
            return Err(ErrorKind::Revoked.into());
        }
        Ok(())
    }
}
