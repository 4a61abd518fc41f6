//! HTTPS in the service itself: rustls (with AWS-LC, the provider palisade-token already
//! builds) on the service's listener, the certificate reloaded from its files while the service
//! runs, and a plain-HTTP listener that only redirects.
//!
//! - **Protocols and suites**: TLS 1.3 and TLS 1.2 only, and only AEAD suites with an
//!   ephemeral key exchange ([`CIPHER_SUITES`]: AES-GCM and ChaCha20-Poly1305; ECDHE for 1.2),
//!   in the server's order. Key exchange: X25519MLKEM768, X25519, P-256, P-384. ALPN
//!   `http/1.1`, the only protocol the service speaks.
//! - **Renewal without restart**: the certificate chain and key are read again every
//!   `tls_reload_secs`; when either changed and the pair is good, the resolver handing
//!   certificates to new handshakes is swapped at once (connections already open keep theirs).
//!   A pair that cannot be read, parsed or does not match (a key whose public half is not the
//!   certificate's) is refused and logged, and the current certificate goes on being served.
//! - **Redirect listener**: `http_redirect_listen` answers every request with `308` to
//!   `https://` on `https_redirect_host` (never the client's `Host`) and an empty body.
//! - **HSTS**: with TLS on, every response of the service carries `Strict-Transport-Security`
//!   (`app.rs`); the redirect listener, plain HTTP, never does (RFC 6797 section 7.2).

