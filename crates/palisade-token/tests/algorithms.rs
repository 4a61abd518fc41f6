//! The SHA-384/512 RSA algorithms, ES384 and ES512: sign and verify, keys in every PEM form,
//! weak and wrong-curve keys refused, one key never accepting another algorithm's tokens, and
//! JWKS export and import. Tokens made by `PyJWT` for each are in tests/interop.rs, RFC 7515
//! A.4 (ES512) in tests/vectors/rfc.txt.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::NOW;
use palisade_token::clock::ManualClock;
use palisade_token::jwt::{Algorithm, Claims, Issuer, KeySet, SigningKey, Verifier, VerifyingKey};
use palisade_token::{ConfigError, ErrorKind};
use serde_json::{Value, json};

const RSA: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn private_file(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ec_private.pem",
        Algorithm::ES384 => "ec_p384_private.pem",
        Algorithm::ES512 => "ec_p521_private.pem",
        _ => "rsa_private.pem",
    }
}

fn public_file(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ec_public.pem",
        Algorithm::ES384 => "ec_p384_public.pem",
        Algorithm::ES512 => "ec_p521_public.pem",
        _ => "rsa_public.pem",
    }
}

fn signer(alg: Algorithm) -> Issuer {
    let key = SigningKey::from_pem(alg, &common::key_file(private_file(alg)))
        .unwrap()
        .with_kid("k1")
        .unwrap();
    Issuer::new(KeySet::single(key))
        .unwrap()
        .clock(Arc::new(ManualClock::new(NOW)))
}

fn verifier(keys: KeySet) -> Verifier {
    Verifier::new(keys).clock(Arc::new(ManualClock::new(NOW)))
}

fn public(alg: Algorithm) -> KeySet {
    KeySet::verify_only(
        VerifyingKey::from_pem(alg, &common::key_file(public_file(alg)))
            .unwrap()
            .with_kid("k1")
            .unwrap(),
    )
}

#[test]
fn rs384_rs512_ps384_ps512_es384_and_es512_sign_and_verify() {
    let new = [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES384,
        Algorithm::ES512,
    ];
    for alg in new {
        let token = signer(alg).issue(Claims::empty().subject("alice")).unwrap();
        let claims = verifier(public(alg)).verify::<Value>(&token).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("alice"), "{alg}");
        // The signature has the algorithm's size: the modulus for RSA, 2 x 48 bytes for ES384,
        // 2 x 66 for ES512 (RFC 7518 §3.4).
        let sig = token.rsplit('.').next().unwrap();
        let len = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
            .unwrap()
            .len();
        let want = match alg {
            Algorithm::ES384 => 96,
            Algorithm::ES512 => 132,
            _ => 256,
        };
        assert_eq!(len, want, "{alg}");
        // One flipped signature bit and it fails.
        let mut bad = token.clone().into_bytes();
        let at = token.rfind('.').unwrap() + 2;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            verifier(public(alg)).verify_json(&bad).unwrap_err().kind(),
            ErrorKind::BadSignature,
            "{alg}"
        );
    }
}

#[test]
fn one_rsa_key_never_accepts_another_rsa_algorithms_tokens() {
    // The same RSA key pair under each algorithm: a token signed with one is refused by a
    // verifier holding the key for another, before any signature check.
    for signed in RSA {
        let token = signer(signed).issue(Claims::empty()).unwrap();
        for held in RSA {
            let result = verifier(public(held)).verify_json(&token);
            if held == signed {
                assert!(result.is_ok(), "{signed}");
            } else {
                assert_eq!(
                    result.unwrap_err().kind(),
                    ErrorKind::AlgorithmMismatch,
                    "{signed} offered to {held}"
                );
            }
        }
    }
}

