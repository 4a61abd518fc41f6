//! The `metrics` feature: names, kinds and labels after real operations, each decryption
//! failure kind that can be provoked, and a bounded number of series under hostile input.
#![cfg(feature = "metrics")]

use palisade_crypt::{Ciphertext, Context, Crypter, DecryptErrorKind, KeyPurpose, Keyring};
use palisade_testkit::metrics::{Recorder, assert_bounded, capture, counter};

fn ctx(row: u32) -> Context {
    Context::new("users.email")
        .and_then(|c| c.with("row", row))
        .expect("context")
}

fn fails(crypter: &Crypter, context: &Context, ct: &Ciphertext) -> DecryptErrorKind {
    crypter.decrypt(context, ct).expect_err("refused").kind()
}

#[test]
fn decryptions_are_counted_by_failure_kind() {
    let series = capture(|| {
        let mut keyring = Keyring::generate().expect("keyring");
        let crypter = Crypter::new(&keyring).expect("crypter");
        let ct = crypter
            .encrypt(&ctx(1), b"alice@example.com")
            .expect("encrypt");
        assert!(crypter.decrypt(&ctx(1), &ct).is_ok());
        assert_eq!(
            fails(&crypter, &ctx(2), &ct),
            DecryptErrorKind::WrongContext
        );
        let mut bytes = ct.as_bytes().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = Ciphertext::from_bytes(&bytes).expect("parses");
        assert_eq!(
            fails(&crypter, &ctx(1), &tampered),
            DecryptErrorKind::Tampered
        );
        let stranger = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
        assert_eq!(fails(&stranger, &ctx(1), &ct), DecryptErrorKind::UnknownKey);

        let old = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
        keyring.rotate(KeyPurpose::Encryption).expect("rotate");
        keyring.disable(old).expect("disable");
        let disabled = Crypter::new(&keyring).expect("crypter");
        assert_eq!(
            fails(&disabled, &ctx(1), &ct),
            DecryptErrorKind::KeyDisabled
        );
    });
    let d = |outcome: &str| {
        counter(
            &series,
            &format!("palisade_crypt_decryptions_total{{outcome={outcome}}}"),
        )
    };
    assert_eq!(d("ok"), 1);
    assert_eq!(d("wrong_context"), 1);
    assert_eq!(d("tampered"), 1);
    assert_eq!(d("unknown_key"), 1);
    assert_eq!(d("key_disabled"), 1);
    assert_eq!(counter(&series, "palisade_crypt_encryptions_total"), 1);
}

#[test]
fn rewraps_are_counted_by_outcome() {
    let series = capture(|| {
        let mut keyring = Keyring::generate().expect("keyring");
        let before = Crypter::new(&keyring).expect("crypter");
        let ct = before.encrypt(&ctx(1), b"secret").expect("encrypt");
        keyring.rotate(KeyPurpose::Encryption).expect("rotate");
        let after = Crypter::new(&keyring).expect("crypter");
        assert!(after.needs_rewrap(&ct));
        let moved = after.rewrap(&ctx(1), &ct).expect("rewrap");
        assert!(!after.needs_rewrap(&moved));
        assert!(after.rewrap(&ctx(9), &ct).is_err());
    });
    assert_eq!(
        counter(&series, "palisade_crypt_rewraps_total{outcome=ok}"),
        1
    );
    assert_eq!(
        counter(&series, "palisade_crypt_rewraps_total{outcome=error}"),
        1
    );
    // A rewrap is a decryption and an encryption too.
    assert_eq!(
        counter(&series, "palisade_crypt_decryptions_total{outcome=ok}"),
        1
    );
    assert_eq!(
        counter(
            &series,
            "palisade_crypt_decryptions_total{outcome=wrong_context}"
        ),
        1
    );
    assert_eq!(counter(&series, "palisade_crypt_encryptions_total"), 2);
}

/// Thousands of distinct contexts, foreign keys and altered ciphertexts leave a handful of
/// series, none of whose labels names a context, a key id or data.
#[test]
fn hostile_input_leaves_series_bounded() {
    let series = capture(|| {
        let keyring = Keyring::generate().expect("keyring");
        let crypter = Crypter::new(&keyring).expect("crypter");
        let ct = crypter.encrypt(&ctx(0), b"zzsecret").expect("encrypt");
        let foreign = Crypter::new(&Keyring::generate().expect("keyring"))
            .expect("crypter")
            .encrypt(&ctx(0), b"zzsecret")
            .expect("encrypt");
        for i in 0..2000u32 {
            let context = Context::new("zz.table")
                .and_then(|c| c.with("zzrow", i))
                .expect("context");
            let _ = crypter.decrypt(&context, &ct);
            let _ = crypter.decrypt(&context, &foreign);
            let mut bytes = ct.as_bytes().to_vec();
            let at = 63 + (i as usize % (bytes.len() - 63));
            bytes[at] ^= 1 << (i % 8);
            if let Ok(bad) = Ciphertext::from_bytes(&bytes) {
                let _ = crypter.decrypt(&ctx(0), &bad);
            }
        }
    });
    assert_bounded(&series, "palisade_crypt_", 8, &["zz"]);
}

/// README "Metrics": a crypter registers its success counters when it is built, so it counts
/// them into the recorder installed then, wherever it runs afterwards.
#[test]
fn a_crypter_counts_successes_into_the_recorder_in_place_when_it_was_built() {
    let keyring = Keyring::generate().expect("keyring");
    let recorder = Recorder::new();
    let crypter = recorder.run(|| Crypter::new(&keyring).expect("crypter"));
    let ct = crypter.encrypt(&ctx(1), b"secret").expect("encrypt");
    assert!(crypter.decrypt(&ctx(1), &ct).is_ok());
    let elsewhere = capture(|| {
        assert!(crypter.rewrap(&ctx(1), &ct).is_ok());
        // A failure is looked up where it happens.
        assert!(crypter.decrypt(&ctx(2), &ct).is_err());
    });
    let built_under = recorder.series();
    assert_eq!(counter(&built_under, "palisade_crypt_encryptions_total"), 2);
    assert_eq!(
        counter(&built_under, "palisade_crypt_decryptions_total{outcome=ok}"),
        2
    );
    assert_eq!(
        counter(&built_under, "palisade_crypt_rewraps_total{outcome=ok}"),
        1
    );
    assert_eq!(
        counter(
            &elsewhere,
            "palisade_crypt_decryptions_total{outcome=wrong_context}"
        ),
        1
    );
    assert!(
        !elsewhere.contains_key("palisade_crypt_decryptions_total{outcome=ok}"),
        "{elsewhere:?}"
    );
}
