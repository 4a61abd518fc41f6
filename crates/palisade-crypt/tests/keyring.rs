//! Keyring lifecycle and the keyring file: states, rotation order, atomic sealed storage, and
//! distinct errors for a wrong master key and a corrupted file.

mod support;

use std::sync::Arc;

use palisade_crypt::{
    Census, Context, Crypter, KekError, KeyPurpose, KeyState, Keyring, KeyringError, ManualClock,
    MasterKey,
};
use support::TempDir;

#[test]
fn generate_has_one_primary_per_purpose() {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let keyring = Keyring::generate_with_clock(clock).expect("keyring");
    let keys: Vec<_> = keyring.keys().collect();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.state == KeyState::Primary && k.created_at == 1_700_000_000)
    );
    assert_ne!(keys[0].id, keys[1].id);
    assert_eq!(
        keyring.primary(KeyPurpose::Encryption).expect("p").version,
        1
    );
    assert_eq!(
        keyring.primary(KeyPurpose::BlindIndex).expect("p").version,
        2
    );
}

#[test]
fn tink_rotation_order_and_state_rules() {
    let clock = Arc::new(ManualClock::new(100));
    let mut keyring = Keyring::generate_with_clock(clock.clone()).expect("keyring");
    let old = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    let ctx = Context::new("t.c").expect("ctx");
    let before = Crypter::new(&keyring)
        .expect("c")
        .encrypt(&ctx, b"v")
        .expect("e");

    // Add: decrypt-only; the primary does not change, so nothing is encrypted with it yet.
    clock.set(200);
    let new = keyring.add_key(KeyPurpose::Encryption).expect("add");
    assert_eq!(keyring.key(new).expect("k").state, KeyState::DecryptOnly);
    assert_eq!(keyring.primary(KeyPurpose::Encryption).expect("p").id, old);
    assert_eq!(keyring.key(new).expect("k").created_at, 200);

    // Promote: exactly one primary remains.
    clock.set(300);
    keyring.promote(new).expect("promote");
    assert_eq!(keyring.key(old).expect("k").state, KeyState::DecryptOnly);
    assert_eq!(keyring.key(old).expect("k").changed_at, 300);
    assert_eq!(
        keyring
            .keys()
            .filter(|k| k.purpose == KeyPurpose::Encryption && k.state == KeyState::Primary)
            .count(),
        1
    );

    // The primary cannot be disabled or destroyed.
    assert!(matches!(
        keyring.disable(new),
        Err(KeyringError::IsPrimary(_))
    ));
    assert!(matches!(
        keyring.destroy(new),
        Err(KeyringError::WrongState { .. })
    ));
    // A decrypt-only key cannot be destroyed before it is disabled.
    assert!(matches!(
        keyring.destroy(old),
        Err(KeyringError::WrongState { .. })
    ));

    // A census with values left refuses the disable.
    let crypter = Crypter::new(&keyring).expect("c");
    assert!(crypter.decrypt(&ctx, &before).is_ok());
    let mut source = vec![before.clone()];
    let census = count(&mut source);
    assert!(matches!(
        keyring.disable_checked(old, &census),
        Err(KeyringError::StillInUse { remaining: 1, .. })
    ));
    assert_eq!(
        keyring.key(old).expect("k").state,
        KeyState::DecryptOnly,
        "refusal changes nothing"
    );
    keyring
        .disable_checked(old, &Census::default())
        .expect("disable");
    // Disabled keys cannot be promoted; re-enable first.
    assert!(keyring.promote(old).is_err());
    keyring.enable(old).expect("enable");
    keyring.disable(old).expect("disable");
    keyring.destroy(old).expect("destroy");
    assert_eq!(
        keyring.key(old).expect("tombstone").state,
        KeyState::Destroyed
    );
    assert!(keyring.enable(old).is_err());

    // Minimum decryption version cannot lock out the primary.
    let primary_version = keyring.primary(KeyPurpose::Encryption).expect("p").version;
    assert!(matches!(
        keyring.set_min_decryption_version(primary_version + 1),
        Err(KeyringError::MinimumAbovePrimary { .. })
    ));
}

