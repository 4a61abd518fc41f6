//! `HashiCorp` Vault (feature `vault`): `vault:` addresses read from the KV version 2 engine,
//! and a Transit key as palisade-crypt's key-encryption key, through the `vaultrs` client.

use std::{
    fmt,
    sync::{Arc, mpsc},
    time::Duration,
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use palisade_crypt::{KekError, KeyEncryptionKey};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use vaultrs::{
    api::{
        self,
        kv2::requests::ReadSecretRequest,
        transit::requests::{DecryptDataRequest, EncryptDataRequest},
    },
    client::{VaultClient, VaultClientSettingsBuilder},
    error::ClientError,
};
use zeroize::{Zeroize as _, Zeroizing};

use crate::{
    address::{Address, VaultAddress},
    error::{SecretError, SecretErrorKind},
    secret::{MAX_SECRET_BYTES, Secret, Source},
};

/// Where Vault is and how to reach it: its address, a token, and limits.
///
/// The address must be `https://`, except on a loopback host (`127.0.0.0/8`, `::1`,
/// `localhost`), where `http://` is accepted for a local agent or a test: a token is never sent
/// in clear text over a network (`a_plain_http_address_off_loopback_is_refused`).
#[derive(Clone)]
pub struct VaultConfig {
    address: String,
    token: SecretString,
    namespace: Option<String>,
    ca_certs: Vec<String>,
    timeout: Duration,
    max_bytes: usize,
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("address", &self.address)
            .field("token", &"[REDACTED]")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Why a Vault client could not be set up. Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultConfigError {
    /// An environment variable [`VaultConfig::from_env`] needs is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// The address is not an `https://` URL (or `http://` on a loopback host).
    #[error("the Vault address must be an https:// URL (http:// only on a loopback host)")]
    BadAddress,
    /// A Transit mount or key name outside `[A-Za-z0-9_.-]` segments.
    #[error("a Vault mount or key name needs segments of [A-Za-z0-9_.-]")]
    BadName,
    /// The HTTP client could not be built (a CA file that does not parse, say).
    #[error("the Vault client could not be built")]
    Client,
    /// The runtime thread of [`VaultTransitKek`] could not be started.
    #[error("the Vault Transit runtime could not be started")]
    Runtime,
}

impl VaultConfig {
    /// Vault at `address` (`https://vault.example:8200`) with `token`; a 10 s timeout per
    /// request and [`MAX_SECRET_BYTES`] per value.
    ///
    /// # Errors
    ///
    /// [`VaultConfigError::BadAddress`] for anything but an `https://` URL, or `http://` on a
    /// loopback host.
    pub fn new(address: &str, token: SecretString) -> Result<Self, VaultConfigError> {
        let url = url::Url::parse(address).map_err(|_| VaultConfigError::BadAddress)?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok || url.host().is_none() || !url.username().is_empty() {
            return Err(VaultConfigError::BadAddress);
        }
        Ok(Self {
            address: address.trim_end_matches('/').to_owned(),
            token,
            namespace: None,
            ca_certs: Vec::new(),
            timeout: Duration::from_secs(10),
            max_bytes: MAX_SECRET_BYTES,
        })
    }

    /// From `VAULT_ADDR` and `VAULT_TOKEN`, with `VAULT_NAMESPACE` and `VAULT_CACERT` when set
    /// (the names Vault's own command uses).
    ///
    /// # Errors
    ///
    /// [`VaultConfigError::MissingEnv`] or [`VaultConfigError::BadAddress`].
    pub fn from_env() -> Result<Self, VaultConfigError> {
        let address =
            std::env::var("VAULT_ADDR").map_err(|_| VaultConfigError::MissingEnv("VAULT_ADDR"))?;
        let token = std::env::var("VAULT_TOKEN")
            .map_err(|_| VaultConfigError::MissingEnv("VAULT_TOKEN"))?;
        let mut config = Self::new(&address, SecretString::from(token))?;
        config.namespace = std::env::var("VAULT_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty());
        if let Ok(ca) = std::env::var("VAULT_CACERT")
            && !ca.is_empty()
        {
            config.ca_certs.push(ca);
        }
        Ok(config)
    }

    /// Sends requests to this Vault Enterprise namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Trusts the CA certificates in this PEM file (besides the system's).
    #[must_use]
    pub fn ca_cert(mut self, path: impl Into<String>) -> Self {
        self.ca_certs.push(path.into());
        self
    }

    /// How long one request may take before it fails with [`SecretErrorKind::Timeout`]
    /// (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest value accepted, in bytes (at most [`MAX_SECRET_BYTES`], the default).
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes.min(MAX_SECRET_BYTES);
        self
    }

    fn client(&self) -> Result<VaultClient, VaultConfigError> {
        let mut settings = VaultClientSettingsBuilder::default();
        settings
            .address(&self.address)
            .token(self.token.expose_secret())
            .ca_certs(self.ca_certs.clone())
            // Our own deadline (`tokio::time::timeout`) reports a timeout as such; this one
            // is the backstop for a connection left open.
            .timeout(Some(self.timeout + Duration::from_secs(1)));
        if let Some(namespace) = &self.namespace {
            settings.set_namespace(namespace.clone());
        }
        let settings = settings.build().map_err(|_| VaultConfigError::Client)?;
        VaultClient::new(settings).map_err(|_| VaultConfigError::Client)
    }
}

/// Reads `vault:MOUNT/PATH[?version=N]#FIELD` addresses from Vault's KV version 2 engine
/// (`GET /v1/MOUNT/data/PATH[?version=N]`).
///
/// The value is the field `FIELD` of the secret's data, which must be a string; the
/// [`Secret::version`] is the KV version Vault reports in the secret's metadata. Put a
/// [`SecretCache`](crate::SecretCache) in front of it: Vault is then asked once per time to
/// live, whatever the number of callers, and a Vault outage is absorbed for the cache's
/// stale-if-error bound.
///
/// | Vault answers | [`SecretErrorKind`] |
/// |---|---|
/// | 200, the field a string | the value |
/// | 200, the field missing or not a string, or a body that does not parse | `Malformed` |
/// | 200, the version deleted or destroyed | `NotFound` |
/// | 404 (no such secret or version, or the version deleted) | `NotFound` |
/// | 401, 403 | `Denied` |
/// | no answer within the timeout | `Timeout` |
/// | anything else, or unreachable | `Unavailable` |
///
/// Addresses of other forms are [`SecretErrorKind::Unsupported`]. Must be called inside a
/// tokio runtime (the client is reqwest's).
///
/// ```no_run
/// use palisade_secrets::{CachePolicy, SecretCache, VaultConfig, VaultSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let vault = VaultSource::new(&VaultConfig::from_env()?)?;
/// let secrets = SecretCache::new(vault, CachePolicy::default());
/// let password = secrets.get(&"vault:secret/app/db#password".parse()?).await?;
/// println!("database password: {} bytes, KV version {:?}", password.len(), password.version());
/// # Ok(())
/// # }
/// ```
pub struct VaultSource {
    client: Arc<VaultClient>,
    timeout: Duration,
    max_bytes: usize,
}

impl fmt::Debug for VaultSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSource")
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl VaultSource {
    /// A source reading from the Vault `config` names.
    ///
    /// # Errors
    ///
    /// [`VaultConfigError::Client`] if the HTTP client cannot be built.
    pub fn new(config: &VaultConfig) -> Result<Self, VaultConfigError> {
        Ok(Self {
            client: Arc::new(config.client()?),
            timeout: config.timeout,
            max_bytes: config.max_bytes,
        })
    }

    async fn read(&self, address: &VaultAddress) -> Result<Secret, SecretErrorKind> {
        let mut request = ReadSecretRequest::builder();
        request.mount(address.mount()).path(address.path());
        if let Some(version) = address.version() {
            request.version(Some(version));
        }
        let request = request.build().map_err(|_| SecretErrorKind::Malformed)?;
        let response = tokio::time::timeout(
            self.timeout,
            api::exec_with_result(self.client.as_ref(), request),
        )
        .await
        .map_err(|_| SecretErrorKind::Timeout)?
        .map_err(|e| client_error_kind(&e))?;
        let metadata = response.metadata;
        let mut data = response.data;
        let value = take_field(&mut data, address.field());
        wipe_json(&mut data);
        // A deleted version answers 200 on some Vault versions, with no data and its
        // deletion time set; a destroyed one likewise.
        if metadata.destroyed || !metadata.deletion_time.is_empty() {
            return Err(SecretErrorKind::NotFound);
        }
        let value = value?;
        if value.len() > self.max_bytes {
            return Err(SecretErrorKind::TooLarge);
        }
        if value.is_empty() {
            return Err(SecretErrorKind::Empty);
        }
        Ok(Secret::new(
            value.into_bytes(),
            Some(metadata.version.to_string()),
        ))
    }
}

/// Takes the string member `field` out of a KV secret's `data` (moved, not copied).
fn take_field(data: &mut serde_json::Value, field: &str) -> Result<String, SecretErrorKind> {
    let serde_json::Value::Object(map) = data else {
        // `"data": null`: a deleted version on some Vault versions.
        return Err(if data.is_null() {
            SecretErrorKind::NotFound
        } else {
            SecretErrorKind::Malformed
        });
    };
    match map.remove(field) {
        Some(serde_json::Value::String(value)) => Ok(value),
        Some(mut other) => {
            wipe_json(&mut other);
            Err(SecretErrorKind::Malformed)
        }
        None => Err(SecretErrorKind::Malformed),
    }
}

/// Overwrites every string in `value` (the other fields of a secret), so they do not stay
/// in freed memory.
fn wipe_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(wipe_json),
        _ => {}
    }
}

