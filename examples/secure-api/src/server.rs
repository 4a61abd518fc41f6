//! The HTTP/1.1 server around the service: hyper's connection settings (the header-read timeout,
//! which also ends idle keep-alive connections), the connection caps per client and in all
//! (`connections.rs`), tower-http's request and body timeouts, tower's concurrency limit, and a
//! graceful shutdown on SIGTERM or Ctrl-C. With TLS (`tls.rs`) each accepted connection is
//! handshaken first, within the header-read timeout.

use std::{convert::Infallible, future::Future, pin::pin, time::Duration};

use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::ConnectInfo,
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::{GracefulShutdown, Watcher},
    service::TowerToHyperService,
};
use palisade_http::{
    Problem,
    tower_http::timeout::{DeadlineBody, RequestBodyDeadlineLayer, TimeoutLayer},
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tower::{
    BoxError, Service, ServiceBuilder, ServiceExt as _, limit::GlobalConcurrencyLimitLayer,
};

use crate::{
    config::Config,
    connections::{ConnectionGate, Refused},
};

/// The most a request head (request line and headers) may take: hyper answers a larger one
/// with 431 and closes the connection (without it, only hyper's read buffer of about 400 KiB
/// bounds a head, which lets one connection make the service hold that much).
const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// The time limits and the concurrency limit, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    header_read: Duration,
    body_read: Duration,
    request: Duration,
    concurrent: usize,
    shutdown_grace: Duration,
}

impl Limits {
    pub(crate) fn from_config(config: &Config) -> Self {
        Self {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            body_read: Duration::from_secs(config.body_read_timeout_secs),
            request: Duration::from_secs(config.request_timeout_secs),
            concurrent: config.max_concurrent_requests,
            shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        }
    }
}

/// What the server answers requests with: a service that answers every request (its errors
/// already made responses) and can be cloned onto every connection's task.
pub(crate) trait AppService:
    Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> AppService for S where
    S: Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// The service inside the request-level limits: a request beyond the concurrency limit is
/// answered 503 at once (load shedding, not a queue), a body not complete within the body
/// timeout fails to read, and a request not answered within the request timeout is answered
/// 408.
pub(crate) fn limited<S>(service: S, limits: Limits) -> impl AppService
where
    S: AppService,
{
    ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        // One semaphore for every request of every connection.
        .layer(GlobalConcurrencyLimitLayer::new(limits.concurrent))
        .layer(RequestBodyDeadlineLayer::new(limits.body_read))
        .map_request(|request: Request<DeadlineBody<Body>>| request.map(Body::new))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request,
        ))
        .service(service)
}

async fn overloaded(_: BoxError) -> Response {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_detail("The service is at capacity; retry shortly.")
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response::<Body>()
        .into_response()
}

/// Resolves on SIGTERM (what an orchestrator sends) or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Accepts connections on `listener` and serves `service` on each until `shutdown` resolves;
/// then stops accepting, lets in-flight requests finish (up to the shutdown grace) and
/// returns. A connection `gate` refuses is closed at once, before anything is read from it.
/// With `tls`, a connection is served only once its handshake completes, which must happen
/// within the header-read timeout; a failed or slow handshake closes it.
pub(crate) async fn run<S>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: Limits,
    gate: ConnectionGate,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) where
    S: AppService,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .max_header_size(MAX_REQUEST_HEAD_BYTES)
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match gate.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refused) => {
                // Dropping the stream closes it; the client sees the connection end at once.
                tracing::debug!(
                    target: "secure_api::server",
                    reason = match refused {
                        Refused::Client => "max_connections_per_client",
                        Refused::Total => "max_connections",
                    },
                    "connection refused"
                );
                drop(stream);
                continue;
            }
        };
        let service = service
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(&http, watcher, stream, service).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(&http, watcher, stream, service).await,
                        Ok(Err(e)) => {
                            tracing::debug!(target: "secure_api::tls", error = %e, "handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(target: "secure_api::tls", "handshake timed out");
                        }
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests still running after the shutdown grace; dropped");
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends; a graceful shutdown lets
/// its request in flight finish.
async fn serve_connection<I, S>(
    http: &hyper::server::conn::http1::Builder,
    watcher: Watcher,
    io: I,
    service: S,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(target: "secure_api::server", error = %e, "connection ended");
    }
}

/// A failed `accept`: a connection reset before it was taken costs nothing; running out of
/// file descriptors is logged and waited out, so the loop does not spin.
async fn accept_error(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
