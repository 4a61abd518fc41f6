//! Versioned keys with random ids, one primary per purpose, and the Tink rotation order.

use std::{fmt, sync::Arc};

use zeroize::Zeroizing;

use crate::{
    clock::{Clock, SystemClock},
    error::KeyringError,
    job::Census,
};

/// A key's random 32-bit id, written in every ciphertext header. Displayed as 8 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(u32);

impl KeyId {
    /// The id as a number.
    pub fn get(self) -> u32 {
        self.0
    }

    pub(crate) fn from_be_bytes(bytes: &[u8]) -> Self {
        let mut b = [0; 4];
        b.copy_from_slice(&bytes[..4]);
        Self(u32::from_be_bytes(b))
    }

    /// Reads the 8-hex-digit form.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok().map(Self)
    }

    #[doc(hidden)]
    pub fn insecure_from_u32(id: u32) -> Self {
        Self(id)
    }
}

impl std::str::FromStr for KeyId {
    type Err = KeyringError;

    /// Reads the 8-hex-digit form, as `keyring disable FILE KEY_ID` takes it.
    fn from_str(text: &str) -> Result<Self, KeyringError> {
        Self::parse(text).ok_or(KeyringError::InvalidKeyId)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A key's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyState {
    /// Encrypts new values (and decrypts).
    Primary,
    /// Decrypts only: a newly added key being rolled out, or a previous primary.
    DecryptOnly,
    /// Neither encrypts nor decrypts; can be re-enabled.
    Disabled,
    /// Material erased; only the id remains, so its ciphertexts report "key destroyed".
    Destroyed,
}

impl KeyState {
    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::DecryptOnly => "decrypt-only",
            Self::Disabled => "disabled",
            Self::Destroyed => "destroyed",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a key is for. Encryption and blind-index keys are separate, each with its own primary
/// and lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// Field encryption.
    Encryption,
    /// Blind indexes.
    BlindIndex,
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Encryption => "encryption",
            Self::BlindIndex => "blind-index",
        })
    }
}

/// What `list` shows about a key: everything but its material.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The random id.
    pub id: KeyId,
    /// The sequential version (1, 2, ...), shared by both purposes.
    pub version: u32,
    /// What the key is for.
    pub purpose: KeyPurpose,
    /// Its state.
    pub state: KeyState,
    /// When it was added, in seconds since the Unix epoch.
    pub created_at: u64,
    /// When its state last changed, in seconds since the Unix epoch.
    pub changed_at: u64,
}

pub(crate) type Material = Zeroizing<[u8; 32]>;

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) info: KeyInfo,
    /// `None` once destroyed.
    pub(crate) material: Option<Arc<Material>>,
}

/// A set of versioned keys. Changes are made in memory and persisted with
/// [`Keyring::save`](crate::Keyring::save); running [`Crypter`](crate::Crypter)s keep the
/// snapshot they were built from.
///
/// Key material is held in `Zeroizing` buffers shared by the keyring and the crypters built from
/// it, and zeroized when the last of them is dropped. A keyring has no `Display`:
///
/// ```compile_fail
/// let keyring = palisade_crypt::Keyring::generate().unwrap();
/// let _ = format!("{keyring}");
/// ```
///
/// Safe rotation (Tink's order): [`add_key`](Keyring::add_key) and distribute the keyring to
/// every reader, then [`promote`](Keyring::promote) it, then rewrap, then
/// [`disable_checked`](Keyring::disable_checked) the old key.
#[derive(Clone)]
pub struct Keyring {
    pub(crate) entries: Vec<Entry>,
    pub(crate) min_decryption_version: u32,
    /// The generation of the file this keyring was loaded from or last saved to; 0 for a
    /// keyring never saved.
    pub(crate) generation: u64,
    clock: Arc<dyn Clock>,
}

/// Lists ids, versions and states; never material.
impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .field("min_decryption_version", &self.min_decryption_version)
            .field("generation", &self.generation)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_material() -> Result<Material, KeyringError> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).map_err(|_| KeyringError::Random)?;
    Ok(key)
}

