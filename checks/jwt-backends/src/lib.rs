//! Shared by the tests: every palisade-token JWT operation, run once per algorithm with the
//! committed test-only keys. Panics on any failure, as tests do.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier, VerifyingKey};

fn key_file(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/palisade-token/tests/vectors/keys");
    std::fs::read(dir.join(name)).unwrap()
}

fn keys(alg: Algorithm) -> (SigningKey, VerifyingKey) {
    if alg.is_hmac() {
        let secret = vec![7u8; 64];
        return (
            SigningKey::hmac(alg, &secret).unwrap(),
            VerifyingKey::hmac(alg, &secret).unwrap(),
        );
    }
    let (private, public) = match alg {
        Algorithm::ES256 => ("ec_private.pem", "ec_public.pem"),
        Algorithm::ES384 => ("ec_p384_private.pem", "ec_p384_public.pem"),
        Algorithm::ES512 => ("ec_p521_private.pem", "ec_p521_public.pem"),
        Algorithm::EdDSA => ("ed25519_private.pem", "ed25519_public.pem"),
        _ => ("rsa_private.pem", "rsa_public.pem"),
    };
    (
        SigningKey::from_pem(alg, &key_file(private)).unwrap(),
        VerifyingKey::from_pem(alg, &key_file(public)).unwrap(),
    )
}

/// For every algorithm: sign, verify with the PEM public key and with the exported JWKS, and
/// refuse the token once its signature is altered.
pub fn every_algorithm_signs_and_verifies() {
    for alg in Algorithm::ALL {
        let (signing, verifying) = keys(alg);
        let token = Issuer::new(KeySet::single(signing.with_kid("k").unwrap()))
            .unwrap()
            .issue(Claims::empty().subject("alice"))
            .unwrap();
        let public = KeySet::verify_only(verifying.with_kid("k").unwrap());
        let claims = Verifier::new(public.clone()).verify_json(&token).unwrap();
        assert_eq!(claims["sub"], "alice", "{alg}");
        if !alg.is_hmac() {
            let imported = KeySet::from_jwks(&public.to_jwks().to_string()).unwrap();
            assert!(Verifier::new(imported).verify_json(&token).is_ok(), "{alg}");
        }
        let (body, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        let altered = format!("{body}.{flipped}{}", &signature[1..]);
        assert!(
            Verifier::new(public).verify_json(&altered).is_err(),
            "{alg}"
        );
    }
}
