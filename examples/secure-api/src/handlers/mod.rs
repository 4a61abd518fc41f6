//! The route handlers, one module per concern. The route table in [`crate::app`] names them.

pub(crate) mod account;
pub(crate) mod admin;
pub(crate) mod health;
pub(crate) mod password;
pub(crate) mod profile;
pub(crate) mod reset;
pub(crate) mod session;
