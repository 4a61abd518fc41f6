//! The futures the layers' services return.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use crate::ResponseBody;

/// A boxed, sendable future: what the layers that must await something of their own (a body, a
/// rate-limit decision) return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The inner service's response, passed on unchanged in the layers' body type.
pub(crate) fn passed<F, B, E>(future: F) -> BoxFuture<Result<http::Response<ResponseBody<B>>, E>>
where
    F: Future<Output = Result<http::Response<B>, E>> + Send + 'static,
{
    Box::pin(async move { future.await.map(|r| r.map(ResponseBody::inner)) })
}

/// Runs once on the inner service's result, before it is handed back.
pub trait OnResult<T, E> {
    /// Inspects or changes the result.
    fn on_result(self, result: &mut Result<T, E>);
}

pin_project_lite::pin_project! {
    /// The inner service's future, with a hook run on its result (headers added, a log line
    /// written, an audit record appended).
    #[derive(Debug)]
    pub struct ResponseFuture<F, H> {
        #[pin]
        inner: F,
        hook: Option<H>,
    }
}

impl<F, H> ResponseFuture<F, H> {
    pub(crate) fn new(inner: F, hook: H) -> Self {
        Self {
            inner,
            hook: Some(hook),
        }
    }
}

impl<F, H, T, E> Future for ResponseFuture<F, H>
where
    F: Future<Output = Result<T, E>>,
    H: OnResult<T, E>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if let Some(hook) = this.hook.take() {
            hook.on_result(&mut result);
        }
        Poll::Ready(result)
    }
}
