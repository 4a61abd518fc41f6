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
mod kek_address;
#[cfg(feature = "redact")]
mod known;
mod local;
mod secret;
mod telemetry;
#[cfg(feature = "vault")]
mod vault;

pub use address::{Address, AddressError, AwsSecretAddress, VaultAddress};
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
pub use kek_address::{KekAddress, KekAddressError};
pub use local::{LocalSource, LocalSourceOptions};
pub use secret::{MAX_SECRET_BYTES, Secret, Source};
#[cfg(feature = "vault")]
#[cfg_attr(docsrs, doc(cfg(feature = "vault")))]
pub use vault::{VaultConfig, VaultConfigError, VaultSource, VaultTransitKek};
