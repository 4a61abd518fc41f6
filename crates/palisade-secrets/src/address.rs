//! Where a secret lives, in one text form: `env:NAME`, `file:/absolute/path`, `systemd:NAME`.

use std::{fmt, path::PathBuf, str::FromStr};

/// Where a secret lives. Parsed strictly from its text form and printed back the same way;
/// an address names a place, never a value, so it may be logged.
///
/// | form | source |
/// |---|---|
/// | `env:NAME` | the environment variable `NAME` (`[A-Za-z_][A-Za-z0-9_]*`) |
/// | `file:/absolute/path` | a file, which must be private to its owner |
/// | `systemd:NAME` | the systemd credential `NAME` in `$CREDENTIALS_DIRECTORY` |
///
/// ```
/// use palisade_secrets::Address;
///
/// let address: Address = "file:/run/secrets/jwt-key".parse()?;
/// assert_eq!(address.to_string(), "file:/run/secrets/jwt-key");
/// assert!("file:relative/path".parse::<Address>().is_err());
/// assert!("ENV:NAME".parse::<Address>().is_err());
/// # Ok::<(), palisade_secrets::AddressError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// An environment variable.
    Env(String),
    /// A file, by absolute path.
    File(PathBuf),
    /// A systemd credential (`LoadCredential=`, `SetCredentialEncrypted=`), read from
    /// `$CREDENTIALS_DIRECTORY/NAME`.
    Systemd(String),
}

/// Longest address accepted, in bytes.
const MAX_ADDRESS_LEN: usize = 4096;

/// Why a text is not an address. Names the rule broken; the text itself is not repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No `scheme:` prefix, or a scheme this crate does not know (schemes are lower case).
    #[error("unknown secret address scheme (expected env:, file: or systemd:)")]
    UnknownScheme,
    /// The part after the scheme is empty.
    #[error("the secret address names nothing after its scheme")]
    Empty,
    /// An environment variable name outside `[A-Za-z_][A-Za-z0-9_]*`.
    #[error("an env: address needs a variable name of letters, digits and underscores")]
    BadVariableName,
    /// A file path that is not absolute, or holds a NUL or a `..` component.
    #[error("a file: address needs an absolute path without NUL or `..` components")]
    BadPath,
    /// A systemd credential name with a `/`, a NUL, or that is `.` or `..`.
    #[error("a systemd: address needs a credential name without `/`")]
    BadCredentialName,
    /// Longer than 4096 bytes.
    #[error("the secret address is longer than 4096 bytes")]
    TooLong,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::TooLong);
        }
        let (scheme, rest) = s.split_once(':').ok_or(AddressError::UnknownScheme)?;
        if !matches!(scheme, "env" | "file" | "systemd") {
            return Err(AddressError::UnknownScheme);
        }
        if rest.is_empty() {
            return Err(AddressError::Empty);
        }
        match scheme {
            "env" => {
                let mut chars = rest.chars();
                let first_ok = chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(AddressError::BadVariableName);
                }
                Ok(Self::Env(rest.to_owned()))
            }
            "file" => {
                let path = PathBuf::from(rest);
                let bad = !path.is_absolute()
                    || rest.contains('\0')
                    || path
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if bad {
                    return Err(AddressError::BadPath);
                }
                Ok(Self::File(path))
            }
            _ => {
                if rest.contains(['/', '\0']) || rest == "." || rest == ".." {
                    return Err(AddressError::BadCredentialName);
                }
                Ok(Self::Systemd(rest.to_owned()))
            }
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Systemd(name) => write!(f, "systemd:{name}"),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        for text in [
            "env:JWT_KEY",
            "env:_x1",
            "file:/run/secrets/jwt",
            "systemd:db-password",
            "systemd:pepper.v2",
        ] {
            let address: Address = text.parse().unwrap();
            assert_eq!(address.to_string(), text);
        }
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_rule_they_break() {
        let cases = [
            ("JWT_KEY", AddressError::UnknownScheme),
            ("ENV:JWT_KEY", AddressError::UnknownScheme),
            ("vault:kv/app#key", AddressError::UnknownScheme),
            ("env:", AddressError::Empty),
            ("env:1ABC", AddressError::BadVariableName),
            ("env:A-B", AddressError::BadVariableName),
            ("env:A B", AddressError::BadVariableName),
            ("file:secrets/jwt", AddressError::BadPath),
            ("file:/run/../etc/shadow", AddressError::BadPath),
            ("file:/run/a\0b", AddressError::BadPath),
            ("systemd:../x", AddressError::BadCredentialName),
            ("systemd:..", AddressError::BadCredentialName),
            ("systemd:a/b", AddressError::BadCredentialName),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Address>().unwrap_err(), expected, "{text:?}");
        }
        let long = format!("file:/{}", "a".repeat(MAX_ADDRESS_LEN));
        assert_eq!(long.parse::<Address>().unwrap_err(), AddressError::TooLong);
    }

    /// Errors never repeat the text they were given (it may be a secret pasted by mistake).
    #[test]
    fn errors_do_not_echo_the_input() {
        for text in ["hunter2-not-an-address", "env:hunter2!", "file:hunter2"] {
            let message = text.parse::<Address>().unwrap_err().to_string();
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
