//! Why the layers keep their settings behind one `Arc`: a served stack is cloned for every
//! request, by axum (each route's layered service) and by hyper's service adapter (the service
//! given to `axum::serve`). Shown over real HTTP on loopback, three requests on one connection.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn axum_and_hyper_clone_the_stack_for_every_request() {
    let route_clones = Arc::new(AtomicUsize::new(0));
    let service_clones = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&route_clones);
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(layer_fn(move |inner| Counted {
            inner,
            clones: Arc::clone(&counted),
        }))
        // What `axum::serve(listener, router)` does: each handler and the layers around it
        // become a service once, which each request then clones.
        .with_state(());
    let service = Counted {
        inner: router,
        clones: Arc::clone(&service_clones),
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        axum::serve(listener, ServiceExt::<Request>::into_make_service(service)).await
    });

    // The client blocks on its own thread while the server runs on the runtime's.
    let (route_counts, service_counts) = (Arc::clone(&route_clones), Arc::clone(&service_clones));
    let (route_before, service_before) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connected");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        // The first request on the connection, and what serving it cloned, count as set-up.
        get_ok(&mut stream);
        let before = (
            route_counts.load(Ordering::SeqCst),
            service_counts.load(Ordering::SeqCst),
        );
        for _ in 0..3 {
            get_ok(&mut stream);
        }
        before
    })
    .await
    .expect("the client ran");
    let route = route_clones.load(Ordering::SeqCst) - route_before;
    let service = service_clones.load(Ordering::SeqCst) - service_before;
    assert!(
        route >= 3,
        "the route's stack was cloned {route} times for 3 requests"
    );
    assert!(
        service >= 3,
        "the served stack was cloned {service} times for 3 requests"
    );
}
