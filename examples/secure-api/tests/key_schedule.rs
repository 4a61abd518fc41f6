//! `rotate-keys --if-due`: rotates only a primary key older than `key_rotation_days`, says so
//! otherwise, and exits 0 either way (safe from cron or a Kubernetes `CronJob`).

mod common;

use std::path::Path;

use common::{Server, keyring_made_days_ago, master_key_bytes, offline_command};
use palisade_crypt::{KeyPurpose, Keyring, MasterKey};

fn primary(dir: &Path) -> String {
    let master = MasterKey::insecure_from_bytes(master_key_bytes());
    let keyring = Keyring::load(dir.join("keyring"), &master).unwrap();
    keyring
        .primary(KeyPurpose::Encryption)
        .unwrap()
        .id
        .to_string()
}

#[test]
fn a_key_younger_than_the_period_is_left_alone() {
    let dir = Server::temp_dir("if-due-young");
    let old = keyring_made_days_ago(&dir, 89);
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "rotate-keys: not due: primary key {old} is 89 days old, under 90 days; nothing changed"
        )),
        "{stderr}"
    );
    assert_eq!(primary(&dir), old);
    assert!(!dir.join("db.sqlite").exists(), "nothing else was touched");
}

#[test]
fn a_due_key_is_rotated_once_and_the_next_run_does_nothing() {
    let dir = Server::temp_dir("if-due-old");
    let old = keyring_made_days_ago(&dir, 91);
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rotate-keys finished"), "{stderr}");
    let new = primary(&dir);
    assert_ne!(new, old);
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("not due"), "{stderr}");
    assert_eq!(primary(&dir), new);
}

#[test]
fn the_period_comes_from_key_rotation_days() {
    let dir = Server::temp_dir("if-due-days");
    let old = keyring_made_days_ago(&dir, 100);
    let longer = [("PALISADE_KEY_ROTATION_DAYS", "365")];
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &longer);
    assert!(out.status.success());
    assert_eq!(primary(&dir), old);
    let shorter = [("PALISADE_KEY_ROTATION_DAYS", "30")];
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &shorter);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(primary(&dir), old);
    let zero = [("PALISADE_KEY_ROTATION_DAYS", "0")];
    let out = offline_command(&dir, &["rotate-keys", "--if-due"], &zero);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn if_due_belongs_to_rotate_keys() {
    let dir = Server::temp_dir("if-due-usage");
    let out = offline_command(
        &dir,
        &["grant-role", "a@example.com", "admin", "--if-due"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--if-due belongs to rotate-keys"));
}
