//! Configuration from a TOML file and `PALISADE_*` environment variables, and the secrets.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use palisade_secrets::{Address, KekAddress, LocalSource};
use secrecy::{ExposeSecret as _, SecretBox};
use serde::Deserialize;

use crate::sources::ServiceSource;

/// What can go wrong while reading the configuration or the secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for this service.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An environment variable or setting has an invalid value.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A secret is missing: give it in the environment or in a file.
    #[error(
        "secret {name} is missing: set {env} or {env}_FILE (or `{file_key}` in the configuration \
         file); use --dev for throwaway secrets on a development machine"
    )]
    MissingSecret {
        /// The secret.
        name: &'static str,
        /// Its environment variable.
        env: &'static str,
        /// Its key in the configuration file's `[secrets]` table.
        file_key: &'static str,
    },
    /// A secret is too short, or is a well-known default such as the README's example.
    #[error("secret {name} is unusable: {reason}")]
    WeakSecret {
        /// The secret.
        name: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A secret's address is malformed (`PALISADE_<NAME>=scheme:...`). The value is not
    /// repeated: it may be the secret itself, pasted by mistake.
    #[error("secret {name}: {reason}")]
    SecretAddress {
        /// The secret.
        name: &'static str,
        /// What is wrong with the address.
        reason: palisade_secrets::AddressError,
    },
    /// A secret could not be loaded from its file or address: missing, unreadable, not a
    /// regular file, readable by group or others, too large or empty.
    #[error("secret {name}: {source}")]
    SecretSource {
        /// The secret.
        name: &'static str,
        /// The address and what went wrong (never the value).
        source: palisade_secrets::SecretError,
    },
    /// A command-line argument is wrong.
    #[error("{0}")]
    Usage(String),
}

/// The service's settings. Every field has a default; the file and then the environment
/// override them.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The `SQLite` database file, created on first run.
    pub database: PathBuf,
    /// Directory of the audit log. It holds what appending needs (the current epoch's MAC key
    /// and the log), never what verifying needs.
    pub audit_dir: PathBuf,
    /// Where to write the audit log's verifier bundle (its epoch-0 MAC key and checkpoint
    /// public key) when the log is created on first start: a new file, never overwritten, that
    /// the operator moves off this machine. Unset, a missing log stops the start; create one
    /// with `secure-api audit-init --verifier-out FILE`.
    pub audit_verifier_out: Option<PathBuf>,
    /// The audit log's epoch in seconds (default 900): how often its MAC key moves forward and
    /// the records so far are sealed. Used when the log is created.
    pub audit_epoch_secs: u64,
    /// The admin listener, serving `GET /metrics` (loopback by default: keep it off the
    /// public network).
    pub admin_listen: SocketAddr,
    /// The keyring file for field encryption, created on first run.
    pub keyring: PathBuf,
    /// The key-encryption key sealing the keyring (`PALISADE_KEYRING_KEK`), as a
    /// palisade-secrets key address: `aws-kms:KEY` (a key id, alias or ARN; feature `aws`),
    /// `vault-transit:MOUNT/KEY` (feature `vault`) or `file:/path` (a master key file, base64
    /// of 32 bytes). A remote key binds the keyring's file name (`palisade:keyring` in KMS's
    /// encryption context). Unset, the local master key (`PALISADE_MASTER_KEY`) seals it.
    pub keyring_kek: Option<String>,
    /// Redis URL: rate limits, token revocation, refresh families and one-time tokens move
    /// there, shared by every instance. A URL with a password belongs in
    /// [`redis_url_file`](Self::redis_url_file) or `PALISADE_REDIS_URL`, not on a command line.
    pub redis_url: Option<String>,
    /// A file holding the Redis URL (first line; `PALISADE_REDIS_URL_FILE`, `--redis-url-file`),
    /// so a password in it appears in no process list or configuration file.
    pub redis_url_file: Option<PathBuf>,
    /// The public host (`api.example.com`, with `:port` if not 443): plain-HTTP requests are
    /// redirected to HTTPS there. Off when unset (behind a proxy that redirects itself, or in
    /// development over plain HTTP).
    pub https_redirect_host: Option<String>,
    /// The certificate chain for HTTPS, in PEM (`--tls-cert`, `PALISADE_TLS_CERT`): a file path
    /// or a palisade-secrets address (`env:NAME`, `file:/path`, `systemd:NAME`). With
    /// [`tls_key`](Self::tls_key), the service listens with TLS only (see `src/tls.rs`).
    pub tls_cert: Option<String>,
    /// The certificate's private key, in PEM (`--tls-key`, `PALISADE_TLS_KEY`): a path or an
    /// address like `tls_cert`. A file must be private to its owner (mode `0600`).
    pub tls_key: Option<String>,
    /// Seconds between two reads of the certificate and key files, which are served without
    /// a restart when they change (default 60).
    pub tls_reload_secs: u64,
    /// A plain-HTTP listener that only answers `308` to `https://` on `https_redirect_host`
    /// (`PALISADE_HTTP_REDIRECT_LISTEN`). Needs TLS and `https_redirect_host`.
    pub http_redirect_listen: Option<SocketAddr>,
    /// Origins allowed by CORS and by the CSRF origin check (`scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// JWT issuer and audience.
    pub issuer: String,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: u64,
    /// How often `jwt_key` and `pepper`, when given as an address or a file, are read again
    /// to take up a rotated value without a restart; 1 to 86400 seconds.
    pub secrets_refresh_secs: u64,
    /// Password-reset token lifetime in seconds.
    pub reset_ttl_secs: u64,
    /// Seconds after a rotation during which the previous refresh token still refreshes (two
    /// tabs refreshing at once); 0 to 60.
    pub refresh_grace_secs: u64,
    /// Requests per client address per window.
    pub rate_limit: u32,
    /// Requests per authenticated user per window (counted after the bearer token is verified,
    /// so one account cannot use many addresses to exceed it).
    pub rate_limit_per_user: u32,
    /// The rate-limit window in seconds.
    pub rate_window_secs: u64,
    /// Failed logins for one account from one client address before that address is locked
    /// out of the account (other addresses only see a delay of a few seconds).
    pub login_max_failures: u32,
    /// How long such a lockout lasts, in seconds.
    pub login_lockout_secs: u64,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Networks of reverse proxies whose `X-Forwarded-For` is believed (`10.0.0.0/8`,
    /// `192.0.2.7`).
    pub trusted_proxies: Vec<String>,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection is kept waiting for its next request.
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body, from the end of its headers.
    pub body_read_timeout_secs: u64,
    /// Seconds a request may take in all before it is answered 408.
    pub request_timeout_secs: u64,
    /// Requests handled at once; more are answered 503 at once, not queued.
    pub max_concurrent_requests: usize,
    /// Connections open at once, from every client together; more are closed as soon as they
    /// are accepted.
    pub max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /56) may hold open at once; more are
    /// closed as soon as they are accepted. Trusted proxies count only toward
    /// `max_connections`.
    pub max_connections_per_client: usize,
    /// Seconds in-flight requests are given to finish after SIGTERM or Ctrl-C.
    pub shutdown_grace_secs: u64,
    /// MiB of memory the password hasher may hold at once (each check takes about 19 MiB);
    /// a check that does not fit within `hash_wait_ms` is answered 503.
    pub hash_memory_mib: u64,
    /// Milliseconds a password check waits for memory before it is answered 503.
    pub hash_wait_ms: u64,
    /// Days the primary field-encryption key may be used before `rotate-keys --if-due`
    /// rotates it.
    pub key_rotation_days: u64,
    /// The id stored with hashes made under the current pepper (`PEPPER`; default `p1`).
    pub pepper_id: String,
    /// The id of the retired pepper (`PREVIOUS_PEPPER`), which hashes made under it carry:
    /// they still verify and are rehashed under the current pepper at the next login. Needed
    /// when a previous pepper is given.
    pub previous_pepper_id: Option<String>,
    /// Where secrets come from when not in the environment.
    pub secrets: SecretFiles,
}

