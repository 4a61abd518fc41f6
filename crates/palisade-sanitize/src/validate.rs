//! Integration with the `validator` crate: ready custom validators, [`Sensitive`] fields whose
//! values never reach an error, and error paths in serde's field names.
//!
//! `validator`'s derive adds the field's value to every error it reports, as the `value`
//! parameter, custom validators included. A password that fails `length` ends up in the
//! error, and from there in logs and API responses. Two defences here:
//!
//! - declare secret fields as [`Sensitive<String>`]: the derive still adds `value`, but it is
//!   serialized as `"[REDACTED]"`;
//! - turn errors into [`FieldError`]s with [`field_errors`], which drops every `value`
//!   parameter and names fields the way the client sent them.
//!
//! ```
//! use palisade_sanitize::validate::{self, FieldNames, RenameRule, Sensitive};
//! use serde::Deserialize;
//! use validator::Validate;
//!
//! #[derive(Deserialize, Validate)]
//! #[serde(rename_all = "camelCase")]
//! struct SignUp {
//!     #[validate(custom(function = "validate::single_line_text"))]
//!     display_name: String,
//!     #[validate(custom(function = "validate::url"))]
//!     home_page: Option<String>,
//!     #[validate(length(min = 15))]
//!     password: Sensitive<String>,
//! }
//!
//! let form: SignUp = serde_json::from_str(
//!     r#"{"displayName":"eve\u202e","homePage":"javascript:alert(1)","password":"hunter2"}"#,
//! ).unwrap();
//! let errors = form.validate().unwrap_err();
//! assert!(!format!("{errors:?}").contains("hunter2")); // "[REDACTED]" instead
//!
//! let fields = validate::field_errors(&errors, &FieldNames::new(RenameRule::CamelCase));
//! let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
//! assert_eq!(paths, ["displayName", "homePage", "password"]);
//! assert_eq!(fields[1].code, "unsafe_url");
//! assert_eq!(fields[1].params["reason"], "\"scheme_not_allowed\"");
//! ```

use core::fmt;
use std::{
    borrow::Cow,
    collections::{BTreeMap, HashMap},
    path::Path,
};

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};
use zeroize::Zeroize;

use crate::{
    filename::{safe_join, sanitize_file_name},
    text::TextPolicy,
    upload::{FileKind, UploadPolicy},
    url::UrlPolicy,
};

fn error(code: &'static str, message: &'static str, reason: &'static str) -> ValidationError {
    let mut e = ValidationError::new(code).with_message(Cow::Borrowed(message));
    e.add_param(Cow::Borrowed("reason"), &reason);
    e
}

/// A URL allowed by the default [`UrlPolicy`]: `http`, `https` or `mailto`, no credentials.
/// Error code `unsafe_url`, with a `reason` parameter.
///
/// # Errors
/// When the URL is refused.
pub fn url<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    url_with(&UrlPolicy::new(), value.as_ref())
}

/// An `http` or `https` URL whose host is a public IP literal or a name that is not local by
/// definition, for URLs the server will fetch later. Names are not resolved here, because a
/// validator should not block on DNS: check again with [`UrlPolicy::check`] and a resolver
/// right before fetching.
///
/// # Errors
/// When the URL is refused.
pub fn public_url<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    let policy = UrlPolicy::new()
        .schemes(["http", "https"])
        .map_err(|_| error("unsafe_url", "URL is not allowed", "internal"))?
        .deny_private_addresses(true)
        .resolve_names(false);
    url_with(&policy, value.as_ref())
}

/// A URL allowed by `policy`. Wrap it in your own function to use it with the derive.
///
/// # Errors
/// When the URL is refused.
pub fn url_with(policy: &UrlPolicy, value: &str) -> Result<(), ValidationError> {
    policy
        .check(value)
        .map(drop)
        .map_err(|e| error("unsafe_url", "URL is not allowed", e.as_str()))
}

/// A file name that [`sanitize_file_name`] leaves unchanged. Code `unsafe_file_name`.
///
/// # Errors
/// When the name would change.
pub fn file_name<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    match sanitize_file_name(value.as_ref()) {
        Ok(clean) if clean == value.as_ref() => Ok(()),
        Ok(_) => Err(error(
            "unsafe_file_name",
            "file name contains characters that are not allowed",
            "not_portable",
        )),
        Err(_) => Err(error("unsafe_file_name", "file name is empty", "empty")),
    }
}

