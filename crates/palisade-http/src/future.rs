//! The futures the layers' services return.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::Response;

use crate::ResponseBody;

pub use crate::{errors::SanitizeFuture, rate::AppendFields};

/// A boxed, sendable future: what a layer returns when its check must await something of its
/// own (a verifier or limiter that does I/O, a server error's body).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs once on the inner service's result, before it is handed back.
pub trait OnResult<T, E> {
    /// Inspects or changes the result.
    fn on_result(self, result: &mut Result<T, E>);
}

/// No hook: the result passes unchanged.
impl<T, E> OnResult<T, E> for () {
    fn on_result(self, _result: &mut Result<T, E>) {}
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

pin_project_lite::pin_project! {
    /// The future of a layer that checks a request and then either passes it on (the inner
    /// service's future, its body wrapped in [`ResponseBody`], with an optional hook on the
    /// result), answers it itself (a refusal, ready at once), or, only when its check must
    /// await I/O, runs a boxed future.
    ///
    /// Checks that need no I/O (a JWT verified in memory, a rate limit on the in-process
    /// backend) are decided in `call`, so the allow path costs no allocation of its own.
    pub struct LayerFuture<F, B, E, H = ()> {
        #[pin]
        state: State<F, B, E, H>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B, E, H> {
        Inner {
            #[pin]
            future: F,
            hook: Option<H>,
        },
        Ready {
            response: Option<Response<ResponseBody<B>>>,
        },
        Boxed {
            future: BoxFuture<Result<Response<ResponseBody<B>>, E>>,
        },
    }
}

impl<F, B, E, H> fmt::Debug for LayerFuture<F, B, E, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Ready { .. } => "ready",
            State::Boxed { .. } => "boxed",
        };
        f.debug_struct("LayerFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, B, E> LayerFuture<F, B, E> {
    /// The inner service's future, passed on unchanged.
    pub(crate) fn passed(future: F) -> Self {
        Self::with_hook(future, ())
    }
}

impl<F, B, E, H> LayerFuture<F, B, E, H> {
    /// The inner service's future, with `hook` run on its result.
    pub(crate) fn with_hook(future: F, hook: H) -> Self {
        Self {
            state: State::Inner {
                future,
                hook: Some(hook),
            },
        }
    }

    /// The layer's own answer.
    pub(crate) fn ready(response: Response<ResponseBody<B>>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    /// A check that awaits I/O, then the inner service.
    pub(crate) fn boxed(future: BoxFuture<Result<Response<ResponseBody<B>>, E>>) -> Self {
        Self {
            state: State::Boxed { future },
        }
    }
}

impl<F, B, E, H> Future for LayerFuture<F, B, E, H>
where
    F: Future<Output = Result<Response<B>, E>>,
    H: OnResult<Response<B>, E>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future, hook } => {
                let mut result = ready!(future.poll(cx));
                if let Some(hook) = hook.take() {
                    hook.on_result(&mut result);
                }
                Poll::Ready(result.map(|response| response.map(ResponseBody::inner)))
            }
            StateProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .expect("a LayerFuture is not polled after it completed"))),
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}
