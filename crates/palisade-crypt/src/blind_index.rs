//! Blind indexes: a keyed, truncated HMAC of a value, so equality queries work on an encrypted
//! column. Blind-index keys are separate from encryption keys, with their own primary and
//! lifecycle.
//!
//! ```text
//! field key = HKDF-SHA256(salt = none, ikm = K, info = "palisade-crypt v1 blind index" || I || len(field) || field)
//! index     = I (4 bytes) || HMAC-SHA256(field key, value)[..size]
//! ```

use std::{
    collections::HashMap,
    fmt,
    str::FromStr,
    sync::{Arc, RwLock},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::keyring::{KeyId, KeyPurpose, KeyState, Keyring, Material};

const INFO: &[u8] = b"palisade-crypt v1 blind index";
/// The text form's prefix.
const PREFIX: &str = "pbi1:";

/// The index size must be 4 to 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a blind index is 4 to 32 bytes")]
pub struct InvalidIndexSize;

/// A blind index value: the key id and the truncated MAC. Compares in constant time.
#[derive(Clone, Eq)]
pub struct BlindIndex {
    bytes: Vec<u8>,
}

impl BlindIndex {
    /// The key id this index was computed with.
    pub fn key_id(&self) -> KeyId {
        KeyId::from_be_bytes(&self.bytes)
    }

    /// The bytes: key id then truncated MAC. Store these in an indexed column.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Reads stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        (8..=36).contains(&bytes.len()).then(|| Self {
            bytes: bytes.to_vec(),
        })
    }

    /// The text form: `pbi1:` and unpadded base64url.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&self.bytes))
    }

    /// Reads the text form.
    pub fn from_text(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.strip_prefix(PREFIX)?).ok()?;
        Self::from_bytes(&bytes)
    }
}

impl PartialEq for BlindIndex {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl std::hash::Hash for BlindIndex {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", self.to_text())
    }
}

impl fmt::Display for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for BlindIndex {
    type Err = InvalidIndexSize;

    fn from_str(text: &str) -> Result<Self, InvalidIndexSize> {
        Self::from_text(text).ok_or(InvalidIndexSize)
    }
}

struct IndexKey {
    id: KeyId,
    primary: bool,
    material: Arc<Material>,
    /// Keyed HMAC states per field, so a lookup borrows the field name.
    fields: RwLock<HashMap<String, Hmac<Sha256>>>,
}

/// Computes blind indexes with a snapshot of a keyring's blind-index keys.
///
/// A truncated index leaks less (more values share one index) at the cost of false positives
/// the application filters out after decrypting; 8 bytes suits most columns.
pub struct BlindIndexer {
    keys: Vec<IndexKey>,
    size: usize,
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexer")
            .field("keys", &self.keys.iter().map(|k| k.id).collect::<Vec<_>>())
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl BlindIndexer {
    /// An indexer producing `size`-byte MACs (plus the 4-byte key id) with the keyring's live
    /// (primary and decrypt-only) blind-index keys.
    ///
    /// # Errors
    /// [`InvalidIndexSize`] unless `4 <= size <= 32`.
    pub fn new(keyring: &Keyring, size: usize) -> Result<Self, InvalidIndexSize> {
        if !(4..=32).contains(&size) {
            return Err(InvalidIndexSize);
        }
        let mut keys: Vec<IndexKey> = keyring
            .entries
            .iter()
            .filter(|e| e.info.purpose == KeyPurpose::BlindIndex)
            .filter(|e| matches!(e.info.state, KeyState::Primary | KeyState::DecryptOnly))
            .filter_map(|e| {
                Some(IndexKey {
                    id: e.info.id,
                    primary: e.info.state == KeyState::Primary,
                    material: e.material.clone()?,
                    fields: RwLock::new(HashMap::new()),
                })
            })
            .collect();
        keys.sort_by_key(|k| !k.primary);
        Ok(Self { keys, size })
    }

    fn mac(&self, key: &IndexKey, field: &str, value: &[u8]) -> BlindIndex {
        let cached = key.fields.read().ok().and_then(|m| m.get(field).cloned());
        let mut mac = cached.unwrap_or_else(|| {
            let hk = Hkdf::<Sha256>::new(None, key.material.as_ref().as_ref());
            let mut okm = Zeroizing::new([0u8; 32]);
            let id = key.id.get().to_be_bytes();
            let _ = hk.expand_multi_info(
                &[INFO, &id, &[field.len() as u8], field.as_bytes()],
                okm.as_mut(),
            );
            let mac = crate::cipher::hmac_sha256(&okm);
            if let Ok(mut m) = key.fields.write() {
                if m.len() >= 1024 {
                    m.clear();
                }
                m.insert(field.to_owned(), mac.clone());
            }
            mac
        });
        mac.update(value);
        let tag = mac.finalize().into_bytes();
        let mut bytes = Vec::with_capacity(4 + self.size);
        bytes.extend_from_slice(&key.id.get().to_be_bytes());
        bytes.extend_from_slice(&tag[..self.size]);
        BlindIndex { bytes }
    }

    /// The index to store for `value` in `field`, under the primary blind-index key. `None`
    /// only if the keyring had no live blind-index key.
    pub fn compute(&self, field: &str, value: &[u8]) -> Option<BlindIndex> {
        let key = self.keys.iter().find(|k| k.primary)?;
        Some(self.mac(key, field, value))
    }

    /// The indexes to query for `value` in `field`: one per live key, primary first. During a
    /// blind-index rotation, rows indexed under the old key and rows under the new one both
    /// match `WHERE idx IN (...)`.
    pub fn query_values(&self, field: &str, value: &[u8]) -> Vec<BlindIndex> {
        self.keys
            .iter()
            .map(|k| self.mac(k, field, value))
            .collect()
    }

    /// Whether an index was computed with a key other than the primary (recompute it).
    pub fn needs_reindex(&self, index: &BlindIndex) -> bool {
        self.keys
            .iter()
            .find(|k| k.primary)
            .is_none_or(|k| k.id != index.key_id())
    }
}