/// Files holding the secrets (`[secrets]` in the configuration file). Each may instead be
/// given as `PALISADE_<NAME>` or `PALISADE_<NAME>_FILE` in the environment.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretFiles {
    /// HMAC key signing access tokens.
    pub jwt_key_file: Option<PathBuf>,
    /// Key hashing refresh, reset and CSRF tokens at rest.
    pub token_key_file: Option<PathBuf>,
    /// Master key sealing the field-encryption keyring.
    pub master_key_file: Option<PathBuf>,
    /// Ed25519 seed signing audit checkpoints.
    pub audit_signing_key_file: Option<PathBuf>,
    /// Password pepper.
    pub pepper_file: Option<PathBuf>,
    /// The retired password pepper, while hashes made under it are rehashed (optional).
    pub previous_pepper_file: Option<PathBuf>,
    /// Key signing CSRF tokens.
    pub csrf_key_file: Option<PathBuf>,
    /// Key signing device cookies (a browser that logged in to an account before).
    pub device_key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("secure-api.db"),
            audit_dir: PathBuf::from("secure-api-audit"),
            audit_verifier_out: None,
            audit_epoch_secs: 900,
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            keyring: PathBuf::from("secure-api.keyring"),
            keyring_kek: None,
            redis_url: None,
            redis_url_file: None,
            https_redirect_host: None,
            tls_cert: None,
            tls_key: None,
            tls_reload_secs: 60,
            http_redirect_listen: None,
            allowed_origins: vec!["http://localhost:3000".to_owned()],
            issuer: "secure-api".to_owned(),
            access_ttl_secs: 900,
            secrets_refresh_secs: 60,
            reset_ttl_secs: 900,
            refresh_grace_secs: 10,
            rate_limit: 120,
            rate_limit_per_user: 300,
            rate_window_secs: 60,
            login_max_failures: 5,
            login_lockout_secs: 300,
            max_body_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 15,
            request_timeout_secs: 30,
            max_concurrent_requests: 512,
            max_connections: 10_000,
            max_connections_per_client: 64,
            shutdown_grace_secs: 20,
            hash_memory_mib: 512,
            hash_wait_ms: 2000,
            key_rotation_days: 90,
            pepper_id: "p1".to_owned(),
            previous_pepper_id: None,
            secrets: SecretFiles::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Redis URL may carry a password.
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("audit_dir", &self.audit_dir)
            .field("audit_verifier_out", &self.audit_verifier_out)
            .field("admin_listen", &self.admin_listen)
            .field("keyring", &self.keyring)
            .field("keyring_kek", &self.keyring_kek)
            .field("redis", &self.redis_url.as_ref().map(|_| "[configured]"))
            .field("allowed_origins", &self.allowed_origins)
            .field("tls_cert", &self.tls_cert.as_ref().map(|_| "[configured]"))
            // An address, unless the key itself was pasted here by mistake.
            .field("tls_key", &self.tls_key.as_ref().map(|_| "[configured]"))
            .field("http_redirect_listen", &self.http_redirect_listen)
            .finish_non_exhaustive()
    }
}

