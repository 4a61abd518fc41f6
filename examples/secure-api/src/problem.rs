//! Errors as RFC 9457 problem documents that leak nothing.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use palisade_http::SecurityEvent;

/// Everything a handler can answer with instead of success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 400: the body is not the JSON the route expects, or a field is invalid. The detail is
    /// written by the service, never copied from the input.
    BadRequest(&'static str),
    /// 401 with `WWW-Authenticate`.
    Unauthorized,
    /// 401 for a login that failed (no `WWW-Authenticate`: it is not a bearer failure).
    BadCredentials,
    /// 403: a credential other than the bearer token (a reset token) was presented and does
    /// not grant the request.
    Forbidden(&'static str),
    /// 404.
    NotFound,
    /// 409: the email is taken.
    Conflict(&'static str),
    /// 422: a new password breaks the policy.
    WeakPassword(String),
    /// 429 with `Retry-After` (seconds).
    TooMany(u64),
    /// 500: the detail goes to the log, redacted.
    Internal(String),
    /// 503: a shared store is unreachable; fail closed.
    Unavailable,
    /// 503 naming the backend that is unreachable (`redis`), in the body's `backend` member:
    /// the request was refused because the service cannot decide it, not because of the
    /// client.
    BackendUnavailable(&'static str),
    /// Any of the above, with the audit record palisade-http's `AuditLayer` writes for it.
    Audited(Box<ApiError>, SecurityEvent),
}

impl ApiError {
    /// This error, recorded in the audit log as `event` (with the request id, client and
    /// route, added by the audit layer).
    pub(crate) fn audited(self, event: SecurityEvent) -> Self {
        Self::Audited(Box::new(self), event)
    }
}

/// A server-error body written by the service for the client (which backend is down), kept in
/// the response's extensions: `SanitizeErrorsLayer` replaces every 5xx body with a generic one
/// but keeps the extensions, and [`restore_public_body`], just outside it, puts this back. Only
/// fixed text the service composed goes here, never a message from a backend or the request.
#[derive(Debug, Clone)]
pub(crate) struct PublicBody {
    content_type: &'static str,
    body: String,
}

/// `response` with its body marked as written for the client (see [`PublicBody`]).
pub(crate) fn public_body(
    mut response: Response,
    content_type: &'static str,
    body: String,
) -> Response {
    response
        .extensions_mut()
        .insert(PublicBody { content_type, body });
    response
}

/// Puts a [`PublicBody`] back after `SanitizeErrorsLayer` hid it.
pub(crate) fn restore_public_body<B>(response: Response<B>) -> Response
where
    Response<B>: IntoResponse,
{
    let mut response = response.into_response();
    if let Some(public) = response.extensions_mut().remove::<PublicBody>() {
        response.headers_mut().remove(header::CONTENT_LENGTH);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(public.content_type),
        );
        *response.body_mut() = axum::body::Body::from(public.body);
    }
    response
}

/// A client error the framework wrote itself (the router's 405 without a body, the body limit's
/// 413 and a body that failed to arrive, 400, in plain text) as an RFC 9457 problem document
/// like every other error; its headers (`Allow`) are kept.
pub(crate) fn framework_errors_as_problems<B>(response: Response<B>) -> Response
where
    Response<B>: IntoResponse,
{
    let response = response.into_response();
    let status = response.status();
    if !status.is_client_error() {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "the method is not allowed on this resource",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the service accepts",
        StatusCode::BAD_REQUEST => "the request body could not be read",
        _ => "the request was refused",
    };
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (problem_parts, body) = problem(status, detail).into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// `response`, recorded in the audit log as `event`.
pub(crate) fn audited(mut response: Response, event: SecurityEvent) -> Response {
    response.extensions_mut().insert(event);
    response
}

fn problem(status: StatusCode, detail: &str) -> Response {
    problem_with(status, detail, serde_json::Map::new())
}

/// A problem document with extension members (RFC 9457 section 3.2).
fn problem_with(
    status: StatusCode,
    detail: &str,
    extensions: serde_json::Map<String, serde_json::Value>,
) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(members) = body.as_object_mut() {
        members.extend(extensions);
    }
    let text = body.to_string();
    let mut response = (status, text.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR {
        // A 503 names what is unavailable; `restore_public_body` keeps it from the sanitizer.
        response = public_body(response, "application/problem+json", text);
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(detail) => problem(StatusCode::BAD_REQUEST, detail),
            Self::Unauthorized => {
                let mut r = problem(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                r
            }
            Self::BadCredentials => {
                problem(StatusCode::UNAUTHORIZED, "wrong email address or password")
            }
            Self::Forbidden(detail) => problem(StatusCode::FORBIDDEN, detail),
            Self::NotFound => problem(StatusCode::NOT_FOUND, "no such resource"),
            Self::Conflict(detail) => problem(StatusCode::CONFLICT, detail),
            Self::WeakPassword(detail) => problem(StatusCode::UNPROCESSABLE_ENTITY, &detail),
            Self::TooMany(retry) => {
                let mut r = problem(StatusCode::TOO_MANY_REQUESTS, "too many requests");
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry.max(1)));
                r
            }
            Self::Internal(detail) => {
                tracing::error!(target: "secure_api::error", detail = %detail, "internal error");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not complete the request",
                )
            }
            Self::Audited(error, event) => audited(error.into_response(), event),
            Self::Unavailable => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "a backing service is unavailable; try again later",
            ),
            Self::BackendUnavailable(backend) => {
                let mut extensions = serde_json::Map::new();
                extensions.insert("backend".into(), backend.into());
                let mut r = problem_with(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{backend} is unavailable; try again later"),
                    extensions,
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Internal(e.to_string())
    }
}
