//! Configuration errors.

/// A redactor configuration that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The keyed-hash key is shorter than 32 bytes.
    #[error("keyed-hash key must be at least 32 bytes, got {len}")]
    KeyTooShort {
        /// The length given.
        len: usize,
    },
    /// A custom rule's pattern does not compile.
    #[error("rule `{name}`: invalid pattern: {reason}")]
    InvalidRule {
        /// The rule's name.
        name: String,
        /// What the regex compiler said.
        reason: String,
    },
    /// A key name or anchor is empty or has no letters or digits.
    #[error("key names and anchors must contain letters or digits: {0:?}")]
    InvalidName(String),
    /// An opaque-token prefix is not 2 to 16 characters ending in `_`.
    #[error(
        "opaque token prefix must be 2 to 16 ASCII letters, digits or `_`, ending in `_`: {0:?}"
    )]
    InvalidPrefix(String),
    /// The anchor search could not be built (too many anchors).
    #[error("could not build the anchor search: {0}")]
    Automaton(String),
}
