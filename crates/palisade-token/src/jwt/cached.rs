//! A verifier that remembers the tokens that passed, so a client presenting the same token on
//! every request pays for its signature and its JSON once.
//!
//! Only verified tokens are remembered, each for at most the configured lifetime, and every
//! check that depends on the time (`exp`, `nbf`, `iat` in the future, the maximum age) runs
//! again on each use. The checks that depend only on the token (signature, header, issuer,
//! audience, `typ`, required claims) do not: the [`Verifier`] is moved in and cannot be
//! reconfigured, so they would pass again. A token is found by a keyed hash of its signature
//! and confirmed by comparing the whole token in constant time.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher as _, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::claims::Claims;
use super::verifier::Verifier;
use crate::error::{ConfigError, InvalidToken};

/// Most tokens a [`CachedVerifier`] may remember: 1 Mi.
const MAX_CAPACITY: usize = 1 << 20;

/// Longest a [`CachedVerifier`] may remember a token: one hour.
const MAX_TTL: Duration = Duration::from_secs(3600);

/// A [`Verifier`] that remembers up to `capacity` tokens that passed, each for at most `ttl`
/// (and never past its `exp`), and returns their claims without verifying them again:
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use palisade_token::jwt::{Algorithm, CachedVerifier, Claims, Issuer, KeySet, SigningKey, Verifier};
/// use serde_json::{Map, Value};
///
/// let keys = Arc::new(KeySet::single(SigningKey::hmac(Algorithm::HS256, &[7; 32])?));
/// let token = Issuer::new(keys.clone())?.issue(Claims::new(Map::new()).subject("alice"))?;
///
/// let verifier = CachedVerifier::new(Verifier::new(keys), 4096, Duration::from_secs(60))?;
/// // Verified and remembered.
/// let first = verifier.verify::<Map<String, Value>>(&token)?;
/// // Found: only the checks that depend on the time run again.
/// let again = verifier.verify::<Map<String, Value>>(&token)?;
/// assert_eq!(first.sub.as_deref(), Some("alice"));
/// assert!(Arc::ptr_eq(&first, &again));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// What stays true of every token it returns:
/// - it passed every check of the [`Verifier`] when it was first seen, and the verifier cannot
///   be reconfigured since (it is moved in; build a new `CachedVerifier` after a key
///   rotation, as for a new `Verifier`);
/// - it is not expired, not yet valid or issued in the future *now*, and not older than the
///   verifier's maximum age *now*: those checks run on every call;
/// - it was seen at most `ttl` ago, which bounds how long a key withdrawn from the key set
///   keeps its tokens alive here.
///
/// Refused tokens are never remembered, so a stream of forged tokens costs a full
/// verification each and never evicts a good one. A revocation list is not consulted here:
/// check it after `verify`, as with a `Verifier`. The remembered tokens are bearer secrets
/// held in memory for up to `ttl`, as the requests that carried them already were.
///
/// When `capacity` tokens are remembered, the expired ones are dropped; if none is, the new
/// token is verified every time until room frees up.
///
/// With the `metrics` feature, every verification is counted in
/// `palisade_token_verifications_total` as the [`Verifier`]'s are, a remembered token's
/// through the verifier's own handle: install the recorder before building the verifier.
pub struct CachedVerifier {
    verifier: Verifier,
    capacity: usize,
    ttl: u64,
    /// Keys the hash a token is found by (random per verifier).
    hasher: RandomState,
    entries: RwLock<HashMap<u64, Entry, BuildHasherDefault<Prehashed>>>,
}

/// The entries' hasher. Their keys are already keyed hashes ([`CachedVerifier::key`]),
/// unpredictable without the verifier's random key, so each is used as it is instead of being
/// hashed again.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }

    /// Only `u64` keys reach this hasher; any other input is folded in byte by byte.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
}

