//! The client's address from the peer address and the forwarding headers, trusting only the
//! proxies the operator listed.
//!
//! Each proxy appends the address it received the request from, so the list is only as
//! trustworthy as the proxy that wrote each entry. Walking from the right (the nearest hop),
//! every address that belongs to a trusted proxy is skipped; the first one that does not is
//! the client. Anything left of it was written by the client itself and is ignored. When the
//! peer is not a trusted proxy, the headers are ignored entirely.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// The most hops read from the right of the forwarding headers; entries beyond it are ignored.
const MAX_HOPS: usize = 64;

/// A forwarding-header configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientIpError {
    /// A trusted network is not an address or `address/prefix`.
    #[error(
        "trusted proxy network {0:?} is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)"
    )]
    InvalidNetwork(String),
    /// A grouping prefix is longer than the address.
    #[error(
        "grouping prefix /{0} is longer than the address family allows (32 for IPv4, 128 for IPv6)"
    )]
    InvalidPrefix(u8),
}

/// An IP network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address.
    ///
    /// # Errors
    ///
    /// [`ClientIpError::InvalidNetwork`].
    pub fn parse(s: &str) -> Result<Self, ClientIpError> {
        let bad = || ClientIpError::InvalidNetwork(s.chars().take(80).collect());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// One entry of a forwarding header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// An address.
    Ip(IpAddr),
    /// `unknown`, an obfuscated identifier, a missing `for=`, or something unparsable.
    Unknown,
}

/// Which forwarding header the trusted proxies set. Only one is read: a header the proxies do
/// not overwrite is under the client's control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// RFC 7239 `Forwarded` (its `for=` parameters).
    #[default]
    Forwarded,
    /// `X-Forwarded-For`.
    XForwardedFor,
}

impl ForwardedHeader {
    /// The header's name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Forwarded => "forwarded",
            Self::XForwardedFor => "x-forwarded-for",
        }
    }
}

/// A client address grouped into the network a limit applies to: IPv4 by /32 and IPv6 by
/// /56 unless configured otherwise (one IPv6 subscriber usually holds a /56 or /64, so
/// per-address IPv6 limits are trivially evaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    network: IpAddr,
    prefix: u8,
}

impl ClientKey {
    /// The network's first address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// Resolves the client address of a request.
#[derive(Debug, Clone)]
pub struct ClientIpResolver {
    trusted: Vec<Network>,
    header: ForwardedHeader,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
}

impl ClientIpResolver {
    /// A resolver trusting the given proxy networks to set `header`. With no trusted networks,
    /// the peer address is always the client.
    ///
    /// # Errors
    ///
    /// [`ClientIpError::InvalidNetwork`].
    pub fn new<'a>(
        trusted: impl IntoIterator<Item = &'a str>,
        header: ForwardedHeader,
    ) -> Result<Self, ClientIpError> {
        let trusted = trusted
            .into_iter()
            .map(Network::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            trusted,
            header,
            ipv4_prefix: 32,
            ipv6_prefix: 56,
        })
    }

    /// Groups IPv6 clients by `prefix` bits (default 56).
    ///
    /// # Errors
    ///
    /// [`ClientIpError::InvalidPrefix`] above 128.
    pub fn with_ipv6_prefix(mut self, prefix: u8) -> Result<Self, ClientIpError> {
        if prefix > 128 {
            return Err(ClientIpError::InvalidPrefix(prefix));
        }
        self.ipv6_prefix = prefix;
        Ok(self)
    }

    /// Groups IPv4 clients by `prefix` bits (default 32).
    ///
    /// # Errors
    ///
    /// [`ClientIpError::InvalidPrefix`] above 32.
    pub fn with_ipv4_prefix(mut self, prefix: u8) -> Result<Self, ClientIpError> {
        if prefix > 32 {
            return Err(ClientIpError::InvalidPrefix(prefix));
        }
        self.ipv4_prefix = prefix;
        Ok(self)
    }

    /// The header this resolver reads.
    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }

    /// The client's address, given the peer address and every value of the configured header
    /// in the order received.
    pub fn resolve<'a>(
        &self,
        peer: IpAddr,
        header_values: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut hops = Vec::new();
        for value in header_values {
            match self.header {
                ForwardedHeader::Forwarded => parse_forwarded(value, &mut hops),
                ForwardedHeader::XForwardedFor => parse_x_forwarded_for(value, &mut hops),
            }
            if hops.len() > MAX_HOPS {
                let excess = hops.len() - MAX_HOPS;
                hops.drain(..excess);
            }
        }
        let mut current = peer;
        for hop in hops.iter().rev() {
            match *hop {
                Hop::Ip(ip) if self.is_trusted(ip) => current = ip,
                Hop::Ip(ip) => return ip,
                // A trusted proxy could not say who sent it the request: the proxy itself is
                // the most specific address we can vouch for.
                Hop::Unknown => return current,
            }
        }
        current
    }

    /// The grouped key for an address.
    pub fn key(&self, ip: IpAddr) -> ClientKey {
        let ip = ip.to_canonical();
        let prefix = if ip.is_ipv4() {
            self.ipv4_prefix
        } else {
            self.ipv6_prefix
        };
        ClientKey {
            network: mask(ip, prefix),
            prefix,
        }
    }

    /// [`resolve`](Self::resolve) then [`key`](Self::key).
    pub fn resolve_key<'a>(
        &self,
        peer: IpAddr,
        header_values: impl IntoIterator<Item = &'a str>,
    ) -> ClientKey {
        self.key(self.resolve(peer, header_values))
    }

    /// [`resolve`](Self::resolve) reading the configured header from a `http::HeaderMap`.
    /// Values that are not valid UTF-8 count as an unknown hop.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn resolve_headers(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        let values = headers
            .get_all(self.header.name())
            .iter()
            .map(|v| v.to_str().unwrap_or("unknown"));
        self.resolve(peer, values)
    }
}