/// The Redis URL in the first line of `path`. An error names the file, never its content.
///
/// # Errors
/// [`ConfigError::Invalid`] if the file cannot be read or is empty.
pub(crate) fn read_redis_url(path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        name: "redis_url_file",
        reason: format!("{}: {}", path.display(), e.kind()),
    })?;
    let url = text.lines().next().unwrap_or_default().trim();
    if url.is_empty() {
        return Err(ConfigError::Invalid {
            name: "redis_url_file",
            reason: format!("{} is empty", path.display()),
        });
    }
    Ok(url.to_owned())
}

/// Reads `PALISADE_<NAME>` from `env`.
fn var<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn parse_env<T: std::str::FromStr>(
    env: &BTreeMap<String, String>,
    name: &'static str,
    target: &mut T,
) -> Result<(), ConfigError>
where
    T::Err: fmt::Display,
{
    if let Some(value) = var(env, name) {
        *target = value.parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

impl Config {
    /// Reads `file` (if any), then applies the environment.
    ///
    /// # Errors
    /// [`ConfigError`] for an unreadable or invalid file or variable.
    pub fn load(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?
            }
            None => Self::default(),
        };
        parse_env(env, "PALISADE_LISTEN", &mut config.listen)?;
        parse_env(env, "PALISADE_DATABASE", &mut config.database)?;
        parse_env(env, "PALISADE_AUDIT_DIR", &mut config.audit_dir)?;
        parse_env(env, "PALISADE_KEYRING", &mut config.keyring)?;
        if let Some(kek) = var(env, "PALISADE_KEYRING_KEK") {
            config.keyring_kek = Some(kek.to_owned());
        }
        parse_env(
            env,
            "PALISADE_AUDIT_EPOCH_SECS",
            &mut config.audit_epoch_secs,
        )?;
        parse_env(env, "PALISADE_ADMIN_LISTEN", &mut config.admin_listen)?;
        if let Some(path) = var(env, "PALISADE_AUDIT_VERIFIER_OUT") {
            config.audit_verifier_out = Some(PathBuf::from(path));
        }
        config.limits_from_env(env)?;
        if let Some(host) = var(env, "PALISADE_HTTPS_REDIRECT_HOST") {
            config.https_redirect_host = Some(host.to_owned());
        }
        if let Some(cert) = var(env, "PALISADE_TLS_CERT") {
            config.tls_cert = Some(cert.to_owned());
        }
        if let Some(key) = var(env, "PALISADE_TLS_KEY") {
            config.tls_key = Some(key.to_owned());
        }
        parse_env(env, "PALISADE_TLS_RELOAD_SECS", &mut config.tls_reload_secs)?;
        if var(env, "PALISADE_HTTP_REDIRECT_LISTEN").is_some() {
            let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
            parse_env(env, "PALISADE_HTTP_REDIRECT_LISTEN", &mut listen)?;
            config.http_redirect_listen = Some(listen);
        }
        if let Some(url) = var(env, "PALISADE_REDIS_URL") {
            config.redis_url = Some(url.to_owned());
        }
        if let Some(path) = var(env, "PALISADE_REDIS_URL_FILE") {
            config.redis_url_file = Some(PathBuf::from(path));
        }
        if let Some(path) = config.redis_url_file.clone() {
            config.redis_url = Some(read_redis_url(&path)?);
        }
        if let Some(proxies) = var(env, "PALISADE_TRUSTED_PROXIES") {
            config.trusted_proxies = proxies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(origins) = var(env, "PALISADE_ALLOWED_ORIGINS") {
            config.allowed_origins = origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        config.validate()?;
        Ok(config)
    }

    /// Whether the service listens with TLS (a certificate and a key are configured).
    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }

    /// The numeric limits and timeouts from `PALISADE_*`.
    fn limits_from_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        parse_env(env, "PALISADE_RATE_LIMIT", &mut self.rate_limit)?;
        parse_env(
            env,
            "PALISADE_RATE_LIMIT_PER_USER",
            &mut self.rate_limit_per_user,
        )?;
        parse_env(env, "PALISADE_RATE_WINDOW_SECS", &mut self.rate_window_secs)?;
        parse_env(
            env,
            "PALISADE_LOGIN_MAX_FAILURES",
            &mut self.login_max_failures,
        )?;
        parse_env(
            env,
            "PALISADE_LOGIN_LOCKOUT_SECS",
            &mut self.login_lockout_secs,
        )?;
        parse_env(env, "PALISADE_ACCESS_TTL_SECS", &mut self.access_ttl_secs)?;
        parse_env(
            env,
            "PALISADE_SECRETS_REFRESH_SECS",
            &mut self.secrets_refresh_secs,
        )?;
        parse_env(
            env,
            "PALISADE_REFRESH_GRACE_SECS",
            &mut self.refresh_grace_secs,
        )?;
        parse_env(
            env,
            "PALISADE_HEADER_READ_TIMEOUT_SECS",
            &mut self.header_read_timeout_secs,
        )?;
        parse_env(
            env,
            "PALISADE_BODY_READ_TIMEOUT_SECS",
            &mut self.body_read_timeout_secs,
        )?;
        parse_env(
            env,
            "PALISADE_REQUEST_TIMEOUT_SECS",
            &mut self.request_timeout_secs,
        )?;
        parse_env(
            env,
            "PALISADE_MAX_CONCURRENT_REQUESTS",
            &mut self.max_concurrent_requests,
        )?;
        parse_env(env, "PALISADE_MAX_CONNECTIONS", &mut self.max_connections)?;
        parse_env(
            env,
            "PALISADE_MAX_CONNECTIONS_PER_CLIENT",
            &mut self.max_connections_per_client,
        )?;
        parse_env(
            env,
            "PALISADE_SHUTDOWN_GRACE_SECS",
            &mut self.shutdown_grace_secs,
        )?;
        parse_env(env, "PALISADE_HASH_MEMORY_MIB", &mut self.hash_memory_mib)?;
        parse_env(env, "PALISADE_HASH_WAIT_MS", &mut self.hash_wait_ms)?;
        parse_env(
            env,
            "PALISADE_KEY_ROTATION_DAYS",
            &mut self.key_rotation_days,
        )?;
        parse_env(env, "PALISADE_PEPPER_ID", &mut self.pepper_id)?;
        if let Some(id) = var(env, "PALISADE_PREVIOUS_PEPPER_ID") {
            self.previous_pepper_id = Some(id.to_owned());
        }
        Ok(())
    }

    /// The validated `https_redirect_host`: a bare host (and port), nothing else.
    pub(crate) fn redirect_authority(&self) -> Option<axum::http::uri::Authority> {
        let host = self.https_redirect_host.as_deref()?;
        let authority: axum::http::uri::Authority = host.parse().ok()?;
        (authority.as_str() == host && !host.contains('@') && !host.is_empty()).then_some(authority)
    }

    /// The TLS settings: a certificate and a key together, a sane reload interval, and the
    /// redirect listener only beside TLS, with a host to redirect to.
    pub(crate) fn validate_tls(&self) -> Result<(), ConfigError> {
        let bad = |name, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.to_owned(),
            })
        };
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return bad(
                "tls_cert",
                "tls_cert and tls_key are given together or not at all",
            );
        }
        if self.tls_reload_secs == 0 || self.tls_reload_secs > 86_400 {
            return bad("tls_reload_secs", "must be 1..=86400");
        }
        if self.http_redirect_listen.is_some() {
            if !self.tls_enabled() {
                return bad(
                    "http_redirect_listen",
                    "redirects to HTTPS, so it needs tls_cert and tls_key",
                );
            }
            if self.https_redirect_host.is_none() {
                return bad(
                    "http_redirect_listen",
                    "needs https_redirect_host: the redirect never goes to the client's Host",
                );
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |name, reason: &str| {
            Err(ConfigError::Invalid {
                name,
                reason: reason.to_owned(),
            })
        };
        if let Some(kek) = &self.keyring_kek {
            // The parse error never repeats the text.
            kek.parse::<KekAddress>()
                .map_err(|e| ConfigError::Invalid {
                    name: "keyring_kek",
                    reason: e.to_string(),
                })?;
        }
        if self.https_redirect_host.is_some() && self.redirect_authority().is_none() {
            return bad(
                "https_redirect_host",
                "must be a host name, with :port if not 443",
            );
        }
        self.validate_tls()?;
        if self.access_ttl_secs == 0 || self.access_ttl_secs > 24 * 3600 {
            return bad("access_ttl_secs", "must be 1..=86400");
        }
        if self.secrets_refresh_secs == 0 || self.secrets_refresh_secs > 24 * 3600 {
            return bad("secrets_refresh_secs", "must be 1..=86400");
        }
        if self.reset_ttl_secs == 0 || self.reset_ttl_secs > 24 * 3600 {
            return bad("reset_ttl_secs", "must be 1..=86400");
        }
        if self.refresh_grace_secs > 60 {
            return bad("refresh_grace_secs", "must be 0..=60");
        }
        if self.rate_limit == 0 || self.rate_limit_per_user == 0 || self.rate_window_secs == 0 {
            return bad("rate_limit", "the limit and its window must be positive");
        }
        if self.login_max_failures == 0 || self.login_lockout_secs == 0 {
            return bad(
                "login_max_failures",
                "the limit and the lockout must be positive",
            );
        }
        if self.audit_epoch_secs == 0 || self.audit_epoch_secs > 7 * 86_400 {
            return bad("audit_epoch_secs", "must be 1..=604800");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes", "must be at least 1024");
        }
        for (name, secs) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
        ] {
            if secs == 0 || secs > 3600 {
                return bad(name, "must be 1..=3600");
            }
        }
        if self.previous_pepper_id.as_deref() == Some(self.pepper_id.as_str()) {
            return bad("previous_pepper_id", "must differ from pepper_id");
        }
        if !(1..=3650).contains(&self.key_rotation_days) {
            return bad("key_rotation_days", "must be 1..=3650");
        }
        if self.shutdown_grace_secs > 3600 {
            return bad("shutdown_grace_secs", "must be 0..=3600");
        }
        if self.max_concurrent_requests == 0 {
            return bad("max_concurrent_requests", "must be positive");
        }
        if self.max_connections_per_client == 0
            || self.max_connections_per_client > self.max_connections
        {
            return bad(
                "max_connections_per_client",
                "must be positive and at most max_connections",
            );
        }
        Ok(())
    }
}

