//! Where a keyring's key-encryption key lives, in one text form: `file:/path`,
//! `vault-transit:MOUNT/KEY` or `aws-kms:KEY`.

use std::{fmt, path::PathBuf, str::FromStr};

/// Where a key-encryption key (palisade-crypt's `KeyEncryptionKey`, what seals a keyring file)
/// lives. Parsed strictly and printed back the same way; it names a key, never holds one.
///
/// | form | key |
/// |---|---|
/// | `file:/absolute/path` | a local master key in a file (base64 of 32 bytes, or the 32 raw bytes) |
/// | `vault-transit:MOUNT/KEY` | the Vault Transit key `KEY` of the engine mounted at `MOUNT` (which may have several segments: `vault-transit:team/transit/orders`); see `VaultTransitKek` (feature `vault`) |
/// | `aws-kms:KEY` | the AWS KMS key `KEY`: a key id, an alias (`alias/NAME`) or an ARN of either; see `AwsKmsKek` (feature `aws`) |
///
/// ```
/// use palisade_secrets::KekAddress;
///
/// let kek: KekAddress = "vault-transit:transit/palisade".parse()?;
/// assert_eq!(kek.to_string(), "vault-transit:transit/palisade");
/// assert!("vault-transit:palisade".parse::<KekAddress>().is_err()); // no mount
/// assert!("env:MASTER_KEY".parse::<KekAddress>().is_err());
/// let kms: KekAddress = "aws-kms:alias/palisade-keyrings".parse()?;
/// assert_eq!(kms.to_string(), "aws-kms:alias/palisade-keyrings");
/// # Ok::<(), palisade_secrets::KekAddressError>(())
/// ```
///
/// A new form is a new variant here and a new arm in `from_str` and `Display`; the enum is
/// `#[non_exhaustive]`, so adding one breaks no caller.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KekAddress {
    /// A local master key file.
    File(PathBuf),
    /// A Vault Transit key.
    VaultTransit {
        /// The Transit engine's mount path.
        mount: String,
        /// The key's name.
        key: String,
    },
    /// An AWS KMS key.
    AwsKms {
        /// The key id, alias (`alias/NAME`) or ARN, as KMS's `KeyId` parameter takes it.
        key: String,
    },
}

/// Why a text is not a key-encryption key address. Never repeats the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekAddressError {
    /// A scheme other than `file:`, `vault-transit:` or `aws-kms:`.
    #[error("unknown key-encryption key scheme (expected file:, vault-transit: or aws-kms:)")]
    UnknownScheme,
    /// A `file:` path that is not absolute or holds a NUL or `..` component.
    #[error("a file: key needs an absolute path without NUL or `..` components")]
    BadPath,
    /// A `vault-transit:` address without `MOUNT/KEY`, or with a segment outside
    /// `[A-Za-z0-9_.-]`, empty, `.` or `..`.
    #[error("a vault-transit: key needs MOUNT/KEY segments of [A-Za-z0-9_.-]")]
    BadVaultKey,
    /// An `aws-kms:` address without a key, or with characters a KMS key id, alias or ARN
    /// does not have (`[A-Za-z0-9/_:.-]`), or longer than 2048 bytes.
    #[error("an aws-kms: key needs a key id, alias or ARN of [A-Za-z0-9/_:.-]")]
    BadAwsKmsKey,
    /// Longer than 4096 bytes.
    #[error("the key-encryption key address is longer than 4096 bytes")]
    TooLong,
}

impl FromStr for KekAddress {
    type Err = KekAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 4096 {
            return Err(KekAddressError::TooLong);
        }
        let (scheme, rest) = s.split_once(':').ok_or(KekAddressError::UnknownScheme)?;
        match scheme {
            "file" => {
                let path = PathBuf::from(rest);
                let bad = !path.is_absolute()
                    || rest.contains('\0')
                    || path
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if bad {
                    return Err(KekAddressError::BadPath);
                }
                Ok(Self::File(path))
            }
            "vault-transit" => {
                let segment_ok = |s: &str| {
                    !s.is_empty()
                        && s != "."
                        && s != ".."
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                };
                let (mount, key) = rest.rsplit_once('/').ok_or(KekAddressError::BadVaultKey)?;
                if !segment_ok(key) || !mount.split('/').all(segment_ok) {
                    return Err(KekAddressError::BadVaultKey);
                }
                Ok(Self::VaultTransit {
                    mount: mount.to_owned(),
                    key: key.to_owned(),
                })
            }
            "aws-kms" => {
                let ok = !rest.is_empty()
                    && rest.len() <= 2048
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_:.-".contains(c));
                if !ok {
                    return Err(KekAddressError::BadAwsKmsKey);
                }
                Ok(Self::AwsKms {
                    key: rest.to_owned(),
                })
            }
            _ => Err(KekAddressError::UnknownScheme),
        }
    }
}

impl fmt::Display for KekAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::VaultTransit { mount, key } => write!(f, "vault-transit:{mount}/{key}"),
            Self::AwsKms { key } => write!(f, "aws-kms:{key}"),
        }
    }
}

impl fmt::Debug for KekAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekAddress({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kek_addresses_round_trip_and_malformed_ones_are_refused() {
        for text in [
            "file:/etc/palisade/master.key",
            "vault-transit:transit/palisade",
            "vault-transit:team-a/transit/orders.v2",
            "aws-kms:alias/palisade-keyrings",
            "aws-kms:1234abcd-12ab-34cd-56ef-1234567890ab",
            "aws-kms:arn:aws:kms:eu-west-1:111122223333:alias/palisade",
        ] {
            assert_eq!(text.parse::<KekAddress>().unwrap().to_string(), text);
        }
        let cases = [
            ("master.key", KekAddressError::UnknownScheme),
            ("aws-kms:alias/pali sade", KekAddressError::BadAwsKmsKey),
            ("aws-kms:alias/palisade\n", KekAddressError::BadAwsKmsKey),
            ("vault:transit/palisade", KekAddressError::UnknownScheme),
            ("file:master.key", KekAddressError::BadPath),
            ("file:/etc/../master.key", KekAddressError::BadPath),
            ("vault-transit:palisade", KekAddressError::BadVaultKey),
            ("vault-transit:/palisade", KekAddressError::BadVaultKey),
            ("vault-transit:transit/", KekAddressError::BadVaultKey),
            (
                "vault-transit:transit//palisade",
                KekAddressError::BadVaultKey,
            ),
            (
                "vault-transit:../sys/palisade",
                KekAddressError::BadVaultKey,
            ),
            (
                "vault-transit:transit/pali sade",
                KekAddressError::BadVaultKey,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<KekAddress>().unwrap_err(), expected, "{text}");
            assert!(!expected.to_string().contains(text));
        }
        // An empty key (the message names the scheme, so the no-echo check above cannot).
        assert_eq!(
            "aws-kms:".parse::<KekAddress>().unwrap_err(),
            KekAddressError::BadAwsKmsKey
        );
        let Ok(KekAddress::VaultTransit { mount, key }) =
            "vault-transit:team/transit/orders".parse::<KekAddress>()
        else {
            panic!("not a vault-transit address")
        };
        assert_eq!((mount.as_str(), key.as_str()), ("team/transit", "orders"));
    }
}
