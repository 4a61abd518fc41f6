#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

pub mod app;
mod audit;
mod audit_queue;
pub mod config;
mod connections;
mod cors;
pub mod crypto;
pub mod db;
mod files;
mod handlers;
pub mod limits;
mod log_line;
mod logging;
pub mod metrics;
mod problem;
mod reload;
mod revocation_index;
mod server;
mod sources;
pub mod tls;
pub mod token_store;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use palisade_http::{BearerLayer, CsrfLayer, KeyBy, PolicyLimiter, RateLimitLayer, TokenCsrf};
use palisade_password::{Hasher, PasswordPolicy, Peppers};
use palisade_ratelimit::{
    MemoryBackend, MemoryConfig, Policy,
    client_ip::{ClientIpResolver, ForwardedHeader},
    login::{DeviceCookies, HardLimit, LoginPolicy, LoginThrottle, MemoryLoginStore},
    redis::{
        AnyLimiter, AnyLoginStore, RedisBackend, RedisConfig, RedisLimiter, RedisLimiterConfig,
        RedisLoginStore,
    },
};
use palisade_token::{
    csrf::{CsrfTokens, OriginPolicy},
    jwt::{Algorithm, Issuer, KeySet, Verifier},
    onetime::OneTimeTokens,
    refresh::{RefreshPolicy, RefreshTokens},
    revocation::RevocationList,
    store::RedisStore,
};
use secrecy::{ExposeSecret as _, SecretBox};

pub use crate::{
    app::{Access, AppState, UserClaims, routes, routes_only, service},
    config::{Config, ConfigError, Secrets},
    log_line::{LogFields, LogFormat},
    logging::{LogTime, init_logging, known_secrets, subscriber},
};
use crate::{
    config::Secret,
    token_store::{SqliteTokenStore, TokenStore},
};

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Add an encryption key and re-encrypt every row; with `if_due` (`--if-due`), only when
    /// the primary key is `key_rotation_days` old (or an interrupted rotation waits to be
    /// finished).
    RotateKeys {
        /// Rotate only when due.
        if_due: bool,
    },
    /// Give the account `email` the role `role`.
    GrantRole {
        /// The account.
        email: String,
        /// `admin` or `user`.
        role: String,
    },
    /// Create the audit log and write its verifier bundle to `verifier_out` (a new file).
    AuditInit {
        /// Where the bundle goes; the operator moves it off the machine.
        verifier_out: PathBuf,
    },
    /// Print the usage.
    Help,
}

/// Parsed command-line arguments. Secrets are never accepted here.
#[derive(Debug, Clone)]
pub struct Args {
    /// The command.
    pub command: Command,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<SocketAddr>,
    /// `--redis-url URL` (refused with a password: use `--redis-url-file`).
    pub redis_url: Option<String>,
    /// `--redis-url-file FILE`.
    pub redis_url_file: Option<PathBuf>,
    /// `--tls-cert PATH|ADDRESS`: the certificate chain for HTTPS.
    pub tls_cert: Option<String>,
    /// `--tls-key PATH|ADDRESS`: its private key (a path or address, never the key itself).
    pub tls_key: Option<String>,
    /// `--dev`: throwaway secrets, loudly insecure.
    pub dev: bool,
}

/// The usage text.
pub const USAGE: &str = "\
usage: secure-api [serve] [--config FILE] [--listen ADDR] [--redis-url URL]
                  [--redis-url-file FILE] [--tls-cert PATH|ADDRESS --tls-key PATH|ADDRESS]
                  [--dev]
       secure-api rotate-keys [--if-due] --config FILE
       secure-api grant-role EMAIL ROLE [--config FILE]
       secure-api audit-init --verifier-out FILE [--config FILE]

Secrets come from PALISADE_<NAME> or PALISADE_<NAME>_FILE (or [secrets] in the config file),
never from the command line: a Redis URL with a password goes in --redis-url-file or
PALISADE_REDIS_URL. --tls-cert and --tls-key (PEM files, or env:, file: or systemd:
addresses) serve HTTPS only, reloading them when they change. --dev generates throwaway
secrets and is insecure.

audit-init creates the audit log and writes its verifier bundle to FILE (never over an
existing file): move FILE off this machine; `palisade audit verify DIR --verifier FILE`.";

