#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

pub mod clock;
pub mod csrf;
mod error;
pub mod jwt;
pub mod onetime;
pub mod opaque;
mod random;
pub mod refresh;
pub mod revocation;
mod server_key;
pub mod store;
mod telemetry;

pub use error::{ConfigError, ErrorKind, InvalidToken, StoreError, TokenError};
pub use secrecy::{ExposeSecret, SecretString};
