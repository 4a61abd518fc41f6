#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

mod error;
pub mod escape;
pub mod filename;
mod host;
#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
pub mod html;
mod ip;
mod safe_html;
pub mod text;
pub mod upload;
pub mod url;
#[cfg(feature = "validator")]
#[cfg_attr(docsrs, doc(cfg(feature = "validator")))]
pub mod validate;

pub use crate::{
    error::ConfigError,
    filename::{safe_join, sanitize_file_name},
    safe_html::SafeHtml,
};

/// URL schemes that run script when followed; no policy can allow them.
pub(crate) const SCRIPT_SCHEMES: &[&str] = &["javascript", "vbscript", "livescript", "mocha"];