/// One 32-byte-or-longer secret.
pub type Secret = SecretBox<[u8]>;

/// Every secret the service needs.
pub struct Secrets {
    /// HMAC key signing access tokens.
    pub jwt_key: Secret,
    /// Key hashing refresh, reset and one-time tokens at rest.
    pub token_key: Secret,
    /// Master key sealing the field-encryption keyring (exactly 32 bytes); not needed when
    /// `keyring_kek` names the key-encryption key.
    pub master_key: Option<Secret>,
    /// Ed25519 seed signing audit checkpoints (exactly 32 bytes).
    pub audit_signing_key: Secret,
    /// Password pepper.
    pub pepper: Secret,
    /// The retired pepper, if one is given (`PREVIOUS_PEPPER`); never generated by `--dev`.
    pub previous_pepper: Option<Secret>,
    /// Key signing CSRF tokens.
    pub csrf_key: Secret,
    /// Key signing device cookies.
    pub device_key: Secret,
    /// Where the secrets that can rotate while running (`jwt_key`, `pepper`) were read from,
    /// when given as an address or a file; a value given inline cannot change.
    pub(crate) reloadable: Vec<(&'static str, Address)>,
    /// The source they were read from (the same environment as the settings, and the secret
    /// managers this build has).
    pub(crate) source: ServiceSource,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([REDACTED])")
    }
}