use std::{
    collections::BTreeMap,
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

use axum::{
    Router,
    http::{HeaderValue, StatusCode, Uri, header, uri::Authority},
    response::{IntoResponse as _, Response},
};
use palisade_secrets::{Address, LocalSource, LocalSourceOptions, SecretError};
use rustls::{
    ServerConfig, SupportedCipherSuite,
    crypto::{CryptoProvider, aws_lc_rs::cipher_suite as suite},
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use secrecy::{ExposeSecret as _, SecretBox};
use subtle::ConstantTimeEq as _;
use tokio_rustls::TlsAcceptor;

use crate::{
    config::{Config, ConfigError},
    connections::ConnectionGate,
    server::{self, AppService, Limits},
};

/// The cipher suites offered, in the server's order of preference: TLS 1.3's three, then
/// TLS 1.2's ECDHE suites with AES-GCM or ChaCha20-Poly1305. Nothing with CBC, RC4, 3DES,
/// static RSA key exchange, export strength or without authentication: rustls implements none
/// of them, and this list would not name them if it did.
pub const CIPHER_SUITES: [&str; 9] = [
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

fn cipher_suites() -> Vec<SupportedCipherSuite> {
    vec![
        suite::TLS13_AES_256_GCM_SHA384,
        suite::TLS13_AES_128_GCM_SHA256,
        suite::TLS13_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
}

/// AWS-LC with [`CIPHER_SUITES`] and its default key-exchange groups.
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites = cipher_suites();
    provider
}

/// Why a certificate and key could not be served. Names the file (its address) and what is
/// wrong with it, never any of its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// `tls_cert` or `tls_key` is not a usable path or address.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The file could not be read: missing, unreadable, too large, empty, or (the key) readable
    /// by group or others.
    #[error("tls {what}: {source}")]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The address and the reason.
        source: SecretError,
    },
    /// The certificate file holds no PEM `CERTIFICATE` block, or a malformed one.
    #[error("tls certificate {address}: no PEM certificate in it")]
    NoCertificate {
        /// Where it was read.
        address: Address,
    },
    /// The key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1), or a malformed one.
    #[error("tls key {address}: no PEM private key in it")]
    NoKey {
        /// Where it was read.
        address: Address,
    },
    /// The key is of a kind AWS-LC cannot sign with.
    #[error("tls key {address}: unusable ({reason})")]
    BadKey {
        /// Where it was read.
        address: Address,
        /// rustls's reason.
        reason: String,
    },
    /// The key's public half is not the certificate's, or the certificate is malformed.
    #[error("tls key {key} does not match the certificate ({reason})")]
    Mismatch {
        /// The key's address.
        key: Address,
        /// rustls's reason.
        reason: String,
    },
    /// rustls refused the protocol settings (not expected: they are fixed).
    #[error("tls settings: {0}")]
    Settings(rustls::Error),
}

/// `value` as an address: `env:`, `file:` and `systemd:` are palisade-secrets addresses,
/// anything else a file path (made absolute against the working directory).
fn address(name: &'static str, value: &str) -> Result<Address, ConfigError> {
    // The PEM itself, pasted where its location belongs: refused without repeating it (it
    // may be the private key), and before it can appear in a "file not found" message.
    if value.contains('\n') || value.contains("-----BEGIN") {
        return Err(ConfigError::Invalid {
            name,
            reason: "holds PEM text instead of a path or address: put it in a file or name \
                     its variable with env:NAME"
                .to_owned(),
        });
    }
    if ["env:", "file:", "systemd:"]
        .iter()
        .any(|scheme| value.starts_with(scheme))
    {
        value
            .parse()
            .map_err(|reason| ConfigError::SecretAddress { name, reason })
    } else {
        let path = PathBuf::from(value);
        Ok(Address::File(std::path::absolute(&path).unwrap_or(path)))
    }
}

/// One reading of the certificate chain and key, kept to see whether the next differs.
struct Pair {
    cert_pem: Vec<u8>,
    key_pem: SecretBox<[u8]>,
}

impl Pair {
    /// Whether `other` holds the same bytes (the key compared in constant time).
    fn same_as(&self, other: &Self) -> bool {
        self.cert_pem == other.cert_pem
            && bool::from(
                self.key_pem
                    .expose_secret()
                    .ct_eq(other.key_pem.expose_secret()),
            )
    }
}

/// Where the certificate chain and key are read from.
#[derive(Debug, Clone)]
struct Files {
    cert: Address,
    key: Address,
    /// Reads the certificate: public, so a file others can read is accepted.
    cert_source: LocalSource,
    /// Reads the key: a file must be private to its owner; its lines are registered with the
    /// log redactor.
    key_source: LocalSource,
}

impl Files {
    fn read(&self) -> Result<Pair, TlsError> {
        let cert = self
            .cert_source
            .load(&self.cert)
            .map_err(|source| TlsError::Read {
                what: "certificate",
                source,
            })?;
        let key = self
            .key_source
            .load(&self.key)
            .map_err(|source| TlsError::Read {
                what: "key",
                source,
            })?;
        Ok(Pair {
            cert_pem: cert.expose_secret().to_vec(),
            key_pem: SecretBox::new(Box::from(key.expose_secret())),
        })
    }

    /// The certified key in `pair`, checked: at least one certificate, a key AWS-LC can sign
    /// with, and the key's public half equal to the first certificate's.
    fn certify(&self, pair: &Pair, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let chain = CertificateDer::pem_slice_iter(&pair.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .ok()
            .filter(|chain| !chain.is_empty())
            .ok_or_else(|| TlsError::NoCertificate {
                address: self.cert.clone(),
            })?;
        // The PEM parser's error may quote a line of the file: it is dropped here.
        let key = PrivateKeyDer::from_pem_slice(pair.key_pem.expose_secret()).map_err(|_| {
            TlsError::NoKey {
                address: self.key.clone(),
            }
        })?;
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .map_err(|reason| TlsError::BadKey {
                address: self.key.clone(),
                reason: reason.to_string(),
            })?;
        let certified = CertifiedKey::new(chain, signing_key);
        certified
            .keys_match()
            .map_err(|reason| TlsError::Mismatch {
                key: self.key.clone(),
                reason: reason.to_string(),
            })?;
        Ok(certified)
    }
}

/// Hands every new handshake the current certificate; swapped as a whole on reload.
struct Resolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver([certificate and key])")
    }
}