#[test]
fn es256_and_es384_keys_are_not_interchangeable() {
    let token = signer(Algorithm::ES384).issue(Claims::empty()).unwrap();
    assert_eq!(
        verifier(public(Algorithm::ES256))
            .verify_json(&token)
            .unwrap_err()
            .kind(),
        ErrorKind::AlgorithmMismatch
    );
    // A P-256 key offered for ES384, and a P-384 key for ES256, are refused at construction.
    for (alg, file) in [
        (Algorithm::ES384, "ec_private.pem"),
        (Algorithm::ES384, "ec_private_sec1.pem"),
        (Algorithm::ES256, "ec_p384_private.pem"),
        (Algorithm::ES256, "ec_p384_private_sec1.pem"),
    ] {
        assert!(matches!(
            SigningKey::from_pem(alg, &common::key_file(file)),
            Err(ConfigError::InvalidKey { .. })
        ));
    }
    for (alg, file) in [
        (Algorithm::ES384, "ec_public.pem"),
        (Algorithm::ES256, "ec_p384_public.pem"),
    ] {
        assert!(matches!(
            VerifyingKey::from_pem(alg, &common::key_file(file)),
            Err(ConfigError::InvalidKey { .. })
        ));
    }
}

#[test]
fn rsa_keys_under_2048_bits_are_refused_for_every_rsa_algorithm() {
    for alg in RSA {
        assert!(matches!(
            SigningKey::from_pem(alg, &common::key_file("rsa1024_private.pem")),
            Err(ConfigError::InvalidKey { .. })
        ));
        assert!(matches!(
            VerifyingKey::from_pem(alg, &common::key_file("rsa1024_public.pem")),
            Err(ConfigError::InvalidKey { .. })
        ));
        // Nor does an RSA algorithm take an EC or Ed25519 key.
        for file in ["ec_p384_private.pem", "ed25519_private.pem"] {
            assert!(SigningKey::from_pem(alg, &common::key_file(file)).is_err());
        }
    }
}

#[test]
fn rsa_keys_of_8192_bits_are_accepted_and_longer_ones_refused_for_every_rsa_algorithm() {
    for alg in RSA {
        let key = SigningKey::from_pem(alg, &common::key_file("rsa8192_private.pem"))
            .unwrap_or_else(|e| panic!("{alg}: 8192-bit private key: {e}"))
            .with_kid("k1")
            .unwrap();
        let public = VerifyingKey::from_pem(alg, &common::key_file("rsa8192_public.pem"))
            .unwrap_or_else(|e| panic!("{alg}: 8192-bit public key: {e}"))
            .with_kid("k1")
            .unwrap();
        let token = Issuer::new(KeySet::single(key))
            .unwrap()
            .clock(Arc::new(ManualClock::new(NOW)))
            .issue(Claims::empty().subject("max"))
            .unwrap();
        let public = KeySet::verify_only(public);
        let claims = verifier(public.clone()).verify::<Value>(&token).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("max"), "{alg}");
        // The same key through a JWKS document.
        let jwks = public.to_jwks();
        let imported = KeySet::from_jwks(&jwks.to_string()).unwrap();
        assert!(verifier(imported).verify_json(&token).is_ok(), "{alg}");

        // A JWKS modulus of 1025 bytes (8193 to 8200 bits) is refused.
        let mut long = jwks.clone();
        long["keys"][0]["n"] = json!(common::b64(&[0xc5; 1025]));
        assert!(
            matches!(
                KeySet::from_jwks(&long.to_string()),
                Err(ConfigError::InvalidJwks(_))
            ),
            "{alg}"
        );

        // 8200 bits, just over the bound: refused as a private key and as a public key too.
        assert!(matches!(
            SigningKey::from_pem(alg, &common::key_file("rsa8200_private.pem")),
            Err(ConfigError::InvalidKey { .. })
        ));
        assert!(matches!(
            VerifyingKey::from_pem(alg, &common::key_file("rsa8200_public.pem")),
            Err(ConfigError::InvalidKey { .. })
        ));
    }
}

#[test]
fn es384_keys_load_from_pkcs8_and_sec1_alike() {
    let pkcs8 =
        SigningKey::from_pem(Algorithm::ES384, &common::key_file("ec_p384_private.pem")).unwrap();
    let sec1 = SigningKey::from_pem(
        Algorithm::ES384,
        &common::key_file("ec_p384_private_sec1.pem"),
    )
    .unwrap();
    let from_pem = KeySet::verify_only(
        VerifyingKey::from_pem(Algorithm::ES384, &common::key_file("ec_p384_public.pem")).unwrap(),
    )
    .to_jwks();
    assert_eq!(KeySet::single(pkcs8).to_jwks(), from_pem);
    assert_eq!(KeySet::single(sec1).to_jwks(), from_pem);
}

