//! Field encryption of the profile's phone number and address with palisade-crypt, and the
//! `rotate-keys` command that adds a key and re-encrypts every row.
//!
//! The keyring file is sealed by a key-encryption key ([`Kek`]): the local master key
//! (`PALISADE_MASTER_KEY`) unless `keyring_kek` names another one as a palisade-secrets
//! [`KekAddress`] (`aws-kms:KEY` with the `aws` feature, `vault-transit:MOUNT/KEY` with
//! `vault`, or a `file:` master key).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::SystemTime,
};

use palisade_crypt::{
    Ciphertext, Context, Crypter, DecryptErrorKind, FileCheckpoint, KekError, KeyEncryptionKey,
    KeyPurpose, Keyring, MasterKey, Padding, Record, RecordSource, RewrapJob, RotationPolicy,
};
use palisade_secrets::KekAddress;
use rusqlite::params;

use crate::{
    config::{Config, Secret},
    db::Db,
};

/// The key-encryption key sealing the keyring file: the local master key, or the one
/// `keyring_kek` names.
pub type Kek = Arc<dyn KeyEncryptionKey>;

/// The encrypted profile columns.
pub(crate) const COLUMNS: [&str; 2] = ["phone", "address"];

/// Why the keyring could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The master key is not 32 bytes.
    #[error("the master key is invalid")]
    MasterKey,
    /// The key-encryption key `keyring_kek` names could not be opened (unknown, unreachable,
    /// refused, or a form this build does not serve). Names the address, never key material.
    #[error("keyring_kek {address}: {message}")]
    Kek {
        /// The address, as configured (it names a key, never holds one).
        address: String,
        /// What went wrong.
        message: String,
    },
    /// The keyring file could not be created, read or written.
    #[error("keyring {path}: {message}")]
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// palisade-crypt's message (never key material).
        message: String,
    },
    /// The database failed during the rewrap job.
    #[error("rewrap job: {0}")]
    Job(String),
}

pub(crate) fn master_key(secret: &Secret) -> Result<MasterKey, CryptoError> {
    MasterKey::from_secret(secret).map_err(|_| CryptoError::MasterKey)
}

/// The name a remote key-encryption key binds the keyring to (AWS KMS's encryption context
/// `palisade:keyring`, Vault Transit's context): the keyring file's name, as
/// `palisade keyring ... --kek` uses by default, so the CLI opens the service's keyring.
fn keyring_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Opens the keyring's key-encryption key: the palisade-secrets [`KekAddress`] in
/// `keyring_kek` when set, else the local master key `master` (`PALISADE_MASTER_KEY`). A
/// remote key is asked about once here (its ARN, for AWS KMS), so a missing key or permission
/// stops the start.
///
/// # Errors
/// [`CryptoError::Kek`] if the key cannot be opened; [`CryptoError::MasterKey`] without
/// `keyring_kek` and without a valid master key.
pub async fn open_kek(config: &Config, master: Option<&Secret>) -> Result<Kek, CryptoError> {
    let Some(text) = config.keyring_kek.as_deref() else {
        let master = master.ok_or(CryptoError::MasterKey)?;
        return Ok(Arc::new(master_key(master)?));
    };
    let failed = |message: String| CryptoError::Kek {
        address: text.to_owned(),
        message,
    };
    let address: KekAddress = text.parse().map_err(|e| CryptoError::Kek {
        // The parse error never repeats the text: neither does this one.
        address: "(malformed)".to_owned(),
        message: format!("{e}"),
    })?;
    let name = keyring_name(&config.keyring);
    match address {
        KekAddress::File(path) => MasterKey::from_file(path)
            .map(|k| Arc::new(k) as Kek)
            .map_err(|e| failed(kek_message(&e))),
        KekAddress::AwsKms { key } => aws_kms(key, name).await.map_err(failed),
        KekAddress::VaultTransit { mount, key } => {
            vault_transit(mount, key, name).await.map_err(failed)
        }
        _ => Err(failed(
            "this key-encryption key form is not served by this build".to_owned(),
        )),
    }
}

