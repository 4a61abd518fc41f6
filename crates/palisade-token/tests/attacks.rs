//! The attack suite: one test per attack class. Each forges a token that is correctly signed
//! (or otherwise as convincing as the attacker can make it) so the rejection is due to the
//! named defence, and asserts the exact `kind()`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{NOW, SECRET, forge_hs256};
use palisade_token::clock::ManualClock;
use palisade_token::jwt::{
    Algorithm, Claims, Issuer, KeySet, SigningKey, TokenType, Verifier, VerifyingKey,
};
use palisade_token::refresh::RefreshTokens;
use palisade_token::revocation::RevocationList;
use palisade_token::store::MemoryStore;
use palisade_token::{ErrorKind, TokenError};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

fn hs_keys() -> KeySet {
    KeySet::single(SigningKey::hmac(Algorithm::HS256, SECRET).unwrap())
}

fn verifier() -> Verifier {
    Verifier::new(hs_keys()).clock(clock())
}

fn good_payload() -> String {
    format!(r#"{{"sub":"alice","exp":{}}}"#, NOW + 600)
}

fn kind(v: &Verifier, token: &str) -> ErrorKind {
    v.verify_json(token).unwrap_err().kind()
}

#[test]
fn baseline_forged_tokens_verify_when_nothing_is_wrong() {
    // The forger produces acceptable tokens; every rejection below is due to one defence.
    let token = forge_hs256(r#"{"alg":"HS256","typ":"JWT"}"#, &good_payload(), SECRET);
    assert!(verifier().verify_json(&token).is_ok());
}

#[test]
fn alg_none_in_every_letter_case() {
    for none in ["none", "None", "NONE", "nOnE", "noNe"] {
        let header = format!(r#"{{"alg":"{none}"}}"#);
        let b64 = |s: &str| common::b64(s.as_bytes());
        for sig in ["", "c2ln"] {
            let token = format!("{}.{}.{sig}", b64(&header), b64(&good_payload()));
            assert_eq!(
                kind(&verifier(), &token),
                ErrorKind::AlgNone,
                "{none} {sig:?}"
            );
        }
    }
}

#[test]
fn hs256_with_the_rsa_public_key_as_secret() {
    let public_pem = common::key_file("rsa_public.pem");
    let keys = KeySet::verify_only(VerifyingKey::from_pem(Algorithm::RS256, &public_pem).unwrap());
    let v = Verifier::new(keys).clock(clock());
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), &public_pem);
    assert_eq!(kind(&v, &token), ErrorKind::AlgorithmMismatch);
}

#[test]
fn hs256_with_the_ec_public_key_as_secret() {
    let public_pem = common::key_file("ec_public.pem");
    let keys = KeySet::verify_only(VerifyingKey::from_pem(Algorithm::ES256, &public_pem).unwrap());
    let v = Verifier::new(keys).clock(clock());
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), &public_pem);
    assert_eq!(kind(&v, &token), ErrorKind::AlgorithmMismatch);
    // The key's JWK form as the secret, too.
    let jwk = KeySet::verify_only(VerifyingKey::from_pem(Algorithm::ES256, &public_pem).unwrap())
        .to_jwks()
        .to_string();
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), jwk.as_bytes());
    assert_eq!(kind(&v, &token), ErrorKind::AlgorithmMismatch);
}

#[test]
fn algorithm_downgrade_within_a_family() {
    // An HS512 key; the attacker relabels a token HS256.
    let secret = [7u8; 64];
    let keys = KeySet::single(SigningKey::hmac(Algorithm::HS512, &secret).unwrap());
    let v = Verifier::new(keys).clock(clock());
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), &secret);
    assert_eq!(kind(&v, &token), ErrorKind::AlgorithmMismatch);
}

#[test]
fn unknown_kid_and_kid_injection() {
    let a = SigningKey::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .with_kid("a")
        .unwrap();
    let b = VerifyingKey::hmac(Algorithm::HS256, &[9u8; 32])
        .unwrap()
        .with_kid("b")
        .unwrap();
    let keys = KeySet::single(a).with_verifying_key(b).unwrap();
    let v = Verifier::new(keys).clock(clock());
    for kid in [
        "c",
        "../../dev/null",
        "a' OR '1'='1",
        "/etc/passwd",
        "A",
        "a ",
        "",
        &"x".repeat(300),
    ] {
        let header = serde_json::json!({ "alg": "HS256", "kid": kid }).to_string();
        let token = forge_hs256(&header, &good_payload(), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::UnknownKey, "{kid:?}");
    }
    // With several keys, a token must name one.
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &token), ErrorKind::UnknownKey);
    // A kid naming the other key does not make the other key's signature acceptable.
    let token = forge_hs256(r#"{"alg":"HS256","kid":"b"}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &token), ErrorKind::BadSignature);
}

