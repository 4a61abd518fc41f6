//! A password policy after NIST SP 800-63B-4 section 3.1.1.2: length, not composition.
//!
//! What it checks: a minimum length (15 characters for a password that is the only factor,
//! 8 when it is used with multi-factor authentication), a maximum no lower than 64, a blocklist
//! of breached or common passwords, and context words (user name, email, service name). What it
//! never checks: composition rules (digits, symbols, upper case), which NIST forbids. Length is
//! counted in Unicode code points after NFKC normalization, as NIST prescribes.

use core::fmt;
use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher as _},
    io::{self, BufRead},
    path::Path,
    sync::Arc,
};

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::{error::ConfigError, secret::Password};

/// Where a context word came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContextKind {
    /// The account's user name.
    UserName,
    /// The account's email address.
    Email,
    /// The name of the service or site.
    ServiceName,
    /// Any other word the caller supplied.
    Other,
}

/// Why a password was refused. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    #[error("password must have at least {min} characters (it has {actual})")]
    TooShort {
        /// The policy's minimum.
        min: usize,
        /// The password's length in characters.
        actual: usize,
    },
    /// More characters than the maximum.
    #[error("password must have at most {max} characters")]
    TooLong {
        /// The policy's maximum.
        max: usize,
    },
    /// The password is on the blocklist of breached or common passwords.
    #[error("password is too common or has appeared in a data breach")]
    Blocklisted,
    /// The password contains a word from the account or the service.
    #[error("password must not contain the {0}")]
    ContainsContextWord(ContextKindName),
}

/// A [`ContextKind`] displayed in words, inside [`PolicyViolation::ContainsContextWord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextKindName(pub ContextKind);

impl fmt::Display for ContextKindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            ContextKind::UserName => "user name",
            ContextKind::Email => "email address",
            ContextKind::ServiceName => "service name",
            ContextKind::Other => "account details",
        })
    }
}

/// A set of passwords to refuse, looked up after NFKC normalization and lower-casing.
///
/// Implemented by [`HashedBlocklist`] and by any `Fn(&str) -> bool`, so a service can plug in
/// its own store (a bloom filter, a k-anonymity breach API).
pub trait Blocklist: Send + Sync {
    /// Whether `candidate` (normalized and lower-cased) is on the list.
    fn contains(&self, candidate: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Send + Sync> Blocklist for F {
    fn contains(&self, candidate: &str) -> bool {
        self(candidate)
    }
}

/// A blocklist held as one 64-bit hash per entry, 8 bytes whatever the entry's length.
///
/// Ten million breached passwords take 80 MB. A false positive needs a 64-bit collision:
/// about one in two trillion lookups against a ten-million-entry list (10^7 / 2^64).
#[derive(Clone)]
pub struct HashedBlocklist {
    hashes: Vec<u64>,
}

impl HashedBlocklist {
    /// Reads one password per line (UTF-8; `\n` or `\r\n`; empty lines skipped).
    ///
    /// # Errors
    /// An I/O error, or `InvalidData` for a line that is not UTF-8.
    pub fn from_reader(reader: impl BufRead) -> io::Result<Self> {
        let mut hashes = Vec::new();
        for line in reader.lines() {
            let line = line?;
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if !line.is_empty() {
                hashes.push(entry_hash(&fold(line)));
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        Ok(Self { hashes })
    }

    /// Reads a file of one password per line; see [`from_reader`](Self::from_reader).
    ///
    /// # Errors
    /// As [`from_reader`](Self::from_reader), or the file cannot be opened.
    pub fn from_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        Self::from_reader(io::BufReader::new(file))
    }

    /// A list of the given passwords.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a str>) -> Self {
        let mut hashes: Vec<u64> = entries.into_iter().map(|e| entry_hash(&fold(e))).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Self { hashes }
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

impl Blocklist for HashedBlocklist {
    fn contains(&self, candidate: &str) -> bool {
        self.hashes.binary_search(&entry_hash(candidate)).is_ok()
    }
}

impl fmt::Debug for HashedBlocklist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashedBlocklist")
            .field("entries", &self.hashes.len())
            .finish()
    }
}

fn entry_hash(s: &str) -> u64 {
    // SipHash with fixed keys: the table is rebuilt in every process, never persisted.
    let mut hasher = DefaultHasher::new();
    s.hash(&mut hasher);
    hasher.finish()
}

/// NFKC, then lower case: the form in which passwords are compared with lists and words.
fn fold(s: &str) -> Zeroizing<String> {
    Zeroizing::new(s.nfkc().flat_map(char::to_lowercase).collect())
}

/// Words from the account and the service that a password must not contain.
#[derive(Debug, Default, Clone)]
pub struct Context {
    words: Vec<(ContextKind, String)>,
}

impl Context {
    /// No context words.
    pub fn new() -> Self {
        Self::default()
    }

    /// The account's user name.
    #[must_use]
    pub fn user_name(self, name: &str) -> Self {
        self.word(ContextKind::UserName, name)
    }

    /// The account's email address (the whole address and its parts are checked).
    #[must_use]
    pub fn email(self, email: &str) -> Self {
        self.word(ContextKind::Email, email)
    }

    /// The service's name.
    #[must_use]
    pub fn service_name(self, name: &str) -> Self {
        self.word(ContextKind::ServiceName, name)
    }

    /// Any other word; the whole value and each alphanumeric run of 4 or more characters in it
    /// are refused as parts of the password.
    #[must_use]
    pub fn word(mut self, kind: ContextKind, value: &str) -> Self {
        let folded = fold(value);
        if folded.chars().count() >= MIN_CONTEXT_CHARS {
            self.words.push((kind, folded.to_string()));
        }
        for part in folded.split(|c: char| !c.is_alphanumeric()) {
            if part.chars().count() >= MIN_CONTEXT_CHARS && part != folded.as_str() {
                self.words.push((kind, part.to_owned()));
            }
        }
        self
    }
}

/// Shorter context words (a two-letter user name) would refuse too many good passwords.
const MIN_CONTEXT_CHARS: usize = 4;

/// A password policy after NIST SP 800-63B-4.
///
/// ```
/// use palisade_password::{Context, HashedBlocklist, Password, PasswordPolicy, PolicyViolation};
///
/// let policy = PasswordPolicy::single_factor()
///     .with_blocklist(HashedBlocklist::from_entries(["correct horse battery staple"]));
/// let context = Context::new().user_name("alice").service_name("Example Shop");
///
/// assert!(policy.check(&Password::from("a long and unusual passphrase"), &context).is_ok());
/// assert_eq!(
///     policy.check(&Password::from("short"), &context),
///     Err(PolicyViolation::TooShort { min: 15, actual: 5 })
/// );
/// assert_eq!(
///     policy.check(&Password::from("Correct Horse Battery Staple"), &context),
///     Err(PolicyViolation::Blocklisted)
/// );
/// assert!(policy.check(&Password::from("alice-likes-long-passwords"), &context).is_err());
/// ```
#[derive(Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    blocklist: Option<Arc<dyn Blocklist>>,
}

impl PasswordPolicy {
    /// Smallest minimum NIST allows for any password.
    pub const NIST_MIN: usize = 8;
    /// Largest maximum NIST allows a verifier to impose below.
    pub const NIST_MAX_FLOOR: usize = 64;
    /// Default maximum length in characters.
    pub const DEFAULT_MAX: usize = 256;