/// Values that appear in documentation or are typed by people who mean "later"; refused
/// whatever their length.
const KNOWN_DEFAULTS: &[&str] = &[
    "changeme",
    "change-me",
    "secret",
    "password",
    "default",
    "example",
    "development",
    "0123456789abcdef0123456789abcdef",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "REPLACE-WITH-64-HEX-CHARACTERS-FROM-openssl-rand-hex-32-PLEASE!!",
];

pub(crate) struct SecretSpec {
    pub(crate) name: &'static str,
    pub(crate) env: &'static str,
    pub(crate) file_key: &'static str,
}

/// The master key: optional here, required by `load` unless `keyring_kek` is set.
pub(crate) const MASTER_KEY: SecretSpec = SecretSpec {
    name: "master_key",
    env: "PALISADE_MASTER_KEY",
    file_key: "master_key_file",
};

/// The optional secret: the retired pepper.
const PREVIOUS_PEPPER: SecretSpec = SecretSpec {
    name: "previous_pepper",
    env: "PALISADE_PREVIOUS_PEPPER",
    file_key: "previous_pepper_file",
};

const SPECS: [SecretSpec; 6] = [
    SecretSpec {
        name: "jwt_key",
        env: "PALISADE_JWT_KEY",
        file_key: "jwt_key_file",
    },
    SecretSpec {
        name: "token_key",
        env: "PALISADE_TOKEN_KEY",
        file_key: "token_key_file",
    },
    SecretSpec {
        name: "audit_signing_key",
        env: "PALISADE_AUDIT_SIGNING_KEY",
        file_key: "audit_signing_key_file",
    },
    SecretSpec {
        name: "pepper",
        env: "PALISADE_PEPPER",
        file_key: "pepper_file",
    },
    SecretSpec {
        name: "csrf_key",
        env: "PALISADE_CSRF_KEY",
        file_key: "csrf_key_file",
    },
    SecretSpec {
        name: "device_key",
        env: "PALISADE_DEVICE_KEY",
        file_key: "device_key_file",
    },
];

/// Loads the secret at `address` through palisade-secrets and decodes it as hexadecimal. A
/// value from a secret manager is registered with the log redactor's known secrets here (the
/// local source registers its own).
fn load_hex(
    source: &ServiceSource,
    name: &'static str,
    address: &Address,
) -> Result<Secret, ConfigError> {
    let loaded = source
        .load_blocking(address)
        .map_err(|source| ConfigError::SecretSource { name, source })?;
    if ServiceSource::is_remote(address) {
        let _ = crate::known_secrets().insert(loaded.expose_secret());
    }
    let text =
        std::str::from_utf8(loaded.expose_secret()).map_err(|_| ConfigError::WeakSecret {
            name,
            reason: "it must be 64 hexadecimal characters (32 bytes): `openssl rand -hex 32`",
        })?;
    decode_secret(name, text)
}

