//! Classification of IP addresses for SSRF protection.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, as far as a server-side fetch is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressClass {
    /// A globally routable unicast address.
    Public,
    /// Loopback: `127.0.0.0/8`, `::1`.
    Loopback,
    /// Private networks: `10/8`, `172.16/12`, `192.168/16`, IPv6 unique local `fc00::/7`,
    /// and carrier-grade NAT `100.64/10`.
    Private,
    /// Link-local: `169.254/16` (cloud metadata services live here), `fe80::/10`.
    LinkLocal,
    /// `0.0.0.0/8` and `::`, which many stacks route to the local host.
    Unspecified,
    /// Multicast and broadcast.
    Multicast,
    /// Documentation, benchmarking, IETF protocol assignments, reserved and deprecated ranges
    /// (`192.0.2/24`, `198.18/15`, `240/4`, `2001:db8::/32`, site-local `fec0::/10`, Teredo,
    /// ...).
    Reserved,
}

impl AddressClass {
    /// A short stable name, for log fields and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies an address. IPv6 addresses that embed an IPv4 address (IPv4-mapped
/// `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`)
/// are classified by the IPv4 address they carry, because that is where a packet can end up.
///
/// ```
/// use palisade_sanitize::url::{AddressClass, classify_ip};
/// assert_eq!(classify_ip("169.254.169.254".parse().unwrap()), AddressClass::LinkLocal);
/// assert_eq!(classify_ip("::ffff:127.0.0.1".parse().unwrap()), AddressClass::Loopback);
/// assert_eq!(classify_ip("93.184.215.14".parse().unwrap()), AddressClass::Public);
/// ```
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b) {
        (0, _) => AddressClass::Unspecified,
        (127, _) => AddressClass::Loopback,
        (10, _) | (192, 168) | (172, 16..=31) | (100, 64..=127) => AddressClass::Private,
        (169, 254) => AddressClass::LinkLocal,
        (224..=239, _) => AddressClass::Multicast,
        (240..=255, _) => {
            if ip == Ipv4Addr::BROADCAST {
                AddressClass::Multicast
            } else {
                AddressClass::Reserved
            }
        }
        (192, 0) if c == 0 || c == 2 => AddressClass::Reserved,
        (198, 18 | 19) => AddressClass::Reserved,
        (198, 51) if c == 100 => AddressClass::Reserved,
        (203, 0) if c == 113 => AddressClass::Reserved,
        (192, 88) if c == 99 => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if s[0] & 0xfe00 == 0xfc00 {
        AddressClass::Private
    } else if s[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if s[0] & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else if s[0] & 0xffc0 == 0xfec0 // site-local, deprecated
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments
        || s[0] & 0xe000 != 0x2000
    // only 2000::/3 is global unicast
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        Some(mapped)
    } else if (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0; 4])
    {
        Some(low) // IPv4-compatible (deprecated), or the NAT64 well-known prefix
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )) // 6to4
    } else {
        None
    }
}

/// Parses an IP address the way browsers and curl read a URL host: IPv4 in one to four parts,
/// each decimal, octal (leading `0`) or hexadecimal (`0x`), so `2130706433`, `0x7f.1` and
/// `0177.0.0.1` are all `127.0.0.1`; IPv6 with or without brackets. Returns `None` for
/// anything that is not an IP address (a host name).
///
/// ```
/// use palisade_sanitize::url::parse_ip_host;
/// assert_eq!(parse_ip_host("0x7f.1"), Some("127.0.0.1".parse().unwrap()));
/// assert_eq!(parse_ip_host("2130706433"), Some("127.0.0.1".parse().unwrap()));
/// assert_eq!(parse_ip_host("[::1]"), Some("::1".parse().unwrap()));
/// assert_eq!(parse_ip_host("example.com"), None);
/// ```
pub fn parse_ip_host(host: &str) -> Option<IpAddr> {
    let bare = host.trim_end_matches('.');
    if let Ok(ip) = bare
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<Ipv6Addr>()
    {
        return Some(IpAddr::V6(ip));
    }
    match url::Host::parse(bare) {
        Ok(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Ok(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify_ip(s.parse().unwrap())
    }

    #[test]
    fn classes() {
        assert_eq!(class("10.1.2.3"), AddressClass::Private);
        assert_eq!(class("172.31.255.255"), AddressClass::Private);
        assert_eq!(class("172.32.0.1"), AddressClass::Public);
        assert_eq!(class("100.64.0.1"), AddressClass::Private);
        assert_eq!(class("0.0.0.0"), AddressClass::Unspecified);
        assert_eq!(class("255.255.255.255"), AddressClass::Multicast);
        assert_eq!(class("192.0.2.1"), AddressClass::Reserved);
        assert_eq!(class("::"), AddressClass::Unspecified);
        assert_eq!(class("::1"), AddressClass::Loopback);
        assert_eq!(class("fd00::1"), AddressClass::Private);
        assert_eq!(class("fe80::1"), AddressClass::LinkLocal);
        assert_eq!(class("ff02::1"), AddressClass::Multicast);
        assert_eq!(class("2001:db8::1"), AddressClass::Reserved);
        assert_eq!(class("::127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("64:ff9b::a9fe:a9fe"), AddressClass::LinkLocal);
        assert_eq!(class("2002:7f00:1::"), AddressClass::Loopback);
        assert_eq!(class("2606:4700::1111"), AddressClass::Public);
        assert_eq!(class("1.1.1.1"), AddressClass::Public);
    }

    #[test]
    fn browser_forms() {
        for form in [
            "127.1",
            "0x7f000001",
            "017700000001",
            "0x7f.0.0.1",
            "127.0.0.1.",
        ] {
            assert_eq!(
                parse_ip_host(form),
                Some("127.0.0.1".parse().unwrap()),
                "{form}"
            );
        }
        assert_eq!(
            parse_ip_host("[::ffff:7f00:1]"),
            Some("::ffff:7f00:1".parse().unwrap())
        );
        assert_eq!(parse_ip_host("localhost"), None);
    }
}
