//! Arbitrary text through the JWT verifier, the JWKS importer, the opaque-token parser and the
//! CSRF checker: no panic, and nothing verifies without the key. The first input byte also
//! re-signs the rest as a payload, so the claim checks behind a valid signature are reached.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use palisade_token::clock::ManualClock;
use palisade_token::csrf::CsrfTokens;
use palisade_token::jwt::{Algorithm, Issuer, KeySet, SigningKey, Verifier};
use palisade_token::opaque::{OpaqueTokens, Purpose};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = SigningKey::hmac(Algorithm::HS256, &[7; 32]).expect("32-byte secret");
    let keys = Arc::new(KeySet::single(key));
    let verifier = Verifier::new(keys.clone())
        .audience("fuzz")
        .clock(Arc::new(ManualClock::new(1_800_000_000)));

    // Raw text as a token: only something signed with the key can pass, and the fuzzer does
    // not know the key.
    assert!(verifier.verify_json(&text).is_err());

    // The rest of the input as a correctly signed payload: the claim checks must hold.
    if let Some((_, rest)) = data.split_first()
        && let Ok(payload) = serde_json::from_slice::<serde_json::Value>(rest)
        && let Ok(token) = Issuer::new(keys.clone()).expect("signer").sign_value(&payload)
        && let Ok(claims) = verifier.verify_json(&token)
    {
        let exp = claims["exp"].as_f64().expect("verified tokens have a numeric exp");
        assert!(exp >= 1_800_000_000.0);
    }

    let _ = KeySet::from_jwks(&text);
    let opaque = OpaqueTokens::new(&[1; 32]).expect("32-byte key");
    let _ = opaque.hash(Purpose::ApiKey, &text);
    let csrf = CsrfTokens::new(&[2; 32]).expect("32-byte key");
    assert!(csrf.verify("session", &text, &text).is_err());
});
