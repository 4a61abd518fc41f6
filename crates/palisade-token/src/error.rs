//! Errors: detailed ones for configuration, one opaque one for rejected tokens.

use std::fmt;

/// A mistake in how keys, verifiers or stores were set up. Says exactly what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An HMAC secret is shorter than the output of the algorithm's hash (RFC 7518 §3.2).
    #[error("{alg} needs a secret of at least {min} bytes, got {got}")]
    SecretTooShort {
        /// The algorithm the secret was meant for.
        alg: &'static str,
        /// The minimum length in bytes.
        min: usize,
        /// The length that was given.
        got: usize,
    },
    /// A key could not be parsed for the named algorithm.
    #[error("not a valid {alg} key: {reason}")]
    InvalidKey {
        /// The algorithm the key was meant for.
        alg: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// An algorithm name that palisade-token does not support.
    #[error(
        "unsupported algorithm {0:?}: use HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA"
    )]
    UnsupportedAlgorithm(String),
    /// Two keys in one key set share a `kid`.
    #[error("two keys share the kid {0:?}")]
    DuplicateKid(String),
    /// A key set holding more than one key needs a `kid` on every key.
    #[error("a key set with several keys needs a kid on every key")]
    MissingKid,
    /// A `kid` is empty, longer than 256 bytes or contains control characters.
    #[error("invalid kid: it must be 1 to 256 printable characters")]
    InvalidKid,
    /// No key with this `kid` in the key set.
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    /// The key set has no active signing key.
    #[error("the key set has no signing key")]
    NoSigningKey,
    /// A JWKS document is not valid JSON of the expected shape, or a key in it is unusable.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
    /// Claims could not be serialized to a JSON object.
    #[error("claims must serialize to a JSON object: {0}")]
    Claims(String),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// `jsonwebtoken`'s process-wide crypto provider was chosen before palisade-token could
    /// make it AWS-LC. palisade-token itself still signs and verifies with AWS-LC.
    #[error(
        "jsonwebtoken's process-wide crypto provider was already chosen: another crate installed \
         one, or jsonwebtoken was used first and picked one from its features (with both \
         `aws_lc_rs` and `rust_crypto` enabled, that one panics on every call). Call \
         palisade_token::jwt::pin_crypto_provider() at the start of main, before anything else \
         uses jsonwebtoken, and make sure no other crate installs a provider"
    )]
    ConflictingCryptoProvider,
}

/// Why a token was rejected. For logs and metrics only: callers answer every one of these
/// the same way, so an attacker learns nothing from the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Longer than the configured size cap; nothing was decoded.
    TooLarge,
    /// Not three base64url segments, or a segment is not a JSON object, or JSON has duplicate keys.
    Malformed,
    /// The header names `none` (in any letter case).
    AlgNone,
    /// The header's `alg` is not the algorithm of the key selected by `kid`.
    AlgorithmMismatch,
    /// The header carries a `kid` the key set does not know, or none when one is needed.
    UnknownKey,
    /// The header carries a key or key URL (`jwk`, `jku`, `x5u`, `x5c`, `x5t`).
    EmbeddedKey,
    /// The header lists `crit` extensions, none of which this verifier understands.
    UnknownCritical,
    /// The header's `typ` is not the configured one.
    WrongType,
    /// A `typ` is configured and the header carries none (RFC 8725 §3.11 explicit typing).
    MissingType,
    /// The header uses an unsupported feature (`b64: false`, nested JWTs).
    UnsupportedHeader,
    /// The signature is missing or does not verify.
    BadSignature,
    /// A claim has the wrong JSON type (`exp` as a string, `aud` as a number...).
    BadClaim,
    /// A required claim is absent: `exp`, `iss`/`aud`/`iat` when configured, or one named by
    /// `Verifier::require_claims` (present but `null` or an empty string counts as absent).
    MissingClaim,
    /// `exp` is in the past.
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    IssuedInFuture,
    /// `iat` is older than the configured maximum age.
    TooOld,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience, or is present when none is configured.
    WrongAudience,
    /// The token's `jti`, or its refresh family, was revoked.
    Revoked,
    /// A refresh token that was already rotated was presented again; its family is now revoked.
    Reused,
    /// An opaque token is not known to the store (never issued, used, or purged).
    Unknown,
    /// An opaque token's checksum or shape is wrong (a typo); no lookup was made.
    BadChecksum,
    /// An opaque token is for another purpose than the one being checked.
    WrongPurpose,
    /// A CSRF token does not match the session, or the two submitted copies differ.
    CsrfMismatch,
}