impl Resolver {
    fn current(&self) -> Arc<CertifiedKey> {
        // The lock guards one `Arc`: a panic elsewhere cannot leave it half-written.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// What one look at the files did.
#[derive(Debug)]
pub enum Reload {
    /// The files hold what was last read: nothing to do.
    Unchanged,
    /// A new certificate is served from now on.
    Replaced,
    /// The files changed but cannot be served; the current certificate stays.
    Kept(TlsError),
}

/// The last files read and the last error logged, so a change is acted on (and a bad pair
/// logged) once, not at every look.
#[derive(Default)]
struct Seen {
    pair: Option<Pair>,
    error: Option<String>,
}

/// The service's TLS: the settings every handshake uses and the certificate they are given,
/// which [`reload`](Self::reload) replaces when the files change.
///
/// ```
/// use std::collections::BTreeMap;
///
/// use secure_api::{Config, tls::{Reload, Tls}};
///
/// // A certificate and key, here handed over in environment variables (`env:` addresses).
/// let site = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
/// let env = BTreeMap::from([
///     ("SITE_CERT".to_owned(), site.cert.pem()),
///     ("SITE_KEY".to_owned(), site.signing_key.serialize_pem()),
/// ]);
/// let config = Config {
///     tls_cert: Some("env:SITE_CERT".to_owned()),
///     tls_key: Some("env:SITE_KEY".to_owned()),
///     ..Config::default()
/// };
/// let tls = Tls::from_config(&config, &env)?.expect("both are configured");
/// assert_eq!(tls.served_certificate(), site.cert.der().to_vec());
/// // Nothing changed since: nothing to do.
/// assert!(matches!(tls.reload(), Reload::Unchanged));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Tls {
    files: Files,
    provider: Arc<CryptoProvider>,
    resolver: Arc<Resolver>,
    server: Arc<ServerConfig>,
    seen: Arc<Mutex<Seen>>,
    every: Duration,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.files.cert)
            .field("key", &self.files.key)
            .field("reload_every", &self.every)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// The TLS the configuration asks for, with its certificate loaded now; `None` without
    /// `tls_cert` and `tls_key`. `env` is where `env:` and `systemd:` addresses are looked up.
    ///
    /// # Errors
    /// [`TlsError`] for an address that does not parse or a certificate and key that cannot
    /// be served: the service does not start without them.
    pub fn from_config(
        config: &Config,
        env: &BTreeMap<String, String>,
    ) -> Result<Option<Self>, TlsError> {
        let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
            return Ok(None);
        };
        let mut public = LocalSourceOptions::default();
        public.insecure_allow_readable_by_others = true;
        let files = Files {
            cert: address("tls_cert", cert)?,
            key: address("tls_key", key)?,
            cert_source: LocalSource::with_environment(env.clone()).options(public),
            key_source: LocalSource::with_environment(env.clone())
                .with_known_secrets(crate::known_secrets().clone()),
        };
        Self::new(files, Duration::from_secs(config.tls_reload_secs)).map(Some)
    }

    fn new(files: Files, every: Duration) -> Result<Self, TlsError> {
        let provider = Arc::new(provider());
        let pair = files.read()?;
        let resolver = Arc::new(Resolver {
            current: RwLock::new(Arc::new(files.certify(&pair, &provider)?)),
        });
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(TlsError::Settings)?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        server.ignore_client_order = true;
        Ok(Self {
            files,
            provider,
            resolver,
            server: Arc::new(server),
            seen: Arc::new(Mutex::new(Seen {
                pair: Some(pair),
                error: None,
            })),
            every,
        })
    }

    /// The acceptor for the service's listener.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server.clone())
    }

    /// The end-entity certificate served now (DER).
    pub fn served_certificate(&self) -> Vec<u8> {
        self.resolver
            .current()
            .end_entity_cert()
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// Reads the files again; serves them from now on if they changed and are good, and
    /// logs a change that cannot be served (once per change, not at every look).
    pub fn reload(&self) -> Reload {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let pair = match self.files.read() {
            Ok(pair) => pair,
            Err(e) => return Self::kept(&mut seen, e),
        };
        if seen.pair.as_ref().is_some_and(|last| last.same_as(&pair)) {
            return Reload::Unchanged;
        }
        let certified = self.files.certify(&pair, &self.provider);
        seen.pair = Some(pair);
        match certified {
            Ok(certified) => {
                self.resolver.replace(certified);
                seen.error = None;
                tracing::info!(
                    target: "secure_api::tls",
                    cert = %self.files.cert,
                    "tls: new certificate served"
                );
                Reload::Replaced
            }
            Err(e) => Self::kept(&mut seen, e),
        }
    }

    fn kept(seen: &mut Seen, e: TlsError) -> Reload {
        let message = e.to_string();
        if seen.error.as_deref() != Some(message.as_str()) {
            tracing::error!(
                target: "secure_api::tls",
                error = %message,
                "tls: new certificate refused; the current one is still served"
            );
            seen.error = Some(message);
        }
        Reload::Kept(e)
    }

    /// Looks at the files every `tls_reload_secs`, off the async threads, until aborted.
    async fn watch(self) {
        let mut interval = tokio::time::interval(self.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        loop {
            interval.tick().await;
            let tls = self.clone();
            let _ = tokio::task::spawn_blocking(move || tls.reload()).await;
        }
    }
}

/// HTTPS for [`serve_with`](crate::serve_with): the TLS settings and, if configured, the
/// bound plain-HTTP listener that redirects to HTTPS.
#[derive(Debug)]
pub struct Https {
    tls: Tls,
    redirect: Option<tokio::net::TcpListener>,
}

impl Https {
    /// HTTPS with `tls`, and a redirect listener on `redirect`.
    pub fn new(tls: Tls, redirect: Option<tokio::net::TcpListener>) -> Self {
        Self { tls, redirect }
    }
}

/// The plain-HTTP listener's whole service: every request, whatever its method and path, is
/// answered `308 Permanent Redirect` to the same path and query on `https://<authority>`,
/// with an empty body.
fn redirect_router(authority: Authority) -> Router {
    Router::new().fallback(move |uri: Uri| {
        let authority = authority.clone();
        async move { redirect(&authority, &uri) }
    })
}

fn redirect(authority: &Authority, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    // A request target in authority or absolute form has no path of its own.
    let path = if path.starts_with('/') { path } else { "/" };
    match HeaderValue::try_from(format!("https://{authority}{path}")) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        // Unreachable with a valid authority and a parsed path; refuse rather than guess.
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// Serves `app` over TLS on `listener`, and the redirect on its own listener, until SIGTERM
/// or Ctrl-C stops both; the certificate files are watched meanwhile.
pub(crate) async fn serve<S>(
    https: Https,
    listener: tokio::net::TcpListener,
    app: S,
    limits: Limits,
    gate: ConnectionGate,
    authority: Option<Authority>,
) where
    S: AppService,
{
    let Https { tls, redirect } = https;
    let watcher = tokio::spawn(tls.clone().watch());
    // One signal stops both listeners: dropping the sender ends every receiver's wait.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let signal = tokio::spawn(async move {
        server::shutdown_signal().await;
        drop(stop);
    });
    let wait = |mut rx: tokio::sync::watch::Receiver<()>| async move {
        while rx.changed().await.is_ok() {}
    };
    let redirect = match (redirect, authority) {
        (Some(listener), Some(authority)) => Some(tokio::spawn(server::run(
            listener,
            redirect_router(authority),
            limits,
            gate.clone(),
            None,
            wait(stopped.clone()),
        ))),
        (Some(_), None) => {
            tracing::warn!("http_redirect_listen without https_redirect_host: not listening");
            None
        }
        (None, _) => None,
    };
    server::run(
        listener,
        app,
        limits,
        gate,
        Some(tls.acceptor()),
        wait(stopped),
    )
    .await;
    if let Some(redirect) = redirect {
        let _ = redirect.await;
    }
    watcher.abort();
    signal.abort();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::path::Path;

    use super::*;

    /// A certificate for `localhost` and its key, in PEM.
    fn pair() -> (String, String) {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.pem(), signing_key.serialize_pem())
    }

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("secure-api-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `text` to `path` through a new file renamed over it, as a renewal job does.
    fn write(path: &Path, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        let next = path.with_extension("next");
        std::fs::write(&next, text).unwrap();
        std::fs::set_permissions(&next, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::rename(&next, path).unwrap();
    }

    fn tls_in(dir: &Path) -> Tls {
        let config = Config {
            tls_cert: Some(dir.join("cert.pem").display().to_string()),
            tls_key: Some(format!("file:{}", dir.join("key.pem").display())),
            ..Config::default()
        };
        Tls::from_config(&config, &BTreeMap::new())
            .unwrap()
            .unwrap()
    }

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn without_a_certificate_there_is_no_tls() {
        let none = Tls::from_config(&Config::default(), &BTreeMap::new()).unwrap();
        assert!(none.is_none());
    }

    /// The certificate and key may also come from palisade-secrets addresses: here both from
    /// environment variables (as an orchestrator may mount them).
    #[test]
    fn certificate_and_key_load_from_env_addresses() {
        let (cert, key) = pair();
        let env: BTreeMap<String, String> = [
            ("SITE_CERT".to_owned(), cert.clone()),
            ("SITE_KEY".to_owned(), key),
        ]
        .into();
        let config = Config {
            tls_cert: Some("env:SITE_CERT".to_owned()),
            tls_key: Some("env:SITE_KEY".to_owned()),
            ..Config::default()
        };
        let tls = Tls::from_config(&config, &env).unwrap().unwrap();
        assert_eq!(tls.served_certificate(), der(&cert));
    }

    /// A new good pair on disk is served after a reload; the same files again change nothing.
    #[test]
    fn a_rotated_certificate_is_served_after_reload() {
        let dir = dir("rotate");
        let (cert1, key1) = pair();
        write(&dir.join("cert.pem"), &cert1, 0o644);
        write(&dir.join("key.pem"), &key1, 0o600);
        let tls = tls_in(&dir);
        assert_eq!(tls.served_certificate(), der(&cert1));
        assert!(matches!(tls.reload(), Reload::Unchanged));

        let (cert2, key2) = pair();
        write(&dir.join("key.pem"), &key2, 0o600);
        write(&dir.join("cert.pem"), &cert2, 0o644);
        assert!(matches!(tls.reload(), Reload::Replaced));
        assert_eq!(tls.served_certificate(), der(&cert2));
        assert!(matches!(tls.reload(), Reload::Unchanged));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Bad new files (a key of another certificate, no certificate, a key others can read, a
    /// missing file) are refused with a reason that never quotes the key, and the current
    /// certificate goes on being served; good files afterwards are served.
    #[test]
    fn a_bad_new_certificate_keeps_the_current_one() {
        let dir = dir("bad");
        let (cert1, key1) = pair();
        write(&dir.join("cert.pem"), &cert1, 0o644);
        write(&dir.join("key.pem"), &key1, 0o600);
        let tls = tls_in(&dir);

        let (cert2, key2) = pair();
        let body_of_key1: String = key1.lines().filter(|l| !l.starts_with("-----")).collect();
        let check = |tls: &Tls, expected: &str| match tls.reload() {
            Reload::Kept(e) => {
                let message = e.to_string();
                assert!(message.contains(expected), "{message}");
                assert!(!message.contains(&body_of_key1), "{message}");
                assert_eq!(tls.served_certificate(), der(&cert1));
            }
            other => panic!("expected the current certificate kept, got {other:?}"),
        };
        // A new certificate whose key was not replaced.
        write(&dir.join("cert.pem"), &cert2, 0o644);
        check(&tls, "does not match");
        // Not a certificate at all.
        write(
            &dir.join("cert.pem"),
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            0o644,
        );
        check(&tls, "does not match");
        write(&dir.join("cert.pem"), "garbage\n", 0o644);
        check(&tls, "no PEM certificate");
        write(&dir.join("cert.pem"), &cert1, 0o644);
        write(&dir.join("key.pem"), "garbage\n", 0o600);
        check(&tls, "no PEM private key");
        // A key that its group or others can read is refused, as every secret file is.
        write(&dir.join("key.pem"), &key2, 0o644);
        check(&tls, "readable or writable by group or others");
        std::fs::remove_file(dir.join("key.pem")).unwrap();
        check(&tls, "not found");

        write(&dir.join("key.pem"), &key2, 0o600);
        write(&dir.join("cert.pem"), &cert2, 0o644);
        assert!(matches!(tls.reload(), Reload::Replaced));
        assert_eq!(tls.served_certificate(), der(&cert2));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The service starts only with a good pair.
    #[test]
    fn a_bad_certificate_at_start_is_an_error() {
        let dir = dir("start");
        let (cert, _) = pair();
        let (_, other_key) = pair();
        write(&dir.join("cert.pem"), &cert, 0o644);
        write(&dir.join("key.pem"), &other_key, 0o600);
        let config = Config {
            tls_cert: Some(dir.join("cert.pem").display().to_string()),
            tls_key: Some(dir.join("key.pem").display().to_string()),
            ..Config::default()
        };
        let err = Tls::from_config(&config, &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
        let bad_address = Config {
            tls_key: Some("file:relative/key.pem".to_owned()),
            ..config
        };
        let err = Tls::from_config(&bad_address, &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, TlsError::Config(_)), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A PEM pasted in place of the key's path or address is refused, and the message holds
    /// none of it.
    #[test]
    fn a_pem_given_in_place_of_a_path_is_refused_without_echo() {
        let (cert, key) = pair();
        let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
        let config = Config {
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..Config::default()
        };
        let err = Tls::from_config(&config, &BTreeMap::new()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("holds PEM text"), "{message}");
        assert!(!message.contains(&body), "{message}");
        assert!(!format!("{config:?}").contains(&body));
    }

    #[test]
    fn the_redirect_goes_to_the_configured_host_with_308_and_no_body() {
        let authority = Authority::from_static("api.example:8443");
        for (target, location) in [
            (
                "/auth/login?next=%2Fme",
                "https://api.example:8443/auth/login?next=%2Fme",
            ),
            (
                "//evil.example/x",
                "https://api.example:8443//evil.example/x",
            ),
            ("http://evil.example/", "https://api.example:8443/"),
        ] {
            let response = redirect(&authority, &target.parse().unwrap());
            assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
            assert_eq!(response.headers()[header::LOCATION], location);
            assert_eq!(
                axum::body::HttpBody::size_hint(response.body()).exact(),
                Some(0)
            );
        }
    }
}
