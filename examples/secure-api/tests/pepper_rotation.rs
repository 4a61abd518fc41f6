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
