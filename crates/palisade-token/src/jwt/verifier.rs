//! The strict verifier: every check on by default, configured only to add checks.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::claims::{self, Claims};
use super::header::{self, TokenType};
use super::keyset::KeySet;
use super::payload::{Dates, Payload};
use crate::clock::{self, Clock};
use crate::error::{ConfigError, ErrorKind, InvalidToken};

/// Decoded JOSE headers up to this length stay on the stack: `alg`, `typ` and a `kid` of
/// up to about 100 characters.
const HEADER_INLINE: usize = 160;

/// Decoded signatures up to this length stay on the stack: every HMAC, ECDSA (P-521's is
/// 132 bytes) and Ed25519 signature. RSA signatures take the heap, next to an RSA
/// verification that costs far more.
const SIGNATURE_INLINE: usize = 132;

/// The default size cap: 8 KiB, generous for any bearer token a header can carry.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The default leeway for `nbf` and `iat`: 30 seconds of clock skew between hosts.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims [`Verifier::access_tokens`] requires besides `exp`.
const ACCESS_TOKEN_CLAIMS: [&str; 3] = ["sub", "iat", "jti"];

/// Whether a required claim is there: present, not `null`, not an empty string.
fn present(payload: &Payload, name: &str) -> bool {
    match payload.get(name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Verifies JWTs against a [`KeySet`]. Strict without configuration:
///
/// - the token must be at most [`DEFAULT_MAX_TOKEN_BYTES`] long, checked before any decoding;
/// - the key is chosen by `kid`, and the token's `alg` must be that key's algorithm
///   (`none`, in any letter case, never is);
/// - `crit`, embedded keys and key URLs (`jwk`, `jku`, `x5u`, `x5c`, `x5t`) are rejected;
/// - the signature must verify, then `exp` must be present and in the future (no leeway);
///   `nbf` and `iat` may be up to [`DEFAULT_LEEWAY`] in the future;
/// - registered claims must have their JSON types (`exp` a number, `iss` a string...);
/// - a token carrying `aud` is rejected unless an audience is configured and matches
///   (RFC 7519 §4.1.3).
///
/// Configure the issuer, audience, `typ`, required claims, maximum age and leeway to add
/// checks. [`Verifier::access_tokens`] is the preset for OAuth 2.0 access tokens (RFC 9068).
///
/// With the `metrics` feature, every verification is counted in
/// `palisade_token_verifications_total`. The verifier takes its handle on the accepted-token
/// series from the recorder installed when it is built, so that counting an accepted token is
/// an increment, not a lookup in the recorder: install the recorder first. One built before
/// counts its accepted tokens into the facade's no-op; rejections are looked up when they
/// happen.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: Arc<KeySet>,
    issuer: Option<String>,
    audience: Option<String>,
    typ: Option<TokenType>,
    leeway: u64,
    max_age: Option<u64>,
    max_bytes: usize,
    required: Vec<String>,
    clock: Arc<dyn Clock>,
    /// Counts verifications (with the `metrics` feature).
    counted: crate::telemetry::JwtVerifications,
}

impl Verifier {
    /// A verifier for tokens signed by `keys`.
    pub fn new(keys: impl Into<Arc<KeySet>>) -> Self {
        Self {
            keys: keys.into(),
            issuer: None,
            audience: None,
            typ: None,
            leeway: DEFAULT_LEEWAY.as_secs(),
            max_age: None,
            max_bytes: DEFAULT_MAX_TOKEN_BYTES,
            required: Vec::new(),
            clock: clock::system(),
            counted: crate::telemetry::JwtVerifications::new(),
        }
    }

    /// The preset for access tokens (RFC 9068, with RFC 8725 §3.11 explicit typing): the
    /// header's `typ` must be `at+jwt`, and `sub`, `iat` and `jti` must be present, so an ID
    /// token or any other JWT signed by the same key is never taken for an access token.
    /// Tokens from [`Issuer::access_tokens`](super::Issuer::access_tokens) pass it. Add
    /// [`issuer`](Self::issuer) and [`audience`](Self::audience), which RFC 9068 also
    /// requires; `client_id` is left to the application
    /// ([`require_claims`](Self::require_claims)).
    pub fn access_tokens(keys: impl Into<Arc<KeySet>>) -> Self {
        Self::new(keys)
            .typ(TokenType::AccessToken)
            .require_claims(ACCESS_TOKEN_CLAIMS)
    }

    /// Requires `iss` to equal `issuer` exactly.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to be, or contain, `audience` exactly.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Requires the header's `typ` to be `typ` (compared as RFC 7515 says: case-insensitive,
    /// `application/` optional). A token without `typ` is refused
    /// ([`ErrorKind::MissingType`]), one with another `typ` too ([`ErrorKind::WrongType`]).
    #[must_use]
    pub fn typ(mut self, typ: TokenType) -> Self {
        self.typ = Some(typ);
        self
    }

    /// Rejects tokens whose `iat` is older than `max_age` (and tokens without `iat`).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// Requires a `jti` (needed to revoke tokens one by one); the same as
    /// `require_claims(["jti"])`.
    #[must_use]
    pub fn require_jti(self) -> Self {
        self.require_claims(["jti"])
    }

    /// Requires each named claim (`"sub"`, `"jti"`, `"client_id"`...) to be present, not
    /// `null` and, if a string, not empty. Checked after the signature and before the caller
    /// sees any claim; a token missing one is refused ([`ErrorKind::MissingClaim`]). Adds to
    /// the claims already required.
    #[must_use]
    pub fn require_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for name in names {
            let name = name.into();
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
        self
    }

    /// The clock skew tolerated for `nbf` and `iat` (default 30 s, at most 5 minutes).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] above 5 minutes.
    pub fn leeway(mut self, leeway: Duration) -> Result<Self, ConfigError> {
        if leeway > Duration::from_secs(300) {
            return Err(ConfigError::InvalidSetting("leeway above 5 minutes"));
        }
        self.leeway = leeway.as_secs();
        Ok(self)
    }

    /// The size cap in bytes (default 8 KiB; between 64 bytes and 1 MiB).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSetting`] outside that range.
    pub fn max_token_bytes(mut self, max: usize) -> Result<Self, ConfigError> {
        if !(64..=1 << 20).contains(&max) {
            return Err(ConfigError::InvalidSetting(
                "max_token_bytes outside 64..=1 MiB",
            ));
        }
        self.max_bytes = max;
        Ok(self)
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the key set (after a rotation) keeping every other setting.
    #[must_use]
    pub fn with_keys(&self, keys: impl Into<Arc<KeySet>>) -> Self {
        Self {
            keys: keys.into(),
            ..self.clone()
        }
    }

    /// Verifies `token` and returns its claims, with the application's claims as `T`.
    ///
    /// # Errors
    /// [`InvalidToken`]; its [`kind`](InvalidToken::kind) says why.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Claims<T>, InvalidToken> {
        let result = self
            .check(&self.keys, token)
            .and_then(|(payload, dates)| payload.into_claims(dates))
            .map_err(InvalidToken::new);
        self.count(result.as_ref().err().map(InvalidToken::kind));
        result
    }

    /// Verifies `token` and returns the whole payload as a JSON object.
    ///
    /// # Errors
    /// [`InvalidToken`].
    pub fn verify_json(&self, token: &str) -> Result<Value, InvalidToken> {
        let result = self
            .check(&self.keys, token)
            .map(|(payload, dates)| Value::Object(payload.into_json(dates)))
            .map_err(InvalidToken::new);
        self.count(result.as_ref().err().map(InvalidToken::kind));
        result
    }

    /// Counts one verification: accepted (`None`) or rejected, and why.
    pub(crate) fn count(&self, outcome: Option<ErrorKind>) {
        self.counted.record(outcome);
    }

    /// Every check, with the key chosen from `keys` (the verifier's own set, or a remote one):
    /// the payload and its `NumericDate`s (fractions truncated) when the token passes.
    pub(crate) fn check(&self, keys: &KeySet, token: &str) -> Result<(Payload, Dates), ErrorKind> {
        if token.len() > self.max_bytes {
            return Err(ErrorKind::TooLarge);
        }
        let (signing_input, signature) = token.rsplit_once('.').ok_or(ErrorKind::Malformed)?;
        let (header_b64, payload_b64) =
            signing_input.split_once('.').ok_or(ErrorKind::Malformed)?;
        if payload_b64.contains('.') {
            return Err(ErrorKind::Malformed);
        }
        // Buffers for the common sizes; a longer header or an RSA signature takes the heap.
        let (mut header_buf, mut signature_buf) = ([0; HEADER_INLINE], [0; SIGNATURE_INLINE]);
        let header_bytes =
            super::b64::decode_into(header_b64, &mut header_buf).ok_or(ErrorKind::Malformed)?;
        let header = header::parse(&header_bytes)?;
        let key = keys
            .find(header.kid.as_deref())
            .ok_or(ErrorKind::UnknownKey)?;
        if header.alg != key.alg.as_str() {
            return Err(ErrorKind::AlgorithmMismatch);
        }
        if let Some(want) = &self.typ {
            match header.typ.as_deref() {
                None => return Err(ErrorKind::MissingType),
                Some(typ) if !want.matches(typ) => return Err(ErrorKind::WrongType),
                Some(_) => {}
            }
        }
        // Decoded strictly here, so acceptance never rests on the dependency's decoder.
        let signature = super::b64::decode_into(signature, &mut signature_buf)
            .filter(|s| !s.is_empty())
            .ok_or(ErrorKind::BadSignature)?;
        if !key.verify(&signature, signing_input.as_bytes()) {
            return Err(ErrorKind::BadSignature);
        }
        let payload_bytes = super::b64::decode(payload_b64).ok_or(ErrorKind::Malformed)?;
        let payload = super::payload::parse(&payload_bytes).ok_or(ErrorKind::Malformed)?;
        let dates = self.check_claims(&payload)?;
        Ok((payload, dates))
    }

    /// The size cap in bytes.
    pub(crate) fn max_token_len(&self) -> usize {
        self.max_bytes
    }

    /// The verifier's clock: seconds since the epoch.
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The checks that depend on the time, at `now`: `exp` present and in the future, `nbf`
    /// and `iat` not beyond the leeway, and `iat` within the maximum age.
    pub(crate) fn check_times(
        &self,
        exp: Option<u64>,
        nbf: Option<u64>,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), ErrorKind> {
        let exp = exp.ok_or(ErrorKind::MissingClaim)?;
        if now >= exp {
            return Err(ErrorKind::Expired);
        }
        if let Some(nbf) = nbf
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(ErrorKind::NotYetValid);
        }
        if let Some(iat) = iat
            && iat > now.saturating_add(self.leeway)
        {
            return Err(ErrorKind::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            let iat = iat.ok_or(ErrorKind::MissingClaim)?;
            if now.saturating_sub(iat) > max_age {
                return Err(ErrorKind::TooOld);
            }
        }
        Ok(())
    }

    fn check_claims(&self, payload: &Payload) -> Result<Dates, ErrorKind> {
        let reg = claims::registered(payload)?;
        self.check_times(reg.exp, reg.nbf, reg.iat, self.clock.now())?;
        if let Some(want) = &self.issuer {
            match reg.iss {
                None => return Err(ErrorKind::MissingClaim),
                Some(iss) if iss != want => return Err(ErrorKind::WrongIssuer),
                Some(_) => {}
            }
        }
        match (&self.audience, &reg.aud) {
            (Some(_), None) => return Err(ErrorKind::MissingClaim),
            (Some(want), Some(aud)) if !claims::audience_contains(aud, want) => {
                return Err(ErrorKind::WrongAudience);
            }
            (None, Some(_)) => return Err(ErrorKind::WrongAudience),
            _ => {}
        }
        if !self.required.iter().all(|name| present(payload, name)) {
            return Err(ErrorKind::MissingClaim);
        }
        Ok(Dates {
            exp: reg.exp,
            nbf: reg.nbf,
            iat: reg.iat,
        })
    }
}
