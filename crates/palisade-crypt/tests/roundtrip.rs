//! Round trips: every plaintext, context and padding comes back unchanged, in binary, text,
//! typed and serde forms.

use palisade_crypt::{
    Ciphertext, Context, Crypter, Encrypted, Field, FieldContext, Keyring, Padding,
};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9_.-]{1,20}"
}

fn context() -> impl Strategy<Value = Context> {
    (
        name(),
        proptest::collection::btree_map(name(), "[^;]{0,30}", 0..4),
    )
        .prop_map(|(field, attrs)| {
            let mut ctx = Context::new(&field).expect("valid field");
            for (n, v) in attrs {
                ctx = ctx.with(&n, v).expect("valid attribute");
            }
            ctx
        })
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::NONE),
        Just(Padding::PADME),
        (1u32..300).prop_map(|n| Padding::bucket(n).expect("bucket")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn encrypt_then_decrypt_returns_the_plaintext(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2000),
        ctx in context(),
        padding in padding(),
    ) {
        let keyring = Keyring::generate().expect("keyring");
        let crypter = Crypter::with_padding(&keyring, padding).expect("crypter");
        let ct = crypter.encrypt(&ctx, &plaintext).expect("encrypt");
        if let Some(padded) = padding.padded_len(plaintext.len()) {
            prop_assert_eq!(ct.as_bytes().len(), palisade_crypt::OVERHEAD + padded);
        }
        let opened = crypter.decrypt(&ctx, &ct).expect("decrypt");
        prop_assert_eq!(opened.expose_secret(), plaintext.as_slice());

        let text = ct.to_text();
        prop_assert!(text.starts_with("pc1:"));
        let parsed = Ciphertext::from_text(&text).expect("text");
        prop_assert_eq!(&parsed, &ct);
        prop_assert_eq!(Ciphertext::from_bytes(ct.as_bytes()).expect("bytes"), ct.clone());

        // The context's text form round-trips too (what the command line passes).
        let reparsed: Context = ctx.to_string().parse().expect("context text");
        prop_assert_eq!(&reparsed, &ctx);
        prop_assert!(crypter.decrypt(&reparsed, &parsed).is_ok());

        // Rewrapping after a rotation keeps the value.
        let mut rotated = keyring.clone();
        rotated.rotate(palisade_crypt::KeyPurpose::Encryption).expect("rotate");
        let new = Crypter::new(&rotated).expect("crypter");
        prop_assert!(new.needs_rewrap(&ct));
        let moved = new.rewrap(&ctx, &ct).expect("rewrap");
        prop_assert!(!new.needs_rewrap(&moved));
        let opened = new.decrypt(&ctx, &moved).expect("decrypt");
        prop_assert_eq!(opened.expose_secret(), plaintext.as_slice());
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in ".{0,200}") {
        let _ = Ciphertext::from_bytes(&bytes);
        let _ = Ciphertext::from_text(&text);
        let _ = text.parse::<Context>();
        let _ = palisade_crypt::fuzzing::parse_keyring_plaintext(&bytes);
    }
}

struct Email;
impl Field for Email {
    const NAME: &'static str = "users.email";
}

#[test]
fn typed_fields_round_trip() {
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let ctx = FieldContext::<Email>::new()
        .and_then(|c| c.with("row", 1))
        .expect("ctx");
    let sealed: Encrypted<Email> = crypter.seal(&ctx, b"a@example.com").expect("seal");
    let text = sealed.to_text();
    let back = Encrypted::<Email>::from_text(&text).expect("text");
    assert_eq!(
        crypter.open(&ctx, &back).expect("open").expose_str(),
        Some("a@example.com")
    );
    let other_row = FieldContext::<Email>::new()
        .and_then(|c| c.with("row", 2))
        .expect("ctx");
    assert!(crypter.open(&other_row, &back).is_err());
}

#[test]
fn many_messages_share_one_cached_subkey_and_stay_distinct() {
    let crypter = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let ctx = Context::new("t.c").expect("ctx");
    let a = crypter.encrypt(&ctx, b"same").expect("encrypt");
    let b = crypter.encrypt(&ctx, b"same").expect("encrypt");
    assert_ne!(a, b, "random nonces");
    assert_eq!(
        a.as_bytes()[7..23],
        b.as_bytes()[7..23],
        "one writer, one salt per field"
    );
    let other = crypter
        .encrypt(&Context::new("t.d").expect("ctx"), b"same")
        .expect("encrypt");
    assert_ne!(
        a.as_bytes()[7..23],
        other.as_bytes()[7..23],
        "a salt per field"
    );
    // A second writer (another process with the same keyring) draws its own salt.
    let writer2 = Crypter::new(&Keyring::generate().expect("keyring")).expect("crypter");
    let c = writer2.encrypt(&ctx, b"same").expect("encrypt");
    assert_ne!(a.as_bytes()[7..23], c.as_bytes()[7..23]);
}

#[test]
fn context_rules() {
    use palisade_crypt::ContextError;
    assert!(matches!(
        Context::new(""),
        Err(ContextError::InvalidName { .. })
    ));
    assert!(matches!(
        Context::new("Users"),
        Err(ContextError::InvalidName { .. })
    ));
    assert!(matches!(
        Context::new("a").and_then(|c| c.with("row", "1;x")),
        Err(ContextError::InvalidValue { .. })
    ));
    assert!(matches!(
        Context::new("a")
            .and_then(|c| c.with("row", 1))
            .and_then(|c| c.with("row", 2)),
        Err(ContextError::DuplicateAttribute { .. })
    ));
    assert!(matches!(
        "a;row".parse::<Context>(),
        Err(ContextError::Syntax { .. })
    ));
    let c: Context = "users.email;tenant=acme;row=4=2"
        .parse()
        .expect("value may hold '='");
    assert_eq!(
        c.attributes().collect::<Vec<_>>(),
        vec![("row", "4=2"), ("tenant", "acme")]
    );
}

#[cfg(feature = "serde")]
#[test]
fn serde_uses_the_text_form() {
    use palisade_crypt::{BlindIndex, BlindIndexer};
    let keyring = Keyring::generate().expect("keyring");
    let crypter = Crypter::new(&keyring).expect("crypter");
    let ctx = FieldContext::<Email>::new().expect("ctx");
    let index = BlindIndexer::new(&keyring, 8).expect("indexer");
    let email = crypter.seal(&ctx, b"a@example.com").expect("seal");
    let email_index = index
        .compute("users.email", b"a@example.com")
        .expect("index");
    let json = serde_json::to_string(&(&email, &email_index)).expect("json");
    assert_eq!(json, format!("[\"{email}\",\"{email_index}\"]"));
    let (back, back_index): (Encrypted<Email>, BlindIndex) =
        serde_json::from_str(&json).expect("json");
    assert_eq!(
        crypter.open(&ctx, &back).expect("open").expose_secret(),
        b"a@example.com"
    );
    assert_eq!(back_index, email_index);
    let plain: Ciphertext =
        serde_json::from_str(&serde_json::to_string(back.ciphertext()).expect("json"))
            .expect("json");
    assert_eq!(&plain, back.ciphertext());
    assert!(serde_json::from_str::<Ciphertext>("\"pc1:AAAA\"").is_err());
    assert!(serde_json::from_str::<BlindIndex>("\"x\"").is_err());
}
