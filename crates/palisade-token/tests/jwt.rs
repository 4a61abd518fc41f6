//! Issuing and verifying: round trips for every algorithm, time rules on a manual clock, key
//! rotation, JWKS export and import, and the API the command-line tool uses.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use palisade_token::clock::ManualClock;
use palisade_token::jwt::{
    Algorithm, Audience, Claims, Issuer, KeySet, SigningKey, TokenType, Verifier, VerifyingKey,
};
use palisade_token::{ConfigError, ErrorKind};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

fn signing_key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::HS256 => SigningKey::hmac(alg, &common::secret("hs256.hex")),
        Algorithm::HS384 => SigningKey::hmac(alg, &common::secret("hs384.hex")),
        Algorithm::HS512 => SigningKey::hmac(alg, &common::secret("hs512.hex")),
        Algorithm::ES256 => SigningKey::from_pem(alg, &common::key_file("ec_private.pem")),
        Algorithm::ES384 => SigningKey::from_pem(alg, &common::key_file("ec_p384_private.pem")),
        Algorithm::ES512 => SigningKey::from_pem(alg, &common::key_file("ec_p521_private.pem")),
        Algorithm::EdDSA => SigningKey::from_pem(alg, &common::key_file("ed25519_private.pem")),
        _ => SigningKey::from_pem(alg, &common::key_file("rsa_private.pem")),
    }
    .unwrap()
}

fn public_key(alg: Algorithm) -> VerifyingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => signing_key(alg).verifying_key(),
        Algorithm::ES256 => {
            VerifyingKey::from_pem(alg, &common::key_file("ec_public.pem")).unwrap()
        }
        Algorithm::ES384 => {
            VerifyingKey::from_pem(alg, &common::key_file("ec_p384_public.pem")).unwrap()
        }
        Algorithm::ES512 => {
            VerifyingKey::from_pem(alg, &common::key_file("ec_p521_public.pem")).unwrap()
        }
        Algorithm::EdDSA => {
            VerifyingKey::from_pem(alg, &common::key_file("ed25519_public.pem")).unwrap()
        }
        _ => VerifyingKey::from_pem(alg, &common::key_file("rsa_public.pem")).unwrap(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    tenant: String,
    admin: bool,
}

