//! JSON Web Tokens: keys, key sets and JWKS, issuing and strict verification.

mod algorithm;
pub(crate) mod b64;
mod backend;
mod claims;
mod header;
pub(crate) mod json;
mod jwks;
mod keys;
mod keyset;
mod signer;
mod verifier;

pub use algorithm::Algorithm;
pub use backend::pin_crypto_provider;
pub use claims::{Audience, Claims};
pub use header::TokenType;
pub use keys::{SigningKey, VerifyingKey};
pub use keyset::KeySet;
pub use signer::{DEFAULT_TTL, Issuer};
pub use verifier::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, Verifier};
