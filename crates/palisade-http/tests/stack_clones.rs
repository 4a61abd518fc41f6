//! How axum serves a stack, over real HTTP on loopback (three requests on one keep-alive
//! connection): a served stack is cloned for every request, by axum (each route's layered
//! service) and by hyper's service adapter (the service given to `axum::serve`), which is why
//! the layers keep their settings behind one `Arc`; and a `Router` not turned into services
//! first (`with_state(())`) applies its layers again for every request.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, ServiceExt, extract::Request, routing::get};
use tokio::net::TcpListener;
use tower::{Service, layer::layer_fn};

/// A service that counts its clones.
struct Counted<S> {
    inner: S,
    clones: Arc<AtomicUsize>,
}

impl<S: Clone> Clone for Counted<S> {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Self {
            inner: self.inner.clone(),
            clones: Arc::clone(&self.clones),
        }
    }
}

impl<S: Service<R>, R> Service<R> for Counted<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.inner.call(request)
    }
}

/// Sends `GET /` on `stream` and reads the answer through its body, `ok`.
fn get_ok(stream: &mut TcpStream) {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .expect("request written");
    let mut answer = Vec::new();
    let mut buffer = [0; 1024];
    while !(answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"\r\n\r\nok")) {
        let read = stream.read(&mut buffer).expect("an answer within 10 s");
        assert!(read > 0, "the server closed the connection: {answer:?}");
        answer.extend_from_slice(&buffer[..read]);
    }
}

/// What serving three requests did, after a first one on the same connection.
#[derive(Debug)]
struct Counts {
    /// Times the route's layer was applied to a handler's service.
    applied: usize,
    /// Clones of the layered route.
    route_clones: usize,
    /// Clones of the service handed to `axum::serve`.
    service_clones: usize,
}

/// Serves a one-route router, wrapped in an outer counted service, through
/// `axum::ServiceExt::into_make_service` over loopback (after `with_state(())` when
/// `with_state`), and counts what three requests on one keep-alive connection do to it.
async fn serve_three(with_state: bool) -> Counts {
    let counters: [Arc<AtomicUsize>; 3] = Default::default();
    let [applied, route_clones, service_clones] = counters.clone();
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer_fn(move |inner| {
            applied.fetch_add(1, Ordering::SeqCst);
            Counted {
                inner,
                clones: Arc::clone(&route_clones),
            }
        }));
    // What `axum::serve(listener, router)` and `Router::into_make_service` do: each handler
    // and the layers around it become a service once.
    let router = if with_state {
        router.with_state(())
    } else {
        router
    };
    let service = Counted {
        inner: router,
        clones: service_clones,
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        axum::serve(listener, ServiceExt::<Request>::into_make_service(service)).await
    });

    // The client blocks on its own thread while the server runs on the runtime's.
    let read = counters.clone();
    let now = move || read.each_ref().map(|c| c.load(Ordering::SeqCst));
    let [applied, route_clones, service_clones] = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connected");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        // The first request on the connection, and what serving it did, count as set-up.
        get_ok(&mut stream);
        let before = now();
        for _ in 0..3 {
            get_ok(&mut stream);
        }
        let after = now();
        [0, 1, 2].map(|i| after[i] - before[i])
    })
    .await
    .expect("the client ran");
    Counts {
        applied,
        route_clones,
        service_clones,
    }
}

/// Why palisade-http's layers keep their settings behind one reference count.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn axum_and_hyper_clone_the_stack_for_every_request() {
    let counts = serve_three(true).await;
    assert_eq!(counts.applied, 0, "{counts:?}");
    assert!(counts.route_clones >= 3, "{counts:?}");
    assert!(counts.service_clones >= 3, "{counts:?}");
}

/// The README's advice to serve the `Router` itself, or to call `with_state(())` before
/// wrapping it: otherwise axum applies every route's layers again for each request.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_router_served_without_with_state_applies_its_layers_for_every_request() {
    let counts = serve_three(false).await;
    assert!(counts.applied >= 3, "{counts:?}");
    assert!(counts.service_clones >= 3, "{counts:?}");
}
