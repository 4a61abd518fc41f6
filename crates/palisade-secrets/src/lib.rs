#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod address;
mod cache;
mod error;
mod local;
mod secret;

pub use address::{Address, AddressError};
pub use cache::{CachePolicy, SecretCache};
pub use error::{SecretError, SecretErrorKind};
pub use local::{LocalSource, LocalSourceOptions};
pub use secret::{MAX_SECRET_BYTES, Secret, Source};