    /// For a password that is the only authentication factor: at least 15 characters.
    pub fn single_factor() -> Self {
        Self {
            min_chars: 15,
            max_chars: Self::DEFAULT_MAX,
            blocklist: None,
        }
    }

    /// For a password used with a second factor: at least 8 characters.
    pub fn with_mfa() -> Self {
        Self {
            min_chars: 8,
            ..Self::single_factor()
        }
    }

    /// Another minimum (never below NIST's 8) and maximum (never below NIST's 64).
    ///
    /// # Errors
    /// [`ConfigError::InvalidPolicy`] when a bound is outside NIST's or `min > max`.
    pub fn with_lengths(mut self, min: usize, max: usize) -> Result<Self, ConfigError> {
        if min < Self::NIST_MIN {
            return Err(ConfigError::InvalidPolicy {
                reason: "minimum length below NIST SP 800-63B-4's 8 characters",
            });
        }
        if max < Self::NIST_MAX_FLOOR {
            return Err(ConfigError::InvalidPolicy {
                reason: "maximum length below the 64 characters NIST says to allow",
            });
        }
        if min > max {
            return Err(ConfigError::InvalidPolicy {
                reason: "minimum length above maximum length",
            });
        }
        self.min_chars = min;
        self.max_chars = max;
        Ok(self)
    }

    /// Refuses passwords on `blocklist`.
    #[must_use]
    pub fn with_blocklist(mut self, blocklist: impl Blocklist + 'static) -> Self {
        self.blocklist = Some(Arc::new(blocklist));
        self
    }

    /// Minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Maximum length in characters.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Checks a new password, reporting the first rule it breaks.
    ///
    /// # Errors
    /// The [`PolicyViolation`]; it never contains the password.
    pub fn check(&self, password: &Password, context: &Context) -> Result<(), PolicyViolation> {
        let normalized: Zeroizing<String> =
            Zeroizing::new(password.expose_secret().nfkc().collect());
        let actual = normalized.chars().count();
        if actual < self.min_chars {
            return Err(PolicyViolation::TooShort {
                min: self.min_chars,
                actual,
            });
        }
        if actual > self.max_chars {
            return Err(PolicyViolation::TooLong {
                max: self.max_chars,
            });
        }
        let folded = fold(&normalized);
        if let Some(list) = &self.blocklist
            && list.contains(&folded)
        {
            return Err(PolicyViolation::Blocklisted);
        }
        if let Some((kind, _)) = context
            .words
            .iter()
            .find(|(_, word)| folded.contains(word.as_str()))
        {
            return Err(PolicyViolation::ContainsContextWord(ContextKindName(*kind)));
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::single_factor()
    }
}

impl fmt::Debug for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordPolicy")
            .field("min_chars", &self.min_chars)
            .field("max_chars", &self.max_chars)
            .field("blocklist", &self.blocklist.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &PasswordPolicy, pw: &str, ctx: &Context) -> Result<(), PolicyViolation> {
        policy.check(&Password::from(pw), ctx)
    }

