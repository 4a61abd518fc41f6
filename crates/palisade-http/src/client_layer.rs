//! `ClientIpLayer`: resolves the client's address once per request.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    task::{Context, Poll},
};

use http::{Extensions, HeaderMap, Request};
use tower::Service;

use crate::client::{ClientIp, ClientKey, PeerAddr, TrustedProxy};
use crate::service::layer_service;

/// Finds the client behind the proxies a deployment trusts.
///
/// palisade-ratelimit's trusted-proxy configuration implements it; without one, the client
/// is the peer and forwarding headers are ignored (a client can write any `X-Forwarded-For`).
pub trait ResolveClient: Send + Sync + 'static {
    /// The client's address, given the TCP peer and the request headers.
    fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr;

    /// The key a client's requests are counted under: the address itself by default; an
    /// IPv6 prefix (a subscriber's whole block) for palisade-ratelimit's resolver.
    fn key(&self, client: IpAddr) -> String {
        crate::client::ip_text(client)
    }

    /// [`key`](Self::key) as the shared string [`ClientKey`] holds. The default copies
    /// `key`'s `String`; an implementation can write the text once, straight into the shared
    /// string (the default `key` and palisade-ratelimit's resolver do).
    fn shared_key(&self, client: IpAddr) -> Arc<str> {
        Arc::from(self.key(client))
    }

    /// Whether `peer` is a proxy whose forwarding headers are believed; `false` by default.
    fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        let _ = peer;
        false
    }
}

/// Trusts no proxy: the client is the peer.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerOnly;

impl ResolveClient for PeerOnly {
    fn resolve(&self, peer: SocketAddr, _headers: &HeaderMap) -> IpAddr {
        peer.ip()
    }

    fn shared_key(&self, client: IpAddr) -> Arc<str> {
        crate::client::ip_arc(client, None)
    }
}

type PeerFrom = fn(&Extensions) -> Option<SocketAddr>;

fn peer_extension(extensions: &Extensions) -> Option<SocketAddr> {
    extensions.get::<PeerAddr>().map(|p| p.0)
}

/// Puts a [`ClientIp`] and a [`ClientKey`] in each request's extensions, for the logging, audit and rate-limit
/// layers inside it, and [`TrustedProxy`] when the peer is a trusted proxy (so
/// [`SecurityHeadersLayer`](crate::SecurityHeadersLayer) believes its `X-Forwarded-Proto`).
///
/// The peer address is read with [`peer_from`](Self::peer_from) (by default from a
/// [`PeerAddr`] extension); with axum served through `into_make_service_with_connect_info`:
///
/// ```
/// use std::net::SocketAddr;
/// use axum::extract::ConnectInfo;
/// use palisade_http::ClientIpLayer;
///
/// let layer = ClientIpLayer::new()
///     .peer_from(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
/// # let _ = layer;
/// ```
///
/// A request without a peer address gets no `ClientIp`; the rate-limit layer then refuses it
/// rather than share one bucket among every such request.
#[derive(Clone)]
pub struct ClientIpLayer {
    resolver: Arc<dyn ResolveClient>,
    peer_from: PeerFrom,
}

impl fmt::Debug for ClientIpLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIpLayer").finish_non_exhaustive()
    }
}

impl Default for ClientIpLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientIpLayer {
    /// The client is the peer ([`PeerOnly`]); the peer comes from a [`PeerAddr`] extension.
    pub fn new() -> Self {
        Self {
            resolver: Arc::new(PeerOnly),
            peer_from: peer_extension,
        }
    }

    /// How the client is found behind trusted proxies.
    #[must_use]
    pub fn resolver(mut self, resolver: impl ResolveClient) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// Where the peer address is read from.
    #[must_use]
    pub fn peer_from(mut self, peer_from: fn(&Extensions) -> Option<SocketAddr>) -> Self {
        self.peer_from = peer_from;
        self
    }
}

layer_service! {
    /// The service of [`ClientIpLayer`].
    pub struct ClientIpService<S> of ClientIpLayer;
}

impl<S, ReqBody> Service<Request<ReqBody>> for ClientIpService<S>
where
    S: Service<Request<ReqBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // A value already on the request never survives: only this layer decides. Each one
        // is replaced by its insert, or removed where nothing is inserted.
        let extensions = request.extensions_mut();
        let Some(peer) = (self.layer.peer_from)(extensions) else {
            extensions.remove::<ClientIp>();
            extensions.remove::<ClientKey>();
            extensions.remove::<TrustedProxy>();
            return self.inner.call(request);
        };
        if self.layer.resolver.is_trusted_proxy(peer.ip()) {
            extensions.insert(TrustedProxy);
        } else {
            extensions.remove::<TrustedProxy>();
        }
        let ip = self.layer.resolver.resolve(peer, request.headers());
        let key = self.layer.resolver.shared_key(ip);
        let extensions = request.extensions_mut();
        extensions.insert(ClientIp(ip));
        extensions.insert(ClientKey(key));
        if extensions.get::<PeerAddr>().is_none() {
            extensions.insert(PeerAddr(peer));
        }
        self.inner.call(request)
    }
}
