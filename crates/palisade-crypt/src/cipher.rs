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
    cell::RefCell,
    collections::HashMap,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicU64, Ordering},
    },
};

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit as _};
use sha2::{Digest as _, Sha256};
use thread_local::ThreadLocal;
use zeroize::Zeroizing;

use crate::{
    format::{CHECK_LEN, COMMIT_LEN, NONCE_LEN, SALT_LEN, TAG_LEN},
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

/// Compares two commitments in constant time: the four 64-bit words' differences are folded
/// into one word with XOR and OR (no branch, no early exit), which one `subtle` comparison then
/// tests. `subtle`'s slice compare goes byte by byte through an optimization barrier each, which
/// costs more than a 64-byte AES-GCM.
pub(crate) fn commitment_matches(ours: &[u8; COMMIT_LEN], theirs: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    if theirs.len() != COMMIT_LEN {
        return false;
    }
    let mut diff = 0u64;
    for (a, b) in ours.chunks_exact(8).zip(theirs.chunks_exact(8)) {
        let mut wa = [0u8; 8];
        let mut wb = [0u8; 8];
        wa.copy_from_slice(a);
        wb.copy_from_slice(b);
        diff |= u64::from_ne_bytes(wa) ^ u64::from_ne_bytes(wb);
    }
    diff.ct_eq(&0).into()
}

/// AES-256-GCM with a 96-bit nonce and a detached 128-bit tag, on the `aes-gcm` crate.
#[cfg(any(not(feature = "aws-lc"), test))]
pub(crate) struct AesGcmCipher(aes_gcm::Aes256Gcm);

/// `aes-gcm`'s cipher (with its `zeroize` feature) wipes its key schedule on drop; the
/// assertion below stops compiling if that ever changes.
#[cfg(any(not(feature = "aws-lc"), test))]
impl zeroize::ZeroizeOnDrop for AesGcmCipher {}

#[cfg(any(not(feature = "aws-lc"), test))]
const _: fn() = || {
    fn wiped<T: zeroize::ZeroizeOnDrop>() {}
    wiped::<aes_gcm::Aes256Gcm>();
};

#[cfg(any(not(feature = "aws-lc"), test))]
impl AesGcmCipher {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        use aes_gcm::KeyInit as _;
        Self(aes_gcm::Aes256Gcm::new(key.into()))
    }

    /// Encrypts `in_out` in place; the tag, or `None` past AES-GCM's length limit.
    pub(crate) fn seal(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        use aes_gcm::AeadInOut as _;
        self.0
            .encrypt_inout_detached(&aes_gcm::Nonce::from(nonce), aad, in_out.into())
            .ok()
            .map(Into::into)
    }

    /// Decrypts `in_out` in place; `false` (and `in_out` unspecified) if the tag is wrong.
    pub(crate) fn open(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        use aes_gcm::AeadInOut as _;
        self.0
            .decrypt_inout_detached(
                &aes_gcm::Nonce::from(nonce),
                aad,
                in_out.into(),
                &aes_gcm::Tag::from(*tag),
            )
            .is_ok()
    }

    /// Decrypts `input` into `out`, of the same length: copied there, then decrypted in
    /// place. `false` (and `out` unspecified) if the tag is wrong or the lengths differ.
    pub(crate) fn open_into(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        if out.len() != input.len() {
            return false;
        }
        out.copy_from_slice(input);
        self.open(nonce, aad, out, tag)
    }
}

/// AES-256-GCM with a 96-bit nonce and a detached 128-bit tag, on AWS-LC (`aws-lc-rs`): the
/// same algorithm and parameters, so the same bytes, as [`AesGcmCipher`].
#[cfg(feature = "aws-lc")]
pub(crate) struct AwsLcCipher(aws_lc_rs::aead::LessSafeKey);

/// The expanded key lives in an `EVP_AEAD_CTX` that AWS-LC allocates with `OPENSSL_malloc`
/// and `aws-lc-rs` releases with `EVP_AEAD_CTX_free`, whose `OPENSSL_free` cleanses the whole
/// allocation before freeing it; the raw key bytes never leave a `Zeroizing` buffer here.
#[cfg(feature = "aws-lc")]
impl zeroize::ZeroizeOnDrop for AwsLcCipher {}

