//! [`SafeHtml`]: markup that is safe to embed as it is.

use core::fmt;

/// HTML that is safe to place in a page's body without escaping it again.
///
/// A `SafeHtml` is made only by sanitizing markup with a [`Policy`](crate::html::Policy), by
/// escaping plain text ([`SafeHtml::from_text`]), or by the visibly named
/// [`SafeHtml::from_trusted_static`] for markup written in the source code. There is
/// deliberately no `From<String>` and no `Deserialize`: either would let unsanitized markup in.
///
/// `Display` writes the markup as it is, so a template engine that escapes `Display` output
/// must be told that this value is already safe (askama's `|safe`, minijinja's
/// `Value::from_safe_string`, maud's `PreEscaped`, Tera's `| safe`).
///
/// Safe means: no element, attribute or URL that can run script, for the body (flow content)
/// context. It does not make markup safe inside `<script>`, `<style>`, an attribute value or a
/// URL.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// Escapes plain text (see [`escape::html_text`](crate::escape::html_text)).
    ///
    /// ```
    /// use palisade_sanitize::SafeHtml;
    /// assert_eq!(SafeHtml::from_text("1 < 2").as_str(), "1 &lt; 2");
    /// ```
    pub fn from_text(text: &str) -> Self {
        Self(crate::escape::html_text(text).into_owned())
    }

    /// Markup written by the programmer, trusted as it is. Only `'static` strings are accepted,
    /// so user input cannot reach this constructor by accident.
    pub fn from_trusted_static(markup: &'static str) -> Self {
        Self(markup.to_owned())
    }

    /// Made by the sanitizer only.
    #[cfg(feature = "html")]
    pub(crate) fn from_sanitized(markup: String) -> Self {
        Self(markup)
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Length of the markup in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the markup is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends other safe markup. Concatenating two safe fragments in flow content is safe.
    pub fn push(&mut self, other: &SafeHtml) {
        self.0.push_str(&other.0);
    }

    /// Appends plain text, escaped.
    pub fn push_text(&mut self, text: &str) {
        self.0.push_str(&crate::escape::html_text(text));
    }
}

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SafeHtml").field(&self.0).finish()
    }
}

impl AsRef<str> for SafeHtml {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<SafeHtml> for String {
    fn from(value: SafeHtml) -> Self {
        value.0
    }
}