#[test]
fn every_algorithm_round_trips_with_typed_claims() {
    let clock = Arc::new(ManualClock::new(common::NOW));
    for alg in Algorithm::ALL {
        let keys = Arc::new(KeySet::single(signing_key(alg).with_kid("k1").unwrap()));
        let issuer = Issuer::new(keys.clone())
            .unwrap()
            .issuer("https://auth.example")
            .audience("api")
            .typ(TokenType::AccessToken)
            .ttl(Duration::from_secs(300))
            .unwrap()
            .clock(clock.clone());
        let claims = Claims::new(Session {
            tenant: "acme".into(),
            admin: false,
        })
        .subject("alice")
        .scope("orders:read orders:write")
        .role("support");
        let token = issuer.issue(claims).unwrap();

        // Verified by the public key alone, from PEM.
        let public = KeySet::verify_only(public_key(alg).with_kid("k1").unwrap());
        let verifier = Verifier::new(public)
            .issuer("https://auth.example")
            .audience("api")
            .typ(TokenType::AccessToken)
            .require_jti()
            .clock(clock.clone());
        let got = verifier.verify::<Session>(&token).unwrap();
        assert_eq!(
            got.custom,
            Session {
                tenant: "acme".into(),
                admin: false
            },
            "{alg}"
        );
        assert_eq!(got.sub.as_deref(), Some("alice"));
        assert_eq!(got.iat, Some(common::NOW));
        assert_eq!(got.exp, Some(common::NOW + 300));
        assert_eq!(got.aud, Some(Audience::One("api".into())));
        assert!(got.has_scopes(&["orders:read", "orders:write"]));
        assert!(!got.has_scope("orders"));
        assert!(got.has_role("support") && !got.has_role("admin"));
        assert!(got.jti.as_ref().is_some_and(|j| j.len() >= 22));

        // Header as promised.
        let header: Value =
            serde_json::from_slice(&base64_decode(token.split('.').next().unwrap())).unwrap();
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "kid": "k1", "typ": "at+jwt"})
        );

        // Expires exactly at exp.
        clock.set(common::NOW + 299);
        assert!(verifier.verify_json(&token).is_ok());
        clock.set(common::NOW + 300);
        assert_eq!(
            verifier.verify_json(&token).unwrap_err().kind(),
            ErrorKind::Expired
        );
        clock.set(common::NOW);
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[test]
fn rotation_without_downtime() {
    let clock = Arc::new(ManualClock::new(common::NOW));
    let old = SigningKey::from_pem(Algorithm::ES256, &common::key_file("ec_private.pem"))
        .unwrap()
        .with_kid("2026-10")
        .unwrap();
    let keys_v1 = Arc::new(KeySet::single(old));
    let issuer = Issuer::new(keys_v1.clone()).unwrap().clock(clock.clone());
    let verifier = Verifier::new(keys_v1.clone()).clock(clock.clone());
    let old_token = issuer.issue(Claims::empty().subject("a")).unwrap();

    // Step 1: the next key is added and becomes the signer; the old one verifies only.
    let next = SigningKey::from_pem(Algorithm::EdDSA, &common::key_file("ed25519_private.pem"))
        .unwrap()
        .with_kid("2026-11")
        .unwrap();
    let keys_v2 = Arc::new(keys_v1.rotated(next).unwrap());
    assert_eq!(keys_v2.len(), 2);
    assert_eq!(keys_v2.signing_key().unwrap().kid(), Some("2026-11"));
    let issuer = issuer.with_keys(keys_v2.clone()).unwrap();
    let verifier = verifier.with_keys(keys_v2.clone());
    let new_token = issuer.issue(Claims::empty().subject("b")).unwrap();
    assert!(verifier.verify_json(&old_token).is_ok());
    assert!(verifier.verify_json(&new_token).is_ok());

    // The JWKS lists both public keys, no private parameters.
    let jwks = keys_v2.to_jwks();
    let listed: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["2026-10", "2026-11"]);
    assert!(!jwks.to_string().contains("\"d\""));
    let remote = Verifier::new(KeySet::from_jwks(&jwks.to_string()).unwrap()).clock(clock.clone());
    assert!(remote.verify_json(&old_token).is_ok());
    assert!(remote.verify_json(&new_token).is_ok());

    // Step 2: once the old tokens have expired, the old key is retired.
    let keys_v3 = keys_v2.without("2026-10").unwrap();
    let verifier = verifier.with_keys(keys_v3);
    assert_eq!(
        verifier.verify_json(&old_token).unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert!(verifier.verify_json(&new_token).is_ok());
}