#[cfg(feature = "aws-lc")]
impl AwsLcCipher {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        // `UnboundKey::new` fails only for a key of the wrong length; this one is 32 bytes.
        let key = UnboundKey::new(&AES_256_GCM, key).unwrap_or_else(|_| unreachable!());
        Self(LessSafeKey::new(key))
    }

    /// Encrypts `in_out` in place; the tag, or `None` past AES-GCM's length limit.
    pub(crate) fn seal(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<[u8; TAG_LEN]> {
        use aws_lc_rs::aead::{Aad, Nonce};
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .ok()?;
        tag.as_ref().try_into().ok()
    }

    /// Decrypts `in_out` in place; `false` (and `in_out` unspecified) if the tag is wrong.
    pub(crate) fn open(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        use aws_lc_rs::aead::{Aad, Nonce};
        self.0
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                tag,
                in_out,
            )
            .is_ok()
    }

    /// Decrypts `input` into `out`, of the same length: AWS-LC decrypts from `input` straight
    /// into it, in one pass instead of a copy and a pass. `false` (and `out` unspecified) if
    /// the tag is wrong or the lengths differ.
    pub(crate) fn open_into(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut [u8],
    ) -> bool {
        use aws_lc_rs::aead::{Aad, Nonce};
        self.0
            .open_separate_gather(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                input,
                tag,
                out,
            )
            .is_ok()
    }
}

/// The AES-256-GCM implementation this build encrypts and decrypts with: `aes-gcm` by default,
/// AWS-LC with the `aws-lc` feature.
#[cfg(not(feature = "aws-lc"))]
pub(crate) type FieldCipher = AesGcmCipher;
/// The AES-256-GCM implementation this build encrypts and decrypts with: `aes-gcm` by default,
/// AWS-LC with the `aws-lc` feature.
#[cfg(feature = "aws-lc")]
pub(crate) type FieldCipher = AwsLcCipher;

/// The name of the AES-256-GCM implementation this build uses: `"aes-gcm"` or `"aws-lc"`.
pub const BACKEND: &str = if cfg!(feature = "aws-lc") {
    "aws-lc"
} else {
    "aes-gcm"
};

/// One field's expanded subkey under one key and salt.
pub(crate) struct Subkey {
    pub(crate) cipher: FieldCipher,
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
        let cipher = FieldCipher::new(&enc);
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

/// Identifies a [`Caches`] for the per-thread writer shortcut: never reused within a process,
/// so a shortcut left by a dropped crypter can never match a new one.
static NEXT_CACHES_ID: AtomicU64 = AtomicU64::new(0);

/// The slot this thread last wrote with, so that a run of values for one field skips the
/// shared map (a lock and a `SipHash` per message). It holds a `Weak`: once the crypter's
/// caches drop the slot, the expanded key is freed and wiped as before, and the shortcut no
/// longer upgrades.
struct Shortcut<T> {
    caches: u64,
    key: KeyId,
    field: String,
    target: Weak<T>,
}

impl<T> Shortcut<T> {
    fn get(cell: &RefCell<Option<Self>>, caches: u64, key: KeyId, field: &str) -> Option<Arc<T>> {
        let cell = cell.try_borrow().ok()?;
        let last = cell.as_ref()?;
        (last.caches == caches && last.key == key && last.field == field)
            .then(|| last.target.upgrade())
            .flatten()
    }

