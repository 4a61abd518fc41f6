//! Device cookies (OWASP's device-cookie scheme): a signed, expiring token that a browser gets
//! after a successful login to one account and presents on later logins to that account, so a
//! device that has proved itself is not slowed down by failures other clients cause.
//!
//! Format: `base64url(nonce ‖ expiry) "." base64url(tag)`, with a 16-byte random nonce (the
//! device's identity), the expiry in big-endian Unix seconds, and
//! `tag = HMAC-SHA256(key, domain ‖ len(account) ‖ account ‖ nonce ‖ expiry)`. The account is
//! not in the cookie: a cookie issued for one account fails the check for any other.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac as _};
use secrecy::{ExposeSecret as _, SecretBox};
use sha2::Sha256;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 16;
const BODY_LEN: usize = NONCE_LEN + 8;
const TAG_LEN: usize = 32;
/// Longest cookie value looked at; anything longer is refused before decoding.
const MAX_COOKIE_LEN: usize = 128;
const DOMAIN: &[u8] = b"palisade-ratelimit device cookie v1\0";

/// The device a valid cookie names: its random nonce. Used as the key of the device's own
/// failure counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceId([u8; NONCE_LEN]);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

/// A device-cookie setup error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceCookieSetupError {
    /// The key is shorter than [`MIN_KEY_LEN`] bytes: generate 32 random bytes.
    #[error(
        "the device-cookie key must be at least 32 bytes; generate one with `openssl rand -hex 32`"
    )]
    KeyTooShort,
    /// The lifetime is zero.
    #[error("the device-cookie lifetime must be positive")]
    ZeroLifetime,
    /// The operating system's random number generator failed while issuing a cookie.
    #[error("the operating system's random number generator failed")]
    Randomness,
}

/// Why a device cookie was refused, for logs ([`DeviceCookieError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceCookieErrorKind {
    /// Not a device cookie at all (length, encoding).
    Malformed,
    /// The signature does not match: tampered, made with another key, or issued for another
    /// account.
    BadSignature,
    /// Past its expiry.
    Expired,
}

/// A device cookie was refused. Its message says nothing about why; [`kind`](Self::kind) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid device cookie")]
pub struct DeviceCookieError {
    kind: DeviceCookieErrorKind,
}

impl DeviceCookieError {
    /// Why, for logs and metrics.
    pub fn kind(&self) -> DeviceCookieErrorKind {
        self.kind
    }
}

fn refuse(kind: DeviceCookieErrorKind) -> DeviceCookieError {
    DeviceCookieError { kind }
}

/// Issues and checks device cookies under one secret key.
///
/// ```
/// use palisade_ratelimit::login::DeviceCookies;
/// use secrecy::SecretBox;
///
/// let key = SecretBox::new(vec![7u8; 32].into_boxed_slice()); // 32 random bytes in practice
/// let cookies = DeviceCookies::new(key)?;
/// let cookie = cookies.issue("alice")?;
/// assert!(cookies.verify("alice", &cookie).is_ok());
/// assert!(cookies.verify("mallory", &cookie).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DeviceCookies {
    key: SecretBox<[u8]>,
    ttl: Duration,
}