/// The HTTP status of an error answer: with Vault's `{"errors": [...]}` body, or without it
/// (a deleted KV version is a 404 whose body holds its metadata).
fn error_status(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::APIError { code, .. }
        | ClientError::RestClientError {
            source: rustify_errors::ClientError::ServerResponseError { code, .. },
        } => Some(*code),
        _ => None,
    }
}

/// Whether `e` is an answer that is not of the documented shape.
fn is_malformed(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::ResponseDataEmptyError
            | ClientError::ResponseEmptyError
            | ClientError::RestClientError {
                source: rustify_errors::ClientError::ResponseParseError { .. }
                    | rustify_errors::ClientError::ResponseConversionError { .. },
            }
    )
}

/// The [`SecretErrorKind`] of a client error; never its text (which may quote the server).
fn client_error_kind(e: &ClientError) -> SecretErrorKind {
    match error_status(e) {
        Some(404) => SecretErrorKind::NotFound,
        Some(401 | 403) => SecretErrorKind::Denied,
        None if is_malformed(e) => SecretErrorKind::Malformed,
        Some(_) | None => SecretErrorKind::Unavailable,
    }
}

mod rustify_errors {
    pub(super) use rustify::errors::ClientError;
}

impl Source for VaultSource {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        let Address::Vault(vault) = address else {
            return Err(SecretError::new(address, SecretErrorKind::Unsupported));
        };
        self.read(vault)
            .await
            .map_err(|kind| SecretError::new(address, kind))
    }
}