#[test]
fn key_set_rules() {
    let a = SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    let b = VerifyingKey::hmac(Algorithm::HS256, &[2; 32]).unwrap();
    // Two unnamed keys: ambiguous.
    assert!(matches!(
        KeySet::single(a).with_verifying_key(b.clone()),
        Err(ConfigError::MissingKid)
    ));
    let named = KeySet::new()
        .with_verifying_key(b.clone().with_kid("x").unwrap())
        .unwrap();
    assert!(matches!(
        named
            .clone()
            .with_verifying_key(b.clone().with_kid("x").unwrap()),
        Err(ConfigError::DuplicateKid(_))
    ));
    assert!(matches!(
        named.without("nope"),
        Err(ConfigError::UnknownKid(_))
    ));
    assert!(b.clone().with_kid("").is_err());
    assert!(b.clone().with_kid("a\nb").is_err());
    assert!(b.with_kid("k".repeat(257)).is_err());
    assert!(matches!(Issuer::new(named), Err(ConfigError::NoSigningKey)));
    // A lone unnamed key verifies tokens naming any kid; a named one only its own.
    let clock = Arc::new(ManualClock::new(common::NOW));
    let payload = format!(r#"{{"exp":{}}}"#, common::NOW + 60);
    let token = common::forge_hs256(r#"{"alg":"HS256","kid":"whatever"}"#, &payload, &[1; 32]);
    let lone = KeySet::verify_only(VerifyingKey::hmac(Algorithm::HS256, &[1; 32]).unwrap());
    assert!(
        Verifier::new(lone)
            .clock(clock.clone())
            .verify_json(&token)
            .is_ok()
    );
    let named = KeySet::verify_only(
        VerifyingKey::hmac(Algorithm::HS256, &[1; 32])
            .unwrap()
            .with_kid("k")
            .unwrap(),
    );
    let err = Verifier::new(named)
        .clock(clock)
        .verify_json(&token)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    // HMAC secrets never appear in a JWKS.
    let hs = KeySet::single(SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap());
    assert_eq!(hs.to_jwks(), json!({"keys": []}));
}

#[test]
fn jwks_import_skips_what_it_cannot_use() {
    let ec = KeySet::verify_only(public_key(Algorithm::ES256).with_kid("ec").unwrap()).to_jwks();
    let mut doc = ec.clone();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.push(json!({"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"}));
    keys.push(json!({"kty":"EC","crv":"secp256k1","kid":"k256","x":"AA","y":"AA"}));
    keys.push(json!({"kty":"OKP","crv":"X25519","kid":"x25519","x":"AA"}));
    keys.push(json!({"kty":"RSA","alg":"RSA-OAEP","kid":"oaep","n":"AQAB","e":"AQAB"}));
    let set = KeySet::from_jwks(&doc.to_string()).unwrap();
    assert_eq!(set.len(), 1);
    assert!(KeySet::from_jwks("not json").is_err());
    assert!(KeySet::from_jwks(r#"{"keys":[]}"#).is_err());
    assert!(KeySet::from_jwks(r#"{"nokeys":1}"#).is_err());
}

#[test]
fn parsing_algorithm_names() {
    for alg in Algorithm::ALL {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
    }
    for bad in ["none", "hs256", "es512", "ES521", "PS1024", "Ed25519", ""] {
        assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
    }
}

/// What the command-line tool does: sign extra claims given as JSON with a key from a file,
/// then verify with a public key, a JWKS file or the secret, printing the claims as JSON.
#[test]
fn command_line_style_sign_and_verify() {
    let alg: Algorithm = "ES256".parse().unwrap();
    let key = SigningKey::from_pem(alg, &common::key_file("ec_private.pem"))
        .unwrap()
        .with_kid("cli")
        .unwrap();
    let issuer = Issuer::new(KeySet::single(key))
        .unwrap()
        .issuer("cli-test")
        .audience("svc")
        .ttl(Duration::from_secs(60))
        .unwrap();
    let extra: Map<String, Value> = serde_json::from_str(r#"{"tenant":"acme","n":[1,2]}"#).unwrap();
    let token = issuer.issue(Claims::new(extra).subject("bob")).unwrap();

    let by_pem = Verifier::new(KeySet::verify_only(
        VerifyingKey::from_pem(alg, &common::key_file("ec_public.pem"))
            .unwrap()
            .with_kid("cli")
            .unwrap(),
    ))
    .issuer("cli-test")
    .audience("svc");
    let claims = by_pem.verify_json(&token).unwrap();
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["n"], json!([1, 2]));
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["iss"], "cli-test");

    let jwks = KeySet::verify_only(
        VerifyingKey::from_pem(alg, &common::key_file("ec_public.pem"))
            .unwrap()
            .with_kid("cli")
            .unwrap(),
    )
    .to_jwks()
    .to_string();
    let by_jwks = Verifier::new(KeySet::from_jwks(&jwks).unwrap()).audience("svc");
    assert_eq!(by_jwks.verify_json(&token).unwrap(), claims);

    // HMAC from a secret file's bytes.
    let secret = common::secret("hs256.hex");
    let hs = Issuer::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, &secret).unwrap(),
    ))
    .unwrap();
    let token = hs
        .sign_value(&json!({"sub":"x","exp": 4_000_000_000_u64}))
        .unwrap();
    let v = Verifier::new(KeySet::verify_only(
        VerifyingKey::hmac(Algorithm::HS256, &secret).unwrap(),
    ));
    assert_eq!(
        v.verify_json(&token).unwrap(),
        json!({"sub":"x","exp":4_000_000_000_u64})
    );
    assert!(hs.sign_value(&json!([1])).is_err());
}

#[test]
fn fractional_numeric_dates_are_truncated() {
    let v = Verifier::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, common::SECRET).unwrap(),
    ))
    .clock(Arc::new(ManualClock::new(common::NOW)));
    let token = common::forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(
            r#"{{"exp":{}.75,"iat":{}.5}}"#,
            common::NOW + 10,
            common::NOW
        ),
        common::SECRET,
    );
    let claims = v.verify::<Value>(&token).unwrap();
    assert_eq!(claims.exp, Some(common::NOW + 10));
    assert_eq!(claims.iat, Some(common::NOW));
}

