//! Contextual escaping for text placed into HTML and URLs by hand.
//!
//! Each function is for exactly one context. Escaping for the wrong context is a bug these
//! functions cannot catch: an attribute value escaped with [`html_attribute`] is safe only inside
//! a *quoted* attribute, and a value escaped with [`url_component`] is safe only as one path
//! segment, query key or query value of a URL whose scheme and host you wrote yourself.

use std::borrow::Cow;

/// Escapes text for an HTML text node: `&`, `<`, `>`, `"` and `'` become character references,
/// and NUL becomes U+FFFD.
///
/// The quotes are escaped too, so the result is also safe in a quoted attribute value; the
/// input is returned unchanged (borrowed) when nothing needs escaping.
///
/// ```
/// use palisade_sanitize::escape::html_text;
/// assert_eq!(html_text("<b>Tom & \"Jerry\"</b>"), "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;");
/// ```
pub fn html_text(input: &str) -> Cow<'_, str> {
    escape_with(input, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '\0' => Some("\u{FFFD}"),
        _ => None,
    })
}

/// Escapes text for a **quoted** HTML attribute value (`title="…"` or `title='…'`).
///
/// Besides everything [`html_text`] escapes, the backtick is escaped (old Internet Explorer
/// treated it as a quote). Never use the result in an unquoted attribute, in an event handler
/// attribute, in `style`, or as a URL: those contexts need their own validation (see
/// [`crate::url`]).
///
/// ```
/// use palisade_sanitize::escape::html_attribute;
/// let title = html_attribute("\" onmouseover=\"alert(1)");
/// assert_eq!(format!("<span title=\"{title}\">"), "<span title=\"&quot; onmouseover=&quot;alert(1)\">");
/// ```
pub fn html_attribute(input: &str) -> Cow<'_, str> {
    escape_with(input, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '`' => Some("&#96;"),
        '\0' => Some("\u{FFFD}"),
        _ => None,
    })
}

/// Percent-encodes everything except RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`),
/// for one URL path segment, query key or query value.
///
/// Stricter than JavaScript's `encodeURIComponent` (which leaves `!'()*` alone), so the result
/// is also safe inside a quoted HTML attribute. `/`, `?`, `#`, `&`, `=` and `%` are encoded, so a
/// value can never add a path segment, a parameter or a fragment.
///
/// ```
/// use palisade_sanitize::escape::url_component;
/// assert_eq!(url_component("../a b&c=d"), "..%2Fa%20b%26c%3Dd");
/// ```
pub fn url_component(input: &str) -> Cow<'_, str> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if input.bytes().all(unreserved) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len() * 3);
    for b in input.bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    Cow::Owned(out)
}

fn escape_with(input: &str, replace: impl Fn(char) -> Option<&'static str>) -> Cow<'_, str> {
    let Some(first) = input.char_indices().find(|&(_, c)| replace(c).is_some()) else {
        return Cow::Borrowed(input);
    };
    let mut out = String::with_capacity(input.len() + 16);
    out.push_str(&input[..first.0]);
    for c in input[first.0..].chars() {
        match replace(c) {
            Some(r) => out.push_str(r),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_when_clean() {
        assert!(matches!(html_text("plain"), Cow::Borrowed(_)));
        assert!(matches!(html_attribute("plain"), Cow::Borrowed(_)));
        assert!(matches!(url_component("plain-1.2_3~"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes() {
        assert_eq!(html_text("a\0b"), "a\u{FFFD}b");
        assert_eq!(html_attribute("`x`"), "&#96;x&#96;");
        assert_eq!(url_component("é/?#%"), "%C3%A9%2F%3F%23%25");
    }
}