/// One remembered token.
struct Entry {
    token: Box<str>,
    /// Until when (seconds since the epoch) the entry may serve.
    until: u64,
    /// The claims, as the type the caller asked for: a `Claims<T>`.
    claims: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for CachedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedVerifier")
            .field("verifier", &self.verifier)
            .field("capacity", &self.capacity)
            .field("ttl_secs", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedVerifier {
    /// Remembers up to `capacity` tokens (1 to 1,048,576) that `verifier` passed, each for at
    /// most `ttl` (1 second to 1 hour, whole seconds).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] outside those ranges.
    pub fn new(verifier: Verifier, capacity: usize, ttl: Duration) -> Result<Self, ConfigError> {
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return Err(ConfigError::InvalidSetting(
                "cache capacity outside 1..=1,048,576",
            ));
        }
        if !(Duration::from_secs(1)..=MAX_TTL).contains(&ttl) {
            return Err(ConfigError::InvalidSetting(
                "cache lifetime outside 1 second..=1 hour",
            ));
        }
        Ok(Self {
            verifier,
            capacity,
            ttl: ttl.as_secs(),
            hasher: RandomState::new(),
            entries: RwLock::new(HashMap::default()),
        })
    }

    /// The verifier every new token goes through.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The verifier, forgetting every remembered token.
    pub fn into_verifier(self) -> Verifier {
        self.verifier
    }

    /// Verifies `token` as [`Verifier::verify`] does, or finds it among the tokens that
    /// passed and checks its times again; the claims are shared with later calls for the
    /// same token.
    ///
    /// # Errors
    /// [`InvalidToken`], as [`Verifier::verify`].
    pub fn verify<T>(&self, token: &str) -> Result<Arc<Claims<T>>, InvalidToken>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        if token.len() > self.verifier.max_token_len() {
            // Refused by the size cap before anything reads it, as the verifier refuses it.
            return self.verifier.verify::<T>(token).map(Arc::new);
        }
        let now = self.verifier.now();
        let key = self.key(token);
        if let Some(claims) = self.remembered::<T>(key, token, now) {
            let result = self
                .verifier
                .check_times(claims.exp, claims.nbf, claims.iat, now)
                .map(|()| claims)
                .map_err(InvalidToken::new);
            self.verifier
                .count(result.as_ref().err().map(InvalidToken::kind));
            return result;
        }
        let claims = Arc::new(self.verifier.verify::<T>(token)?);
        self.remember(key, token, now, &claims);
        Ok(claims)
    }

    /// How many tokens are remembered now.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What a token is found by: a keyed hash of its signature (of the whole token when it has
    /// no `.`; such a token is refused and never remembered).
    fn key(&self, token: &str) -> u64 {
        let signature = token.rsplit_once('.').map_or(token, |(_, s)| s);
        self.hasher.hash_one(signature)
    }

    /// The claims remembered for exactly `token`, as `Claims<T>`, if it may still serve.
    fn remembered<T: Send + Sync + 'static>(
        &self,
        key: u64,
        token: &str,
        now: u64,
    ) -> Option<Arc<Claims<T>>> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(&key)?;
        if now >= entry.until || !same_token(&entry.token, token) {
            return None;
        }
        Arc::clone(&entry.claims).downcast::<Claims<T>>().ok()
    }

    fn remember<T: Send + Sync + 'static>(
        &self,
        key: u64,
        token: &str,
        now: u64,
        claims: &Arc<Claims<T>>,
    ) {
        // Never past `exp` (which every verified token has).
        let until = claims.exp.unwrap_or(now).min(now.saturating_add(self.ttl));
        if until <= now {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| now < e.until);
            if entries.len() >= self.capacity {
                return;
            }
        }
        entries.insert(
            key,
            Entry {
                token: token.into(),
                until,
                claims: Arc::clone(claims) as Arc<dyn Any + Send + Sync>,
            },
        );
    }
}

/// Whether two tokens are the same, in constant time for equal lengths. AWS-LC's comparison
/// (word-wise), not `subtle`'s `ct_eq` used elsewhere in the crate (byte by byte behind a
/// barrier): this runs on every remembered request, over a whole token of a few hundred bytes.
fn same_token(remembered: &str, presented: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(remembered.as_bytes(), presented.as_bytes())
        .is_ok()
}

#[cfg(test)]
mod tests;
