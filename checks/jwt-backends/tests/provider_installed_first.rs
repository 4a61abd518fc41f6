//! Another crate installs its own `jsonwebtoken` provider before palisade-token is used: here
//! one that panics on every call, as `jsonwebtoken` picks for itself when both backends are
//! enabled. palisade-token reports the conflict as an error and never calls that provider.
#![allow(clippy::unwrap_used, clippy::panic)]

use jsonwebtoken::crypto::{CryptoProvider, KeyUtils};
use palisade_token::ConfigError;
use palisade_token::jwt::pin_crypto_provider;

static PANICKING: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| panic!("the process-wide provider was used for signing"),
    verifier_factory: |_, _| panic!("the process-wide provider was used for verifying"),
    key_utils: KeyUtils::new_unimplemented(),
};

#[test]
fn a_provider_installed_first_is_a_clear_error_and_palisade_never_calls_it() {
    PANICKING.install_default().unwrap();
    let err = pin_crypto_provider().unwrap_err();
    assert!(matches!(err, ConfigError::ConflictingCryptoProvider));
    let message = err.to_string();
    assert!(message.contains("already chosen"), "{message}");
    assert!(message.contains("pin_crypto_provider()"), "{message}");
    // Keys of every kind, JWK derivation, signing, verifying and JWKS import: all on AWS-LC.
    palisade_check_jwt_backends::every_algorithm_signs_and_verifies();
}
