//! Security response headers with presets, each one overridable.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use tower::{Layer, Service};

use crate::future::{OnResult, ResponseFuture};

/// When `Strict-Transport-Security` is sent. RFC 6797 section 7.2 forbids it over plain HTTP
/// (browsers ignore it there anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Https {
    /// The request arrived over HTTPS if its URI has the `https` scheme, or a TLS-terminating
    /// proxy the deployment trusts said so in `X-Forwarded-Proto: https` or
    /// `Forwarded: proto=https`. Those headers count only on a request that carries the
    /// [`TrustedProxy`](crate::TrustedProxy) extension, which
    /// [`ClientIpLayer`](crate::ClientIpLayer) inserts when its resolver trusts the peer (put
    /// that layer outside this one); from any other peer they are a client's claim and ignored.
    #[default]
    Detect,
    /// Every request is HTTPS: the service is reachable only through TLS.
    Always,
    /// Never send HSTS (local development over plain HTTP).
    Never,
}

/// Whether a request arrived over HTTPS: its URI has the `https` scheme, or a TLS-terminating
/// proxy said so in `X-Forwarded-Proto: https` or `Forwarded: proto=https`.
pub(crate) fn arrived_over_https(uri: &http::Uri, headers: &HeaderMap) -> bool {
    uri.scheme() == Some(&http::uri::Scheme::HTTPS)
        || headers
            .get_all("x-forwarded-proto")
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
        || headers.get_all(header::FORWARDED).iter().any(|v| {
            v.to_str().is_ok_and(|text| {
                text.split([';', ',']).any(|pair| {
                    let pair = pair.trim();
                    pair.eq_ignore_ascii_case("proto=https")
                        || pair.eq_ignore_ascii_case("proto=\"https\"")
                })
            })
        })
}

/// `Strict-Transport-Security` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    /// How long browsers remember to use HTTPS only.
    pub max_age: Duration,
    /// Also for every subdomain.
    pub include_subdomains: bool,
    /// Ask to be in browsers' preload lists (needs `include_subdomains` and a year or more).
    pub preload: bool,
}

impl Default for Hsts {
    /// Two years, subdomains included, no preload: the OWASP recommendation.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(63_072_000),
            include_subdomains: true,
            preload: false,
        }
    }
}

impl Hsts {
    fn value(self) -> HeaderValue {
        let mut text = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            text.push_str("; includeSubDomains");
        }
        if self.preload {
            text.push_str("; preload");
        }
        // Built from digits and fixed ASCII words only.
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("max-age=63072000"))
    }
}

/// The security headers added to every response, including errors written by other layers.
///
/// Start from a preset, [`api`](Self::api) for JSON APIs or [`web`](Self::web) for services
/// that render HTML, and change single headers with the setters (`None` removes one). A header
/// the handler already set is kept unless [`overwrite`](Self::overwrite) is on, so a route can
/// loosen its own policy (a page that must be framed, say).
///
/// ```
/// use http::HeaderValue;
/// use palisade_http::{Https, SecurityHeaders, SecurityHeadersLayer};
///
/// let headers = SecurityHeaders::web()
///     .content_security_policy(Some(HeaderValue::from_static(
///         "default-src 'self'; img-src 'self' https://cdn.example; frame-ancestors 'none'",
///     )))
///     .https(Https::Always);
/// let layer = SecurityHeadersLayer::new(headers);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    fixed: Vec<(HeaderName, HeaderValue)>,
    hsts: Option<HeaderValue>,
    https: Https,
    overwrite: bool,
}

const PERMISSIONS_NONE: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     publickey-credentials-get=(), usb=(), xr-spatial-tracking=()";

impl SecurityHeaders {
    /// For JSON APIs, where nothing should ever render: `Content-Security-Policy: default-src
    /// 'none'; frame-ancestors 'none'`, HSTS (two years, subdomains) on HTTPS,
    /// `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy:
    /// no-referrer`, a `Permissions-Policy` that turns off powerful features, and
    /// `Cross-Origin-Opener-Policy: same-origin`.
    pub fn api() -> Self {
        Self::preset("default-src 'none'; frame-ancestors 'none'", "no-referrer")
    }

    /// For services that render HTML: as [`api`](Self::api), but with `Content-Security-Policy:
    /// default-src 'self'; base-uri 'self'; object-src 'none'; form-action 'self';
    /// frame-ancestors 'none'` and `Referrer-Policy: strict-origin-when-cross-origin`.
    pub fn web() -> Self {
        Self::preset(
            "default-src 'self'; base-uri 'self'; object-src 'none'; form-action 'self'; \
             frame-ancestors 'none'",
            "strict-origin-when-cross-origin",
        )
    }

    fn preset(csp: &'static str, referrer: &'static str) -> Self {
        Self {
            fixed: vec![
                (
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(csp),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
                (header::REFERRER_POLICY, HeaderValue::from_static(referrer)),
                (
                    HeaderName::from_static("permissions-policy"),
                    HeaderValue::from_static(PERMISSIONS_NONE),
                ),
                (
                    HeaderName::from_static("cross-origin-opener-policy"),
                    HeaderValue::from_static("same-origin"),
                ),
            ],
            hsts: Some(Hsts::default().value()),
            https: Https::Detect,
            overwrite: false,
        }
    }

    fn set(mut self, name: HeaderName, value: Option<HeaderValue>) -> Self {
        self.fixed.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            self.fixed.push((name, value));
        }
        self
    }