fn kek_message(e: &KekError) -> String {
    match e {
        KekError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// An AWS KMS key, with the SDK's usual configuration (credentials, region and endpoint from
/// the environment, the profile or the instance role).
#[cfg(feature = "aws")]
async fn aws_kms(key: String, name: String) -> Result<Kek, String> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // `AwsKmsKek::new` waits for KMS: off the runtime's workers.
    tokio::task::spawn_blocking(move || palisade_secrets::AwsKmsKek::new(&sdk, &key, &name))
        .await
        .map_err(|e| format!("AWS KMS: {e}"))?
        .map(|k| Arc::new(k) as Kek)
        .map_err(|e| format!("AWS KMS: {e}"))
}

#[cfg(not(feature = "aws"))]
#[allow(clippy::unused_async)]
async fn aws_kms(_key: String, _name: String) -> Result<Kek, String> {
    Err("aws-kms: needs secure-api built with the `aws` feature".to_owned())
}

/// A Vault Transit key, with Vault's address and token from `VAULT_ADDR` and `VAULT_TOKEN`.
#[cfg(feature = "vault")]
async fn vault_transit(mount: String, key: String, name: String) -> Result<Kek, String> {
    let config = palisade_secrets::VaultConfig::from_env().map_err(|e| format!("Vault: {e}"))?;
    tokio::task::spawn_blocking(move || {
        palisade_secrets::VaultTransitKek::new(&config, &mount, &key, &name)
    })
    .await
    .map_err(|e| format!("Vault: {e}"))?
    .map(|k| Arc::new(k) as Kek)
    .map_err(|e| format!("Vault: {e}"))
}

#[cfg(not(feature = "vault"))]
#[allow(clippy::unused_async)]
async fn vault_transit(_mount: String, _key: String, _name: String) -> Result<Kek, String> {
    Err("vault-transit: needs secure-api built with the `vault` feature".to_owned())
}

fn keyring_error(path: &Path, e: &impl std::fmt::Display) -> CryptoError {
    CryptoError::Keyring {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Loads the keyring, creating it (one fresh key) on first run.
pub(crate) fn load_or_create(
    path: &Path,
    master: &dyn KeyEncryptionKey,
) -> Result<Keyring, CryptoError> {
    if !path.exists() {
        let mut keyring = Keyring::generate().map_err(|e| keyring_error(path, &e))?;
        keyring
            .save_new(path, master)
            .map_err(|e| keyring_error(path, &e))?;
        tracing::info!(target: "secure_api::crypto", "created a new keyring");
    }
    Keyring::load(path, master).map_err(|e| keyring_error(path, &e))
}

/// The row-bound context of one encrypted column.
pub(crate) fn context(column: &str, row: i64) -> Result<Context, CryptoError> {
    Context::new(&format!("users.{column}"))
        .and_then(|c| c.with("row", row))
        .map_err(|e| CryptoError::Job(e.to_string()))
}

/// The service's crypter, reloaded from the keyring file when a value names a key it does not
/// know yet (another process ran `rotate-keys`).
pub struct FieldCrypto {
    crypter: RwLock<Arc<Crypter>>,
    path: PathBuf,
    master: Kek,
    /// Modification time of the keyring file when it was last loaded.
    loaded: std::sync::Mutex<Option<SystemTime>>,
    /// The keyring the rotation gauges were last computed from, with the file's modification
    /// time then: read again only when the file changed, so a remote key-encryption key is not
    /// asked at every scrape.
    for_gauges: std::sync::Mutex<Option<(Option<SystemTime>, Keyring)>>,
}

impl std::fmt::Debug for FieldCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCrypto")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FieldCrypto {
    /// Opens (or creates) the keyring at `path`, sealed by `master`. Blocking: a remote key
    /// is asked to unwrap the keyring.
    ///
    /// # Errors
    /// [`CryptoError`] if the keyring cannot be read with this key-encryption key.
    pub fn open(path: &Path, master: Kek) -> Result<Self, CryptoError> {
        let keyring = load_or_create(path, master.as_ref())?;
        let crypter =
            Crypter::with_padding(&keyring, Padding::PADME).map_err(|e| keyring_error(path, &e))?;
        Ok(Self {
            crypter: RwLock::new(Arc::new(crypter)),
            path: path.to_owned(),
            master,
            loaded: std::sync::Mutex::new(modified(path)),
            for_gauges: std::sync::Mutex::new(None),
        })
    }

    fn current(&self) -> Arc<Crypter> {
        match self.crypter.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the keyring file if it changed since it was last loaded. The whole check, load
    /// and swap happen under one lock, so a request that finds the file unchanged waits for a
    /// concurrent reload to finish instead of giving up before the new keys are in place.
    fn reload(&self) {
        let Ok(mut loaded) = self.loaded.lock() else {
            return;
        };
        let now = modified(&self.path);
        if *loaded == now {
            return;
        }
        // With a remote key-encryption key this is one call to it, once per rotation.
        let Ok(keyring) = Keyring::load(&self.path, self.master.as_ref()) else {
            return;
        };
        let Ok(crypter) = Crypter::with_padding(&keyring, Padding::PADME) else {
            return;
        };
        if let Ok(mut slot) = self.crypter.write() {
            *slot = Arc::new(crypter);
            *loaded = now;
            tracing::info!(target: "secure_api::crypto", "reloaded the keyring");
        }
    }

    /// Sets palisade-crypt's rotation gauges (`palisade_crypt_keys{state}`,
    /// `palisade_crypt_active_key_age_seconds`, `palisade_crypt_key_rotation_due`,
    /// `palisade_crypt_keys_retire_due`) from the keyring file as it is now, under
    /// `key_rotation_days`: the file, not the loaded crypter, so a rotation made by another
    /// process shows at the next scrape. Blocking (reads and unwraps the file when it changed
    /// since the last scrape); a keyring that cannot be read leaves the gauges as they were and
    /// is logged.
    pub(crate) fn record_rotation_metrics(&self, key_rotation_days: u64) {
        let Ok(policy) = RotationPolicy::days(key_rotation_days, key_rotation_days) else {
            // Zero days: the configuration check refuses it before the service starts.
            return;
        };
        let mut cached = match self.for_gauges.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = modified(&self.path);
        let status = match cached.as_ref() {
            Some((at, keyring)) if *at == now && now.is_some() => policy.status(keyring),
            _ => Keyring::load(&self.path, self.master.as_ref()).and_then(|keyring| {
                let status = policy.status(&keyring);
                *cached = Some((now, keyring));
                status
            }),
        };
        match status {
            Ok(status) => status.record_metrics(),
            Err(e) => tracing::warn!(
                target: "secure_api::crypto",
                error = %e,
                "keyring unreadable; rotation gauges not updated"
            ),
        }
    }

    /// Encrypts `value` for `column` of user `row`, as `pc1:` text.
    pub(crate) fn encrypt(&self, column: &str, row: i64, value: &str) -> Result<String, String> {
        let ctx = context(column, row).map_err(|e| e.to_string())?;
        self.current()
            .encrypt(&ctx, value.as_bytes())
            .map(|c| c.to_text())
            .map_err(|e| e.to_string())
    }

    /// Decrypts a stored value of `column` in user `row`.
    pub(crate) fn decrypt(&self, column: &str, row: i64, stored: &str) -> Result<String, String> {
        let ctx = context(column, row).map_err(|e| e.to_string())?;
        let value: Ciphertext = stored
            .parse()
            .map_err(|_| "stored value is malformed".to_owned())?;
        let attempt = |crypter: &Crypter| crypter.decrypt(&ctx, &value);
        let plain = match attempt(&self.current()) {
            Ok(p) => p,
            Err(e) if e.kind() == DecryptErrorKind::UnknownKey => {
                // A key added by `rotate-keys` since the keyring was loaded: reload (or wait
                // for the reload already under way) and try once more.
                self.reload();
                attempt(&self.current()).map_err(|e| e.kind().to_string())?
            }
            Err(e) => return Err(e.kind().to_string()),
        };
        String::from_utf8(plain.expose_secret().to_vec()).map_err(|_| "not UTF-8".to_owned())
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The users table as a [`RecordSource`]: one record per non-null encrypted column, with
/// ids `<row, 20 digits>:<column>` so byte order is row order.
struct UserColumns<'a> {
    db: &'a Db,
}

fn record_id(row: i64, column: &str) -> String {
    format!("{row:020}:{column}")
}

impl RecordSource for UserColumns<'_> {
    type Error = crate::db::DbError;

    fn scan(&mut self, after: Option<&str>, limit: usize) -> Result<Vec<Record>, Self::Error> {
        let start: i64 = after
            .and_then(|a| a.split_once(':'))
            .and_then(|(row, _)| row.parse().ok())
            .unwrap_or(0);
        let rows = self.db.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, phone, address FROM users WHERE id >= ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(
                    params![
                        start,
                        i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)
                    ],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        let mut out = Vec::new();
        for (row, phone, address) in rows {
            // "address" < "phone": byte order within a row.
            for (column, value) in [("address", address), ("phone", phone)] {
                let id = record_id(row, column);
                if after.is_some_and(|a| id.as_str() <= a) {
                    continue;
                }
                let Some(value) = value else { continue };
                let Ok(ciphertext) = value.parse::<Ciphertext>() else {
                    continue;
                };
                let Ok(context) = context(column, row) else {
                    continue;
                };
                out.push(Record {
                    id,
                    context,
                    ciphertext,
                });
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    fn replace(
        &mut self,
        id: &str,
        expected: &Ciphertext,
        new: &Ciphertext,
    ) -> Result<bool, Self::Error> {
        let Some((row, column)) = id.split_once(':') else {
            return Ok(false);
        };
        let Ok(row) = row.parse::<i64>() else {
            return Ok(false);
        };
        // The column name comes from our own ids; only the two known names reach the SQL.
        let Some(column) = COLUMNS.iter().find(|c| **c == column) else {
            return Ok(false);
        };
        self.db.with(|c| {
            let n = c.execute(
                &format!("UPDATE users SET {column} = ?1 WHERE id = ?2 AND {column} = ?3"),
                params![new.to_text(), row, expected.to_text()],
            )?;
            Ok(n == 1)
        })
    }
}

/// `rotate-keys --if-due`: `None` when a rotation should run (the primary encryption key is
/// `key_rotation_days` old, or a checkpoint says an interrupted rotation waits to be
/// finished), otherwise why not.
///
/// # Errors
/// [`CryptoError`] when the keyring cannot be opened.
pub(crate) fn rotation_due(
    config: &Config,
    master: &dyn KeyEncryptionKey,
) -> Result<Option<String>, CryptoError> {
    let path = &config.keyring;
    if path.with_extension("rewrap-checkpoint").exists() {
        return Ok(None);
    }
    let keyring = load_or_create(path, master)?;
    let policy = RotationPolicy::days(config.key_rotation_days, config.key_rotation_days)
        .map_err(|e| keyring_error(path, &e))?;
    let status = policy
        .status(&keyring)
        .map_err(|e| keyring_error(path, &e))?;
    if status.rotate_due() {
        return Ok(None);
    }
    Ok(Some(format!(
        "primary key {} is {} days old, under {} days",
        status.primary().id,
        status.primary_age().as_secs() / 86_400,
        config.key_rotation_days
    )))
}

/// What `rotate-keys` did.
#[derive(Debug)]
pub struct RotationReport {
    /// The new primary key id.
    pub new_key: String,
    /// Values re-encrypted under it.
    pub rewrapped: u64,
    /// Values already on it (written after the promotion).
    pub already_current: u64,
    /// Values another writer changed while the job ran (they are on the new key or will be
    /// moved by a rerun).
    pub raced: u64,
    /// Values that failed to decrypt (left unchanged).
    pub failed: usize,
    /// Values still on an older key after the pass.
    pub remaining_on_old_keys: u64,
}

/// Adds an encryption key, promotes it (saving the keyring after each step, so readers learn
/// the key before any value uses it), then re-encrypts every row with the resumable job; a
/// checkpoint beside the keyring lets a killed run continue. The keyring is read and saved
/// under `master`, the same key-encryption key the service opens it with.
///
/// # Errors
/// [`CryptoError`] for a keyring or database failure; rerun to resume.
pub fn rotate_keys(
    db: &Db,
    keyring_path: &Path,
    master: &dyn KeyEncryptionKey,
) -> Result<RotationReport, CryptoError> {
    let mut keyring = load_or_create(keyring_path, master)?;
    let checkpoint_path = keyring_path.with_extension("rewrap-checkpoint");
    // A checkpoint left by an interrupted run: finish that rotation instead of adding a key.
    if !checkpoint_path.exists() {
        let new = keyring
            .add_key(KeyPurpose::Encryption)
            .map_err(|e| keyring_error(keyring_path, &e))?;
        keyring
            .save(keyring_path, master)
            .map_err(|e| keyring_error(keyring_path, &e))?;
        keyring
            .promote(new)
            .map_err(|e| keyring_error(keyring_path, &e))?;
        keyring
            .save(keyring_path, master)
            .map_err(|e| keyring_error(keyring_path, &e))?;
    }
    let crypter = Crypter::with_padding(&keyring, Padding::PADME)
        .map_err(|e| keyring_error(keyring_path, &e))?;
    let target = crypter.primary_key_id();
    let mut source = UserColumns { db };
    let mut checkpoints = FileCheckpoint::new(&checkpoint_path);
    let report = RewrapJob::new(&crypter)
        .batch_size(100)
        .run(&mut source, &mut checkpoints)
        .map_err(|e| CryptoError::Job(e.to_string()))?;
    let remaining = report
        .census
        .iter()
        .filter(|(id, _)| *id != target)
        .map(|(_, n)| n)
        .sum();
    Ok(RotationReport {
        new_key: target.to_string(),
        rewrapped: report.totals.rewrapped,
        already_current: report.totals.current,
        raced: report.totals.raced,
        failed: report.failures.len(),
        remaining_on_old_keys: remaining,
    })
}
