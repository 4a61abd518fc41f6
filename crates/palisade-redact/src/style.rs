//! How a finding is replaced.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// The fixed replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// How every replacement begins; a value starting with it is not redacted again.
pub(crate) const REDACTED_PREFIX: &[u8] = b"[REDACTED";

/// How a finding is written in the output.
#[derive(Clone)]
#[non_exhaustive]
pub enum Style {
    /// `[REDACTED]`. The default.
    Fixed,
    /// Keeps up to `prefix` leading and `suffix` trailing characters around `[REDACTED]`
    /// (`ghp_[REDACTED]`, `[REDACTED]4242`), but only when at least 8 characters stay hidden
    /// and at most a quarter of the value is shown; otherwise as [`Style::Fixed`].
    Partial {
        /// Leading characters kept.
        prefix: usize,
        /// Trailing characters kept.
        suffix: usize,
    },
    /// `[REDACTED:hmac:0123456789abcdef]`: the first 8 bytes of HMAC-SHA256 under a
    /// deployment key, in hex, so equal secrets can be correlated across lines without being
    /// revealed. Keep the key secret: with it, a guessed secret can be confirmed.
    KeyedHash(KeyedHashKey),
}

impl fmt::Debug for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed => f.write_str("Fixed"),
            Self::Partial { prefix, suffix } => {
                write!(f, "Partial {{ prefix: {prefix}, suffix: {suffix} }}")
            }
            Self::KeyedHash(_) => f.write_str("KeyedHash([REDACTED])"),
        }
    }
}

/// The deployment key for [`Style::KeyedHash`], at least 32 bytes.
#[derive(Clone)]
pub struct KeyedHashKey(std::sync::Arc<SecretBox<[u8]>>);

impl fmt::Debug for KeyedHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHashKey([REDACTED])")
    }
}

impl KeyedHashKey {
    /// Wraps a key.
    ///
    /// # Errors
    /// [`ConfigError::KeyTooShort`](crate::ConfigError::KeyTooShort) below 32 bytes.
    pub fn new(key: SecretBox<[u8]>) -> Result<Self, crate::ConfigError> {
        let len = key.expose_secret().len();
        if len < 32 {
            return Err(crate::ConfigError::KeyTooShort { len });
        }
        Ok(Self(std::sync::Arc::new(key)))
    }
}

impl Style {
    /// Appends the replacement for `secret` to `out`.
    pub(crate) fn render(&self, secret: &[u8], out: &mut Vec<u8>) {
        match self {
            Self::Fixed => out.extend_from_slice(REDACTED.as_bytes()),
            Self::Partial { prefix, suffix } => {
                let chars: Vec<usize> = char_starts(secret);
                let n = chars.len();
                let shown = prefix + suffix;
                if n < shown + 8 || shown * 4 > n {
                    out.extend_from_slice(REDACTED.as_bytes());
                    return;
                }
                let head_end = chars.get(*prefix).copied().unwrap_or(secret.len());
                let tail_start = chars.get(n - suffix).copied().unwrap_or(secret.len());
                out.extend_from_slice(&secret[..head_end]);
                out.extend_from_slice(REDACTED.as_bytes());
                out.extend_from_slice(&secret[tail_start..]);
            }
            Self::KeyedHash(key) => {
                // HMAC takes keys of any length; should that ever change, fail closed.
                let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.0.expose_secret())
                else {
                    out.extend_from_slice(REDACTED.as_bytes());
                    return;
                };
                mac.update(secret);
                let tag = mac.finalize().into_bytes();
                out.extend_from_slice(b"[REDACTED:hmac:");
                for b in &tag[..8] {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.push(b']');
            }
        }
    }
}

/// Byte offsets where UTF-8 characters start (every byte, for non-UTF-8 input).
fn char_starts(bytes: &[u8]) -> Vec<usize> {
    match core::str::from_utf8(bytes) {
        Ok(s) => s.char_indices().map(|(i, _)| i).collect(),
        Err(_) => (0..bytes.len()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(style: &Style, s: &str) -> String {
        let mut out = Vec::new();
        style.render(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn partial_shows_little() {
        let last4 = Style::Partial {
            prefix: 0,
            suffix: 4,
        };
        assert_eq!(render(&last4, "4111111111111111"), "[REDACTED]1111");
        assert_eq!(render(&last4, "short"), "[REDACTED]");
        let prefix = Style::Partial {
            prefix: 4,
            suffix: 0,
        };
        assert_eq!(
            render(&prefix, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_[REDACTED]"
        );
        assert_eq!(render(&prefix, "pässwörtlich-lang"), "päss[REDACTED]");
    }

    /// The `Partial` rule as documented: shown only when at most a quarter of the value is
    /// shown and at least 8 characters stay hidden, counted in characters.
    #[test]
    fn partial_shows_at_most_a_quarter_and_hides_at_least_eight() {
        let both = Style::Partial {
            prefix: 4,
            suffix: 4,
        };
        // 32 characters: 8 shown is exactly a quarter.
        let value: String = ('a'..='z').chain('0'..='5').collect();
        assert_eq!(render(&both, &value), "abcd[REDACTED]2345");
        // 31 characters: 8 shown is more than a quarter.
        assert_eq!(render(&both, &value[..31]), "[REDACTED]");
        let one = Style::Partial {
            prefix: 1,
            suffix: 0,
        };
        // 8 hidden is enough, 7 is not (and characters, not bytes, are counted).
        assert_eq!(render(&one, "ääääääääa"), "ä[REDACTED]");
        assert_eq!(render(&one, "äääääääa"), "[REDACTED]");
    }

    #[test]
    fn keyed_hash_correlates_without_revealing() {
        let key = KeyedHashKey::new(SecretBox::new(vec![1u8; 32].into_boxed_slice())).unwrap();
        let style = Style::KeyedHash(key);
        let a = render(&style, "hunter2");
        assert_eq!(a, render(&style, "hunter2"));
        assert_ne!(a, render(&style, "hunter3"));
        assert!(a.starts_with("[REDACTED:hmac:") && a.len() == 32 && !a.contains("hunter"));
        assert!(KeyedHashKey::new(SecretBox::new(vec![1u8; 31].into_boxed_slice())).is_err());
        assert_eq!(format!("{style:?}"), "KeyedHash([REDACTED])");
    }
}
