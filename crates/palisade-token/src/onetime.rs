//! One-time tokens (password reset, verification, invitations): stored as a keyed hash,
//! redeemed at most once, expiring.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::clock::{self, Clock};
use crate::error::{ConfigError, ErrorKind, TokenError};
use crate::opaque::{OpaqueTokens, Purpose};
use crate::store::{OneTimeRecord, OneTimeStore};

/// Issues and redeems single-use tokens in a [`OneTimeStore`].
pub struct OneTimeTokens<S> {
    store: S,
    hasher: OpaqueTokens,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for OneTimeTokens<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneTimeTokens").finish_non_exhaustive()
    }
}

impl<S: OneTimeStore> OneTimeTokens<S> {
    /// One-time tokens kept in `store`, hashed under `key` (at least 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`].
    pub fn new(store: S, key: &[u8]) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            hasher: OpaqueTokens::new(key)?,
            clock: clock::system(),
        })
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A token for `purpose` and `subject`, valid for `ttl` (1 second to 30 days).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] for an out-of-range TTL or `Purpose::ApiKey` /
    /// `Purpose::Refresh` (not single-use); store failures as [`TokenError::Store`].
    pub async fn issue(
        &self,
        purpose: Purpose,
        subject: &str,
        ttl: Duration,
    ) -> Result<SecretString, IssueError> {
        if matches!(purpose, Purpose::ApiKey | Purpose::Refresh) {
            return Err(IssueError::Config(ConfigError::InvalidSetting(
                "API keys and refresh tokens are not one-time tokens",
            )));
        }
        if ttl.as_secs() == 0 || ttl.as_secs() > 30 * 24 * 3600 {
            return Err(IssueError::Config(ConfigError::InvalidSetting(
                "one-time token ttl outside 1 s..=30 days",
            )));
        }
        let issued = self.hasher.issue(purpose);
        let now = self.clock.now();
        let record = OneTimeRecord {
            verifier: issued.hash().verifier(),
            subject: subject.to_owned(),
            expires_at: now.saturating_add(ttl.as_secs()),
        };
        self.store
            .put(&issued.hash().lookup_id(), record, now)
            .await
            .map_err(|e| IssueError::Token(e.into()))?;
        Ok(issued.token().to_owned().into())
    }

    /// The subject of `token` for `purpose`, leaving it redeemable: to check what the
    /// redemption will do (a new password against the account's policy, say) before spending
    /// the token. The answer is advisory; only [`redeem`](Self::redeem) decides.
    ///
    /// # Errors
    /// As [`redeem`](Self::redeem).
    pub async fn peek(&self, purpose: Purpose, token: &str) -> Result<String, TokenError> {
        let hash = self.hasher.hash(purpose, token)?;
        let now = self.clock.now();
        let Some(record) = self.store.peek(&hash.lookup_id(), now).await? else {
            return Err(ErrorKind::Unknown.into());
        };
        if !hash.matches(&record.verifier) {
            return Err(ErrorKind::Unknown.into());
        }
        if now >= record.expires_at {
            return Err(ErrorKind::Expired.into());
        }
        Ok(record.subject)
    }

    /// Redeems `token` for `purpose`: returns its subject and removes it, so a second
    /// redemption fails.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] with kind `BadChecksum`, `WrongPurpose`, `Unknown` (never
    /// issued, already used) or `Expired`; [`TokenError::Store`].
    pub async fn redeem(&self, purpose: Purpose, token: &str) -> Result<String, TokenError> {
        let result = self.redeem_inner(purpose, token).await;
        match &result {
            Ok(_) => crate::telemetry::verification("onetime", None),
            Err(TokenError::Invalid(e)) => {
                crate::telemetry::verification("onetime", Some(e.kind()));
            }
            Err(_) => {}
        }
        result
    }

    async fn redeem_inner(&self, purpose: Purpose, token: &str) -> Result<String, TokenError> {
        let hash = self.hasher.hash(purpose, token)?;
        let now = self.clock.now();
        let Some(record) = self.store.take(&hash.lookup_id(), now).await? else {
            return Err(ErrorKind::Unknown.into());
        };
        if !hash.matches(&record.verifier) {
            return Err(ErrorKind::Unknown.into());
        }
        if now >= record.expires_at {
            return Err(ErrorKind::Expired.into());
        }
        Ok(record.subject)
    }
}

/// Issuing a one-time token failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// A setting was wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}
