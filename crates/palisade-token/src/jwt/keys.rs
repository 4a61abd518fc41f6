//! Signing and verifying keys, parsed once when they are built.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
    RSA_PSS_SHA512, RsaEncoding, RsaKeyPair,
};
use aws_lc_rs::{hmac, signature::KeyPair as _};
use jsonwebtoken::{DecodingKey, EncodingKey, jwk::Jwk};
use zeroize::Zeroizing;

use super::algorithm::Algorithm;
use crate::error::ConfigError;

/// The longest `kid` accepted, in bytes.
pub(crate) const MAX_KID_LEN: usize = 256;

pub(crate) fn check_kid(kid: &str) -> Result<(), ConfigError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control) {
        return Err(ConfigError::InvalidKid);
    }
    Ok(())
}

enum SignerInner {
    /// The same pre-keyed HMAC key as the verifying half's: one copy of the secret.
    Hmac(Arc<hmac::Key>),
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key (or HMAC secret) that signs tokens, parsed once. Its public half is derived
/// at construction, so a key set can verify what it signs and publish it in a JWKS.
///
/// Its `Debug` hides the key, and it has no `Display`:
///
/// ```compile_fail
/// use palisade_token::jwt::{Algorithm, SigningKey};
/// let key = SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap();
/// let _ = format!("{key}");
/// ```
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<String>,
    inner: SignerInner,
    rng: SystemRandom,
    verifying: VerifyingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// An HMAC key (HS256, HS384 or HS512) from raw secret bytes, at least as long as the
    /// hash output (32, 48 or 64 bytes).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for a non-HMAC algorithm, [`ConfigError::SecretTooShort`].
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        super::backend::install();
        let key = hmac_key(alg, secret)?;
        Ok(Self {
            alg,
            kid: None,
            inner: SignerInner::Hmac(Arc::clone(&key)),
            rng: SystemRandom::new(),
            verifying: VerifyingKey {
                alg,
                kid: None,
                check: Check::Hmac(key),
                jwk: None,
            },
        })
    }

    /// A private key in PEM for RS256/384/512 and PS256/384/512 (PKCS#1 or PKCS#8), ES256
    /// (PKCS#8 or SEC1 P-256), ES384 (PKCS#8 or SEC1 P-384), ES512 (PKCS#8 or SEC1 P-521) or
    /// `EdDSA` (PKCS#8 Ed25519).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] if the PEM does not hold a private key for `alg` (RSA keys
    /// must be 2048 to 8192 bits).
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        super::backend::install();
        let invalid = |reason| ConfigError::InvalidKey {
            alg: alg.as_str(),
            reason,
        };
        let (inner, encoding) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(invalid(
                    "HMAC keys are raw secrets, not PEM; use SigningKey::hmac",
                ));
            }
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                let enc = EncodingKey::from_rsa_pem(pem)
                    .map_err(|_| invalid("expected an RSA private key in PEM"))?;
                let pair = RsaKeyPair::from_der(enc.as_bytes())
                    .map_err(|_| invalid("RSA key rejected (2048 to 8192 bits required)"))?;
                (SignerInner::Rsa(pair), enc)
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                let (curve, wrong_curve) = match alg {
                    Algorithm::ES256 => (
                        "expected a P-256 private key in PEM",
                        "not a P-256 private key",
                    ),
                    Algorithm::ES384 => (
                        "expected a P-384 private key in PEM",
                        "not a P-384 private key",
                    ),
                    _ => (
                        "expected a P-521 private key in PEM",
                        "not a P-521 private key",
                    ),
                };
                let der = match EncodingKey::from_ec_pem(pem) {
                    Ok(enc) => Zeroizing::new(enc.as_bytes().to_vec()),
                    Err(_) => sec1_der(pem).ok_or_else(|| invalid(curve))?,
                };
                let pair = EcdsaKeyPair::from_private_key_der(ecdsa_signing(alg), &der)
                    .map_err(|_| invalid(wrong_curve))?;
                (SignerInner::Ec(pair), EncodingKey::from_ec_der(&der))
            }
            Algorithm::EdDSA => {
                let enc = EncodingKey::from_ed_pem(pem)
                    .map_err(|_| invalid("expected an Ed25519 private key in PEM"))?;
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(enc.as_bytes())
                    .map_err(|_| invalid("not an Ed25519 private key"))?;
                (SignerInner::Ed(pair), enc)
            }
        };
        let public = public_jwk(alg, &inner, &encoding).ok_or_else(|| invalid("public key"))?;
        let decoding =
            DecodingKey::from_jwk(&public).map_err(|_| invalid("public key not usable"))?;
        Ok(Self {
            alg,
            kid: None,
            inner,
            rng: SystemRandom::new(),
            verifying: VerifyingKey {
                alg,
                kid: None,
                check: Check::Public(Arc::new(decoding)),
                jwk: Some(public),
            },
        })
    }

    /// Names the key; tokens it signs carry this `kid`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKid`] if empty, over 256 bytes or containing control characters.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.verifying.kid = Some(kid.clone());
        self.kid = Some(kid);
        Ok(self)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's `kid`, if named.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public half (for HMAC, the same secret) as a verify-only key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ConfigError> {
        let failed = || ConfigError::InvalidKey {
            alg: self.alg.as_str(),
            reason: "signing failed",
        };
        Ok(match &self.inner {
            SignerInner::Hmac(key) => hmac::sign(key, message).as_ref().to_vec(),
            SignerInner::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(rsa_padding(self.alg), &self.rng, message, &mut sig)
                    .map_err(|_| failed())?;
                sig
            }
            SignerInner::Ec(pair) => pair
                .sign(&self.rng, message)
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            SignerInner::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        })
    }
}