impl Args {
    /// Parses `args` (without the program name).
    ///
    /// # Errors
    /// [`ConfigError::Usage`] for anything unknown, including an attempt to pass a secret.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ConfigError> {
        let mut out = Self {
            command: Command::Serve,
            config: None,
            listen: None,
            redis_url: None,
            redis_url_file: None,
            tls_cert: None,
            tls_key: None,
            dev: false,
        };
        let mut verifier_out = None;
        let mut if_due = false;
        let mut positional = Vec::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| ConfigError::Usage(format!("{name} needs a value\n\n{USAGE}")))
            };
            match flag.as_str() {
                "--config" => out.config = Some(PathBuf::from(value("--config")?)),
                "--listen" => {
                    let v = value("--listen")?;
                    out.listen = Some(v.parse().map_err(|_| {
                        ConfigError::Usage(format!("--listen: not an address: {v}"))
                    })?);
                }
                "--redis-url" => {
                    let url = value("--redis-url")?;
                    if has_password(&url) {
                        // Every local user can read a command line; never echo the value.
                        return Err(ConfigError::Usage(format!(
                            "--redis-url carries a password, which the process list shows to \
                             every local user: put the URL in --redis-url-file or \
                             PALISADE_REDIS_URL\n\n{USAGE}"
                        )));
                    }
                    out.redis_url = Some(url);
                }
                "--redis-url-file" => {
                    out.redis_url_file = Some(PathBuf::from(value("--redis-url-file")?));
                }
                "--tls-cert" => out.tls_cert = Some(value("--tls-cert")?),
                "--tls-key" => out.tls_key = Some(value("--tls-key")?),
                "--verifier-out" => verifier_out = Some(PathBuf::from(value("--verifier-out")?)),
                "--dev" => out.dev = true,
                "--if-due" => if_due = true,
                "-h" | "--help" => out.command = Command::Help,
                f if f.starts_with('-') => {
                    // Never echo the value: it may be a secret typed in the wrong place.
                    return Err(ConfigError::Usage(format!(
                        "unknown option {f} (secrets are read from the environment or files \
                         only)\n\n{USAGE}"
                    )));
                }
                _ => positional.push(arg),
            }
        }
        match positional.first().map(String::as_str) {
            None | Some("serve") if positional.len() <= 1 => {}
            Some("rotate-keys") if positional.len() == 1 => {
                out.command = Command::RotateKeys { if_due };
                if_due = false;
            }
            Some("audit-init") if positional.len() == 1 => {
                let Some(verifier_out) = verifier_out.take() else {
                    return Err(ConfigError::Usage(format!(
                        "audit-init needs --verifier-out FILE\n\n{USAGE}"
                    )));
                };
                out.command = Command::AuditInit { verifier_out };
            }
            Some("grant-role") if positional.len() == 3 => {
                out.command = Command::GrantRole {
                    email: positional[1].clone(),
                    role: positional[2].clone(),
                };
            }
            _ => {
                return Err(ConfigError::Usage(format!(
                    "unexpected arguments\n\n{USAGE}"
                )));
            }
        }
        if if_due {
            return Err(ConfigError::Usage(format!(
                "--if-due belongs to rotate-keys\n\n{USAGE}"
            )));
        }
        if verifier_out.is_some() {
            return Err(ConfigError::Usage(format!(
                "--verifier-out belongs to audit-init\n\n{USAGE}"
            )));
        }
        Ok(out)
    }
}

/// Whether a URL has userinfo (`scheme://user:password@host` or `scheme://:password@host`).
fn has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Configuration or secrets.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The keyring.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    /// A palisade component refused its settings.
    #[error("{component}: {message}")]
    Component {
        /// Which component.
        component: &'static str,
        /// Its message.
        message: String,
    },
    /// Listening or serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

fn component(component: &'static str) -> impl Fn(&dyn std::fmt::Display) -> StartError {
    move |e| StartError::Component {
        component,
        message: e.to_string(),
    }
}

