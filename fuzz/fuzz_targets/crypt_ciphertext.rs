//! Arbitrary bytes through palisade-crypt's ciphertext parsers (binary and `pc1:` text) and
//! decryption, and the context parser: no panic, parsed values re-encode to themselves, and
//! nothing but an authentic ciphertext decrypts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_crypt::{Ciphertext, Context, Crypter, KeyId, KeyPurpose, KeyState, Keyring};

fuzz_target!(|data: &[u8]| {
    let keyring = Keyring::insecure_from_fixed_keys(&[
        (KeyId::insecure_from_u32(1), 1, KeyPurpose::Encryption, KeyState::DecryptOnly, [1; 32]),
        (KeyId::insecure_from_u32(2), 2, KeyPurpose::Encryption, KeyState::Primary, [2; 32]),
        (KeyId::insecure_from_u32(3), 3, KeyPurpose::BlindIndex, KeyState::Primary, [3; 32]),
    ])
    .expect("a valid fixed keyring");
    let crypter = Crypter::new(&keyring).expect("a primary key");
    let context = Context::new("fuzz.field").expect("a valid context");

    if let Ok(ct) = Ciphertext::from_bytes(data) {
        assert_eq!(ct.as_bytes(), data);
        assert_eq!(Ciphertext::from_text(&ct.to_text()).expect("text re-parses"), ct);
        // Random bytes cannot carry a valid tag and commitment.
        let _ = crypter.decrypt(&context, &ct);
        let _ = crypter.needs_rewrap(&ct);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(ct) = Ciphertext::from_text(&text) {
        assert_eq!(ct.to_text(), text);
        let _ = crypter.decrypt(&context, &ct);
    }
    if let Ok(ctx) = text.parse::<Context>() {
        let again: Context = ctx.to_string().parse().expect("a context re-parses");
        assert_eq!(again, ctx);
        if let Ok(ct) = crypter.encrypt(&ctx, data) {
            let pt = crypter.decrypt(&ctx, &ct).expect("own ciphertexts decrypt");
            assert_eq!(pt.expose_secret(), data);
        }
    }
});
