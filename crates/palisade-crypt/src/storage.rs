//! The keyring file: serialization, sealing under a key-encryption key, and atomic writes.
//!
//! File layout: `PCKR`, file version (2), the KEK's 16-byte key check, the generation (u64),
//! then the KEK's wrapping of the serialized keyring with the first 29 bytes as associated
//! data. Version 1 files, without the generation, are still read (as generation 0).
//!
//! The generation grows by one with every save. A save refuses to replace a file whose
//! generation is not the one the keyring was loaded at (another writer saved in between), and
//! a load can be pinned to a minimum generation kept outside the file, so an older sealed copy
//! put back in its place is refused. Saves hold an exclusive lock on a sibling lock file
//! (`.NAME.lock`) from the generation check to the rename.
//!
//! Serialized keyring: `PCKS`, version (1), minimum decryption version (u32), key count (u16),
//! then per key: id (u32), version (u32), purpose (u8), state (u8), created and changed
//! (u64 seconds each), and 32 bytes of material unless destroyed. Big-endian throughout.

use std::{
    fs::{self, File},
    io::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::{
    error::{KekError, KeyringError},
    kek::KeyEncryptionKey,
    keyring::{Entry, KeyId, KeyInfo, KeyPurpose, KeyState, Keyring},
};

const FILE_MAGIC: &[u8; 4] = b"PCKR";
/// The first file version: no generation in the header.
const FILE_VERSION_1: u8 = 1;
const FILE_VERSION: u8 = 2;
const FILE_HEADER_1_LEN: usize = 4 + 1 + 16;
const FILE_HEADER_LEN: usize = FILE_HEADER_1_LEN + 8;
const BODY_MAGIC: &[u8; 4] = b"PCKS";
const BODY_VERSION: u8 = 1;
const MAX_KEYS: usize = 4096;

impl Keyring {
    /// Serializes the keyring, material included. The result is secret.
    fn to_plaintext(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(11 + self.entries.len() * 62));
        out.extend_from_slice(BODY_MAGIC);
        out.push(BODY_VERSION);
        out.extend_from_slice(&self.min_decryption_version.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u16).to_be_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.info.id.get().to_be_bytes());
            out.extend_from_slice(&e.info.version.to_be_bytes());
            out.push(purpose_code(e.info.purpose));
            out.push(state_code(e.info.state));
            out.extend_from_slice(&e.info.created_at.to_be_bytes());
            out.extend_from_slice(&e.info.changed_at.to_be_bytes());
            if let Some(material) = &e.material {
                out.extend_from_slice(material.as_ref().as_ref());
            }
        }
        out
    }

    /// Parses a serialized keyring and checks its invariants.
    pub(crate) fn from_plaintext(bytes: &[u8]) -> Result<Self, KeyringError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != BODY_MAGIC {
            return Err(KeyringError::Corrupted("bad keyring body magic"));
        }
        let version = r.u8()?;
        if version != BODY_VERSION {
            return Err(KeyringError::UnsupportedVersion(version));
        }
        let min = r.u32()?;
        let count = usize::from(r.u16()?);
        if count > MAX_KEYS {
            return Err(KeyringError::Corrupted("too many keys"));
        }
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            let id = KeyId::insecure_from_u32(r.u32()?);
            let version = r.u32()?;
            let purpose = purpose_from(r.u8()?).ok_or(KeyringError::Corrupted("bad purpose"))?;
            let state = state_from(r.u8()?).ok_or(KeyringError::Corrupted("bad key state"))?;
            let created_at = r.u64()?;
            let changed_at = r.u64()?;
            let material = if state == KeyState::Destroyed {
                None
            } else {
                let mut key = Zeroizing::new([0u8; 32]);
                key.copy_from_slice(r.take(32)?);
                Some(Arc::new(key))
            };
            entries.push(Entry {
                info: KeyInfo {
                    id,
                    version,
                    purpose,
                    state,
                    created_at,
                    changed_at,
                },
                material,
            });
        }
        if r.at != bytes.len() {
            return Err(KeyringError::Corrupted("trailing bytes after the keyring"));
        }
        Self::from_entries(entries, min)
    }

    /// Seals the keyring under `kek` at its current [`generation`](Keyring::generation),
    /// giving the bytes of a keyring file. The generation is authenticated with the keyring.
    ///
    /// # Errors
    /// [`KeyringError::Kek`] if the key-encryption key fails.
    pub fn seal(&self, kek: &dyn KeyEncryptionKey) -> Result<Vec<u8>, KeyringError> {
        self.seal_at(self.generation, kek)
    }

    fn seal_at(
        &self,
        generation: u64,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<Vec<u8>, KeyringError> {
        self.validate()?;
        let mut out = Vec::new();
        out.extend_from_slice(FILE_MAGIC);
        out.push(FILE_VERSION);
        out.extend_from_slice(&kek.key_check());
        out.extend_from_slice(&generation.to_be_bytes());
        let wrapped = kek.wrap(&self.to_plaintext(), &out)?;
        out.extend_from_slice(&wrapped);
        Ok(out)
    }

    /// Opens the bytes of a keyring file, of any generation. Where an older sealed copy could
    /// be put in the file's place, use [`Keyring::open_at_least`].
    ///
    /// # Errors
    /// [`KeyringError::WrongMasterKey`] if another key-encryption key sealed it,
    /// [`KeyringError::Corrupted`] if it is damaged, [`KeyringError::UnsupportedVersion`].
    pub fn open(bytes: &[u8], kek: &dyn KeyEncryptionKey) -> Result<Self, KeyringError> {
        let (header, generation) = split_header(bytes)?;
        let wrapped = &bytes[header.len()..];
        if !bool::from(kek.key_check().ct_eq(&header[5..FILE_HEADER_1_LEN])) {
            return Err(KeyringError::WrongMasterKey);
        }
        let plaintext = kek.unwrap(wrapped, header).map_err(|e| match e {
            KekError::Unwrap => KeyringError::Corrupted("the keyring did not authenticate"),
            other => KeyringError::Kek(other),
        })?;
        let mut ring = Self::from_plaintext(&plaintext)?;
        ring.generation = generation;
        Ok(ring)
    }

    /// Opens the bytes of a keyring file, refusing one older than `min_generation`.
    ///
    /// Keep the [`generation`](Keyring::generation) of the last save outside the file (in
    /// configuration, or in the key service's encryption context): an attacker who can
    /// replace the file with an older sealed copy could otherwise bring back a destroyed key
    /// or a lower minimum decryption version.
    ///
    /// # Errors
    /// [`KeyringError::RolledBack`], or as [`Keyring::open`].
    pub fn open_at_least(
        bytes: &[u8],
        kek: &dyn KeyEncryptionKey,
        min_generation: u64,
    ) -> Result<Self, KeyringError> {
        let ring = Self::open(bytes, kek)?;
        if ring.generation < min_generation {
            return Err(KeyringError::RolledBack {
                generation: ring.generation,
                minimum: min_generation,
            });
        }
        Ok(ring)
    }

    /// Loads a keyring file, of any generation (see [`Keyring::load_at_least`]).
    ///
    /// # Errors
    /// [`KeyringError::Io`], or as [`Keyring::open`].
    pub fn load(path: impl AsRef<Path>, kek: &dyn KeyEncryptionKey) -> Result<Self, KeyringError> {
        let path = path.as_ref();
        Self::open(&read(path)?, kek)
    }

    /// Loads a keyring file, refusing one older than `min_generation`: see
    /// [`Keyring::open_at_least`].
    ///
    /// # Errors
    /// [`KeyringError::RolledBack`], [`KeyringError::Io`], or as [`Keyring::open`].
    pub fn load_at_least(
        path: impl AsRef<Path>,
        kek: &dyn KeyEncryptionKey,
        min_generation: u64,
    ) -> Result<Self, KeyringError> {
        let path = path.as_ref();
        Self::open_at_least(&read(path)?, kek, min_generation)
    }

    /// Saves the keyring atomically at the next generation: a temporary file (mode 0600) in
    /// the same directory is written and synced, renamed over `path`, and the directory is
    /// synced. A crash leaves the old file or the new one, never a mix.
    ///
    /// Under an exclusive lock on `.NAME.lock` beside the file, the file's current generation
    /// must be the one this keyring was loaded (or last saved) at: otherwise another writer
    /// saved in between, and writing would lose its change, so the save is refused with
    /// [`KeyringError::StaleWrite`]. Load again, redo the change, save.
    ///
    /// # Errors
    /// [`KeyringError::StaleWrite`], [`KeyringError::Io`] or [`KeyringError::Kek`].
    pub fn save(
        &mut self,
        path: impl AsRef<Path>,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<(), KeyringError> {
        let path = path.as_ref();
        let _lock = lock_beside(path).map_err(|source| io_error(path, source))?;
        match fs::read(path) {
            Ok(bytes) => {
                let (_, on_disk) = split_header(&bytes)?;
                if on_disk != self.generation {
                    return Err(KeyringError::StaleWrite {
                        loaded: self.generation,
                        on_disk,
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error(path, source)),
        }
        let next = self.next_generation()?;
        let bytes = self.seal_at(next, kek)?;
        write_atomic(path, &bytes, false).map_err(|source| io_error(path, source))?;
        self.generation = next;
        Ok(())
    }

    /// Saves a new keyring file at the next generation, refusing to overwrite an existing one.
    ///
    /// # Errors
    /// [`KeyringError::AlreadyExists`], or as [`Keyring::save`].
    pub fn save_new(
        &mut self,
        path: impl AsRef<Path>,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<(), KeyringError> {
        let path = path.as_ref();
        let next = self.next_generation()?;
        let bytes = self.seal_at(next, kek)?;
        write_atomic(path, &bytes, true).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyringError::AlreadyExists(path.to_owned())
            } else {
                io_error(path, source)
            }
        })?;
        self.generation = next;
        Ok(())
    }

    fn next_generation(&self) -> Result<u64, KeyringError> {
        self.generation
            .checked_add(1)
            .ok_or(KeyringError::Corrupted(
                "the generation cannot grow further",
            ))
    }
}

/// The header of a keyring file (authenticated as associated data) and its generation.
fn split_header(bytes: &[u8]) -> Result<(&[u8], u64), KeyringError> {
    if bytes.len() < FILE_HEADER_1_LEN || &bytes[..4] != FILE_MAGIC {
        return Err(KeyringError::Corrupted("not a palisade-crypt keyring file"));
    }
    match bytes[4] {
        FILE_VERSION_1 => Ok((&bytes[..FILE_HEADER_1_LEN], 0)),
        FILE_VERSION if bytes.len() >= FILE_HEADER_LEN => {
            let mut generation = [0u8; 8];
            generation.copy_from_slice(&bytes[FILE_HEADER_1_LEN..FILE_HEADER_LEN]);
            Ok((&bytes[..FILE_HEADER_LEN], u64::from_be_bytes(generation)))
        }
        FILE_VERSION => Err(KeyringError::Corrupted("the keyring is truncated")),
        other => Err(KeyringError::UnsupportedVersion(other)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyringError> {
    fs::read(path).map_err(|source| io_error(path, source))
}

/// An exclusive lock on `.NAME.lock` beside `path`, released when the file is dropped. The
/// lock file is never removed: removing it would let two writers lock two different files.
fn lock_beside(path: &Path) -> std::io::Result<File> {
    let (dir, name) = dir_and_name(path)?;
    let mut lock_name = std::ffi::OsString::from(".");
    lock_name.push(name);
    lock_name.push(".lock");
    let file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(lock_name))?;
    // Named in full: from Rust 1.89 on, std's own `File::lock` would shadow the trait method.
    fs4::FileExt::lock(&file)?;
    Ok(file)
}

/// Options that create files readable and writable by the owner only (0600 on Unix).
fn private_options() -> fs::OpenOptions {
    let mut options = File::options();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

fn dir_and_name(path: &Path) -> std::io::Result<(PathBuf, &std::ffi::OsStr)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path has no file name"))?;
    Ok((dir, name))
}

fn io_error(path: &Path, source: std::io::Error) -> KeyringError {
    KeyringError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically and durably: temporary file (mode 0600), fsync, rename
/// (or a hard link when `no_clobber`, which fails if `path` exists), then fsync of the
/// directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], no_clobber: bool) -> std::io::Result<()> {
    let (dir, name) = dir_and_name(path)?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|_| std::io::Error::other("random suffix"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", u64::from_be_bytes(suffix)));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = private_options().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if no_clobber {
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        } else {
            fs::rename(&tmp, path)?;
        }
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

fn purpose_code(p: KeyPurpose) -> u8 {
    match p {
        KeyPurpose::Encryption => 1,
        KeyPurpose::BlindIndex => 2,
    }
}

fn purpose_from(c: u8) -> Option<KeyPurpose> {
    match c {
        1 => Some(KeyPurpose::Encryption),
        2 => Some(KeyPurpose::BlindIndex),
        _ => None,
    }
}

fn state_code(s: KeyState) -> u8 {
    match s {
        KeyState::Primary => 1,
        KeyState::DecryptOnly => 2,
        KeyState::Disabled => 3,
        KeyState::Destroyed => 4,
    }
}

fn state_from(c: u8) -> Option<KeyState> {
    match c {
        1 => Some(KeyState::Primary),
        2 => Some(KeyState::DecryptOnly),
        3 => Some(KeyState::Disabled),
        4 => Some(KeyState::Destroyed),
        _ => None,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeyringError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(KeyringError::Corrupted("the keyring is truncated"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, KeyringError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, KeyringError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, KeyringError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, KeyringError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

/// Entry points for the fuzz targets; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a serialized (unsealed) keyring.
    pub fn parse_keyring_plaintext(bytes: &[u8]) -> bool {
        super::Keyring::from_plaintext(bytes).is_ok()
    }
}
