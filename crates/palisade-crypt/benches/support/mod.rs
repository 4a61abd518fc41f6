//! The baselines shared by the criterion benches (`crypt.rs`) and the instruction counts
//! (`instructions.rs`): raw AES-256-GCM as a correct caller of each library writes it.

use aes_gcm::{AeadInOut as _, Aes256Gcm, KeyInit as _, Nonce};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as LcNonce, UnboundKey};
use palisade_crypt::{Context, Crypter, Keyring};

pub(crate) fn nonce() -> [u8; 12] {
    let mut n = [0u8; 12];
    getrandom::fill(&mut n).expect("OS random");
    n
}

pub(crate) fn aes_seal(cipher: &Aes256Gcm, nonce: [u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + pt.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(pt);
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), aad, out[12..].as_mut().into())
        .expect("seal");
    out.extend_from_slice(&tag);
    out
}

pub(crate) fn aes_open(cipher: &Aes256Gcm, aad: &[u8], ct: &[u8]) -> Vec<u8> {
    let (nonce, rest) = ct.split_at(12);
    let (body, tag) = rest.split_at(rest.len() - 16);
    let mut out = body.to_vec();
    let nonce: [u8; 12] = nonce.try_into().expect("12");
    let tag: [u8; 16] = tag.try_into().expect("16");
    cipher
        .decrypt_inout_detached(
            &Nonce::from(nonce),
            aad,
            out.as_mut_slice().into(),
            &tag.into(),
        )
        .expect("open");
    out
}

/// A nonce from AWS-LC's own generator (`RAND_bytes`), as a caller of raw aws-lc-rs would draw.
pub(crate) fn lc_nonce() -> [u8; 12] {
    let mut n = [0u8; 12];
    aws_lc_rs::rand::fill(&mut n).expect("AWS-LC random");
    n
}

pub(crate) fn lc_seal(key: &LessSafeKey, n: [u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + pt.len() + 16);
    out.extend_from_slice(&n);
    out.extend_from_slice(pt);
    let tag = key
        .seal_in_place_separate_tag(
            LcNonce::assume_unique_for_key(n),
            Aad::from(aad),
            &mut out[12..],
        )
        .expect("seal");
    out.extend_from_slice(tag.as_ref());
    out
}

pub(crate) fn lc_open(key: &LessSafeKey, aad: &[u8], ct: &[u8]) -> Vec<u8> {
    let n: [u8; 12] = ct[..12].try_into().expect("12");
    let mut out = ct[12..].to_vec();
    let len = key
        .open_in_place(LcNonce::assume_unique_for_key(n), Aad::from(aad), &mut out)
        .expect("open")
        .len();
    out.truncate(len);
    out
}

pub(crate) struct Setup {
    pub(crate) crypter: Crypter,
    pub(crate) context: Context,
    pub(crate) aad: Vec<u8>,
    pub(crate) aes: Aes256Gcm,
    pub(crate) lc: LessSafeKey,
}

pub(crate) fn setup() -> Setup {
    let keyring = Keyring::generate().expect("keyring");
    let context = Context::new("users.email")
        .and_then(|c| c.with("row", 123_456))
        .and_then(|c| c.with("tenant", "acme"))
        .expect("context");
    Setup {
        crypter: Crypter::new(&keyring).expect("crypter"),
        // The baselines authenticate a comparable amount of associated data: palisade's
        // 75-byte header plus the encoded context.
        aad: vec![7u8; 75 + context.to_string().len() + 4],
        context,
        aes: Aes256Gcm::new(&[1u8; 32].into()),
        lc: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[1u8; 32]).expect("key")),
    }
}
