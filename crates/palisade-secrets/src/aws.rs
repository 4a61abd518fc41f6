//! AWS Secrets Manager (feature `aws`), on the official AWS SDK for Rust.

use std::{collections::BTreeMap, fmt, time::Duration};

use aws_sdk_secretsmanager::{
    Client,
    config::{http::HttpResponse, timeout::TimeoutConfig},
    error::{ProvideErrorMetadata, SdkError},
};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::{
    address::Address,
    error::{SecretError, SecretErrorKind},
    secret::{MAX_SECRET_BYTES, Secret, Source},
};

/// What an `aws-sm:SECRET_ID[#json_field]` address names: a secret, optionally one of its
/// version stages, optionally one field of its JSON value. Holds no value, so it may be logged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AwsSecretRef {
    /// The secret's name or ARN (`SecretId` in the API).
    pub secret_id: String,
    /// The version stage to read (`VersionStage`: `AWSCURRENT`, `AWSPREVIOUS`, `AWSPENDING`
    /// or a custom label); `None` reads `AWSCURRENT`.
    pub version_stage: Option<String>,
    /// The field of the secret's JSON object to return (the `#field` of the address); `None`
    /// returns the whole value.
    pub json_field: Option<String>,
}

impl AwsSecretRef {
    /// The current version of `secret_id`, whole.
    pub fn new(secret_id: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            version_stage: None,
            json_field: None,
        }
    }

    /// The same secret at `stage`.
    #[must_use]
    pub fn with_version_stage(mut self, stage: impl Into<String>) -> Self {
        self.version_stage = Some(stage.into());
        self
    }

    /// One field of the secret's JSON object.
    #[must_use]
    pub fn with_json_field(mut self, field: impl Into<String>) -> Self {
        self.json_field = Some(field.into());
        self
    }
}

/// How [`AwsSecretsManager`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsSecretsManagerOptions {
    /// The largest value accepted, in bytes (at most [`MAX_SECRET_BYTES`], the default). The
    /// whole secret is checked before a JSON field is selected, and the field after.
    pub max_bytes: usize,
    /// How long one read may take, retries included (default 10 s). Applied as the SDK's
    /// operation timeout unless the SDK configuration already sets one.
    pub timeout: Duration,
}

impl Default for AwsSecretsManagerOptions {
    fn default() -> Self {
        Self {
            max_bytes: MAX_SECRET_BYTES,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A value read from Secrets Manager, with the version it came from.
#[derive(Debug)]
#[non_exhaustive]
pub struct AwsSecretValue {
    /// The value (the whole secret, or the selected JSON field). Its
    /// [`version`](Secret::version) is the version id.
    pub secret: Secret,
    /// The version id (`VersionId`), a UUID that changes with every new version.
    pub version_id: Option<String>,
    /// The stages attached to that version (`AWSCURRENT`, `AWSPREVIOUS`, ...).
    pub version_stages: Vec<String>,
}

/// Reads secrets from AWS Secrets Manager (`GetSecretValue`), with the official AWS SDK for
/// Rust: credentials, region, endpoint, retries and request signing all come from the SDK
/// configuration.
///
/// - A string secret is returned as its UTF-8 bytes, a binary secret as its bytes.
/// - With a JSON field ([`AwsSecretRef::json_field`]), the secret must be a JSON object; a
///   string field is returned unescaped, a number as its JSON text; anything else is
///   [`SecretErrorKind::Malformed`], a missing field [`SecretErrorKind::NotFound`].
/// - The value is capped ([`AwsSecretsManagerOptions::max_bytes`]) and may not be empty.
/// - Errors name the address and a kind: a missing or deleted secret (also one scheduled for
///   deletion) is `NotFound`; a refused one `Denied`; an answer that is not the documented
///   response `Malformed`; a timeout `Timeout`; anything else `Unavailable`. The service's
///   error code (never a value) is logged at debug level.
///
/// Put it behind a [`SecretCache`](crate::SecretCache) for TTL, single flight and
/// stale-if-error.
///
/// ```no_run
/// use palisade_secrets::{AwsSecretRef, AwsSecretsManager, CachePolicy, SecretCache};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Credentials and region from the environment, the profile or the instance role.
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let aws = AwsSecretsManager::new(&config);
/// let target = AwsSecretRef::new("prod/db").with_json_field("password");
/// let address = "env:DB_PASSWORD".parse()?; // how errors and logs name it
/// let password = aws.fetch_ref(&address, &target).await?;
/// println!("version {:?}, {} bytes", password.version_id, password.secret.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AwsSecretsManager {
    client: Client,
    options: AwsSecretsManagerOptions,
}

impl fmt::Debug for AwsSecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSecretsManager")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl AwsSecretsManager {
    /// A provider using `config` (from `aws_config::load_defaults`, say) and default options.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::with_options(config, AwsSecretsManagerOptions::default())
    }

