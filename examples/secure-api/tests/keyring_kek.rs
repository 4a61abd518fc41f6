//! `keyring_kek` (`PALISADE_KEYRING_KEK`) in any build: a `file:` master key seals the keyring
//! in place of `MASTER_KEY` through start and `rotate-keys`, and the remote forms and secret
//! addresses of a feature this build lacks are refused by name. The AWS forms themselves are
//! tested against moto in `tests/aws.rs` (feature `aws`).

mod common;

use common::{PASSWORD, SECRETS, Server, bearer, offline_command};
use palisade_crypt::{Keyring, MasterKey};

const KEK_BASE64: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";

fn shows_a_secret(text: &str) -> bool {
    SECRETS.iter().any(|(_, v)| text.contains(v)) || text.contains(KEK_BASE64)
}

/// A `file:` key-encryption key seals the keyring; no `MASTER_KEY` is needed, and the file
/// opens with that key only.
#[test]
fn a_file_kek_seals_the_keyring_without_a_master_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Server::temp_dir("kek-file");
    let key_file = dir.join("kek.b64");
    std::fs::write(&key_file, KEK_BASE64).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let kek = format!("file:{}", key_file.display());
    let env = [
        ("PALISADE_KEYRING_KEK", kek.as_str()),
        ("PALISADE_MASTER_KEY", ""),
    ];
    let server = Server::start(&dir, &env);
    let login = server.account("file@example.com", PASSWORD);
    let access = login["access_token"].as_str().unwrap().to_owned();
    let auth = bearer(&access);
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        r#"{"phone":"+1 555 0199"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let out = offline_command(&dir, &["rotate-keys"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("remaining_on_old_keys=0"), "{stderr}");
    let r = server.get("/me", &[("Authorization", &auth)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["phone"], "+1 555 0199");

    let kek = MasterKey::from_file(&key_file).unwrap();
    assert!(Keyring::load(dir.join("keyring"), &kek).is_ok());
    drop(server);
    // Neither the key-encryption key nor the master key alone: the start asks for MASTER_KEY.
    let log = Server::try_start(&dir, &[("PALISADE_MASTER_KEY", "")], &[])
        .err()
        .expect("started without a key-encryption key");
    assert!(log.contains("secret master_key is missing"), "{log}");
    // The master key does not open a keyring sealed by the file key.
    let log = Server::try_start(&dir, &[], &[])
        .err()
        .expect("opened with the master key");
    assert!(log.contains("wrong master key"), "{log}");
    assert!(!shows_a_secret(&log), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A malformed `keyring_kek` is refused without repeating it.
#[test]
fn a_malformed_keyring_kek_is_refused_without_echo() {
    let dir = Server::temp_dir("kek-malformed");
    for kek in ["hunter2-master-key", "file:relative/hunter2", "env:HUNTER2"] {
        let log = Server::try_start(&dir, &[("PALISADE_KEYRING_KEK", kek)], &[])
            .err()
            .expect("started with a malformed keyring_kek");
        assert!(log.contains("invalid setting keyring_kek"), "{log}");
        assert!(
            !log.contains("hunter2") && !log.contains("HUNTER2"),
            "{log}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A build without a secret manager's feature refuses its key-encryption key and its secret
/// addresses at start, naming what is missing.
#[test]
fn remote_addresses_need_their_feature() {
    let dir = Server::temp_dir("kek-features");
    let mut cases = Vec::new();
    if cfg!(not(feature = "aws")) {
        cases.push((
            ("PALISADE_KEYRING_KEK", "aws-kms:alias/secure-api"),
            "needs secure-api built with the `aws` feature",
        ));
        cases.push((
            ("PALISADE_JWT_KEY", "aws-sm:secure-api/jwt"),
            "address form not served by this source",
        ));
    }
    if cfg!(not(feature = "vault")) {
        cases.push((
            ("PALISADE_KEYRING_KEK", "vault-transit:transit/secure-api"),
            "needs secure-api built with the `vault` feature",
        ));
        cases.push((
            ("PALISADE_PEPPER", "vault:secret/secure-api#pepper"),
            "address form not served by this source",
        ));
    }
    if cfg!(feature = "vault") {
        // With the feature, Vault unconfigured (no VAULT_ADDR in the test environment).
        cases.push((
            ("PALISADE_KEYRING_KEK", "vault-transit:transit/secure-api"),
            "keyring_kek vault-transit:transit/secure-api: Vault",
        ));
    }
    for (setting, needle) in cases {
        let log = Server::try_start(&dir, &[setting], &[])
            .err()
            .unwrap_or_else(|| panic!("started with {setting:?}"));
        assert!(log.contains("refusing to start"), "{log}");
        assert!(log.contains(needle), "{needle}: {log}");
        assert!(!shows_a_secret(&log), "{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