/// A Vault Transit key as palisade-crypt's [`KeyEncryptionKey`]: a keyring file sealed by
/// `POST /v1/MOUNT/encrypt/KEY` and opened by `POST /v1/MOUNT/decrypt/KEY`, so the keyring's
/// keys never exist unwrapped outside the service's memory and Vault.
///
/// **Bound to the keyring.** Every call sends palisade-crypt's associated data (the keyring
/// file's header: format, key check and generation) together with the keyring's name given
/// here as Transit's `associated_data`; Vault refuses to decrypt under any other, so a
/// keyring's sealed bytes cannot be opened as another keyring's or at another generation
/// (`a_keyring_sealed_for_one_name_does_not_open_under_another`). This needs an AEAD key type
/// (`aes256-gcm96`, Transit's default, `aes128-gcm96` or `chacha20-poly1305`) and Vault 1.13
/// or later.
///
/// **Synchronous, without blocking an async runtime.** The trait is synchronous; requests run
/// on a runtime thread of this key's own, and the caller waits for the answer. Called on a
/// multi-thread tokio runtime's worker, the wait is wrapped in `block_in_place` so the
/// worker's other tasks move elsewhere; called on a current-thread runtime, where waiting
/// would stall the runtime's only thread, it fails with [`KekError::Service`] instead
/// (call it from `spawn_blocking` there)
/// (`called_on_a_current_thread_runtime_it_refuses_instead_of_blocking`).
///
/// ```no_run
/// use palisade_crypt::Keyring;
/// use palisade_secrets::{VaultConfig, VaultTransitKek};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let kek = VaultTransitKek::new(&VaultConfig::from_env()?, "transit", "palisade", "orders")?;
/// let keyring = Keyring::load("/var/lib/orders/keyring", &kek)?;
/// # let _ = keyring;
/// # Ok(())
/// # }
/// ```
pub struct VaultTransitKek {
    mount: String,
    key: String,
    keyring: String,
    timeout: Duration,
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl fmt::Debug for VaultTransitKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultTransitKek")
            .field("mount", &self.mount)
            .field("key", &self.key)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

enum Operation {
    Encrypt {
        plaintext: Zeroizing<String>,
        associated_data: String,
    },
    Decrypt {
        ciphertext: String,
        associated_data: String,
    },
}

type Reply = Result<Zeroizing<String>, KekError>;

struct Job {
    operation: Operation,
    reply: mpsc::SyncSender<Reply>,
}

/// Label hashed with the mount and key name into the key check.
const KEY_CHECK_LABEL: &[u8] = b"palisade-secrets vault transit kek v1";
/// Label put before the keyring's name and palisade-crypt's associated data.
const BINDING_LABEL: &[u8] = b"palisade-crypt keyring v1";

fn check_names(path: &str) -> Result<(), VaultConfigError> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    if path.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(VaultConfigError::BadName)
    }
}

