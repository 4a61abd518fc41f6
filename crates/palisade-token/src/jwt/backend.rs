//! The crypto backend, pinned to AWS-LC.
//!
//! `jsonwebtoken` 11 keeps one crypto provider per process, chosen by whoever installs one
//! first or, failing that, from its crate features the first time it is used. If any crate in
//! the build enables `jsonwebtoken/rust_crypto` next to palisade-token's `aws_lc_rs`, feature
//! unification leaves it a provider that panics on every call; another crate may also install
//! a provider of its own. palisade-token therefore never reads the process-wide provider: it
//! calls AWS-LC's provider by name for every verification and key derivation, and signs with
//! AWS-LC directly. [`pin_crypto_provider`] also makes AWS-LC the process default, so other
//! users of `jsonwebtoken` in the program get it too, and reports a conflict.

use std::sync::OnceLock;

use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED, ParsedPublicKey, UnparsedPublicKey};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::crypto::{CryptoProvider, aws_lc};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk,
};

use super::algorithm::Algorithm;

use crate::error::ConfigError;

/// The provider palisade-token calls, whatever the process default is.
static PROVIDER: &CryptoProvider = &aws_lc::DEFAULT_PROVIDER;

/// Whether this crate's attempt to install [`PROVIDER`] as the process default succeeded.
/// Decided once: the process default cannot change after it is set.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Makes AWS-LC `jsonwebtoken`'s process-wide crypto provider, or reports that another one
/// was chosen first. Call it at the start of `main`, before anything else uses
/// `jsonwebtoken`, to fail early and clearly instead of leaving other users of the crate with
/// a provider that may panic.
///
/// palisade-token's own signing and verification do not depend on the outcome: they always
/// use AWS-LC. Building a key also installs it when no provider was chosen yet.
///
/// # Errors
/// [`ConfigError::ConflictingCryptoProvider`] if the process-wide provider was already chosen
/// by someone else: another crate installed its own, or `jsonwebtoken` was used before and
/// picked one from its features (which, with both `aws_lc_rs` and `rust_crypto` enabled,
/// panics on every call).
pub fn pin_crypto_provider() -> Result<(), ConfigError> {
    if install() {
        Ok(())
    } else {
        Err(ConfigError::ConflictingCryptoProvider)
    }
}

/// Installs [`PROVIDER`] as the process default if none was chosen; whether it is ours.
pub(crate) fn install() -> bool {
    *INSTALLED.get_or_init(|| PROVIDER.install_default().is_ok())
}

/// Verifies a decoded `signature` over `message` with AWS-LC: through AWS-LC's `jsonwebtoken`
/// provider, or, for ES512 (which `jsonwebtoken` lacks), with AWS-LC's P-521 verifier directly.
pub(crate) fn verify(
    signature: &Vec<u8>,
    message: &[u8],
    key: &DecodingKey,
    alg: Algorithm,
) -> bool {
    let Some(alg) = alg.to_jsonwebtoken() else {
        // ES512: the key holds the uncompressed P-521 point, checked when the key was built.
        return key.try_get_as_bytes().is_ok_and(|point| {
            UnparsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
                .verify(message, signature)
                .is_ok()
        });
    };
    match (PROVIDER.verifier_factory)(&alg, key) {
        Ok(verifier) => verifier.verify(message, signature).is_ok(),
        Err(_) => false,
    }
}

/// The uncompressed point (0x04, x, y) of a P-521 JWK's base64url coordinates, each 66 bytes.
pub(crate) fn p521_point(x: &str, y: &str) -> Option<Vec<u8>> {
    let x = super::b64::decode(x)?;
    let y = super::b64::decode(y)?;
    if x.len() != 66 || y.len() != 66 {
        return None;
    }
    let mut point = Vec::with_capacity(133);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Some(point)
}

/// Whether `point` is an uncompressed point on P-521, as AWS-LC parses it.
pub(crate) fn check_p521_point(point: &[u8]) -> Option<()> {
    if point.len() != 133 {
        return None;
    }
    ParsedPublicKey::new(&ECDSA_P521_SHA512_FIXED, point)
        .ok()
        .map(|_| ())
}

/// The public JWK of a P-521 point, which `jsonwebtoken` cannot derive for want of ES512.
pub(crate) fn p521_jwk(point: &[u8]) -> Option<Jwk> {
    check_p521_point(point)?;
    let (x, y) = point.get(1..)?.split_at(66);
    Some(Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: EllipticCurve::P521,
            x: super::b64::encode(x),
            y: super::b64::encode(y),
        }),
    })
}

/// The public key of an RSA private key (PKCS#1 DER), as (modulus, exponent) components.
pub(crate) fn rsa_public_from_private(der: &[u8]) -> Option<DecodingKey> {
    let (n, e) = (PROVIDER.key_utils.rsa_pub_components_from_private_key)(der).ok()?;
    Some(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// An RSA public key (PKCS#1 DER) as (modulus, exponent) components.
pub(crate) fn rsa_public_components(der: &[u8]) -> Option<DecodingKey> {
    let (n, e) = (PROVIDER.key_utils.rsa_pub_components_from_public_key)(der).ok()?;
    Some(DecodingKey::from_rsa_raw_components(&n, &e))
}
