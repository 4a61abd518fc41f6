//! Pepper rotation: with the old pepper given as `PREVIOUS_PEPPER` under its id, accounts
//! hashed under it still sign in and are rehashed under the new pepper; once the old pepper is
//! removed, only the accounts that were rehashed sign in.

mod common;

use common::Server;

const PASSWORD: &str = "correct horse battery staple";
const OLD: &str = "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07";
const NEW: &str = "7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1e7e57ab1f00000001";

#[test]
fn a_retired_pepper_keeps_old_hashes_working_until_they_are_rehashed() {
    let dir = Server::temp_dir("pepper-rotation");
    let server = Server::start(&dir, &[("PALISADE_PEPPER", OLD)]);
    for who in ["ann@example.com", "bob@example.com"] {
        assert_eq!(
            server.register(who, PASSWORD).status,
            201,
            "{}",
            server.logs()
        );
    }
    drop(server);

    // The new pepper is current under a new id; the old one is retired under its own.
    let rotated = [
        ("PALISADE_PEPPER", NEW),
        ("PALISADE_PEPPER_ID", "p2"),
        ("PALISADE_PREVIOUS_PEPPER", OLD),
        ("PALISADE_PREVIOUS_PEPPER_ID", "p1"),
    ];
    let server = Server::start(&dir, &rotated);
    assert_eq!(server.login("ann@example.com", PASSWORD).status, 200);
    server.wait_for_audit("auth.password_rehashed", 1);
    assert_eq!(server.register("cy@example.com", PASSWORD).status, 201);
    drop(server);

    // The old pepper removed: Ann (rehashed at her login) and Cy (new) sign in; Bob, still
    // under the old pepper, does not.
    let server = Server::start(
        &dir,
        &[("PALISADE_PEPPER", NEW), ("PALISADE_PEPPER_ID", "p2")],
    );
    assert_eq!(server.login("ann@example.com", PASSWORD).status, 200);
    assert_eq!(server.login("cy@example.com", PASSWORD).status, 200);
    assert_eq!(server.login("bob@example.com", PASSWORD).status, 401);
}

#[test]
fn a_previous_pepper_needs_its_own_id() {
    let dir = Server::temp_dir("pepper-ids");
    for (env, needle) in [
        (
            vec![("PALISADE_PREVIOUS_PEPPER", OLD)],
            "a previous pepper needs previous_pepper_id",
        ),
        (
            vec![("PALISADE_PREVIOUS_PEPPER_ID", "p0")],
            "previous_pepper_id is set but no previous pepper is given",
        ),
        (
            vec![
                ("PALISADE_PREVIOUS_PEPPER", OLD),
                ("PALISADE_PREVIOUS_PEPPER_ID", "p1"),
            ],
            "must differ from pepper_id",
        ),
    ] {
        let log = Server::try_start(&dir, &env, &[]).err().expect("refused");
        assert!(log.contains(needle), "{needle}: {log}");
        assert!(!log.contains(OLD), "the secret is never logged: {log}");
    }
}

/// The pepper id the service derives from a pepper taken up at run time (`reload.rs`).
fn pepper_id_of(pepper: &[u8]) -> String {
    use hmac::{KeyInit, Mac as _};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(pepper).unwrap();
    mac.update(b"secure-api pepper id v1");
    let tag = mac.finalize().into_bytes();
    let hex = format!("{:02x}{:02x}{:02x}{:02x}", tag[0], tag[1], tag[2], tag[3]);
    format!("p{}", &hex[..7])
}

/// The pepper id a stored hash names (`keyid=`, base64 without padding).
fn keyid(id: &str) -> String {
    use base64::Engine as _;
    format!(
        "keyid={}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(id)
    )
}

fn stored_hash(dir: &std::path::Path, email: &str) -> String {
    let conn = rusqlite::Connection::open(dir.join("db.sqlite")).unwrap();
    conn.query_row(
        "SELECT password_hash FROM users WHERE email = ?1",
        [email],
        |r| r.get(0),
    )
    .unwrap()
}

/// The README's claim: a pepper rotated through the change signal (the pepper file rewritten
/// under the running service) is kept, with the earlier one, only until the process ends. The
/// earlier pepper must be configured as `PREVIOUS_PEPPER`, under the id it was configured with,
/// before the next restart (the new one under a new `pepper_id`); without it, accounts still
/// hashed under it no longer sign in. Hashes made after the rotation name the id derived from
/// the new value, and verify after the restart either way.
#[test]
fn after_a_pepper_rotation_through_watch_the_old_pepper_must_be_configured_before_a_restart() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Server::temp_dir("pepper-watch-restart");
    let pepper_file = dir.join("pepper.hex");
    let write = |hex: &str| {
        let tmp = dir.join("pepper.hex.new");
        std::fs::write(&tmp, format!("{hex}\n")).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::rename(&tmp, &pepper_file).unwrap();
    };
    write(OLD);
    let address = format!("file:{}", pepper_file.display());
    let server = Server::start(
        &dir,
        &[
            ("PALISADE_PEPPER", address.as_str()),
            ("PALISADE_SECRETS_REFRESH_SECS", "1"),
        ],
    );
    assert_eq!(server.register("old@example.com", PASSWORD).status, 201);
    assert!(stored_hash(&dir, "old@example.com").contains(&keyid("p1")));

    // Rotated under the running service: new accounts are hashed under the new pepper, named
    // by the id derived from it, once the change is taken up (bounded: read every second).
    write(NEW);
    let new_id = keyid(&pepper_id_of(&palisade_testkit::unhex(NEW)));
    let mut late = None;
    for i in 0..40 {
        let email = format!("late{i}@example.com");
        assert_eq!(server.register(&email, PASSWORD).status, 201);
        if stored_hash(&dir, &email).contains(&new_id) {
            late = Some(email);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let late = late.expect("the rotated pepper was not taken up");
    // Both sign in while the process runs (Old is not logged in here: that would rehash it).
    assert_eq!(server.login(&late, PASSWORD).status, 200);
    drop(server);

    // Restarted with the new pepper only: Old's hash names a pepper no longer configured.
    let only_new = [("PALISADE_PEPPER", NEW), ("PALISADE_PEPPER_ID", "p2")];
    let server = Server::start(&dir, &only_new);
    assert_eq!(server.login(&late, PASSWORD).status, 200);
    assert_eq!(server.login("old@example.com", PASSWORD).status, 401);
    drop(server);

    // As documented: the old pepper as PREVIOUS_PEPPER under its configured id.
    let documented = [
        ("PALISADE_PEPPER", NEW),
        ("PALISADE_PEPPER_ID", "p2"),
        ("PALISADE_PREVIOUS_PEPPER", OLD),
        ("PALISADE_PREVIOUS_PEPPER_ID", "p1"),
    ];
    let server = Server::start(&dir, &documented);
    assert_eq!(server.login(&late, PASSWORD).status, 200);
    assert_eq!(server.login("old@example.com", PASSWORD).status, 200);
    server.wait_for_audit("auth.password_rehashed", 1);
    let _ = std::fs::remove_dir_all(&dir);
}
