//! JSON Web Tokens: keys, key sets and JWKS, issuing and strict verification.

mod algorithm;
pub(crate) mod b64;
mod backend;
mod cached;
mod claims;
#[cfg(feature = "jwks-remote")]
mod fetch;
mod header;
/// The map-based parser the one-pass readers are tested against.
#[cfg(test)]
pub(crate) mod json;
mod jwks;
mod keys;
mod keyset;
mod payload;
#[cfg(feature = "jwks-remote")]
mod remote;
mod rotation;
mod signer;
mod verifier;

pub use algorithm::Algorithm;
pub use backend::pin_crypto_provider;
pub use cached::CachedVerifier;
pub use claims::{Audience, Claims};
pub use header::TokenType;
pub use keys::{SigningKey, VerifyingKey};
pub use keyset::KeySet;
#[cfg(feature = "jwks-remote")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks-remote")))]
pub use remote::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STALE, DEFAULT_MAX_TTL, DEFAULT_MIN_TTL,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT, FetchError, JwksError, RemoteError, RemoteJwks,
    RemoteJwksBuilder, RemoteVerifier,
};
pub use rotation::{RotationPolicy, ScheduledKeySet, SigningKeyStatus};
pub use signer::{DEFAULT_TTL, Issuer};
pub use verifier::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, Verifier};
