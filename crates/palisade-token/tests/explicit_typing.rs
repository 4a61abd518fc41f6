//! RFC 8725 §3.11 explicit typing and required claims: a token of another kind, signed by the
//! same key, is never taken for an access token, and no caller sees claims that lack a
//! required member. Each rejection is checked by its `kind()`, the reason logs see.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{NOW, SECRET, forge_hs256};
use palisade_token::clock::ManualClock;
use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier};
use palisade_token::{ConfigError, ErrorKind};
use serde_json::Value;

fn keys() -> Arc<KeySet> {
    Arc::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, SECRET).unwrap(),
    ))
}

fn access_verifier() -> Verifier {
    Verifier::access_tokens(keys()).clock(Arc::new(ManualClock::new(NOW)))
}

fn full_payload() -> String {
    format!(
        r#"{{"sub":"alice","iat":{NOW},"exp":{},"jti":"t-1"}}"#,
        NOW + 600
    )
}

fn kind(v: &Verifier, token: &str) -> ErrorKind {
    v.verify_json(token).unwrap_err().kind()
}

#[test]
fn access_token_preset_accepts_what_the_access_token_issuer_signs() {
    let issuer = Issuer::access_tokens(keys())
        .unwrap()
        .clock(Arc::new(ManualClock::new(NOW)));
    let token = issuer.issue(Claims::empty().subject("alice")).unwrap();
    let claims = access_verifier().verify::<Value>(&token).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    let header = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        token.split('.').next().unwrap(),
    )
    .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["typ"], "at+jwt");
}

#[test]
fn access_token_issuer_refuses_claims_without_a_subject() {
    let issuer = Issuer::access_tokens(keys()).unwrap();
    assert!(matches!(
        issuer.issue(Claims::empty()),
        Err(ConfigError::Claims(_))
    ));
    assert!(matches!(
        issuer.issue(Claims::empty().subject("")),
        Err(ConfigError::Claims(_))
    ));
}

#[test]
fn a_token_of_another_type_signed_by_the_same_key_is_refused() {
    // An ID token or any plain JWT from the same issuer and key, offered as an access token.
    let v = access_verifier();
    let plain = Issuer::new(keys())
        .unwrap()
        .clock(Arc::new(ManualClock::new(NOW)))
        .issue(Claims::empty().subject("alice"))
        .unwrap();
    assert_eq!(kind(&v, &plain), ErrorKind::WrongType);
    for typ in [
        "JWT",
        "id+jwt",
        "logout+jwt",
        "at+jwt ",
        " at+jwt",
        "at+jwt2",
        "application/jwt",
        "text/at+jwt",
        "",
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
        let token = forge_hs256(&header, &full_payload(), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::WrongType, "{typ:?}");
    }
}

#[test]
fn a_token_without_typ_is_refused_when_a_typ_is_required() {
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &full_payload(), SECRET);
    assert_eq!(kind(&access_verifier(), &token), ErrorKind::MissingType);
    assert_eq!(ErrorKind::MissingType.as_str(), "missing_type");
    // Without a configured typ, the header's typ is not required.
    let plain = Verifier::new(keys()).clock(Arc::new(ManualClock::new(NOW)));
    assert!(plain.verify_json(&token).is_ok());
}

#[test]
fn typ_that_is_not_a_string_is_malformed() {
    for typ in ["null", "1", r#"["at+jwt"]"#, r#"{"t":"at+jwt"}"#] {
        let header = format!(r#"{{"alg":"HS256","typ":{typ}}}"#);
        let token = forge_hs256(&header, &full_payload(), SECRET);
        assert_eq!(
            kind(&access_verifier(), &token),
            ErrorKind::Malformed,
            "{typ}"
        );
    }
}

#[test]
fn typ_is_compared_case_insensitively_with_an_optional_application_prefix() {
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
        let token = forge_hs256(&header, &full_payload(), SECRET);
        assert!(access_verifier().verify_json(&token).is_ok(), "{typ}");
    }
}

#[test]
fn access_token_preset_requires_sub_iat_and_jti() {
    let v = access_verifier();
    let exp = NOW + 600;
    for payload in [
        format!(r#"{{"iat":{NOW},"exp":{exp},"jti":"t-1"}}"#),
        format!(r#"{{"sub":"alice","exp":{exp},"jti":"t-1"}}"#),
        format!(r#"{{"sub":"alice","iat":{NOW},"exp":{exp}}}"#),
        format!(r#"{{"sub":"","iat":{NOW},"exp":{exp},"jti":"t-1"}}"#),
        format!(r#"{{"sub":"alice","iat":{NOW},"exp":{exp},"jti":""}}"#),
    ] {
        let token = forge_hs256(r#"{"alg":"HS256","typ":"at+jwt"}"#, &payload, SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::MissingClaim, "{payload}");
    }
    // A null or wrongly typed registered claim is a bad claim, not a missing one.
    let token = forge_hs256(
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        &format!(r#"{{"sub":null,"iat":{NOW},"exp":{exp},"jti":"t-1"}}"#),
        SECRET,
    );
    assert_eq!(kind(&v, &token), ErrorKind::BadClaim);
}

#[test]
fn required_claims_are_checked_before_the_caller_sees_the_claims() {
    let v = Verifier::new(keys())
        .clock(Arc::new(ManualClock::new(NOW)))
        .require_claims(["client_id", "tenant"]);
    let exp = NOW + 600;
    let header = r#"{"alg":"HS256"}"#;
    for payload in [
        format!(r#"{{"exp":{exp},"client_id":"web"}}"#),
        format!(r#"{{"exp":{exp},"client_id":"web","tenant":null}}"#),
        format!(r#"{{"exp":{exp},"client_id":"","tenant":"acme"}}"#),
    ] {
        let token = forge_hs256(header, &payload, SECRET);
        // Typed or as JSON, the caller gets no claims at all.
        assert_eq!(
            v.verify::<Value>(&token).unwrap_err().kind(),
            ErrorKind::MissingClaim
        );
        assert_eq!(kind(&v, &token), ErrorKind::MissingClaim, "{payload}");
    }
    let token = forge_hs256(
        header,
        &format!(r#"{{"exp":{exp},"client_id":"web","tenant":{{"id":7}}}}"#),
        SECRET,
    );
    assert_eq!(v.verify_json(&token).unwrap()["tenant"]["id"], 7);
}

#[test]
fn required_claims_add_up_and_repeat_harmlessly() {
    let v = Verifier::new(keys())
        .clock(Arc::new(ManualClock::new(NOW)))
        .require_claims(["sub"])
        .require_jti()
        .require_claims(["sub", "jti"]);
    let exp = NOW + 600;
    let only_sub = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"sub":"alice"}}"#),
        SECRET,
    );
    assert_eq!(kind(&v, &only_sub), ErrorKind::MissingClaim);
    let both = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"sub":"alice","jti":"t"}}"#),
        SECRET,
    );
    assert!(v.verify_json(&both).is_ok());
}

#[test]
fn explicit_typing_rejections_say_nothing_to_the_caller() {
    let v = access_verifier();
    for header in [r#"{"alg":"HS256"}"#, r#"{"alg":"HS256","typ":"JWT"}"#] {
        let err = v
            .verify_json(&forge_hs256(header, &full_payload(), SECRET))
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid token");
    }
}
