//! An identity provider's JWKS, fetched over HTTPS, cached and refreshed (feature
//! `jwks-remote`).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_rustls::TlsConnector;

use super::claims::Claims;
use super::fetch::{self, Endpoint};
use super::keyset::KeySet;
use super::payload::{Dates, Payload};
use super::verifier::Verifier;
use crate::clock::{self, Clock};
use crate::error::{ConfigError, ErrorKind, InvalidToken};

/// Default [`RemoteJwksBuilder::min_ttl`]: 5 minutes.
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(5 * 60);
/// Default [`RemoteJwksBuilder::max_ttl`]: 24 hours.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default [`RemoteJwksBuilder::refresh_interval`]: 1 minute.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Default [`RemoteJwksBuilder::max_stale`]: 6 hours.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(6 * 60 * 60);
/// Default [`RemoteJwksBuilder::timeout`]: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`RemoteJwksBuilder::max_response_bytes`]: 256 KiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why one fetch of the JWKS failed. Never contains the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The TCP connection (or the name lookup before it) failed.
    #[error("could not connect to the JWKS host: {0}")]
    Connect(String),
    /// The TLS handshake failed: most often a certificate that does not chain to a trusted
    /// root or does not name the host.
    #[error("TLS handshake with the JWKS host failed: {0}")]
    Tls(String),
    /// The whole exchange took longer than the configured timeout.
    #[error("fetching the JWKS took longer than {0:?}")]
    Timeout(Duration),
    /// The server answered with another status than 200 (redirects are not followed).
    #[error("the JWKS host answered HTTP {0}")]
    Status(u16),
    /// The body is longer than the configured cap.
    #[error("the JWKS response is larger than {0} bytes")]
    TooLarge(usize),
    /// The HTTP exchange failed.
    #[error("HTTP error fetching the JWKS: {0}")]
    Http(String),
    /// The body is not a JWKS palisade-token accepts (see [`KeySet::from_jwks`]).
    #[error("the fetched JWKS was refused: {0}")]
    InvalidJwks(String),
}

/// No key set can be used: the server error to answer with, never "invalid token".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// No JWKS has been fetched yet, and the last attempt failed. Attempts are at most one per
    /// refresh interval.
    #[error("no JWKS fetched yet: {0}")]
    NeverFetched(FetchError),
    /// The last good JWKS expired longer ago than the `max_stale` bound and every refresh since
    /// has failed: it is no longer trusted.
    #[error(
        "the JWKS expired {expired_for:?} ago, beyond the {max_stale:?} a stale set may be used, \
         and refreshing it failed: {last_error}"
    )]
    Stale {
        /// How long ago the last good set expired.
        expired_for: Duration,
        /// The configured bound.
        max_stale: Duration,
        /// Why the last refresh failed.
        last_error: FetchError,
    },
}

/// A token verified against a [`RemoteJwks`] was rejected, or no key set was available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The token was rejected; answer as for any invalid token.
    #[error(transparent)]
    Invalid(#[from] InvalidToken),
    /// The issuer's keys are unavailable; answer with a server error and retry later.
    #[error(transparent)]
    Unavailable(#[from] JwksError),
}

impl RemoteError {
    /// The rejection reason, when the token was rejected.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Invalid(e) => Some(e.kind()),
            Self::Unavailable(_) => None,
        }
    }
}

/// Configures a [`RemoteJwks`]; made by [`RemoteJwks::builder`].
pub struct RemoteJwksBuilder {
    url: String,
    allow_http: bool,
    min_ttl: Duration,
    max_ttl: Duration,
    refresh_interval: Duration,
    max_stale: Duration,
    timeout: Duration,
    max_bytes: usize,
    roots: Option<RootCertStore>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("url", &self.url)
            .field("allow_http", &self.allow_http)
            .field("min_ttl", &self.min_ttl)
            .field("max_ttl", &self.max_ttl)
            .field("refresh_interval", &self.refresh_interval)
            .field("max_stale", &self.max_stale)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("custom_roots", &self.roots.is_some())
            .finish_non_exhaustive()
    }
}

impl RemoteJwksBuilder {
    /// The shortest time a fetched set is kept before it is fetched again, whatever the
    /// server's `Cache-Control` says (default [`DEFAULT_MIN_TTL`]). A response without
    /// `max-age`, or with `no-cache`/`no-store`, is kept this long.
    #[must_use]
    pub fn min_ttl(mut self, ttl: Duration) -> Self {
        self.min_ttl = ttl;
        self
    }

