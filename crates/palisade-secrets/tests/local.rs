//! `LocalSource` against real files, variables and a systemd credentials directory, including
//! the files an attacker or a slip would leave: readable by others, not regular, too large.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    fs,
    path::{Path, PathBuf},
};

use palisade_secrets::{
    Address, LocalSource, LocalSourceOptions, MAX_SECRET_BYTES, SecretErrorKind, Source as _,
};

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-secrets-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8], mode: u32) {
    fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

fn file(path: &Path) -> Address {
    format!("file:{}", path.display()).parse().unwrap()
}

fn load(source: &LocalSource, address: &Address) -> Result<Vec<u8>, SecretErrorKind> {
    source
        .load(address)
        .map(|s| s.expose_secret().to_vec())
        .map_err(|e| e.kind())
}

#[test]
fn a_private_file_is_read_with_one_trailing_newline_removed() {
    let dir = dir("newline");
    let source = LocalSource::default();
    for (content, expected) in [
        (&b"s3cret\n"[..], &b"s3cret"[..]),
        (b"s3cret\r\n", b"s3cret"),
        (b"s3cret", b"s3cret"),
        (b"s3cret\n\n", b"s3cret\n"),
        (b" spaced \n", b" spaced "),
    ] {
        let path = dir.join("key");
        write(&path, content, 0o600);
        assert_eq!(load(&source, &file(&path)).unwrap(), expected);
    }
    let version = source.load(&file(&dir.join("key"))).unwrap();
    assert!(version.version().is_some(), "a file's version is its mtime");
}

#[cfg(unix)]
#[test]
fn a_file_its_group_or_others_can_read_or_write_is_refused_unless_opted_out_by_name() {
    let dir = dir("modes");
    let path = dir.join("key");
    let strict = LocalSource::default();
    for mode in [0o640, 0o604, 0o620, 0o602, 0o644, 0o666] {
        write(&path, b"s3cret", mode);
        assert_eq!(
            load(&strict, &file(&path)),
            Err(SecretErrorKind::NotPrivate),
            "{mode:o}"
        );
    }
    for mode in [0o600, 0o400] {
        write(&path, b"s3cret", mode);
        assert!(load(&strict, &file(&path)).is_ok(), "{mode:o}");
    }
    write(&path, b"s3cret", 0o644);
    let mut options = LocalSourceOptions::default();
    options.insecure_allow_readable_by_others = true;
    let lax = LocalSource::default().options(options);
    assert_eq!(load(&lax, &file(&path)).unwrap(), b"s3cret");
}

#[cfg(unix)]
#[test]
fn only_regular_files_are_read_and_symlinks_are_followed() {
    let dir = dir("kinds");
    let source = LocalSource::default();
    assert_eq!(
        load(&source, &file(&dir)),
        Err(SecretErrorKind::NotRegularFile)
    );
    // A FIFO would block a plain open until a writer came: it is refused before opening.
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert_eq!(
        load(&source, &file(&fifo)),
        Err(SecretErrorKind::NotRegularFile)
    );
    assert_eq!(
        load(&source, &file(Path::new("/dev/null"))),
        Err(SecretErrorKind::NotRegularFile)
    );
    // Kubernetes mounts secrets as symbolic links into a `..data` directory.
    let target = dir.join("target");
    write(&target, b"via link", 0o600);
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(load(&source, &file(&link)).unwrap(), b"via link");
    assert_eq!(
        load(&source, &file(&dir.join("missing"))),
        Err(SecretErrorKind::NotFound)
    );
}

#[test]
fn values_over_the_cap_and_empty_values_are_refused() {
    let dir = dir("sizes");
    let source = LocalSource::default();
    let path = dir.join("key");
    write(&path, &vec![b'a'; MAX_SECRET_BYTES], 0o600);
    assert_eq!(load(&source, &file(&path)).unwrap().len(), MAX_SECRET_BYTES);
    // The cap counts the value, not its trailing newline.
    let mut with_newline = vec![b'a'; MAX_SECRET_BYTES];
    with_newline.push(b'\n');
    write(&path, &with_newline, 0o600);
    assert_eq!(load(&source, &file(&path)).unwrap().len(), MAX_SECRET_BYTES);
    write(&path, &vec![b'a'; MAX_SECRET_BYTES + 1], 0o600);
    assert_eq!(load(&source, &file(&path)), Err(SecretErrorKind::TooLarge));
    write(&path, &vec![b'a'; 10 * MAX_SECRET_BYTES], 0o600);
    assert_eq!(load(&source, &file(&path)), Err(SecretErrorKind::TooLarge));
    for empty in [&b""[..], b"\n"] {
        write(&path, empty, 0o600);
        assert_eq!(load(&source, &file(&path)), Err(SecretErrorKind::Empty));
    }
    let mut small = LocalSourceOptions::default();
    small.max_bytes = 4;
    write(&path, b"12345", 0o600);
    assert_eq!(
        load(&LocalSource::default().options(small), &file(&path)),
        Err(SecretErrorKind::TooLarge)
    );
    let env = LocalSource::with_environment([
        ("BIG", "a".repeat(MAX_SECRET_BYTES + 1)),
        ("EMPTY", String::new()),
    ]);
    assert_eq!(
        load(&env, &"env:BIG".parse().unwrap()),
        Err(SecretErrorKind::TooLarge)
    );
    assert_eq!(
        load(&env, &"env:EMPTY".parse().unwrap()),
        Err(SecretErrorKind::Empty)
    );
}

#[test]
fn environment_variables_and_systemd_credentials() {
    let dir = dir("systemd");
    write(&dir.join("db-password"), b"from systemd\n", 0o400);
    let source = LocalSource::with_environment([
        ("DB_PASSWORD", "from env"),
        ("CREDENTIALS_DIRECTORY", dir.to_str().unwrap()),
    ]);
    assert_eq!(
        load(&source, &"env:DB_PASSWORD".parse().unwrap()).unwrap(),
        b"from env"
    );
    assert_eq!(
        load(&source, &"env:MISSING".parse().unwrap()),
        Err(SecretErrorKind::NotFound)
    );
    assert_eq!(
        load(&source, &"systemd:db-password".parse().unwrap()).unwrap(),
        b"from systemd"
    );
    assert_eq!(
        load(&source, &"systemd:other".parse().unwrap()),
        Err(SecretErrorKind::NotFound)
    );
    // Outside a systemd service there is no credentials directory.
    let outside = LocalSource::with_environment([("X", "y")]);
    assert_eq!(
        load(&outside, &"systemd:db-password".parse().unwrap()),
        Err(SecretErrorKind::NotFound)
    );
}

/// Errors name the address and the failure, never the value: not for a file too large, not
/// for one readable by others, not in `Debug` of the loaded secret.
#[test]
fn errors_and_debug_never_show_the_value() {
    let dir = dir("leaks");
    let path = dir.join("key");
    write(&path, b"hunter2-hunter2", 0o600);
    let source = LocalSource::default();
    let secret = source.load(&file(&path)).unwrap();
    assert!(!format!("{secret:?}").contains("hunter2"));
    #[cfg(unix)]
    {
        write(&path, b"hunter2-hunter2", 0o644);
        let e = source.load(&file(&path)).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
    }
}

#[tokio::test]
async fn the_source_trait_reads_the_same() {
    let source = LocalSource::with_environment([("K", "v")]);
    let secret = source.fetch(&"env:K".parse().unwrap()).await.unwrap();
    assert_eq!(secret.expose_secret(), b"v");
}
