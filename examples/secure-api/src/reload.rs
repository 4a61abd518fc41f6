//! Rotated JWT keys and password peppers, taken up without a restart.
//!
//! When `jwt_key` or `pepper` is given as an address (`file:`, `systemd:`, `env:`, and with
//! their features `aws-sm:` and `vault:`), a palisade-secrets [`SecretCache`] reads it again
//! every `secrets_refresh_secs`, and its change signal (`watch`) swaps the new value in:
//!
//! - **JWT key**: new access tokens are signed with the new key (a new `kid`); the old key stays
//!   in the verifier's key set until every token it signed has expired (the access-token
//!   lifetime plus the clock leeway), then it is dropped.
//! - **Pepper**: new hashes use the new pepper; hashes made with an old one still verify, and
//!   are reported for rehash, so a login upgrades them. Old peppers are kept until the process
//!   ends (a restart knows only the current one: hashes not upgraded by then need a reset).
//!
//! Keys and peppers are named by a keyed hash of their value (`kid` `k` + 7 hex digits, pepper
//! id `p` + 7), so every instance and every restart names the same value the same way. The
//! holders are `RwLock<Arc<_>>`: a reader clones the `Arc` and never waits for a rotation.

use std::{
    sync::{Arc, Mutex, PoisonError, RwLock, Weak},
    task::{Context, Poll, Waker},
    time::Duration,
};

use hmac::{Hmac, KeyInit, Mac as _};
use palisade_http::{Rejection, TokenVerifier};
use palisade_password::{Hasher, Pepper, Peppers};
use palisade_secrets::{Address, CachePolicy, SecretCache};
use palisade_token::{
    TokenError,
    jwt::{Algorithm, CachedVerifier, Claims, Issuer, KeySet, SigningKey, Verifier},
    revocation::RevocationList,
};
use secrecy::{ExposeSecret as _, SecretBox};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::{sources::ServiceSource, token_store::TokenStore};

/// A value swapped whole; readers take the current `Arc`.
#[derive(Debug)]
pub(crate) struct Swap<T>(RwLock<Arc<T>>);

impl<T> Swap<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(RwLock::new(Arc::new(value)))
    }

    pub(crate) fn get(&self) -> Arc<T> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

/// A public name for a secret value: `prefix` and 7 hex digits of HMAC-SHA256 keyed by the
/// value (the name reveals nothing usable about the value).
fn name_of(prefix: char, secret: &[u8], label: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut name = String::with_capacity(9);
    name.push(prefix);
    // HMAC takes keys of any length, so this never fails; the name is then the bare prefix.
    if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        mac.update(label);
        for b in &mac.finalize().into_bytes()[..4] {
            let _ = write!(name, "{b:02x}");
        }
    }
    name.truncate(8);
    name
}

/// The `kid` of an access-token signing key.
pub(crate) fn kid_of(key: &[u8]) -> String {
    name_of('k', key, b"secure-api jwt kid v1")
}

/// The id of a pepper.
pub(crate) fn pepper_id_of(pepper: &[u8]) -> String {
    name_of('p', pepper, b"secure-api pepper id v1")
}

/// The access-token issuer and verifier, over one key set that a rotation replaces.
#[derive(Debug)]
pub(crate) struct JwtKeys {
    keys: Mutex<Arc<KeySet>>,
    issuer: Swap<Issuer>,
    verifier: Swap<CachedVerifier>,
    /// How long a retired key still verifies: the longest a token it signed stays valid.
    retire_after: Duration,
}

impl JwtKeys {
    /// `issuer` and `verifier` configured (claims, lifetime, audience) with any key set; the
    /// set used is the one of `key`.
    ///
    /// # Errors
    /// If `key` is not a usable HMAC key.
    pub(crate) fn new(
        key: &[u8],
        issuer: &Issuer,
        verifier: &Verifier,
        retire_after: Duration,
    ) -> Result<Self, palisade_token::ConfigError> {
        let keys = Arc::new(KeySet::single(signing_key(key)?));
        Ok(Self {
            issuer: Swap::new(issuer.with_keys(keys.clone())?),
            verifier: Swap::new(remembering(verifier.with_keys(keys.clone()))?),
            keys: Mutex::new(keys),
            retire_after,
        })
    }

    pub(crate) fn issuer(&self) -> Arc<Issuer> {
        self.issuer.get()
    }

