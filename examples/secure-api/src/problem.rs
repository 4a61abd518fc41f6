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

/// `response`, recorded in the audit log as `event`.
pub(crate) fn audited(mut response: Response, event: SecurityEvent) -> Response {
    response.extensions_mut().insert(event);
    response
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
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
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Internal(e.to_string())
    }
}
