#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod address;
#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
mod aws_kms;
mod cache;
mod error;
#[cfg(feature = "redact")]
mod known;
mod local;
mod secret;
mod telemetry;

pub use address::{Address, AddressError};
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub use aws::{AwsSecretRef, AwsSecretValue, AwsSecretsManager, AwsSecretsManagerOptions};
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub use aws_kms::{AwsKmsKek, KMS_CONTEXT_KEY};
#[cfg(feature = "redact")]
#[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
pub use cache::RETIRED_VALUES_KEPT;
pub use cache::{CachePolicy, SecretCache};
pub use error::{SecretError, SecretErrorKind};
pub use local::{LocalSource, LocalSourceOptions};
pub use secret::{MAX_SECRET_BYTES, Secret, Source};
