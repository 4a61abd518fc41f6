//! A set of keys by `kid`: one active signer, any number of verify-only keys.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::keys::{SigningKey, VerifyingKey};
use crate::error::ConfigError;

/// Keys by `kid`. Immutable once built; rotate by building the next set
/// ([`rotated`](Self::rotated)) and swapping it in, so verifiers never see a half-changed set.
///
/// Rules: a set with more than one key needs a `kid` on every key, and tokens must name one
/// of them exactly. A set with a single key also accepts tokens without `kid`; if that key has
/// no `kid` of its own, it is used whatever `kid` a token names (the choice is unambiguous).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    signer: Option<Arc<SigningKey>>,
    by_kid: HashMap<String, VerifyingKey>,
    unnamed: Option<VerifyingKey>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set whose only key is `key`, which signs and verifies.
    pub fn single(key: SigningKey) -> Self {
        let verifying = key.verifying_key();
        let mut set = Self::default();
        match verifying.kid.clone() {
            Some(kid) => {
                set.by_kid.insert(kid, verifying);
            }
            None => set.unnamed = Some(verifying),
        }
        set.signer = Some(Arc::new(key));
        set
    }

    /// A verify-only set holding `key`.
    pub fn verify_only(key: VerifyingKey) -> Self {
        let mut set = Self::default();
        match key.kid.clone() {
            Some(kid) => {
                set.by_kid.insert(kid, key);
            }
            None => set.unnamed = Some(key),
        }
        set
    }

    /// Adds `key` and makes it the active signer. The previous signer, if any, stays as a
    /// verify-only key so tokens it signed keep verifying.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKid`], [`ConfigError::MissingKid`] (see the type's rules).
    pub fn with_signing_key(mut self, key: SigningKey) -> Result<Self, ConfigError> {
        self.insert(key.verifying_key())?;
        self.signer = Some(Arc::new(key));
        Ok(self)
    }

    /// Adds a verify-only key.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKid`], [`ConfigError::MissingKid`].
    pub fn with_verifying_key(mut self, key: VerifyingKey) -> Result<Self, ConfigError> {
        self.insert(key)?;
        Ok(self)
    }

    /// The next set in a rotation: `next` becomes the active signer, every current key stays
    /// for verification. Publish the new public key (JWKS) before signing with it when other
    /// services verify your tokens.
    ///
    /// # Errors
    /// As [`with_signing_key`](Self::with_signing_key).
    pub fn rotated(&self, next: SigningKey) -> Result<Self, ConfigError> {
        self.clone().with_signing_key(next)
    }

    /// The set without the key named `kid` (retire a key once its tokens have expired).
    /// Removing the active signer leaves the set verify-only.
    ///
    /// # Errors
    /// [`ConfigError::UnknownKid`].
    pub fn without(&self, kid: &str) -> Result<Self, ConfigError> {
        let mut set = self.clone();
        if set.by_kid.remove(kid).is_none() {
            return Err(ConfigError::UnknownKid(kid.to_owned()));
        }
        if set.signer.as_ref().and_then(|s| s.kid()) == Some(kid) {
            set.signer = None;
        }
        Ok(set)
    }

    /// Verify-only keys read from a JWKS document, e.g. an identity provider's
    /// `jwks_uri`. Keys for encryption or unsupported algorithms are skipped; private key
    /// material, RSA moduli outside 2048 to 8192 bits and key types that contradict `alg` are
    /// errors. A JWK without `alg` is taken as RS256 (RSA), ES256 (P-256), ES384 (P-384), ES512
    /// (P-521) or `EdDSA` (Ed25519).
    ///
    /// # Errors
    /// [`ConfigError::InvalidJwks`], [`ConfigError::DuplicateKid`], [`ConfigError::MissingKid`].
    pub fn from_jwks(document: &str) -> Result<Self, ConfigError> {
        let imported = super::jwks::import(document)?;
        let mut set = Self::default();
        for key in imported.keys {
            set.insert(key)?;
        }
        if set.is_empty() {
            return Err(ConfigError::InvalidJwks(
                "no usable signature key".to_owned(),
            ));
        }
        Ok(set)
    }

    /// The public keys as a JWKS document (`{"keys":[...]}`), for a `jwks_uri` endpoint.
    /// HMAC secrets are never included.
    pub fn to_jwks(&self) -> Value {
        let mut keys: Vec<&VerifyingKey> =
            self.unnamed.iter().chain(self.by_kid.values()).collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        super::jwks::export(keys.into_iter())
    }

    /// The active signing key.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signer.as_deref()
    }

    /// How many keys verify.
    pub fn len(&self) -> usize {
        self.by_kid.len() + usize::from(self.unnamed.is_some())
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key for a token whose header names `kid` (or none).
    pub(crate) fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            // A lone unnamed key is unambiguous whatever `kid` the token names.
            Some(kid) => self.by_kid.get(kid).or(self.unnamed.as_ref()),
            None if self.len() == 1 => self
                .unnamed
                .as_ref()
                .or_else(|| self.by_kid.values().next()),
            None => None,
        }
    }

    fn insert(&mut self, key: VerifyingKey) -> Result<(), ConfigError> {
        let Some(kid) = key.kid.clone() else {
            if !self.is_empty() {
                return Err(ConfigError::MissingKid);
            }
            self.unnamed = Some(key);
            return Ok(());
        };
        if self.unnamed.is_some() {
            return Err(ConfigError::MissingKid);
        }
        if self.by_kid.contains_key(&kid) {
            return Err(ConfigError::DuplicateKid(kid));
        }
        self.by_kid.insert(kid, key);
        Ok(())
    }
}