/// A relative path that [`safe_join`] accepts. Code `unsafe_path`.
///
/// # Errors
/// When the path could leave its base directory or is not portable.
pub fn relative_path<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    safe_join(Path::new("base"), value.as_ref())
        .map(drop)
        .map_err(|e| error("unsafe_path", "path is not allowed", e.as_str()))
}

/// Text that the default [`TextPolicy`] leaves unchanged: normalized, no control, invisible or
/// bidi characters, at most 10,000 graphemes. Code `unsafe_text`.
///
/// # Errors
/// When the text is not clean or too long.
pub fn text<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    text_with(&TextPolicy::new(), value.as_ref())
}

/// One line of clean text, at most 200 graphemes ([`TextPolicy::single_line`]).
///
/// # Errors
/// When the text is not clean, has line breaks or is too long.
pub fn single_line_text<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    text_with(&TextPolicy::single_line(), value.as_ref())
}

/// Text that `policy` leaves unchanged.
///
/// # Errors
/// When the text is refused or would change.
pub fn text_with(policy: &TextPolicy, value: &str) -> Result<(), ValidationError> {
    policy
        .check(value)
        .map_err(|e| error("unsafe_text", "text is not allowed", e.as_str()))
}

/// Bytes of a JPEG, PNG, GIF, WebP or AVIF image of at most 10 MiB, by signature. Code
/// `unsafe_upload`.
///
/// # Errors
/// When the bytes are not such an image.
pub fn image_upload<T: AsRef<[u8]> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    UploadPolicy::new(FileKind::IMAGES)
        .check(value.as_ref(), None)
        .map(drop)
        .map_err(|_| {
            error(
                "unsafe_upload",
                "file is not an accepted image",
                "type_or_size",
            )
        })
}

#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
/// HTML that `policy` keeps entirely: sanitizing it would remove nothing. Code `unsafe_html`,
/// with the number of removals as `removed`.
///
/// # Errors
/// When sanitizing would remove something, or the HTML is refused.
pub fn html_with(policy: &crate::html::Policy, value: &str) -> Result<(), ValidationError> {
    match policy.clean_with_report(value) {
        Ok((_, report)) if report.is_empty() => Ok(()),
        Ok((_, report)) => {
            let mut e = error(
                "unsafe_html",
                "HTML contains markup that is not allowed",
                "removed",
            );
            e.add_param(Cow::Borrowed("removed"), &report.total());
            Err(e)
        }
        Err(_) => Err(error("unsafe_html", "HTML is refused", "refused")),
    }
}

#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
/// HTML within the [`Preset::Basic`](crate::html::Preset::Basic) policy.
///
/// # Errors
/// See [`html_with`].
pub fn html_basic<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    static POLICY: std::sync::OnceLock<crate::html::Policy> = std::sync::OnceLock::new();
    html_with(
        POLICY.get_or_init(crate::html::Policy::basic),
        value.as_ref(),
    )
}

#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
/// HTML within the [`Preset::Rich`](crate::html::Preset::Rich) policy.
///
/// # Errors
/// See [`html_with`].
pub fn html_rich<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    static POLICY: std::sync::OnceLock<crate::html::Policy> = std::sync::OnceLock::new();
    html_with(
        POLICY.get_or_init(crate::html::Policy::rich),
        value.as_ref(),
    )
}

#[cfg(feature = "html")]
#[cfg_attr(docsrs, doc(cfg(feature = "html")))]
/// Plain text only: no markup at all ([`Preset::Strict`](crate::html::Preset::Strict)).
///
/// # Errors
/// See [`html_with`].
pub fn html_strict<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
    static POLICY: std::sync::OnceLock<crate::html::Policy> = std::sync::OnceLock::new();
    html_with(
        POLICY.get_or_init(crate::html::Policy::strict),
        value.as_ref(),
    )
}

/// A field whose value must never appear in validation errors, logs or responses.
///
/// It serializes as `"[REDACTED]"`, prints `Sensitive([REDACTED])` in `Debug`, has no
/// `Display`, deserializes from the plain value, and is zeroized on drop. Read it with
/// [`Sensitive::expose`]. `validator`'s `length` and `email` rules and this module's
/// validators work on it directly.
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value. Each call site is a place where it can leak; keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive([REDACTED])")
    }
}

impl<T: Zeroize> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[REDACTED]")
    }
}

impl<'de, T: Zeroize + serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