/// The configuration and secrets for `args`, with `--listen`, `--redis-url` and `--dev`
/// applied.
///
/// # Errors
/// [`StartError::Config`].
pub fn load(args: &Args, env: &BTreeMap<String, String>) -> Result<(Config, Secrets), StartError> {
    let mut config = Config::load(args.config.as_deref(), env)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = &args.redis_url {
        config.redis_url = Some(url.clone());
    }
    if let Some(path) = &args.redis_url_file {
        config.redis_url = Some(config::read_redis_url(path)?);
    }
    if let Some(cert) = &args.tls_cert {
        config.tls_cert = Some(cert.clone());
    }
    if let Some(key) = &args.tls_key {
        config.tls_key = Some(key.clone());
    }
    config.validate_tls()?;
    if args.dev && args.config.is_none() {
        // Throwaway secrets cannot open yesterday's keyring or audit log: a fresh directory.
        let dir = files::new_dev_dir(&std::env::temp_dir()).map_err(|e| ConfigError::Invalid {
            name: "dev directory",
            reason: e.to_string(),
        })?;
        config.database = dir.join("secure-api.db");
        config.audit_dir = dir.join("audit");
        config.keyring = dir.join("keyring");
        config.audit_verifier_out = Some(dir.join("audit.verifier"));
    }
    if env.contains_key("PALISADE_AUDIT_MAC_KEY") || env.contains_key("PALISADE_AUDIT_MAC_KEY_FILE")
    {
        tracing::warn!(
            "PALISADE_AUDIT_MAC_KEY is no longer read: the audit log's verifier bundle is written \
             when the log is created. Keep an old key offline to verify the log it started, and \
             remove it from this machine."
        );
    }
    let secrets = Secrets::load(&config.secrets, env, args.dev)?;
    if secrets.master_key.is_none() && config.keyring_kek.is_none() {
        let spec = config::MASTER_KEY;
        return Err(ConfigError::MissingSecret {
            name: spec.name,
            env: spec.env,
            file_key: spec.file_key,
        }
        .into());
    }
    Ok((config, secrets))
}

/// The token state under `prefix` in Redis, or else in the database (one store for every
/// kind of token: each has its own tables).
fn token_store(
    redis: Option<&redis::aio::ConnectionManager>,
    local: &SqliteTokenStore,
    prefix: &str,
) -> TokenStore {
    match redis {
        Some(conn) => TokenStore::Right(RedisStore::with_connection(conn.clone(), prefix)),
        None => TokenStore::Left(local.clone()),
    }
}

/// Says at startup where logouts, resets and refresh families are kept and whether they
/// survive a restart: the database, or Redis with the persistence its `INFO` reports.
async fn log_token_persistence(redis: Option<&redis::aio::ConnectionManager>, database: &Path) {
    let Some(conn) = redis else {
        tracing::info!(
            target: "secure_api::tokens",
            database = %database.display(),
            "token state persistence: sqlite (revocations, refresh families and one-time \
             tokens are kept in the database and survive a restart)"
        );
        return;
    };
    let mut conn = conn.clone();
    let info: Result<String, _> = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await;
    let field = |info: &str, name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    let save: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query_async(&mut conn)
        .await;
    let aof = info
        .as_deref()
        .ok()
        .and_then(|i| field(i, "aof_enabled"))
        .is_some_and(|v| v == "1");
    let rdb = save
        .ok()
        .and_then(|v| v.get(1).cloned())
        .filter(|v| !v.trim().is_empty());
    match (aof, rdb) {
        (true, _) => tracing::info!(
            target: "secure_api::tokens",
            "token state persistence: redis aof (appendonly yes)"
        ),
        (false, Some(save)) => tracing::warn!(
            target: "secure_api::tokens",
            %save,
            "token state persistence: redis rdb snapshots only; a Redis crash forgets the \
             logouts and resets since the last snapshot (use appendonly yes)"
        ),
        (false, None) => tracing::warn!(
            target: "secure_api::tokens",
            "token state persistence: none (redis has neither AOF nor RDB, or CONFIG is \
             disabled); a Redis restart re-admits logged-out tokens and loses every \
             refresh family: use appendonly yes"
        ),
    }
}

fn key(secret: &Secret) -> &[u8] {
    secret.expose_secret()
}

