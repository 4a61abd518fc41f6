//! Error sanitization: server errors leave as a generic problem document; their detail goes to
//! the log, redacted.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::BodyExt;
use palisade_redact::Redactor;
use tower::{BoxError, Service};

use crate::service::layer_service;
use crate::{
    Problem, ResponseBody,
    facts::{Facts, facts},
    future::BoxFuture,
    telemetry,
};

/// The tracing target of the events that carry the hidden detail.
pub const ERROR_TARGET: &str = "palisade_http::error";

const DEFAULT_MAX_DETAIL: usize = 4096;

/// The detail sent to clients in place of the real one.
const GENERIC_DETAIL: &str =
    "The server could not complete the request. Quote the request id when reporting this.";

/// Turns every server error into a generic RFC 9457 problem document with the request id.
///
/// A response with a 5xx status from the inner service keeps its status (and `Retry-After`, if
/// any) but loses its body and other headers: the client receives `{"type":"about:blank",
/// "title":"Internal Server Error","status":500,"detail":"…","request_id":"…"}`. An error
/// returned by the inner service's future becomes the same 500 response (readiness errors
/// still propagate, as tower requires).
/// What was hidden (the first 4 KiB of the body, or the error's message) is logged with the
/// request id at `ERROR` level on the target [`ERROR_TARGET`], after passing through a
/// [`Redactor`]. Bodies are read only when their size is known and within that limit; a
/// streaming body is dropped unread.
///
/// Put [`catch_panic`] inside it (nearer the handlers), so that a panic becomes a 500 response
/// that is sanitized like any other.
#[derive(Clone)]
pub struct SanitizeErrorsLayer {
    redactor: Redactor,
    max_detail: usize,
}

impl fmt::Debug for SanitizeErrorsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SanitizeErrorsLayer")
            .field("max_detail", &self.max_detail)
            .finish_non_exhaustive()
    }
}

impl Default for SanitizeErrorsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SanitizeErrorsLayer {
    /// The layer, with palisade-redact's default redactor and a 4 KiB detail limit.
    pub fn new() -> Self {
        Self {
            redactor: Redactor::new(),
            max_detail: DEFAULT_MAX_DETAIL,
        }
    }

    /// The redactor applied to logged details.
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Most bytes of a hidden body read for the log.
    #[must_use]
    pub fn max_detail(mut self, bytes: usize) -> Self {
        self.max_detail = bytes;
        self
    }
}

layer_service! {
    /// The service of [`SanitizeErrorsLayer`].
    pub struct SanitizeErrors<S> of SanitizeErrorsLayer;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SanitizeErrors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: fmt::Display,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = SanitizeFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let hidden = Hidden {
            facts: facts(&mut request),
            layer: self.layer.clone(),
        };
        SanitizeFuture {
            state: Sanitizing::Waiting {
                future: self.inner.call(request),
                hidden: Some(hidden),
            },
        }
    }
}

/// What a hidden server error is logged with.
struct Hidden {
    facts: Arc<Facts>,
    layer: SanitizeErrorsLayer,
}

pin_project_lite::pin_project! {
    /// The future of [`SanitizeErrors`]: the inner service's response, passed on as it is
    /// unless it is a server error or a failure, which is then replaced (its body read for the
    /// log in a boxed future: only that path allocates one).
    pub struct SanitizeFuture<F, B, E> {
        #[pin]
        state: Sanitizing<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = SanitizingProj]
    enum Sanitizing<F, B, E> {
        Waiting {
            #[pin]
            future: F,
            hidden: Option<Hidden>,
        },
        Hiding {
            future: BoxFuture<Result<Response<ResponseBody<B>>, E>>,
        },
    }
}

