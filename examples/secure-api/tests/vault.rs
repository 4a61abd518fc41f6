//! The service on Vault (feature `vault`), against a small HTTP server answering as Vault's API
//! documentation says (palisade-secrets' test server), not a live Vault: the keyring sealed by
//! a Transit key (`PALISADE_KEYRING_KEK=vault-transit:...`) through start, `rotate-keys` and a
//! restart, and the JWT key read from the KV version 2 engine (`vault:...#FIELD`), a new
//! version taken up without a restart.
#![cfg(feature = "vault")]

mod common;

#[path = "../../../crates/palisade-secrets/tests/support/fake_vault.rs"]
#[allow(dead_code, unreachable_pub)]
mod fake_vault;

use common::{PASSWORD, SECRETS, Server, bearer, kid_in, kid_of, offline_command};

const NEW_KEY: &str = "7a6b5c4d3e2f10019f8e7d6c5b4a39281706f5e4d3c2b1a0918273645546372a";

fn shows_a_secret(text: &str) -> bool {
    SECRETS.iter().any(|(_, v)| text.contains(v))
        || text.contains(NEW_KEY)
        || text.contains(fake_vault::TOKEN)
}

#[test]
fn a_keyring_sealed_by_vault_transit_and_a_jwt_key_from_vault_kv() {
    let (vault, _runtime) = fake_vault::FakeVault::start_on_own_runtime();
    vault.put(
        "secret/secure-api",
        serde_json::json!({"jwt": SECRETS[0].1}),
    );
    let url = vault.url();
    let dir = Server::temp_dir("vault");
    let env = [
        ("VAULT_ADDR", url.as_str()),
        ("VAULT_TOKEN", fake_vault::TOKEN),
        ("PALISADE_KEYRING_KEK", "vault-transit:transit/secure-api"),
        ("PALISADE_MASTER_KEY", ""),
        ("PALISADE_JWT_KEY", "vault:secret/secure-api#jwt"),
        ("PALISADE_SECRETS_REFRESH_SECS", "1"),
    ];
    let server = Server::start(&dir, &env);
    let login = server.account("vault@example.com", PASSWORD);
    let old = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid_in(&old), kid_of(&palisade_testkit::unhex(SECRETS[0].1)));
    let auth = bearer(&old);
    let r = server.put(
        "/me",
        &[("Authorization", &auth)],
        r#"{"address":"1 Transit Way"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let sealed = std::fs::read(dir.join("keyring")).unwrap();
    assert!(
        sealed.windows(9).any(|w| w == b"vault:v1:"),
        "sealed by Transit"
    );

    let out = offline_command(&dir, &["rotate-keys"], &env);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("remaining_on_old_keys=0"), "{stderr}");
    let r = server.get("/me", &[("Authorization", &auth)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["address"], "1 Transit Way");

    // A new KV version is taken up; the old key's tokens still verify.
    vault.put("secret/secure-api", serde_json::json!({"jwt": NEW_KEY}));
    let new = server.login_until_signed_by("vault@example.com", PASSWORD, NEW_KEY);
    assert_eq!(
        server
            .get("/me", &[("Authorization", &bearer(&new))])
            .status,
        200
    );
    assert_eq!(server.get("/me", &[("Authorization", &auth)]).status, 200);
    let logs = server.logs();
    assert!(!shows_a_secret(&logs), "{logs}");
    drop(server);

    // Restarted: the keyring opens under the same Transit key, and not under another.
    let server = Server::start(&dir, &env);
    let login = server.login("vault@example.com", PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    drop(server);
    let mut other = env.to_vec();
    other.retain(|(k, _)| *k != "PALISADE_KEYRING_KEK");
    other.push(("PALISADE_KEYRING_KEK", "vault-transit:transit/another"));
    let log = Server::try_start(&dir, &other, &[])
        .err()
        .expect("opened under another Transit key");
    assert!(log.contains("refusing to start"), "{log}");
    assert!(!shows_a_secret(&log), "{log}");
    drop(vault);
    let _ = std::fs::remove_dir_all(&dir);
}