#[test]
fn settings_are_range_checked() {
    let keys = Arc::new(KeySet::single(
        SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap(),
    ));
    assert!(
        Verifier::new(keys.clone())
            .leeway(Duration::from_secs(301))
            .is_err()
    );
    assert!(Verifier::new(keys.clone()).max_token_bytes(10).is_err());
    assert!(
        Issuer::new(keys.clone())
            .unwrap()
            .ttl(Duration::ZERO)
            .is_err()
    );
    let v = Verifier::new(keys.clone())
        .leeway(Duration::ZERO)
        .unwrap()
        .clock(Arc::new(ManualClock::new(common::NOW)));
    let token = common::forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(
            r#"{{"exp":{},"nbf":{}}}"#,
            common::NOW + 10,
            common::NOW + 1
        ),
        &[1; 32],
    );
    assert_eq!(
        v.verify_json(&token).unwrap_err().kind(),
        ErrorKind::NotYetValid
    );
}

#[test]
fn debug_output_never_shows_keys() {
    let key = SigningKey::hmac(Algorithm::HS256, b"super secret value, 32 bytes long").unwrap();
    let verifying = key.verifying_key();
    let first = format!("{key:?}");
    let shown = format!("{first} {verifying:?} {:?}", KeySet::single(key));
    assert!(!shown.contains("super secret"), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn custom_claims_round_trip(tenant in "\\PC{0,40}", admin in any::<bool>(), sub in "[a-z0-9]{1,20}") {
        let keys = Arc::new(KeySet::single(SigningKey::hmac(Algorithm::HS256, &[5; 32]).unwrap()));
        let token = Issuer::new(keys.clone()).unwrap()
            .issue(Claims::new(Session { tenant: tenant.clone(), admin }).subject(sub.clone()))
            .unwrap();
        let got = Verifier::new(keys).verify::<Session>(&token).unwrap();
        prop_assert_eq!(got.custom, Session { tenant, admin });
        prop_assert_eq!(got.sub, Some(sub));
    }

    #[test]
    fn arbitrary_input_is_rejected_without_panicking(token in "\\PC{0,200}") {
        let keys = KeySet::single(SigningKey::hmac(Algorithm::HS256, &[5; 32]).unwrap());
        prop_assert!(Verifier::new(keys).verify_json(&token).is_err());
    }

    #[test]
    fn any_single_byte_change_is_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..6) {
        let keys = Arc::new(KeySet::single(SigningKey::hmac(Algorithm::HS256, &[5; 32]).unwrap()));
        let token = Issuer::new(keys.clone()).unwrap().issue(Claims::empty().subject("s")).unwrap();
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(changed) = String::from_utf8(bytes)
            && changed != token
        {
            // A flipped bit may land on a base64 character's unused trailing bits; strict
            // decoding rejects those too, so every change fails.
            prop_assert!(Verifier::new(keys).verify_json(&changed).is_err());
        }
    }
}

/// The registered claims `verify` reads into typed fields.
const REGISTERED: [&str; 9] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "roles",
];

