//! The service's files are its owner's only: directories it creates are 0700, the database
//! and keyring 0600 (`SQLite` gives its WAL and shared-memory files the database's mode;
//! palisade-audit creates its segments and keys 0600 itself).

use std::{
    fmt::Write as _,
    fs::{DirBuilder, OpenOptions},
    io,
    path::{Path, PathBuf},
};

use crate::config::Config;

/// Creates `dir` and its missing parents, owner only. An existing directory is left alone.
fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates `path` empty, owner only, unless it exists.
fn private_file(path: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes the file at `path` owner only (for files a library writes with the default mode, as
/// palisade-crypt does the keyring).
pub(crate) fn owner_only(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Before the first open: the directories of the database, keyring and audit log, and the
/// database file itself, created owner only.
pub(crate) fn prepare(config: &Config) -> io::Result<()> {
    for file in [&config.database, &config.keyring] {
        if let Some(parent) = file.parent() {
            private_dir(parent)?;
        }
    }
    private_dir(&config.audit_dir)?;
    private_file(&config.database)
}

/// A new directory under `base` with a random name, created owner only; never one that
/// already exists (a directory planted there in advance is not used).
pub(crate) fn new_dev_dir(base: &Path) -> io::Result<PathBuf> {
    let mut builder = DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    for _ in 0..8 {
        let mut bytes = [0u8; 12];
        getrandom::fill(&mut bytes).map_err(|_| io::Error::other("no randomness"))?;
        let name = bytes.iter().fold(String::new(), |mut name, b| {
            let _ = write!(name, "{b:02x}");
            name
        });
        let dir = base.join(format!("secure-api-dev-{name}"));
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no unused directory name found"))
}
