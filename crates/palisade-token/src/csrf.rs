//! Cross-site request forgery defences (OWASP CSRF cheat sheet): signed double-submit
//! tokens bound to the session, and a Fetch Metadata / Origin check. Framework-agnostic:
//! they take header values as strings and return a decision, never a response.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretBox};
use subtle::ConstantTimeEq as _;

use crate::error::{ConfigError, ErrorKind, InvalidToken};
use crate::jwt::b64;

/// Signed double-submit CSRF tokens: `base64url(random) "." base64url(HMAC(key, session id,
/// random))`. Put the token in a cookie and in each form or header; accept a request only
/// when both copies are equal and the signature binds them to the session.
pub struct CsrfTokens {
    key: SecretBox<[u8; 32]>,
}

impl fmt::Debug for CsrfTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfTokens { key: [REDACTED] }")
    }
}

impl CsrfTokens {
    /// CSRF tokens under `key`, a server secret of at least 32 bytes.
    ///
    /// # Errors
    /// [`ConfigError::SecretTooShort`].
    pub fn new(key: &[u8]) -> Result<Self, ConfigError> {
        Ok(Self {
            key: crate::server_key::server_key(key)?,
        })
    }

    /// A new token for the session `session_id`.
    pub fn issue(&self, session_id: &str) -> String {
        let random = crate::random::bytes_32();
        let mac = self.mac(session_id, &random);
        format!("{}.{}", b64::encode(&random), b64::encode(&mac))
    }

    /// Checks a request: `cookie` and `submitted` (form field or header) must be the same
    /// token, signed for `session_id`. Comparisons are constant-time.
    ///
    /// # Errors
    /// [`InvalidToken`] with kind `CsrfMismatch`.
    pub fn verify(
        &self,
        session_id: &str,
        cookie: &str,
        submitted: &str,
    ) -> Result<(), InvalidToken> {
        let result = self.check_pair(session_id, cookie, submitted);
        crate::telemetry::verification("csrf", result.err().map(|e| e.kind()));
        result
    }

    fn check_pair(
        &self,
        session_id: &str,
        cookie: &str,
        submitted: &str,
    ) -> Result<(), InvalidToken> {
        let fail = || InvalidToken::new(ErrorKind::CsrfMismatch);
        if cookie.len() > 128 || !bool::from(cookie.as_bytes().ct_eq(submitted.as_bytes())) {
            return Err(fail());
        }
        let (random, mac) = cookie.split_once('.').ok_or_else(fail)?;
        let random = b64::decode(random)
            .filter(|r| r.len() == 32)
            .ok_or_else(fail)?;
        let mac = b64::decode(mac).ok_or_else(fail)?;
        let expected = self.mac(session_id, &random);
        if bool::from(expected.as_slice().ct_eq(&mac)) {
            Ok(())
        } else {
            Err(fail())
        }
    }

    /// HMAC over the session id's length, the session id and the random value, so no
    /// (session, random) pair can be shifted into another.
    fn mac(&self, session_id: &str, random: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(8 + session_id.len() + random.len());
        data.extend_from_slice(&(session_id.len() as u64).to_be_bytes());
        data.extend_from_slice(session_id.as_bytes());
        data.extend_from_slice(random);
        crate::opaque::keyed(self.key.expose_secret(), &data)
    }
}

/// What a request's headers say about where it came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestOrigin<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: Option<&'a str>,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// `Host` (or the HTTP/2 `:authority`): the service's own `host[:port]` as the client
    /// addressed it. Used only for browsers that send no `Sec-Fetch-Site`.
    pub host: Option<&'a str>,
}

/// The verdict on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Safe method, the browser says the request comes from our origin, or it comes from a
    /// trusted origin.
    Allow,
    /// The request comes from another site (or an untrusted origin): refuse it.
    Deny,
    /// No browser signal at all (an old browser or a non-browser client): require the
    /// double-submit token.
    RequireToken,
}