/// Decodes a secret given as 64 hexadecimal characters (32 bytes, `openssl rand -hex 32`).
pub(crate) fn decode_secret(name: &'static str, text: &str) -> Result<Secret, ConfigError> {
    let text = text.trim();
    if KNOWN_DEFAULTS.iter().any(|d| d.eq_ignore_ascii_case(text)) {
        return Err(ConfigError::WeakSecret {
            name,
            reason: "it is a documented default; generate one with `openssl rand -hex 32`",
        });
    }
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ConfigError::WeakSecret {
            name,
            reason: "it must be 64 hexadecimal characters (32 bytes): `openssl rand -hex 32`",
        });
    }
    let mut bytes = vec![0u8; 32];
    for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0]);
        let lo = hex_val(pair[1]);
        bytes[i] = (hi << 4) | lo;
    }
    if bytes.iter().all(|b| *b == bytes[0]) {
        return Err(ConfigError::WeakSecret {
            name,
            reason: "all its bytes are equal",
        });
    }
    Ok(SecretBox::new(bytes.into_boxed_slice()))
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

fn random_secret() -> Result<Secret, ConfigError> {
    let mut bytes = vec![0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConfigError::Invalid {
        name: "randomness",
        reason: e.to_string(),
    })?;
    Ok(SecretBox::new(bytes.into_boxed_slice()))
}

impl Secrets {
    /// Reads every secret from `PALISADE_<NAME>`, `PALISADE_<NAME>_FILE` or the configuration
    /// file's `[secrets]` table. With `dev`, a missing secret is generated for this run only.
    ///
    /// `PALISADE_<NAME>` holds the secret as 64 hexadecimal characters, or a palisade-secrets
    /// address: `env:OTHER_VARIABLE`, `file:/absolute/path`, `systemd:CREDENTIAL` (in
    /// `$CREDENTIALS_DIRECTORY`), `aws-sm:SECRET[#FIELD]` (AWS Secrets Manager, feature `aws`)
    /// or `vault:MOUNT/PATH#FIELD` (Vault, feature `vault`). The master key is optional here:
    /// [`load`](crate::load) asks for it unless `keyring_kek` names the keyring's
    /// key-encryption key. Every file, however it is named, is read through
    /// palisade-secrets: it must be a regular file that neither its group nor others can read
    /// or write (mode `0600` or stricter), at most 64 KiB.
    ///
    /// # Errors
    /// [`ConfigError::MissingSecret`], [`ConfigError::WeakSecret`],
    /// [`ConfigError::SecretAddress`] or [`ConfigError::SecretSource`].
    pub fn load(
        files: &SecretFiles,
        env: &BTreeMap<String, String>,
        dev: bool,
    ) -> Result<Self, ConfigError> {
        // `env:` and `systemd:` addresses read the same environment as the settings. Every
        // value loaded, by address or given as hexadecimal, is registered with the log
        // redactor's known secrets.
        let source = ServiceSource::new(
            LocalSource::with_environment(env.clone())
                .with_known_secrets(crate::known_secrets().clone()),
        );
        let mut out = Vec::with_capacity(SPECS.len());
        let mut reloadable = Vec::new();
        for spec in &SPECS {
            match load_one(&source, spec, files, env)? {
                Some((secret, address)) => {
                    // Given by address or file: JWT keys and peppers are watched for rotation.
                    if let Some(address) = address
                        && matches!(spec.name, "jwt_key" | "pepper")
                    {
                        reloadable.push((spec.name, address));
                    }
                    out.push(secret);
                }
                None if dev => out.push(random_secret()?),
                None => {
                    return Err(ConfigError::MissingSecret {
                        name: spec.name,
                        env: spec.env,
                        file_key: spec.file_key,
                    });
                }
            }
        }
        let previous_pepper =
            load_one(&source, &PREVIOUS_PEPPER, files, env)?.map(|(secret, _)| secret);
        let master_key = match load_one(&source, &MASTER_KEY, files, env)? {
            Some((secret, _)) => Some(secret),
            None if dev => Some(random_secret()?),
            None => None,
        };
        let mut it = out.into_iter();
        let mut next = || {
            it.next()
                .ok_or(ConfigError::Usage("internal: secret count".into()))
        };
        Ok(Self {
            jwt_key: next()?,
            token_key: next()?,
            master_key,
            audit_signing_key: next()?,
            pepper: next()?,
            previous_pepper,
            csrf_key: next()?,
            device_key: next()?,
            reloadable,
            source,
        })
    }

    /// The first 32 bytes of `secret`, for APIs that take a fixed-size key.
    pub(crate) fn array(secret: &Secret) -> [u8; 32] {
        let mut out = [0u8; 32];
        let bytes = secret.expose_secret();
        let n = bytes.len().min(32);
        out[..n].copy_from_slice(&bytes[..n]);
        out
    }
}

