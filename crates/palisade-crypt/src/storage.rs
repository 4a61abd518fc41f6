//! The keyring file: serialization, sealing under a key-encryption key, and atomic writes.
//!
//! File layout: `PCKR`, file version (1), the KEK's 16-byte key check, then the KEK's wrapping
//! of the serialized keyring with the first 21 bytes as associated data.
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
const FILE_VERSION: u8 = 1;
const FILE_HEADER_LEN: usize = 4 + 1 + 16;
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

    /// Seals the keyring under `kek`, giving the bytes of a keyring file.
    ///
    /// # Errors
    /// [`KeyringError::Kek`] if the key-encryption key fails.
    pub fn seal(&self, kek: &dyn KeyEncryptionKey) -> Result<Vec<u8>, KeyringError> {
        self.validate()?;
        let mut out = Vec::new();
        out.extend_from_slice(FILE_MAGIC);
        out.push(FILE_VERSION);
        out.extend_from_slice(&kek.key_check());
        let wrapped = kek.wrap(&self.to_plaintext(), &out)?;
        out.extend_from_slice(&wrapped);
        Ok(out)
    }

    /// Opens the bytes of a keyring file.
    ///
    /// # Errors
    /// [`KeyringError::WrongMasterKey`] if another key-encryption key sealed it,
    /// [`KeyringError::Corrupted`] if it is damaged, [`KeyringError::UnsupportedVersion`].
    pub fn open(bytes: &[u8], kek: &dyn KeyEncryptionKey) -> Result<Self, KeyringError> {
        if bytes.len() < FILE_HEADER_LEN || &bytes[..4] != FILE_MAGIC {
            return Err(KeyringError::Corrupted("not a palisade-crypt keyring file"));
        }
        if bytes[4] != FILE_VERSION {
            return Err(KeyringError::UnsupportedVersion(bytes[4]));
        }
        let (header, wrapped) = bytes.split_at(FILE_HEADER_LEN);
        if !bool::from(kek.key_check().ct_eq(&header[5..])) {
            return Err(KeyringError::WrongMasterKey);
        }
        let plaintext = kek.unwrap(wrapped, header).map_err(|e| match e {
            KekError::Unwrap => KeyringError::Corrupted("the keyring did not authenticate"),
            other => KeyringError::Kek(other),
        })?;
        Self::from_plaintext(&plaintext)
    }

    /// Loads a keyring file.
    ///
    /// # Errors
    /// [`KeyringError::Io`], or as [`Keyring::open`].
    pub fn load(path: impl AsRef<Path>, kek: &dyn KeyEncryptionKey) -> Result<Self, KeyringError> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| KeyringError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::open(&bytes, kek)
    }

    /// Saves the keyring atomically: a temporary file in the same directory is written and
    /// synced, renamed over `path`, and the directory is synced. A crash leaves the old file or
    /// the new one, never a mix.
    ///
    /// # Errors
    /// [`KeyringError::Io`] or [`KeyringError::Kek`].
    pub fn save(
        &self,
        path: impl AsRef<Path>,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<(), KeyringError> {
        let path = path.as_ref();
        let bytes = self.seal(kek)?;
        write_atomic(path, &bytes, false).map_err(|source| io_error(path, source))
    }

    /// Saves a new keyring file, refusing to overwrite an existing one.
    ///
    /// # Errors
    /// [`KeyringError::AlreadyExists`], or as [`Keyring::save`].
    pub fn save_new(
        &self,
        path: impl AsRef<Path>,
        kek: &dyn KeyEncryptionKey,
    ) -> Result<(), KeyringError> {
        let path = path.as_ref();
        let bytes = self.seal(kek)?;
        write_atomic(path, &bytes, true).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyringError::AlreadyExists(path.to_owned())
            } else {
                io_error(path, source)
            }
        })
    }
}

fn io_error(path: &Path, source: std::io::Error) -> KeyringError {
    KeyringError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically and durably: temporary file, fsync, rename (or a hard
/// link when `no_clobber`, which fails if `path` exists), then fsync of the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], no_clobber: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path has no file name"))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|_| std::io::Error::other("random suffix"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", u64::from_be_bytes(suffix)));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = File::options().write(true).create_new(true).open(&tmp)?;
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