    pub(crate) fn verifier(&self) -> Arc<CachedVerifier> {
        self.verifier.get()
    }

    /// Signs from now on with `key`; the previous signer keeps verifying for `retire_after`,
    /// then is dropped (by a task that holds the keys weakly). Returns the new `kid`.
    pub(crate) fn rotate(
        self: &Arc<Self>,
        key: &[u8],
    ) -> Result<String, palisade_token::ConfigError> {
        let next = signing_key(key)?;
        let kid = kid_of(key);
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = keys.signing_key().and_then(|k| k.kid()).map(str::to_owned);
        if previous.as_deref() == Some(kid.as_str()) {
            return Ok(kid);
        }
        // A key coming back before it was retired is taken out first, then made the signer.
        let base = keys.without(&kid).unwrap_or_else(|_| (**keys).clone());
        let set = Arc::new(base.rotated(next)?);
        // Both built before either is swapped in, so a refusal leaves the pair as it was.
        let verifier = remembering(self.verifier.get().verifier().with_keys(set.clone()))?;
        self.issuer.set(self.issuer.get().with_keys(set.clone())?);
        self.verifier.set(verifier);
        *keys = set;
        drop(keys);
        if let Some(old) = previous {
            let this = Arc::downgrade(self);
            let after = self.retire_after;
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(this) = this.upgrade() {
                    this.retire(&old);
                }
            });
        }
        Ok(kid)
    }

    /// Drops the key `kid` unless it signs again.
    fn retire(&self, kid: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.signing_key().and_then(|k| k.kid()) == Some(kid) {
            return;
        }
        if let Ok(set) = keys.without(kid) {
            let set = Arc::new(set);
            if let Ok(verifier) = remembering(self.verifier.get().verifier().with_keys(set.clone()))
            {
                self.verifier.set(verifier);
            }
            if let Ok(issuer) = self.issuer.get().with_keys(set.clone()) {
                self.issuer.set(issuer);
            }
            *keys = set;
            tracing::info!(kid, "retired JWT key dropped after its tokens expired");
        }
    }
}

/// How many verified access tokens the service remembers, and for how long: a client that
/// reuses its token pays for the signature and the JSON once a minute. Every swap of the key
/// set starts with none remembered, so a retired key's tokens are not served from memory.
const REMEMBERED_TOKENS: usize = 16_384;
const REMEMBER_FOR: Duration = Duration::from_secs(60);

/// `verifier` remembering verified tokens. The settings are constants within
/// `CachedVerifier`'s ranges (`the_remembering_settings_are_accepted`), so this never fails.
fn remembering(verifier: Verifier) -> Result<CachedVerifier, palisade_token::ConfigError> {
    CachedVerifier::new(verifier, REMEMBERED_TOKENS, REMEMBER_FOR)
}

fn signing_key(key: &[u8]) -> Result<SigningKey, palisade_token::ConfigError> {
    SigningKey::hmac(Algorithm::HS256, key)?.with_kid(kid_of(key))
}

/// The bearer layer's verifier: the current key set's signature and claims checks, then the
/// revocation list.
#[derive(Debug)]
pub(crate) struct AccessVerifier {
    keys: Arc<JwtKeys>,
    revocation: RevocationList<TokenStore>,
    /// Whether the revocation list lives in the database, whose checks read an in-memory
    /// mirror and complete without waiting (in Redis they wait for a round trip).
    in_memory: bool,
}

impl AccessVerifier {
    pub(crate) fn new(keys: Arc<JwtKeys>, revocation: RevocationList<TokenStore>) -> Self {
        let in_memory = matches!(revocation.store(), TokenStore::Left(_));
        Self {
            keys,
            revocation,
            in_memory,
        }
    }
}

impl TokenVerifier for AccessVerifier {
    /// Shared with the remembered token: no copy per request.
    type Claims = Arc<Claims<Map<String, Value>>>;

    async fn verify(&self, token: &str) -> Result<Self::Claims, Rejection> {
        let claims = self
            .keys
            .verifier()
            .verify::<Map<String, Value>>(token)
            .map_err(|e| Rejection::new(e.kind().as_str()))?;
        match self.revocation.check(&claims).await {
            Ok(()) => Ok(claims),
            Err(TokenError::Invalid(invalid)) => Err(Rejection::new(invalid.kind().as_str())),
            // A store outage refuses the token (fail closed), with its own kind for the logs.
            Err(_) => Err(Rejection::new("revocation_unavailable")),
        }
    }