impl fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCookies")
            .field("key", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl DeviceCookies {
    /// How long a cookie is valid unless set otherwise: 30 days.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

    /// Cookies signed with `key` (at least 32 bytes), valid for [`Self::DEFAULT_TTL`].
    ///
    /// # Errors
    ///
    /// [`DeviceCookieSetupError::KeyTooShort`].
    pub fn new(key: SecretBox<[u8]>) -> Result<Self, DeviceCookieSetupError> {
        if key.expose_secret().len() < MIN_KEY_LEN {
            return Err(DeviceCookieSetupError::KeyTooShort);
        }
        Ok(Self {
            key,
            ttl: Self::DEFAULT_TTL,
        })
    }

    /// Sets how long a new cookie is valid.
    ///
    /// # Errors
    ///
    /// [`DeviceCookieSetupError::ZeroLifetime`].
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self, DeviceCookieSetupError> {
        if ttl.as_secs() == 0 {
            return Err(DeviceCookieSetupError::ZeroLifetime);
        }
        self.ttl = ttl;
        Ok(self)
    }

    /// How long a new cookie is valid (its `Max-Age`).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn tag(&self, account: &str, body: &[u8; BODY_LEN]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.expose_secret())
            .expect("HMAC takes keys of any length");
        mac.update(DOMAIN);
        mac.update(&(account.len() as u64).to_be_bytes());
        mac.update(account.as_bytes());
        mac.update(body);
        mac
    }

    /// A new cookie for `account`, valid from now for [`ttl`](Self::ttl).
    ///
    /// # Errors
    ///
    /// [`DeviceCookieSetupError::Randomness`] if the system's random source fails.
    pub fn issue(&self, account: &str) -> Result<String, DeviceCookieSetupError> {
        self.issue_at(account, unix_now())
    }

    /// A new cookie for `account` as if the time were `now_unix` (seconds since the epoch).
    ///
    /// # Errors
    ///
    /// [`DeviceCookieSetupError::Randomness`] if the system's random source fails.
    pub fn issue_at(&self, account: &str, now_unix: u64) -> Result<String, DeviceCookieSetupError> {
        let mut body = [0u8; BODY_LEN];
        getrandom::fill(&mut body[..NONCE_LEN]).map_err(|_| DeviceCookieSetupError::Randomness)?;
        let expires = now_unix.saturating_add(self.ttl.as_secs());
        body[NONCE_LEN..].copy_from_slice(&expires.to_be_bytes());
        let tag = self.tag(account, &body).finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Checks `cookie` for `account` now.
    ///
    /// # Errors
    ///
    /// [`DeviceCookieError`] for a malformed, forged, other account's or expired cookie.
    pub fn verify(&self, account: &str, cookie: &str) -> Result<DeviceId, DeviceCookieError> {
        self.verify_at(account, cookie, unix_now())
    }

    /// Checks `cookie` for `account` as if the time were `now_unix`. The signature is compared
    /// in constant time, before the expiry is looked at.
    ///
    /// # Errors
    ///
    /// [`DeviceCookieError`] for a malformed, forged, other account's or expired cookie.
    pub fn verify_at(
        &self,
        account: &str,
        cookie: &str,
        now_unix: u64,
    ) -> Result<DeviceId, DeviceCookieError> {
        if cookie.len() > MAX_COOKIE_LEN {
            return Err(refuse(DeviceCookieErrorKind::Malformed));
        }
        let (body, tag) = cookie
            .split_once('.')
            .ok_or(refuse(DeviceCookieErrorKind::Malformed))?;
        let body: [u8; BODY_LEN] = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(refuse(DeviceCookieErrorKind::Malformed))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .ok()
            .filter(|t| t.len() == TAG_LEN)
            .ok_or(refuse(DeviceCookieErrorKind::Malformed))?;
        // `verify_slice` compares in constant time.
        self.tag(account, &body)
            .verify_slice(&tag)
            .map_err(|_| refuse(DeviceCookieErrorKind::BadSignature))?;
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&body[NONCE_LEN..]);
        if u64::from_be_bytes(expires) <= now_unix {
            return Err(refuse(DeviceCookieErrorKind::Expired));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&body[..NONCE_LEN]);
        Ok(DeviceId(nonce))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies() -> DeviceCookies {
        DeviceCookies::new(SecretBox::new(vec![42u8; 32].into_boxed_slice())).expect("key")
    }

    #[test]
    fn debug_never_shows_the_key() {
        let text = format!("{:?}", cookies());
        assert!(text.contains("REDACTED") && !text.contains("42"), "{text}");
    }

    #[test]
    fn short_keys_and_zero_lifetimes_are_refused() {
        let short = SecretBox::new(vec![1u8; 31].into_boxed_slice());
        assert_eq!(
            DeviceCookies::new(short).err(),
            Some(DeviceCookieSetupError::KeyTooShort)
        );
        assert_eq!(
            cookies().with_ttl(Duration::from_millis(10)).err(),
            Some(DeviceCookieSetupError::ZeroLifetime)
        );
    }
}