impl<T: Zeroize + AsRef<str>> AsRef<str> for Sensitive<T> {
    fn as_ref(&self) -> &str {
        self.0.as_ref()
    }
}

impl<T: Zeroize + validator::ValidateLength<u64>> validator::ValidateLength<u64> for Sensitive<T> {
    fn length(&self) -> Option<u64> {
        self.0.length()
    }
}

impl<T: Zeroize + validator::ValidateEmail> validator::ValidateEmail for Sensitive<T> {
    fn as_email_string(&self) -> Option<Cow<'_, str>> {
        self.0.as_email_string()
    }
}

/// serde's `rename_all` rules, applied to Rust field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RenameRule {
    /// Field names as written in Rust.
    #[default]
    None,
    /// `lowercase`.
    LowerCase,
    /// `UPPERCASE`.
    UpperCase,
    /// `PascalCase`.
    PascalCase,
    /// `camelCase`.
    CamelCase,
    /// `snake_case`.
    SnakeCase,
    /// `SCREAMING_SNAKE_CASE`.
    ScreamingSnakeCase,
    /// `kebab-case`.
    KebabCase,
    /// `SCREAMING-KEBAB-CASE`.
    ScreamingKebabCase,
}

impl RenameRule {
    /// Applies the rule to a snake-case Rust field name, as serde does.
    pub fn apply(self, field: &str) -> String {
        match self {
            Self::None | Self::SnakeCase => field.to_owned(),
            Self::LowerCase => field.to_ascii_lowercase(),
            Self::UpperCase | Self::ScreamingSnakeCase => field.to_ascii_uppercase(),
            Self::KebabCase => field.replace('_', "-"),
            Self::ScreamingKebabCase => field.replace('_', "-").to_ascii_uppercase(),
            Self::PascalCase | Self::CamelCase => {
                let mut out = String::with_capacity(field.len());
                let mut upper = self == Self::PascalCase;
                for c in field.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// How Rust field names map to the names the client sent: the container's `rename_all` rule
/// and each field's own `rename`. `validator` reports Rust names; serde's attributes are not
/// visible at run time, so state them here once per type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldNames {
    rule: RenameRule,
    renames: HashMap<String, String>,
}

impl FieldNames {
    /// Names built with `rule` (`#[serde(rename_all = "...")]`).
    pub fn new(rule: RenameRule) -> Self {
        Self {
            rule,
            renames: HashMap::new(),
        }
    }

    /// A field with its own `#[serde(rename = "...")]`.
    #[must_use]
    pub fn rename(mut self, rust: &str, serde: &str) -> Self {
        self.renames.insert(rust.to_owned(), serde.to_owned());
        self
    }

    fn name(&self, rust: &str) -> String {
        self.renames
            .get(rust)
            .cloned()
            .unwrap_or_else(|| self.rule.apply(rust))
    }
}

/// One validation failure, safe to log and to return to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the client's names: `address.postCode`, `items[2].name`.
    pub path: String,
    /// The validator's code (`length`, `unsafe_url`, ...).
    pub code: String,
    /// The message, when the validator set one.
    pub message: Option<String>,
    /// The parameters as JSON text (`min` → `15`), never the field's `value`.
    pub params: BTreeMap<String, String>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {m}", self.path),
            None => write!(f, "{}: {}", self.path, self.code),
        }
    }
}

impl serde::Serialize for FieldError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("FieldError", 4)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("code", &self.code)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("params", &self.params)?;
        s.end()
    }
}

/// Flattens `errors` into [`FieldError`]s sorted by path, with `names` applied at every level
/// and every `value` parameter removed.
pub fn field_errors(errors: &ValidationErrors, names: &FieldNames) -> Vec<FieldError> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &ValidationErrors)> = vec![(String::new(), errors)];
    while let Some((prefix, errs)) = stack.pop() {
        for (field, kind) in errs.errors() {
            let name = if field == "__all__" {
                field.to_string()
            } else {
                names.name(field)
            };
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        out.push(FieldError {
                            path: path.clone(),
                            code: e.code.to_string(),
                            message: e.message.as_ref().map(ToString::to_string),
                            params: e
                                .params
                                .iter()
                                .filter(|(k, _)| *k != "value")
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .collect(),
                        });
                    }
                }
                ValidationErrorsKind::Struct(inner) => stack.push((path, inner)),
                ValidationErrorsKind::List(items) => {
                    for (index, inner) in items {
                        stack.push((format!("{path}[{index}]"), inner));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.code.cmp(&b.code)));
    out
}