    /// A provider using `config` and `options`.
    pub fn with_options(config: &aws_config::SdkConfig, options: AwsSecretsManagerOptions) -> Self {
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(config);
        let has_timeout = config
            .timeout_config()
            .is_some_and(|t| t.operation_timeout().is_some());
        if !has_timeout {
            let mut timeouts = config
                .timeout_config()
                .map_or_else(TimeoutConfig::builder, TimeoutConfig::to_builder);
            timeouts.set_operation_timeout(Some(options.timeout));
            builder.set_timeout_config(Some(timeouts.build()));
        }
        Self {
            client: Client::from_conf(builder.build()),
            options: AwsSecretsManagerOptions {
                max_bytes: options.max_bytes.min(MAX_SECRET_BYTES),
                ..options
            },
        }
    }

    /// Reads `target`; `address` names it in errors and logs.
    ///
    /// # Errors
    ///
    /// [`SecretError`] naming `address` and the kind of failure, never the value.
    pub async fn fetch_ref(
        &self,
        address: &Address,
        target: &AwsSecretRef,
    ) -> Result<AwsSecretValue, SecretError> {
        let fail = |kind| SecretError::new(address, kind);
        let mut request = self.client.get_secret_value().secret_id(&target.secret_id);
        if let Some(stage) = &target.version_stage {
            request = request.version_stage(stage);
        }
        let mut output = request.send().await.map_err(|e| {
            let kind = sdk_error_kind(&e);
            tracing::debug!(
                target: "palisade_secrets",
                address = %address,
                code = e.code().unwrap_or("none"),
                kind = ?kind,
                "GetSecretValue failed"
            );
            fail(kind)
        })?;
        // Taken out of the response so no copy is left in it; wiped on every path below.
        let whole: Zeroizing<Vec<u8>> =
            match (output.secret_string.take(), output.secret_binary.take()) {
                (Some(text), _) => Zeroizing::new(text.into_bytes()),
                (None, Some(blob)) => Zeroizing::new(blob.into_inner()),
                (None, None) => return Err(fail(SecretErrorKind::Malformed)),
            };
        if whole.len() > self.options.max_bytes {
            return Err(fail(SecretErrorKind::TooLarge));
        }
        let bytes = match &target.json_field {
            None => {
                let mut whole = whole;
                std::mem::take(&mut *whole)
            }
            Some(field) => select_field(&whole, field).map_err(fail)?,
        };
        if bytes.len() > self.options.max_bytes {
            drop(Zeroizing::new(bytes));
            return Err(fail(SecretErrorKind::TooLarge));
        }
        if bytes.is_empty() {
            return Err(fail(SecretErrorKind::Empty));
        }
        let version_id = output.version_id.take();
        Ok(AwsSecretValue {
            secret: Secret::new(exact_capacity(bytes), version_id.clone()),
            version_id,
            version_stages: output.version_stages.take().unwrap_or_default(),
        })
    }
}

/// The AWS part of an `aws-sm:` address, for [`Source::fetch`]; every other form is refused
/// as [`SecretErrorKind::Unsupported`].
fn aws_ref(address: &Address) -> Option<AwsSecretRef> {
    match address {
        Address::AwsSecretsManager(aws) => Some(AwsSecretRef {
            secret_id: aws.secret_id().to_owned(),
            version_stage: aws.stage().map(str::to_owned),
            json_field: aws.field().map(str::to_owned),
        }),
        Address::Env(_) | Address::File(_) | Address::Systemd(_) | Address::Vault(_) => None,
    }
}