#[test]
fn embedded_keys_and_key_urls() {
    let v = verifier();
    let secret_b64 = common::b64(SECRET);
    for member in [
        format!(r#""jwk":{{"kty":"oct","k":"{secret_b64}"}}"#),
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        r#""x5c":["MIIB"]"#.to_owned(),
        r#""x5t":"abc""#.to_owned(),
        r#""x5t#S256":"abc""#.to_owned(),
    ] {
        let header = format!(r#"{{"alg":"HS256",{member}}}"#);
        let token = forge_hs256(&header, &good_payload(), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::EmbeddedKey, "{member}");
    }
}

#[test]
fn crit_is_rejected() {
    let v = verifier();
    for crit in [
        r#"["exp"]"#,
        r#"["b64"]"#,
        r#"["http://example.invalid/ext"]"#,
        "[]",
    ] {
        let header = format!(r#"{{"alg":"HS256","crit":{crit}}}"#);
        let token = forge_hs256(&header, &good_payload(), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::UnknownCritical, "{crit}");
    }
}

#[test]
fn wrong_typ_when_configured() {
    let v = verifier().typ(TokenType::AccessToken);
    for header in [
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"HS256","typ":"id+jwt"}"#,
    ] {
        let token = forge_hs256(header, &good_payload(), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::WrongType, "{header}");
    }
    let untyped = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &untyped), ErrorKind::MissingType);
    for header in [
        r#"{"alg":"HS256","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","typ":"application/AT+JWT"}"#,
    ] {
        let token = forge_hs256(header, &good_payload(), SECRET);
        assert!(v.verify_json(&token).is_ok(), "{header}");
    }
}