impl VaultTransitKek {
    /// The Transit key `key` at `mount` of the Vault `config` names, sealing the keyring
    /// named `keyring` (its name binds the sealed bytes; use the same name to open them).
    ///
    /// # Errors
    ///
    /// [`VaultConfigError::BadName`] for a mount or key outside `[A-Za-z0-9_.-]` segments or
    /// an empty keyring name; [`VaultConfigError::Client`] or
    /// [`VaultConfigError::Runtime`] if the client or its thread cannot be set up.
    pub fn new(
        config: &VaultConfig,
        mount: &str,
        key: &str,
        keyring: &str,
    ) -> Result<Self, VaultConfigError> {
        check_names(mount)?;
        check_names(key)?;
        if key.contains('/') || keyring.is_empty() || keyring.len() > 256 {
            return Err(VaultConfigError::BadName);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|_| VaultConfigError::Runtime)?;
        let client = {
            let _entered = runtime.enter();
            Arc::new(config.client()?)
        };
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (mount_owned, key_owned) = (mount.to_owned(), key.to_owned());
        std::thread::Builder::new()
            .name("palisade-vault-transit".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Ends when the key (the only sender) is dropped.
                    while let Some(job) = queue.recv().await {
                        let (client, mount, key) =
                            (client.clone(), mount_owned.clone(), key_owned.clone());
                        tokio::spawn(async move {
                            let answer = transit(&client, &mount, &key, job.operation).await;
                            // The caller may have given up waiting; nothing to do then.
                            let _ = job.reply.send(answer);
                        });
                    }
                });
            })
            .map_err(|_| VaultConfigError::Runtime)?;
        Ok(Self {
            mount: mount.to_owned(),
            key: key.to_owned(),
            keyring: keyring.to_owned(),
            timeout: config.timeout,
            jobs,
        })
    }

    /// Transit's `associated_data`: a label, the keyring's name and palisade-crypt's
    /// associated data, each length-prefixed, in base64.
    fn associated_data(&self, aad: &[u8]) -> String {
        let mut bound =
            Vec::with_capacity(BINDING_LABEL.len() + self.keyring.len() + aad.len() + 8);
        for part in [BINDING_LABEL, self.keyring.as_bytes(), aad] {
            // Lengths are bounded (a label, a name of at most 256 bytes, a file header).
            bound.extend_from_slice(&(part.len() as u32).to_be_bytes());
            bound.extend_from_slice(part);
        }
        STANDARD.encode(bound)
    }

    /// Runs `operation` on the key's runtime thread and waits for its answer without
    /// blocking a caller's async runtime worker.
    fn run(&self, operation: Operation) -> Reply {
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        if matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::CurrentThread)) {
            return Err(KekError::Service(
                "Vault Transit called on a current-thread async runtime; call it from \
                 spawn_blocking"
                    .to_owned(),
            ));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(Job { operation, reply })
            .map_err(|_| KekError::Service("the Vault Transit thread has stopped".to_owned()))?;
        let limit = self.timeout;
        let wait = move || answer.recv_timeout(limit);
        let answer = if flavor.is_ok() {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        };
        answer.map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => {
                KekError::Service("Vault Transit did not answer in time".to_owned())
            }
            mpsc::RecvTimeoutError::Disconnected => {
                KekError::Service("the Vault Transit thread has stopped".to_owned())
            }
        })?
    }
}

