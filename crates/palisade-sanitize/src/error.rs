//! The crate's error types.
//!
//! Setup mistakes are [`ConfigError`]: detailed, because they reach the developer who wrote the
//! configuration. Everything else is a refusal of input, one enum per concern. No error carries
//! the refused input itself: inputs may be secrets, and errors end up in logs.

/// A configuration that palisade refuses: a policy, an allow-list or a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An element, attribute, scheme or host name is not in the expected lowercase form.
    #[error("{what} `{name}` is not valid: {expected}")]
    InvalidName {
        /// What kind of name (`element`, `attribute`, `URL scheme`, `host`, ...).
        what: &'static str,
        /// The name given.
        name: String,
        /// The form that is expected.
        expected: &'static str,
    },
    /// The policy allows something known to be dangerous without the matching
    /// `dangerous_allow` call.
    #[error(
        "{item} is dangerous ({danger}); call PolicyBuilder::dangerous_allow(Danger::{variant}) \
         if you really mean it"
    )]
    Dangerous {
        /// The element, attribute or scheme.
        item: String,
        /// Why it is dangerous.
        danger: &'static str,
        /// The `Danger` variant that would allow it.
        variant: &'static str,
    },
    /// A URL scheme that runs code (`javascript:`, `vbscript:`, ...) was allowed. There is no way
    /// to allow these.
    #[error("URL scheme `{scheme}` executes script and can never be allowed")]
    ScriptScheme {
        /// The scheme given.
        scheme: String,
    },
    /// Two settings contradict each other.
    #[error("conflicting settings: {reason}")]
    Conflict {
        /// What conflicts, and how to resolve it.
        reason: &'static str,
    },
    /// A limit is out of its accepted range.
    #[error("{what} must be between {min} and {max}, got {value}")]
    LimitOutOfRange {
        /// Which limit.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
}

impl ConfigError {
    pub(crate) fn limit(what: &'static str, value: u64, min: u64, max: u64) -> Result<(), Self> {
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(Self::LimitOutOfRange {
                what,
                value,
                min,
                max,
            })
        }
    }
}
