//! Opaque tokens in palisade's checksummed format: API keys and one-time tokens.
//!
//! A token is `pal`, a purpose letter and `_`, then 43 base62 characters (256 bits from the
//! OS) and the six-character base62 CRC32 of those 43: the format `palisade_redact::opaque`
//! defines, so the redactor and secret scanners recognise it and a typo is rejected before
//! any lookup. Only a keyed hash is stored: HMAC-SHA256 under a server key over the whole
//! token, split into a lookup id (first 16 bytes, an index key) and a verifier (last 16
//! bytes, compared in constant time).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac as _};
use secrecy::{ExposeSecret as _, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::error::{ConfigError, ErrorKind, InvalidToken};

/// What an opaque token is for; each purpose has its own prefix, and a token for one purpose
/// is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// `palk_`: a long-lived API key.
    ApiKey,
    /// `palr_`: a refresh token.
    Refresh,
    /// `palp_`: a password reset link.
    PasswordReset,
    /// `palv_`: an email (or phone) verification link.
    Verification,
    /// `pali_`: an invitation.
    Invitation,
    /// `palo_`: any other one-time token.
    OneTime,
}

impl Purpose {
    /// The token prefix, e.g. `palk_`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::ApiKey => "palk_",
            Self::Refresh => "palr_",
            Self::PasswordReset => "palp_",
            Self::Verification => "palv_",
            Self::Invitation => "pali_",
            Self::OneTime => "palo_",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        [
            Self::ApiKey,
            Self::Refresh,
            Self::PasswordReset,
            Self::Verification,
            Self::Invitation,
            Self::OneTime,
        ]
        .into_iter()
        .find(|p| token.starts_with(p.prefix()))
    }
}

/// The stored form of a token: never the token itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash {
    lookup: [u8; 16],
    verifier: [u8; 16],
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.lookup_id())
    }
}

impl TokenHash {
    /// The index key to find the record by (hex, 32 characters). Knowing it does not help
    /// forge the token: it is half of a keyed hash.
    pub fn lookup_id(&self) -> String {
        hex(&self.lookup)
    }

    /// The part to store beside the record and compare with [`matches`](Self::matches).
    pub fn verifier(&self) -> [u8; 16] {
        self.verifier
    }

    /// Whether a stored `verifier` belongs to this token, in constant time.
    pub fn matches(&self, stored_verifier: &[u8]) -> bool {
        stored_verifier.len() == 16 && bool::from(self.verifier.ct_eq(stored_verifier))
    }

    pub(crate) fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&self.lookup);
        out[16..].copy_from_slice(&self.verifier);
        out
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A freshly issued token: show [`token`](Self::token) to its owner once, store
/// [`hash`](Self::hash).
pub struct Issued {
    token: SecretString,
    hash: TokenHash,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("token", &"[REDACTED]")
            .field("hash", &self.hash)
            .finish()
    }
}

impl Issued {
    /// The token, to hand to its owner and never store or log.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// What to store.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }
}

/// Makes and checks opaque tokens under one server key.
pub struct OpaqueTokens {
    key: SecretBox<[u8; 32]>,
}

impl fmt::Debug for OpaqueTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueTokens { key: [REDACTED] }")
    }
}

impl OpaqueTokens {
    /// Token hashing under `key`, a server secret of at least 32 bytes (longer keys are
    /// hashed to 32 with SHA-256). Losing the key invalidates every stored token.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`].
    pub fn new(key: &[u8]) -> Result<Self, ConfigError> {
        Ok(Self {
            key: crate::server_key::server_key(key)?,
        })
    }

    /// A new token for `purpose`.
    pub fn issue(&self, purpose: Purpose) -> Issued {
        self.assemble(purpose, &crate::random::base62(43))
    }

    /// The token for `purpose` whose body is the 43 base62 characters `random`.
    pub(crate) fn assemble(&self, purpose: Purpose, random: &str) -> Issued {
        let mut token = String::with_capacity(54);
        token.push_str(purpose.prefix());
        token.push_str(random);
        token.push_str(&palisade_redact::opaque::checksum(random));
        let hash = self.hash_unchecked(&token);
        Issued {
            token: token.into(),
            hash,
        }
    }

    /// Checks `token`'s shape, purpose and checksum (no lookup needed) and returns the hash to
    /// look it up by.
    ///
    /// # Errors
    /// [`InvalidToken`] with kind `BadChecksum` (typo or not a token) or `WrongPurpose`.
    pub fn hash(&self, purpose: Purpose, token: &str) -> Result<TokenHash, InvalidToken> {
        if token.len() != 54 {
            return Err(InvalidToken::new(ErrorKind::BadChecksum));
        }
        match Purpose::from_token(token) {
            Some(p) if p == purpose => {}
            Some(_) => return Err(InvalidToken::new(ErrorKind::WrongPurpose)),
            None => return Err(InvalidToken::new(ErrorKind::BadChecksum)),
        }
        if !palisade_redact::opaque::is_valid(purpose.prefix(), token) {
            return Err(InvalidToken::new(ErrorKind::BadChecksum));
        }
        Ok(self.hash_unchecked(token))
    }

    /// Checks a presented API key against its stored record: checksum, constant-time
    /// verifier comparison, and expiry (`expires_at` in Unix seconds, `now` from your clock).
    ///
    /// # Errors
    /// [`InvalidToken`]: `BadChecksum`, `WrongPurpose`, `Unknown` (verifier differs) or
    /// `Expired`.
    pub fn verify_api_key(
        &self,
        token: &str,
        stored_verifier: &[u8],
        expires_at: Option<u64>,
        now: u64,
    ) -> Result<(), InvalidToken> {
        let result = self.check_api_key(token, stored_verifier, expires_at, now);
        crate::telemetry::verification("opaque", result.err().map(|e| e.kind()));
        result
    }

    fn check_api_key(
        &self,
        token: &str,
        stored_verifier: &[u8],
        expires_at: Option<u64>,
        now: u64,
    ) -> Result<(), InvalidToken> {
        let hash = self.hash(Purpose::ApiKey, token)?;
        if !hash.matches(stored_verifier) {
            return Err(InvalidToken::new(ErrorKind::Unknown));
        }
        if expires_at.is_some_and(|exp| now >= exp) {
            return Err(InvalidToken::new(ErrorKind::Expired));
        }
        Ok(())
    }

    fn hash_unchecked(&self, token: &str) -> TokenHash {
        let mac = keyed(self.key.expose_secret(), token.as_bytes());
        let mut lookup = [0u8; 16];
        let mut verifier = [0u8; 16];
        lookup.copy_from_slice(&mac[..16]);
        verifier.copy_from_slice(&mac[16..]);
        TokenHash { lookup, verifier }
    }
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn keyed(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length, so a 32-byte key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}