impl Keyring {
    /// A new keyring with one primary encryption key and one primary blind-index key.
    ///
    /// # Errors
    /// [`KeyringError::Random`] if the operating system's generator fails.
    pub fn generate() -> Result<Self, KeyringError> {
        Self::generate_with_clock(Arc::new(SystemClock))
    }

    /// As [`Keyring::generate`], with dates from `clock`.
    ///
    /// # Errors
    /// As [`Keyring::generate`].
    pub fn generate_with_clock(clock: Arc<dyn Clock>) -> Result<Self, KeyringError> {
        let mut ring = Self {
            entries: Vec::new(),
            min_decryption_version: 0,
            generation: 0,
            clock,
        };
        for purpose in [KeyPurpose::Encryption, KeyPurpose::BlindIndex] {
            let id = ring.add_key(purpose)?;
            ring.promote(id)?;
        }
        Ok(ring)
    }

    pub(crate) fn from_entries(
        entries: Vec<Entry>,
        min_decryption_version: u32,
    ) -> Result<Self, KeyringError> {
        let ring = Self {
            entries,
            min_decryption_version,
            generation: 0,
            clock: Arc::new(SystemClock),
        };
        ring.validate()?;
        Ok(ring)
    }

    /// The generation of the keyring file this keyring was loaded from or last saved to (0
    /// before its first save). Every save writes the next one. Record it outside the file
    /// and pass it to [`Keyring::load_at_least`] to refuse a rolled-back file.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Now, by the keyring's clock.
    pub(crate) fn now_unix(&self) -> u64 {
        self.clock.now_unix()
    }

    /// Uses `clock` for the dates of later changes.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// Builds a keyring from fixed material, for format test vectors only. Never use fixed
    /// keys for real data.
    ///
    /// # Errors
    /// If the entries break a keyring invariant.
    #[doc(hidden)]
    pub fn insecure_from_fixed_keys(
        keys: &[(KeyId, u32, KeyPurpose, KeyState, [u8; 32])],
    ) -> Result<Self, KeyringError> {
        let entries = keys
            .iter()
            .map(|&(id, version, purpose, state, key)| Entry {
                info: KeyInfo {
                    id,
                    version,
                    purpose,
                    state,
                    created_at: 0,
                    changed_at: 0,
                },
                material: (state != KeyState::Destroyed).then(|| Arc::new(Zeroizing::new(key))),
            })
            .collect();
        Self::from_entries(entries, 0)
    }