/// The DER body of a `BEGIN EC PRIVATE KEY` (SEC1) PEM, which jsonwebtoken does not read.
fn sec1_der(pem: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN EC PRIVATE KEY-----";
    const END: &str = "-----END EC PRIVATE KEY-----";
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    let body: Zeroizing<String> = Zeroizing::new(
        text[start..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    );
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()
        .map(Zeroizing::new)
}

fn rsa_padding(alg: Algorithm) -> &'static dyn RsaEncoding {
    match alg {
        Algorithm::RS384 => &RSA_PKCS1_SHA384,
        Algorithm::RS512 => &RSA_PKCS1_SHA512,
        Algorithm::PS256 => &RSA_PSS_SHA256,
        Algorithm::PS384 => &RSA_PSS_SHA384,
        Algorithm::PS512 => &RSA_PSS_SHA512,
        _ => &RSA_PKCS1_SHA256,
    }
}

fn ecdsa_signing(alg: Algorithm) -> &'static EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
        Algorithm::ES512 => &ECDSA_P521_SHA512_FIXED_SIGNING,
        _ => &ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

/// An HMAC secret, checked (an HMAC algorithm, a secret at least as long as the hash output)
/// and keyed once, for a signing key and its verifying half to share.
fn hmac_key(alg: Algorithm, secret: &[u8]) -> Result<Arc<hmac::Key>, ConfigError> {
    if !alg.is_hmac() {
        return Err(ConfigError::InvalidKey {
            alg: alg.as_str(),
            reason: "a raw secret is only a key for HS256, HS384 or HS512",
        });
    }
    let min = alg.min_secret_len();
    if secret.len() < min {
        return Err(ConfigError::SecretTooShort {
            alg: alg.as_str(),
            min,
            got: secret.len(),
        });
    }
    Ok(Arc::new(hmac::Key::new(hmac_alg(alg), secret)))
}