    /// With the token state in the database, [`verify`](Self::verify) never waits (the
    /// signature, the claims and the revocation tables' mirror), so the bearer layer takes
    /// its answer in `call`: the one poll below completes it. Should it ever wait, the layer
    /// awaits `verify` instead.
    fn verify_now(&self, token: &str) -> Option<Result<Self::Claims, Rejection>> {
        if !self.in_memory {
            return None;
        }
        let mut verify = std::pin::pin!(self.verify(token));
        match verify
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(result) => Some(result),
            Poll::Pending => None,
        }
    }
}

/// The password hasher, rebuilt with a new current pepper on rotation.
pub(crate) struct PepperedHasher {
    hasher: Swap<Hasher>,
    /// Every pepper seen, current first: (id, value).
    peppers: Mutex<Vec<(String, Zeroizing<Vec<u8>>)>>,
    build: Box<dyn Fn(Peppers) -> Result<Hasher, palisade_password::ConfigError> + Send + Sync>,
}

impl std::fmt::Debug for PepperedHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepperedHasher").finish_non_exhaustive()
    }
}

impl PepperedHasher {
    /// A hasher whose current pepper is `pepper` under `id` (the configured `pepper_id`), with
    /// `retired` (the configured previous pepper and its id) still verifying, built by `build`
    /// from a set of peppers.
    ///
    /// # Errors
    /// If a pepper or the hasher is refused.
    pub(crate) fn new(
        id: &str,
        pepper: &[u8],
        retired: Option<(&str, &[u8])>,
        build: impl Fn(Peppers) -> Result<Hasher, palisade_password::ConfigError>
        + Send
        + Sync
        + 'static,
    ) -> Result<Self, palisade_password::ConfigError> {
        let mut peppers = vec![(id.to_owned(), Zeroizing::new(pepper.to_vec()))];
        if let Some((id, value)) = retired {
            peppers.push((id.to_owned(), Zeroizing::new(value.to_vec())));
        }
        let hasher = build(Self::set(&peppers)?)?;
        Ok(Self {
            hasher: Swap::new(hasher),
            peppers: Mutex::new(peppers),
            build: Box::new(build),
        })
    }

    /// The set of peppers, current first. Every value is also known under the id derived from
    /// it ([`pepper_id_of`]), the id a pepper taken up at run time gets: hashes made after a
    /// rotation through the change signal still verify after a restart that names the same
    /// value by its configured id.
    fn set(
        peppers: &[(String, Zeroizing<Vec<u8>>)],
    ) -> Result<Peppers, palisade_password::ConfigError> {
        let pepper = |id: &str, value: &[u8]| {
            Pepper::new(id, SecretBox::new(value.to_vec().into_boxed_slice()))
        };
        let mut iter = peppers.iter();
        let Some((id, value)) = iter.next() else {
            return Err(palisade_password::ConfigError::InvalidPepperId);
        };
        let mut set = Peppers::new(pepper(id, value)?);
        let mut ids: Vec<String> = vec![id.clone()];
        for (id, value) in iter {
            if !ids.contains(id) {
                set = set.with_retired(pepper(id, value)?)?;
                ids.push(id.clone());
            }
        }
        for (_, value) in peppers {
            let derived = pepper_id_of(value);
            if !ids.contains(&derived) {
                set = set.with_retired(pepper(&derived, value)?)?;
                ids.push(derived);
            }
        }
        Ok(set)
    }

    pub(crate) fn get(&self) -> Arc<Hasher> {
        self.hasher.get()
    }

    /// Makes `pepper` current; every pepper before stays, to verify. Returns its id.
    ///
    /// # Errors
    /// If the pepper or the rebuilt hasher is refused; the hasher in use is kept.
    pub(crate) fn rotate(&self, pepper: &[u8]) -> Result<String, palisade_password::ConfigError> {
        let id = pepper_id_of(pepper);
        let mut peppers = self.peppers.lock().unwrap_or_else(PoisonError::into_inner);
        // The current value again (the watcher's first read at start): it keeps the id it was
        // configured with, so hashes made now carry `pepper_id` as before.
        if let Some((current, value)) = peppers.first()
            && (*current == id || bool::from(value.as_slice().ct_eq(pepper)))
        {
            return Ok(current.clone());
        }
        let mut next: Vec<_> = peppers.iter().filter(|(i, _)| *i != id).cloned().collect();
        next.insert(0, (id.clone(), Zeroizing::new(pepper.to_vec())));
        let hasher = (self.build)(Self::set(&next)?)?;
        self.hasher.set(hasher);
        *peppers = next;
        Ok(id)
    }
}