fn count(values: &mut Vec<palisade_crypt::Ciphertext>) -> Census {
    use palisade_crypt::{Record, RecordSource};
    struct S<'a>(&'a mut Vec<palisade_crypt::Ciphertext>);
    impl RecordSource for S<'_> {
        type Error = std::io::Error;
        fn scan(&mut self, after: Option<&str>, _limit: usize) -> Result<Vec<Record>, Self::Error> {
            if after.is_some() {
                return Ok(Vec::new());
            }
            Ok(self
                .0
                .iter()
                .enumerate()
                .map(|(i, c)| Record {
                    id: format!("{i:08}"),
                    context: Context::new("t.c").expect("c"),
                    ciphertext: c.clone(),
                })
                .collect())
        }
        fn replace(
            &mut self,
            _: &str,
            _: &palisade_crypt::Ciphertext,
            _: &palisade_crypt::Ciphertext,
        ) -> Result<bool, Self::Error> {
            Ok(false)
        }
    }
    palisade_crypt::census(&mut S(values), 100).expect("census")
}

#[test]
fn save_load_round_trip_and_atomicity() {
    let dir = TempDir::new("save");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let mut keyring = Keyring::generate().expect("keyring");
    keyring.save_new(&path, &master).expect("save_new");
    assert!(matches!(
        keyring.save_new(&path, &master),
        Err(KeyringError::AlreadyExists(_))
    ));

    let ctx = Context::new("t.c").expect("ctx");
    let ct = Crypter::new(&keyring)
        .expect("c")
        .encrypt(&ctx, b"kept")
        .expect("e");
    let old = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    keyring.disable(old).expect("disable");
    keyring.enable(old).expect("enable");
    keyring.save(&path, &master).expect("save");

    let loaded = Keyring::load(&path, &master).expect("load");
    assert_eq!(
        loaded.keys().collect::<Vec<_>>(),
        keyring.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        Crypter::new(&loaded)
            .expect("c")
            .decrypt(&ctx, &ct)
            .expect("d")
            .expose_secret(),
        b"kept"
    );
    // No temporary files are left behind; the lock file stays (removing it would let two
    // writers lock two different files).
    let mut names: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .map(|e| e.expect("e").file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            std::ffi::OsString::from(".ring.pck.lock"),
            std::ffi::OsString::from("ring.pck")
        ]
    );
    // Material never appears in the file in clear.
    let bytes = std::fs::read(&path).expect("read");
    assert!(bytes.starts_with(b"PCKR"));
}

#[test]
fn wrong_master_key_and_corruption_are_distinct_and_change_nothing() {
    let dir = TempDir::new("corrupt");
    let path = dir.0.join("ring.pck");
    let master = MasterKey::generate().expect("master");
    let mut keyring = Keyring::generate().expect("keyring");
    keyring.save_new(&path, &master).expect("save");
    let original = std::fs::read(&path).expect("read");

    let other = MasterKey::generate().expect("master");
    assert!(matches!(
        Keyring::load(&path, &other),
        Err(KeyringError::WrongMasterKey)
    ));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        original,
        "a failed load changes nothing"
    );

    // Every single-byte change: corruption, wrong master key (key check bytes), or an
    // unsupported version; never success.
    for i in 0..original.len() {
        let mut bad = original.clone();
        bad[i] ^= 0x01;
        match Keyring::open(&bad, &master) {
            Err(KeyringError::WrongMasterKey) => assert!((5..21).contains(&i), "byte {i}"),
            Err(KeyringError::UnsupportedVersion(_)) => assert_eq!(i, 4),
            Err(KeyringError::Corrupted(_)) => assert!(!(4..21).contains(&i), "byte {i}"),
            other => panic!("byte {i}: {other:?}"),
        }
    }
    for len in 0..original.len() {
        assert!(
            Keyring::open(&original[..len], &master).is_err(),
            "truncated to {len}"
        );
    }
    assert!(matches!(
        Keyring::open(b"not a keyring", &master),
        Err(KeyringError::Corrupted(_))
    ));
    assert!(matches!(
        Keyring::load(dir.0.join("missing"), &master),
        Err(KeyringError::Io { .. })
    ));
}