impl<F, B, E> fmt::Debug for SanitizeFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            Sanitizing::Waiting { .. } => "waiting",
            Sanitizing::Hiding { .. } => "hiding",
        };
        f.debug_struct("SanitizeFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, B, E> Future for SanitizeFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: fmt::Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let hiding = match this.state.as_mut().project() {
                SanitizingProj::Waiting { future, hidden } => {
                    let result = ready!(future.poll(cx));
                    if let Ok(response) = &result
                        && !response.status().is_server_error()
                    {
                        return Poll::Ready(result.map(|r| r.map(ResponseBody::inner)));
                    }
                    let hidden = hidden
                        .take()
                        .expect("the state leaves Waiting as soon as `hidden` is taken");
                    Box::pin(hide(result, hidden))
                }
                SanitizingProj::Hiding { future } => return future.as_mut().poll(cx),
            };
            this.state.set(Sanitizing::Hiding { future: hiding });
        }
    }
}

/// Replaces a server error or a failure with a generic problem, logging what it hid.
async fn hide<B, E>(
    result: Result<Response<B>, E>,
    hidden: Hidden,
) -> Result<Response<ResponseBody<B>>, E>
where
    E: Into<BoxError>,
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    let (status, detail, keep) = match result {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let detail = read_detail(body, hidden.layer.max_detail).await;
            telemetry::server_error("response");
            (parts.status, detail, Some(parts))
        }
        Err(error) => {
            telemetry::server_error("error");
            let error: BoxError = error.into();
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string(), None)
        }
    };
    let redactor = &hidden.layer.redactor;
    let id = hidden.facts.request_id();
    let path = hidden.facts.path_and_query();
    tracing::error!(
        target: ERROR_TARGET,
        request_id = id.unwrap_or("-"),
        method = %hidden.facts.method(),
        path = %redactor.redact_url(path),
        status = status.as_u16(),
        detail = %redactor.redact(&detail),
        "server error hidden from the client",
    );
    let mut problem = Problem::new(status).with_detail(GENERIC_DETAIL);
    if let Some(id) = id {
        problem = problem.with_request_id(id);
    }
    let mut response = problem.into_response();
    if let Some(parts) = keep {
        if let Some(retry) = parts.headers.get(header::RETRY_AFTER) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
        *response.extensions_mut() = parts.extensions;
    }
    Ok(response)
}

/// The body as text, if its size is known and at most `max`; a note otherwise.
async fn read_detail<B>(body: B, max: usize) -> String
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    let known = body.size_hint().upper();
    match known {
        Some(0) => return "(empty body)".to_owned(),
        Some(n) if n <= max as u64 => {}
        _ => return "(body not read: streaming or longer than the detail limit)".to_owned(),
    }
    let mut out = BytesMut::new();
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    let room = max.saturating_sub(out.len());
                    out.extend_from_slice(&data[..data.len().min(room)]);
                    if out.len() >= max {
                        break;
                    }
                }
            }
            Err(error) => return format!("(body failed: {error})"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A tower-http `ResponseForPanic` that logs nothing itself: it turns a panic into a 500
/// response whose body is the panic message, which [`SanitizeErrorsLayer`] (outside it) then
/// replaces with a generic problem and logs redacted.
///
/// tower-http's default handler logs the panic message as it is, which can carry a secret
/// formatted into an assertion. Use [`catch_panic`] instead of `CatchPanicLayer::new()`.
/// The standard library's panic hook still prints the message to standard error; install a
/// hook of your own to silence or redact that.
#[derive(Debug, Clone, Copy, Default)]
pub struct PanicToDetail;

impl tower_http::catch_panic::ResponseForPanic for PanicToDetail {
    type ResponseBody = http_body_util::Full<Bytes>;

    fn response_for_panic(
        &mut self,
        err: Box<dyn std::any::Any + Send + 'static>,
    ) -> Response<Self::ResponseBody> {
        let message = err
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| err.downcast_ref::<&str>().copied())
            .unwrap_or("(panic payload is not a string)");
        let mut response = Response::new(http_body_util::Full::new(Bytes::from(format!(
            "panic: {message}"
        ))));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    }
}

/// tower-http's `CatchPanicLayer` with [`PanicToDetail`]: put it just inside
/// [`SanitizeErrorsLayer`].
pub fn catch_panic() -> tower_http::catch_panic::CatchPanicLayer<PanicToDetail> {
    tower_http::catch_panic::CatchPanicLayer::custom(PanicToDetail)
}
