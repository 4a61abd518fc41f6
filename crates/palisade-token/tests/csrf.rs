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
        host: Some("api.example"),
    }
}

/// The header combinations browsers send, for a service at `https://api.example` whose
/// single-page app is served from the trusted `https://app.example`.
#[test]
fn fetch_metadata_decisions() {
    let policy = OriginPolicy::new(["https://app.example", "https://admin.example:8443"]).unwrap();
    let api = Some("https://api.example");
    let app = Some("https://app.example");
    let evil = Some("https://evil.example");
    let cases = [
        // Safe methods pass whatever their origin.
        (req("GET", Some("cross-site"), evil, None), Decision::Allow),
        (req("HEAD", Some("cross-site"), None, None), Decision::Allow),
        // The page's own scripts and forms: `same-origin` with its own Origin.
        (req("post", Some("same-origin"), api, None), Decision::Allow),
        // Typed in the address bar or a bookmark: `none`, no Origin.
        (req("POST", Some("none"), None, None), Decision::Allow),
        // The trusted single-page app: `same-site` (app.example.com to api.example.com) or
        // `cross-site` (another registrable domain), always with its Origin.
        (req("POST", Some("same-site"), app, None), Decision::Allow),
        (req("POST", Some("cross-site"), app, None), Decision::Allow),
        (
            req(
                "PUT",
                Some("cross-site"),
                Some("https://admin.example:8443"),
                None,
            ),
            Decision::Allow,
        ),
        // Anyone else's page, or a sibling subdomain that is not trusted.
        (req("POST", Some("cross-site"), evil, None), Decision::Deny),
        (
            req(
                "POST",
                Some("same-site"),
                Some("https://blog.api.example"),
                None,
            ),
            Decision::Deny,
        ),
        (req("POST", Some("same-site"), None, None), Decision::Deny),
        (
            req("POST", Some("cross-site"), Some("null"), None),
            Decision::Deny,
        ),
        (
            req(
                "POST",
                Some("cross-site"),
                Some("https://app.example.evil"),
                None,
            ),
            Decision::Deny,
        ),
        // A Referer is no substitute for the Origin once Sec-Fetch-Site says cross-site.
        (
            req(
                "POST",
                Some("cross-site"),
                None,
                Some("https://app.example/"),
            ),
            Decision::Deny,
        ),
        (req("DELETE", Some("bogus"), None, None), Decision::Deny),
        (req("DELETE", Some("bogus"), app, None), Decision::Allow),
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

/// Browsers without Fetch Metadata: the Origin against the Host, then the trusted list; then
/// the Referer's origin; then nothing, and the token decides.
#[test]
fn origin_and_referer_fallback_decisions() {
    let policy = OriginPolicy::new(["https://app.example", "https://admin.example:8443"]).unwrap();
    let api = Some("https://api.example");
    let app = Some("https://app.example");
    let cases = [
        (req("POST", None, api, None), Decision::Allow),
        (
            req("POST", None, Some("HTTPS://API.EXAMPLE"), None),
            Decision::Allow,
        ),
        (req("POST", None, app, None), Decision::Allow),
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
            req("POST", None, Some("https://api.example:8443"), None),
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
            req("PUT", None, None, Some("https://api.example/form")),
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
}

/// Without a `Host` (a request that names none), only the trusted list admits an `Origin`.
#[test]
fn origin_without_host_needs_the_trusted_list() {
    let policy = OriginPolicy::new(["https://app.example"]).unwrap();
    let mut request = req("POST", None, Some("https://api.example"), None);
    request.host = None;
    assert_eq!(policy.check(&request), Decision::Deny);
    request.origin = Some("https://app.example");
    assert_eq!(policy.check(&request), Decision::Allow);
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