/// Decodes a rotated value the way the configuration does (64 hex digits).
type Decode = fn(&'static str, &str) -> Result<crate::config::Secret, crate::config::ConfigError>;

/// Starts watching `address` for `name` (`jwt_key` or `pepper`): a task reads it through a
/// cache every `every`, and on the cache's change signal decodes the new value and hands it
/// to `apply`. The task ends when `apply` says the state is gone. Returns the cache (tests
/// subscribe to it).
pub(crate) fn watch(
    name: &'static str,
    address: Address,
    source: ServiceSource,
    every: Duration,
    decode: Decode,
    apply: impl Fn(&[u8]) -> Option<Result<String, String>> + Send + Sync + 'static,
) -> SecretCache<ServiceSource> {
    let mut policy = CachePolicy::default();
    policy.ttl = every;
    policy.refresh_ahead = Duration::ZERO;
    // A value from a secret manager is registered with the log redactor here (the local
    // source registers its own).
    let cache = SecretCache::new(source, policy).with_known_secrets(crate::known_secrets().clone());
    let task_cache = cache.clone();
    let mut changes = cache.subscribe(&address);
    tokio::spawn(async move {
        // Decodes and applies a value; false once the state is gone.
        let take_up = |secret: &palisade_secrets::Secret| {
            let applied = std::str::from_utf8(secret.expose_secret())
                .map_err(|_| "not text".to_owned())
                .and_then(|text| decode(name, text).map_err(|e| e.to_string()))
                .map(|value| apply(value.expose_secret()));
            match applied {
                Ok(None) => return false,
                Ok(Some(Ok(id))) => tracing::info!(secret = name, id, "secret value in use"),
                Ok(Some(Err(reason))) | Err(reason) => tracing::warn!(
                    secret = name,
                    reason,
                    "rotated secret refused; the current value stays"
                ),
            }
            true
        };
        // The value may have changed between the start and this first read: take up whatever
        // it gives (the same value is a no-op).
        if let Ok(secret) = task_cache.get(&address).await
            && !take_up(&secret)
        {
            return;
        }
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    // Reads again once the value is older than `every`; a change signals below.
                    if let Err(e) = task_cache.get(&address).await {
                        tracing::warn!(secret = name, kind = ?e.kind(), "secret reload failed; the current value stays");
                    }
                }
                signal = changes.changed() => {
                    if signal.is_err() {
                        return;
                    }
                    if let Ok(secret) = task_cache.get(&address).await
                        && !take_up(&secret)
                    {
                        return;
                    }
                }
            }
        }
    });
    cache
}

/// Watches the JWT key at `address`, rotating `keys` (held weakly) on each change.
pub(crate) fn watch_jwt_key(
    keys: &Arc<JwtKeys>,
    address: Address,
    source: ServiceSource,
    every: Duration,
    decode: Decode,
) -> SecretCache<ServiceSource> {
    let keys: Weak<JwtKeys> = Arc::downgrade(keys);
    watch("jwt_key", address, source, every, decode, move |value| {
        let keys = keys.upgrade()?;
        Some(keys.rotate(value).map_err(|e| e.to_string()))
    })
}

