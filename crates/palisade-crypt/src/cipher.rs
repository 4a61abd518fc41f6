//! Subkey derivation and the caches of expanded ciphers.
//!
//! For a key with material `K`, id `I` and a 16-byte salt `S`:
//!
//! ```text
//! PRK        = HKDF-Extract(salt = S, ikm = K)                       (HKDF-SHA256)
//! commitment = HKDF-Expand(PRK, "palisade-crypt v1 commit" || I, 32)
//! enc || chk = HKDF-Expand(PRK, "palisade-crypt v1 field" || I || len(field) || field, 64)
//! check      = SHA-256(chk || 0^32 || context encoding)[..8]
//! ```
//!
//! The context check is AMAC (truncated secret-prefix SHA-256; Bellare, Bernstein and Tessaro,
//! CRYPTO 2016): the 64-byte key block is absorbed once per subkey, so a check costs one
//! compression for contexts up to 55 bytes, against two for HMAC. It only classifies failures
//! (`WrongContext` rather than `Tampered`) and decryption computes it only after AES-GCM has
//! refused; authenticity rests on AES-GCM alone.
//!
//! `enc` is the AES-256-GCM key. A writer picks a fresh random salt per (key, field) and uses
//! that subkey for at most [`SUBKEY_BUDGET`] messages before drawing a new salt, so the
//! random-nonce bound of NIST SP 800-38D applies per subkey, never per keyring key, and is
//! enforced locally by each writer.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use aes_gcm::{Aes256Gcm, KeyInit as _};
use hkdf::Hkdf;
use hmac::Hmac;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::{
    format::{CHECK_LEN, COMMIT_LEN, SALT_LEN},
    keyring::{KeyId, Material},
};

/// Messages one writer encrypts under one salted subkey before drawing a new salt: 2^32, the
/// NIST SP 800-38D limit for random 96-bit nonces (nonce-collision probability below 2^-32).
pub const SUBKEY_BUDGET: u64 = 1 << 32;

/// Decryption cache entries kept before the cache is cleared.
const READ_CACHE_LIMIT: usize = 4096;

const COMMIT_INFO: &[u8] = b"palisade-crypt v1 commit";
const FIELD_INFO: &[u8] = b"palisade-crypt v1 field";

/// HMAC-SHA256 keyed with a 32-byte key. RFC 2104 pads a key shorter than the 64-byte block
/// with zeros, so padding it here first gives the same MAC without a fallible constructor.
pub(crate) fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <Hmac<Sha256>>::new(&(*block).into())
}

/// Compares two commitments in constant time, as four 64-bit words (`subtle`'s slice compare
/// goes byte by byte through an optimization barrier, which costs more than a 64-byte AES-GCM).
pub(crate) fn commitment_matches(ours: &[u8; COMMIT_LEN], theirs: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    if theirs.len() != COMMIT_LEN {
        return false;
    }
    let mut eq = subtle::Choice::from(1);
    for (a, b) in ours.chunks_exact(8).zip(theirs.chunks_exact(8)) {
        let mut wa = [0u8; 8];
        let mut wb = [0u8; 8];
        wa.copy_from_slice(a);
        wb.copy_from_slice(b);
        eq &= u64::from_ne_bytes(wa).ct_eq(&u64::from_ne_bytes(wb));
    }
    eq.into()
}

/// One field's expanded subkey under one key and salt.
pub(crate) struct Subkey {
    pub(crate) cipher: Aes256Gcm,
    pub(crate) commitment: [u8; COMMIT_LEN],
    check: Sha256,
}

impl Subkey {
    pub(crate) fn derive(
        material: &Material,
        id: KeyId,
        salt: &[u8; SALT_LEN],
        field: &str,
    ) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(salt), material.as_ref());
        let id = id.get().to_be_bytes();
        let mut commitment = [0u8; COMMIT_LEN];
        // HKDF-Expand fails only for outputs over 255 hash lengths; these are 32 and 64 bytes.
        let _ = hk.expand_multi_info(&[COMMIT_INFO, &id], &mut commitment);
        let mut okm = Zeroizing::new([0u8; 64]);
        let _ = hk.expand_multi_info(
            &[FIELD_INFO, &id, &[field.len() as u8], field.as_bytes()],
            okm.as_mut(),
        );
        let mut enc = Zeroizing::new([0u8; 32]);
        let mut chk = Zeroizing::new([0u8; 32]);
        enc.copy_from_slice(&okm[..32]);
        chk.copy_from_slice(&okm[32..]);
        let cipher = Aes256Gcm::new((&*enc).into());
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(chk.as_ref());
        let mut check = Sha256::new();
        check.update(block.as_ref());
        Self {
            cipher,
            commitment,
            check,
        }
    }

    pub(crate) fn context_check(&self, context: &[u8]) -> [u8; CHECK_LEN] {
        let mut hash = self.check.clone();
        hash.update(context);
        let tag = hash.finalize();
        let mut out = [0; CHECK_LEN];
        out.copy_from_slice(&tag[..CHECK_LEN]);
        out
    }
}