    /// `Content-Security-Policy`; `None` removes it. Keep `frame-ancestors` in it: it is the
    /// modern form of `X-Frame-Options`.
    #[must_use]
    pub fn content_security_policy(self, value: Option<HeaderValue>) -> Self {
        self.set(header::CONTENT_SECURITY_POLICY, value)
    }

    /// `X-Content-Type-Options` (`nosniff` in the presets); `None` removes it.
    #[must_use]
    pub fn content_type_options(self, value: Option<HeaderValue>) -> Self {
        self.set(header::X_CONTENT_TYPE_OPTIONS, value)
    }

    /// `X-Frame-Options` (`DENY` in the presets; `SAMEORIGIN` to allow your own frames);
    /// `None` removes it.
    #[must_use]
    pub fn frame_options(self, value: Option<HeaderValue>) -> Self {
        self.set(header::X_FRAME_OPTIONS, value)
    }

    /// `Referrer-Policy`; `None` removes it.
    #[must_use]
    pub fn referrer_policy(self, value: Option<HeaderValue>) -> Self {
        self.set(header::REFERRER_POLICY, value)
    }

    /// `Permissions-Policy`; `None` removes it.
    #[must_use]
    pub fn permissions_policy(self, value: Option<HeaderValue>) -> Self {
        self.set(HeaderName::from_static("permissions-policy"), value)
    }

    /// `Cross-Origin-Opener-Policy` (`same-origin` in the presets); `None` removes it.
    #[must_use]
    pub fn cross_origin_opener_policy(self, value: Option<HeaderValue>) -> Self {
        self.set(HeaderName::from_static("cross-origin-opener-policy"), value)
    }

    /// Any other header, added to every response (`Cross-Origin-Resource-Policy`, say);
    /// `None` removes a header set earlier.
    #[must_use]
    pub fn header(self, name: HeaderName, value: Option<HeaderValue>) -> Self {
        self.set(name, value)
    }

    /// `Strict-Transport-Security`, sent only on HTTPS (see [`https`](Self::https)); `None`
    /// never sends it.
    #[must_use]
    pub fn hsts(mut self, hsts: Option<Hsts>) -> Self {
        self.hsts = hsts.map(Hsts::value);
        self
    }

    /// How HTTPS is recognised for HSTS.
    #[must_use]
    pub fn https(mut self, https: Https) -> Self {
        self.https = https;
        self
    }

    /// Replace headers the handler set instead of keeping them (off by default).
    #[must_use]
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    fn is_https(&self, uri: &http::Uri, headers: &HeaderMap, via_trusted_proxy: bool) -> bool {
        match self.https {
            Https::Always => true,
            Https::Never => false,
            Https::Detect => {
                uri.scheme() == Some(&http::uri::Scheme::HTTPS)
                    || (via_trusted_proxy && arrived_over_https(uri, headers))
            }
        }
    }

    fn apply(&self, headers: &mut HeaderMap, https: bool) {
        let hsts = self.hsts.as_ref().filter(|_| https);
        headers.reserve(self.fixed.len() + usize::from(hsts.is_some()));
        for (name, value) in &self.fixed {
            self.put(headers, name, value);
        }
        if let Some(value) = hsts {
            self.put(headers, &header::STRICT_TRANSPORT_SECURITY, value);
        }
    }

    /// `name: value` on a response: replacing the handler's own value only when
    /// [`overwrite`](Self::overwrite) is on. A value is copied only when it is set.
    fn put(&self, headers: &mut HeaderMap, name: &HeaderName, value: &HeaderValue) {
        if self.overwrite {
            headers.insert(name.clone(), value.clone());
        } else if let header::Entry::Vacant(entry) = headers.entry(name.clone()) {
            entry.insert(value.clone());
        }
    }
}

/// The layer that adds [`SecurityHeaders`] to every response.
#[derive(Debug, Clone)]
pub struct SecurityHeadersLayer {
    config: Arc<SecurityHeaders>,
}

impl SecurityHeadersLayer {
    /// A layer adding `headers`.
    pub fn new(headers: SecurityHeaders) -> Self {
        Self {
            config: Arc::new(headers),
        }
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeadersService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeadersService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service of [`SecurityHeadersLayer`].
#[derive(Debug, Clone)]
pub struct SecurityHeadersService<S> {
    inner: S,
    config: Arc<SecurityHeaders>,
}

/// Adds the headers to the response once it is ready.
#[derive(Debug)]
pub struct AddHeaders {
    config: Arc<SecurityHeaders>,
    https: bool,
}

impl<B, E> OnResult<Response<B>, E> for AddHeaders {
    fn on_result(self, result: &mut Result<Response<B>, E>) {
        if let Ok(response) = result {
            self.config.apply(response.headers_mut(), self.https);
        }
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeadersService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, AddHeaders>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let via_trusted_proxy = request
            .extensions()
            .get::<crate::client::TrustedProxy>()
            .is_some();
        let https = self
            .config
            .is_https(request.uri(), request.headers(), via_trusted_proxy);
        let hook = AddHeaders {
            config: self.config.clone(),
            https,
        };
        ResponseFuture::new(self.inner.call(request), hook)
    }
}