#[test]
fn jwks_export_and_import_keep_each_algorithm() {
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES384,
        Algorithm::ES512,
    ] {
        let jwks = public(alg).to_jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(jwk["use"], "sig");
        if alg == Algorithm::ES384 {
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], "P-384");
        } else if alg == Algorithm::ES512 {
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], "P-521");
            assert_eq!(
                jwk["x"].as_str().unwrap().len(),
                88,
                "66 bytes, leading zeros kept"
            );
        } else {
            assert_eq!(jwk["kty"], "RSA");
        }
        let token = signer(alg).issue(Claims::empty()).unwrap();
        let imported = KeySet::from_jwks(&jwks.to_string()).unwrap();
        assert!(verifier(imported).verify_json(&token).is_ok(), "{alg}");
    }
}

#[test]
fn a_p384_jwk_without_alg_is_taken_as_es384() {
    let mut jwks = public(Algorithm::ES384).to_jwks();
    jwks["keys"][0].as_object_mut().unwrap().remove("alg");
    let keys = KeySet::from_jwks(&jwks.to_string()).unwrap();
    let token = signer(Algorithm::ES384).issue(Claims::empty()).unwrap();
    assert!(verifier(keys).verify_json(&token).is_ok());
}

#[test]
fn jwks_keys_contradicting_their_alg_are_refused() {
    // A P-256 key labelled ES384, a P-384 key labelled ES256, an EC key labelled PS512.
    let p256 = public(Algorithm::ES256).to_jwks();
    let p384 = public(Algorithm::ES384).to_jwks();
    for (jwks, alg) in [(&p256, "ES384"), (&p384, "ES256"), (&p384, "PS512")] {
        let mut doc = jwks.clone();
        doc["keys"][0]["alg"] = json!(alg);
        assert!(
            matches!(
                KeySet::from_jwks(&doc.to_string()),
                Err(ConfigError::InvalidJwks(_))
            ),
            "{alg}"
        );
    }
    // An RSA modulus under 2048 bits, labelled with a SHA-512 algorithm.
    let mut weak = public(Algorithm::RS512).to_jwks();
    weak["keys"][0]["n"] = json!(common::b64(&[0xc5; 255]));
    assert!(KeySet::from_jwks(&weak.to_string()).is_err());
}

#[test]
fn es512_keys_load_from_pkcs8_and_sec1_alike() {
    let pkcs8 =
        SigningKey::from_pem(Algorithm::ES512, &common::key_file("ec_p521_private.pem")).unwrap();
    let sec1 = SigningKey::from_pem(
        Algorithm::ES512,
        &common::key_file("ec_p521_private_sec1.pem"),
    )
    .unwrap();
    let from_pem = KeySet::verify_only(
        VerifyingKey::from_pem(Algorithm::ES512, &common::key_file("ec_p521_public.pem")).unwrap(),
    )
    .to_jwks();
    assert_eq!(KeySet::single(pkcs8).to_jwks(), from_pem);
    assert_eq!(KeySet::single(sec1).to_jwks(), from_pem);
}

