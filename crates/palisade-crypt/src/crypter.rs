//! The facade: encrypt, decrypt, rewrap.

use std::{fmt, marker::PhantomData, sync::Arc};

use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

use crate::{
    cipher::{Caches, WriterSlot},
    context::{Context, Field, FieldContext},
    error::{DecryptError, DecryptErrorKind, EncryptError},
    format::{
        ALG_AES256GCM_HKDF, CHECK_AT, COMMIT_AT, Ciphertext, FLAG_PADDED, HEADER_LEN, NONCE_AT,
        NONCE_LEN, SALT_AT, TAG_LEN, VERSION,
    },
    keyring::{KeyId, KeyPurpose, KeyState, Keyring, Material},
    padding::{Padding, unpadded_len},
    telemetry::Counters,
};

/// Decrypted bytes, zeroized on drop; `Debug` shows only the length.
// A boxed slice, not a `Vec`: an allocation of exactly the plaintext's length, so no plaintext
// is ever in spare capacity, and two words to return instead of three.
pub struct Plaintext(Box<[u8]>);

impl Plaintext {
    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as UTF-8, if they are.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The bytes in a buffer that zeroizes itself on drop.
    pub fn into_zeroizing(mut self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(std::mem::take(&mut self.0).into_vec())
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        // The slice impl zeroizes with one `memset` behind an optimization barrier; the boxed
        // slice's own impl writes byte by byte (about 0.5 ms per MiB here).
        let bytes: &mut [u8] = &mut self.0;
        bytes.zeroize();
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext([REDACTED; {} bytes])", self.0.len())
    }
}

/// A ciphertext of field `F`: it opens only with a [`FieldContext<F>`].
pub struct Encrypted<F> {
    ciphertext: Ciphertext,
    field: PhantomData<fn() -> F>,
}

impl<F> Encrypted<F> {
    /// Wraps a ciphertext read from storage as a value of field `F`.
    pub fn new(ciphertext: Ciphertext) -> Self {
        Self {
            ciphertext,
            field: PhantomData,
        }
    }

    /// The untyped ciphertext.
    pub fn ciphertext(&self) -> &Ciphertext {
        &self.ciphertext
    }

    /// The text form (`pc1:...`).
    pub fn to_text(&self) -> String {
        self.ciphertext.to_text()
    }

    /// Reads the text form.
    ///
    /// # Errors
    /// As [`Ciphertext::from_text`].
    pub fn from_text(text: &str) -> Result<Self, DecryptError> {
        Ciphertext::from_text(text).map(Self::new)
    }
}

impl<F> Clone for Encrypted<F> {
    fn clone(&self) -> Self {
        Self::new(self.ciphertext.clone())
    }
}

impl<F> PartialEq for Encrypted<F> {
    fn eq(&self, other: &Self) -> bool {
        self.ciphertext == other.ciphertext
    }
}

impl<F> Eq for Encrypted<F> {}

impl<F> fmt::Debug for Encrypted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.ciphertext, f)
    }
}

impl<F> fmt::Display for Encrypted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.ciphertext, f)
    }
}

/// Rewrapping failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewrapError {
    /// The old ciphertext could not be decrypted.
    #[error("{0}")]
    Decrypt(DecryptError),
    /// The new ciphertext could not be made.
    #[error("{0}")]
    Encrypt(EncryptError),
}

impl RewrapError {
    /// The decryption failure's kind, if that was the cause.
    pub fn decrypt_kind(&self) -> Option<DecryptErrorKind> {
        match self {
            Self::Decrypt(e) => Some(e.kind()),
            Self::Encrypt(_) => None,
        }
    }
}

/// Associated data up to this length (the header and a context of up to 181 bytes) is
/// assembled on the stack; longer contexts take one allocation.
const STACK_AAD: usize = 256;

