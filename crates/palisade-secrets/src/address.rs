//! Where a secret lives, in one text form: `env:NAME`, `file:/absolute/path`, `systemd:NAME`,
//! `aws-sm:SECRET_ID[?stage=STAGE][#FIELD]` and `vault:MOUNT/PATH[?version=N]#FIELD`.

use std::{fmt, path::PathBuf, str::FromStr};

/// Where a secret lives. Parsed strictly from its text form and printed back the same way;
/// an address names a place, never a value, so it may be logged.
///
/// | form | source |
/// |---|---|
/// | `env:NAME` | the environment variable `NAME` (`[A-Za-z_][A-Za-z0-9_]*`) |
/// | `file:/absolute/path` | a file, which must be private to its owner |
/// | `systemd:NAME` | the systemd credential `NAME` in `$CREDENTIALS_DIRECTORY` |
/// | `aws-sm:SECRET_ID[?stage=STAGE][#FIELD]` | an AWS Secrets Manager secret ([`AwsSecretAddress`]) |
/// | `vault:MOUNT/PATH[?version=N]#FIELD` | a field of a Vault KV version 2 secret ([`VaultAddress`]) |
///
/// The remote forms put the optional query (`?...`) before the field (`#...`), as a URL does.
///
/// ```
/// use palisade_secrets::Address;
///
/// let address: Address = "file:/run/secrets/jwt-key".parse()?;
/// assert_eq!(address.to_string(), "file:/run/secrets/jwt-key");
/// let address: Address = "vault:secret/app/db?version=3#password".parse()?;
/// assert_eq!(address.to_string(), "vault:secret/app/db?version=3#password");
/// let address: Address = "aws-sm:prod/db?stage=AWSPREVIOUS#password".parse()?;
/// assert_eq!(address.to_string(), "aws-sm:prod/db?stage=AWSPREVIOUS#password");
/// assert!("file:relative/path".parse::<Address>().is_err());
/// assert!("ENV:NAME".parse::<Address>().is_err());
/// assert!("vault:secret/app/db".parse::<Address>().is_err()); // no field
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
    /// An AWS Secrets Manager secret, or one field of its JSON value.
    AwsSecretsManager(AwsSecretAddress),
    /// One field of a `HashiCorp` Vault KV version 2 secret.
    Vault(VaultAddress),
}

/// `aws-sm:SECRET_ID[?stage=STAGE][#FIELD]`: an AWS Secrets Manager secret.
///
/// - `SECRET_ID`: the secret's name or full ARN, 1 to 2048 bytes of
///   `[A-Za-z0-9/_+=.@:-]` (the name characters AWS allows, and `:` for an ARN).
/// - `?stage=STAGE`: the version stage to read (`AWSCURRENT` when absent; `AWSPREVIOUS`,
///   `AWSPENDING` or a custom label), 1 to 256 bytes of `[A-Za-z0-9_.-]`. No other query
///   parameter is accepted, and `stage` only once.
/// - `#FIELD`: the secret's string is a JSON object and the value is its member `FIELD` (a
///   string); without it, the whole secret string (or binary) is the value. 1 to 256 bytes, no
///   control characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AwsSecretAddress {
    secret_id: String,
    stage: Option<String>,
    field: Option<String>,
}

impl AwsSecretAddress {
    /// The secret's name or ARN.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The version stage asked for, if any (`AWSCURRENT` is meant when `None`).
    pub fn stage(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// The JSON member to take from the secret string, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

/// `vault:MOUNT/PATH[?version=N]#FIELD`: one field of a Vault KV version 2 secret.
///
/// - `MOUNT`: the KV v2 engine's mount path, the first segment (`secret` in
///   `vault:secret/app/db#password`); nested mounts are not expressible.
/// - `PATH`: the secret's path under the mount, one or more segments of
///   `[A-Za-z0-9_.@+=-]`, none of them `.` or `..`, no empty segment.
/// - `?version=N`: a fixed version (a decimal from 1); the latest when absent. No other query
///   parameter is accepted.
/// - `#FIELD`: the member of the secret's data to read (required: a KV secret is a map of
///   fields and an address names one value). 1 to 256 bytes, no control characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VaultAddress {
    mount: String,
    path: String,
    version: Option<u64>,
    field: String,
}

impl VaultAddress {
    /// The KV v2 engine's mount path.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The secret's path under the mount.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The fixed version asked for; the latest when `None`.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The field of the secret's data.
    pub fn field(&self) -> &str {
        &self.field
    }
}

/// Longest address accepted, in bytes.
const MAX_ADDRESS_LEN: usize = 4096;
/// Longest AWS secret id (an ARN) accepted, in bytes.
const MAX_AWS_ID_LEN: usize = 2048;
/// Longest field name or version stage accepted, in bytes.
const MAX_LABEL_LEN: usize = 256;

/// Why a text is not an address. Names the rule broken; the text itself is not repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No `scheme:` prefix, or a scheme this crate does not know (schemes are lower case).
    #[error("unknown secret address scheme (expected env:, file:, systemd:, aws-sm: or vault:)")]
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
    /// An `aws-sm:` secret id outside `[A-Za-z0-9/_+=.@:-]`, or longer than 2048 bytes.
    #[error("an aws-sm: address needs a secret name or ARN of [A-Za-z0-9/_+=.@:-]")]
    BadSecretId,
    /// A `vault:` address without `MOUNT/PATH`, or with an empty, `.` or `..` segment or a
    /// character outside `[A-Za-z0-9_.@+=-]`.
    #[error("a vault: address needs MOUNT/PATH segments of [A-Za-z0-9_.@+=-]")]
    BadVaultPath,
    /// A query that is not the one parameter the scheme accepts (`stage=` for `aws-sm:`,
    /// `version=` for `vault:`), given twice, empty, or with a malformed value.
    #[error("a malformed query (aws-sm: takes ?stage=LABEL, vault: takes ?version=N)")]
    BadQuery,
    /// A field that is empty, longer than 256 bytes or holds a control character; or a
    /// `vault:` address without `#FIELD`.
    #[error("a malformed #field (vault: addresses need one)")]
    BadField,
}

