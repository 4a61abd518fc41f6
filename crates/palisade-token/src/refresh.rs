//! Refresh tokens in families: every use rotates the token, and presenting a rotated token
//! again revokes the whole family, except inside a short grace window, where an exchange that
//! is retried (a lost response, two tabs refreshing at once) gets the very successor the
//! first exchange got. One successor per token, as Ory Hydra does: a replayed token never
//! opens a branch of its own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hkdf::Hkdf;
use secrecy::{ExposeSecret as _, SecretBox, SecretString};
use sha2::Sha256;

use crate::clock::{self, Clock};
use crate::error::{ConfigError, ErrorKind, StoreError, TokenError};
use crate::opaque::{Issued, OpaqueTokens, Purpose, hex};
use crate::store::{NewFamily, RefreshStore, RotateOutcome, Rotation};

/// Domain separation of the successor derivation from every other use of the server key.
const SUCCESSOR_SALT: &[u8] = b"palisade-token refresh successor v1";

/// Lifetimes of a refresh family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    idle: Duration,
    absolute: Duration,
    grace: Duration,
}

impl RefreshPolicy {
    /// Defaults: a family dies after 14 days unused or 30 days in all (Auth0's defaults are
    /// 15 and 30), and for 10 seconds after its rotation a token may be exchanged again for
    /// the same successor (a retry, or two tabs refreshing at once) while that successor is
    /// unused; anything else counts as reuse.
    pub const DEFAULT: Self = Self {
        idle: Duration::from_secs(14 * 24 * 3600),
        absolute: Duration::from_secs(30 * 24 * 3600),
        grace: Duration::from_secs(10),
    };

    /// A policy with these lifetimes. `grace` may be zero (no concurrent refreshes).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] if `idle` or `absolute` is zero, `idle` exceeds
    /// `absolute`, or `grace` exceeds 60 seconds (a long grace window is a long window for a
    /// stolen token).
    pub fn new(idle: Duration, absolute: Duration, grace: Duration) -> Result<Self, ConfigError> {
        if idle.as_secs() == 0 || absolute.as_secs() == 0 || idle > absolute {
            return Err(ConfigError::InvalidSetting(
                "refresh lifetimes must be non-zero with idle <= absolute",
            ));
        }
        if grace > Duration::from_secs(60) {
            return Err(ConfigError::InvalidSetting(
                "refresh grace window above 60 s",
            ));
        }
        Ok(Self {
            idle,
            absolute,
            grace,
        })
    }
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A refresh token handed out: give [`token`](Self::token) to the client.
pub struct RefreshGrant {
    token: SecretString,
    family: String,
    subject: String,
}

impl fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshGrant")
            .field("token", &"[REDACTED]")
            .field("family", &self.family)
            .field("subject", &self.subject)
            .finish()
    }
}