/// The subkey a writer currently uses for one field.
pub(crate) struct WriterSlot {
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) subkey: Arc<Subkey>,
    uses: AtomicU64,
}

impl WriterSlot {
    /// Counts one use; `false` once the budget is spent.
    pub(crate) fn take(&self) -> bool {
        self.uses.fetch_add(1, Ordering::Relaxed) < SUBKEY_BUDGET
    }
}

type ReadKey = (KeyId, [u8; SALT_LEN]);
type FieldSubkeys = Vec<(String, Arc<Subkey>)>;

/// The caches of one [`Crypter`](crate::Crypter).
#[derive(Default)]
pub(crate) struct Caches {
    writers: RwLock<HashMap<String, Arc<WriterSlot>>>,
    readers: RwLock<HashMap<ReadKey, FieldSubkeys>>,
}

impl Caches {
    /// The writer subkey for `field` under the primary key, drawing a new salt when there is
    /// none yet or the budget is spent. `None` if the random generator fails.
    pub(crate) fn writer(
        &self,
        material: &Material,
        id: KeyId,
        field: &str,
    ) -> Option<Arc<WriterSlot>> {
        if let Ok(map) = self.writers.read()
            && let Some(slot) = map.get(field)
            && slot.take()
        {
            return Some(Arc::clone(slot));
        }
        let mut map = self
            .writers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = map.get(field)
            && slot.take()
        {
            return Some(Arc::clone(slot));
        }
        let slot = Arc::new(self.new_slot(material, id, field, None)?);
        slot.take();
        map.insert(field.to_owned(), Arc::clone(&slot));
        Some(slot)
    }

    pub(crate) fn new_slot(
        &self,
        material: &Material,
        id: KeyId,
        field: &str,
        fixed_salt: Option<[u8; SALT_LEN]>,
    ) -> Option<WriterSlot> {
        let salt = if let Some(s) = fixed_salt {
            s
        } else {
            let mut s = [0u8; SALT_LEN];
            getrandom::fill(&mut s).ok()?;
            s
        };
        let subkey = Arc::new(Subkey::derive(material, id, &salt, field));
        self.remember(id, salt, field, Arc::clone(&subkey));
        Some(WriterSlot {
            salt,
            subkey,
            uses: AtomicU64::new(0),
        })
    }

    fn remember(&self, id: KeyId, salt: [u8; SALT_LEN], field: &str, subkey: Arc<Subkey>) {
        let mut map = self
            .readers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= READ_CACHE_LIMIT {
            map.clear();
        }
        let fields = map.entry((id, salt)).or_default();
        if fields.len() >= 16 {
            fields.clear();
        }
        fields.push((field.to_owned(), subkey));
    }

    /// Marks `field`'s current writer subkey as having served `uses` messages, so a test can
    /// reach [`SUBKEY_BUDGET`] without encrypting 2^32 values.
    #[cfg(test)]
    pub(crate) fn set_writer_uses(&self, field: &str, uses: u64) {
        if let Ok(map) = self.writers.read()
            && let Some(slot) = map.get(field)
        {
            slot.uses.store(uses, Ordering::Relaxed);
        }
    }

    /// The subkey for reading a value written under `id` and `salt` for `field`.
    pub(crate) fn reader(
        &self,
        material: &Material,
        id: KeyId,
        salt: &[u8; SALT_LEN],
        field: &str,
    ) -> Arc<Subkey> {
        if let Ok(map) = self.readers.read()
            && let Some(fields) = map.get(&(id, *salt))
            && let Some((_, subkey)) = fields.iter().find(|(f, _)| f == field)
        {
            return Arc::clone(subkey);
        }
        let subkey = Arc::new(Subkey::derive(material, id, salt, field));
        self.remember(id, *salt, field, Arc::clone(&subkey));
        subkey
    }
}