/// Splits `rest` into the part before `?`/`#`, the query and the field.
fn split_remote(rest: &str) -> Result<(&str, Option<&str>, Option<&str>), AddressError> {
    let (before_field, field) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    let (id, query) = match before_field.split_once('?') {
        Some((i, q)) => (i, Some(q)),
        None => (before_field, None),
    };
    if let Some(field) = field
        && (field.is_empty() || field.len() > MAX_LABEL_LEN || field.chars().any(char::is_control))
    {
        return Err(AddressError::BadField);
    }
    Ok((id, query, field))
}

/// The value of the one parameter `name` in `query` (`name=value`, nothing else).
fn query_param<'a>(query: &'a str, name: &str) -> Result<&'a str, AddressError> {
    match query.split_once('=') {
        Some((key, value)) if key == name && !value.is_empty() && !value.contains(['&', '=']) => {
            Ok(value)
        }
        _ => Err(AddressError::BadQuery),
    }
}

fn parse_aws(rest: &str) -> Result<AwsSecretAddress, AddressError> {
    let (id, query, field) = split_remote(rest)?;
    let id_ok = |c: char| c.is_ascii_alphanumeric() || "/_+=.@:-".contains(c);
    if id.is_empty() || id.len() > MAX_AWS_ID_LEN || !id.chars().all(id_ok) {
        return Err(AddressError::BadSecretId);
    }
    let stage = match query {
        None => None,
        Some(query) => {
            let stage = query_param(query, "stage")?;
            let ok = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
            if stage.len() > MAX_LABEL_LEN || !stage.chars().all(ok) {
                return Err(AddressError::BadQuery);
            }
            Some(stage.to_owned())
        }
    };
    Ok(AwsSecretAddress {
        secret_id: id.to_owned(),
        stage,
        field: field.map(str::to_owned),
    })
}

fn parse_vault(rest: &str) -> Result<VaultAddress, AddressError> {
    let (full_path, query, field) = split_remote(rest)?;
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.@+=-".contains(c))
    };
    let (mount, path) = full_path
        .split_once('/')
        .ok_or(AddressError::BadVaultPath)?;
    if !segment_ok(mount) || !path.split('/').all(segment_ok) {
        return Err(AddressError::BadVaultPath);
    }
    let version = match query {
        None => None,
        Some(query) => {
            let digits = query_param(query, "version")?;
            // Digits only (no sign, no spaces), no leading zero, at least 1.
            if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
                return Err(AddressError::BadQuery);
            }
            Some(digits.parse::<u64>().map_err(|_| AddressError::BadQuery)?)
        }
    };
    let field = field.ok_or(AddressError::BadField)?;
    Ok(VaultAddress {
        mount: mount.to_owned(),
        path: path.to_owned(),
        version,
        field: field.to_owned(),
    })
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::TooLong);
        }
        let (scheme, rest) = s.split_once(':').ok_or(AddressError::UnknownScheme)?;
        if !matches!(scheme, "env" | "file" | "systemd" | "aws-sm" | "vault") {
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
            "aws-sm" => parse_aws(rest).map(Self::AwsSecretsManager),
            "vault" => parse_vault(rest).map(Self::Vault),
            _ => {
                if rest.contains(['/', '\0']) || rest == "." || rest == ".." {
                    return Err(AddressError::BadCredentialName);
                }
                Ok(Self::Systemd(rest.to_owned()))
            }
        }
    }
}

