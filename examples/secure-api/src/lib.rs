#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]

pub mod app;
mod audit_queue;
pub mod config;
pub mod crypto;
pub mod db;
pub mod metrics;
mod problem;
mod profile;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use palisade_audit::{AuditLog, MacKey, SigningKey};
use palisade_http::{
    BearerLayer, CsrfLayer, JwtVerifier, KeyBy, PolicyLimiter, RateLimitLayer, TokenCsrf,
};
use palisade_password::{Hasher, PasswordPolicy, Pepper, Peppers};
use palisade_ratelimit::{
    MemoryBackend, MemoryConfig, Policy,
    client_ip::{ClientIpResolver, ForwardedHeader},
    login::{LoginPolicy, LoginThrottle, MemoryLoginStore},
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
    store::{AnyStore, RedisStore},
};
use secrecy::{ExposeSecret as _, SecretBox};

use crate::config::Secret;
pub use crate::{
    app::{Access, AppState, UserClaims, router, routes, routes_only},
    config::{Config, ConfigError, Secrets},
};

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Add an encryption key and re-encrypt every row.
    RotateKeys,
    /// Give the account `email` the role `role`.
    GrantRole {
        /// The account.
        email: String,
        /// `admin` or `user`.
        role: String,
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
    /// `--redis-url URL`.
    pub redis_url: Option<String>,
    /// `--dev`: throwaway secrets, loudly insecure.
    pub dev: bool,
}

/// The usage text.
pub const USAGE: &str = "\
usage: secure-api [serve] [--config FILE] [--listen ADDR] [--redis-url URL] [--dev]
       secure-api rotate-keys --config FILE
       secure-api grant-role EMAIL ROLE [--config FILE]

Secrets come from PALISADE_<NAME> or PALISADE_<NAME>_FILE (or [secrets] in the config file),
never from the command line. --dev generates throwaway secrets and is insecure.";

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
            dev: false,
        };
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
                "--redis-url" => out.redis_url = Some(value("--redis-url")?),
                "--dev" => out.dev = true,
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
            Some("rotate-keys") if positional.len() == 1 => out.command = Command::RotateKeys,
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
        Ok(out)
    }
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
    if args.dev && args.config.is_none() {
        // Throwaway secrets cannot open yesterday's keyring or audit log: a fresh directory.
        let dir = std::env::temp_dir().join(format!("secure-api-dev-{}", std::process::id()));
        config.database = dir.join("secure-api.db");
        config.audit_dir = dir.join("audit");
        config.keyring = dir.join("keyring");
        std::fs::create_dir_all(&dir).map_err(|e| ConfigError::Invalid {
            name: "dev directory",
            reason: e.to_string(),
        })?;
    }
    let secrets = Secrets::load(&config.secrets, env, args.dev)?;
    Ok((config, secrets))
}

fn audit_log(config: &Config, secrets: &Secrets) -> Result<AuditLog, StartError> {
    let signing = SigningKey::from_secret(&SecretBox::new(Box::new(Secrets::array(
        &secrets.audit_signing_key,
    ))));
    let builder = AuditLog::builder(&config.audit_dir).signer(Arc::new(signing));
    let has_log = std::fs::read_dir(&config.audit_dir).is_ok_and(|mut d| d.next().is_some());
    if has_log {
        builder.open().map_err(|e| component("audit log")(&e))
    } else {
        // The configured epoch-0 key starts the chain; the operator's copy of it (the
        // `audit_mac_key` secret) is what verifies the log, so the bundle is not kept here.
        let mac = MacKey::from_bytes(Secrets::array(&secrets.audit_mac_key));
        builder
            .epoch0_key(mac)
            .create_with(|_| Ok(()))
            .map_err(|e| component("audit log")(&e))
    }
}

fn token_store(redis: Option<&redis::aio::ConnectionManager>, prefix: &str) -> AnyStore {
    match redis {
        Some(conn) => AnyStore::from(RedisStore::with_connection(conn.clone(), prefix)),
        None => AnyStore::memory(),
    }
}

fn key(secret: &Secret) -> &[u8] {
    secret.expose_secret()
}

/// palisade-ratelimit's pieces, in process or in Redis.
struct Limits {
    per_client: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
    per_user: RateLimitLayer<PolicyLimiter<AnyLimiter>>,
    login_throttle: LoginThrottle<AnyLoginStore>,
    resolver: ClientIpResolver,
}

