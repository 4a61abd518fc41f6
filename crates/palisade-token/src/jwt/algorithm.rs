//! The signature algorithms palisade-token accepts.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// A JWS algorithm (RFC 7518, RFC 8037). A key has exactly one; tokens are verified with the
/// key's algorithm, never with the one their header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256; secrets of at least 32 bytes.
    HS256,
    /// HMAC with SHA-384; secrets of at least 48 bytes.
    HS384,
    /// HMAC with SHA-512; secrets of at least 64 bytes.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256; keys of 2048 to 8192 bits.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384; keys of 2048 to 8192 bits.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512; keys of 2048 to 8192 bits.
    RS512,
    /// RSASSA-PSS with SHA-256; keys of 2048 to 8192 bits.
    PS256,
    /// RSASSA-PSS with SHA-384; keys of 2048 to 8192 bits.
    PS384,
    /// RSASSA-PSS with SHA-512; keys of 2048 to 8192 bits.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512, verified and signed by AWS-LC directly (`jsonwebtoken` has
    /// no P-521).
    ES512,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 13] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
    ];

    /// The name used in JOSE headers and JWKs (`"ES256"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Whether this is an HMAC (shared-secret) algorithm.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    /// Whether this is an RSA algorithm (PKCS#1 v1.5 or PSS).
    pub(crate) fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512
        )
    }

    /// The minimum HMAC secret length: the hash output length (RFC 7518 §3.2).
    pub(crate) fn min_secret_len(self) -> usize {
        match self {
            Self::HS384 => 48,
            Self::HS512 => 64,
            _ => 32,
        }
    }

    /// The same algorithm in `jsonwebtoken`, which has all but ES512.
    pub(crate) fn to_jsonwebtoken(self) -> Option<jsonwebtoken::Algorithm> {
        Some(match self {
            Self::HS256 => jsonwebtoken::Algorithm::HS256,
            Self::HS384 => jsonwebtoken::Algorithm::HS384,
            Self::HS512 => jsonwebtoken::Algorithm::HS512,
            Self::RS256 => jsonwebtoken::Algorithm::RS256,
            Self::RS384 => jsonwebtoken::Algorithm::RS384,
            Self::RS512 => jsonwebtoken::Algorithm::RS512,
            Self::PS256 => jsonwebtoken::Algorithm::PS256,
            Self::PS384 => jsonwebtoken::Algorithm::PS384,
            Self::PS512 => jsonwebtoken::Algorithm::PS512,
            Self::ES256 => jsonwebtoken::Algorithm::ES256,
            Self::ES384 => jsonwebtoken::Algorithm::ES384,
            Self::ES512 => return None,
            Self::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        })
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Parses the exact JOSE name (`"HS256"`, `"EdDSA"`); letter case matters, as in headers.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ConfigError::UnsupportedAlgorithm(s.chars().take(32).collect()))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