/// One secret from `PALISADE_<NAME>`, `PALISADE_<NAME>_FILE` or `[secrets]`; `None` when none
/// of them is set.
fn load_one(
    source: &ServiceSource,
    spec: &SecretSpec,
    files: &SecretFiles,
    env: &BTreeMap<String, String>,
) -> Result<Option<(Secret, Option<Address>)>, ConfigError> {
    let from_config = match spec.file_key {
        "jwt_key_file" => files.jwt_key_file.as_ref(),
        "token_key_file" => files.token_key_file.as_ref(),
        "master_key_file" => files.master_key_file.as_ref(),
        "audit_signing_key_file" => files.audit_signing_key_file.as_ref(),
        "pepper_file" => files.pepper_file.as_ref(),
        "previous_pepper_file" => files.previous_pepper_file.as_ref(),
        "device_key_file" => files.device_key_file.as_ref(),
        _ => files.csrf_key_file.as_ref(),
    };
    let file_var = format!("{}_FILE", spec.env);
    let file = var(env, &file_var)
        .map(PathBuf::from)
        .or_else(|| from_config.cloned());
    let secret = if let Some(value) = var(env, spec.env) {
        // Hexadecimal never holds a colon: a value with one is an address.
        if value.contains(':') {
            let address =
                value
                    .parse::<Address>()
                    .map_err(|reason| ConfigError::SecretAddress {
                        name: spec.name,
                        reason,
                    })?;
            (load_hex(source, spec.name, &address)?, Some(address))
        } else {
            let secret = decode_secret(spec.name, value)?;
            // Valid, so at least 8 bytes: registration cannot be refused.
            let _ = crate::known_secrets().insert(value.trim().as_bytes());
            (secret, None)
        }
    } else if let Some(path) = file {
        let path = std::path::absolute(&path).unwrap_or(path);
        let address = Address::File(path);
        (load_hex(source, spec.name, &address)?, Some(address))
    } else {
        return Ok(None);
    };
    Ok(Some(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn missing_secret_is_refused_outside_dev() {
        let err = Secrets::load(&SecretFiles::default(), &env(&[]), false).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingSecret {
                name: "jwt_key",
                ..
            }
        ));
        assert!(Secrets::load(&SecretFiles::default(), &env(&[]), true).is_ok());
    }

    #[test]
    fn the_device_key_is_required_like_every_other_secret() {
        let others: Vec<(String, String)> = SPECS
            .iter()
            .filter(|spec| spec.name != "device_key")
            .enumerate()
            .map(|(i, spec)| {
                (
                    spec.env.to_owned(),
                    format!("{:02x}", i + 1).repeat(31) + "ab",
                )
            })
            .collect();
        let others: BTreeMap<String, String> = others.into_iter().collect();
        let err = Secrets::load(&SecretFiles::default(), &others, false).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingSecret {
                name: "device_key",
                env: "PALISADE_DEVICE_KEY",
                ..
            }
        ));
        let dev = Secrets::load(&SecretFiles::default(), &others, true).unwrap();
        assert_eq!(dev.device_key.expose_secret().len(), 32);
    }

    #[test]
    fn default_and_short_secrets_are_refused() {
        for value in [
            "changeme",
            "0123456789abcdef0123456789abcdef",
            "abcd",
            &"a".repeat(64),
        ] {
            let err = Secrets::load(
                &SecretFiles::default(),
                &env(&[("PALISADE_JWT_KEY", value)]),
                true,
            )
            .unwrap_err();
            assert!(
                matches!(err, ConfigError::WeakSecret { .. }),
                "{value}: {err}"
            );
            assert!(
                !err.to_string().contains(value),
                "the message echoes the secret"
            );
        }
    }

    const HEX: &str = "3f1c9a7e5b2d4f60817263a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

    fn secret_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("secure-api-secrets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    fn write_mode(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// `PALISADE_<NAME>` may name where the secret is: another variable, a file or a systemd
    /// credential; the plain hexadecimal form still works beside them.
    #[cfg(unix)]
    #[test]
    fn secrets_are_read_from_palisade_secrets_addresses() {
        let dir = secret_dir("addresses");
        let file = dir.join("jwt.hex");
        write_mode(&file, &format!("{HEX}\n"), 0o600);
        write_mode(&dir.join("pepper"), HEX, 0o400);
        let file_address = format!("file:{}", file.display());
        let vars = env(&[
            ("PALISADE_JWT_KEY", file_address.as_str()),
            ("PALISADE_TOKEN_KEY", "env:MOUNTED_TOKEN_KEY"),
            ("MOUNTED_TOKEN_KEY", HEX),
            ("PALISADE_PEPPER", "systemd:pepper"),
            ("CREDENTIALS_DIRECTORY", dir.to_str().unwrap()),
            ("PALISADE_CSRF_KEY", HEX),
        ]);
        let secrets = Secrets::load(&SecretFiles::default(), &vars, true).unwrap();
        let expected = decode_secret("x", HEX).unwrap();
        for secret in [
            &secrets.jwt_key,
            &secrets.token_key,
            &secrets.pepper,
            &secrets.csrf_key,
        ] {
            assert_eq!(secret.expose_secret(), expected.expose_secret());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A secret file that its group or others can read is refused at start, however it is
    /// named (`_FILE`, `[secrets]`, `file:`), with the file and the reason and never its
    /// content.
    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_refused() {
        let dir = secret_dir("loose");
        let file = dir.join("jwt.hex");
        write_mode(&file, HEX, 0o644);
        let file_address = format!("file:{}", file.display());
        let by_file_var = env(&[("PALISADE_JWT_KEY_FILE", file.to_str().unwrap())]);
        let by_address = env(&[("PALISADE_JWT_KEY", file_address.as_str())]);
        let by_config = SecretFiles {
            jwt_key_file: Some(file.clone()),
            ..SecretFiles::default()
        };
        for (files, vars) in [
            (&SecretFiles::default(), &by_file_var),
            (&SecretFiles::default(), &by_address),
            (&by_config, &env(&[])),
        ] {
            let err = Secrets::load(files, vars, true).unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::SecretSource {
                        name: "jwt_key",
                        ..
                    }
                ),
                "{err}"
            );
            let message = err.to_string();
            assert!(
                message.contains("readable or writable by group or others"),
                "{message}"
            );
            assert!(message.contains(file.to_str().unwrap()), "{message}");
            assert!(!message.contains(HEX), "{message}");
        }
        write_mode(&file, HEX, 0o600);
        assert!(Secrets::load(&SecretFiles::default(), &by_file_var, true).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every secret loaded, given as hexadecimal or by address, is registered with the log
    /// redactor's known secrets, so a log line holding it is redacted.
    #[cfg(unix)]
    #[test]
    fn loaded_secrets_are_redacted_from_logs() {
        let dir = secret_dir("known");
        let file = dir.join("token.hex");
        let other = "8e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f1001f2e3d4c5b6a";
        write_mode(&file, other, 0o600);
        let file_address = format!("file:{}", file.display());
        let vars = env(&[
            ("PALISADE_JWT_KEY", HEX),
            ("PALISADE_TOKEN_KEY", file_address.as_str()),
        ]);
        Secrets::load(&SecretFiles::default(), &vars, true).unwrap();
        let redactor = palisade_redact::Redactor::builder()
            .known_secrets(crate::known_secrets().clone())
            .build()
            .unwrap();
        for value in [HEX, other] {
            let line = format!("debug dump: key={value} (in an unusual place)");
            let out = redactor.redact(&line);
            assert!(!out.contains(value), "{out}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A value with a colon is an address; a malformed one is refused without repeating it.
    #[test]
    fn a_malformed_secret_address_is_refused_without_echo() {
        for value in ["vault:kv#hunter2", "file:relative/hunter2", "env:hunter-2"] {
            let err = Secrets::load(
                &SecretFiles::default(),
                &env(&[("PALISADE_JWT_KEY", value)]),
                true,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::SecretAddress {
                        name: "jwt_key",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(!err.to_string().contains("hunter"), "{err}");
        }
        let missing = Secrets::load(
            &SecretFiles::default(),
            &env(&[("PALISADE_JWT_KEY", "env:NOT_SET")]),
            true,
        )
        .unwrap_err();
        assert!(missing.to_string().contains("not found"), "{missing}");
    }

    /// TLS settings: from `PALISADE_*`, the certificate and key together, the redirect
    /// listener only beside TLS and with a host to redirect to.
    #[test]
    fn tls_settings_are_read_and_checked() {
        let both = env(&[
            ("PALISADE_TLS_CERT", "/etc/secure-api/cert.pem"),
            ("PALISADE_TLS_KEY", "systemd:tls-key"),
            ("PALISADE_TLS_RELOAD_SECS", "5"),
        ]);
        let config = Config::load(None, &both).unwrap();
        assert!(config.tls_enabled());
        assert_eq!(config.tls_key.as_deref(), Some("systemd:tls-key"));
        assert_eq!(config.tls_reload_secs, 5);
        let invalid = |pairs: &[(&str, &str)]| {
            let err = Config::load(None, &env(pairs)).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{err}");
            err.to_string()
        };
        assert!(invalid(&[("PALISADE_TLS_CERT", "/c.pem")]).contains("together"));
        assert!(
            invalid(&[("PALISADE_HTTP_REDIRECT_LISTEN", "127.0.0.1:8081")])
                .contains("needs tls_cert")
        );
        assert!(
            invalid(&[
                ("PALISADE_TLS_CERT", "/c.pem"),
                ("PALISADE_TLS_KEY", "/k.pem"),
                ("PALISADE_HTTP_REDIRECT_LISTEN", "127.0.0.1:8081"),
            ])
            .contains("https_redirect_host")
        );
        let redirect = Config::load(
            None,
            &env(&[
                ("PALISADE_TLS_CERT", "/c.pem"),
                ("PALISADE_TLS_KEY", "/k.pem"),
                ("PALISADE_HTTP_REDIRECT_LISTEN", "127.0.0.1:8081"),
                ("PALISADE_HTTPS_REDIRECT_HOST", "api.example.com"),
            ]),
        )
        .unwrap();
        assert_eq!(
            redirect.http_redirect_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 8081)))
        );
        assert!(
            invalid(&[
                ("PALISADE_TLS_CERT", "/c.pem"),
                ("PALISADE_TLS_KEY", "/k.pem"),
                ("PALISADE_TLS_RELOAD_SECS", "0"),
            ])
            .contains("tls_reload_secs")
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("secure-api-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nrate_limit = 7\n").unwrap();
        let config = Config::load(Some(&path), &env(&[("PALISADE_RATE_LIMIT", "9")])).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.rate_limit, 9);
        std::fs::write(&path, "no_such_setting = 1\n").unwrap();
        assert!(matches!(
            Config::load(Some(&path), &env(&[])),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