/// The password hasher: the configured pepper (and the retired one, if given) and memory
/// budget, rebuilt with a new current pepper when the pepper rotates (`reload`).
fn password_hasher(
    config: &Config,
    secrets: &Secrets,
) -> Result<reload::PepperedHasher, StartError> {
    let retired = match (&secrets.previous_pepper, &config.previous_pepper_id) {
        (Some(previous), Some(id)) => Some((id.as_str(), previous.expose_secret())),
        (None, None) => None,
        (Some(_), None) => {
            return Err(component("pepper")(
                &"a previous pepper needs previous_pepper_id (PALISADE_PREVIOUS_PEPPER_ID)",
            ));
        }
        (None, Some(_)) => {
            return Err(component("pepper")(
                &"previous_pepper_id is set but no previous pepper is given (PALISADE_PREVIOUS_PEPPER)",
            ));
        }
    };
    let budget_kib = config.hash_memory_mib.saturating_mul(1024);
    let wait = Duration::from_millis(config.hash_wait_ms);
    reload::PepperedHasher::new(
        &config.pepper_id,
        secrets.pepper.expose_secret(),
        retired,
        move |peppers: Peppers| {
            Hasher::builder()
                .peppers(peppers)
                .memory_budget(budget_kib, wait)
                .build()
        },
    )
    .map_err(|e| component("password hasher")(&e))
}

/// palisade-ratelimit's pieces, in process or in Redis.
struct Limits {
    per_client: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
    per_user: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
    login_throttle: LoginThrottle<AnyLoginStore>,
    resolver: ClientIpResolver,
    /// The limiter under both request limits, for the service's own policies.
    limiter: Arc<AnyLimiter>,
}

fn limits(config: &Config, device_key: &Secret) -> Result<Limits, StartError> {
    let window = Duration::from_secs(config.rate_window_secs);
    let per_client = Policy::new("per-client", config.rate_limit, window)
        .map_err(|e| component("rate limit")(&e))?;
    let per_user = Policy::new("per-user", config.rate_limit_per_user, window)
        .map_err(|e| component("rate limit")(&e))?;
    // Hard lockout only for the (account, client) pair and the client network; other clients'
    // failures only slow the account down, and a device cookie exempts a known browser.
    let mut login_policy = LoginPolicy::default();
    login_policy.account_client = HardLimit {
        failures: config.login_max_failures,
        lockout: Duration::from_secs(config.login_lockout_secs),
    };
    login_policy.account_delay.free = config.login_max_failures;
    let (limiter, login_store) = match &config.redis_url {
        Some(url) => {
            let backend = RedisBackend::new(url, RedisConfig::default().prefix("secure-api:rl"))
                // The message of a URL error may quote the URL, password and all.
                .map_err(|_| component("redis rate limiter")(&"the Redis URL is not usable"))?;
            let login_store = AnyLoginStore::from(RedisLoginStore::new(&backend));
            let limiter =
                AnyLimiter::from(RedisLimiter::new(backend, RedisLimiterConfig::default()));
            (limiter, login_store)
        }
        None => (
            AnyLimiter::from(MemoryBackend::new(MemoryConfig::default())),
            AnyLoginStore::from(MemoryLoginStore::new(100_000)),
        ),
    };
    let device_cookies = DeviceCookies::new(SecretBox::new(
        device_key.expose_secret().to_vec().into_boxed_slice(),
    ))
    .map_err(|e| component("device_key")(&e))?;
    let login_throttle = LoginThrottle::new(login_store, login_policy)
        .with_device_cookies(device_cookies)
        .on_suspicious(
            |event| tracing::warn!(target: "secure_api::login", ?event, "suspicious login activity"),
        );
    let resolver = ClientIpResolver::new(
        config.trusted_proxies.iter().map(String::as_str),
        ForwardedHeader::XForwardedFor,
    )
    .map_err(|e| component("trusted_proxies")(&e))?;
    // One limiter for both policies, so its key cap covers them together.
    let limiter = Arc::new(limiter);
    Ok(Limits {
        per_client: RateLimitLayer::new(PolicyLimiter::new(limiter.clone(), per_client))
            .name("per-client"),
        per_user: RateLimitLayer::new(PolicyLimiter::new(limiter.clone(), per_user))
            .key_by(KeyBy::User)
            .name("per-user"),
        login_throttle,
        resolver,
        limiter,
    })
}

/// The Redis connection when `redis_url` is set; logs where the token state persists either
/// way.
async fn connect_redis(
    config: &Config,
) -> Result<Option<redis::aio::ConnectionManager>, StartError> {
    let redis = match &config.redis_url {
        Some(url) => {
            let client = redis::Client::open(url.as_str())
                .map_err(|e| component("redis")(&format!("{:?}", e.kind())))?;
            let conn = client
                .get_connection_manager()
                .await
                .map_err(|e| component("redis")(&format!("{:?}", e.kind())))?;
            Some(conn)
        }
        None => None,
    };
    log_token_persistence(redis.as_ref(), &config.database).await;
    Ok(redis)
}

