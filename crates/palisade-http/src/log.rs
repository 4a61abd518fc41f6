//! Request logging through palisade-redact.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderMap, Request, Response};
use palisade_redact::Redactor;
use tower::Service;

use crate::service::layer_service;
use crate::{
    facts::{Facts, facts},
    future::{OnResult, ResponseFuture},
};

/// The tracing target of request log events.
pub const REQUEST_TARGET: &str = "palisade_http::request";

/// Logs one tracing event per request when its response head is ready: method, path with the
/// query redacted ([`Redactor::redact_url`]), status, latency in microseconds, request id,
/// the client's own request id ([`ClientRequestIdLayer`](crate::ClientRequestIdLayer)),
/// client address and, if asked for, the request headers redacted
/// ([`Redactor::redact_headers`]: `Authorization`, `Cookie` and other sensitive headers never
/// appear). A field the request does not have (no client request id, no known address, headers
/// not asked for) is left out of the event.
///
/// Events use the target [`REQUEST_TARGET`]: `INFO` below 500, `ERROR` for server errors and for
/// errors of the inner service. Put the layer outside every other palisade layer, so that what
/// they refuse is logged too.
#[derive(Clone)]
pub struct RequestLogLayer {
    redactor: Redactor,
    headers: bool,
}

impl fmt::Debug for RequestLogLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLogLayer")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Default for RequestLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestLogLayer {
    /// Request lines without headers, with palisade-redact's default redactor.
    pub fn new() -> Self {
        Self {
            redactor: Redactor::new(),
            headers: false,
        }
    }

    /// The redactor applied to paths and headers.
    #[must_use]
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Also log the request headers, redacted.
    #[must_use]
    pub fn log_headers(mut self, on: bool) -> Self {
        self.headers = on;
        self
    }
}

layer_service! {
    /// The service of [`RequestLogLayer`].
    pub struct RequestLog<S> of RequestLogLayer;
}

/// What is logged once the response is ready: the request's parts are kept as they are (shared,
/// not copied) and formatted only then.
pub struct LogLine {
    start: Instant,
    redactor: Redactor,
    facts: Arc<Facts>,
    /// Boxed: only a layer that logs headers keeps them, and the others' futures stay small.
    headers: Option<Box<HeaderMap>>,
}

impl fmt::Debug for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogLine")
            .field("method", self.facts.method())
            .field("request_id", &self.facts.request_id())
            .finish_non_exhaustive()
    }
}

/// A request's path and query as the log shows them: redacted when formatted.
struct RedactedUrl<'a> {
    redactor: &'a Redactor,
    url: &'a str,
}

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redactor.redact_url(self.url))
    }
}

impl<B, E> OnResult<Response<B>, E> for LogLine {
    fn on_result(self, result: &mut Result<Response<B>, E>) {
        let latency_us = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let path = self.facts.path_and_query();
        // Redacted only if a subscriber takes the line: tracing formats a field when it records it.
        let path = RedactedUrl {
            redactor: &self.redactor,
            url: path,
        };
        // What the request does not have is left out of the event (tracing records no `None`),
        // not written as a placeholder each subscriber would format and each line carry.
        let request_id = self.facts.request_id();
        let client_request_id = self.facts.client_request_id().map(|id| &**id);
        let client = self.facts.client();
        let headers = self.headers.as_ref().map(|h| format!("{h:?}"));
        let headers = headers.as_deref();
        match result {
            Ok(response) if response.status().is_server_error() => tracing::error!(
                target: REQUEST_TARGET,
                method = %self.facts.method(),
                path = %path,
                status = response.status().as_u16(),
                latency_us,
                request_id,
                client_request_id,
                client,
                headers,
                "request",
            ),
            Ok(response) => tracing::info!(
                target: REQUEST_TARGET,
                method = %self.facts.method(),
                path = %path,
                status = response.status().as_u16(),
                latency_us,
                request_id,
                client_request_id,
                client,
                headers,
                "request",
            ),
            Err(_) => tracing::error!(
                target: REQUEST_TARGET,
                method = %self.facts.method(),
                path = %path,
                status = "error",
                latency_us,
                request_id,
                client_request_id,
                client,
                headers,
                "request failed in the service",
            ),
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, LogLine>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let redactor = &self.layer.redactor;
        let line = LogLine {
            start: Instant::now(),
            facts: facts(&mut request),
            redactor: redactor.clone(),
            headers: self
                .layer
                .headers
                .then(|| Box::new(redactor.redact_headers(request.headers()))),
        };
        ResponseFuture::new(self.inner.call(request), line)
    }
}