impl fmt::Display for AwsSecretAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "aws-sm:{}", self.secret_id)?;
        if let Some(stage) = &self.stage {
            write!(f, "?stage={stage}")?;
        }
        if let Some(field) = &self.field {
            write!(f, "#{field}")?;
        }
        Ok(())
    }
}

impl fmt::Display for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vault:{}/{}", self.mount, self.path)?;
        if let Some(version) = self.version {
            write!(f, "?version={version}")?;
        }
        write!(f, "#{}", self.field)
    }
}

impl fmt::Debug for AwsSecretAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AwsSecretAddress({self})")
    }
}

impl fmt::Debug for VaultAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultAddress({self})")
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Systemd(name) => write!(f, "systemd:{name}"),
            Self::AwsSecretsManager(address) => address.fmt(f),
            Self::Vault(address) => address.fmt(f),
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
            "aws-sm:prod/db",
            "aws-sm:prod/db#password",
            "aws-sm:prod/db?stage=AWSPREVIOUS",
            "aws-sm:prod/db?stage=AWSPENDING#password",
            "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-a1B2c3#user name",
            "vault:secret/app/db#password",
            "vault:kv/team-a/app.v2/db#password",
            "vault:secret/app?version=12#api key",
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
            ("VAULT:kv/app#key", AddressError::UnknownScheme),
            ("aws:prod/db", AddressError::UnknownScheme),
            ("aws-sm:", AddressError::Empty),
            ("vault:", AddressError::Empty),
            ("aws-sm:prod db", AddressError::BadSecretId),
            ("aws-sm:#password", AddressError::BadSecretId),
            ("aws-sm:?stage=AWSCURRENT", AddressError::BadSecretId),
            ("aws-sm:prod/db?stage=", AddressError::BadQuery),
            ("aws-sm:prod/db?stage", AddressError::BadQuery),
            ("aws-sm:prod/db?version=2", AddressError::BadQuery),
            ("aws-sm:prod/db?stage=A&stage=B", AddressError::BadQuery),
            ("aws-sm:prod/db?stage=A B", AddressError::BadQuery),
            ("aws-sm:prod/db#", AddressError::BadField),
            ("aws-sm:prod/db#a\nb", AddressError::BadField),
            ("vault:secret#password", AddressError::BadVaultPath),
            ("vault:secret/#password", AddressError::BadVaultPath),
            ("vault:/app#password", AddressError::BadVaultPath),
            ("vault:secret//app#password", AddressError::BadVaultPath),
            (
                "vault:secret/../sys/raw#password",
                AddressError::BadVaultPath,
            ),
            ("vault:secret/app/.#password", AddressError::BadVaultPath),
            ("vault:secret/a b#password", AddressError::BadVaultPath),
            ("vault:secret/app", AddressError::BadField),
            ("vault:secret/app#", AddressError::BadField),
            ("vault:secret/app?version=0#k", AddressError::BadQuery),
            ("vault:secret/app?version=01#k", AddressError::BadQuery),
            ("vault:secret/app?version=-1#k", AddressError::BadQuery),
            ("vault:secret/app?version=+1#k", AddressError::BadQuery),
            (
                "vault:secret/app?version=99999999999999999999#k",
                AddressError::BadQuery,
            ),
            (
                "vault:secret/app?stage=AWSCURRENT#k",
                AddressError::BadQuery,
            ),
            (
                "vault:secret/app?version=1&version=2#k",
                AddressError::BadQuery,
            ),
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
        for text in [
            "hunter2-not-an-address",
            "env:hunter2!",
            "file:hunter2",
            "aws-sm:hunter2 x",
            "vault:hunter2",
            "vault:kv/hunter2?version=hunter2#k",
        ] {
            let message = text.parse::<Address>().unwrap_err().to_string();
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}

#[cfg(test)]
mod remote_tests {
    use super::*;

    #[test]
    fn remote_parts_are_parsed_into_their_fields() {
        let Address::Vault(vault) = "vault:kv/team/app?version=7#db password".parse().unwrap()
        else {
            panic!("not a vault address")
        };
        assert_eq!(
            (vault.mount(), vault.path(), vault.version(), vault.field()),
            ("kv", "team/app", Some(7), "db password")
        );
        let Address::AwsSecretsManager(aws) =
            "aws-sm:prod/db?stage=AWSPREVIOUS#password".parse().unwrap()
        else {
            panic!("not an aws-sm address")
        };
        assert_eq!(
            (aws.secret_id(), aws.stage(), aws.field()),
            ("prod/db", Some("AWSPREVIOUS"), Some("password"))
        );
        let Address::AwsSecretsManager(aws) = "aws-sm:prod/db".parse().unwrap() else {
            panic!("not an aws-sm address")
        };
        assert_eq!((aws.stage(), aws.field()), (None, None));
    }
}
