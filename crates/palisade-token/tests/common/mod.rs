//! Shared test helpers: the committed test-only keys and a token forger.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// A committed test-only key file (tests/vectors/keys).
pub fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join("keys").join(name)).unwrap()
}

/// A committed HMAC secret (hex file).
pub fn secret(name: &str) -> Vec<u8> {
    let text = String::from_utf8(key_file(name)).unwrap();
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and payload text, HMAC-SHA256-signed with `secret`.
pub fn forge_hs256(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The HS256 secret the attack tests use.
pub const SECRET: &[u8] = b"attack-suite secret, 32+ bytes long!";
/// The time the tests stand at.
pub const NOW: u64 = 1_800_000_000;
