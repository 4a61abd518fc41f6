//! With both backends enabled and no explicit pinning, building palisade-token's first key
//! makes AWS-LC the process-wide provider, so later users of `jsonwebtoken` do not panic.
#![allow(clippy::unwrap_used)]

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use palisade_token::jwt::{Algorithm, SigningKey, pin_crypto_provider};

#[test]
fn building_a_key_makes_aws_lc_the_process_wide_provider() {
    SigningKey::hmac(Algorithm::HS256, &[1; 32]).unwrap();
    let secret = [9u8; 32];
    let claims = serde_json::json!({"sub": "bob", "exp": 4_000_000_000u64});
    let token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let decoded = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &DecodingKey::from_secret(&secret),
        &Validation::default(),
    );
    assert_eq!(decoded.unwrap().claims["sub"], "bob");
    // palisade-token installed it, so pinning now agrees.
    pin_crypto_provider().unwrap();
}
