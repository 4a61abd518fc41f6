//! Client addresses: spoofed forwarding headers from untrusted peers are ignored, the
//! rightmost untrusted hop wins, IPv6 is grouped.

use std::net::IpAddr;

use palisade_ratelimit::client_ip::{ClientIpResolver, ForwardedHeader};
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn xff() -> ClientIpResolver {
    ClientIpResolver::new(
        ["10.0.0.0/8", "2001:db8:ffff::/48"],
        ForwardedHeader::XForwardedFor,
    )
    .expect("resolver")
}

#[test]
fn untrusted_peer_headers_are_ignored() {
    let r = xff();
    let peer = ip("198.51.100.9");
    assert_eq!(r.resolve(peer, ["1.2.3.4"]), peer);
    let fwd = ClientIpResolver::new(["10.0.0.0/8"], ForwardedHeader::Forwarded).expect("resolver");
    assert_eq!(fwd.resolve(peer, ["for=1.2.3.4"]), peer);
}

#[test]
fn leftmost_spoofed_entry_is_not_taken() {
    let r = xff();
    // The client sent "X-Forwarded-For: 1.1.1.1"; our proxy appended the real address.
    let got = r.resolve(ip("10.0.0.2"), ["1.1.1.1, 203.0.113.50"]);
    assert_eq!(got, ip("203.0.113.50"));
    // Across several header lines and trusted hops.
    let got = r.resolve(ip("10.0.0.2"), ["6.6.6.6, 203.0.113.50", "10.1.1.1"]);
    assert_eq!(got, ip("203.0.113.50"));
}

#[test]
fn all_trusted_yields_leftmost_and_unknown_stops_at_the_proxy() {
    let r = xff();
    assert_eq!(
        r.resolve(ip("10.0.0.2"), ["10.9.9.9, 10.0.0.1"]),
        ip("10.9.9.9")
    );
    assert_eq!(
        r.resolve(ip("10.0.0.2"), ["1.1.1.1, garbage, 10.0.0.1"]),
        ip("10.0.0.1")
    );
    assert_eq!(
        r.resolve(ip("10.0.0.2"), std::iter::empty()),
        ip("10.0.0.2")
    );
}

#[test]
fn forwarded_rfc7239() {
    let r = ClientIpResolver::new(["10.0.0.0/8"], ForwardedHeader::Forwarded).expect("resolver");
    let got = r.resolve(
        ip("10.0.0.2"),
        [r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.7"#],
    );
    assert_eq!(got, ip("2001:db8:cafe::17"));
    // An X-Forwarded-For-only resolver does not read Forwarded syntax as addresses.
    assert_eq!(
        xff().resolve(ip("10.0.0.2"), ["for=6.6.6.6"]),
        ip("10.0.0.2")
    );
}

#[test]
fn ipv6_clients_group_by_prefix() {
    let r = xff();
    let a = r.resolve_key(ip("10.0.0.2"), ["2001:db8:1:100::1"]);
    let b = r.resolve_key(ip("10.0.0.2"), ["2001:db8:1:1ff::2"]);
    assert_eq!(a, b, "same /56");
    let r64 = xff().with_ipv6_prefix(64).expect("prefix");
    assert_ne!(
        r64.resolve_key(ip("10.0.0.2"), ["2001:db8:1:100::1"]),
        r64.resolve_key(ip("10.0.0.2"), ["2001:db8:1:1ff::2"])
    );
    assert!(xff().with_ipv6_prefix(129).is_err());
    // IPv4-mapped IPv6 peers are IPv4.
    assert_eq!(
        r.resolve(ip("::ffff:198.51.100.1"), ["1.2.3.4"]),
        ip("198.51.100.1")
    );
}

#[cfg(feature = "http")]
#[test]
fn reads_a_header_map() {
    let mut headers = http::HeaderMap::new();
    headers.append(
        "x-forwarded-for",
        "9.9.9.9, 203.0.113.5".parse().expect("value"),
    );
    headers.append("forwarded", "for=7.7.7.7".parse().expect("value"));
    assert_eq!(
        xff().resolve_headers(ip("10.0.0.1"), &headers),
        ip("203.0.113.5")
    );
    assert_eq!(
        xff().resolve_headers(ip("8.8.8.8"), &headers),
        ip("8.8.8.8")
    );
}

proptest! {
    /// Whatever an untrusted client writes into the header, the answer is an address it does
    /// not control only if a trusted proxy vouched for it: the result is either the peer, a
    /// hop a trusted proxy appended, or a trusted proxy.
    #[test]
    fn client_prefix_cannot_change_the_answer(spoof in "[ -~]{0,200}") {
        let r = xff();
        let honest = r.resolve(ip("10.0.0.2"), ["203.0.113.50"]);
        let spoofed = format!("{spoof}, 203.0.113.50");
        prop_assert_eq!(r.resolve(ip("10.0.0.2"), [spoofed.as_str()]), honest);
        prop_assert_eq!(r.resolve(ip("198.51.100.1"), [spoof.as_str()]), ip("198.51.100.1"));
    }
}