fn limits(config: &Config) -> Result<Limits, StartError> {
    let window = Duration::from_secs(config.rate_window_secs);
    let per_client = Policy::new("per-client", config.rate_limit, window)
        .map_err(|e| component("rate limit")(&e))?;
    let per_user = Policy::new("per-user", config.rate_limit_per_user, window)
        .map_err(|e| component("rate limit")(&e))?;
    let mut login_policy = LoginPolicy::default();
    login_policy.account.free = config.login_max_failures;
    login_policy.account_client.free = config.login_max_failures;
    login_policy.lockout_after = Some(config.login_max_failures);
    login_policy.lockout = Duration::from_secs(config.login_lockout_secs);
    let (limiter, login_store) = match &config.redis_url {
        Some(url) => {
            let backend = RedisBackend::new(url, RedisConfig::default().prefix("secure-api:rl"))
                .map_err(|e| component("redis rate limiter")(&e))?;
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
    let login_throttle = LoginThrottle::new(login_store, login_policy).on_suspicious(
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
        per_user: RateLimitLayer::new(PolicyLimiter::new(limiter, per_user))
            .key_by(KeyBy::User)
            .name("per-user"),
        login_throttle,
        resolver,
    })
}

/// Builds the shared state: database, keyring, audit log, token machinery, counters.
///
/// # Errors
/// [`StartError`] for anything that cannot be opened or configured.
pub async fn build_state(config: Config, secrets: &Secrets) -> Result<Arc<AppState>, StartError> {
    let db = db::Db::open(&config.database)?;
    let crypto = crypto::FieldCrypto::open(&config.keyring, &secrets.master_key)?;
    let audit = Arc::new(Mutex::new(audit_log(&config, secrets)?));

    let pepper = Pepper::new(
        "p1",
        SecretBox::new(secrets.pepper.expose_secret().to_vec().into_boxed_slice()),
    )
    .map_err(|e| component("pepper")(&e))?;
    let hasher = Hasher::builder()
        .peppers(Peppers::new(pepper))
        .build()
        .map_err(|e| component("password hasher")(&e))?;

    let jwt = palisade_token::jwt::SigningKey::hmac(Algorithm::HS256, key(&secrets.jwt_key))
        .and_then(|k| k.with_kid("k1"))
        .map_err(|e| component("jwt key")(&e))?;
    let keys = Arc::new(KeySet::single(jwt));
    let issuer = Issuer::new(keys.clone())
        .and_then(|i| i.ttl(Duration::from_secs(config.access_ttl_secs)))
        .map_err(|e| component("jwt issuer")(&e))?
        .issuer(config.issuer.clone())
        .audience(config.issuer.clone());
    let verifier = Verifier::new(keys)
        .issuer(config.issuer.clone())
        .audience(config.issuer.clone())
        .require_jti();

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
    let refresh = RefreshTokens::new(
        token_store(redis.as_ref(), "secure-api:refresh"),
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
    // The bearer layer checks the list the logout handler writes: one store, two handles.
    let revoked = token_store(redis.as_ref(), "secure-api:revoked");
    let revocation = RevocationList::new(revoked.clone());
    let bearer =
        BearerLayer::new(JwtVerifier::new(verifier).revocation(RevocationList::new(revoked)))
            .realm(&config.issuer);
    let onetime = OneTimeTokens::new(
        token_store(redis.as_ref(), "secure-api:onetime"),
        key(&secrets.token_key),
    )
    .map_err(|e| component("one-time tokens")(&e))?;
    let Limits {
        per_client,
        per_user,
        login_throttle,
        resolver,
    } = limits(&config)?;
    let csrf_tokens = || CsrfTokens::new(key(&secrets.csrf_key)).map_err(|e| component("csrf")(&e));
    let origins = OriginPolicy::new(config.allowed_origins.iter().map(String::as_str))
        .map_err(|e| component("allowed_origins")(&e))?;
    // The refresh cookie is the session; the token travels in the `csrf` cookie and the
    // `x-csrf-token` header.
    let csrf =
        CsrfLayer::new(TokenCsrf::new(csrf_tokens()?, origins), "refresh").token_cookie("csrf");

    Ok(Arc::new(AppState {
        db,
        hasher,
        policy: PasswordPolicy::single_factor(),
        issuer,
        refresh,
        revocation,
        onetime,
        csrf: csrf_tokens()?,
        login_throttle,
        resolver,
        audit,
        metrics: metrics::Metrics::default(),
        html: palisade_sanitize::html::Policy::basic(),
        crypto,
        defences: app::Defences {
            bearer,
            csrf,
            per_client,
            per_user,
        },
        config,
    }))
}

/// Serves on `listener` until ctrl-c, ticking the audit log every few seconds.
///
/// # Errors
/// [`StartError::Io`] if serving fails.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
) -> Result<(), StartError> {
    let background = state.clone();
    let ticker = tokio::spawn(async move {
        // Every second: records the offline commands queued; every fifth: the log's tick.
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        for second in 0u64.. {
            interval.tick().await;
            if let Err(e) = audit_queue::drain(&background).await {
                tracing::error!(target: "secure_api::audit", error = %e, "queued audit records not moved");
            }
            if second % 5 == 0
                && let Ok(mut log) = background.audit.lock()
                && let Err(e) = log.tick()
            {
                tracing::error!(target: "secure_api::audit", error = %e, "audit tick failed");
            }
        }
    });
    let app = router(state.clone());
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    ticker.abort();
    if let Ok(mut log) = state.audit.lock() {
        let _ = log.tick();
        let _ = log.flush();
    }
    result.map_err(StartError::Io)
}

/// Logging to standard error through palisade-redact, so no token, key or password that
/// reaches a log line is written.
pub fn init_logging() {
    use tracing_subscriber::fmt;
    let writer = palisade_redact::RedactingMakeWriter::new(
        std::io::stderr,
        palisade_redact::Redactor::new(),
    );
    let _ = fmt()
        .with_writer(writer)
        .with_target(true)
        .with_ansi(false)
        .try_init();
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

/// `rotate-keys` and `grant-role`: work on the files, no server.
fn offline_command(command: Command, config: &Config, secrets: &Secrets) -> i32 {
    match command {
        Command::RotateKeys => {
            let db = match db::Db::open(&config.database) {
                Ok(db) => db,
                Err(e) => {
                    tracing::error!("rotate-keys failed: {e}");
                    return 1;
                }
            };
            let result = crypto::rotate_keys(&db, &config.keyring, &secrets.master_key);
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
        Command::RotateKeys | Command::GrantRole { .. } => {
            offline_command(args.command, &config, &secrets)
        }
        Command::Serve | Command::Help => {
            let listen = config.listen;
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
            let addr = listener.local_addr().map_or(listen, |a| a);
            tracing::info!(%addr, "secure-api listening");
            match serve(state, listener).await {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!("{e}");
                    1
                }
            }
        }
    }
}