/// Parses one node (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]:80`, `2001:db8::1`).
fn parse_node(node: &str) -> Hop {
    let node = node.trim();
    if let Some(rest) = node.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return Hop::Unknown;
        };
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return match (inside.parse::<Ipv6Addr>(), port_ok) {
            (Ok(v6), true) => Hop::Ip(IpAddr::V6(v6).to_canonical()),
            _ => Hop::Unknown,
        };
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Hop::Ip(ip.to_canonical());
    }
    if let Some((host, port)) = node.split_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v4) = host.parse::<Ipv4Addr>()
    {
        return Hop::Ip(IpAddr::V4(v4));
    }
    Hop::Unknown
}

/// Appends the hops of one `X-Forwarded-For` value.
pub fn parse_x_forwarded_for(value: &str, hops: &mut Vec<Hop>) {
    for node in value.split(',') {
        if node.trim().is_empty() {
            continue;
        }
        hops.push(parse_node(node));
    }
}

/// Appends the `for=` hops of one RFC 7239 `Forwarded` value; an element without `for=` is an
/// unknown hop.
pub fn parse_forwarded(value: &str, hops: &mut Vec<Hop>) {
    let bytes = value.as_bytes();
    let mut i = 0;
    let mut element_for: Option<Hop> = None;
    let mut element_empty = true;
    while i <= bytes.len() {
        // One pair: token "=" (token / quoted-string), or an empty slot.
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !matches!(bytes[i], b'=' | b';' | b',') {
            i += 1;
        }
        let name = value[name_start..i].trim();
        let mut pair_value = None;
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let mut unquoted = String::new();
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if i + 1 < bytes.len() => {
                            unquoted.push(char::from(bytes[i + 1]));
                            i += 2;
                        }
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b => {
                            unquoted.push(char::from(b));
                            i += 1;
                        }
                    }
                }
                pair_value = Some(if closed {
                    unquoted
                } else {
                    String::from("\u{0}")
                });
                while i < bytes.len() && !matches!(bytes[i], b';' | b',') {
                    i += 1;
                }
            } else {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b';' | b',') {
                    i += 1;
                }
                pair_value = Some(value[start..i].trim().to_owned());
            }
        }
        if !name.is_empty() {
            element_empty = false;
        }
        if name.eq_ignore_ascii_case("for") && element_for.is_none() {
            element_for = Some(pair_value.as_deref().map_or(Hop::Unknown, parse_node));
        }
        let end_of_element = i >= bytes.len() || bytes[i] == b',';
        if end_of_element {
            if !element_empty {
                hops.push(element_for.take().unwrap_or(Hop::Unknown));
            }
            element_for = None;
            element_empty = true;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn forwarded_syntax() {
        let mut hops = Vec::new();
        parse_forwarded(
            r#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", for=unknown, proto=https, for="_hidden", for="198.51.100.17:80""#,
            &mut hops,
        );
        assert_eq!(
            hops,
            vec![
                Hop::Ip(ip("192.0.2.60")),
                Hop::Ip(ip("2001:db8:cafe::17")),
                Hop::Unknown,
                Hop::Unknown,
                Hop::Unknown,
                Hop::Ip(ip("198.51.100.17")),
            ]
        );
    }

    #[test]
    fn x_forwarded_for_syntax() {
        let mut hops = Vec::new();
        parse_x_forwarded_for(
            " 203.0.113.7 , [2001:db8::1]:443,10.0.0.1:8080,,garbage",
            &mut hops,
        );
        assert_eq!(
            hops,
            vec![
                Hop::Ip(ip("203.0.113.7")),
                Hop::Ip(ip("2001:db8::1")),
                Hop::Ip(ip("10.0.0.1")),
                Hop::Unknown,
            ]
        );
    }

    #[test]
    fn networks() {
        let n = Network::parse("10.0.0.0/8").expect("cidr");
        assert!(n.contains(ip("10.255.0.1")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(
            n.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped IPv6 is IPv4"
        );
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("nonsense").is_err());
        let all = Network::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains(ip("1.2.3.4")));
    }

    #[test]
    fn groups_ipv6_by_56() {
        let r = ClientIpResolver::new([], ForwardedHeader::Forwarded).expect("resolver");
        let a = r.key(ip("2001:db8:1234:5601::1"));
        let b = r.key(ip("2001:db8:1234:56ff:ffff::9"));
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2001:db8:1234:5600::/56");
        assert_ne!(a, r.key(ip("2001:db8:1234:5700::1")));
        assert_eq!(r.key(ip("203.0.113.9")).to_string(), "203.0.113.9");
    }
}