/// The revocation list the handlers write and the bearer layer that checks it: one store, two
/// handles. Not-before marks are kept as long as an access token issued before them could be
/// presented: its lifetime plus the verifier's clock leeway.
fn revocation(
    store: TokenStore,
    keys: Arc<reload::JwtKeys>,
    config: &Config,
) -> (RevocationList<TokenStore>, BearerLayer<app::AccessVerifier>) {
    let lifetime = Duration::from_secs(config.access_ttl_secs)
        + palisade_token::jwt::DEFAULT_LEEWAY
        + Duration::from_secs(1);
    let list = RevocationList::new(store.clone()).max_token_lifetime(lifetime);
    let bearer = BearerLayer::new(reload::AccessVerifier::new(
        keys,
        RevocationList::new(store).max_token_lifetime(lifetime),
    ))
    .realm(&config.issuer);
    (list, bearer)
}

/// The access-token issuer and verifier over the configured JWT key; a rotation of the key
/// (`reload`) swaps both.
fn jwt_keys(config: &Config, secrets: &Secrets) -> Result<reload::JwtKeys, StartError> {
    let placeholder = || {
        palisade_token::jwt::SigningKey::hmac(Algorithm::HS256, key(&secrets.jwt_key))
            .map(|k| Arc::new(KeySet::single(k)))
            .map_err(|e| component("jwt key")(&e))
    };
    // Access tokens per RFC 9068: `typ: at+jwt`, required by the verifier with `sub`, `iat` and
    // `jti` (revocation needs it), so no other JWT signed by this key passes for one.
    let issuer = Issuer::access_tokens(placeholder()?)
        .and_then(|i| i.ttl(Duration::from_secs(config.access_ttl_secs)))
        .map_err(|e| component("jwt issuer")(&e))?
        .issuer(config.issuer.clone())
        .audience(config.issuer.clone());
    let verifier = Verifier::access_tokens(placeholder()?)
        .issuer(config.issuer.clone())
        .audience(config.issuer.clone());
    // A retired key verifies as long as a token it signed can be valid.
    let retire_after = Duration::from_secs(config.access_ttl_secs)
        + palisade_token::jwt::DEFAULT_LEEWAY
        + Duration::from_secs(1);
    reload::JwtKeys::new(key(&secrets.jwt_key), &issuer, &verifier, retire_after)
        .map_err(|e| component("jwt key")(&e))
}

/// Starts the reload tasks for `jwt_key` and `pepper` when they were given as an address or a
/// file (`reload`).
fn watch_secrets(
    config: &Config,
    secrets: &Secrets,
    jwt: &Arc<reload::JwtKeys>,
    hasher: &Arc<reload::PepperedHasher>,
) {
    let every = Duration::from_secs(config.secrets_refresh_secs);
    for (name, address) in &secrets.reloadable {
        let source = secrets.source.clone();
        let decode = config::decode_secret;
        match *name {
            "jwt_key" => drop(reload::watch_jwt_key(
                jwt,
                address.clone(),
                source,
                every,
                decode,
            )),
            _ => drop(reload::watch_pepper(
                hasher,
                address.clone(),
                source,
                every,
                decode,
            )),
        }
    }
}

