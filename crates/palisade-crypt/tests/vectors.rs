//! Committed format vectors from an independent implementation (tests/vectors/generate.py):
//! today's data must keep decrypting, and encryption must reproduce it byte for byte.

mod support;

use palisade_crypt::{
    BlindIndexer, Ciphertext, Context, Crypter, KeyId, KeyPurpose, KeyState, Keyring,
};
use support::{fixed_keyring, get, hex, key32, padding, read_blocks};

const FORMAT: &str = include_str!("vectors/format-v1.txt");
const BLIND: &str = include_str!("vectors/blind-index-v1.txt");

#[test]
fn format_v1_vectors_decrypt_and_reproduce() {
    let blocks = read_blocks(FORMAT);
    assert!(blocks.len() >= 9, "vectors missing");
    for v in &blocks {
        let name = get(v, "name");
        let id = u32::from_str_radix(get(v, "key_id"), 16).expect("id");
        let keyring = fixed_keyring(id, key32(get(v, "key")));
        let crypter = Crypter::with_padding(&keyring, padding(get(v, "padding"))).expect("crypter");
        let context: Context = get(v, "context").parse().expect("context");
        let plaintext = hex(get(v, "plaintext"));
        let text = get(v, "ciphertext");
        let ct = Ciphertext::from_text(text).expect(name);
        assert_eq!(ct.key_id(), KeyId::insecure_from_u32(id), "{name}");
        let opened = crypter
            .decrypt(&context, &ct)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.expose_secret(), plaintext.as_slice(), "{name}");

        let again = crypter
            .insecure_encrypt_with_fixed_randomness(
                &context,
                &plaintext,
                hex(get(v, "salt")).try_into().expect("salt"),
                hex(get(v, "nonce")).try_into().expect("nonce"),
            )
            .expect("encrypt");
        assert_eq!(
            again.to_text(),
            text,
            "{name}: encryption no longer matches the format"
        );

        // Every vector is also a negative test: one flipped bit anywhere is refused.
        let bytes = ct.as_bytes();
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.to_vec();
            bad[i] ^= 0x10;
            let rejected = Ciphertext::from_bytes(&bad).and_then(|c| crypter.decrypt(&context, &c));
            assert!(rejected.is_err(), "{name}: flip at byte {i} accepted");
        }
    }
}

#[test]
fn blind_index_v1_vectors() {
    let blocks = read_blocks(BLIND);
    assert!(blocks.len() >= 4, "vectors missing");
    for v in &blocks {
        let name = get(v, "name");
        let id = u32::from_str_radix(get(v, "key_id"), 16).expect("id");
        let keyring = Keyring::insecure_from_fixed_keys(&[
            (
                KeyId::insecure_from_u32(id ^ 1),
                1,
                KeyPurpose::Encryption,
                KeyState::Primary,
                [9; 32],
            ),
            (
                KeyId::insecure_from_u32(id),
                2,
                KeyPurpose::BlindIndex,
                KeyState::Primary,
                key32(get(v, "key")),
            ),
        ])
        .expect("keyring");
        let size: usize = get(v, "size").parse().expect("size");
        let indexer = BlindIndexer::new(&keyring, size).expect("indexer");
        let index = indexer
            .compute(get(v, "field"), &hex(get(v, "value")))
            .expect("a primary blind-index key");
        assert_eq!(index.as_bytes(), hex(get(v, "index")).as_slice(), "{name}");
    }
}
