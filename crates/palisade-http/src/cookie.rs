//! Reading one cookie from `Cookie` request headers (RFC 6265 section 5.4 form).

use http::{HeaderMap, header};

/// What the request's `Cookie` headers say about the cookie `name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieValue<'a> {
    /// Not sent.
    Absent,
    /// Sent once with this value.
    One(&'a str),
    /// Sent more than once (a sibling domain can add a cookie of the same name: which one is
    /// genuine cannot be told), or a `Cookie` header is not text.
    Ambiguous,
}

/// The cookie `name` in `headers`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> CookieValue<'a> {
    let mut found = CookieValue::Absent;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else {
            return CookieValue::Ambiguous;
        };
        for pair in text.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found = match found {
                CookieValue::Absent => CookieValue::One(value),
                _ => return CookieValue::Ambiguous,
            };
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_one_and_refuses_duplicates() {
        let h = headers(&["a=1; session=abc; b=2"]);
        assert_eq!(cookie(&h, "session"), CookieValue::One("abc"));
        assert_eq!(cookie(&h, "sess"), CookieValue::Absent);
        assert_eq!(
            cookie(&headers(&["session=\"q\""]), "session"),
            CookieValue::One("q")
        );
        let dup = headers(&["session=abc", "session=evil"]);
        assert_eq!(cookie(&dup, "session"), CookieValue::Ambiguous);
        let dup = headers(&["session=abc; session=evil"]);
        assert_eq!(cookie(&dup, "session"), CookieValue::Ambiguous);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "[ -~]{0,64}", name in "[a-z]{1,8}") {
            if let Ok(value) = HeaderValue::from_str(&text) {
                let mut h = HeaderMap::new();
                h.insert(header::COOKIE, value);
                let _ = cookie(&h, &name);
            }
        }
    }
}
