//! Bad input: every altered, truncated, foreign or misplaced ciphertext is refused with its own
//! kind, and nothing is returned.

mod support;

use palisade_crypt::{
    Ciphertext, Context, Crypter, DecryptErrorKind, KeyId, KeyPurpose, KeyState, Keyring, Padding,
};

fn ctx(row: u32) -> Context {
    Context::new("users.email")
        .and_then(|c| c.with("row", row))
        .and_then(|c| c.with("tenant", "acme"))
        .expect("context")
}

fn kind(crypter: &Crypter, context: &Context, bytes: &[u8]) -> DecryptErrorKind {
    match Ciphertext::from_bytes(bytes).and_then(|c| crypter.decrypt(context, &c)) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e.kind(),
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for padding in [Padding::NONE, Padding::PADME] {
        let keyring = Keyring::generate().expect("keyring");
        let crypter = Crypter::with_padding(&keyring, padding).expect("crypter");
        let context = ctx(1);
        let ct = crypter
            .encrypt(&context, b"0123456789abcdef!")
            .expect("encrypt");
        let bytes = ct.as_bytes();
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.to_vec();
                bad[i] ^= 1 << bit;
                let k = kind(&crypter, &context, &bad);
                // Header bits fail as the header's field; nonce, body and tag as tampering.
                let region = match i {
                    0 => "version",
                    1 => "algorithm",
                    2 => "flags",
                    3..=6 => "key id",
                    7..=22 => "salt",
                    23..=54 => "commitment",
                    55..=62 => "context check",
                    63..=74 => "nonce",
                    _ if i >= bytes.len() - 16 => "tag",
                    _ => "body",
                };
                let expected = match region {
                    "version" => DecryptErrorKind::UnsupportedVersion,
                    "algorithm" => DecryptErrorKind::UnsupportedAlgorithm,
                    "key id" => DecryptErrorKind::UnknownKey,
                    "salt" | "commitment" => DecryptErrorKind::KeyCommitmentMismatch,
                    "context check" => DecryptErrorKind::WrongContext,
                    "flags" if bit > 0 => DecryptErrorKind::Malformed,
                    _ => DecryptErrorKind::Tampered,
                };
                assert_eq!(k, expected, "bit {bit} of byte {i} ({region})");
                *kinds.entry(region).or_default() += 1;
            }
        }
        assert_eq!(kinds.len(), 10, "{kinds:?}");
    }
}

#[test]
fn every_text_character_change_is_rejected() {
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let context = ctx(1);
    let text = crypter
        .encrypt(&context, b"secret")
        .expect("encrypt")
        .to_text();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:=+/";
    for i in 0..text.len() {
        for &c in alphabet.iter().step_by(5) {
            if text.as_bytes()[i] == c {
                continue;
            }
            let mut bad = text.clone().into_bytes();
            bad[i] = c;
            let bad = String::from_utf8(bad).expect("ascii");
            let r = Ciphertext::from_text(&bad).and_then(|c| crypter.decrypt(&context, &c));
            assert!(r.is_err(), "accepted a change at {i}");
        }
    }
    assert_eq!(
        Ciphertext::from_text(&text.replacen("pc1:", "pc2:", 1)).map_err(|e| e.kind()),
        Err(DecryptErrorKind::Malformed)
    );
}

#[test]
fn truncation_at_every_length_is_rejected() {
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let context = ctx(1);
    let ct = crypter
        .encrypt(&context, b"a short secret")
        .expect("encrypt");
    let bytes = ct.as_bytes();
    for len in 0..bytes.len() {
        let k = kind(&crypter, &context, &bytes[..len]);
        let expected = if len < palisade_crypt::OVERHEAD {
            DecryptErrorKind::Truncated
        } else {
            DecryptErrorKind::Tampered
        };
        assert_eq!(k, expected, "length {len}");
    }
    // Appended bytes shift the tag: tampering.
    let mut long = bytes.to_vec();
    long.push(0);
    assert_eq!(kind(&crypter, &context, &long), DecryptErrorKind::Tampered);
}

#[test]
fn context_swaps_are_rejected() {
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let base = ctx(1);
    let ct = crypter
        .encrypt(&base, b"alice@example.com")
        .expect("encrypt");
    let others = [
        ctx(2),
        Context::new("users.email")
            .and_then(|c| c.with("row", 1))
            .and_then(|c| c.with("tenant", "evil"))
            .expect("c"),
        Context::new("users.email")
            .and_then(|c| c.with("row", 1))
            .expect("c"),
        Context::new("users.email")
            .and_then(|c| c.with("row", 1))
            .and_then(|c| c.with("tenant", "acme"))
            .and_then(|c| c.with("x", ""))
            .expect("c"),
        Context::new("users.phone")
            .and_then(|c| c.with("row", 1))
            .and_then(|c| c.with("tenant", "acme"))
            .expect("c"),
    ];
    for other in &others {
        assert_eq!(
            crypter
                .decrypt(other, &ct)
                .map_err(|e| e.kind())
                .map(|_| ()),
            Err(DecryptErrorKind::WrongContext),
            "{other}"
        );
    }
    assert!(crypter.decrypt(&base, &ct).is_ok());
}