impl ErrorKind {
    /// A stable `snake_case` name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::AlgNone => "alg_none",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::UnknownKey => "unknown_key",
            Self::EmbeddedKey => "embedded_key",
            Self::UnknownCritical => "unknown_critical",
            Self::WrongType => "wrong_type",
            Self::MissingType => "missing_type",
            Self::UnsupportedHeader => "unsupported_header",
            Self::BadSignature => "bad_signature",
            Self::BadClaim => "bad_claim",
            Self::MissingClaim => "missing_claim",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::TooOld => "too_old",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Revoked => "revoked",
            Self::Reused => "reused",
            Self::Unknown => "unknown",
            Self::BadChecksum => "bad_checksum",
            Self::WrongPurpose => "wrong_purpose",
            Self::CsrfMismatch => "csrf_mismatch",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token was rejected. Displays as `invalid token` whatever the reason; [`kind`](Self::kind)
/// tells logs why.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken {
    kind: ErrorKind,
}

impl InvalidToken {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// Why the token was rejected, for logs and metrics; never show it to the client.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Debug for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvalidToken({})", self.kind)
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid token")
    }
}

impl std::error::Error for InvalidToken {}

impl From<ErrorKind> for InvalidToken {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

/// A store (in memory or Redis) could not complete an operation. Not a verdict about the token:
/// answer with a server error and retry, never with "invalid token".
#[derive(Debug, Clone, thiserror::Error)]
#[error("token store unavailable: {message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// A store error with a description (never containing token material).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The outcome of an operation that consults a store: either the token is invalid, or the
/// store failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token was rejected; answer as for any invalid token.
    #[error(transparent)]
    Invalid(#[from] InvalidToken),
    /// The store failed; answer with a server error.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenError {
    /// The rejection reason, when the token was rejected.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Invalid(e) => Some(e.kind()),
            Self::Store(_) => None,
        }
    }
}

impl From<ErrorKind> for TokenError {
    fn from(kind: ErrorKind) -> Self {
        Self::Invalid(InvalidToken::new(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    /// Metric labels and log fields: every `ErrorKind` has its own `snake_case` name, and none
    /// is `ok` (the accepted outcome beside them). The match fails to compile when a variant is
    /// added without being listed here.
    #[test]
    fn kind_names_are_distinct_snake_case() {
        use ErrorKind as K;
        let kinds = [
            K::TooLarge,
            K::Malformed,
            K::AlgNone,
            K::AlgorithmMismatch,
            K::UnknownKey,
            K::EmbeddedKey,
            K::UnknownCritical,
            K::WrongType,
            K::MissingType,
            K::UnsupportedHeader,
            K::BadSignature,
            K::BadClaim,
            K::MissingClaim,
            K::Expired,
            K::NotYetValid,
            K::IssuedInFuture,
            K::TooOld,
            K::WrongIssuer,
            K::WrongAudience,
            K::Revoked,
            K::Reused,
            K::Unknown,
            K::BadChecksum,
            K::WrongPurpose,
            K::CsrfMismatch,
        ];
        for k in kinds {
            match k {
                K::TooLarge
                | K::Malformed
                | K::AlgNone
                | K::AlgorithmMismatch
                | K::UnknownKey
                | K::EmbeddedKey
                | K::UnknownCritical
                | K::WrongType
                | K::MissingType
                | K::UnsupportedHeader
                | K::BadSignature
                | K::BadClaim
                | K::MissingClaim
                | K::Expired
                | K::NotYetValid
                | K::IssuedInFuture
                | K::TooOld
                | K::WrongIssuer
                | K::WrongAudience
                | K::Revoked
                | K::Reused
                | K::Unknown
                | K::BadChecksum
                | K::WrongPurpose
                | K::CsrfMismatch => {}
            }
        }
        let names: std::collections::BTreeSet<_> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), kinds.len());
        assert!(!names.contains("ok"));
        for name in names {
            assert!(
                !name.is_empty()
                    && !name.starts_with('_')
                    && !name.ends_with('_')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }
}
