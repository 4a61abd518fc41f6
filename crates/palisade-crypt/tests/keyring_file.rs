//! The keyring file under concurrent writers and rollback: saves are serialized and checked
//! against the file's generation, an older sealed copy is refused when a minimum generation is
//! pinned, files are private to their owner, and version 1 files still load.

mod support;

use std::path::Path;

use palisade_crypt::{KeyEncryptionKey, KeyPurpose, KeyState, Keyring, KeyringError, MasterKey};
use support::TempDir;

/// Set in the environment of the second process of `concurrent_rotations_never_lose_one`: the
/// directory holding the keyring and its master key.
const WORKER_DIR: &str = "PALISADE_CRYPT_ROTATION_WORKER_DIR";
const ROUNDS: usize = 15;

fn master_in(dir: &Path) -> MasterKey {
    MasterKey::from_file(dir.join("master.key")).expect("master key file")
}

/// Adds `rounds` keys one save at a time, as `palisade keyring rotate` run in a loop would:
/// load, change, save; on a stale write, load again and redo the change.
fn add_keys(dir: &Path, rounds: usize) -> usize {
    let (path, master) = (dir.join("ring.pck"), master_in(dir));
    let mut stale = 0;
    for _ in 0..rounds {
        loop {
            let mut ring = Keyring::load(&path, &master).expect("load");
            ring.add_key(KeyPurpose::Encryption).expect("add");
            match ring.save(&path, &master) {
                Ok(()) => break,
                Err(KeyringError::StaleWrite { loaded, on_disk }) => {
                    assert!(on_disk > loaded);
                    stale += 1;
                }
                Err(e) => panic!("save: {e}"),
            }
        }
    }
    stale
}

/// The body of the second process; does nothing when run as an ordinary test.
#[test]
fn rotation_worker_process() {
    if let Some(dir) = std::env::var_os(WORKER_DIR) {
        add_keys(Path::new(&dir), ROUNDS);
    }
}

/// Two threads and a second process add keys to one keyring file at once. Every save either
/// lands or is refused as stale and redone, so no key is lost: the file ends with every key
/// added and one generation per save.
#[test]
fn concurrent_rotations_never_lose_one() {
    let dir = TempDir::new("concurrent");
    let master = support::keyring_file(&dir.0);

    let worker = support::second_process("rotation_worker_process", WORKER_DIR, &dir.0)
        .spawn()
        .expect("second process");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| add_keys(&dir.0, ROUNDS));
        }
    });
    let status = worker.wait_with_output().expect("second process").status;
    assert!(status.success(), "second process: {status}");

    let ring = Keyring::load(dir.0.join("ring.pck"), &master).expect("load");
    let added = 3 * ROUNDS;
    assert_eq!(ring.keys().count(), 2 + added);
    assert_eq!(ring.generation(), 1 + added as u64);
}

/// A save over a file another writer saved since the load is refused, and changes nothing.
#[test]
fn stale_write_is_refused() {
    let dir = TempDir::new("stale");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let mut first = Keyring::generate().expect("keyring");
    first.save_new(&path, &master).expect("save_new");
    assert_eq!(first.generation(), 1);
    let mut second = Keyring::load(&path, &master).expect("load");

    first.add_key(KeyPurpose::Encryption).expect("add");
    first.save(&path, &master).expect("save");
    assert_eq!(first.generation(), 2);
    let after_first = std::fs::read(&path).expect("read");

    second.add_key(KeyPurpose::BlindIndex).expect("add");
    let err = second.save(&path, &master).unwrap_err();
    assert!(
        matches!(
            err,
            KeyringError::StaleWrite {
                loaded: 1,
                on_disk: 2
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("load it again"));
    assert_eq!(std::fs::read(&path).expect("read"), after_first);
    assert_eq!(second.generation(), 1);
}

/// An attacker puts back an older sealed copy, in which a destroyed key is still alive. A load
/// pinned to the last generation refuses it, and so does the next save.
#[test]
fn rolled_back_keyring_is_refused() {
    let dir = TempDir::new("rollback");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let mut ring = Keyring::generate().expect("keyring");
    let old = ring.primary(KeyPurpose::Encryption).expect("primary").id;
    ring.save_new(&path, &master).expect("save_new");
    let old_copy = std::fs::read(&path).expect("read");

    ring.rotate(KeyPurpose::Encryption).expect("rotate");
    ring.disable(old).expect("disable");
    ring.destroy(old).expect("destroy");
    ring.save(&path, &master).expect("save");
    let pinned = ring.generation();
    assert_eq!(pinned, 2);
    assert_eq!(
        Keyring::load_at_least(&path, &master, pinned)
            .expect("current file")
            .key(old)
            .expect("tombstone")
            .state,
        KeyState::Destroyed
    );

    std::fs::write(&path, &old_copy).expect("roll back");
    let err = Keyring::load_at_least(&path, &master, pinned).unwrap_err();
    assert!(
        matches!(
            err,
            KeyringError::RolledBack {
                generation: 1,
                minimum: 2
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        ring.save(&path, &master),
        Err(KeyringError::StaleWrite { .. })
    ));
    // The generation is authenticated: raising it in the old copy breaks the seal.
    let mut forged = old_copy.clone();
    forged[21..29].copy_from_slice(&2u64.to_be_bytes());
    assert!(matches!(
        Keyring::open_at_least(&forged, &master, pinned),
        Err(KeyringError::Corrupted(_))
    ));
}

/// The keyring file and its lock file are readable and writable by the owner only.
#[cfg(unix)]
#[test]
fn keyring_files_are_created_0600() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = TempDir::new("mode");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let mut ring = Keyring::generate().expect("keyring");
    ring.save_new(&path, &master).expect("save_new");
    ring.save(&path, &master).expect("save");
    for file in [path, dir.0.join(".ring.pck.lock")] {
        let mode = std::fs::metadata(&file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

/// A file of the first version (no generation) loads as generation 0 and is saved as the
/// current version at generation 1.
#[test]
fn version_1_keyring_files_still_load() {
    let dir = TempDir::new("v1");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let ring = Keyring::generate().expect("keyring");
    // A version 1 file from the same serialized keyring: header without the generation.
    let current = ring.seal(&master).expect("seal");
    let body = master
        .unwrap(&current[29..], &current[..29])
        .expect("unwrap");
    let mut v1 = b"PCKR\x01".to_vec();
    v1.extend_from_slice(&master.key_check());
    let wrapped = master.wrap(&body, &v1).expect("wrap");
    v1.extend_from_slice(&wrapped);
    std::fs::write(&path, &v1).expect("write");

    let mut loaded = Keyring::load_at_least(&path, &master, 0).expect("load v1");
    assert_eq!(loaded.generation(), 0);
    assert_eq!(
        loaded.keys().collect::<Vec<_>>(),
        ring.keys().collect::<Vec<_>>()
    );
    loaded.save(&path, &master).expect("save");
    let saved = std::fs::read(&path).expect("read");
    assert_eq!(saved[4], 2);
    assert_eq!(Keyring::load(&path, &master).expect("load").generation(), 1);
}