    /// The longest time a fetched set is kept, whatever the server's `max-age` (default
    /// [`DEFAULT_MAX_TTL`]).
    #[must_use]
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// The least time between two fetches, whatever asks for them: an expired set, a token
    /// naming a `kid` the set does not hold, or a failed attempt (default
    /// [`DEFAULT_REFRESH_INTERVAL`]; at least 1 s, at most `min_ttl`). Tokens with made-up
    /// `kid`s therefore cost the issuer at most one request per interval.
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// How long past its expiry the last good set is still used while refreshes fail
    /// (default [`DEFAULT_MAX_STALE`]; zero fails closed at expiry). Beyond it, verification
    /// fails with [`JwksError::Stale`] until a fetch succeeds.
    #[must_use]
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// The time one fetch may take, from the name lookup to the last byte of the body
    /// (default [`DEFAULT_TIMEOUT`]; 100 ms to 2 minutes).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest body accepted, in bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`]; 1 KiB to
    /// 8 MiB). A longer one fails the fetch without being read further.
    #[must_use]
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// Trusts only the CA certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks)
    /// instead of the Mozilla root program's, for an issuer on a private PKI.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] if `pem` holds no certificate or one that is not a
    /// usable trust anchor.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let bad = || ConfigError::InvalidSetting("root certificates: no usable CA certificate");
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.map_err(|_| bad())?).map_err(|_| bad())?;
        }
        if roots.is_empty() {
            return Err(bad());
        }
        self.roots = Some(roots);
        Ok(self)
    }

    /// Accepts an `http://` URL. The document then travels unauthenticated, and anyone on
    /// the path can substitute their own keys: for tests against a local server only.
    #[must_use]
    pub fn insecure_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Uses `clock` instead of the system clock for expiry, the refresh interval and the
    /// stale bound (whole seconds). Timeouts use the runtime's timer.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the settings. Nothing is fetched until the keys are first needed.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] for a URL that is not `https` (or `http` with
    /// [`insecure_allow_http`](Self::insecure_allow_http)), has no host or carries
    /// credentials, and for settings out of range.
    pub fn build(self) -> Result<RemoteJwks, ConfigError> {
        let endpoint =
            Endpoint::parse(&self.url, self.allow_http).map_err(ConfigError::InvalidSetting)?;
        if self.min_ttl > self.max_ttl {
            return Err(ConfigError::InvalidSetting("min_ttl above max_ttl"));
        }
        if self.refresh_interval < Duration::from_secs(1) || self.refresh_interval > self.min_ttl {
            return Err(ConfigError::InvalidSetting(
                "refresh_interval outside 1 s..=min_ttl",
            ));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(120)).contains(&self.timeout) {
            return Err(ConfigError::InvalidSetting(
                "timeout outside 100 ms..=2 minutes",
            ));
        }
        if !(1024..=8 << 20).contains(&self.max_bytes) {
            return Err(ConfigError::InvalidSetting(
                "max_response_bytes outside 1 KiB..=8 MiB",
            ));
        }
        let roots = self.roots.unwrap_or_else(|| RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
        // AWS-LC by name, as for signatures: never the process-wide rustls provider.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| ConfigError::InvalidSetting("TLS: no protocol version available"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                endpoint,
                tls: TlsConnector::from(Arc::new(config)),
                min_ttl: self.min_ttl.as_secs(),
                max_ttl: self.max_ttl.as_secs(),
                interval: self.refresh_interval.as_secs(),
                max_stale: self.max_stale.as_secs(),
                timeout: self.timeout,
                max_bytes: self.max_bytes,
                clock: self.clock,
                state: RwLock::new(State::default()),
                flight: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// An identity provider's JWKS (its `jwks_uri`), fetched over HTTPS and cached.
///
/// - **HTTPS only**, on rustls with AWS-LC and the Mozilla root program's CAs (or
///   [your own](RemoteJwksBuilder::root_certificates_pem)); `http://` is refused unless
///   [`insecure_allow_http`](RemoteJwksBuilder::insecure_allow_http) is called. Redirects
///   are not followed.
/// - **Cached** for the server's `Cache-Control: max-age` (less `Age`), clamped to
///   [`min_ttl`](RemoteJwksBuilder::min_ttl)..=[`max_ttl`](RemoteJwksBuilder::max_ttl).
/// - **Refreshed** when it expires, or when a token names a `kid` it does not hold, but never
///   twice within the [`refresh_interval`](RemoteJwksBuilder::refresh_interval); concurrent
///   callers share one fetch.
/// - **On failure** the last good set is kept for
///   [`max_stale`](RemoteJwksBuilder::max_stale) past its expiry, then verification fails
///   closed ([`JwksError::Stale`]).
/// - **Bounded**: one [`timeout`](RemoteJwksBuilder::timeout) for the whole fetch and a
///   [size cap](RemoteJwksBuilder::max_response_bytes) on the body.
/// - **Imported** under [`KeySet::from_jwks`]'s rules: private parameters, RSA moduli outside
///   2048 to 8192 bits and contradictory `alg`/`kty` refuse the whole document.
///
/// Cheap to clone; clones share the cache. Verify with [`RemoteVerifier`].
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

struct Inner {
    endpoint: Endpoint,
    tls: TlsConnector,
    min_ttl: u64,
    max_ttl: u64,
    interval: u64,
    max_stale: u64,
    timeout: Duration,
    max_bytes: usize,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    /// Held by the one caller fetching; the others wait for its result or use the last set.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// When `keys` must be fetched again (clock seconds).
    expires_at: u64,
    /// When the last fetch started, successful or not.
    last_attempt: Option<u64>,
    /// Why the last fetch failed, if it did.
    last_error: Option<FetchError>,
}

/// What the cache can give without fetching.
enum Cached {
    /// A set within its lifetime.
    Fresh(Arc<KeySet>),
    /// An expired set, still within the stale bound.
    Stale(Arc<KeySet>),
    /// Nothing usable.
    None,
}

impl State {
    fn cached(&self, now: u64, max_stale: u64) -> Cached {
        match &self.keys {
            Some(keys) if now < self.expires_at => Cached::Fresh(keys.clone()),
            Some(keys) if now < self.expires_at.saturating_add(max_stale) => {
                Cached::Stale(keys.clone())
            }
            _ => Cached::None,
        }
    }

    fn may_fetch(&self, now: u64, interval: u64) -> bool {
        self.last_attempt
            .is_none_or(|last| now >= last.saturating_add(interval))
    }
}

impl RemoteJwks {
    /// A client for the JWKS at `url` with the default settings; see [`RemoteJwksBuilder`].
    pub fn builder(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: url.into(),
            allow_http: false,
            min_ttl: DEFAULT_MIN_TTL,
            max_ttl: DEFAULT_MAX_TTL,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_stale: DEFAULT_MAX_STALE,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            roots: None,
            clock: clock::system(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The key set to verify with: the cached one while fresh; otherwise fetched again (one
    /// fetch for all concurrent callers, at most one per refresh interval), or the last good
    /// one while refreshes fail and it is within the stale bound.
    ///
    /// # Errors
    /// [`JwksError::NeverFetched`] before a first successful fetch, [`JwksError::Stale`]
    /// beyond the stale bound.
    pub async fn key_set(&self) -> Result<Arc<KeySet>, JwksError> {
        let inner = &self.inner;
        let expired = match self.read().cached(inner.clock.now(), inner.max_stale) {
            Cached::Fresh(keys) => return Ok(keys),
            Cached::Stale(keys) => Some(keys),
            Cached::None => None,
        };
        // While another caller fetches, an expired set within the stale bound answers at once;
        // with none, wait for the fetch.
        let _flight = match (inner.flight.try_lock(), expired) {
            (Ok(guard), _) => guard,
            (Err(_), Some(keys)) => return Ok(keys),
            (Err(_), None) => inner.flight.lock().await,
        };
        let now = inner.clock.now();
        let may_fetch = {
            let state = self.read();
            if let Cached::Fresh(keys) = state.cached(now, inner.max_stale) {
                return Ok(keys);
            }
            state.may_fetch(now, inner.interval)
        };
        if may_fetch && let Ok(keys) = self.fetch(now).await {
            return Ok(keys);
        }
        self.usable_or_error()
    }

    /// After a token named a `kid` that `seen` does not hold: a newer set if another caller
    /// fetched one meanwhile, or one fetched now if the refresh interval allows; `None` when
    /// there is nothing newer to try.
    async fn refreshed_for_unknown_kid(&self, seen: &Arc<KeySet>) -> Option<Arc<KeySet>> {
        let inner = &self.inner;
        let _flight = inner.flight.lock().await;
        let now = inner.clock.now();
        {
            let state = self.read();
            if let Some(current) = &state.keys
                && !Arc::ptr_eq(current, seen)
            {
                return Some(current.clone());
            }
            if !state.may_fetch(now, inner.interval) {
                return None;
            }
        }
        self.fetch(now).await.ok()
    }

    /// The set still usable after a failed or refused fetch, or why there is none.
    fn usable_or_error(&self) -> Result<Arc<KeySet>, JwksError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let state = self.read();
        match state.cached(now, inner.max_stale) {
            Cached::Fresh(keys) | Cached::Stale(keys) => Ok(keys),
            Cached::None => {
                let last_error = state
                    .last_error
                    .clone()
                    .unwrap_or(FetchError::Http("no fetch attempted".to_owned()));
                if state.keys.is_some() {
                    Err(JwksError::Stale {
                        expired_for: Duration::from_secs(now.saturating_sub(state.expires_at)),
                        max_stale: Duration::from_secs(inner.max_stale),
                        last_error,
                    })
                } else {
                    Err(JwksError::NeverFetched(last_error))
                }
            }
        }
    }

    /// Fetches and imports the set, recording the attempt; called holding `flight`.
    async fn fetch(&self, now: u64) -> Result<Arc<KeySet>, FetchError> {
        let inner = &self.inner;
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .last_attempt = Some(now);
        let result = fetch::get(&inner.endpoint, &inner.tls, inner.timeout, inner.max_bytes)
            .await
            .and_then(|fetched| {
                let text = std::str::from_utf8(&fetched.body)
                    .map_err(|_| FetchError::InvalidJwks("not UTF-8".to_owned()))?;
                let keys = KeySet::from_jwks(text).map_err(|e| match e {
                    ConfigError::InvalidJwks(why) => FetchError::InvalidJwks(why),
                    other => FetchError::InvalidJwks(other.to_string()),
                })?;
                let ttl = fetched
                    .max_age
                    .unwrap_or(inner.min_ttl)
                    .clamp(inner.min_ttl, inner.max_ttl);
                Ok((Arc::new(keys), ttl))
            });
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok((keys, ttl)) => {
                state.keys = Some(keys.clone());
                state.expires_at = now.saturating_add(ttl);
                state.last_error = None;
                Ok(keys)
            }
            Err(e) => {
                state.last_error = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// A [`Verifier`] whose keys come from a [`RemoteJwks`]: every check of the verifier, with the
/// key chosen from the remote set. A token naming a `kid` the set does not hold triggers one
/// refresh (within the refresh interval's limit) and is checked again.
#[derive(Debug, Clone)]
pub struct RemoteVerifier {
    verifier: Verifier,
    jwks: RemoteJwks,
}

impl RemoteVerifier {
    /// Verifies with `jwks`, under every setting of `settings` (issuer, audience, `typ`,
    /// required claims, leeway, size cap, clock). The key set `settings` was built with is not
    /// used: build it with `Verifier::new(KeySet::new())`, or any preset such as
    /// [`Verifier::access_tokens`].
    pub fn new(jwks: RemoteJwks, settings: Verifier) -> Self {
        Self {
            verifier: settings,
            jwks,
        }
    }

    /// The remote key set.
    pub fn jwks(&self) -> &RemoteJwks {
        &self.jwks
    }

    /// Verifies `token` and returns its claims, with the application's claims as `T`.
    ///
    /// # Errors
    /// [`RemoteError::Invalid`] for a rejected token, [`RemoteError::Unavailable`] when no key
    /// set can be used.
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Claims<T>, RemoteError> {
        let result = self
            .verify_payload(token)
            .await
            .and_then(|(payload, dates)| {
                payload
                    .into_claims(dates)
                    .map_err(|kind| RemoteError::Invalid(InvalidToken::new(kind)))
            });
        record(&self.verifier, &result);
        result
    }

    /// Verifies `token` and returns the whole payload as a JSON object.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub async fn verify_json(&self, token: &str) -> Result<Value, RemoteError> {
        let result = self
            .verify_payload(token)
            .await
            .map(|(payload, dates)| Value::Object(payload.into_json(dates)));
        record(&self.verifier, &result);
        result
    }

    async fn verify_payload(&self, token: &str) -> Result<(Payload, Dates), RemoteError> {
        let keys = self.jwks.key_set().await?;
        match self.verifier.check(&keys, token) {
            Err(ErrorKind::UnknownKey) => {
                let Some(newer) = self.jwks.refreshed_for_unknown_kid(&keys).await else {
                    return Err(InvalidToken::new(ErrorKind::UnknownKey).into());
                };
                self.verifier
                    .check(&newer, token)
                    .map_err(|kind| InvalidToken::new(kind).into())
            }
            other => other.map_err(|kind| InvalidToken::new(kind).into()),
        }
    }
}

/// Counts a verification, as `verifier` counts its own; keys being unavailable is no verdict
/// about the token.
fn record<T>(verifier: &Verifier, result: &Result<T, RemoteError>) {
    match result {
        Ok(_) => verifier.count(None),
        Err(RemoteError::Invalid(e)) => verifier.count(Some(e.kind())),
        Err(RemoteError::Unavailable(_)) => {}
    }
}