fn hmac_alg(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

/// The public JWK of a private key. Built from (modulus, exponent) or curve points, which
/// `jsonwebtoken` turns into a JWK without its process-wide provider (see `backend`).
fn public_jwk(alg: Algorithm, inner: &SignerInner, encoding: &EncodingKey) -> Option<Jwk> {
    match inner {
        // jsonwebtoken's JWK for Ed25519 expects the 48-byte PKCS#8 v1 form; derive it from
        // the parsed pair instead, which also covers PKCS#8 v2 inputs.
        SignerInner::Ed(pair) => {
            let x = super::b64::encode(pair.public_key().as_ref());
            let decoding = DecodingKey::from_ed_components(&x).ok()?;
            Jwk::from_decoding_key(&decoding, alg.to_jsonwebtoken()).ok()
        }
        // Read the point from the parsed pair: jsonwebtoken's own derivation takes PKCS#8 only,
        // while SEC1 (`BEGIN EC PRIVATE KEY`) keys are accepted here too.
        SignerInner::Ec(pair) => {
            // An uncompressed point: 0x04, then x and y of 32 (P-256), 48 (P-384) or 66 (P-521)
            // bytes. jsonwebtoken has no P-521: that JWK is built here.
            let point = pair.public_key().as_ref();
            if alg == Algorithm::ES512 {
                return super::backend::p521_jwk(point);
            }
            let (&form, xy) = point.split_first()?;
            if form != 4 || !matches!(xy.len(), 64 | 96) {
                return None;
            }
            let (x, y) = xy.split_at(xy.len() / 2);
            let x = super::b64::encode(x);
            let y = super::b64::encode(y);
            let decoding = DecodingKey::from_ec_components(&x, &y).ok()?;
            Jwk::from_decoding_key(&decoding, alg.to_jsonwebtoken()).ok()
        }
        SignerInner::Rsa(_) => {
            let decoding = super::backend::rsa_public_from_private(encoding.as_bytes())?;
            Jwk::from_decoding_key(&decoding, alg.to_jsonwebtoken()).ok()
        }
        SignerInner::Hmac(_) => None,
    }
}

/// A key that only verifies: an HMAC secret, a public key, or a key imported from a JWKS.
/// Cheap to clone (the parsed key is shared). Like [`SigningKey`], it has no `Display`:
///
/// ```compile_fail
/// use palisade_token::jwt::{Algorithm, VerifyingKey};
/// let key = VerifyingKey::hmac(Algorithm::HS256, &[7; 32]).unwrap();
/// let _ = format!("{key}");
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) check: Check,
    /// The public JWK, for JWKS export; `None` for HMAC secrets, which are never exported.
    pub(crate) jwk: Option<Jwk>,
}

/// What a [`VerifyingKey`] checks signatures with; shared by its clones.
#[derive(Clone)]
pub(crate) enum Check {
    /// An HMAC secret as AWS-LC's key with its inner and outer pads already hashed, so a
    /// verification does not key a fresh HMAC (as `jsonwebtoken`'s verifier does per call).
    /// The only copy of the secret a verifying key (and an HMAC signing key) holds; AWS-LC
    /// cleanses it when the last clone drops (`HMAC_CTX_cleanup`).
    Hmac(Arc<hmac::Key>),
    /// A public key, checked by `jsonwebtoken`'s AWS-LC verifier.
    Public(Arc<DecodingKey>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// An HMAC verification key from raw secret bytes (same length rule as signing).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] for a non-HMAC algorithm, [`ConfigError::SecretTooShort`].
    pub fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        super::backend::install();
        Ok(Self {
            alg,
            kid: None,
            check: Check::Hmac(hmac_key(alg, secret)?),
            jwk: None,
        })
    }