/// Assembles the associated data of one message, the header (nonce included) then the
/// context's canonical encoding, in `stack` when it fits, else in `heap`; the caller owns
/// both, so the assembled bytes are never moved or copied again.
fn assemble_aad<'a>(
    stack: &'a mut [u8; STACK_AAD],
    heap: &'a mut Vec<u8>,
    header: &[u8; HEADER_LEN],
    context: &Context,
) -> &'a mut [u8] {
    let len = HEADER_LEN + context.encoded_len();
    let aad = if let Some(aad) = stack.get_mut(..len) {
        aad
    } else {
        heap.resize(len, 0);
        heap.as_mut_slice()
    };
    let (header_part, context_part) = aad.split_at_mut(HEADER_LEN);
    header_part.copy_from_slice(header);
    context_part.copy_from_slice(context.encoded());
    aad
}

/// Bodies up to this length are decrypted in a copy of themselves; longer ones straight from
/// the ciphertext into the output (see `decrypt_unmetered`).
const COPY_AND_OPEN_MAX: usize = 1024;

#[derive(Clone)]
struct KeyView {
    purpose: KeyPurpose,
    state: KeyState,
    version: u32,
    material: Option<Arc<Material>>,
}

struct Inner {
    primary: KeyId,
    primary_material: Arc<Material>,
    keys: Vec<(KeyId, KeyView)>,
    min_decryption_version: u32,
    padding: Padding,
    caches: Caches,
    /// Registered with the recorder installed when the crypter was built.
    counters: Counters,
}

/// Encrypts and decrypts fields with a snapshot of a [`Keyring`]. Cheap to clone and share
/// between threads; caches per-field subkeys and expanded ciphers. Build a new one after the
/// keyring changes.
#[derive(Clone)]
pub struct Crypter {
    inner: Arc<Inner>,
}

impl fmt::Debug for Crypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypter")
            .field("primary", &self.inner.primary)
            .field("keys", &self.inner.keys.len())
            .field("padding", &self.inner.padding)
            .finish_non_exhaustive()
    }
}

impl Crypter {
    /// A crypter for the keyring's current keys, without padding.
    ///
    /// # Errors
    /// [`KeyringError::NoPrimary`](crate::KeyringError::NoPrimary) if the keyring has no
    /// primary encryption key.
    pub fn new(keyring: &Keyring) -> Result<Self, crate::KeyringError> {
        Self::with_padding(keyring, Padding::NONE)
    }