/// One Transit request; the answer's `ciphertext` or (base64) `plaintext`.
async fn transit(client: &VaultClient, mount: &str, key: &str, operation: Operation) -> Reply {
    let service = |what: &str| KekError::Service(format!("Vault Transit: {what}"));
    let map_err = |e: ClientError, decrypting: bool| match error_status(&e) {
        // A wrong associated data, or an altered ciphertext: "cipher: message authentication
        // failed" or "invalid ciphertext", both 400.
        Some(400) if decrypting => KekError::Unwrap,
        Some(401 | 403) => service("access denied"),
        Some(404) => service("no such key or mount"),
        Some(code) => service(&format!("error status {code}")),
        None if is_malformed(&e) => service("malformed response"),
        None => service("unavailable"),
    };
    match operation {
        Operation::Encrypt {
            plaintext,
            associated_data,
        } => {
            let request = EncryptDataRequest::builder()
                .mount(mount)
                .name(key)
                .plaintext(plaintext.as_str())
                .associated_data(associated_data)
                .build()
                .map_err(|_| service("request"))?;
            let answer = api::exec_with_result(client, request)
                .await
                .map_err(|e| map_err(e, false))?;
            if !answer.ciphertext.starts_with("vault:v") {
                return Err(service("malformed response"));
            }
            Ok(Zeroizing::new(answer.ciphertext))
        }
        Operation::Decrypt {
            ciphertext,
            associated_data,
        } => {
            let request = DecryptDataRequest::builder()
                .mount(mount)
                .name(key)
                .ciphertext(ciphertext)
                .associated_data(associated_data)
                .build()
                .map_err(|_| service("request"))?;
            let answer = api::exec_with_result(client, request)
                .await
                .map_err(|e| map_err(e, true))?;
            Ok(Zeroizing::new(answer.plaintext))
        }
    }
}

impl KeyEncryptionKey for VaultTransitKek {
    /// A hash of the mount and key name: public, and the same for every version of the key
    /// (Transit keeps old versions to decrypt with), so a rotated Transit key still opens
    /// the keyrings it sealed.
    fn key_check(&self) -> [u8; 16] {
        let mut hash = Sha256::new();
        for part in [KEY_CHECK_LABEL, self.mount.as_bytes(), self.key.as_bytes()] {
            hash.update((part.len() as u32).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut out = [0; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    fn wrap(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let ciphertext = self.run(Operation::Encrypt {
            plaintext: Zeroizing::new(STANDARD.encode(plaintext)),
            associated_data: self.associated_data(aad),
        })?;
        Ok(ciphertext.as_bytes().to_vec())
    }

    fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KekError> {
        let ciphertext = std::str::from_utf8(wrapped).map_err(|_| KekError::Unwrap)?;
        if !ciphertext.starts_with("vault:v") || ciphertext.len() > 4 * MAX_SECRET_BYTES {
            return Err(KekError::Unwrap);
        }
        let plaintext = self.run(Operation::Decrypt {
            ciphertext: ciphertext.to_owned(),
            associated_data: self.associated_data(aad),
        })?;
        let bytes = STANDARD
            .decode(plaintext.as_bytes())
            .map_err(|_| KekError::Service("Vault Transit: malformed response".to_owned()))?;
        Ok(Zeroizing::new(bytes))
    }
}