    /// A public key in PEM (`BEGIN PUBLIC KEY`, or `BEGIN RSA PUBLIC KEY` for RSA).
    ///
    /// # Errors
    /// [`ConfigError::InvalidKey`] if the PEM is not a public key for `alg` (RSA keys must be
    /// 2048 to 8192 bits).
    pub fn from_pem(alg: Algorithm, pem: &[u8]) -> Result<Self, ConfigError> {
        super::backend::install();
        let invalid = |reason| ConfigError::InvalidKey {
            alg: alg.as_str(),
            reason,
        };
        let key = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(invalid(
                    "HMAC keys are raw secrets, not PEM; use VerifyingKey::hmac",
                ));
            }
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem)
                .ok()
                .and_then(|der| {
                    der.try_get_as_bytes()
                        .ok()
                        .and_then(super::backend::rsa_public_components)
                })
                .ok_or_else(|| invalid("expected an RSA public key in PEM"))?,
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => DecodingKey::from_ec_pem(pem)
                .map_err(|_| invalid("expected an EC public key in PEM"))?,
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem)
                .map_err(|_| invalid("expected an Ed25519 public key in PEM"))?,
        };
        let jwk = if alg == Algorithm::ES512 {
            key.try_get_as_bytes()
                .ok()
                .and_then(super::backend::p521_jwk)
                .ok_or_else(|| invalid("expected a P-521 public key in PEM"))?
        } else {
            Jwk::from_decoding_key(&key, alg.to_jsonwebtoken())
                .map_err(|_| invalid("public key parameters unreadable"))?
        };
        super::jwks::check_public_jwk(alg, &jwk).map_err(invalid)?;
        Ok(Self {
            alg,
            kid: None,
            check: Check::Public(Arc::new(key)),
            jwk: Some(jwk),
        })
    }

    /// Names the key; tokens must carry this `kid` to be checked with it.
    ///
    /// # Errors
    /// [`ConfigError::InvalidKid`] if empty, over 256 bytes or containing control characters.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, ConfigError> {
        let kid = kid.into();
        check_kid(&kid)?;
        self.kid = Some(kid);
        Ok(self)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's `kid`, if named.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the decoded `signature` over `message` with AWS-LC, using this key's algorithm.
    /// An HMAC tag is compared in constant time by AWS-LC's `hmac::verify`.
    pub(crate) fn verify(&self, signature: &[u8], message: &[u8]) -> bool {
        match &self.check {
            Check::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Check::Public(key) => {
                super::backend::verify(&signature.to_vec(), message, key, self.alg)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the value zeroizes itself on drop.
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}

    /// The pre-keyed HMAC path accepts exactly what `jsonwebtoken`'s AWS-LC verifier accepts:
    /// the right tag, and no tag with a bit flipped, cut short or grown, for each HMAC size.
    #[test]
    fn pre_keyed_hmac_verification_agrees_with_jsonwebtokens_verifier() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let secret = vec![0x5c; alg.min_secret_len()];
            let signing = SigningKey::hmac(alg, &secret).unwrap();
            let verifying = VerifyingKey::hmac(alg, &secret).unwrap();
            assert!(matches!(verifying.check, Check::Hmac(_)));
            let jsonwebtokens = DecodingKey::from_secret(&secret);
            for message in [&b""[..], b"e30.e30", &[0xa7; 300]] {
                let tag = signing.sign(message).unwrap();
                let mut candidates = vec![tag.clone(), tag[..tag.len() - 1].to_vec()];
                let mut longer = tag.clone();
                longer.push(0);
                candidates.push(longer);
                for bit in [0, 7, tag.len() * 8 - 1] {
                    let mut flipped = tag.clone();
                    flipped[bit / 8] ^= 1 << (bit % 8);
                    candidates.push(flipped);
                }
                for (i, candidate) in candidates.iter().enumerate() {
                    let ours = verifying.verify(candidate, message);
                    let theirs =
                        super::super::backend::verify(candidate, message, &jsonwebtokens, alg);
                    assert_eq!(ours, theirs, "{alg:?} candidate {i}");
                    assert_eq!(ours, i == 0, "{alg:?} candidate {i}");
                }
            }
        }
    }

    #[test]
    fn an_hmac_signing_key_and_its_verifying_half_hold_one_copy_of_the_secret() {
        // The secret lives only in AWS-LC's pre-keyed HMAC key, shared by the signing key,
        // its verifying half and their clones; AWS-LC cleanses it when the last one drops.
        let signing = SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap();
        let verifying = signing.verifying_key();
        let (SignerInner::Hmac(signer), Check::Hmac(own), Check::Hmac(cloned)) =
            (&signing.inner, &signing.verifying.check, &verifying.check)
        else {
            panic!("an HMAC signing key signs and verifies with HMAC keys");
        };
        assert!(Arc::ptr_eq(signer, own) && Arc::ptr_eq(own, cloned));
    }

    #[test]
    fn public_verifying_keys_hold_their_key_in_a_buffer_zeroized_on_drop() {
        // Compiles only while the public keys are `DecodingKey`s that zeroize their bytes.
        fn zeroized(check: &Check) {
            if let Check::Public(key) = check {
                zeroized_on_drop::<DecodingKey>(key);
            }
        }
        let pem = include_bytes!("../../tests/vectors/keys/ed25519_public.pem");
        zeroized(&VerifyingKey::from_pem(Algorithm::EdDSA, pem).unwrap().check);
    }
}