#[test]
fn es512_keys_are_p521_only_and_other_curves_never_pass_for_them() {
    // P-256 and P-384 keys offered for ES512, and P-521 keys for ES256 and ES384, are refused
    // at construction.
    for (alg, file) in [
        (Algorithm::ES512, "ec_private.pem"),
        (Algorithm::ES512, "ec_p384_private.pem"),
        (Algorithm::ES512, "ec_p384_private_sec1.pem"),
        (Algorithm::ES512, "ed25519_private.pem"),
        (Algorithm::ES512, "rsa_private.pem"),
        (Algorithm::ES256, "ec_p521_private.pem"),
        (Algorithm::ES384, "ec_p521_private_sec1.pem"),
    ] {
        assert!(
            matches!(
                SigningKey::from_pem(alg, &common::key_file(file)),
                Err(ConfigError::InvalidKey { .. })
            ),
            "{alg} {file}"
        );
    }
    for (alg, file) in [
        (Algorithm::ES512, "ec_public.pem"),
        (Algorithm::ES512, "ec_p384_public.pem"),
        (Algorithm::ES512, "rsa_public.pem"),
        (Algorithm::ES256, "ec_p521_public.pem"),
        (Algorithm::ES384, "ec_p521_public.pem"),
    ] {
        assert!(
            matches!(
                VerifyingKey::from_pem(alg, &common::key_file(file)),
                Err(ConfigError::InvalidKey { .. })
            ),
            "{alg} {file}"
        );
    }
    // An ES384 token offered to an ES512 key and back: refused before any signature check.
    for (signed, held) in [
        (Algorithm::ES384, Algorithm::ES512),
        (Algorithm::ES512, Algorithm::ES384),
        (Algorithm::ES512, Algorithm::ES256),
    ] {
        let token = signer(signed).issue(Claims::empty()).unwrap();
        assert_eq!(
            verifier(public(held))
                .verify_json(&token)
                .unwrap_err()
                .kind(),
            ErrorKind::AlgorithmMismatch,
            "{signed} offered to {held}"
        );
    }
    // Another P-521 key's signature does not verify.
    let other = SigningKey::from_pem(
        Algorithm::ES512,
        &common::key_file("ec_p521_other_private.pem"),
    )
    .unwrap()
    .with_kid("k1")
    .unwrap();
    let token = Issuer::new(KeySet::single(other))
        .unwrap()
        .clock(Arc::new(ManualClock::new(NOW)))
        .issue(Claims::empty())
        .unwrap();
    assert_eq!(
        verifier(public(Algorithm::ES512))
            .verify_json(&token)
            .unwrap_err()
            .kind(),
        ErrorKind::BadSignature
    );
}

#[test]
fn p521_jwks_keys_are_es512_and_are_checked_on_import() {
    let jwks = public(Algorithm::ES512).to_jwks();
    let token = signer(Algorithm::ES512).issue(Claims::empty()).unwrap();
    // Without `alg`, a P-521 key is taken as ES512.
    let mut no_alg = jwks.clone();
    no_alg["keys"][0].as_object_mut().unwrap().remove("alg");
    let keys = KeySet::from_jwks(&no_alg.to_string()).unwrap();
    assert!(verifier(keys).verify_json(&token).is_ok());
    // A P-384 key labelled ES512, a P-521 key labelled ES384 or ES256: refused.
    let p384 = public(Algorithm::ES384).to_jwks();
    for (doc, alg) in [(&p384, "ES512"), (&jwks, "ES384"), (&jwks, "ES256")] {
        let mut doc = doc.clone();
        doc["keys"][0]["alg"] = json!(alg);
        assert!(
            matches!(
                KeySet::from_jwks(&doc.to_string()),
                Err(ConfigError::InvalidJwks(_))
            ),
            "{alg}"
        );
    }
    // Coordinates that are not 66 bytes, or not a point on P-521: refused.
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_owned();
    let y = jwks["keys"][0]["y"].as_str().unwrap().to_owned();
    let short = common::b64(&[1; 65]);
    let mut off_curve =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &y).unwrap();
    off_curve[65] ^= 1;
    let off_curve = common::b64(&off_curve);
    for (x, y, why) in [
        (short.as_str(), y.as_str(), "short x"),
        (x.as_str(), off_curve.as_str(), "off the curve"),
    ] {
        let mut doc = jwks.clone();
        doc["keys"][0]["x"] = json!(x);
        doc["keys"][0]["y"] = json!(y);
        assert!(
            matches!(
                KeySet::from_jwks(&doc.to_string()),
                Err(ConfigError::InvalidJwks(_))
            ),
            "{why}"
        );
    }
    // Private parameters are refused for P-521 as for every key.
    let mut private = jwks.clone();
    private["keys"][0]["d"] = json!(common::b64(&[1; 66]));
    assert!(KeySet::from_jwks(&private.to_string()).is_err());
}