#[test]
fn wrongly_typed_claims() {
    let v = verifier().issuer("iss").audience("aud");
    let exp = NOW + 600;
    for payload in [
        format!(r#"{{"exp":"{exp}","iss":"iss","aud":"aud"}}"#),
        format!(r#"{{"exp":{exp},"nbf":"0","iss":"iss","aud":"aud"}}"#),
        format!(r#"{{"exp":{exp},"iat":true,"iss":"iss","aud":"aud"}}"#),
        r#"{"exp":-1,"iss":"iss","aud":"aud"}"#.to_owned(),
        format!(r#"{{"exp":{exp},"iss":["iss"],"aud":"aud"}}"#),
        format!(r#"{{"exp":{exp},"iss":"iss","aud":7}}"#),
        format!(r#"{{"exp":{exp},"iss":"iss","aud":[]}}"#),
        format!(r#"{{"exp":{exp},"iss":"iss","aud":["aud",1]}}"#),
        format!(r#"{{"exp":{exp},"sub":42,"iss":"iss","aud":"aud"}}"#),
        r#"{"exp":1e300,"iss":"iss","aud":"aud"}"#.to_owned(),
    ] {
        let token = forge_hs256(r#"{"alg":"HS256"}"#, &payload, SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::BadClaim, "{payload}");
    }
}

#[test]
fn duplicate_members_are_rejected() {
    let v = verifier();
    let payload = format!(r#"{{"exp":{},"sub":"alice","sub":"admin"}}"#, NOW + 600);
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &payload, SECRET);
    assert_eq!(kind(&v, &token), ErrorKind::Malformed);
    let token = forge_hs256(r#"{"alg":"HS256","alg":"none"}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &token), ErrorKind::Malformed);
}

#[test]
fn oversized_token_rejected_before_decoding() {
    let v = verifier();
    let big = format!(r#"{{"exp":{},"pad":"{}"}}"#, NOW + 600, "x".repeat(9000));
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &big, SECRET);
    assert_eq!(kind(&v, &token), ErrorKind::TooLarge);
    // Not even base64 is looked at.
    assert_eq!(kind(&v, &"!".repeat(10_000)), ErrorKind::TooLarge);
    let roomy = verifier().max_token_bytes(64 * 1024).unwrap();
    assert!(roomy.verify_json(&token).is_ok());
}

#[test]
fn expired() {
    let v = verifier();
    for exp in [NOW, NOW - 1, 0] {
        let token = forge_hs256(r#"{"alg":"HS256"}"#, &format!(r#"{{"exp":{exp}}}"#), SECRET);
        assert_eq!(kind(&v, &token), ErrorKind::Expired, "{exp}");
    }
}

#[test]
fn exp_is_required() {
    let token = forge_hs256(r#"{"alg":"HS256"}"#, r#"{"sub":"alice"}"#, SECRET);
    assert_eq!(kind(&verifier(), &token), ErrorKind::MissingClaim);
}

#[test]
fn nbf_and_iat_in_the_future() {
    let v = verifier();
    let exp = NOW + 600;
    let nbf = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"nbf":{}}}"#, NOW + 31),
        SECRET,
    );
    assert_eq!(kind(&v, &nbf), ErrorKind::NotYetValid);
    let iat = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"iat":{}}}"#, NOW + 31),
        SECRET,
    );
    assert_eq!(kind(&v, &iat), ErrorKind::IssuedInFuture);
    // Within the 30 s leeway both pass.
    let ok = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"iat":{0},"nbf":{0}}}"#, NOW + 30),
        SECRET,
    );
    assert!(v.verify_json(&ok).is_ok());
}

#[test]
fn too_old_with_max_age() {
    let v = verifier().max_age(Duration::from_secs(300));
    let exp = NOW + 600;
    let old = forge_hs256(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{exp},"iat":{}}}"#, NOW - 301),
        SECRET,
    );
    assert_eq!(kind(&v, &old), ErrorKind::TooOld);
    let no_iat = forge_hs256(r#"{"alg":"HS256"}"#, &format!(r#"{{"exp":{exp}}}"#), SECRET);
    assert_eq!(kind(&v, &no_iat), ErrorKind::MissingClaim);
}

#[test]
fn wrong_issuer_and_audience() {
    let v = verifier().issuer("https://auth.example").audience("orders");
    let exp = NOW + 600;
    let cases = [
        (
            r#""iss":"https://auth.example.evil","aud":"orders""#,
            ErrorKind::WrongIssuer,
        ),
        (
            r#""iss":"https://AUTH.example","aud":"orders""#,
            ErrorKind::WrongIssuer,
        ),
        (r#""aud":"orders""#, ErrorKind::MissingClaim),
        (
            r#""iss":"https://auth.example","aud":"orders2""#,
            ErrorKind::WrongAudience,
        ),
        (
            r#""iss":"https://auth.example","aud":"Orders""#,
            ErrorKind::WrongAudience,
        ),
        (r#""iss":"https://auth.example""#, ErrorKind::MissingClaim),
    ];
    for (claims, want) in cases {
        let token = forge_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"exp":{exp},{claims}}}"#),
            SECRET,
        );
        assert_eq!(kind(&v, &token), want, "{claims}");
    }
}

#[test]
fn audience_arrays() {
    let v = verifier().audience("orders");
    let exp = NOW + 600;
    let with = |aud: &str| {
        forge_hs256(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"exp":{exp},"aud":{aud}}}"#),
            SECRET,
        )
    };
    assert!(v.verify_json(&with(r#"["billing","orders"]"#)).is_ok());
    assert_eq!(
        kind(&v, &with(r#"["billing","order"]"#)),
        ErrorKind::WrongAudience
    );
    // A token with an audience is refused by a verifier that has none (RFC 7519 §4.1.3).
    assert_eq!(
        kind(&verifier(), &with(r#"["orders"]"#)),
        ErrorKind::WrongAudience
    );
}

#[test]
fn signature_stripping() {
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), SECRET);
    let (unsigned, _) = token.rsplit_once('.').unwrap();
    assert_eq!(
        kind(&verifier(), &format!("{unsigned}.")),
        ErrorKind::BadSignature
    );
    assert_eq!(kind(&verifier(), unsigned), ErrorKind::Malformed);
}

#[test]
fn tampered_payload_and_header() {
    let v = verifier();
    let token = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), SECRET);
    let parts: Vec<&str> = token.split('.').collect();
    let admin = common::b64(format!(r#"{{"sub":"admin","exp":{}}}"#, NOW + 600).as_bytes());
    let swapped = format!("{}.{admin}.{}", parts[0], parts[2]);
    assert_eq!(kind(&v, &swapped), ErrorKind::BadSignature);
    let header = common::b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let swapped = format!("{header}.{}.{}", parts[1], parts[2]);
    assert_eq!(kind(&v, &swapped), ErrorKind::BadSignature);
    // Non-canonical base64 (extra trailing bits) in the signature is not the same signature.
    let mut sig = parts[2].to_owned();
    let last = sig.pop().unwrap();
    sig.push(if last == 'A' { 'B' } else { 'A' });
    assert!(
        v.verify_json(&format!("{}.{}.{sig}", parts[0], parts[1]))
            .is_err()
    );
}

#[test]
fn malformed_structure() {
    let v = verifier();
    for token in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "e30.e30.e30",
        "!!!.e30.abc",
    ] {
        assert_eq!(kind(&v, token), ErrorKind::Malformed, "{token:?}");
    }
}

#[test]
fn nested_and_unencoded_payloads() {
    let v = verifier();
    let nested = forge_hs256(r#"{"alg":"HS256","cty":"JWT"}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &nested), ErrorKind::UnsupportedHeader);
    let b64 = forge_hs256(r#"{"alg":"HS256","b64":false}"#, &good_payload(), SECRET);
    assert_eq!(kind(&v, &b64), ErrorKind::UnsupportedHeader);
}

#[test]
fn short_hmac_secrets_are_refused() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        assert!(SigningKey::hmac(alg, &vec![1u8; min - 1]).is_err());
        assert!(VerifyingKey::hmac(alg, &vec![1u8; min - 1]).is_err());
        assert!(SigningKey::hmac(alg, &vec![1u8; min]).is_ok());
    }
}

#[test]
fn weak_and_wrong_curve_keys_are_refused() {
    assert!(
        SigningKey::from_pem(Algorithm::RS256, &common::key_file("rsa1024_private.pem")).is_err()
    );
    assert!(
        VerifyingKey::from_pem(Algorithm::RS256, &common::key_file("rsa1024_public.pem")).is_err()
    );
    assert!(
        SigningKey::from_pem(Algorithm::ES256, &common::key_file("ec_p384_private.pem")).is_err()
    );
    assert!(
        VerifyingKey::from_pem(Algorithm::ES256, &common::key_file("ec_p384_public.pem")).is_err()
    );
    // A key of one type offered for another algorithm.
    assert!(VerifyingKey::from_pem(Algorithm::ES256, &common::key_file("rsa_public.pem")).is_err());
    assert!(SigningKey::from_pem(Algorithm::EdDSA, &common::key_file("ec_private.pem")).is_err());
}

#[test]
fn jwks_with_private_or_weak_keys_is_refused() {
    let private = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}"#;
    assert!(KeySet::from_jwks(private).is_err());
    let hmac = r#"{"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]}"#;
    assert!(KeySet::from_jwks(hmac).is_err());
    let weak = KeySet::verify_only(
        VerifyingKey::from_pem(Algorithm::RS256, &common::key_file("rsa_public.pem")).unwrap(),
    )
    .to_jwks();
    let mut weak_n = weak.clone();
    weak_n["keys"][0]["n"] = serde_json::Value::from(common::b64(&[0xc5; 128]));
    assert!(KeySet::from_jwks(&weak_n.to_string()).is_err());
    // An RSA key labelled ES256.
    let mut confused = weak;
    confused["keys"][0]["alg"] = serde_json::Value::from("ES256");
    assert!(KeySet::from_jwks(&confused.to_string()).is_err());
}

#[test]
fn refresh_token_reuse_revokes_the_family() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let clock = clock();
        let tokens = RefreshTokens::new(MemoryStore::new(), &[3u8; 32])
            .unwrap()
            .clock(clock.clone());
        let first = tokens.issue("alice").await.unwrap();
        let second = tokens.refresh(first.token()).await.unwrap();
        clock.advance(Duration::from_secs(60));
        // The attacker replays the stolen first token after the grace window.
        let err = tokens.refresh(first.token()).await.unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Reused));
        // The whole family is gone, including the legitimate holder's current token.
        let err = tokens.refresh(second.token()).await.unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Revoked));
    });
}