#[test]
fn master_key_sources() {
    let dir = TempDir::new("master");
    let master = MasterKey::generate().expect("master");
    let b64 = secrecy::ExposeSecret::expose_secret(&master.to_base64()).to_owned();
    let keyring = Keyring::generate().expect("keyring");
    let sealed = keyring.seal(&master).expect("seal");

    let from_text = MasterKey::from_base64(&format!("  {b64}\n")).expect("base64");
    assert!(Keyring::open(&sealed, &from_text).is_ok());

    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &b64).expect("b64");
    let from_raw = MasterKey::from_secret(&raw.clone().into()).expect("raw");
    assert!(Keyring::open(&sealed, &from_raw).is_ok());
    for wrong_length in [&raw[..31], &[raw.as_slice(), &[0]].concat()[..], &[]] {
        assert!(matches!(
            MasterKey::from_secret(&wrong_length.to_vec().into()),
            Err(KekError::InvalidMasterKey)
        ));
    }

    let file = dir.0.join("master.key");
    std::fs::write(&file, format!("{b64}\n")).expect("write");
    assert!(Keyring::open(&sealed, &MasterKey::from_file(&file).expect("file")).is_ok());

    // Environment variables: a unique name per test, so parallel tests do not interfere.
    let var = format!("PALISADE_CRYPT_TEST_MASTER_{}", std::process::id());
    assert!(matches!(
        MasterKey::from_env_var(&var),
        Err(KekError::MissingEnv(_))
    ));
    // `set_var` is unsafe in a multi-threaded test binary, so a child process gets the variable.
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "master_key_from_env_child", "--nocapture"])
        .env(&var, &b64)
        .env("PALISADE_CRYPT_TEST_VAR", &var)
        .env("PALISADE_CRYPT_TEST_SEALED", hex_encode(&sealed))
        .output()
        .expect("child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("opened via env"));

    assert!(matches!(
        MasterKey::from_base64("c2hvcnQ="),
        Err(KekError::InvalidMasterKey)
    ));
    assert!(matches!(
        MasterKey::from_base64("!!"),
        Err(KekError::InvalidMasterKey)
    ));
    std::fs::write(&file, [7u8; 32]).expect("write");
    assert!(MasterKey::from_file(&file).is_ok(), "32 raw bytes");
    std::fs::write(&file, [7u8; 31]).expect("write");
    assert!(matches!(
        MasterKey::from_file(&file),
        Err(KekError::InvalidMasterKey)
    ));
}

fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// As the child of `master_key_sources` (which sets its environment): opens the keyring with
/// the master key from the variable. Run directly: an unset variable is reported as missing.
#[test]
#[allow(
    clippy::print_stdout,
    reason = "the parent process reads the child's report"
)]
fn master_key_from_env_child() {
    let Ok(var) = std::env::var("PALISADE_CRYPT_TEST_VAR") else {
        let unset = "PALISADE_CRYPT_TEST_VARIABLE_NEVER_SET";
        assert!(
            matches!(MasterKey::from_env_var(unset), Err(KekError::MissingEnv(name)) if name == unset)
        );
        return;
    };
    let hex = std::env::var("PALISADE_CRYPT_TEST_SEALED").expect("sealed");
    let sealed: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let master = MasterKey::from_env_var(&var).expect("env");
    Keyring::open(&sealed, &master).expect("open");
    println!("opened via env");
}

#[test]
fn operator_inputs_parse() {
    let keyring = Keyring::generate().expect("keyring");
    let id = keyring.primary(KeyPurpose::Encryption).expect("p").id;
    assert_eq!(
        id.to_string().parse::<palisade_crypt::KeyId>().expect("id"),
        id
    );
    assert!(matches!(
        "xyz".parse::<palisade_crypt::KeyId>(),
        Err(KeyringError::InvalidKeyId)
    ));
    assert!("123456789".parse::<palisade_crypt::KeyId>().is_err());
    assert!("+1234567".parse::<palisade_crypt::KeyId>().is_err());
    // A census from counts supplied by the caller.
    let census: Census = [(id, 2), (id, 1)].into_iter().collect();
    assert_eq!(census.remaining(id), 3);
    assert_eq!(census.total(), 3);
}

#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Crypter>();
    check::<Keyring>();
    check::<palisade_crypt::BlindIndexer>();
    check::<MasterKey>();
    check::<Box<dyn palisade_crypt::KeyEncryptionKey>>();
}
