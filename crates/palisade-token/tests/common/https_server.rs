//! A JWKS server on 127.0.0.1 for the remote-JWKS tests and bench: HTTPS with a certificate
//! from a test CA made by rcgen, or plain HTTP. It counts the requests it answers, and what it
//! answers can be changed while it runs.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A test CA and a server certificate it issued for 127.0.0.1 and `localhost`.
pub struct Pki {
    /// The CA certificate, to trust.
    pub ca_pem: String,
    /// The server's TLS configuration (its certificate and key).
    pub server: Arc<ServerConfig>,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        leaf.distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone()], key)
            .unwrap();
        Self {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
    /// Waits this long before answering (to make concurrent callers overlap).
    pub delay: Duration,
}

impl Reply {
    pub fn jwks(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            cache_control: None,
            delay: Duration::ZERO,
        }
    }

    pub fn max_age(mut self, seconds: u64) -> Self {
        self.cache_control = Some(format!("public, max-age={seconds}"));
        self
    }

    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay = Duration::from_millis(ms);
        self
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: b"{\"error\":\"unavailable\"}".to_vec(),
            cache_control: None,
            delay: Duration::ZERO,
        }
    }
}

/// A running server; stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    tls: bool,
    hits: Arc<AtomicUsize>,
    reply: Arc<Mutex<Reply>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// An HTTPS server with `pki`'s certificate. Call from within a Tokio runtime.
    pub async fn https(pki: &Pki, reply: Reply) -> Self {
        Self::start(Some(TlsAcceptor::from(pki.server.clone())), reply).await
    }

    /// A plain HTTP server.
    pub async fn http(reply: Reply) -> Self {
        Self::start(None, reply).await
    }

    async fn start(tls: Option<TlsAcceptor>, reply: Reply) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let reply = Arc::new(Mutex::new(reply));
        let is_tls = tls.is_some();
        let (task_hits, task_reply) = (hits.clone(), reply.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (hits, reply, tls) = (task_hits.clone(), task_reply.clone(), tls.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (hits, reply) = (hits.clone(), reply.clone());
                        async move { Ok::<_, Infallible>(answer(&req, &hits, &reply).await) }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            // A client that refuses the certificate ends here: not a hit.
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            tls: is_tls,
            hits,
            reply,
            task,
        }
    }

    /// The URL of the JWKS on this server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/.well-known/jwks.json", self.addr)
    }

    /// How many requests it has answered.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Answers `reply` from now on.
    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    req: &Request<Incoming>,
    hits: &AtomicUsize,
    reply: &Mutex<Reply>,
) -> Response<Full<Bytes>> {
    hits.fetch_add(1, Ordering::SeqCst);
    let reply = reply.lock().unwrap().clone();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    assert_eq!(req.uri().path(), "/.well-known/jwks.json");
    let mut response = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cc) = reply.cache_control {
        response = response.header(header::CACHE_CONTROL, cc);
    }
    response.body(Full::new(Bytes::from(reply.body))).unwrap()
}