#[test]
fn revoked_jti() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let clock = clock();
        let keys = Arc::new(hs_keys());
        let issuer = Issuer::new(keys.clone()).unwrap().clock(clock.clone());
        let v = Verifier::new(keys).clock(clock.clone());
        let list = RevocationList::new(MemoryStore::new()).clock(clock.clone());
        let token = issuer.issue(Claims::empty().subject("alice")).unwrap();
        let claims = v.verify::<serde_json::Value>(&token).unwrap();
        list.check(&claims).await.unwrap();
        list.revoke_claims(&claims).await.unwrap();
        let err = list.check(&claims).await.unwrap_err();
        assert!(matches!(err, TokenError::Invalid(e) if e.kind() == ErrorKind::Revoked));
        // A token without jti cannot pass a revocation check.
        let bare = forge_hs256(r#"{"alg":"HS256"}"#, &good_payload(), SECRET);
        let bare = v.verify::<serde_json::Value>(&bare).unwrap();
        assert_eq!(
            list.check(&bare).await.unwrap_err().kind(),
            Some(ErrorKind::MissingClaim)
        );
    });
}

#[test]
fn errors_say_nothing_to_the_caller() {
    let token = forge_hs256(r#"{"alg":"HS256"}"#, r#"{"exp":"soon"}"#, SECRET);
    let err = verifier().verify_json(&token).unwrap_err();
    assert_eq!(err.to_string(), "invalid token");
    assert_eq!(err.kind(), ErrorKind::BadClaim);
}
