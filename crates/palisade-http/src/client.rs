//! The client's address: the peer the server saw, and the client behind trusted proxies.

use std::net::{IpAddr, SocketAddr};

use http::Extensions;

/// The peer's socket address as the server accepted it (the TCP peer, possibly a proxy).
///
/// Servers put it in each request's extensions: axum does with its own `ConnectInfo` type
/// when served through `into_make_service_with_connect_info`; use
/// [`ClientIpLayer::peer_from`](crate::ClientIpLayer::peer_from) to read that, or insert a
/// `PeerAddr` yourself in a hyper service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// The client's address as this service determined it (after trusted-proxy resolution), put in
/// request extensions by [`ClientIpLayer`](crate::ClientIpLayer) and read by the logging,
/// audit and rate-limiting layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The key a client's requests are counted under (its address, or its IPv6 prefix), put in
/// request extensions by [`ClientIpLayer`](crate::ClientIpLayer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(pub std::sync::Arc<str>);

/// The request came from a peer the deployment trusts as a proxy, so its forwarding headers
/// (`X-Forwarded-Proto`, `Forwarded: proto=`) describe the client's connection. Put in request
/// extensions by [`ClientIpLayer`](crate::ClientIpLayer) when its resolver
/// ([`ResolveClient::is_trusted_proxy`](crate::ResolveClient::is_trusted_proxy)) trusts the
/// peer; any copy already there is removed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrustedProxy;

/// The best known client address: [`ClientIp`] if resolved, else the [`PeerAddr`]'s address.
pub fn client_addr(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<PeerAddr>().map(|p| p.0.ip()))
}

/// An IPv4 address as text, written on the stack without the formatting machinery, which
/// costs more than the rest of a request's bookkeeping.
struct V4Text {
    buf: [u8; 15],
    len: usize,
}

impl V4Text {
    fn new(v4: std::net::Ipv4Addr) -> Self {
        let mut text = Self {
            buf: [0; 15],
            len: 0,
        };
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                text.push(b'.');
            }
            if octet >= 100 {
                text.push(b'0' + octet / 100);
            }
            if octet >= 10 {
                text.push(b'0' + octet / 10 % 10);
            }
            text.push(b'0' + octet % 10);
        }
        text
    }

    fn push(&mut self, b: u8) {
        // At most 15 bytes: four octets of up to three digits and three dots.
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn as_str(&self) -> &str {
        // Digits and dots only.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// `ip` as text, exactly as its `Display` writes it.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => V4Text::new(v4).as_str().to_owned(),
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// [`ip_text`] in a shared string: `known` itself if it holds that text already (the
/// request's [`ClientKey`] usually does), else a new one, with one allocation for an IPv4
/// address.
pub(crate) fn ip_arc(ip: IpAddr, known: Option<&std::sync::Arc<str>>) -> std::sync::Arc<str> {
    let reuse = |text: &str| known.filter(|k| ***k == *text).cloned();
    match ip {
        IpAddr::V4(v4) => {
            let text = V4Text::new(v4);
            let text = text.as_str();
            reuse(text).unwrap_or_else(|| std::sync::Arc::from(text))
        }
        IpAddr::V6(v6) => {
            let text = v6.to_string();
            reuse(&text).unwrap_or_else(|| std::sync::Arc::from(text))
        }
    }
}

/// The authenticated subject, put in request extensions by
/// [`BearerLayer`](crate::BearerLayer) beside the verified claims; the per-user rate-limit key
/// and the audit actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(pub std::sync::Arc<str>);

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    proptest::proptest! {
        #[test]
        fn ip_text_is_display(v4 in proptest::num::u32::ANY, v6 in proptest::num::u128::ANY) {
            let v4 = IpAddr::V4(Ipv4Addr::from(v4));
            proptest::prop_assert_eq!(ip_text(v4), v4.to_string());
            proptest::prop_assert_eq!(&*ip_arc(v4, None), v4.to_string());
            let other: std::sync::Arc<str> = std::sync::Arc::from("192.0.2.1/24");
            proptest::prop_assert_eq!(&*ip_arc(v4, Some(&other)), v4.to_string());
            let same: std::sync::Arc<str> = std::sync::Arc::from(v4.to_string());
            proptest::prop_assert!(std::sync::Arc::ptr_eq(&ip_arc(v4, Some(&same)), &same));
            let v6 = IpAddr::V6(Ipv6Addr::from(v6));
            proptest::prop_assert_eq!(ip_text(v6), v6.to_string());
            proptest::prop_assert_eq!(&*ip_arc(v6, None), v6.to_string());
            let same: std::sync::Arc<str> = std::sync::Arc::from(v6.to_string());
            proptest::prop_assert!(std::sync::Arc::ptr_eq(&ip_arc(v6, Some(&same)), &same));
        }
    }
}