#[test]
fn a_copied_context_check_does_not_help() {
    // Splice the context check of a value made for row 2 into one made for row 1: the check
    // passes for row 2, but the AES-GCM tag (over the header) refuses it.
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let a = crypter.encrypt(&ctx(1), b"alice").expect("encrypt");
    let b = crypter.encrypt(&ctx(2), b"alice").expect("encrypt");
    let mut spliced = a.as_bytes().to_vec();
    spliced[55..63].copy_from_slice(&b.as_bytes()[55..63]);
    assert_eq!(
        kind(&crypter, &ctx(2), &spliced),
        DecryptErrorKind::Tampered
    );
}

#[test]
fn foreign_and_unknown_keys_are_rejected() {
    let ours = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let theirs = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let context = ctx(1);
    let foreign = theirs.encrypt(&context, b"x").expect("encrypt");
    assert_eq!(
        kind(&ours, &context, foreign.as_bytes()),
        DecryptErrorKind::UnknownKey
    );

    // A foreign keyring that happens to use the same key id: the commitment refuses it.
    let id = KeyId::insecure_from_u32(0x0102_0304);
    let k1 = Keyring::insecure_from_fixed_keys(&[
        (id, 1, KeyPurpose::Encryption, KeyState::Primary, [1; 32]),
        (
            KeyId::insecure_from_u32(9),
            2,
            KeyPurpose::BlindIndex,
            KeyState::Primary,
            [2; 32],
        ),
    ])
    .expect("keyring");
    let k2 = Keyring::insecure_from_fixed_keys(&[
        (id, 1, KeyPurpose::Encryption, KeyState::Primary, [3; 32]),
        (
            KeyId::insecure_from_u32(9),
            2,
            KeyPurpose::BlindIndex,
            KeyState::Primary,
            [2; 32],
        ),
    ])
    .expect("keyring");
    let ct = Crypter::new(&k1)
        .expect("c")
        .encrypt(&context, b"x")
        .expect("encrypt");
    let other = Crypter::new(&k2).expect("c");
    assert_eq!(
        kind(&other, &context, ct.as_bytes()),
        DecryptErrorKind::KeyCommitmentMismatch
    );

    // A header naming a blind-index key.
    let mut bad = ct.as_bytes().to_vec();
    bad[3..7].copy_from_slice(&9u32.to_be_bytes());
    assert_eq!(
        kind(&Crypter::new(&k1).expect("c"), &context, &bad),
        DecryptErrorKind::WrongKeyPurpose
    );
}

#[test]
fn key_states_give_distinct_errors() {
    let mut keyring = Keyring::generate().expect("keyring");
    let context = ctx(1);
    let old = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
    let ct = Crypter::new(&keyring)
        .expect("c")
        .encrypt(&context, b"x")
        .expect("encrypt");
    let new = keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    assert!(
        Crypter::new(&keyring)
            .expect("c")
            .decrypt(&context, &ct)
            .is_ok()
    );

    // Minimum decryption version above the old key.
    let new_version = keyring.key(new).expect("new").version;
    keyring
        .set_min_decryption_version(new_version)
        .expect("min");
    let c = Crypter::new(&keyring).expect("c");
    assert_eq!(
        c.decrypt(&context, &ct).map(|_| ()).map_err(|e| e.kind()),
        Err(DecryptErrorKind::KeyBelowMinimumVersion)
    );
    keyring.set_min_decryption_version(0).expect("min");

    keyring.disable(old).expect("disable");
    let c = Crypter::new(&keyring).expect("c");
    assert_eq!(
        c.decrypt(&context, &ct).map(|_| ()).map_err(|e| e.kind()),
        Err(DecryptErrorKind::KeyDisabled)
    );

    keyring.destroy(old).expect("destroy");
    let c = Crypter::new(&keyring).expect("c");
    let err = c.decrypt(&context, &ct).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), DecryptErrorKind::KeyDestroyed);
    assert!(err.to_string().contains("key destroyed"), "{err}");
}

#[test]
fn errors_and_debug_show_no_secrets() {
    let keyring = Keyring::generate().expect("keyring");
    let crypter = Crypter::new(&keyring).expect("crypter");
    let context = ctx(1);
    let ct = crypter
        .encrypt(&context, b"hunter2-hunter2")
        .expect("encrypt");
    let pt = crypter.decrypt(&context, &ct).expect("decrypt");
    let shown = format!("{keyring:?} {crypter:?} {ct:?} {pt:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
    let master = palisade_crypt::MasterKey::generate().expect("master");
    let b64 = secrecy::ExposeSecret::expose_secret(&master.to_base64()).to_owned();
    assert!(!format!("{master:?}").contains(&b64));
    assert!(!format!("{:?}", master.to_base64()).contains(&b64));
}