    /// Every key's public description, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = KeyInfo> + '_ {
        self.entries.iter().map(|e| e.info)
    }

    /// The description of one key.
    pub fn key(&self, id: KeyId) -> Option<KeyInfo> {
        self.find(id).map(|e| e.info)
    }

    pub(crate) fn find(&self, id: KeyId) -> Option<&Entry> {
        self.entries.iter().find(|e| e.info.id == id)
    }

    fn find_mut(&mut self, id: KeyId) -> Result<&mut Entry, KeyringError> {
        self.entries
            .iter_mut()
            .find(|e| e.info.id == id)
            .ok_or(KeyringError::UnknownKey(id))
    }

    /// The primary key for `purpose`.
    ///
    /// # Errors
    /// [`KeyringError::NoPrimary`] (a loaded keyring always has one of each).
    pub fn primary(&self, purpose: KeyPurpose) -> Result<KeyInfo, KeyringError> {
        self.entries
            .iter()
            .find(|e| e.info.purpose == purpose && e.info.state == KeyState::Primary)
            .map(|e| e.info)
            .ok_or(KeyringError::NoPrimary(purpose))
    }

    pub(crate) fn primary_entry(&self, purpose: KeyPurpose) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.info.purpose == purpose && e.info.state == KeyState::Primary)
    }

    /// Keys below this version are refused for decryption, as in Vault's
    /// `min_decryption_version`. 0 means no cut-off.
    pub fn min_decryption_version(&self) -> u32 {
        self.min_decryption_version
    }

    /// Sets the minimum decryption version for encryption keys.
    ///
    /// # Errors
    /// [`KeyringError::MinimumAbovePrimary`] if it would lock out the primary key.
    pub fn set_min_decryption_version(&mut self, version: u32) -> Result<(), KeyringError> {
        let primary = self.primary(KeyPurpose::Encryption)?;
        if version > primary.version {
            return Err(KeyringError::MinimumAbovePrimary {
                requested: version,
                primary: primary.version,
            });
        }
        self.min_decryption_version = version;
        Ok(())
    }

    /// Step 1 of a rotation: adds a fresh random key in the decrypt-only state, so readers learn
    /// it before anything is encrypted with it. Returns its id.
    ///
    /// # Errors
    /// [`KeyringError::Random`].
    pub fn add_key(&mut self, purpose: KeyPurpose) -> Result<KeyId, KeyringError> {
        let material = random_material()?;
        let id = loop {
            let id = KeyId(getrandom::u32().map_err(|_| KeyringError::Random)?);
            if self.find(id).is_none() {
                break id;
            }
        };
        let version = self
            .entries
            .iter()
            .map(|e| e.info.version)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let now = self.clock.now_unix();
        self.entries.push(Entry {
            info: KeyInfo {
                id,
                version,
                purpose,
                state: KeyState::DecryptOnly,
                created_at: now,
                changed_at: now,
            },
            material: Some(Arc::new(material)),
        });
        Ok(id)
    }

    /// Step 2, once every reader has the key: makes it the primary for its purpose; the previous
    /// primary becomes decrypt-only.
    ///
    /// # Errors
    /// Unknown id, or a key that is not decrypt-only.
    pub fn promote(&mut self, id: KeyId) -> Result<(), KeyringError> {
        let now = self.clock.now_unix();
        let min = self.min_decryption_version;
        let entry = self.find_mut(id)?;
        if entry.info.state == KeyState::Primary {
            return Ok(());
        }
        if entry.info.state != KeyState::DecryptOnly {
            return Err(KeyringError::WrongState {
                id,
                state: entry.info.state,
                needed: "only a decrypt-only key can be promoted",
            });
        }
        if entry.info.purpose == KeyPurpose::Encryption && entry.info.version < min {
            return Err(KeyringError::WrongState {
                id,
                state: entry.info.state,
                needed: "its version is below the minimum decryption version",
            });
        }
        let purpose = entry.info.purpose;
        for e in &mut self.entries {
            if e.info.purpose == purpose && e.info.state == KeyState::Primary {
                e.info.state = KeyState::DecryptOnly;
                e.info.changed_at = now;
            }
        }
        let entry = self.find_mut(id)?;
        entry.info.state = KeyState::Primary;
        entry.info.changed_at = now;
        Ok(())
    }

    /// Adds a key and promotes it at once. Safe only when every reader loads the new keyring
    /// before any writer uses it (one process, or readers that reload first); otherwise use
    /// [`add_key`](Keyring::add_key), roll out, then [`promote`](Keyring::promote).
    ///
    /// # Errors
    /// [`KeyringError::Random`].
    pub fn rotate(&mut self, purpose: KeyPurpose) -> Result<KeyId, KeyringError> {
        let id = self.add_key(purpose)?;
        self.promote(id)?;
        Ok(id)
    }

    /// Disables a key without checking whether ciphertexts still use it. Prefer
    /// [`disable_checked`](Keyring::disable_checked).
    ///
    /// # Errors
    /// The primary key cannot be disabled; a destroyed key stays destroyed.
    pub fn disable(&mut self, id: KeyId) -> Result<(), KeyringError> {
        let now = self.clock.now_unix();
        let entry = self.find_mut(id)?;
        match entry.info.state {
            KeyState::Primary => Err(KeyringError::IsPrimary(id)),
            KeyState::Destroyed => Err(KeyringError::WrongState {
                id,
                state: KeyState::Destroyed,
                needed: "a destroyed key cannot be disabled",
            }),
            KeyState::Disabled => Ok(()),
            KeyState::DecryptOnly => {
                entry.info.state = KeyState::Disabled;
                entry.info.changed_at = now;
                Ok(())
            }
        }
    }

    /// Disables a key only if `census` (from the rewrap job or [`census`](crate::census)) finds
    /// no ciphertext left on it.
    ///
    /// # Errors
    /// [`KeyringError::StillInUse`], or as [`disable`](Keyring::disable).
    pub fn disable_checked(&mut self, id: KeyId, census: &Census) -> Result<(), KeyringError> {
        let remaining = census.remaining(id);
        if remaining > 0 {
            return Err(KeyringError::StillInUse { id, remaining });
        }
        self.disable(id)
    }

    /// Re-enables a disabled key as decrypt-only.
    ///
    /// # Errors
    /// Unknown id, or a key that is not disabled.
    pub fn enable(&mut self, id: KeyId) -> Result<(), KeyringError> {
        let now = self.clock.now_unix();
        let entry = self.find_mut(id)?;
        if entry.info.state != KeyState::Disabled {
            return Err(KeyringError::WrongState {
                id,
                state: entry.info.state,
                needed: "only a disabled key can be enabled",
            });
        }
        entry.info.state = KeyState::DecryptOnly;
        entry.info.changed_at = now;
        Ok(())
    }

    /// Erases a disabled key's material for good, keeping its id as a tombstone so its
    /// ciphertexts report [`KeyDestroyed`](crate::DecryptErrorKind::KeyDestroyed).
    ///
    /// # Errors
    /// Unknown id, or a key that is not disabled (disable it first).
    pub fn destroy(&mut self, id: KeyId) -> Result<(), KeyringError> {
        let now = self.clock.now_unix();
        let entry = self.find_mut(id)?;
        match entry.info.state {
            KeyState::Destroyed => Ok(()),
            KeyState::Disabled => {
                entry.info.state = KeyState::Destroyed;
                entry.info.changed_at = now;
                entry.material = None;
                Ok(())
            }
            state => Err(KeyringError::WrongState {
                id,
                state,
                needed: "disable the key before destroying it",
            }),
        }
    }

    /// Checks the invariants: unique ids and versions, exactly one primary per purpose,
    /// material exactly for keys not destroyed, a minimum that keeps the primary readable.
    pub(crate) fn validate(&self) -> Result<(), KeyringError> {
        for (i, e) in self.entries.iter().enumerate() {
            let rest = &self.entries[i + 1..];
            if rest.iter().any(|o| o.info.id == e.info.id) {
                return Err(KeyringError::Corrupted("duplicate key id"));
            }
            if rest.iter().any(|o| o.info.version == e.info.version) {
                return Err(KeyringError::Corrupted("duplicate key version"));
            }
            if e.material.is_some() == (e.info.state == KeyState::Destroyed) {
                return Err(KeyringError::Corrupted(
                    "key material does not match key state",
                ));
            }
        }
        for purpose in [KeyPurpose::Encryption, KeyPurpose::BlindIndex] {
            let primaries = self
                .entries
                .iter()
                .filter(|e| e.info.purpose == purpose && e.info.state == KeyState::Primary)
                .count();
            if primaries != 1 {
                return Err(KeyringError::Corrupted(
                    "not exactly one primary key per purpose",
                ));
            }
        }
        let primary = self.primary(KeyPurpose::Encryption)?;
        if self.min_decryption_version > primary.version {
            return Err(KeyringError::Corrupted(
                "minimum decryption version above the primary key",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod zeroize_tests {
    use super::*;

    /// Compiles only while the value zeroizes itself on drop.
    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}

    #[test]
    fn keyring_key_material_is_zeroized_on_drop() {
        let keyring = Keyring::generate().unwrap();
        let mut seen = 0;
        for entry in &keyring.entries {
            if let Some(material) = &entry.material {
                zeroized_on_drop::<Material>(material);
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
    }

    #[test]
    fn derived_subkey_ciphers_are_zeroized_on_drop() {
        let material = random_material().unwrap();
        let subkey = crate::cipher::Subkey::derive(&material, KeyId(1), &[0; 16], "users.email");
        zeroized_on_drop(&subkey.cipher);
    }
}
