//! Redirecting plain-HTTP requests to HTTPS.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderValue, Method, Request, Response, StatusCode, header, uri::Authority};
use tower::Service;

use crate::service::layer_service;
use crate::{ResponseBody, future::LayerFuture, headers::arrived_over_https, telemetry};

/// Answers every request that did not arrive over HTTPS with a redirect to the same path and
/// query on `https://` and the configured host: `301 Moved Permanently` for `GET` and `HEAD`,
/// `308 Permanent Redirect` for other methods (which keeps the method and body; the body has
/// already crossed the network in the clear, so fix the client).
///
/// A request counts as HTTPS when its URI has the `https` scheme or a TLS-terminating proxy
/// the deployment trusts says so in `X-Forwarded-Proto: https` or `Forwarded: proto=https` (a
/// proxy in front must set one of them, or every request is redirected in a loop). Those
/// headers count only on a request that carries the [`TrustedProxy`](crate::TrustedProxy)
/// extension, which [`ClientIpLayer`](crate::ClientIpLayer) inserts when its resolver trusts
/// the peer (put that layer outside this one); from any other peer they are ignored, as for
/// HSTS in [`SecurityHeadersLayer`](crate::SecurityHeadersLayer).
///
/// The redirect goes to the host given here, never to the request's `Host` header, which the
/// client writes: a forged `Host` cannot turn the service into an open redirect or poison a
/// cache. Exempt paths (a load balancer's health check over plain HTTP) pass through.
///
/// ```
/// use http::uri::Authority;
/// use palisade_http::HttpsRedirectLayer;
///
/// let layer = HttpsRedirectLayer::new(Authority::from_static("api.example.com"))
///     .exempt_path("/health");
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct HttpsRedirectLayer {
    authority: Authority,
    exempt: Arc<[String]>,
}

impl fmt::Debug for HttpsRedirectLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsRedirectLayer")
            .field("authority", &self.authority)
            .field("exempt", &self.exempt)
            .finish()
    }
}

impl HttpsRedirectLayer {
    /// Redirects to `https://<authority>` (a host, with a port if it is not 443).
    pub fn new(authority: Authority) -> Self {
        Self {
            authority,
            exempt: Arc::from([]),
        }
    }

    /// A path served over plain HTTP too, matched exactly.
    #[must_use]
    pub fn exempt_path(mut self, path: impl Into<String>) -> Self {
        let mut exempt = self.exempt.to_vec();
        exempt.push(path.into());
        self.exempt = exempt.into();
        self
    }

    fn location(&self, path_and_query: &str) -> Option<HeaderValue> {
        HeaderValue::try_from(format!("https://{}{path_and_query}", self.authority)).ok()
    }
}

layer_service! {
    /// The service of [`HttpsRedirectLayer`].
    pub struct HttpsRedirect<S> of HttpsRedirectLayer;
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpsRedirect<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let uri = request.uri();
        let via_trusted_proxy = request
            .extensions()
            .get::<crate::client::TrustedProxy>()
            .is_some();
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS)
            || (via_trusted_proxy && arrived_over_https(uri, request.headers()));
        if https || self.layer.exempt.iter().any(|p| p == uri.path()) {
            return LayerFuture::passed(self.inner.call(request));
        }
        telemetry::refusal("https_redirect", "plain_http");
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        // A request target in authority or absolute form has no path of its own.
        let path = if path.starts_with('/') { path } else { "/" };
        let mut response = Response::new(ResponseBody::empty());
        match self.layer.location(path) {
            Some(location) => {
                *response.status_mut() = if matches!(*request.method(), Method::GET | Method::HEAD)
                {
                    StatusCode::MOVED_PERMANENTLY
                } else {
                    StatusCode::PERMANENT_REDIRECT
                };
                response.headers_mut().insert(header::LOCATION, location);
            }
            // Unreachable with a valid authority and a parsed path; refuse rather than guess.
            None => *response.status_mut() = StatusCode::BAD_REQUEST,
        }
        LayerFuture::ready(response)
    }
}
