//! RFC 9457 problem details: the one error body every palisade layer writes.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value};

use crate::body::ResponseBody;

/// The media type of a problem document (RFC 9457 section 3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document and the response that carries it.
///
/// Every response a palisade layer writes itself (401, 403, 429, a sanitized 500) is a
/// `Problem`, so clients see one error shape. The `type` defaults to `about:blank` and the
/// `title` to the status code's reason phrase, as RFC 9457 section 4.2.1 asks. The request id,
/// when known, is the extension member `request_id`, so a user can quote it to support and an
/// operator can find the logged detail.
///
/// ```
/// use http::StatusCode;
/// use palisade_http::Problem;
///
/// let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS)
///     .with_detail("Slow down and retry after the time in Retry-After.")
///     .with_request_id("req-7f3a");
/// let json: serde_json::Value = serde_json::from_slice(&problem.to_json()).unwrap();
/// assert_eq!(json["status"], 429);
/// assert_eq!(json["title"], "Too Many Requests");
/// assert_eq!(json["type"], "about:blank");
/// assert_eq!(json["request_id"], "req-7f3a");
///
/// let response = problem.into_response::<String>();
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// ```
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    type_uri: Cow<'static, str>,
    title: Cow<'static, str>,
    detail: Option<Cow<'static, str>>,
    instance: Option<String>,
    request_id: Option<String>,
    extensions: Map<String, Value>,
    headers: HeaderMap,
}

impl Problem {
    /// A problem with `status`, type `about:blank` and the status's reason phrase as its title.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            type_uri: Cow::Borrowed("about:blank"),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            detail: None,
            instance: None,
            request_id: None,
            extensions: Map::new(),
            headers: HeaderMap::new(),
        }
    }

    /// A URI naming the problem type. Keep the title the same for every problem of one type.
    #[must_use]
    pub fn with_type(mut self, uri: impl Into<Cow<'static, str>>) -> Self {
        self.type_uri = uri.into();
        self
    }

    /// A short, human-readable summary of the problem type.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.title = title.into();
        self
    }

    /// An explanation for this occurrence, meant for the client. It is sent as written: never
    /// put internal detail here.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A URI reference identifying this occurrence.
    #[must_use]
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The request id, written as the extension member `request_id`.
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// An extension member. The standard members (`type`, `title`, `status`, `detail`,
    /// `instance`) and `request_id` cannot be replaced this way; such names are ignored.
    #[must_use]
    pub fn with_extension(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let name = name.into();
        if !matches!(
            name.as_str(),
            "type" | "title" | "status" | "detail" | "instance" | "request_id"
        ) {
            self.extensions.insert(name, value.into());
        }
        self
    }

    /// A header sent with the problem (`WWW-Authenticate`, `Retry-After`, ...).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The headers sent with the problem, apart from `Content-Type`.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The problem document as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("type".into(), Value::from(self.type_uri.as_ref()));
        object.insert("title".into(), Value::from(self.title.as_ref()));
        object.insert("status".into(), Value::from(self.status.as_u16()));
        if let Some(detail) = &self.detail {
            object.insert("detail".into(), Value::from(detail.as_ref()));
        }
        if let Some(instance) = &self.instance {
            object.insert("instance".into(), Value::from(instance.as_str()));
        }
        if let Some(id) = &self.request_id {
            object.insert("request_id".into(), Value::from(id.as_str()));
        }
        for (name, value) in &self.extensions {
            object.insert(name.clone(), value.clone());
        }
        // Serializing a `Value` built from strings and numbers cannot fail.
        serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
    }

    /// The response: the status, the headers, `Content-Type: application/problem+json`,
    /// `Cache-Control: no-store` and the JSON document.
    pub fn into_response<B>(self) -> Response<ResponseBody<B>> {
        let body = self.to_json();
        let mut response = Response::new(ResponseBody::full(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        *headers = self.headers;
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_text_round_trips_and_cannot_shadow_members(
            detail in ".{0,64}",
            id in ".{0,32}",
            name in "[a-z_]{1,10}",
            status in 400u16..600,
        ) {
            let status = StatusCode::from_u16(status).unwrap();
            let problem = Problem::new(status)
                .with_detail(detail.clone())
                .with_request_id(id.clone())
                .with_extension(name.clone(), "x");
            let json: Value = serde_json::from_slice(&problem.to_json()).unwrap();
            proptest::prop_assert_eq!(json["detail"].as_str(), Some(detail.as_str()));
            proptest::prop_assert_eq!(json["request_id"].as_str(), Some(id.as_str()));
            proptest::prop_assert_eq!(json["status"].as_u64(), Some(u64::from(status.as_u16())));
            if !matches!(name.as_str(), "type" | "title" | "status" | "detail" | "instance" | "request_id") {
                proptest::prop_assert_eq!(json[name.as_str()].as_str(), Some("x"));
            }
            proptest::prop_assert_eq!(json["type"].as_str(), Some("about:blank"));
        }
    }

    #[test]
    fn the_response_is_problem_json_and_not_cached() {
        let response = Problem::new(StatusCode::UNAUTHORIZED)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response::<String>();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