impl RefreshGrant {
    /// The refresh token (`palr_...`), for the client only.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// The family id, to revoke the family (e.g. on logout).
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The subject the family was issued to.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Issues and rotates refresh tokens in a [`RefreshStore`].
pub struct RefreshTokens<S> {
    store: S,
    hasher: OpaqueTokens,
    /// Derives each token's successor from the token (HKDF-SHA256), so every exchange of one
    /// token yields the same successor.
    successor_key: SecretBox<[u8; 32]>,
    policy: RefreshPolicy,
    clock: Arc<dyn Clock>,
}

impl<S> fmt::Debug for RefreshTokens<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: RefreshStore> RefreshTokens<S> {
    /// Refresh tokens kept in `store`, hashed under `key` (at least 32 bytes; only the keyed
    /// hash is stored).
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`].
    pub fn new(store: S, key: &[u8]) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            hasher: OpaqueTokens::new(key)?,
            successor_key: crate::server_key::server_key(key)?,
            policy: RefreshPolicy::DEFAULT,
            clock: clock::system(),
        })
    }

    /// Uses `policy` instead of [`RefreshPolicy::DEFAULT`].
    #[must_use]
    pub fn policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
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

    /// Starts a family for `subject` (at login) and returns its first token.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn issue(&self, subject: &str) -> Result<RefreshGrant, StoreError> {
        let now = self.clock.now();
        let issued = self.hasher.issue(Purpose::Refresh);
        let family = crate::random::id_128();
        let hash = hex(&issued.hash().to_bytes());
        self.store
            .create_family(NewFamily {
                family: &family,
                subject,
                token: &hash,
                now,
                expires_at: now.saturating_add(self.policy.absolute.as_secs()),
            })
            .await?;
        Ok(RefreshGrant {
            token: issued.token().to_owned().into(),
            family,
            subject: subject.to_owned(),
        })
    }

    /// Exchanges `token` for the next one in its family.
    ///
    /// The successor is derived from `token` under the server key, so exchanging the same
    /// token again inside the grace window returns the same successor, and only while that
    /// successor has not been used itself; any other second exchange is reuse.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] with kind `BadChecksum`/`WrongPurpose` (not a refresh token),
    /// `Unknown`, `Revoked`, `Expired`, or `Reused` (the family is now revoked: the token
    /// was stolen or replayed); [`TokenError::Store`].
    pub async fn refresh(&self, token: &str) -> Result<RefreshGrant, TokenError> {
        let result = self.exchange(token).await;
        match &result {
            Ok(_) => crate::telemetry::verification("refresh", None),
            Err(TokenError::Invalid(e)) => {
                if e.kind() == ErrorKind::Reused {
                    crate::telemetry::refresh_reuse();
                }
                crate::telemetry::verification("refresh", Some(e.kind()));
            }
            Err(_) => {}
        }
        result
    }

    async fn exchange(&self, token: &str) -> Result<RefreshGrant, TokenError> {
        let presented = hex(&self.hasher.hash(Purpose::Refresh, token)?.to_bytes());
        let next = self.successor(token);
        let next_hash = hex(&next.hash().to_bytes());
        let outcome = self
            .store
            .rotate(Rotation {
                presented: &presented,
                next: &next_hash,
                now: self.clock.now(),
                idle_secs: self.policy.idle.as_secs(),
                grace_secs: self.policy.grace.as_secs(),
            })
            .await?;
        match outcome {
            RotateOutcome::Rotated { family, subject } => Ok(RefreshGrant {
                token: next.token().to_owned().into(),
                family,
                subject,
            }),
            RotateOutcome::Unknown => Err(ErrorKind::Unknown.into()),
            RotateOutcome::Revoked => Err(ErrorKind::Revoked.into()),
            RotateOutcome::Expired => Err(ErrorKind::Expired.into()),
            RotateOutcome::Reused => Err(ErrorKind::Reused.into()),
        }
    }

    /// The one successor of `token`: 43 base62 characters from HKDF-SHA256 under the server
    /// key, with the token as info. Only the server can compute it, and it is the same for
    /// every exchange of `token`.
    fn successor(&self, token: &str) -> Issued {
        let hkdf = Hkdf::<Sha256>::new(Some(SUCCESSOR_SALT), self.successor_key.expose_secret());
        let mut block = 0u32;
        let body = crate::random::base62_from(43, |buf| {
            block = block.wrapping_add(1);
            // 64 bytes is far below HKDF-SHA256's 8,160-byte limit, so `expand` cannot fail.
            let _ = hkdf.expand_multi_info(&[token.as_bytes(), &block.to_be_bytes()], buf);
        });
        self.hasher.assemble(Purpose::Refresh, &body)
    }

    /// Revokes a family (logout, password change).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        self.store.revoke_family(family).await?;
        crate::telemetry::revocation("family");
        Ok(())
    }

    /// Signs `subject` out everywhere (after a password reset, an account takeover, a
    /// "log out all devices" button): revokes every refresh family issued to `subject` so
    /// far, without knowing their ids, and returns how many were live. From then on every
    /// token of those families, current or already rotated, refreshes with kind `Revoked`.
    /// Families issued after the call are unaffected, so the user can log in again at once.
    ///
    /// It does not touch access tokens already issued from those families: they stay valid
    /// until they expire. Pair it with a short access-token lifetime, or revoke their `jti`s
    /// in a [`RevocationList`](crate::revocation::RevocationList) too.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn revoke_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let live = self.store.revoke_subject(subject, self.clock.now()).await?;
        crate::telemetry::revocation("subject");
        Ok(live)
    }
}