/// Builds the shared state: database, keyring, audit log, token machinery, counters.
///
/// # Errors
/// [`StartError`] for anything that cannot be opened or configured.
pub async fn build_state(config: Config, secrets: &Secrets) -> Result<Arc<AppState>, StartError> {
    // Before any palisade crate registers a metric (the rate limiter does on first use).
    metrics::exporter();
    files::prepare(&config).map_err(|e| component("data files")(&e))?;
    let db = db::Db::open(&config.database)?;
    let local_tokens = SqliteTokenStore::new(db.clone())?;
    let kek = crypto::open_kek(&config, secrets.master_key.as_ref()).await?;
    let keyring = config.keyring.clone();
    // Unwrapping the keyring may wait for a remote key: off the runtime's workers.
    let crypto = tokio::task::spawn_blocking(move || crypto::FieldCrypto::open(&keyring, kek))
        .await
        .map_err(|e| component("keyring")(&e))??;
    files::owner_only(&config.keyring).map_err(|e| component("keyring")(&e))?;
    let audit = Arc::new(audit::writer(&config, secrets)?);

    let hasher = Arc::new(password_hasher(&config, secrets)?);
    let jwt = Arc::new(jwt_keys(&config, secrets)?);
    watch_secrets(&config, secrets, &jwt, &hasher);

    let redis = connect_redis(&config).await?;
    let refresh = RefreshTokens::new(
        token_store(redis.as_ref(), &local_tokens, "secure-api:refresh"),
        key(&secrets.token_key),
    )
    .map_err(|e| component("refresh tokens")(&e))?
    .policy(
        RefreshPolicy::new(
            Duration::from_secs(14 * 24 * 3600),
            Duration::from_secs(30 * 24 * 3600),
            Duration::from_secs(config.refresh_grace_secs),
        )
        .map_err(|e| component("refresh policy")(&e))?,
    );
    let (revocation, bearer) = revocation(
        token_store(redis.as_ref(), &local_tokens, "secure-api:revoked"),
        jwt.clone(),
        &config,
    );
    let onetime = OneTimeTokens::new(
        token_store(redis.as_ref(), &local_tokens, "secure-api:onetime"),
        key(&secrets.token_key),
    )
    .map_err(|e| component("one-time tokens")(&e))?;
    let Limits {
        per_client,
        per_user,
        login_throttle,
        resolver,
        limiter,
    } = limits(&config, &secrets.device_key)?;
    let reset_limits = handlers::reset::ResetLimits::new(limiter.clone())
        .map_err(|e| component("reset limits")(&e))?;
    let audit_layer = audit::layer(&audit);
    let csrf_tokens = || CsrfTokens::new(key(&secrets.csrf_key)).map_err(|e| component("csrf")(&e));
    let origins = OriginPolicy::new(config.allowed_origins.iter().map(String::as_str))
        .map_err(|e| component("allowed_origins")(&e))?;
    // The refresh cookie is the session; the token travels in the `csrf` cookie and the
    // `x-csrf-token` header.
    let csrf =
        CsrfLayer::new(TokenCsrf::new(csrf_tokens()?, origins), "refresh").token_cookie("csrf");

    let state = Arc::new(AppState {
        local_tokens: redis.is_none().then_some(local_tokens),
        reset_limits,
        reset_wakeup: tokio::sync::Notify::new(),
        db,
        hasher,
        policy: PasswordPolicy::single_factor(),
        jwt,
        refresh,
        revocation,
        onetime,
        csrf: csrf_tokens()?,
        login_throttle,
        resolver,
        audit,
        audit_layer,
        redis,
        limiter,
        backends: handlers::health::Backends::default(),
        metrics: metrics::Metrics::new(),
        html: palisade_sanitize::html::Policy::basic(),
        crypto,
        defences: app::Defences {
            bearer,
            csrf,
            per_client,
            per_user,
        },
        config,
    });
    handlers::health::check(&state).await;
    Ok(state)
}

/// Serves on `listener` until SIGTERM or Ctrl-C, ticking the audit log every few seconds, then
/// lets in-flight requests finish (up to `shutdown_grace_secs`) and flushes the audit log.
///
/// Each connection has `header_read_timeout_secs` to send a request's headers (and no longer
/// to sit idle between keep-alive requests), `body_read_timeout_secs` for its body and
/// `request_timeout_secs` in all; beyond `max_concurrent_requests` requests are answered 503.
///
/// # Errors
/// None at present: accept errors are logged and retried. The `Result` is kept for callers.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
) -> Result<(), StartError> {
    serve_with(state, listener, None).await
}

