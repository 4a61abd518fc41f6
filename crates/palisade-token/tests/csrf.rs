//! CSRF: signed double-submit tokens and the Fetch Metadata / Origin policy.
#![allow(clippy::unwrap_used, clippy::panic)]

use palisade_token::ErrorKind;
use palisade_token::csrf::{CsrfTokens, Decision, OriginPolicy, RequestOrigin};
use proptest::prelude::*;

const KEY: &[u8] = b"csrf signing key, at least 32 b.";

#[test]
fn double_submit_round_trip() {
    let csrf = CsrfTokens::new(KEY).unwrap();
    let token = csrf.issue("session-1");
    csrf.verify("session-1", &token, &token).unwrap();
    assert_ne!(csrf.issue("session-1"), token, "random per issue");
}

#[test]
fn tokens_are_bound_to_the_session_and_key() {
    let csrf = CsrfTokens::new(KEY).unwrap();
    let token = csrf.issue("session-1");
    let kind = |r: Result<(), palisade_token::InvalidToken>| r.unwrap_err().kind();
    // Another session (an attacker planting their own token in the victim's cookie jar).
    assert_eq!(
        kind(csrf.verify("session-2", &token, &token)),
        ErrorKind::CsrfMismatch
    );
    // Cookie and submitted copy differ.
    let other = csrf.issue("session-1");
    assert_eq!(
        kind(csrf.verify("session-1", &token, &other)),
        ErrorKind::CsrfMismatch
    );
    // Another server key.
    let other_key = CsrfTokens::new(b"some other key, 32 bytes long..!").unwrap();
    assert_eq!(
        kind(other_key.verify("session-1", &token, &token)),
        ErrorKind::CsrfMismatch
    );
    // Unsigned or garbled.
    for bad in [
        "",
        ".",
        "abc",
        "abc.def",
        &format!("{}.", token.split('.').next().unwrap()),
    ] {
        assert_eq!(
            kind(csrf.verify("session-1", bad, bad)),
            ErrorKind::CsrfMismatch,
            "{bad:?}"
        );
    }
    assert!(CsrfTokens::new(&[0; 31]).is_err());
}

fn req<'a>(
    method: &'a str,
    site: Option<&'a str>,
    origin: Option<&'a str>,
    referer: Option<&'a str>,
) -> RequestOrigin<'a> {
    RequestOrigin {
        method,
        sec_fetch_site: site,
        origin,
        referer,
    }
}

#[test]
fn fetch_metadata_decisions() {
    let policy = OriginPolicy::new(["https://app.example", "https://admin.example:8443"]).unwrap();
    let cases = [
        (req("GET", Some("cross-site"), None, None), Decision::Allow),
        (
            req("post", Some("same-origin"), None, None),
            Decision::Allow,
        ),
        (req("POST", Some("none"), None, None), Decision::Allow),
        (
            req(
                "POST",
                Some("cross-site"),
                Some("https://app.example"),
                None,
            ),
            Decision::Deny,
        ),
        (req("POST", Some("same-site"), None, None), Decision::Deny),
        (req("DELETE", Some("bogus"), None, None), Decision::Deny),
        // No Sec-Fetch-Site: Origin decides.
        (
            req("POST", None, Some("https://app.example"), None),
            Decision::Allow,
        ),
        (
            req("POST", None, Some("HTTPS://APP.EXAMPLE"), None),
            Decision::Allow,
        ),
        (
            req("POST", None, Some("https://admin.example:8443"), None),
            Decision::Allow,
        ),
        (
            req("POST", None, Some("https://admin.example"), None),
            Decision::Deny,
        ),
        (
            req("POST", None, Some("https://app.example.evil"), None),
            Decision::Deny,
        ),
        (req("POST", None, Some("null"), None), Decision::Deny),
        // No Origin either: Referer's origin decides.
        (
            req("PUT", None, None, Some("https://app.example/settings?x=1")),
            Decision::Allow,
        ),
        (
            req("PUT", None, None, Some("https://app.example.evil/")),
            Decision::Deny,
        ),
        (
            req("PUT", None, None, Some("https://app.example@evil.example/")),
            Decision::Deny,
        ),
        (req("PUT", None, None, Some("not a url")), Decision::Deny),
        // No signal at all: fall back to the token.
        (req("POST", None, None, None), Decision::RequireToken),
    ];
    for (request, want) in cases {
        assert_eq!(policy.check(&request), want, "{request:?}");
    }
    let lenient = policy.allow_same_site();
    assert_eq!(
        lenient.check(&req("POST", Some("same-site"), None, None)),
        Decision::Allow
    );
}

#[test]
fn origin_list_is_validated() {
    assert!(OriginPolicy::new(["app.example"]).is_err());
    assert!(OriginPolicy::new(["https://app.example/"]).is_err());
    assert!(OriginPolicy::new(["https://"]).is_err());
}

proptest! {
    #[test]
    fn verify_never_panics(session in "\\PC{0,20}", cookie in "\\PC{0,100}") {
        let csrf = CsrfTokens::new(KEY).unwrap();
        prop_assert!(csrf.verify(&session, &cookie, &cookie).is_err());
    }

    #[test]
    fn tokens_verify_only_for_their_session(a in "[a-z0-9]{1,24}", b in "[a-z0-9]{1,24}") {
        let csrf = CsrfTokens::new(KEY).unwrap();
        let t = csrf.issue(&a);
        prop_assert!(csrf.verify(&a, &t, &t).is_ok());
        prop_assert_eq!(csrf.verify(&b, &t, &t).is_ok(), a == b);
    }
}
