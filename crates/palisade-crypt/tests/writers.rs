//! "However many processes share the key": every writer draws its own random salt, so two
//! writers on one keyring (two crypters in one process, or two processes loading one keyring
//! file) never encrypt under the same subkey, and each reads what the other wrote.

mod support;

use std::{fmt::Write as _, path::Path};

use palisade_crypt::{Ciphertext, Context, Crypter, Keyring, MasterKey};
use support::TempDir;

/// Where the subkey salt sits in a ciphertext header (README, "Format").
const SALT: std::ops::Range<usize> = 7..23;

/// Set in the environment of the second process: the directory holding the keyring file and
/// its master key.
const WRITER_DIR: &str = "PALISADE_CRYPT_SECOND_WRITER_DIR";
const FIELDS: [&str; 3] = ["users.email", "users.phone", "orders.address"];

fn salt(ct: &Ciphertext) -> [u8; 16] {
    ct.as_bytes()[SALT].try_into().expect("16-byte salt")
}

/// One ciphertext per field, as text lines `field plaintext ciphertext`.
fn write_all(crypter: &Crypter, who: &str) -> Vec<(String, String, Ciphertext)> {
    FIELDS
        .iter()
        .map(|field| {
            let ctx = Context::new(field).expect("context");
            let plaintext = format!("{who} wrote {field}");
            let ct = crypter
                .encrypt(&ctx, plaintext.as_bytes())
                .expect("encrypt");
            ((*field).to_owned(), plaintext, ct)
        })
        .collect()
}

fn check_distinct_and_readable(
    reader: &Crypter,
    a: &[(String, String, Ciphertext)],
    b: &[(String, String, Ciphertext)],
) {
    for (field, plaintext, ct) in a.iter().chain(b) {
        let opened = reader
            .decrypt(&Context::new(field).expect("context"), ct)
            .expect("decrypt");
        assert_eq!(opened.expose_str(), Some(plaintext.as_str()));
    }
    for (_, _, x) in a {
        for (_, _, y) in b {
            assert_ne!(salt(x), salt(y), "two writers shared a subkey salt");
        }
    }
}

#[test]
fn two_writers_on_one_keyring_never_share_a_subkey() {
    let keyring = Keyring::generate().expect("keyring");
    let (one, two) = (
        Crypter::new(&keyring).expect("crypter"),
        Crypter::new(&keyring).expect("crypter"),
    );
    assert_eq!(one.primary_key_id(), two.primary_key_id());
    let (a, b) = (write_all(&one, "one"), write_all(&two, "two"));
    check_distinct_and_readable(&one, &a, &b);
    check_distinct_and_readable(&two, &a, &b);
}

fn load_crypter(dir: &Path) -> Crypter {
    let master = MasterKey::from_file(dir.join("master.key")).expect("master key file");
    let keyring = Keyring::load(dir.join("ring.pck"), &master).expect("load");
    Crypter::new(&keyring).expect("crypter")
}

/// The body of the second process; does nothing when run as an ordinary test.
#[test]
fn second_writer_process() {
    if let Some(dir) = std::env::var_os(WRITER_DIR) {
        let dir = Path::new(&dir);
        let mut out = String::new();
        for (field, plaintext, ct) in write_all(&load_crypter(dir), "two") {
            writeln!(out, "{field}\t{plaintext}\t{}", ct.to_text()).expect("write to a String");
        }
        std::fs::write(dir.join("second.txt"), out).expect("write output");
    }
}

#[test]
fn two_processes_on_one_keyring_file_never_share_a_subkey() {
    let dir = TempDir::new("processes");
    support::keyring_file(&dir.0);

    let status = support::second_process("second_writer_process", WRITER_DIR, &dir.0)
        .status()
        .expect("second process");
    assert!(status.success(), "second process: {status}");

    let ours = load_crypter(&dir.0);
    let a = write_all(&ours, "one");
    let text = std::fs::read_to_string(dir.0.join("second.txt")).expect("second output");
    let b: Vec<_> = text
        .lines()
        .map(|line| {
            let mut parts = line.split('\t');
            let (field, plaintext, ct) = (
                parts.next().expect("field"),
                parts.next().expect("plaintext"),
                parts.next().expect("ciphertext"),
            );
            (
                field.to_owned(),
                plaintext.to_owned(),
                Ciphertext::from_text(ct).expect("ciphertext text"),
            )
        })
        .collect();
    assert_eq!(b.len(), FIELDS.len());
    check_distinct_and_readable(&ours, &a, &b);
}
