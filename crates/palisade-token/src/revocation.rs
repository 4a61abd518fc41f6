//! A revocation list for access tokens: by `jti`, entries expiring with the token, and by
//! subject, a "not before" mark that refuses every token of the subject issued before it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{self, Clock};
use crate::error::{ErrorKind, StoreError, TokenError};
use crate::jwt::Claims;
use crate::store::RevocationStore;

/// The longest access-token lifetime a [`RevocationList`] assumes by default: one day.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Revoked `jti`s and per-subject "not before" marks in a [`RevocationStore`]. Check it after
/// [`Verifier::verify`](crate::jwt::Verifier::verify).
pub struct RevocationList<S> {
    store: S,
    clock: Arc<dyn Clock>,
    max_token_lifetime: Duration,
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
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// The longest lifetime (`exp - iat`) of the tokens checked against this list, plus any
    /// clock leeway the verifier allows (default [`DEFAULT_MAX_TOKEN_LIFETIME`]). A subject's
    /// not-before mark is kept this long after it, so set it to at least the issuer's TTL.
    #[must_use]
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = lifetime;
        self
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
        self.store.revoke(jti, expires_at, self.clock.now()).await?;
        crate::telemetry::revocation("token");
        Ok(())
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

    /// Refuses every token of `subject` whose `iat` is before `not_before` (Unix seconds):
    /// after a password reset or a "sign out everywhere", pass the current second plus one,
    /// so that tokens issued earlier in the same second are refused too, and issue the
    /// subject's next tokens with `iat` no earlier than [`not_before`](Self::not_before).
    /// A mark only moves later; it is kept for
    /// [`max_token_lifetime`](Self::max_token_lifetime) past `not_before`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn revoke_subject_before(
        &self,
        subject: &str,
        not_before: u64,
    ) -> Result<(), StoreError> {
        let keep_until = not_before.saturating_add(self.max_token_lifetime.as_secs());
        self.store
            .revoke_subject_before(subject, not_before, keep_until, self.clock.now())
            .await?;
        crate::telemetry::revocation("subject");
        Ok(())
    }

    /// The subject's not-before mark, if one is kept: tokens issued before it are refused.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn not_before(&self, subject: &str) -> Result<Option<u64>, StoreError> {
        self.store
            .subject_not_before(subject, self.clock.now())
            .await
    }

    /// Rejects verified claims whose `jti` is revoked (or absent: a token that cannot be
    /// revoked is not accepted where revocation is checked), and claims whose subject has a
    /// not-before mark later than their `iat` (or that have no `iat`).
    ///
    /// # Errors
    /// [`TokenError::Invalid`] with kind `Revoked` or `MissingClaim`; [`TokenError::Store`].
    pub async fn check<T>(&self, claims: &Claims<T>) -> Result<(), TokenError> {
        let Some(jti) = claims.jti.as_deref().filter(|j| !j.is_empty()) else {
            return Err(ErrorKind::MissingClaim.into());
        };
        let state = self
            .store
            .token_state(jti, claims.sub.as_deref(), self.clock.now())
            .await?;
        let signed_out = state
            .not_before
            .is_some_and(|not_before| claims.iat.is_none_or(|iat| iat < not_before));
        if state.revoked || signed_out {
            return Err(ErrorKind::Revoked.into());
        }
        Ok(())
    }
}