/// A Fetch Metadata policy after Go 1.25's `http.CrossOriginProtection`.
///
/// For a state-changing method:
///
/// 1. `Sec-Fetch-Site: same-origin` or `none` (the user typed the address) is allowed.
/// 2. Any other `Sec-Fetch-Site` (`same-site`, `cross-site`) is allowed only when `Origin` is
///    one of the trusted origins: a single-page app on another origin that the service
///    trusts. Everything else is denied.
/// 3. A browser that sends no `Sec-Fetch-Site` is judged by `Origin` (then `Referer`): allowed
///    when it names the request's own `Host` or a trusted origin, denied otherwise.
/// 4. No signal at all: [`Decision::RequireToken`].
///
/// Safe methods (`GET`, `HEAD`, `OPTIONS`, `TRACE`) are always allowed.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    trusted: Vec<String>,
    allow_same_site: bool,
}

impl OriginPolicy {
    /// A policy trusting `origins` (each `scheme://host[:port]`, e.g. `https://app.example`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] if an origin has a path, no scheme, or a trailing slash.
    pub fn new<I, S>(origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut trusted = Vec::new();
        for o in origins {
            let o = o.as_ref();
            let Some((scheme, rest)) = o.split_once("://") else {
                return Err(ConfigError::InvalidSetting("origin without scheme"));
            };
            if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
                return Err(ConfigError::InvalidSetting(
                    "origin must be scheme://host[:port]",
                ));
            }
            trusted.push(o.to_ascii_lowercase());
        }
        Ok(Self {
            trusted,
            allow_same_site: false,
        })
    }

    /// Also allows `Sec-Fetch-Site: same-site` from any origin of the same site (sibling
    /// subdomains), trusted or not. Off by default: a subdomain taken over is then a CSRF
    /// source. To admit one sibling, list its origin instead.
    #[must_use]
    pub fn allow_same_site(mut self) -> Self {
        self.allow_same_site = true;
        self
    }

    /// Decides on a request.
    pub fn check(&self, request: &RequestOrigin<'_>) -> Decision {
        let method = request.method.to_ascii_uppercase();
        if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE") {
            return Decision::Allow;
        }
        let origin = request.origin.map(str::trim);
        if let Some(site) = request.sec_fetch_site {
            return match site.trim().to_ascii_lowercase().as_str() {
                // `none`: typed in the address bar or opened from a bookmark, by the user.
                "same-origin" | "none" => Decision::Allow,
                "same-site" if self.allow_same_site => Decision::Allow,
                // A browser that sends Fetch Metadata always sends `Origin` on a cross-origin
                // state-changing request: only a trusted one passes.
                _ if origin.is_some_and(|o| self.is_trusted(o)) => Decision::Allow,
                _ => Decision::Deny,
            };
        }
        if let Some(origin) = origin {
            return self.judge_origin(origin, request.host);
        }
        if let Some(referer) = request.referer {
            return match origin_of(referer.trim()) {
                Some(origin) => self.judge_origin(origin, request.host),
                None => Decision::Deny,
            };
        }
        Decision::RequireToken
    }

    fn is_trusted(&self, origin: &str) -> bool {
        self.trusted.iter().any(|t| t.eq_ignore_ascii_case(origin))
    }

    /// `origin` names the request's own host, or is trusted. `Origin: null` (sandboxed
    /// frames, `file:`, some redirects) is neither.
    fn judge_origin(&self, origin: &str, host: Option<&str>) -> Decision {
        let own = host.map(str::trim).is_some_and(|host| {
            !host.is_empty()
                && origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        });
        if own || self.is_trusted(origin) {
            Decision::Allow
        } else {
            Decision::Deny
        }
    }
}

/// `scheme://authority` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 || rest[..end].contains('@') {
        return None;
    }
    Some(&url[..scheme.len() + 3 + end])
}
