//! Arbitrary header values through palisade-http's request-header readers (cookies, request
//! ids) and arbitrary text through the problem document: no panic, a cookie value found is a
//! substring of the header, an accepted request id is short and plain, and every problem
//! document is JSON that gives the text back.
#![no_main]

use http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use palisade_http::{CookieValue, Problem, cookie, request_id};

fuzz_target!(|data: &[u8]| {
    let (name, value) = data.split_at(data.len().min(6));
    let name = String::from_utf8_lossy(name);
    if let Ok(value) = HeaderValue::from_bytes(value) {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, value.clone());
        headers.append(header::COOKIE, value.clone());
        headers.insert("x-request-id", value.clone());
        match cookie(&headers, &name) {
            CookieValue::One(found) => {
                let text = value.to_str().expect("a found cookie came from text");
                assert!(text.contains(found));
            }
            CookieValue::Absent | CookieValue::Ambiguous => {}
        }
        if let Some(id) = request_id(&Extensions::new(), &headers) {
            assert!(!id.is_empty() && id.len() <= 128);
            assert!(id.bytes().all(|b| b.is_ascii_graphic() && b != b'"'));
        }
    }
    let text = String::from_utf8_lossy(data).into_owned();
    let status = StatusCode::from_u16(400 + u16::from(data.first().copied().unwrap_or(0)) % 200)
        .unwrap_or(StatusCode::BAD_REQUEST);
    let problem = Problem::new(status)
        .with_detail(text.clone())
        .with_extension(text.clone(), text.clone());
    let json: serde_json::Value =
        serde_json::from_slice(&problem.to_json()).expect("a problem is always JSON");
    assert_eq!(json["detail"].as_str(), Some(text.as_str()));
    assert_eq!(json["status"].as_u64(), Some(u64::from(status.as_u16())));
});
