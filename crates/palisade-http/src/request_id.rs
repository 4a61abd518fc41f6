//! Reading the request id that tower-http's `SetRequestIdLayer` put on a request.

use http::{Extensions, HeaderMap, HeaderValue};
use tower_http::request_id::RequestId;

/// The header tower-http's `x_request_id` constructors use, and the one read as a fallback.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id copied into logs, audit records and problem documents.
const MAX_LEN: usize = 128;

/// The request's id: tower-http's [`RequestId`] extension if a `SetRequestIdLayer` ran, else the
/// `x-request-id` header. Only ids of 1 to 128 characters from `[A-Za-z0-9._:-]` are returned,
/// because a client can choose the header and the id is copied into logs and responses.
pub fn request_id(extensions: &Extensions, headers: &HeaderMap) -> Option<String> {
    let value = extensions
        .get::<RequestId>()
        .map(RequestId::header_value)
        .or_else(|| headers.get(REQUEST_ID_HEADER))?;
    checked(value)
}

fn checked(value: &HeaderValue) -> Option<String> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then(|| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(
            request_id(&Extensions::new(), &headers).as_deref(),
            Some("abc-123")
        );
        for bad in ["", "a b", "x\"y", "{\"injected\":1}"] {
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(bad).unwrap());
            assert_eq!(request_id(&Extensions::new(), &headers), None, "{bad}");
        }
        let long = "a".repeat(129);
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(&long).unwrap());
        assert_eq!(request_id(&Extensions::new(), &headers), None);
    }

    #[test]
    fn extension_wins_over_header() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("from-header"));
        let mut ext = Extensions::new();
        ext.insert(RequestId::new(HeaderValue::from_static("from-layer")));
        assert_eq!(request_id(&ext, &headers).as_deref(), Some("from-layer"));
    }
}
