//! Blind indexes: deterministic per key and field, separate keys from encryption, and query
//! values for every live key during a rotation.

use palisade_crypt::{BlindIndex, BlindIndexer, KeyPurpose, Keyring};

#[test]
fn equal_values_match_and_fields_and_keys_separate() {
    let keyring = Keyring::generate().expect("keyring");
    let idx = BlindIndexer::new(&keyring, 8).expect("indexer");
    let a = idx.compute("users.email", b"a@example.com").expect("index");
    assert_eq!(
        a,
        idx.compute("users.email", b"a@example.com").expect("index")
    );
    assert_eq!(a.as_bytes().len(), 4 + 8);
    assert_eq!(
        a.key_id(),
        keyring.primary(KeyPurpose::BlindIndex).expect("p").id
    );
    assert_ne!(
        a,
        idx.compute("users.email", b"b@example.com").expect("index")
    );
    assert_ne!(
        a,
        idx.compute("users.backup_email", b"a@example.com")
            .expect("index")
    );
    let other = BlindIndexer::new(&Keyring::generate().expect("keyring"), 8).expect("indexer");
    assert_ne!(
        a,
        other
            .compute("users.email", b"a@example.com")
            .expect("index")
    );
    assert_eq!(BlindIndex::from_text(&a.to_text()), Some(a.clone()));
    assert_eq!(BlindIndex::from_bytes(a.as_bytes()), Some(a));
}

#[test]
fn sizes_are_validated() {
    let keyring = Keyring::generate().expect("keyring");
    assert!(BlindIndexer::new(&keyring, 3).is_err());
    assert!(BlindIndexer::new(&keyring, 33).is_err());
    for size in [4, 16, 32] {
        let idx = BlindIndexer::new(&keyring, size).expect("indexer");
        assert_eq!(
            idx.compute("f", b"v").expect("index").as_bytes().len(),
            4 + size
        );
    }
}

#[test]
fn rotation_keeps_queries_working() {
    let mut keyring = Keyring::generate().expect("keyring");
    let old_idx = BlindIndexer::new(&keyring, 8).expect("indexer");
    let stored_old = old_idx
        .compute("users.email", b"a@example.com")
        .expect("index");

    // Encryption rotation does not touch blind-index keys.
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    let same = BlindIndexer::new(&keyring, 8).expect("indexer");
    assert_eq!(
        same.compute("users.email", b"a@example.com"),
        Some(stored_old.clone())
    );

    let old_key = stored_old.key_id();
    keyring.rotate(KeyPurpose::BlindIndex).expect("rotate");
    let idx = BlindIndexer::new(&keyring, 8).expect("indexer");
    let stored_new = idx.compute("users.email", b"a@example.com").expect("index");
    assert_ne!(stored_new, stored_old);
    assert!(idx.needs_reindex(&stored_old));
    assert!(!idx.needs_reindex(&stored_new));
    // Mid-rotation, one query finds rows indexed under either key: primary first.
    let q = idx.query_values("users.email", b"a@example.com");
    assert_eq!(q, vec![stored_new.clone(), stored_old.clone()]);

    // Once the old key is disabled, only the new index is queried.
    keyring.disable(old_key).expect("disable");
    let idx = BlindIndexer::new(&keyring, 8).expect("indexer");
    assert_eq!(
        idx.query_values("users.email", b"a@example.com"),
        vec![stored_new]
    );
}
