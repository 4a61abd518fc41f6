//! CORS for the API: tower-http's `Cors` for the requests CORS is about, and its fixed answer,
//! written from constants, for every other request.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::http::{HeaderValue, Method, Request, Response, header};
use palisade_http::tower_http::cors::{AllowOrigin, Cors, CorsLayer};
use tower::{
    Layer, Service, ServiceExt as _,
    util::{Either, MapResponse, Oneshot, future::EitherResponseFuture},
};

use crate::config::Config;

/// The `Vary` tower-http's `Cors` adds to every response under [`rules`]: the request headers
/// its answers depend on, which for a list of origins and fixed methods and headers is the
/// origin alone (`requests_without_origin_get_what_cors_gives_them` checks it stays so).
const VARY: &str = "origin";

/// The service's CORS rules: its allowed origins, the methods and headers the API uses,
/// credentials (the refresh cookie), preflights cached ten minutes.
fn rules(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-csrf-token"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// CORS for the API's requests.
///
/// A request without `Origin` that is not a preflight (`OPTIONS`) is not a CORS request:
/// tower-http's `Cors` answers it with the same two headers whatever it asks (`Vary` and,
/// since credentials are allowed, `Access-Control-Allow-Credentials: true`), but builds a header
/// map, a `Vary` value and a copy of its rules for it on every request. Such a request gets
/// those two headers from constants here (`requests_without_origin_get_what_cors_gives_them`);
/// every other request goes through `Cors` itself.
#[derive(Debug, Clone)]
pub(crate) struct ApiCorsLayer {
    cors: Arc<CorsLayer>,
}

impl ApiCorsLayer {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            cors: Arc::new(rules(config)),
        }
    }
}

impl<S> Layer<S> for ApiCorsLayer {
    type Service = ApiCors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiCors {
            cors: Arc::clone(&self.cors),
            inner,
        }
    }
}

/// The service of [`ApiCorsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct ApiCors<S> {
    cors: Arc<CorsLayer>,
    inner: S,
}

type NotCors<B> = fn(Response<B>) -> Response<B>;

/// What `Cors` adds to the response of a request without `Origin` that is not a preflight.
fn not_cors<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    // As `Cors` does: `Vary` appended to any the handler set, the other header replaced.
    headers.append(header::VARY, HeaderValue::from_static(VARY));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ApiCors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = EitherResponseFuture<
        Oneshot<Cors<S>, Request<ReqBody>>,
        <MapResponse<S, NotCors<ResBody>> as Service<Request<ReqBody>>>::Future,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let is_cors =
            request.method() == Method::OPTIONS || request.headers().contains_key(header::ORIGIN);
        // The service polled ready handles this request; a clone takes its place.
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        let mut either = if is_cors {
            Either::Left(CorsCall(Some(self.cors.layer(inner))))
        } else {
            Either::Right(MapResponse::new(inner, not_cors as NotCors<ResBody>))
        };
        either.call(request)
    }
}

/// `Cors` over the inner service, called once through `oneshot` (which polls it ready: `Cors`
/// checks its rules there).
struct CorsCall<S>(Option<Cors<S>>);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorsCall<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Oneshot<Cors<S>, Request<ReqBody>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        self.0
            .take()
            .expect("a CorsCall is built for one call and called once")
            .oneshot(request)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::body::Body;
    use tower::service_fn;

    use super::*;

    fn handler()
    -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future = impl Send>
    + Clone {
        service_fn(|_: Request<Body>| async {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            Ok::<_, Infallible>(response)
        })
    }

    fn config() -> Config {
        Config {
            allowed_origins: vec!["https://app.example".to_owned()],
            ..Config::default()
        }
    }

    async fn headers_of(
        service: impl Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
        request: Request<Body>,
    ) -> Vec<(String, String)> {
        let response = service.oneshot(request).await.unwrap();
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    fn request(method: Method, origin: Option<&str>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri("/me");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn requests_without_origin_get_what_cors_gives_them() {
        let config = config();
        for method in [Method::GET, Method::POST, Method::PUT, Method::HEAD] {
            let ours = headers_of(
                ApiCorsLayer::new(&config).layer(handler()),
                request(method.clone(), None),
            )
            .await;
            let theirs = headers_of(
                rules(&config).layer(handler()),
                request(method.clone(), None),
            )
            .await;
            assert_eq!(ours, theirs, "{method}");
            assert!(
                ours.contains(&("vary".to_owned(), VARY.to_owned())),
                "{ours:?}"
            );
        }
    }

    #[tokio::test]
    async fn cors_requests_go_through_cors() {
        let config = config();
        for (method, origin) in [
            (Method::OPTIONS, None),
            (Method::OPTIONS, Some("https://app.example")),
            (Method::GET, Some("https://app.example")),
            (Method::POST, Some("https://evil.example")),
        ] {
            let mut preflight = request(method.clone(), origin);
            preflight.headers_mut().insert(
                header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("PUT"),
            );
            let ours = headers_of(ApiCorsLayer::new(&config).layer(handler()), preflight).await;
            let mut preflight = request(method.clone(), origin);
            preflight.headers_mut().insert(
                header::ACCESS_CONTROL_REQUEST_METHOD,
                HeaderValue::from_static("PUT"),
            );
            let theirs = headers_of(rules(&config).layer(handler()), preflight).await;
            assert_eq!(ours, theirs, "{method} {origin:?}");
        }
    }
}