fn application_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
        Just(Value::Null),
        Just(json!([1, "x", {"y": null}])),
        Just(json!({"a": {"b": 2.5}})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// `verify` reads the payload once, straight into `Claims`; what it returns must be what
    /// `verify_json` sees, registered and application claims alike.
    #[test]
    fn typed_claims_agree_with_the_json_payload(
        sub in proptest::option::of("[a-z]{0,8}"),
        iss in proptest::option::of("[a-z]{1,8}"),
        jti in proptest::option::of("[a-z0-9]{1,8}"),
        scope in proptest::option::of("[a-z ]{0,12}"),
        roles in proptest::collection::vec("[a-z]{1,5}", 0..3),
        aud_many in any::<bool>(),
        fraction in any::<bool>(),
        nbf in any::<bool>(),
        mut extra in proptest::collection::btree_map("[a-z_]{1,6}", application_value(), 0..4),
    ) {
        extra.retain(|name, _| !REGISTERED.contains(&name.as_str()));
        let mut payload: Map<String, Value> = extra.into_iter().collect();
        let exp = if fraction {
            serde_json::from_str(&format!("{}.5", common::NOW + 100)).unwrap()
        } else {
            json!(common::NOW + 100)
        };
        payload.insert("exp".into(), exp);
        payload.insert("iat".into(), json!(common::NOW));
        if nbf {
            payload.insert("nbf".into(), json!(common::NOW - 5));
        }
        let aud = if aud_many { json!(["other", "api"]) } else { json!("api") };
        payload.insert("aud".into(), aud);
        for (name, value) in [("sub", sub), ("iss", iss), ("jti", jti), ("scope", scope)] {
            if let Some(value) = value {
                payload.insert(name.into(), Value::from(value));
            }
        }
        if !roles.is_empty() {
            payload.insert("roles".into(), json!(roles));
        }
        let token = common::forge_hs256(
            r#"{"alg":"HS256"}"#,
            &Value::Object(payload).to_string(),
            common::SECRET,
        );
        let v = Verifier::new(KeySet::single(
            SigningKey::hmac(Algorithm::HS256, common::SECRET).unwrap(),
        ))
        .audience("api")
        .clock(Arc::new(ManualClock::new(common::NOW)));
        let whole = v.verify_json(&token).unwrap();
        let claims = v.verify::<Map<String, Value>>(&token).unwrap();
        prop_assert_eq!(serde_json::to_value(&claims).unwrap(), whole.clone());
        prop_assert_eq!(claims.exp, Some(common::NOW + 100));
        // The application's claims are exactly the members that are not registered ones.
        let mut custom = whole.as_object().unwrap().clone();
        custom.retain(|name, _| !REGISTERED.contains(&name.as_str()));
        prop_assert_eq!(claims.custom, custom);
    }
}

/// Reading the claims in one pass keeps the order of the checks: the signature and the
/// registered claims first, the required claims next, and the types of `roles` and of the
/// application's claims (which `verify_json` does not look at) last.
#[test]
fn claim_types_are_judged_after_the_claim_checks() {
    #[derive(Debug, Deserialize)]
    struct Tenant {
        tenant: String,
    }
    let v = || {
        Verifier::new(KeySet::single(
            SigningKey::hmac(Algorithm::HS256, common::SECRET).unwrap(),
        ))
        .clock(Arc::new(ManualClock::new(common::NOW)))
    };
    let token =
        |payload: String| common::forge_hs256(r#"{"alg":"HS256"}"#, &payload, common::SECRET);
    let (live, dead) = (common::NOW + 600, common::NOW - 1);

    let bad_roles = token(format!(r#"{{"exp":{live},"roles":5}}"#));
    assert_eq!(
        v().verify::<Map<String, Value>>(&bad_roles)
            .unwrap_err()
            .kind(),
        ErrorKind::BadClaim
    );
    assert!(v().verify_json(&bad_roles).is_ok());
    let expired = token(format!(r#"{{"exp":{dead},"roles":5}}"#));
    assert_eq!(
        v().verify::<Map<String, Value>>(&expired)
            .unwrap_err()
            .kind(),
        ErrorKind::Expired
    );
    let null_roles = token(format!(r#"{{"exp":{live},"roles":null}}"#));
    let requiring = v().require_claims(["roles"]);
    assert_eq!(
        requiring
            .verify::<Map<String, Value>>(&null_roles)
            .unwrap_err()
            .kind(),
        ErrorKind::MissingClaim
    );

    let bad_tenant = token(format!(r#"{{"exp":{live},"tenant":5}}"#));
    assert_eq!(
        v().verify::<Tenant>(&bad_tenant).unwrap_err().kind(),
        ErrorKind::BadClaim
    );
    let expired = token(format!(r#"{{"exp":{dead},"tenant":5}}"#));
    assert_eq!(
        v().verify::<Tenant>(&expired).unwrap_err().kind(),
        ErrorKind::Expired
    );
    let good = token(format!(r#"{{"exp":{live},"tenant":"acme"}}"#));
    assert_eq!(v().verify::<Tenant>(&good).unwrap().custom.tenant, "acme");
    // A duplicate is refused as malformed even when its first copy is badly typed.
    let twice = token(format!(r#"{{"exp":"x","exp":{live}}}"#));
    assert_eq!(
        v().verify_json(&twice).unwrap_err().kind(),
        ErrorKind::Malformed
    );
}
