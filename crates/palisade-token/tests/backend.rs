//! The crypto backend is pinned to AWS-LC. With both of `jsonwebtoken`'s backends on, or a
//! provider installed by another crate, see `checks/jwt-backends` (its own workspace, so that
//! `rust_crypto` does not unify into this one).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use palisade_token::jwt::pin_crypto_provider;

/// `jsonwebtoken` calls that go through its process-wide provider. RSA `Jwk::from_decoding_key`
/// does too on a DER key, so the code only ever hands it (modulus, exponent) keys.
const PROCESS_WIDE: [&str; 6] = [
    "crypto::verify(",
    "crypto::sign(",
    "jsonwebtoken::encode(",
    "jsonwebtoken::decode(",
    "from_encoding_key(",
    "jws::",
];

#[test]
fn no_jwt_source_calls_the_process_wide_provider() {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/jwt")];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in PROCESS_WIDE {
                assert!(!text.contains(call), "{} calls {call}", path.display());
            }
            files += 1;
        }
    }
    assert!(files >= 10);
}

#[test]
fn pinning_succeeds_when_nothing_else_chose_a_provider() {
    pin_crypto_provider().unwrap();
    pin_crypto_provider().unwrap();
}
