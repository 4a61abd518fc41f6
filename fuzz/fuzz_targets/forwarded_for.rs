//! Arbitrary `Forwarded` / `X-Forwarded-For` values through the client-address resolver: no
//! panic; an untrusted peer is always its own client; otherwise the answer is the peer or an
//! address that appears in the parsed hops.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use palisade_ratelimit::client_ip::{
    ClientIpResolver, ForwardedHeader, Hop, parse_forwarded, parse_x_forwarded_for,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let values: Vec<&str> = text.split('\n').collect();
    let header = if selector & 1 == 0 {
        ForwardedHeader::Forwarded
    } else {
        ForwardedHeader::XForwardedFor
    };
    let resolver =
        ClientIpResolver::new(["10.0.0.0/8", "fd00::/8"], header).expect("valid networks");
    let trusted_peer: IpAddr = if selector & 2 == 0 {
        [10, 0, 0, 1].into()
    } else {
        "fd00::1".parse().expect("address")
    };
    let untrusted_peer: IpAddr = [198, 51, 100, 1].into();

    assert_eq!(
        resolver.resolve(untrusted_peer, values.iter().copied()),
        untrusted_peer
    );

    let mut hops = Vec::new();
    for v in &values {
        match header {
            ForwardedHeader::Forwarded => parse_forwarded(v, &mut hops),
            _ => parse_x_forwarded_for(v, &mut hops),
        }
    }
    let got = resolver.resolve(trusted_peer, values.iter().copied());
    assert!(
        got == trusted_peer || hops.contains(&Hop::Ip(got)),
        "{got} not among the hops"
    );
    let _ = resolver.key(got).to_string();
});