    /// As [`Crypter::new`], padding every new ciphertext as `padding` says.
    ///
    /// # Errors
    /// As [`Crypter::new`].
    pub fn with_padding(keyring: &Keyring, padding: Padding) -> Result<Self, crate::KeyringError> {
        let primary = keyring
            .primary_entry(KeyPurpose::Encryption)
            .ok_or(crate::KeyringError::NoPrimary(KeyPurpose::Encryption))?;
        let primary_material = primary
            .material
            .clone()
            .ok_or(crate::KeyringError::NoPrimary(KeyPurpose::Encryption))?;
        let keys = keyring
            .entries
            .iter()
            .map(|e| {
                (
                    e.info.id,
                    KeyView {
                        purpose: e.info.purpose,
                        state: e.info.state,
                        version: e.info.version,
                        material: e.material.clone(),
                    },
                )
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                primary: primary.info.id,
                primary_material,
                keys,
                min_decryption_version: keyring.min_decryption_version,
                padding,
                caches: Caches::default(),
                counters: Counters::new(),
            }),
        })
    }

    /// The primary key's id: what new ciphertexts carry.
    pub fn primary_key_id(&self) -> KeyId {
        self.inner.primary
    }

    /// Encrypts `plaintext` bound to `context` with the primary key.
    ///
    /// # Errors
    /// [`EncryptError::Random`] if the OS generator fails, [`EncryptError::TooLong`].
    pub fn encrypt(&self, context: &Context, plaintext: &[u8]) -> Result<Ciphertext, EncryptError> {
        let result = self.encrypt_unmetered(context, plaintext);
        if result.is_ok() {
            self.inner.counters.encrypted();
        }
        result
    }

    fn encrypt_unmetered(
        &self,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<Ciphertext, EncryptError> {
        let inner = &*self.inner;
        let slot = inner
            .caches
            .writer(&inner.primary_material, inner.primary, context.field())
            .ok_or(EncryptError::Random)?;
        let nonce = crate::nonce::draw().map_err(|_| EncryptError::Random)?;
        self.seal_with(&slot, context, plaintext, nonce)
    }

    fn seal_with(
        &self,
        slot: &WriterSlot,
        context: &Context,
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Ciphertext, EncryptError> {
        let padding = self.inner.padding;
        // AES-GCM's limit is 2^36 - 32 bytes; far beyond any field, but checked.
        if plaintext.len() as u64 > (1u64 << 36) - 64 {
            return Err(EncryptError::TooLong {
                len: plaintext.len(),
            });
        }
        let (mut stack, mut heap) = ([0; STACK_AAD], Vec::new());
        let aad = assemble_aad(&mut stack, &mut heap, &[0; HEADER_LEN], context);
        let (header, encoded_context) = aad.split_at_mut(HEADER_LEN);
        let check = slot.subkey.context_check(encoded_context);
        header[0] = VERSION;
        header[1] = ALG_AES256GCM_HKDF;
        header[2] = if padding.is_none() { 0 } else { FLAG_PADDED };
        header[3..SALT_AT].copy_from_slice(&self.inner.primary.get().to_be_bytes());
        header[SALT_AT..COMMIT_AT].copy_from_slice(&slot.salt);
        header[COMMIT_AT..CHECK_AT].copy_from_slice(&slot.subkey.commitment);
        header[CHECK_AT..NONCE_AT].copy_from_slice(&check);
        header[NONCE_AT..].copy_from_slice(&nonce);
        let mut out = Vec::with_capacity(
            HEADER_LEN + padding.padded_len(plaintext.len()).unwrap_or(0) + TAG_LEN,
        );
        out.extend_from_slice(header);
        padding.pad_into(plaintext, &mut out)?;
        let tag = slot
            .subkey
            .cipher
            .seal(nonce, aad, &mut out[HEADER_LEN..])
            .ok_or(EncryptError::TooLong {
                len: plaintext.len(),
            })?;
        out.extend_from_slice(&tag);
        Ok(Ciphertext::from_vec_unchecked(out))
    }

    /// Encrypts with a caller-chosen salt and nonce, for committed format test vectors only.
    /// Reusing a nonce under the same salt destroys confidentiality and authenticity.
    ///
    /// # Errors
    /// As [`Crypter::encrypt`].
    #[cfg(feature = "insecure-test-vectors")]
    #[cfg_attr(docsrs, doc(cfg(feature = "insecure-test-vectors")))]
    #[doc(hidden)]
    pub fn insecure_encrypt_with_fixed_randomness(
        &self,
        context: &Context,
        plaintext: &[u8],
        salt: [u8; crate::format::SALT_LEN],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Ciphertext, EncryptError> {
        let inner = &*self.inner;
        let slot = inner
            .caches
            .new_slot(
                &inner.primary_material,
                inner.primary,
                context.field(),
                Some(salt),
            )
            .ok_or(EncryptError::Random)?;
        self.seal_with(&slot, context, plaintext, nonce)
    }

    /// Decrypts a value encrypted for `context`.
    ///
    /// # Errors
    /// A [`DecryptError`] whose [`kind`](DecryptError::kind) says why; nothing else is revealed.
    pub fn decrypt(
        &self,
        context: &Context,
        ciphertext: &Ciphertext,
    ) -> Result<Plaintext, DecryptError> {
        let result = self.decrypt_unmetered(context, ciphertext);
        self.inner
            .counters
            .decrypted(result.as_ref().err().map(DecryptError::kind));
        result
    }

    fn decrypt_unmetered(
        &self,
        context: &Context,
        ciphertext: &Ciphertext,
    ) -> Result<Plaintext, DecryptError> {
        let fail = |kind| DecryptError::new(kind);
        let inner = &*self.inner;
        let id = ciphertext.key_id();
        let key = inner
            .keys
            .iter()
            .find_map(|(k, v)| (*k == id).then_some(v))
            .ok_or(fail(DecryptErrorKind::UnknownKey))?;
        if key.purpose != KeyPurpose::Encryption {
            return Err(fail(DecryptErrorKind::WrongKeyPurpose));
        }
        let material = match (key.state, &key.material) {
            (KeyState::Destroyed, _) | (_, None) => {
                return Err(fail(DecryptErrorKind::KeyDestroyed));
            }
            (KeyState::Disabled, _) => return Err(fail(DecryptErrorKind::KeyDisabled)),
            (_, Some(m)) => m,
        };
        if key.version < inner.min_decryption_version {
            return Err(fail(DecryptErrorKind::KeyBelowMinimumVersion));
        }
        let (body, tag) = ciphertext
            .body_and_tag()
            .ok_or(fail(DecryptErrorKind::Truncated))?;
        let (mut stack, mut heap) = ([0; STACK_AAD], Vec::new());
        let aad: &[u8] = assemble_aad(&mut stack, &mut heap, ciphertext.header(), context);
        let mut out = inner.caches.with_reader(
            material,
            id,
            ciphertext.salt(),
            context.field(),
            |subkey| {
                if !crate::cipher::commitment_matches(&subkey.commitment, ciphertext.commitment()) {
                    return Err(fail(DecryptErrorKind::KeyCommitmentMismatch));
                }
                // Small bodies are copied into the buffer they are opened in: one allocation
                // at the final size and no zeroing pass. Larger ones are decrypted from the
                // ciphertext into a zeroed buffer (with `aws-lc`, one pass over the data
                // instead of a copy and a pass). Either way the buffer is a `Plaintext` of the
                // body's length from the start, so whatever it holds when it drops (plaintext,
                // or what a refused open left) is zeroized.
                let nonce = ciphertext.nonce();
                if body.len() <= COPY_AND_OPEN_MAX {
                    let mut out = Plaintext(body.into());
                    if subkey.cipher.open(nonce, aad, &mut out.0, tag) {
                        return Ok(out);
                    }
                } else {
                    let mut out = Plaintext(vec![0; body.len()].into_boxed_slice());
                    if subkey.cipher.open_into(nonce, aad, body, tag, &mut out.0) {
                        return Ok(out);
                    }
                }
                // Only now tell a value moved from another context from an altered one.
                let moved = !bool::from(
                    subkey
                        .context_check(&aad[HEADER_LEN..])
                        .ct_eq(ciphertext.context_check()),
                );
                Err(fail(if moved {
                    DecryptErrorKind::WrongContext
                } else {
                    DecryptErrorKind::Tampered
                }))
            },
        )?;
        if ciphertext.flags() & FLAG_PADDED != 0 {
            let len = unpadded_len(&out.0).ok_or(fail(DecryptErrorKind::Tampered))?;
            // The value moves to a buffer of its own length; the padded one is zeroized as it
            // is replaced.
            out = Plaintext(out.0[..len].into());
        }
        Ok(out)
    }

    /// Encrypts a value of field `F`.
    ///
    /// # Errors
    /// As [`Crypter::encrypt`].
    pub fn seal<F: Field>(
        &self,
        context: &FieldContext<F>,
        plaintext: &[u8],
    ) -> Result<Encrypted<F>, EncryptError> {
        self.encrypt(context.context(), plaintext)
            .map(Encrypted::new)
    }

    /// Decrypts a value of field `F`.
    ///
    /// # Errors
    /// As [`Crypter::decrypt`].
    pub fn open<F: Field>(
        &self,
        context: &FieldContext<F>,
        value: &Encrypted<F>,
    ) -> Result<Plaintext, DecryptError> {
        self.decrypt(context.context(), value.ciphertext())
    }

    /// Whether the value is on a key other than the primary, so [`Crypter::rewrap`] would move
    /// it. Reads the header only.
    pub fn needs_rewrap(&self, ciphertext: &Ciphertext) -> bool {
        ciphertext.key_id() != self.inner.primary
    }

    /// Decrypts and re-encrypts under the primary key in one step; the plaintext never leaves
    /// this function and is zeroized. A value already on the primary key is re-encrypted too
    /// (call [`Crypter::needs_rewrap`] first to skip it). With the `metrics` feature it counts
    /// as a rewrap, a decryption and (when that succeeds) an encryption.
    ///
    /// # Errors
    /// [`RewrapError::Decrypt`] if the old value does not decrypt; [`RewrapError::Encrypt`].
    pub fn rewrap(
        &self,
        context: &Context,
        ciphertext: &Ciphertext,
    ) -> Result<Ciphertext, RewrapError> {
        let result = self
            .decrypt(context, ciphertext)
            .map_err(RewrapError::Decrypt)
            .and_then(|plaintext| {
                self.encrypt(context, plaintext.expose_secret())
                    .map_err(RewrapError::Encrypt)
            });
        self.inner.counters.rewrapped(result.is_ok());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SUBKEY_BUDGET, format::SALT_AT, format::SALT_LEN};

    fn salt(ct: &Ciphertext) -> [u8; SALT_LEN] {
        let mut out = [0; SALT_LEN];
        out.copy_from_slice(&ct.as_bytes()[SALT_AT..SALT_AT + SALT_LEN]);
        out
    }

    /// Bodies on both sides of `COPY_AND_OPEN_MAX` (opened in a copy of themselves, or
    /// decrypted from the ciphertext into the output) round-trip, with and without padding,
    /// and a flipped bit in the body or the tag is `Tampered` on either path.
    #[test]
    fn bodies_around_the_copy_threshold_open_and_refuse_tampering() {
        let keyring = Keyring::generate().unwrap();
        let ctx = Context::new("users.note").unwrap().with("row", 1).unwrap();
        for padding in [Padding::NONE, Padding::PADME] {
            let crypter = Crypter::with_padding(&keyring, padding).unwrap();
            for len in [
                0,
                1,
                64,
                COPY_AND_OPEN_MAX - 1,
                COPY_AND_OPEN_MAX,
                COPY_AND_OPEN_MAX + 1,
                4096,
            ] {
                let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let ct = crypter.encrypt(&ctx, &plaintext).unwrap();
                let opened = crypter.decrypt(&ctx, &ct).unwrap();
                assert_eq!(opened.expose_secret(), plaintext.as_slice(), "{len} bytes");
                let bytes = ct.as_bytes();
                for at in [HEADER_LEN, bytes.len() - TAG_LEN - 1, bytes.len() - 1] {
                    if at < HEADER_LEN {
                        continue;
                    }
                    let mut bad = bytes.to_vec();
                    bad[at] ^= 0x10;
                    let bad = Ciphertext::from_bytes(&bad).unwrap();
                    let err = crypter.decrypt(&ctx, &bad).unwrap_err();
                    assert_eq!(
                        err.kind(),
                        DecryptErrorKind::Tampered,
                        "{len} bytes, byte {at}"
                    );
                }
            }
        }
    }

    /// A plaintext is exactly the value, padded or not: `expose_secret`, `into_zeroizing` and
    /// `Debug`'s length agree.
    #[test]
    fn a_plaintext_is_exactly_the_value_padded_or_not() {
        let keyring = Keyring::generate().unwrap();
        let ctx = Context::new("users.note").unwrap();
        for padding in [Padding::NONE, Padding::PADME, Padding::bucket(64).unwrap()] {
            let crypter = Crypter::with_padding(&keyring, padding).unwrap();
            for len in [0, 1, 63, 64, 65, COPY_AND_OPEN_MAX + 1] {
                let value: Vec<u8> = (0..len).map(|i| (i * 5 + 1) as u8).collect();
                let opened = crypter
                    .decrypt(&ctx, &crypter.encrypt(&ctx, &value).unwrap())
                    .unwrap();
                assert_eq!(opened.expose_secret(), value.as_slice(), "{len} bytes");
                assert_eq!(
                    format!("{opened:?}"),
                    format!("Plaintext([REDACTED; {len} bytes])")
                );
                assert_eq!(opened.into_zeroizing().as_slice(), value.as_slice());
            }
        }
    }

    /// Contexts whose associated data fits the stack buffer exactly, misses it by one byte, and
    /// the largest there is: each round-trips and refuses another context.
    #[test]
    fn associated_data_on_and_beyond_the_stack_buffer_round_trips() {
        let keyring = Keyring::generate().unwrap();
        let crypter = Crypter::new(&keyring).unwrap();
        let sized = |encoded: usize| {
            // "f" plus one attribute "a": 2 + 1 + 3 + 1 + value bytes.
            let ctx = Context::new("f")
                .unwrap()
                .with("a", "v".repeat(encoded - 7))
                .unwrap();
            assert_eq!(ctx.encoded_len(), encoded);
            ctx
        };
        let mut largest = Context::new(&"f".repeat(64)).unwrap();
        for i in 0..32 {
            largest = largest
                .with(&format!("{i:0>64}"), "v".repeat(1024))
                .unwrap();
        }
        let fits = STACK_AAD - HEADER_LEN;
        for ctx in [sized(fits), sized(fits + 1), largest] {
            let ct = crypter.encrypt(&ctx, b"value").unwrap();
            assert_eq!(
                crypter.decrypt(&ctx, &ct).unwrap().expose_secret(),
                b"value"
            );
            let other = Context::new("g").unwrap();
            let err = crypter.decrypt(&other, &ct).unwrap_err();
            assert_eq!(err.kind(), DecryptErrorKind::WrongContext);
        }
    }

    #[test]
    fn a_writer_draws_a_new_salt_after_2_pow_32_messages_under_one_subkey() {
        let keyring = Keyring::generate().unwrap();
        let crypter = Crypter::new(&keyring).unwrap();
        let ctx = Context::new("users.email").unwrap();

        let first = crypter.encrypt(&ctx, b"first").unwrap();
        let second = crypter.encrypt(&ctx, b"second").unwrap();
        assert_eq!(salt(&first), salt(&second));

        // As if 2^32 - 1 messages had gone out under this subkey: one more is allowed...
        crypter
            .inner
            .caches
            .set_writer_uses(ctx.field(), SUBKEY_BUDGET - 1);
        let last = crypter.encrypt(&ctx, b"last").unwrap();
        assert_eq!(salt(&last), salt(&first));
        // ...and the next one is under a freshly drawn salt, whose budget starts again.
        let rolled = crypter.encrypt(&ctx, b"rolled").unwrap();
        assert_ne!(salt(&rolled), salt(&first));
        let after = crypter.encrypt(&ctx, b"after").unwrap();
        assert_eq!(salt(&after), salt(&rolled));

        for (ct, text) in [
            (&first, "first"),
            (&last, "last"),
            (&rolled, "rolled"),
            (&after, "after"),
        ] {
            let opened = crypter.decrypt(&ctx, ct).unwrap();
            assert_eq!(opened.expose_secret(), text.as_bytes());
        }
        // Another field's subkey is untouched by this one's budget.
        let other = Context::new("users.phone").unwrap();
        let other_ct = crypter.encrypt(&other, b"x").unwrap();
        assert_ne!(salt(&other_ct), salt(&rolled));
    }
}
