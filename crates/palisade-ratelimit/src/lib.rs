#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod clock;
mod decision;
#[cfg(feature = "redis")]
mod denied_cache;
mod error;
#[cfg(feature = "redis")]
mod failure;
mod limiter;
mod memory;
mod policy;
mod telemetry;

pub mod client_ip;
pub mod headers;
pub mod login;
pub mod multi;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;

pub use clock::{Clock, ManualClock, MonotonicClock};
pub use decision::Decision;
pub use error::{BackendError, BackendErrorKind};
pub use limiter::Limiter;
pub use memory::{MemoryBackend, MemoryConfig, WhenFull};
pub use policy::{FailurePolicy, Mode, Policy, PolicyError};
