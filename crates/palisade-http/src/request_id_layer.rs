//! One layer for request ids: the server chooses each request's id, keeps the client's own apart,
//! and returns the id on the response.
//!
//! tower-http splits this over `SetRequestIdLayer` and `PropagateRequestIdLayer`, and keeps an
//! id the client sent, so the id logs and audit records are keyed by is the client's choice
//! unless [`ClientRequestIdLayer`](crate::ClientRequestIdLayer) runs before them. Three layers
//! whose order matters are three chances to get it wrong, and each adds a future of its own to
//! every request; [`RequestIdLayer`] does their work in that order, with one.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::{
    RequestUuids,
    future::{OnResult, ResponseFuture},
    request_id::{header_name, keep_client_id},
};

/// Gives every request the server's id in `x-request-id` and returns it on the response: what
/// [`ClientRequestIdLayer`](crate::ClientRequestIdLayer), tower-http's `SetRequestIdLayer` and
/// `PropagateRequestIdLayer`, in that order, do together.
///
/// On the request, the client's `x-request-id` is taken off and kept, sanitized, as a
/// [`ClientRequestId`](crate::ClientRequestId) (logged and audited as `client_request_id`); the
/// server's id, from [`RequestUuids`] unless [`with_ids`](Self::with_ids) names another maker,
/// goes in the `x-request-id` header and as tower-http's `RequestId` extension, where
/// [`request_id`](crate::request_id) and every palisade layer read it. On the response, a
/// handler's own `x-request-id` is kept; otherwise the server's id is added, and the response's
/// extensions get the `RequestId` as tower-http's layer gives them.
///
/// ```
/// use axum::{Router, body::Body, routing::get};
/// use http::Request;
/// use palisade_http::{RequestIdLayer, request_id};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let app = Router::new()
///     .route("/", get(|request: Request<Body>| async move {
///         request_id(request.extensions(), request.headers()).unwrap_or_default()
///     }))
///     .layer(RequestIdLayer::new());
///
/// let request = Request::get("/").header("x-request-id", "chosen-by-client").body(Body::empty())?;
/// let response = app.oneshot(request).await?;
/// let id = response.headers()["x-request-id"].to_str()?.to_owned();
/// assert_ne!(id, "chosen-by-client");
/// assert_eq!(id.len(), 36); // a version 4 UUID, hyphenated
/// let body = axum::body::to_bytes(response.into_body(), 64).await?;
/// assert_eq!(body, id.as_bytes()); // the handler saw the same id
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestIdLayer<M = RequestUuids> {
    make: M,
}

impl RequestIdLayer {
    /// The layer, with ids from [`RequestUuids`].
    pub fn new() -> Self {
        Self::default()
    }
}

impl<M> RequestIdLayer<M> {
    /// The layer, with ids from `make` (any tower-http `MakeRequestId`). When `make` returns
    /// `None`, the request goes on without an id, as with `SetRequestIdLayer`.
    pub fn with_ids(make: M) -> Self {
        Self { make }
    }
}

impl<S, M: Clone> Layer<S> for RequestIdLayer<M> {
    type Service = RequestIdService<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService {
            inner,
            make: self.make.clone(),
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestIdService<S, M = RequestUuids> {
    inner: S,
    make: M,
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for RequestIdService<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: MakeRequestId,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ReturnId>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        keep_client_id(&mut request);
        let id = self.make.make_request_id(&request);
        if let Some(id) = &id {
            request
                .headers_mut()
                .insert(header_name(), id.header_value().clone());
            request.extensions_mut().insert(id.clone());
        }
        ResponseFuture::new(self.inner.call(request), ReturnId(id))
    }
}

/// The hook that puts the request's id on its response.
#[derive(Debug)]
pub struct ReturnId(Option<RequestId>);

impl<B, E> OnResult<Response<B>, E> for ReturnId {
    fn on_result(self, result: &mut Result<Response<B>, E>) {
        let Ok(response) = result else { return };
        // The handler's own id stands, as with tower-http's `PropagateRequestIdLayer`.
        match response.headers().get(header_name()) {
            Some(own) => {
                if response.extensions().get::<RequestId>().is_none() {
                    let own = RequestId::new(own.clone());
                    response.extensions_mut().insert(own);
                }
            }
            None => {
                if let Some(id) = self.0 {
                    response
                        .headers_mut()
                        .insert(header_name(), id.header_value().clone());
                    response.extensions_mut().insert(id);
                }
            }
        }
    }
}