/// [`serve`], over TLS when `https` is given ([`tls`]: the certificate reloaded when its files
/// change, and the plain-HTTP redirect listener if one is bound).
///
/// # Errors
/// As [`serve`].
pub async fn serve_with(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    https: Option<tls::Https>,
) -> Result<(), StartError> {
    let background = state.clone();
    let ticker = tokio::spawn(async move {
        // Every second: the records the offline commands queued, the counts of closed
        // refusal windows, and the backends' readiness; every minute, expired token rows. The
        // writer thread ticks the log.
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        for second in 0u64.. {
            interval.tick().await;
            if let Err(e) = audit_queue::drain(&background).await {
                tracing::error!(target: "secure_api::audit", error = %e, "queued audit records not moved");
            }
            if second % 60 == 30
                && let Some(tokens) = &background.local_tokens
                && let Err(e) = tokens
                    .purge(u64::try_from(app::now_i64()).unwrap_or(0))
                    .await
            {
                tracing::error!(target: "secure_api::tokens", error = %e, "token purge failed");
            }
            background.audit_layer.flush_refusals(false);
            handlers::health::check(&background).await;
        }
    });
    let resets = state.clone();
    let reset_worker = tokio::spawn(async move {
        // Queued reset requests are resolved here, off the request path; a store failure is
        // retried on the next wake-up or second.
        loop {
            if let Err(e) = handlers::reset::drain_queue(&resets).await {
                tracing::error!(target: "secure_api::reset", error = ?e, "reset queue not drained");
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(1), resets.reset_wakeup.notified()).await;
        }
    });
    let limits = server::Limits::from_config(&state.config);
    let app = server::limited(service(state.clone()), limits);
    let gate = connections::ConnectionGate::new(
        state.config.max_connections,
        state.config.max_connections_per_client,
        state.resolver.clone(),
    );
    match https {
        None => server::run(listener, app, limits, gate, None, server::shutdown_signal()).await,
        Some(https) => {
            let authority = state.config.redirect_authority();
            tls::serve(https, listener, app, limits, gate, authority).await;
        }
    }
    ticker.abort();
    reset_worker.abort();
    state.audit_layer.flush_refusals(true);
    let writer = state.audit.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || writer.flush()).await {
        tracing::error!(target: "secure_api::audit", error = %e, "audit flush at shutdown failed");
    }
    tracing::info!("secure-api stopped");
    Ok(())
}

/// The audit record of a `rotate-keys` run, queued for the server to append.
fn queue_rotation_record(
    db: &db::Db,
    result: &Result<crypto::RotationReport, crypto::CryptoError>,
) {
    let mut fields = serde_json::Map::new();
    let outcome = match result {
        Ok(report) => {
            fields.insert("new_key".into(), report.new_key.clone().into());
            fields.insert("rewrapped".into(), report.rewrapped.into());
            fields.insert("failed".into(), report.failed.into());
            fields.insert(
                "remaining_on_old_keys".into(),
                report.remaining_on_old_keys.into(),
            );
            if report.failed > 0 {
                palisade_audit::Outcome::Failure
            } else {
                palisade_audit::Outcome::Success
            }
        }
        Err(e) => {
            fields.insert("error".into(), e.to_string().into());
            palisade_audit::Outcome::Failure
        }
    };
    let queued =
        db.with(|c| audit_queue::queue(c, "keys.rotated", outcome, &fields, app::now_i64()));
    if let Err(e) = queued {
        tracing::error!("the audit record of this rotation could not be queued: {e}");
    }
}

/// `rotate-keys`: opens the keyring's key-encryption key (as the server does), then rotates.
async fn rotate_keys_command(if_due: bool, config: &Config, secrets: &Secrets) -> i32 {
    let kek = match crypto::open_kek(config, secrets.master_key.as_ref()).await {
        Ok(kek) => kek,
        Err(e) => {
            tracing::error!("rotate-keys failed: {e}");
            return 1;
        }
    };
    offline_command(Command::RotateKeys { if_due }, config, secrets, Some(&kek))
}

