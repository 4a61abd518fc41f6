#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]
// The README (the crate's front page) names providers in their own spelling (DigitalOcean,
// OpenAI, PostHog) in its family table; they are names, not code.
#![allow(clippy::doc_markdown)]

mod bytemask;
mod cards;
mod checks;
mod detect;
mod error;
mod families;
mod gitleaks;
mod keyvalue;
mod keywords;
mod kind;
mod known;
mod redactor;
mod stream;
mod style;
#[cfg(feature = "metrics")]
mod telemetry;
#[cfg(feature = "tracing")]
mod tracing;
mod values;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use crate::tracing::{RecordWriter, RedactingMakeWriter};
pub use crate::{
    error::ConfigError,
    families::{ProviderFamily, provider_families},
    keywords::{ProviderKeywordRule, provider_keyword_rules},
    kind::Kind,
    known::{KnownSecretError, KnownSecrets, MAX_KNOWN_SECRET_LEN, MIN_KNOWN_SECRET_LEN},
    redactor::{Finding, Redactor, RedactorBuilder},
    stream::{LineRedactor, RedactingWriter},
    style::{KeyedHashKey, REDACTED, Style},
    values::Redacted,
};
/// Re-exported so callers can build a [`KeyedHashKey`] without naming `secrecy`.
pub use secrecy::SecretBox;

/// The format of palisade's opaque tokens, shared with the crates that issue them.
pub mod opaque {
    /// `prefix` + 43 base62 characters + the base62 CRC32 (six characters, zero-padded, digits
    /// then upper then lower case) of those 43: whether `token` has that shape and checksum.
    pub fn is_valid(prefix: &str, token: &str) -> bool {
        let Some(body) = token.strip_prefix(prefix) else {
            return false;
        };
        let b = body.as_bytes();
        b.len() == 49
            && b.iter().all(u8::is_ascii_alphanumeric)
            && crate::checks::crc32_base62_suffix(&b[..43], &b[43..])
    }

    /// The six-character checksum suffix for a 43-character random part.
    pub fn checksum(random: &str) -> String {
        String::from_utf8_lossy(&crate::checks::base62_6(crc32fast::hash(random.as_bytes())))
            .into_owned()
    }
}