    fn set(cell: &RefCell<Option<Self>>, caches: u64, key: KeyId, field: &str, target: &Arc<T>) {
        let Ok(mut cell) = cell.try_borrow_mut() else {
            return;
        };
        match cell.as_mut() {
            Some(last) => {
                last.caches = caches;
                last.key = key;
                field.clone_into(&mut last.field);
                last.target = Arc::downgrade(target);
            }
            None => {
                *cell = Some(Self {
                    caches,
                    key,
                    field: field.to_owned(),
                    target: Arc::downgrade(target),
                });
            }
        }
    }
}

thread_local! {
    static LAST_WRITE: RefCell<Option<Shortcut<WriterSlot>>> = const { RefCell::new(None) };
}

/// The subkey one thread last read with, held by that crypter's [`Caches`] (one per thread, in
/// a [`ThreadLocal`]): a run of values for one field skips the shared map, and reading through
/// it borrows the subkey without touching its reference count. It is owned by the caches, so
/// it is freed (and the expanded key wiped) with them, on every thread at once.
struct LastRead {
    key: KeyId,
    salt: [u8; SALT_LEN],
    field: String,
    subkey: Arc<Subkey>,
}

/// The caches of one [`Crypter`](crate::Crypter).
pub(crate) struct Caches {
    id: u64,
    writers: RwLock<HashMap<String, Arc<WriterSlot>>>,
    readers: RwLock<HashMap<ReadKey, FieldSubkeys>>,
    last_read: ThreadLocal<RefCell<Option<LastRead>>>,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            id: NEXT_CACHES_ID.fetch_add(1, Ordering::Relaxed),
            writers: RwLock::default(),
            readers: RwLock::default(),
            last_read: ThreadLocal::new(),
        }
    }
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
        if let Ok(Some(slot)) = LAST_WRITE.try_with(|last| Shortcut::get(last, self.id, id, field))
            && slot.take()
        {
            return Some(slot);
        }
        let slot = self.writer_from_map(material, id, field)?;
        let _ = LAST_WRITE.try_with(|last| Shortcut::set(last, self.id, id, field, &slot));
        Some(slot)
    }

    fn writer_from_map(
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

    /// Calls `f` with the subkey for reading a value written under `id` and `salt` for
    /// `field`: this thread's last one when it matches, else from the shared map (deriving it
    /// on a miss), which then becomes this thread's last one.
    pub(crate) fn with_reader<R>(
        &self,
        material: &Material,
        id: KeyId,
        salt: &[u8; SALT_LEN],
        field: &str,
        f: impl FnOnce(&Arc<Subkey>) -> R,
    ) -> R {
        let cell = self.last_read.get_or_default();
        if let Ok(last) = cell.try_borrow()
            && let Some(last) = last.as_ref()
            && last.key == id
            && last.salt == *salt
            && last.field == field
        {
            return f(&last.subkey);
        }
        let subkey = self.reader_from_map(material, id, salt, field);
        // Busy only if `f` reads through these caches again; then the map serves that read.
        if let Ok(mut last) = cell.try_borrow_mut() {
            match last.as_mut() {
                Some(last) => {
                    last.key = id;
                    last.salt = *salt;
                    field.clone_into(&mut last.field);
                    last.subkey = Arc::clone(&subkey);
                }
                None => {
                    *last = Some(LastRead {
                        key: id,
                        salt: *salt,
                        field: field.to_owned(),
                        subkey: Arc::clone(&subkey),
                    });
                }
            }
        }
        f(&subkey)
    }

    /// The subkey for reading, as [`Caches::with_reader`] finds it.
    #[cfg(test)]
    pub(crate) fn reader(
        &self,
        material: &Material,
        id: KeyId,
        salt: &[u8; SALT_LEN],
        field: &str,
    ) -> Arc<Subkey> {
        self.with_reader(material, id, salt, field, Arc::clone)
    }

    fn reader_from_map(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn material(byte: u8) -> Material {
        Zeroizing::new([byte; 32])
    }

    /// The per-thread shortcuts are per crypter: another crypter's caches never take a slot or
    /// subkey from them, even for the same key id, salt and field.
    #[test]
    fn shortcuts_never_cross_crypters() {
        let id = KeyId::from_be_bytes(&[0, 0, 0, 7]);
        let (a, b) = (Caches::default(), Caches::default());
        let slot_a = a.writer(&material(1), id, "users.email").expect("slot");
        let slot_b = b.writer(&material(2), id, "users.email").expect("slot");
        assert_ne!(slot_a.salt, slot_b.salt, "b drew its own salt");
        assert!(!Arc::ptr_eq(&slot_a, &slot_b));
        // The same salt, read through each: each derives from its own material.
        let read_a = a.reader(&material(1), id, &slot_a.salt, "users.email");
        let read_b = b.reader(&material(2), id, &slot_a.salt, "users.email");
        assert!(
            Arc::ptr_eq(&read_a, &slot_a.subkey),
            "a reads its own writer subkey"
        );
        assert_ne!(read_a.commitment, read_b.commitment);
        // Back to a after b: still a's own subkey.
        let again = a.reader(&material(1), id, &slot_a.salt, "users.email");
        assert!(Arc::ptr_eq(&again, &read_a));
        // Another field or salt misses the shortcut.
        let other = a.reader(&material(1), id, &slot_a.salt, "users.phone");
        assert!(!Arc::ptr_eq(&other, &read_a));
        let salted = a.reader(&material(1), id, &[9; SALT_LEN], "users.email");
        assert!(!Arc::ptr_eq(&salted, &read_a));
    }

    /// The shortcuts hold no key alive beyond the crypter: once its caches are dropped, so is
    /// every expanded subkey (wiped on drop), including the ones other threads read with last.
    #[test]
    fn shortcuts_do_not_keep_subkeys_alive() {
        let id = KeyId::from_be_bytes(&[0, 0, 0, 8]);
        let caches = Arc::new(Caches::default());
        let slot = caches
            .writer(&material(3), id, "users.email")
            .expect("slot");
        let subkey = caches.reader(&material(3), id, &slot.salt, "users.email");
        let weak_subkey = Arc::downgrade(&subkey);
        let weak_slot = Arc::downgrade(&slot);
        // Another thread reads with its own subkey, which only its shortcut then holds.
        let other = std::thread::spawn({
            let caches = Arc::clone(&caches);
            move || {
                let subkey = caches.reader(&material(3), id, &[5; SALT_LEN], "users.phone");
                caches.readers.write().expect("lock").clear();
                Arc::downgrade(&subkey)
            }
        })
        .join()
        .expect("thread");
        assert_eq!(
            other.strong_count(),
            1,
            "held by that thread's shortcut only"
        );
        drop((slot, subkey));
        drop(Arc::into_inner(caches).expect("last reference"));
        assert_eq!(weak_subkey.strong_count(), 0);
        assert_eq!(weak_slot.strong_count(), 0);
        assert_eq!(other.strong_count(), 0);
        LAST_WRITE.with_borrow(|last| {
            assert!(last.as_ref().is_some_and(|l| l.target.upgrade().is_none()));
        });
    }

    /// A run of reads of one field is served by the thread's shortcut, not the shared map; a
    /// different key id, salt or field is not.
    #[test]
    fn the_read_shortcut_serves_a_run_without_the_map() {
        let id = KeyId::from_be_bytes(&[0, 0, 0, 9]);
        let caches = Caches::default();
        let first = caches.reader(&material(4), id, &[1; SALT_LEN], "users.email");
        caches.readers.write().expect("lock").clear();
        let again = caches.reader(&material(4), id, &[1; SALT_LEN], "users.email");
        assert!(Arc::ptr_eq(&first, &again), "served by the shortcut");
        let other_id = KeyId::from_be_bytes(&[0, 0, 0, 10]);
        for (key, salt, field) in [
            (other_id, [1; SALT_LEN], "users.email"),
            (id, [2; SALT_LEN], "users.email"),
            (id, [1; SALT_LEN], "users.phone"),
        ] {
            let subkey = caches.reader(&material(4), key, &salt, field);
            assert!(!Arc::ptr_eq(&subkey, &first));
            assert_ne!(
                subkey.context_check(b"c"),
                first.context_check(b"c"),
                "{key:?} {salt:?} {field}"
            );
        }
        // The map was cleared above, so the first subkey is derived again, equal but not shared.
        let rederived = caches.reader(&material(4), id, &[1; SALT_LEN], "users.email");
        assert!(!Arc::ptr_eq(&rederived, &first));
        assert_eq!(rederived.commitment, first.commitment);
    }

    /// Equal commitments match; a difference in any bit of any byte, or a wrong length, does not.
    #[test]
    fn commitment_matches_only_the_same_bytes() {
        let ours: [u8; COMMIT_LEN] = bytes(COMMIT_LEN, 11).try_into().expect("32");
        assert!(commitment_matches(&ours, &ours));
        for i in 0..COMMIT_LEN * 8 {
            let mut theirs = ours;
            theirs[i / 8] ^= 1 << (i % 8);
            assert!(!commitment_matches(&ours, &theirs), "bit {i}");
        }
        assert!(!commitment_matches(&ours, &ours[..COMMIT_LEN - 1]));
        assert!(!commitment_matches(
            &ours,
            &[ours.as_slice(), &[0]].concat()
        ));
        assert!(!commitment_matches(&ours, &[]));
    }

    #[test]
    fn backend_names_the_feature() {
        let expected = if cfg!(feature = "aws-lc") {
            "aws-lc"
        } else {
            "aes-gcm"
        };
        assert_eq!(BACKEND, expected);
    }

    /// Every byte of a sealed message matters to the backend this build uses.
    #[test]
    fn field_cipher_refuses_any_flipped_bit() {
        let cipher = FieldCipher::new(&[7; 32]);
        let nonce = [9; NONCE_LEN];
        let aad = bytes(80, 3);
        let plaintext = bytes(64, 5);
        let mut body = plaintext.clone();
        let tag = cipher.seal(nonce, &aad, &mut body).expect("seal");
        let mut opened = body.clone();
        assert!(cipher.open(nonce, &aad, &mut opened, &tag));
        assert_eq!(opened, plaintext);
        let mut into = vec![0; body.len()];
        assert!(cipher.open_into(nonce, &aad, &body, &tag, &mut into));
        assert_eq!(into, plaintext);
        for len in [0, body.len() - 1, body.len() + 1] {
            assert!(
                !cipher.open_into(nonce, &aad, &body, &tag, &mut vec![0; len]),
                "into {len} bytes"
            );
        }
        for i in 0..body.len() * 8 {
            let mut bad = body.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(
                !cipher.open_into(nonce, &aad, &bad, &tag, &mut vec![0; bad.len()]),
                "body bit {i}, into another buffer"
            );
            assert!(!cipher.open(nonce, &aad, &mut bad, &tag), "body bit {i}");
        }
        for i in 0..TAG_LEN * 8 {
            let mut bad = tag;
            bad[i / 8] ^= 1 << (i % 8);
            assert!(
                !cipher.open(nonce, &aad, &mut body.clone(), &bad),
                "tag bit {i}"
            );
            assert!(
                !cipher.open_into(nonce, &aad, &body, &bad, &mut vec![0; body.len()]),
                "tag bit {i}, into another buffer"
            );
        }
        for i in 0..aad.len() {
            let mut bad = aad.clone();
            bad[i] ^= 0x40;
            assert!(
                !cipher.open(nonce, &bad, &mut body.clone(), &tag),
                "aad byte {i}"
            );
        }
        let mut other = nonce;
        other[0] ^= 1;
        assert!(!cipher.open(other, &aad, &mut body.clone(), &tag), "nonce");
        let wrong_key = FieldCipher::new(&[8; 32]);
        assert!(!wrong_key.open(nonce, &aad, &mut body.clone(), &tag), "key");
    }

    /// With the `aws-lc` feature both backends are compiled into the tests: each must produce
    /// exactly the other's bytes and open what the other sealed, so data written by one build
    /// is read by the other.
    #[cfg(feature = "aws-lc")]
    #[test]
    fn aws_lc_and_aes_gcm_backends_cross() {
        for (n, len) in [0usize, 1, 15, 16, 17, 64, 4096, (1 << 20) + 3]
            .into_iter()
            .enumerate()
        {
            for aad_len in [0usize, 75, 203] {
                let seed = (n * 7 + aad_len) as u8;
                let key: [u8; 32] = bytes(32, seed).try_into().expect("32");
                let nonce: [u8; NONCE_LEN] = bytes(NONCE_LEN, seed ^ 0x55).try_into().expect("12");
                let aad = bytes(aad_len, seed ^ 0xaa);
                let plaintext = bytes(len, seed ^ 0x0f);
                let aes = AesGcmCipher::new(&key);
                let lc = AwsLcCipher::new(&key);

                let mut by_aes = plaintext.clone();
                let aes_tag = aes.seal(nonce, &aad, &mut by_aes).expect("aes-gcm seal");
                let mut by_lc = plaintext.clone();
                let lc_tag = lc.seal(nonce, &aad, &mut by_lc).expect("aws-lc seal");
                assert_eq!(by_aes, by_lc, "ciphertext, {len} bytes");
                assert_eq!(aes_tag, lc_tag, "tag, {len} bytes");

                let mut opened = by_aes.clone();
                assert!(
                    lc.open(nonce, &aad, &mut opened, &aes_tag),
                    "aws-lc opens aes-gcm"
                );
                assert_eq!(opened, plaintext);
                let mut opened = by_lc.clone();
                assert!(
                    aes.open(nonce, &aad, &mut opened, &lc_tag),
                    "aes-gcm opens aws-lc"
                );
                assert_eq!(opened, plaintext);
                let mut into = vec![0; len];
                assert!(
                    lc.open_into(nonce, &aad, &by_aes, &aes_tag, &mut into),
                    "aws-lc opens aes-gcm into another buffer"
                );
                assert_eq!(into, plaintext);
                let mut into = vec![0; len];
                assert!(
                    aes.open_into(nonce, &aad, &by_lc, &lc_tag, &mut into),
                    "aes-gcm opens aws-lc into another buffer"
                );
                assert_eq!(into, plaintext);

                let mut bad_tag = aes_tag;
                bad_tag[TAG_LEN - 1] ^= 0x80;
                assert!(!lc.open(nonce, &aad, &mut by_aes.clone(), &bad_tag));
                assert!(!aes.open(nonce, &aad, &mut by_lc.clone(), &bad_tag));
                assert!(!lc.open_into(nonce, &aad, &by_aes, &bad_tag, &mut vec![0; len]));
                assert!(!aes.open_into(nonce, &aad, &by_lc, &bad_tag, &mut vec![0; len]));
            }
        }
    }
}
