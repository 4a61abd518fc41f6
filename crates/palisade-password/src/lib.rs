#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod ct;
mod error;
mod hasher;
#[cfg(feature = "legacy")]
mod legacy;
mod limits;
mod memory;
mod params;
mod pepper;
mod policy;
mod secret;
mod stored;
mod telemetry;

use std::sync::OnceLock;

pub use crate::{
    error::{ConfigError, HashError, VerifyError, VerifyErrorKind},
    hasher::{Hasher, HasherBuilder, RehashReason, Verified},
    limits::Limits,
    params::{Params, Preset, SALT_LEN, UnknownPreset},
    pepper::{MIN_PEPPER_LEN, Pepper, Peppers},
    policy::{
        Blocklist, Context, ContextKind, ContextKindName, HashedBlocklist, PasswordPolicy,
        PolicyViolation,
    },
    secret::{Password, PasswordHash},
};
/// Re-exported so callers can build a [`Pepper`] without naming `secrecy` themselves.
pub use secrecy::SecretBox;

fn default_hasher() -> &'static Hasher {
    static DEFAULT: OnceLock<Hasher> = OnceLock::new();
    DEFAULT.get_or_init(Hasher::new)
}

/// Hashes `password` with the default [`Hasher`] (Argon2id, OWASP parameters).
///
/// # Errors
/// See [`Hasher::hash`].
pub fn hash(password: &Password) -> Result<PasswordHash, HashError> {
    default_hasher().hash(password)
}

/// Verifies `password` against `stored` with the default [`Hasher`].
///
/// # Errors
/// See [`Hasher::verify`].
pub fn verify(password: &Password, stored: &str) -> Result<Verified, VerifyError> {
    default_hasher().verify(password, stored)
}