    #[test]
    fn lengths_follow_nist() {
        let none = Context::new();
        let sf = PasswordPolicy::single_factor();
        assert_eq!(
            check(&sf, "fourteen chars", &none),
            Err(PolicyViolation::TooShort {
                min: 15,
                actual: 14
            })
        );
        assert_eq!(check(&sf, "fifteen chars!!", &none), Ok(()));
        let mfa = PasswordPolicy::with_mfa();
        assert_eq!(check(&mfa, "8 chars!", &none), Ok(()));
        assert!(check(&mfa, "7 chars", &none).is_err());
        // 64 characters must be allowed; 257 are not by default.
        assert_eq!(check(&sf, &"x".repeat(64), &none), Ok(()));
        assert_eq!(
            check(&sf, &"x".repeat(257), &none),
            Err(PolicyViolation::TooLong { max: 256 })
        );
        // No composition rules: all lower-case letters and spaces are fine.
        assert_eq!(check(&sf, "just lower case words", &none), Ok(()));
    }

    #[test]
    fn length_counts_code_points_after_nfkc() {
        let mfa = PasswordPolicy::with_mfa();
        // Seven precomposed characters, or fourteen code points decomposed: NFKC composes.
        let decomposed = "e\u{301}".repeat(7);
        assert_eq!(
            check(&mfa, &decomposed, &Context::new()),
            Err(PolicyViolation::TooShort { min: 8, actual: 7 })
        );
        // Eight CJK characters are eight characters, not 24 bytes.
        assert_eq!(check(&mfa, "密码密码密码密码", &Context::new()), Ok(()));
    }

    /// Compatibility characters are counted as NFKC spells them out: two U+3300 SQUARE
    /// APAATO are eight characters ("アパートアパート"), and fifteen U+FDFA (one code point,
    /// eighteen after NFKC) are 270, over the default maximum of 256.
    #[test]
    fn length_counts_compatibility_characters_after_nfkc() {
        let none = Context::new();
        assert_eq!(
            check(&PasswordPolicy::with_mfa(), "\u{3300}\u{3300}", &none),
            Ok(())
        );
        assert_eq!(
            check(&PasswordPolicy::with_mfa(), "\u{3300}", &none),
            Err(PolicyViolation::TooShort { min: 8, actual: 4 })
        );
        assert_eq!(
            check(
                &PasswordPolicy::single_factor(),
                &"\u{fdfa}".repeat(15),
                &none
            ),
            Err(PolicyViolation::TooLong { max: 256 })
        );
    }

    #[test]
    fn configuration_bounds() {
        assert!(PasswordPolicy::single_factor().with_lengths(7, 64).is_err());
        assert!(PasswordPolicy::single_factor().with_lengths(8, 63).is_err());
        assert!(
            PasswordPolicy::single_factor()
                .with_lengths(100, 64)
                .is_err()
        );
        let p = PasswordPolicy::single_factor()
            .with_lengths(12, 64)
            .unwrap();
        assert_eq!((p.min_chars(), p.max_chars()), (12, 64));
    }

    #[test]
    fn blocklist_is_case_and_width_insensitive() {
        let list = HashedBlocklist::from_reader(&b"password123456789\r\nqwertyuiopasdfgh\n\n"[..])
            .unwrap();
        assert_eq!(list.len(), 2);
        let policy = PasswordPolicy::with_mfa().with_blocklist(list);
        for pw in [
            "password123456789",
            "PASSWORD123456789",
            "ｐａｓｓｗｏｒｄ123456789",
        ] {
            assert_eq!(
                check(&policy, pw, &Context::new()),
                Err(PolicyViolation::Blocklisted),
                "{pw}"
            );
        }
        assert_eq!(check(&policy, "password12345678", &Context::new()), Ok(()));
        let closure = PasswordPolicy::with_mfa().with_blocklist(|c: &str| c.starts_with("letmein"));
        assert_eq!(
            check(&closure, "letmein-please", &Context::new()),
            Err(PolicyViolation::Blocklisted)
        );
    }

    #[test]
    fn context_words_are_refused_without_echoing() {
        let policy = PasswordPolicy::with_mfa();
        let ctx = Context::new()
            .user_name("Alice_Smith")
            .email("ajones@example.org")
            .service_name("Palisade Bank");
        for (pw, kind) in [
            ("my name is alice!", ContextKind::UserName),
            ("SMITH family 1999", ContextKind::UserName),
            ("ajones@example.org", ContextKind::Email),
            ("go example go go", ContextKind::Email),
            ("i love palisade", ContextKind::ServiceName),
        ] {
            let err = check(&policy, pw, &ctx).unwrap_err();
            assert_eq!(
                err,
                PolicyViolation::ContainsContextWord(ContextKindName(kind)),
                "{pw}"
            );
            assert!(!err.to_string().contains(pw));
        }
        // Short parts ("org", "al") are not context words.
        assert_eq!(check(&policy, "organ grinder", &ctx), Ok(()));
    }
}
