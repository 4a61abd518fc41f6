//! JWKS (RFC 7517) export of public keys and import of an identity provider's keys.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use serde_json::{Value, json};

use super::algorithm::Algorithm;
use super::keys::{VerifyingKey, check_kid};
use crate::error::ConfigError;

/// Checks that a public JWK is usable with `alg`: the right key type and curve, and RSA
/// moduli of 2048 to 8192 bits, the sizes signing keys are held to.
pub(crate) fn check_public_jwk(alg: Algorithm, jwk: &Jwk) -> Result<(), &'static str> {
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(rsa), _) if alg.is_rsa() => {
            let n = super::b64::decode(&rsa.n).ok_or("RSA modulus is not base64url")?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant < 256 {
                return Err("RSA modulus shorter than 2048 bits");
            }
            if significant > 1024 {
                return Err("RSA modulus longer than 8192 bits");
            }
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            if ec.curve != EllipticCurve::P256 {
                return Err("ES256 needs a P-256 key");
            }
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
            if ec.curve != EllipticCurve::P384 {
                return Err("ES384 needs a P-384 key");
            }
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES512) => {
            if ec.curve != EllipticCurve::P521 {
                return Err("ES512 needs a P-521 key");
            }
            let point = super::backend::p521_point(&ec.x, &ec.y)
                .ok_or("the P-521 key is not a point on the curve")?;
            super::backend::check_p521_point(&point)
                .ok_or("the P-521 key is not a point on the curve")
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err("EdDSA keys must be Ed25519");
            }
            Ok(())
        }
        _ => Err("key type does not match the algorithm"),
    }
}

/// The JWKS document for `keys`: public keys only, each with `kid`, `alg` and `use: "sig"`.
/// HMAC secrets are never exported.
pub(crate) fn export<'a>(keys: impl Iterator<Item = &'a VerifyingKey>) -> Value {
    let mut out = Vec::new();
    for key in keys {
        let Some(jwk) = &key.jwk else { continue };
        let mut jwk = jwk.clone();
        jwk.common.key_id.clone_from(&key.kid);
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        if let Ok(mut value) = serde_json::to_value(&jwk) {
            if let Some(obj) = value.as_object_mut() {
                obj.insert("alg".to_owned(), json!(key.alg.as_str()));
            }
            out.push(value);
        }
    }
    json!({ "keys": out })
}

/// What importing a JWKS kept and skipped.
pub(crate) struct Imported {
    pub(crate) keys: Vec<VerifyingKey>,
}

/// Reads a JWKS document. Signature keys of supported types are imported; keys marked for
/// encryption (`use: "enc"`) or of unsupported types/algorithms are skipped; a key carrying
/// private parameters, a weak RSA modulus or contradictory `alg`/`kty` is an error.
pub(crate) fn import(document: &str) -> Result<Imported, ConfigError> {
    super::backend::install();
    let bad = |msg: &str| ConfigError::InvalidJwks(msg.to_owned());
    let doc: Value = serde_json::from_str(document).map_err(|_| bad("not JSON"))?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"keys\" array"))?;
    let mut keys = Vec::new();
    for entry in entries {
        let obj = entry
            .as_object()
            .ok_or_else(|| bad("a key is not an object"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|p| obj.contains_key(*p))
        {
            return Err(bad("a key carries private or secret parameters"));
        }
        match obj.get("use") {
            None => {}
            Some(Value::String(u)) if u == "sig" => {}
            Some(Value::String(_)) => continue,
            Some(_) => return Err(bad("\"use\" is not a string")),
        }
        let kty = obj
            .get("kty")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a key has no kty"))?;
        let alg = match obj.get("alg") {
            Some(Value::String(name)) => match name.parse::<Algorithm>() {
                Ok(alg) if !alg.is_hmac() => alg,
                _ => continue,
            },
            Some(_) => return Err(bad("\"alg\" is not a string")),
            None => match (kty, obj.get("crv").and_then(Value::as_str)) {
                ("RSA", _) => Algorithm::RS256,
                ("EC", Some("P-256")) => Algorithm::ES256,
                ("EC", Some("P-384")) => Algorithm::ES384,
                ("EC", Some("P-521")) => Algorithm::ES512,
                ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
                _ => continue,
            },
        };
        let jwk: Jwk = serde_json::from_value(entry.clone())
            .map_err(|_| bad("a key has missing or mistyped parameters"))?;
        check_public_jwk(alg, &jwk).map_err(bad)?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| bad("a key is not usable"))?;
        let kid = match obj.get("kid") {
            Some(Value::String(kid)) => {
                check_kid(kid)?;
                Some(kid.clone())
            }
            Some(_) => return Err(bad("\"kid\" is not a string")),
            None => None,
        };
        let mut public = jwk;
        public.common.key_id = None;
        public.common.x509_chain = None;
        public.common.x509_url = None;
        public.common.x509_sha1_fingerprint = None;
        public.common.x509_sha256_fingerprint = None;
        keys.push(VerifyingKey {
            alg,
            kid,
            check: super::keys::Check::Public(std::sync::Arc::new(decoding)),
            jwk: Some(public),
        });
    }
    Ok(Imported { keys })
}
