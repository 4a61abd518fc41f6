//! "Loopback, private, CGNAT, link-local, unspecified, multicast, broadcast, documentation,
//! benchmarking, reserved, site-local, Teredo and discard ranges are refused"
//! (`docs/threat-model.md`): the list is read from the document, every range it names must have
//! a row here, and each row's first and last addresses are refused in SSRF mode, as literals
//! and, for IPv4, in the IPv6 forms that carry them and in the integer form.

use std::net::IpAddr;

use palisade_sanitize::url::{AddressClass, UrlError, UrlPolicy};

/// The sentence of the threat model that lists the ranges.
const LISTED: &str = "ranges are refused.";

/// Each range the document names: (name as written, addresses in it, the class reported).
const RANGES: &[(&str, &[&str], AddressClass)] = &[
    (
        "Loopback",
        &["127.0.0.0", "127.0.0.1", "127.255.255.255", "::1"],
        AddressClass::Loopback,
    ),
    (
        "private",
        &[
            "10.0.0.0",
            "10.255.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.168.0.0",
            "192.168.255.255",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ],
        AddressClass::Private,
    ),
    (
        "CGNAT",
        &["100.64.0.0", "100.127.255.255"],
        AddressClass::Private,
    ),
    (
        "link-local",
        &[
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ],
        AddressClass::LinkLocal,
    ),
    (
        "unspecified",
        &["0.0.0.0", "0.255.255.255", "::"],
        AddressClass::Unspecified,
    ),
    (
        "multicast",
        &[
            "224.0.0.0",
            "239.255.255.255",
            "ff00::",
            "ff02::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ],
        AddressClass::Multicast,
    ),
    ("broadcast", &["255.255.255.255"], AddressClass::Multicast),
    (
        "documentation",
        &[
            "192.0.2.0",
            "192.0.2.255",
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.0",
            "203.0.113.255",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        ],
        AddressClass::Reserved,
    ),
    (
        "benchmarking",
        &[
            "198.18.0.0",
            "198.19.255.255",
            "2001:2::",
            "2001:2:0:ffff:ffff:ffff:ffff:ffff",
        ],
        AddressClass::Reserved,
    ),
    (
        "reserved",
        &[
            "240.0.0.0",
            "255.255.255.254",
            "192.0.0.0",
            "192.0.0.255",
            "192.88.99.0",
            "192.88.99.255",
            "4000::1",
            "fe00::1",
        ],
        AddressClass::Reserved,
    ),
    (
        "site-local",
        &["fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
        AddressClass::Reserved,
    ),
    (
        "Teredo",
        &["2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"],
        AddressClass::Reserved,
    ),
    (
        "discard",
        &["100::", "100::ffff:ffff:ffff:ffff"],
        AddressClass::Reserved,
    ),
];

/// Just outside the ranges above: public, so the rows are not refusing everything.
const PUBLIC_NEIGHBOURS: &[&str] = &[
    "1.0.0.0",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.255",
    "192.0.3.0",
    "192.88.98.255",
    "192.88.100.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "198.51.99.255",
    "198.51.101.0",
    "203.0.112.255",
    "203.0.114.0",
    "223.255.255.255",
    "2001:200::1",
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db9::",
    "2606:4700::1111",
];

fn ssrf() -> UrlPolicy {
    UrlPolicy::new()
        .deny_private_addresses(true)
        .resolver(|_: &str, _: u16| Err(std::io::Error::other("no DNS in tests")))
}

/// The names in the threat model's list, as written.
fn listed_ranges() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/threat-model.md");
    let text = std::fs::read_to_string(path).expect("docs/threat-model.md");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = flat
        .find(LISTED)
        .expect("the threat model lists the refused ranges");
    let start = flat[..end].rfind(". ").map_or(0, |i| i + 2);
    flat[start..end]
        .replace(" and ", ", ")
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The URL host forms an address can be written in.
fn forms(ip: IpAddr) -> Vec<String> {
    match ip {
        IpAddr::V6(v6) => vec![format!("[{v6}]")],
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            vec![
                v4.to_string(),
                u32::from(v4).to_string(),
                format!("[::ffff:{v4}]"),
                format!("[64:ff9b::{v4}]"),
                format!("[2002:{:02x}{:02x}:{:02x}{:02x}::]", a, b, c, d),
            ]
        }
    }
}

#[test]
fn every_range_the_threat_model_lists_has_a_row() {
    let listed = listed_ranges();
    assert!(listed.len() >= 10, "{listed:?}");
    for name in &listed {
        assert!(
            RANGES.iter().any(|(n, _, _)| n == name),
            "the threat model lists {name:?}, which has no row here"
        );
    }
    for (name, _, _) in RANGES {
        assert!(
            listed.iter().any(|l| l == name),
            "{name} has a row but the threat model does not list it: {listed:?}"
        );
    }
}

#[test]
fn ssrf_mode_refuses_every_listed_range_in_every_form() {
    let policy = ssrf();
    for (name, addresses, class) in RANGES {
        for address in *addresses {
            let ip: IpAddr = address.parse().expect(address);
            for host in forms(ip) {
                let url = format!("http://{host}/");
                let got = policy.check(&url);
                assert_eq!(
                    got,
                    Err(UrlError::ForbiddenAddress { class: *class }),
                    "{name}: {url}"
                );
            }
        }
    }
}

#[test]
fn addresses_just_outside_the_ranges_are_public() {
    let policy = ssrf();
    for address in PUBLIC_NEIGHBOURS {
        let ip: IpAddr = address.parse().expect(address);
        for host in forms(ip) {
            let url = format!("http://{host}/");
            let got = policy.check(&url);
            assert!(
                got.as_ref().is_ok_and(|u| u.checked_addrs().len() == 1),
                "{url}: {got:?}"
            );
        }
    }
}
