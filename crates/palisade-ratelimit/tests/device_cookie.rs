//! Device cookies: only an unexpired cookie issued for the same account under the same key is
//! accepted; every change to one is refused.

use palisade_ratelimit::login::{DeviceCookieErrorKind, DeviceCookies};
use proptest::prelude::*;
use secrecy::SecretBox;

const NOW: u64 = 1_800_000_000;

fn cookies(byte: u8) -> DeviceCookies {
    DeviceCookies::new(SecretBox::new(vec![byte; 32].into_boxed_slice())).expect("key")
}

fn kind(c: &DeviceCookies, account: &str, cookie: &str, at: u64) -> Option<DeviceCookieErrorKind> {
    c.verify_at(account, cookie, at).err().map(|e| e.kind())
}

#[test]
fn a_cookie_is_accepted_for_its_account_until_it_expires() {
    let c = cookies(1);
    let cookie = c.issue_at("alice", NOW).expect("issue");
    let id = c.verify_at("alice", &cookie, NOW).expect("valid");
    assert_eq!(c.verify_at("alice", &cookie, NOW + 1).expect("valid"), id);
    let ttl = c.ttl().as_secs();
    assert!(c.verify_at("alice", &cookie, NOW + ttl - 1).is_ok());
    assert_eq!(
        kind(&c, "alice", &cookie, NOW + ttl),
        Some(DeviceCookieErrorKind::Expired)
    );
}

#[test]
fn a_cookie_for_another_account_is_refused() {
    let c = cookies(1);
    let cookie = c.issue_at("alice", NOW).expect("issue");
    for other in ["bob", "Alice", "alice ", ""] {
        assert_eq!(
            kind(&c, other, &cookie, NOW),
            Some(DeviceCookieErrorKind::BadSignature),
            "{other:?}"
        );
    }
}

#[test]
fn a_cookie_under_another_key_is_refused() {
    let cookie = cookies(1).issue_at("alice", NOW).expect("issue");
    assert_eq!(
        kind(&cookies(2), "alice", &cookie, NOW),
        Some(DeviceCookieErrorKind::BadSignature)
    );
}

#[test]
fn malformed_cookies_are_refused_without_panicking() {
    let c = cookies(1);
    let long = "A".repeat(10_000);
    for bad in ["", ".", "abc", "a.b", "%%%.%%%", long.as_str()] {
        assert_eq!(
            kind(&c, "alice", bad, NOW),
            Some(DeviceCookieErrorKind::Malformed),
            "{bad:?}"
        );
    }
    let e = c.verify_at("alice", "x", NOW).expect_err("refused");
    assert_eq!(e.to_string(), "invalid device cookie");
}

#[test]
fn each_cookie_names_a_new_device() {
    let c = cookies(1);
    let a = c.issue_at("alice", NOW).expect("issue");
    let b = c.issue_at("alice", NOW).expect("issue");
    assert_ne!(a, b);
    assert_ne!(
        c.verify_at("alice", &a, NOW).expect("valid"),
        c.verify_at("alice", &b, NOW).expect("valid")
    );
}

proptest! {
    #[test]
    fn a_tampered_cookie_is_refused(at in any::<prop::sample::Index>(), to in any::<char>()) {
        let c = cookies(3);
        let cookie = c.issue_at("alice", NOW).expect("issue");
        let chars: Vec<char> = cookie.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != to);
        let mut tampered = chars.clone();
        tampered[i] = to;
        let tampered: String = tampered.into_iter().collect();
        prop_assert!(c.verify_at("alice", &tampered, NOW).is_err());
    }
}
