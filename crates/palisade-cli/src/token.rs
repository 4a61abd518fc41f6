//! `palisade token sign|verify`, on palisade-token's strict JWTs.

use std::{io::Write, path::Path, sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use palisade_token::jwt::{
    Algorithm, Audience, Claims, DEFAULT_MAX_TOKEN_BYTES, Issuer, KeySet, SigningKey, Verifier,
    VerifyingKey,
};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::{
    args::{SignArgs, TokenCommand, VerifyArgs},
    error::{CmdResult, Failure},
    input,
};

/// The most read from standard input for a token; palisade-token refuses anything over
/// 8 KiB before decoding, this bound only limits the read.
const MAX_TOKEN_INPUT: usize = 64 * 1024;
/// The largest PEM or JWKS file read.
const MAX_KEY_DOCUMENT: usize = 1024 * 1024;

pub(crate) fn run(cmd: TokenCommand) -> CmdResult {
    match cmd {
        TokenCommand::Sign(args) => sign(&args),
        TokenCommand::Verify(args) => verify(&args),
    }
}

fn algorithm(name: &str) -> Result<Algorithm, Failure> {
    Algorithm::ALL
        .into_iter()
        .find(|a| a.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
            Failure::usage(format!("--alg: expected one of {}", names.join(", ")))
        })
}

fn document(path: &Path, option: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    input::named_file(path, MAX_KEY_DOCUMENT, option)
}

fn sign(args: &SignArgs) -> CmdResult {
    let alg = algorithm(&args.alg)?;
    let key = match (&args.key.secret_file, &args.key.private_key) {
        (Some(path), None) => {
            if !alg.is_hmac() {
                return Err(Failure::usage(format!(
                    "--secret-file is for HS256, HS384 and HS512; {} needs --private-key",
                    alg.as_str()
                )));
            }
            let secret = input::key_file(path, 1, "--secret-file")?;
            SigningKey::hmac(alg, &secret)
        }
        (None, Some(path)) => {
            if alg.is_hmac() {
                return Err(Failure::usage(format!(
                    "{} is an HMAC algorithm: give its secret with --secret-file",
                    alg.as_str()
                )));
            }
            let pem = document(path, "--private-key")?;
            SigningKey::from_pem(alg, &pem)
        }
        _ => return Err(Failure::usage("give one of --secret-file or --private-key")),
    }
    .map_err(|e| Failure::usage(format!("signing key: {e}")))?;
    let key = match &args.kid {
        Some(kid) => key
            .with_kid(kid.clone())
            .map_err(|e| Failure::usage(format!("--kid: {e}")))?,
        None => key,
    };

    let mut claims: Claims<Map<String, Value>> = match &args.claims {
        None => Claims::empty(),
        Some(text) => {
            let value: Value = serde_json::from_str(text)
                .map_err(|_| Failure::usage("--claims is not valid JSON"))?;
            if !value.is_object() {
                return Err(Failure::usage("--claims must be a JSON object"));
            }
            serde_json::from_value(value).map_err(|_| {
                Failure::usage(
                    "--claims: a registered claim has the wrong type (exp, nbf and iat are \
                     numbers; iss, sub, jti and scope strings; aud a string or array of strings; \
                     roles an array of strings)",
                )
            })?
        }
    };
    // The options win over the same claims given in --claims.
    if let Some(iss) = &args.iss {
        claims.iss = Some(iss.clone());
    }
    if let Some(aud) = &args.aud {
        claims.aud = Some(Audience::One(aud.clone()));
    }
    if let Some(sub) = &args.sub {
        claims.sub = Some(sub.clone());
    }
    let mut issuer = Issuer::new(Arc::new(KeySet::single(key)))
        .map_err(|e| Failure::usage(format!("issuer: {e}")))?;
    if let Some(ttl) = args.ttl {
        issuer = issuer
            .ttl(Duration::from_secs(ttl))
            .map_err(|e| Failure::usage(format!("--ttl: {e}")))?;
    }
    // The token is a bearer credential: held in wiped buffers and written unbuffered.
    let token = Zeroizing::new(
        issuer
            .issue(claims)
            .map_err(|e| Failure::usage(format!("signing: {e}")))?,
    );
    // Sized once, so pushing the newline does not move the token and leave a copy behind.
    let mut line = Zeroizing::new(Vec::with_capacity(token.len() + 1));
    line.extend_from_slice(token.as_bytes());
    line.push(b'\n');
    input::write_secret(&line).map_err(|e| Failure::io("writing the token", &e))
}

/// The token's header, if it can be read; the verifier checks it again, with everything else.
fn header(token: &str) -> Option<Map<String, Value>> {
    if token.len() > DEFAULT_MAX_TOKEN_BYTES {
        return None;
    }
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn verify(args: &VerifyArgs) -> CmdResult {
    let alg = algorithm(&args.alg)?;
    let raw = input::stdin_bounded(MAX_TOKEN_INPUT, "the token on standard input")?;
    let token = std::str::from_utf8(&raw)
        .map_err(|_| Failure::negative("invalid token: malformed"))?
        .trim();
    if token.is_empty() {
        return Err(Failure::usage("no token on standard input"));
    }
    let header = header(token);
    // A set of one key without a `kid` is used whatever `kid` the token names.
    let single = |key: Result<VerifyingKey, _>| -> Result<KeySet, Failure> {
        key.map(KeySet::verify_only)
            .map_err(|e| Failure::usage(format!("verification key: {e}")))
    };
    let keys = match (&args.key.secret_file, &args.key.public_key, &args.key.jwks) {
        (Some(path), None, None) => {
            if !alg.is_hmac() {
                return Err(Failure::usage(format!(
                    "--secret-file is for HS256, HS384 and HS512; {} needs --public-key or --jwks",
                    alg.as_str()
                )));
            }
            let secret = input::key_file(path, 1, "--secret-file")?;
            single(VerifyingKey::hmac(alg, &secret))?
        }
        (None, Some(path), None) => {
            if alg.is_hmac() {
                return Err(Failure::usage(format!(
                    "{} is an HMAC algorithm: give its secret with --secret-file",
                    alg.as_str()
                )));
            }
            let pem = document(path, "--public-key")?;
            single(VerifyingKey::from_pem(alg, &pem))?
        }
        (None, None, Some(path)) => {
            let jwks = document(path, "--jwks")?;
            let text = std::str::from_utf8(&jwks)
                .map_err(|_| Failure::usage("--jwks: the file is not UTF-8 JSON"))?;
            KeySet::from_jwks(text).map_err(|e| Failure::usage(format!("--jwks: {e}")))?
        }
        _ => {
            return Err(Failure::usage(
                "give one of --secret-file, --public-key or --jwks",
            ));
        }
    };
    let mut verifier = Verifier::new(Arc::new(keys));
    if let Some(iss) = &args.iss {
        verifier = verifier.issuer(iss.clone());
    }
    if let Some(aud) = &args.aud {
        verifier = verifier.audience(aud.clone());
    }
    let header_alg = header
        .as_ref()
        .and_then(|h| h.get("alg"))
        .and_then(Value::as_str);
    if header_alg.is_some_and(|a| a != alg.as_str()) {
        // The key set would refuse it too (the key's algorithm is fixed); say it plainly.
        return Err(Failure::negative("invalid token: algorithm_mismatch"));
    }
    match verifier.verify_json(token) {
        Ok(claims) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{claims}")
                .and_then(|()| out.flush())
                .map_err(|e| Failure::io("writing the claims", &e))
        }
        Err(e) => Err(Failure::negative(format!(
            "invalid token: {}",
            e.kind().as_str()
        ))),
    }
}