/// Watches the pepper at `address`, rotating `hasher` (held weakly) on each change.
pub(crate) fn watch_pepper(
    hasher: &Arc<PepperedHasher>,
    address: Address,
    source: ServiceSource,
    every: Duration,
    decode: Decode,
) -> SecretCache<ServiceSource> {
    let hasher: Weak<PepperedHasher> = Arc::downgrade(hasher);
    watch("pepper", address, source, every, decode, move |value| {
        let hasher = hasher.upgrade()?;
        Some(hasher.rotate(value).map_err(|e| e.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use std::{os::unix::fs::PermissionsExt as _, path::Path};

    use palisade_password::Password;
    use palisade_token::ErrorKind;

    use super::*;
    use crate::config::decode_secret;

    const KEY_1: &str = "3f1c9a7e5b2d4068a1c3e5f7092b4d6f8a0c2e4f6a8b0d2f4e6a8c0b2d4f6a81";
    const KEY_2: &str = "9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998877665544";

    fn write_secret(path: &Path, hex: &str) {
        // Replaced by a rename, as a secret manager's agent or Kubernetes does.
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, format!("{hex}\n")).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("secure-api-reload-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn bytes(hex: &str) -> Vec<u8> {
        decode_secret("test", hex).unwrap().expose_secret().to_vec()
    }

    fn kid_of_token(token: &str) -> String {
        use base64::Engine as _;
        let header = token.split('.').next().unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    }

    /// Waits (bounded) until `done` holds, yielding to the reload task.
    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the rotation was not taken up");
    }

    /// The pepper id a PHC hash string names (`keyid=`, base64 without padding).
    fn keyid(id: &str) -> String {
        use base64::Engine as _;
        format!(
            "keyid={}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(id)
        )
    }

    /// The JWT keys of `KEY_1`, an old key kept for `retire_after` once rotated away.
    fn keys_of_key_1(retire_after: Duration) -> Arc<JwtKeys> {
        let placeholder = Arc::new(KeySet::single(signing_key(&bytes(KEY_1)).unwrap()));
        Arc::new(
            JwtKeys::new(
                &bytes(KEY_1),
                &Issuer::new(placeholder.clone()).unwrap(),
                &Verifier::new(placeholder),
                retire_after,
            )
            .unwrap(),
        )
    }

    fn token(keys: &JwtKeys, sub: &str) -> String {
        keys.issuer()
            .issue(Claims::new(Map::new()).subject(sub))
            .unwrap()
    }

    #[test]
    fn the_remembering_settings_are_accepted() {
        let keys = Arc::new(KeySet::single(signing_key(&bytes(KEY_1)).unwrap()));
        assert!(remembering(Verifier::new(keys)).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotated_jwt_key_signs_new_tokens_and_the_old_one_verifies_until_retired() {
        let dir = scratch("jwt");
        let file = dir.join("jwt.hex");
        write_secret(&file, KEY_1);
        let keys = keys_of_key_1(Duration::from_millis(400));
        let address = Address::File(file.clone());
        let cache = watch_jwt_key(
            &keys,
            address.clone(),
            ServiceSource::new(palisade_secrets::LocalSource::default()),
            Duration::from_millis(50),
            decode_secret,
        );
        let mut changes = cache.subscribe(&address);
        // The first read (the value at start) before the rotation.
        cache.get(&address).await.unwrap();
        let old = token(&keys, "alice");
        assert_eq!(kid_of_token(&old), kid_of(&bytes(KEY_1)));

        write_secret(&file, KEY_2);
        changes.changed().await.unwrap();
        let new_kid = kid_of(&bytes(KEY_2));
        until(|| kid_of_token(&token(&keys, "probe")) == new_kid).await;

        // New tokens carry the new key; old and new tokens both verify.
        let new = token(&keys, "bob");
        assert_eq!(kid_of_token(&new), new_kid);
        assert!(keys.verifier().verify::<Map<String, Value>>(&old).is_ok());
        assert!(keys.verifier().verify::<Map<String, Value>>(&new).is_ok());

        // Once the old key's tokens can no longer be valid, it is dropped.
        until(|| keys.verifier().verify::<Map<String, Value>>(&old).is_err()).await;
        let e = keys
            .verifier()
            .verify::<Map<String, Value>>(&old)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownKey);
        assert!(keys.verifier().verify::<Map<String, Value>>(&new).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }

    /// With the token state in the database, the bearer layer's verifier answers in `call`,
    /// and with what `verify` answers: a good token, a revoked one, one of a subject signed
    /// out everywhere after it was issued, a forged one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_verifier_answers_at_once_without_redis_as_verify_does() {
        let dir = scratch("verify-now");
        let db = crate::db::Db::open(&dir.join("db.sqlite")).unwrap();
        let store = TokenStore::Left(crate::token_store::SqliteTokenStore::new(db).unwrap());
        let keys = keys_of_key_1(Duration::from_secs(60));
        let list = RevocationList::new(store.clone());
        let verifier = AccessVerifier::new(keys.clone(), RevocationList::new(store));
        let (good, revoked, signed_out) = (
            token(&keys, "alice"),
            token(&keys, "bob"),
            token(&keys, "carol"),
        );
        let claims = keys
            .verifier()
            .verify::<Map<String, Value>>(&revoked)
            .unwrap();
        list.revoke_claims(&claims).await.unwrap();
        // A mark one second ahead refuses every token issued before it.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        list.revoke_subject_before("carol", now + 1).await.unwrap();
        let forged = format!("{}.{}", good.rsplit_once('.').unwrap().0, "A".repeat(43));
        let outcome = |r: Result<Arc<Claims<Map<String, Value>>>, Rejection>| {
            r.map(|c| c.sub.clone()).map_err(|e| format!("{e:?}"))
        };
        for token in [&good, &revoked, &signed_out, &forged] {
            let now = verifier.verify_now(token).expect("decided in call");
            let awaited = verifier.verify(token).await;
            assert_eq!(outcome(now), outcome(awaited), "{token}");
        }
        assert!(verifier.verify_now(&good).unwrap().is_ok());
        for refused in [&revoked, &signed_out, &forged] {
            assert!(verifier.verify_now(refused).unwrap().is_err());
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotated_pepper_hashes_new_passwords_and_old_hashes_still_verify() {
        let dir = scratch("pepper");
        let file = dir.join("pepper.hex");
        write_secret(&file, KEY_1);
        let build = |peppers: Peppers| Hasher::builder().peppers(peppers).build();
        let hasher = Arc::new(
            PepperedHasher::new(&pepper_id_of(&bytes(KEY_1)), &bytes(KEY_1), None, build).unwrap(),
        );
        let address = Address::File(file.clone());
        let cache = watch_pepper(
            &hasher,
            address.clone(),
            ServiceSource::new(palisade_secrets::LocalSource::default()),
            Duration::from_millis(50),
            decode_secret,
        );
        let mut changes = cache.subscribe(&address);
        cache.get(&address).await.unwrap();
        let password = || Password::from("correct horse battery staple");
        let old = hasher.get().hash(&password()).unwrap();
        let old_id = keyid(&pepper_id_of(&bytes(KEY_1)));
        assert!(old.as_str().contains(&old_id), "{}", old.as_str());

        write_secret(&file, KEY_2);
        changes.changed().await.unwrap();
        let new_id = keyid(&pepper_id_of(&bytes(KEY_2)));
        until(|| {
            hasher
                .get()
                .hash(&password())
                .unwrap()
                .as_str()
                .contains(&new_id)
        })
        .await;

        let new = hasher.get().hash(&password()).unwrap();
        assert!(new.as_str().contains(&new_id), "{}", new.as_str());
        // The old hash still verifies, and asks to be rehashed under the new pepper.
        let verified = hasher.get().verify(&password(), old.as_str()).unwrap();
        assert!(verified.needs_rehash());
        let verified = hasher.get().verify(&password(), new.as_str()).unwrap();
        assert!(!verified.needs_rehash());
        assert!(
            hasher
                .get()
                .verify(&Password::from("wrong"), old.as_str())
                .is_err()
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_rotated_value_is_refused_and_the_current_key_stays() {
        let dir = scratch("malformed");
        let file = dir.join("jwt.hex");
        write_secret(&file, KEY_1);
        let keys = keys_of_key_1(Duration::from_secs(60));
        let address = Address::File(file.clone());
        let cache = watch_jwt_key(
            &keys,
            address.clone(),
            ServiceSource::new(palisade_secrets::LocalSource::default()),
            Duration::from_millis(50),
            decode_secret,
        );
        let mut changes = cache.subscribe(&address);
        cache.get(&address).await.unwrap();
        write_secret(&file, "changeme");
        changes.changed().await.unwrap();
        // The refused value leaves the signer as it was.
        write_secret(&file, KEY_2);
        changes.changed().await.unwrap();
        until(|| kid_of_token(&token(&keys, "probe")) == kid_of(&bytes(KEY_2))).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn names_are_stable_and_distinct() {
        assert_eq!(kid_of(&bytes(KEY_1)), kid_of(&bytes(KEY_1)));
        assert_ne!(kid_of(&bytes(KEY_1)), kid_of(&bytes(KEY_2)));
        assert_eq!(kid_of(&bytes(KEY_1)).len(), 8);
        let id = pepper_id_of(&bytes(KEY_1));
        assert!(id.starts_with('p') && id.len() == 8);
        assert!(Pepper::new(&id, SecretBox::new(vec![1u8; 32].into_boxed_slice())).is_ok());
    }
}