impl Source for AwsSecretsManager {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        let target = aws_ref(address)
            .ok_or_else(|| SecretError::new(address, SecretErrorKind::Unsupported))?;
        Ok(self.fetch_ref(address, &target).await?.secret)
    }
}

/// `bytes` in a buffer exactly its length, so that `Secret::new` (a boxed slice) does not
/// reallocate and leave an unwiped copy behind; a larger buffer is copied once and wiped.
fn exact_capacity(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.capacity() == bytes.len() {
        return bytes;
    }
    let exact = bytes.as_slice().to_vec();
    drop(Zeroizing::new(bytes));
    exact
}

/// One field of the JSON object `whole`: a string unescaped, a number as written. The other
/// fields are only borrowed (never copied out of `whole`, which the caller wipes).
fn select_field(whole: &[u8], field: &str) -> Result<Vec<u8>, SecretErrorKind> {
    let object: BTreeMap<String, &RawValue> =
        serde_json::from_slice(whole).map_err(|_| SecretErrorKind::Malformed)?;
    let raw = object.get(field).ok_or(SecretErrorKind::NotFound)?.get();
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw)
            .map(String::into_bytes)
            .map_err(|_| SecretErrorKind::Malformed),
        Some(b'-' | b'0'..=b'9') => Ok(raw.as_bytes().to_vec()),
        _ => Err(SecretErrorKind::Malformed),
    }
}

/// The kind of an SDK failure. A failed answer with a success status is a response the SDK
/// could not parse: malformed.
pub(crate) fn sdk_error_kind<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> SecretErrorKind {
    match error {
        SdkError::TimeoutError(_) => SecretErrorKind::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => SecretErrorKind::Timeout,
        SdkError::ResponseError(_) => SecretErrorKind::Malformed,
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ResourceNotFoundException" | "InvalidRequestException") => {
                SecretErrorKind::NotFound
            }
            Some("AccessDeniedException" | "DecryptionFailure" | "UnrecognizedClientException") => {
                SecretErrorKind::Denied
            }
            _ if service.raw().status().is_success() => SecretErrorKind::Malformed,
            _ => SecretErrorKind::Unavailable,
        },
        _ => SecretErrorKind::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_field_is_unescaped_and_a_number_kept_as_written() {
        let whole = br#"{"user":"app","password":"p\u00e4ss\"word","port":5432}"#;
        assert_eq!(
            select_field(whole, "password").unwrap(),
            "päss\"word".as_bytes()
        );
        assert_eq!(select_field(whole, "port").unwrap(), b"5432");
    }

    #[test]
    fn a_value_is_moved_into_a_buffer_of_its_exact_length() {
        let mut roomy = Vec::with_capacity(64);
        roomy.extend_from_slice(b"value");
        let exact = exact_capacity(roomy);
        assert_eq!((exact.as_slice(), exact.capacity()), (&b"value"[..], 5));
        let already = b"value".to_vec();
        let pointer = already.as_ptr();
        let kept = exact_capacity(already);
        assert_eq!(kept.as_ptr(), pointer);
    }

    #[test]
    fn a_missing_field_is_not_found_and_a_non_object_malformed() {
        let whole = br#"{"user":"app"}"#;
        assert_eq!(
            select_field(whole, "password"),
            Err(SecretErrorKind::NotFound)
        );
        assert_eq!(
            select_field(b"hunter2", "password"),
            Err(SecretErrorKind::Malformed)
        );
        assert_eq!(select_field(b"[1,2]", "0"), Err(SecretErrorKind::Malformed));
        for value in [
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":null}"#,
            r#"{"a":true}"#,
        ] {
            assert_eq!(
                select_field(value.as_bytes(), "a"),
                Err(SecretErrorKind::Malformed),
                "{value}"
            );
        }
    }
}
