//! Issuing tokens with the key set's active signing key.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::claims::{Audience, Claims};
use super::header::{self, TokenType};
use super::keyset::KeySet;
use crate::clock::{self, Clock};
use crate::error::ConfigError;

/// The default lifetime of an issued token: 15 minutes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

/// Issues JWTs signed by a key set's active key (parsed once, reused for every token).
///
/// On [`issue`](Self::issue), claims left empty are filled: `iss` and `aud` from the issuer's
/// settings, `iat` now, `exp` now + TTL, and `jti` a random 128-bit id.
#[derive(Debug, Clone)]
pub struct Issuer {
    keys: Arc<KeySet>,
    iss: Option<String>,
    audience: Option<Audience>,
    typ: Option<TokenType>,
    require_sub: bool,
    ttl: u64,
    clock: Arc<dyn Clock>,
}

impl Issuer {
    /// An issuer signing with `keys`' active signing key.
    ///
    /// # Errors
    /// [`ConfigError::NoSigningKey`] if the set has none.
    pub fn new(keys: impl Into<Arc<KeySet>>) -> Result<Self, ConfigError> {
        let keys = keys.into();
        if keys.signing_key().is_none() {
            return Err(ConfigError::NoSigningKey);
        }
        Ok(Self {
            keys,
            iss: None,
            audience: None,
            typ: Some(TokenType::Jwt),
            require_sub: false,
            ttl: DEFAULT_TTL.as_secs(),
            clock: clock::system(),
        })
    }

    /// The preset for access tokens (RFC 9068): the header's `typ` is `at+jwt`, and claims
    /// without a subject are refused when issued, so every token passes
    /// [`Verifier::access_tokens`](super::Verifier::access_tokens) (`iat` and `jti` are filled
    /// as always).
    ///
    /// # Errors
    /// [`ConfigError::NoSigningKey`] if the set has none.
    pub fn access_tokens(keys: impl Into<Arc<KeySet>>) -> Result<Self, ConfigError> {
        let mut issuer = Self::new(keys)?.typ(TokenType::AccessToken);
        issuer.require_sub = true;
        Ok(issuer)
    }

    /// Sets `iss` on every token that has none.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.iss = Some(issuer.into());
        self
    }

    /// Sets `aud` on every token that has none.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(Audience::One(audience.into()));
        self
    }

    /// The header `typ` (default `JWT`; `at+jwt` for RFC 9068 access tokens).
    #[must_use]
    pub fn typ(mut self, typ: TokenType) -> Self {
        self.typ = Some(typ);
        self
    }

    /// Lifetime of tokens without an `exp` (default 15 minutes; 1 second to 366 days).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] outside that range.
    pub fn ttl(mut self, ttl: Duration) -> Result<Self, ConfigError> {
        if ttl.as_secs() == 0 || ttl.as_secs() > 366 * 24 * 3600 {
            return Err(ConfigError::InvalidSetting("ttl outside 1 s..=366 days"));
        }
        self.ttl = ttl.as_secs();
        Ok(self)
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the key set (after a rotation), keeping every other setting.
    ///
    /// # Errors
    /// [`ConfigError::NoSigningKey`].
    pub fn with_keys(&self, keys: impl Into<Arc<KeySet>>) -> Result<Self, ConfigError> {
        let keys = keys.into();
        if keys.signing_key().is_none() {
            return Err(ConfigError::NoSigningKey);
        }
        Ok(Self {
            keys,
            ..self.clone()
        })
    }

    /// Signs `claims`, filling the empty registered claims.
    ///
    /// # Errors
    /// [`ConfigError::Claims`] if the application's claims do not serialize to a JSON object,
    /// or, for the [`access_tokens`](Self::access_tokens) preset, have no `sub`.
    pub fn issue<T: Serialize>(&self, mut claims: Claims<T>) -> Result<String, ConfigError> {
        if self.require_sub && claims.sub.as_deref().is_none_or(str::is_empty) {
            return Err(ConfigError::Claims(
                "an access token needs a subject (sub)".to_owned(),
            ));
        }
        let now = self.clock.now();
        if claims.iss.is_none() {
            claims.iss.clone_from(&self.iss);
        }
        if claims.aud.is_none() {
            claims.aud.clone_from(&self.audience);
        }
        claims.iat.get_or_insert(now);
        claims.exp.get_or_insert(now.saturating_add(self.ttl));
        if claims.jti.is_none() {
            claims.jti = Some(crate::random::id_128());
        }
        let value =
            serde_json::to_value(&claims).map_err(|e| ConfigError::Claims(e.to_string()))?;
        self.sign_value(&value)
    }

    /// Signs a JSON object as the payload exactly as given, adding nothing (for tools that
    /// build the claims themselves; `exp` is still required by every verifier).
    ///
    /// # Errors
    /// [`ConfigError::Claims`] if `payload` is not an object.
    pub fn sign_value(&self, payload: &Value) -> Result<String, ConfigError> {
        if !payload.is_object() {
            return Err(ConfigError::Claims(
                "the payload is not a JSON object".to_owned(),
            ));
        }
        let key = self.keys.signing_key().ok_or(ConfigError::NoSigningKey)?;
        let header = header::encode(key.algorithm(), self.typ.as_ref(), key.kid());
        let mut token = super::b64::encode(header.as_bytes());
        token.push('.');
        token.push_str(&super::b64::encode(payload.to_string().as_bytes()));
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&super::b64::encode(&signature));
        Ok(token)
    }
}
