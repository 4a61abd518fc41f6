//! Refusing state-changing request bodies that are not JSON.

use std::task::{Context, Poll};

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use tower::Service;

use crate::service::layer_service;
use crate::{Problem, ResponseBody, future::LayerFuture, request_id::request_id, telemetry};

/// The tracing target of refused content types.
pub const CONTENT_TYPE_TARGET: &str = "palisade_http::content_type";

/// Answers `415 Unsupported Media Type` (a [`Problem`], with `Accept: application/json`) to a
/// `POST`, `PUT`, `PATCH` or `DELETE` whose body is not declared JSON.
///
/// A browser sends `text/plain`, `application/x-www-form-urlencoded` and `multipart/form-data`
/// bodies across origins without a CORS preflight, so a JSON endpoint that parses whatever it
/// gets can be driven by any page (login CSRF: a form that logs the victim into the
/// attacker's account). A JSON content type needs a preflight, which CORS refuses to
/// untrusted origins.
///
/// Accepted: `application/json` and, with [`structured_syntax`](Self::structured_syntax),
/// `application/<anything>+json` (`application/merge-patch+json`), each with at most a
/// `charset=utf-8` parameter; matching ignores case. A request without a body (no
/// `Content-Length` or `Content-Length: 0`, and a body its server reports empty) passes
/// whatever it declares: there is nothing to misread. Safe methods pass.
///
/// ```
/// use axum::{Router, body::Body, routing::post};
/// use http::{Request, StatusCode};
/// use palisade_http::ContentTypeLayer;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let app = Router::new()
///     .route("/login", post(|body: String| async move { body }))
///     .layer(ContentTypeLayer::json());
/// let login = |content_type: &str| {
///     Request::post("/login")
///         .header("content-type", content_type)
///         .header("content-length", "2")
///         .body(Body::from("{}"))
///         .unwrap()
/// };
/// let refused = app.clone().oneshot(login("text/plain")).await?;
/// assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
/// let accepted = app.oneshot(login("application/json; charset=utf-8")).await?;
/// assert_eq!(accepted.status(), StatusCode::OK);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ContentTypeLayer {
    structured_syntax: bool,
}

impl ContentTypeLayer {
    /// Bodies of state-changing requests must be `application/json`.
    pub fn json() -> Self {
        Self {
            structured_syntax: false,
        }
    }

    /// Also accepts `application/<type>+json` (RFC 6839 structured syntax suffix).
    #[must_use]
    pub fn structured_syntax(mut self) -> Self {
        self.structured_syntax = true;
        self
    }

    /// Whether a request with `method`, `headers` and this body may pass.
    fn allows(self, method: &Method, headers: &HeaderMap, body_empty: bool) -> bool {
        if !matches!(
            *method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        ) || body_empty
        {
            return true;
        }
        let mut declared = headers.get_all(header::CONTENT_TYPE).iter();
        match (declared.next(), declared.next()) {
            (Some(value), None) => self.is_json(value),
            // None, or two (which one the parser believes cannot be told).
            _ => false,
        }
    }

    fn is_json(self, value: &HeaderValue) -> bool {
        let Ok(value) = value.to_str() else {
            return false;
        };
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let type_ok = essence == "application/json"
            || (self.structured_syntax
                && essence
                    .strip_prefix("application/")
                    .and_then(|sub| sub.strip_suffix("+json"))
                    .is_some_and(|name| {
                        !name.is_empty()
                            && name
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.".contains(&b))
                    }));
        type_ok
            && parts.all(|param| {
                let (name, value) = param.split_once('=').unwrap_or((param, ""));
                name.trim().eq_ignore_ascii_case("charset")
                    && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
    }
}

/// Whether the request certainly has no body: its server says so, or it declares a length of
/// zero and no chunked transfer.
fn body_is_empty<B: Body>(headers: &HeaderMap, body: &B) -> bool {
    if body.is_end_stream() || body.size_hint().exact() == Some(0) {
        return true;
    }
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len.as_bytes() == b"0")
}

layer_service! {
    /// The service of [`ContentTypeLayer`].
    pub struct ContentType<S> of ContentTypeLayer;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ContentType<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let empty = body_is_empty(request.headers(), request.body());
        if self
            .layer
            .allows(request.method(), request.headers(), empty)
        {
            return LayerFuture::passed(self.inner.call(request));
        }
        telemetry::refusal("content_type", "not_json");
        let id = request_id(request.extensions(), request.headers());
        tracing::info!(
            target: CONTENT_TYPE_TARGET,
            request_id = id.as_deref().unwrap_or("-"),
            method = %request.method(),
            "request body refused: not declared JSON",
        );
        let mut problem = Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_detail("The request body must be application/json.")
            .with_header(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(id) = id {
            problem = problem.with_request_id(id);
        }
        let response = problem.into_response();
        LayerFuture::ready(response)
    }
}
