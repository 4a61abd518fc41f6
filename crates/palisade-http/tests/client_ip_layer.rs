//! "`ClientIpLayer` removes any client address already on the request and derives it from the
//! peer address" (`docs/threat-model.md`): a `ClientIp` or `ClientKey` inserted before the
//! layer, by a misbehaving outer layer or a framework extractor, never reaches the layers inside.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use http::{HeaderMap, Request};
use palisade_http::{ClientIp, ClientIpLayer, ClientKey, PeerAddr, ResolveClient};
use tower::{Layer as _, ServiceExt as _, service_fn};

const SPOOFED: &str = "203.0.113.66";

/// The client address and key the layers inside see.
async fn seen_inside(
    layer: ClientIpLayer,
    request: Request<()>,
) -> (Option<IpAddr>, Option<String>) {
    let inner = service_fn(|request: Request<()>| async move {
        Ok::<_, Infallible>((
            request.extensions().get::<ClientIp>().map(|c| c.0),
            request
                .extensions()
                .get::<ClientKey>()
                .map(|k| k.0.to_string()),
        ))
    });
    layer
        .layer(inner)
        .oneshot(request)
        .await
        .expect("infallible")
}

fn spoofed(peer: Option<&str>) -> Request<()> {
    let mut request = Request::builder()
        .uri("/")
        .header("x-forwarded-for", SPOOFED)
        .body(())
        .expect("request");
    let ip: IpAddr = SPOOFED.parse().expect("address");
    request.extensions_mut().insert(ClientIp(ip));
    request
        .extensions_mut()
        .insert(ClientKey(Arc::from(SPOOFED)));
    if let Some(peer) = peer {
        request
            .extensions_mut()
            .insert(PeerAddr(peer.parse::<SocketAddr>().expect("peer")));
    }
    request
}

#[tokio::test]
async fn client_ip_layer_replaces_an_address_already_on_the_request() {
    let (ip, key) = seen_inside(ClientIpLayer::new(), spoofed(Some("192.0.2.10:5000"))).await;
    assert_eq!(ip, Some("192.0.2.10".parse().expect("address")));
    assert_eq!(key.as_deref(), Some("192.0.2.10"));
}

#[tokio::test]
async fn client_ip_layer_drops_an_address_already_on_the_request_when_there_is_no_peer() {
    let (ip, key) = seen_inside(ClientIpLayer::new(), spoofed(None)).await;
    assert_eq!(
        ip, None,
        "no peer: no client address at all, not the spoofed one"
    );
    assert_eq!(key, None);
}

/// A resolver that trusts a proxy and reads the client from a header of its own.
struct BehindProxy;

impl ResolveClient for BehindProxy {
    fn resolve(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        headers
            .get("x-real-client")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| peer.ip())
    }

    fn key(&self, client: IpAddr) -> String {
        format!("net:{client}")
    }
}

#[tokio::test]
async fn client_ip_layer_replaces_a_spoofed_address_with_the_resolvers_answer() {
    let mut request = spoofed(Some("10.0.0.1:443"));
    request
        .headers_mut()
        .insert("x-real-client", "198.51.100.7".parse().expect("value"));
    let (ip, key) = seen_inside(ClientIpLayer::new().resolver(BehindProxy), request).await;
    assert_eq!(ip, Some("198.51.100.7".parse().expect("address")));
    assert_eq!(key.as_deref(), Some("net:198.51.100.7"));
}