/// `rotate-keys` (with the keyring's key-encryption key `kek`), `grant-role` and
/// `audit-init`: work on the files, no server.
fn offline_command(
    command: Command,
    config: &Config,
    secrets: &Secrets,
    kek: Option<&crypto::Kek>,
) -> i32 {
    match command {
        Command::RotateKeys { if_due } => {
            let Some(kek) = kek else {
                tracing::error!("rotate-keys failed: no key-encryption key");
                return 1;
            };
            if if_due {
                match crypto::rotation_due(config, kek.as_ref()) {
                    Ok(None) => {}
                    Ok(Some(not_due)) => {
                        tracing::info!("rotate-keys: not due: {not_due}; nothing changed");
                        return 0;
                    }
                    Err(e) => {
                        tracing::error!("rotate-keys failed: {e}");
                        return 1;
                    }
                }
            }
            let db = match db::Db::open(&config.database) {
                Ok(db) => db,
                Err(e) => {
                    tracing::error!("rotate-keys failed: {e}");
                    return 1;
                }
            };
            let result = crypto::rotate_keys(&db, &config.keyring, kek.as_ref());
            if let Err(e) = files::owner_only(&config.keyring) {
                tracing::error!("the new keyring could not be made private: {e}");
            }
            queue_rotation_record(&db, &result);
            match result {
                Ok(report) => {
                    tracing::info!(
                        new_key = %report.new_key,
                        rewrapped = report.rewrapped,
                        already_current = report.already_current,
                        raced = report.raced,
                        failed = report.failed,
                        remaining_on_old_keys = report.remaining_on_old_keys,
                        "rotate-keys finished"
                    );
                    i32::from(report.failed > 0)
                }
                Err(e) => {
                    tracing::error!("rotate-keys failed (rerun to resume): {e}");
                    1
                }
            }
        }
        Command::GrantRole { email, role } => {
            if role != "admin" && role != "user" {
                tracing::error!("role must be admin or user");
                return 2;
            }
            match db::Db::open(&config.database)
                .and_then(|db| db.set_role(&email.to_lowercase(), &role, app::now_i64()))
            {
                Ok(true) => {
                    tracing::info!(role = %role, "role granted");
                    0
                }
                Ok(false) => {
                    tracing::error!("no such account");
                    1
                }
                Err(e) => {
                    tracing::error!("grant-role failed: {e}");
                    1
                }
            }
        }
        Command::AuditInit { verifier_out } => match audit::init(config, secrets, &verifier_out) {
            Ok(()) => {
                tracing::info!(
                    log = %config.audit_dir.display(),
                    bundle = %verifier_out.display(),
                    "audit log created; move the verifier bundle off this machine"
                );
                0
            }
            Err(e) => {
                tracing::error!("audit-init refused: {e}");
                1
            }
        },
        Command::Serve | Command::Help => 2,
    }
}

/// The whole program: parse, load, then serve or run a command. Returns the exit code.
pub async fn run(args: Vec<String>, env: BTreeMap<String, String>) -> i32 {
    let args = match Args::parse(args) {
        Ok(args) => args,
        Err(e) => {
            tracing::error!("{e}");
            return 2;
        }
    };
    if args.command == Command::Help {
        tracing::info!("{USAGE}");
        return 0;
    }
    let (config, secrets) = match load(&args, &env) {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::error!("refusing to start: {e}");
            return 2;
        }
    };
    if args.dev {
        tracing::warn!(
            "INSECURE: --dev mode. Secrets missing from the environment were generated for this \
             run only; data lives in {}. Never use --dev in production.",
            config
                .database
                .parent()
                .map_or_else(String::new, |p| p.display().to_string())
        );
    }
    match args.command {
        Command::RotateKeys { if_due } => rotate_keys_command(if_due, &config, &secrets).await,
        Command::GrantRole { .. } | Command::AuditInit { .. } => {
            offline_command(args.command, &config, &secrets, None)
        }
        Command::Serve | Command::Help => {
            let (listen, admin_listen) = (config.listen, config.admin_listen);
            let tls = match tls::Tls::from_config(&config, &env) {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::error!("refusing to start: {e}");
                    return 2;
                }
            };
            let state = match build_state(config, &secrets).await {
                Ok(state) => state,
                Err(e) => {
                    tracing::error!("refusing to start: {e}");
                    return 2;
                }
            };
            drop(secrets);
            let listener = match tokio::net::TcpListener::bind(listen).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("cannot listen on {listen}: {e}");
                    return 1;
                }
            };
            let admin = match tokio::net::TcpListener::bind(admin_listen).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("cannot listen on {admin_listen} (admin_listen): {e}");
                    return 1;
                }
            };
            let https = match (tls, state.config.http_redirect_listen) {
                (None, _) => None,
                (Some(tls), None) => Some(tls::Https::new(tls, None)),
                (Some(tls), Some(redirect)) => {
                    match tokio::net::TcpListener::bind(redirect).await {
                        Ok(l) => Some(tls::Https::new(tls, Some(l))),
                        Err(e) => {
                            tracing::error!(
                                "cannot listen on {redirect} (http_redirect_listen): {e}"
                            );
                            return 1;
                        }
                    }
                }
            };
            tokio::spawn(metrics::serve_admin(state.clone(), admin));
            let addr = listener.local_addr().map_or(listen, |a| a);
            tracing::info!(%addr, %admin_listen, tls = https.is_some(), "secure-api listening");
            match serve_with(state, listener, https).await {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!("{e}");
                    1
                }
            }
        }
    }
}
