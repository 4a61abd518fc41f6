//! Both of `jsonwebtoken`'s backends enabled, as when another crate of an application turns on
//! `jsonwebtoken/rust_crypto`: left alone, `jsonwebtoken` then panics on every call.
#![allow(clippy::unwrap_used)]

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use palisade_token::jwt::pin_crypto_provider;

#[test]
fn with_both_backends_palisade_pins_aws_lc_and_every_algorithm_works() {
    pin_crypto_provider().unwrap();
    // Pinning again is harmless.
    pin_crypto_provider().unwrap();
    palisade_check_jwt_backends::every_algorithm_signs_and_verifies();
}

#[test]
fn once_pinned_other_users_of_jsonwebtoken_get_aws_lc_instead_of_a_panic() {
    pin_crypto_provider().unwrap();
    let secret = [9u8; 32];
    let claims = serde_json::json!({"sub": "bob", "exp": 4_000_000_000u64});
    let token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &DecodingKey::from_secret(&secret),
        &Validation::default(),
    )
    .unwrap();
    assert_eq!(data.claims["sub"], "bob");
}
