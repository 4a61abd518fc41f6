//! The [`Hasher`]: hash new passwords, verify stored hashes, report when to upgrade them.

use std::{sync::Arc, time::Duration};

use argon2::{Algorithm, Argon2, Version};
use password_hash::phc;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use zeroize::Zeroizing;

use crate::{
    ct::digests_match,
    error::{ConfigError, HashError, VerifyError, VerifyErrorKind},
    limits::Limits,
    memory::MemoryBudget,
    params::{Params, SALT_LEN},
    pepper::{Pepper, Peppers},
    secret::{Password, PasswordHash},
    stored::{self, Argon2Stored, Stored},
    telemetry,
};

/// Why a stored hash that verified should be replaced by a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RehashReason {
    /// bcrypt, PBKDF2 or scrypt: migrate to Argon2id.
    LegacyAlgorithm,
    /// Argon2i or Argon2d instead of Argon2id.
    Argon2Variant,
    /// Argon2 version 0x10 instead of 0x13.
    Argon2Version,
    /// Less memory than the policy.
    MemoryCost,
    /// Fewer passes than the policy.
    TimeCost,
    /// A shorter hash output than the policy.
    OutputLength,
    /// A salt shorter than 16 bytes.
    SaltLength,
    /// Made with a retired pepper.
    PepperRetired,
    /// Made without a pepper, and the hasher now has one.
    PepperMissing,
}

impl RehashReason {
    /// A short stable name, for log fields and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LegacyAlgorithm => "legacy_algorithm",
            Self::Argon2Variant => "argon2_variant",
            Self::Argon2Version => "argon2_version",
            Self::MemoryCost => "memory_cost",
            Self::TimeCost => "time_cost",
            Self::OutputLength => "output_length",
            Self::SaltLength => "salt_length",
            Self::PepperRetired => "pepper_retired",
            Self::PepperMissing => "pepper_missing",
        }
    }
}

impl core::fmt::Display for RehashReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password that matched its stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a verified hash may need to be replaced: check `needs_rehash`"]
pub struct Verified {
    rehash: Option<RehashReason>,
}

impl Verified {
    /// Whether the stored hash is weaker than policy and should be replaced by
    /// [`Hasher::hash`] of the password the user just typed. Never true for a hash stronger
    /// than policy.
    pub const fn needs_rehash(&self) -> bool {
        self.rehash.is_some()
    }

    /// The first reason the stored hash should be replaced, if any.
    pub const fn rehash_reason(&self) -> Option<RehashReason> {
        self.rehash
    }
}

struct Inner {
    params: Params,
    limits: Limits,
    peppers: Option<Peppers>,
    /// With peppers configured, whether hashes made without one still verify.
    accept_unpeppered: bool,
    budget: MemoryBudget,
    normalize: bool,
}

/// Hashes and verifies passwords under one policy. Cheap to clone; share one per process.
///
/// ```
/// use palisade_password::{Hasher, Password};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hasher = Hasher::new();
/// let stored = hasher.hash(&Password::from("correct horse battery staple"))?;
/// assert!(stored.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
///
/// let verified = hasher.verify(&Password::from("correct horse battery staple"), stored.as_str())?;
/// assert!(!verified.needs_rehash());
///
/// let wrong = hasher.verify(&Password::from("Tr0ub4dor&3"), stored.as_str()).unwrap_err();
/// assert!(wrong.is_mismatch());
/// assert_eq!(wrong.to_string(), "password verification failed");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let i = &self.inner;
        f.debug_struct("Hasher")
            .field("params", &i.params)
            .field("limits", &i.limits)
            .field("peppers", &i.peppers)
            .field("accept_unpeppered", &i.accept_unpeppered)
            .field("budget", &i.budget)
            .field("normalize", &i.normalize)
            .finish()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// Argon2id at OWASP's parameters, default limits, a 512 MiB memory budget, no pepper.
    pub fn new() -> Self {
        Self::from_builder(HasherBuilder::default())
    }

    /// A builder for every other configuration.
    pub fn builder() -> HasherBuilder {
        HasherBuilder::default()
    }

    fn from_builder(b: HasherBuilder) -> Self {
        let budget = b.budget;
        Self {
            inner: Arc::new(Inner {
                params: b.params,
                limits: b.limits,
                peppers: b.peppers,
                accept_unpeppered: b.accept_unpeppered,
                budget: MemoryBudget::new(budget.budget_kib, budget.pool_kib, budget.max_wait),
                normalize: b.normalize,
            }),
        }
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Params {
        self.inner.params
    }

    /// The limits stored hashes are held to.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Hashes a new password with a fresh random salt and the current pepper.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the memory budget stays full for longer than the wait,
    /// [`HashError::PasswordTooLong`], [`HashError::Rng`], or [`HashError::Internal`].
    pub fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let timer = telemetry::start();
        let result = self.hash_inner(password);
        telemetry::hashed(&timer, &result);
        result
    }

    fn hash_inner(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let password = self
            .prepare(password)
            .map_err(|_| HashError::PasswordTooLong)?;
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| HashError::Rng)?;
        let (params, out) = self
            .hash_at_policy(&password, &salt)
            .map_err(|kind| match kind {
                VerifyErrorKind::Busy => HashError::Busy,
                _ => HashError::Internal,
            })?;
        encode_phc(&params, &salt, &out)
            .map(PasswordHash::new)
            .ok_or(HashError::Internal)
    }

    /// Verifies `password` against `stored`, the hash string from the database.
    ///
    /// On a match, [`Verified::needs_rehash`] tells whether to store [`Hasher::hash`] of the
    /// password instead. Every failure displays the same message; [`VerifyError::kind`]
    /// tells logs why.
    ///
    /// # Errors
    /// [`VerifyError`] when the password is wrong, the stored hash is malformed, unsupported
    /// or beyond the limits, its pepper is unknown, it was made without a pepper while this
    /// hasher has peppers (`PepperDowngrade`), the password is over 72 bytes against a bcrypt
    /// hash (`BcryptTruncation`), or the memory budget is exhausted.
    pub fn verify(&self, password: &Password, stored: &str) -> Result<Verified, VerifyError> {
        let timer = telemetry::start();
        let result = self.verify_inner(password, stored);
        telemetry::verified(&timer, result.as_ref());
        result
    }

    fn verify_inner(&self, password: &Password, stored: &str) -> Result<Verified, VerifyError> {
        let parsed = stored::parse(stored, &self.inner.limits)?;
        if let Err(downgrade) = self.check_peppered(&parsed) {
            // The work of a real verification, so the refusal does not show in the timing.
            let _ = self.dummy_verify(password);
            return Err(downgrade.into());
        }
        let password = self.prepare(password)?;
        match parsed {
            Stored::Argon2(stored) => self.verify_argon2(&password, &stored),
            #[cfg(feature = "legacy")]
            Stored::Legacy(stored) => {
                let _permit = self
                    .inner
                    .budget
                    .acquire(
                        stored.budget_kib(self.inner.params.t(), self.inner.limits.max_memory_kib),
                        false,
                    )
                    .map_err(|_| VerifyErrorKind::Busy)?;
                if stored.matches(&password)? {
                    Ok(Verified {
                        rehash: Some(RehashReason::LegacyAlgorithm),
                    })
                } else {
                    Err(VerifyErrorKind::Mismatch.into())
                }
            }
        }
    }

    /// Verifies a login for an account that may not exist or may have no password.
    ///
    /// With `None` it runs a dummy verification at the policy's parameters (same memory,
    /// passes and pepper as a real one) and fails with
    /// [`VerifyErrorKind::NoStoredHash`], so response time does not reveal which accounts
    /// exist. Look the account up, then call this whatever the outcome.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), and `NoStoredHash` for `None`.
    pub fn verify_account(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verified, VerifyError> {
        let timer = telemetry::start();
        let result = if let Some(stored) = stored {
            self.verify_inner(password, stored)
        } else {
            // A dummy that could not run (budget exhausted) must fail as a real verify would,
            // or "busy" versus "no account" would tell which accounts exist.
            match self.dummy_verify(password) {
                Ok(()) => Err(VerifyErrorKind::NoStoredHash.into()),
                Err(kind) => Err(kind.into()),
            }
        };
        telemetry::verified(&timer, result.as_ref());
        result
    }

    /// Whether `stored` is weaker than policy, without checking a password: for batch reports
    /// and operator tools. `Ok(None)` means it meets policy.
    ///
    /// # Errors
    /// [`VerifyError`] when `stored` is malformed, unsupported, beyond the limits or names an
    /// unknown pepper.
    pub fn needs_rehash(&self, stored: &str) -> Result<Option<RehashReason>, VerifyError> {
        let parsed = stored::parse(stored, &self.inner.limits)?;
        self.check_peppered(&parsed)?;
        match parsed {
            Stored::Argon2(stored) => {
                self.pepper_for(&stored)?;
                Ok(self.rehash_reason(&stored))
            }
            #[cfg(feature = "legacy")]
            Stored::Legacy(_) => Ok(Some(RehashReason::LegacyAlgorithm)),
        }
    }

    /// Refuses a hash made without a pepper when this hasher has peppers, unless the
    /// migration window is open ([`HasherBuilder::insecure_accept_unpeppered_hashes`]).
    ///
    /// Whoever can write one row of the password table could otherwise plant a cheap
    /// unpeppered hash of a password they know, and the pepper would protect nothing.
    fn check_peppered(&self, stored: &Stored) -> Result<(), VerifyErrorKind> {
        let unpeppered = match stored {
            Stored::Argon2(stored) => stored.params.keyid().is_empty(),
            #[cfg(feature = "legacy")]
            Stored::Legacy(_) => true,
        };
        if unpeppered && self.inner.peppers.is_some() && !self.inner.accept_unpeppered {
            Err(VerifyErrorKind::PepperDowngrade)
        } else {
            Ok(())
        }
    }

    /// NFKC-normalizes (unless disabled) and length-checks a password.
    fn prepare<'a>(&self, password: &'a Password) -> Result<Prepared<'a>, VerifyErrorKind> {
        let raw = password.expose_secret();
        // Checked before normalizing too, so an oversized password costs no NFKC pass.
        if raw.len() > self.inner.limits.max_password_bytes {
            return Err(VerifyErrorKind::PasswordTooLong);
        }
        let prepared = if !self.inner.normalize
            || raw.is_ascii()
            || is_nfkc_quick(raw.chars()) == IsNormalized::Yes
        {
            Prepared::Borrowed(raw.as_bytes())
        } else {
            Prepared::Owned(Zeroizing::new(raw.nfkc().collect::<String>().into_bytes()))
        };
        if prepared.len() > self.inner.limits.max_password_bytes {
            return Err(VerifyErrorKind::PasswordTooLong);
        }
        Ok(prepared)
    }

    fn pepper_for(&self, stored: &Argon2Stored) -> Result<Option<&Pepper>, VerifyErrorKind> {
        let keyid = stored.params.keyid();
        if keyid.is_empty() {
            return Ok(None);
        }
        self.inner
            .peppers
            .as_ref()
            .and_then(|peppers| peppers.find(keyid))
            .map(Some)
            .ok_or(VerifyErrorKind::UnknownPepper)
    }

    fn verify_argon2(
        &self,
        password: &[u8],
        stored: &Argon2Stored,
    ) -> Result<Verified, VerifyError> {
        let pepper = self.pepper_for(stored)?;
        let mut out = Zeroizing::new(vec![0u8; stored.hash.len()]);
        self.compute(
            stored.algorithm,
            stored.version,
            &stored.params,
            pepper.map(Pepper::secret),
            stored.memory_kib(),
            password,
            &stored.salt,
            &mut out,
        )?;
        if digests_match(out.as_slice(), stored.hash.as_slice()) {
            Ok(Verified {
                rehash: self.rehash_reason(stored),
            })
        } else {
            Err(VerifyErrorKind::Mismatch.into())
        }
    }

    /// The work of a real verification at policy parameters, whose result is thrown away.
    fn dummy_verify(&self, password: &Password) -> Result<(), VerifyErrorKind> {
        let mut salt = [0u8; SALT_LEN];
        // A failing RNG leaves a zero salt, which is as good for a dummy.
        let _ = getrandom::fill(&mut salt);
        let (_, out) = self.dummy_hash(password, &salt)?;
        // The comparison a real verification ends with, against a value of the same length.
        let expected = vec![0u8; out.len()];
        let _ = digests_match(out.as_slice(), expected.as_slice());
        Ok(())
    }

    /// The dummy's hash: the password prepared as for a real verification, then hashed at
    /// the policy's parameters with the current pepper.
    fn dummy_hash(
        &self,
        password: &Password,
        salt: &[u8],
    ) -> Result<(argon2::Params, Zeroizing<Vec<u8>>), VerifyErrorKind> {
        let password = self.prepare(password)?;
        self.hash_at_policy(&password, salt)
    }

    /// Argon2id v1.3 of a prepared password at the policy's parameters with the current
    /// pepper: the work of every new hash, and of the dummy verification.
    fn hash_at_policy(
        &self,
        password: &[u8],
        salt: &[u8],
    ) -> Result<(argon2::Params, Zeroizing<Vec<u8>>), VerifyErrorKind> {
        let inner = &*self.inner;
        let pepper = inner.peppers.as_ref().map(Peppers::current);
        let params =
            argon2_params(&inner.params, pepper).map_err(|()| VerifyErrorKind::Malformed)?;
        let mut out = Zeroizing::new(vec![0u8; inner.params.output_len()]);
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            pepper.map(Pepper::secret),
            params.block_count() as u64,
            password,
            salt,
            &mut out,
        )?;
        Ok((params, out))
    }

    /// Runs Argon2 inside the memory budget, with a pooled buffer.
    #[allow(
        clippy::too_many_arguments,
        reason = "private; one call per argon2 input"
    )]
    fn compute(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: &argon2::Params,
        secret: Option<&[u8]>,
        memory_kib: u64,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), VerifyErrorKind> {
        let mut permit = self
            .inner
            .budget
            .acquire(memory_kib, true)
            .map_err(|_| VerifyErrorKind::Busy)?;
        let context = match secret {
            Some(secret) => Argon2::new_with_secret(secret, algorithm, version, params.clone())
                .map_err(|_| VerifyErrorKind::Malformed)?,
            None => Argon2::new(algorithm, version, params.clone()),
        };
        let buffer = permit.buffer().ok_or(VerifyErrorKind::Busy)?;
        context
            .hash_password_into_with_memory(password, salt, out, buffer.blocks())
            .map_err(|_| VerifyErrorKind::Malformed)
    }

    fn rehash_reason(&self, stored: &Argon2Stored) -> Option<RehashReason> {
        let policy = &self.inner.params;
        let current_pepper = self
            .inner
            .peppers
            .as_ref()
            .map(|p| p.current().id().as_bytes());
        let keyid = stored.params.keyid();
        if stored.algorithm != Algorithm::Argon2id {
            Some(RehashReason::Argon2Variant)
        } else if stored.version != Version::V0x13 {
            Some(RehashReason::Argon2Version)
        } else if stored.params.m_cost() < policy.m_kib() {
            Some(RehashReason::MemoryCost)
        } else if stored.params.t_cost() < policy.t() {
            Some(RehashReason::TimeCost)
        } else if stored.hash.len() < policy.output_len() {
            Some(RehashReason::OutputLength)
        } else if stored.salt.len() < SALT_LEN {
            Some(RehashReason::SaltLength)
        } else {
            match current_pepper {
                Some(_) if keyid.is_empty() => Some(RehashReason::PepperMissing),
                Some(current) if keyid != current => Some(RehashReason::PepperRetired),
                _ => None,
            }
        }
    }
}

/// The PHC string of an Argon2id v1.3 hash.
fn encode_phc(params: &argon2::Params, salt: &[u8], out: &[u8]) -> Option<String> {
    let phc = phc::PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: phc::ParamsString::try_from(params).ok()?,
        salt: Some(phc::Salt::new(salt).ok()?),
        hash: Some(phc::Output::new(out).ok()?),
    };
    Some(phc.to_string())
}

/// A password ready to hash: borrowed when already normalized, else a zeroized copy.
enum Prepared<'a> {
    Borrowed(&'a [u8]),
    Owned(Zeroizing<Vec<u8>>),
}

impl core::ops::Deref for Prepared<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Borrowed(bytes) => bytes,
            Self::Owned(bytes) => bytes,
        }
    }
}

fn argon2_params(params: &Params, pepper: Option<&Pepper>) -> Result<argon2::Params, ()> {
    let mut builder = argon2::ParamsBuilder::new();
    builder
        .m_cost(params.m_kib())
        .t_cost(params.t())
        .p_cost(params.p())
        .output_len(params.output_len());
    if let Some(pepper) = pepper {
        builder.keyid(argon2::KeyId::new(pepper.id().as_bytes()).map_err(|_| ())?);
    }
    builder.build().map_err(|_| ())
}

/// Memory budget settings.
#[derive(Debug, Clone, Copy)]
struct BudgetConfig {
    budget_kib: u64,
    pool_kib: u64,
    max_wait: Duration,
}

impl BudgetConfig {
    const DEFAULT: Self = Self {
        budget_kib: 512 * 1024,
        // As large as the budget, whatever it is set to (see `memory.rs` for why).
        pool_kib: u64::MAX,
        max_wait: Duration::from_secs(2),
    };
}

/// Builds a [`Hasher`]; every setting has a safe default.
#[derive(Debug)]
pub struct HasherBuilder {
    params: Params,
    limits: Limits,
    peppers: Option<Peppers>,
    accept_unpeppered: bool,
    budget: BudgetConfig,
    normalize: bool,
}

impl Default for HasherBuilder {
    fn default() -> Self {
        Self {
            params: Params::DEFAULT,
            limits: Limits::DEFAULT,
            peppers: None,
            accept_unpeppered: false,
            budget: BudgetConfig::DEFAULT,
            normalize: true,
        }
    }
}

impl HasherBuilder {
    /// Parameters for new hashes (a [`Preset`](crate::Preset) converts into them).
    #[must_use]
    pub fn params(mut self, params: impl Into<Params>) -> Self {
        self.params = params.into();
        self
    }

    /// Caps on what a stored hash may demand.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Peppers: the current one for new hashes, retired ones to verify old hashes.
    ///
    /// From then on a stored hash made without a pepper (an Argon2 hash without `keyid`, and
    /// every bcrypt, PBKDF2 or scrypt hash) is refused with kind
    /// [`VerifyErrorKind::PepperDowngrade`]: a planted unpeppered hash of a known password
    /// must not log anyone in. To migrate existing hashes, open a window with
    /// [`insecure_accept_unpeppered_hashes`](Self::insecure_accept_unpeppered_hashes).
    #[must_use]
    pub fn peppers(mut self, peppers: Peppers) -> Self {
        self.peppers = Some(peppers);
        self
    }

    /// Migration window: with peppers configured, still verify hashes made without a pepper
    /// (each success reports [`RehashReason::PepperMissing`] or
    /// [`RehashReason::LegacyAlgorithm`], so the login rehashes it with the pepper).
    ///
    /// While this is on, anyone who can write a row of the password table can plant an
    /// unpeppered hash of a password they know and log in with it: the pepper then protects
    /// nothing. Turn it on only until every account has logged in once or been reset, and
    /// use [`Hasher::needs_rehash`] to find the hashes left.
    #[must_use]
    pub fn insecure_accept_unpeppered_hashes(mut self) -> Self {
        self.accept_unpeppered = true;
        self
    }

    /// Total memory hashes in flight may use, in KiB (default 512 MiB), and how long a hash
    /// waits for room before failing as busy (default 2 s).
    #[must_use]
    pub fn memory_budget(mut self, budget_kib: u64, max_wait: Duration) -> Self {
        self.budget.budget_kib = budget_kib;
        self.budget.max_wait = max_wait;
        self
    }

    /// How much idle Argon2 memory is kept for reuse, in KiB (default and most: the whole
    /// memory budget). Zero turns reuse off.
    ///
    /// Buffers in flight and idle ones together never exceed the budget, so the default holds
    /// no more memory than a burst up to the budget used. A smaller pool gives buffers back to
    /// the allocator after a burst, and glibc's allocator keeps freed blocks of this size in
    /// its heaps, where bursts from many threads fragment them: the process can grow well past
    /// the budget (a service measured 2.7 GiB resident with a 512 MiB budget and a 128 MiB
    /// pool). Lower it only with an allocator that returns such blocks to the system.
    #[must_use]
    pub fn buffer_pool(mut self, pool_kib: u64) -> Self {
        self.budget.pool_kib = pool_kib;
        self
    }

    /// Turns off NFKC normalization, for hashes made by a system that hashed passwords as
    /// typed. With it on (the default), "é" typed precomposed or decomposed is one password.
    #[must_use]
    pub fn unicode_normalization(mut self, enabled: bool) -> Self {
        self.normalize = enabled;
        self
    }

    /// Checks the configuration and builds the hasher.
    ///
    /// # Errors
    /// [`ConfigError::ParamsExceedLimits`] when the hasher could not verify its own hashes;
    /// [`ConfigError::BudgetTooSmall`] when the budget cannot hold one hash at the limits.
    pub fn build(self) -> Result<Hasher, ConfigError> {
        let (p, l) = (&self.params, &self.limits);
        if p.m_kib() > l.max_memory_kib
            || p.t() > l.max_time_cost
            || p.p() > l.max_parallelism
            || p.work() > l.max_work
        {
            return Err(ConfigError::ParamsExceedLimits {
                m_kib: p.m_kib(),
                t: p.t(),
                p: p.p(),
            });
        }
        let needed_kib = u64::from(l.max_memory_kib);
        if self.budget.budget_kib < needed_kib {
            return Err(ConfigError::BudgetTooSmall {
                budget_kib: self.budget.budget_kib,
                needed_kib,
            });
        }
        Ok(Hasher::from_builder(self))
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl Hasher {
    /// [`hash`](Self::hash) on tokio's blocking pool, so a 20 ms hash does not stall the
    /// executor thread.
    ///
    /// # Errors
    /// As [`hash`](Self::hash), or [`HashError::TaskFailed`] if the task was cancelled.
    pub async fn hash_async(&self, password: Password) -> Result<PasswordHash, HashError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .unwrap_or_else(|_| {
                let result = Err(HashError::TaskFailed);
                telemetry::hashed(&telemetry::start(), &result);
                result
            })
    }

    /// [`verify`](Self::verify) on tokio's blocking pool.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), or kind `TaskFailed` if the task was cancelled.
    pub async fn verify_async(
        &self,
        password: Password,
        stored: String,
    ) -> Result<Verified, VerifyError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.verify(&password, &stored))
            .await
            .unwrap_or_else(|_| {
                let result = Err(VerifyErrorKind::TaskFailed.into());
                telemetry::verification(result.as_ref());
                result
            })
    }

    /// [`verify_account`](Self::verify_account) on tokio's blocking pool.
    ///
    /// # Errors
    /// As [`verify_account`](Self::verify_account), or kind `TaskFailed`.
    pub async fn verify_account_async(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verified, VerifyError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.verify_account(&password, stored.as_deref()))
            .await
            .unwrap_or_else(|_| {
                let result = Err(VerifyErrorKind::TaskFailed.into());
                telemetry::verification(result.as_ref());
                result
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metric labels and log fields: every `RehashReason` and `VerifyErrorKind` has its own
    /// `snake_case` name. The matches fail to compile when a variant is added without one here.
    #[test]
    fn label_names_are_distinct_snake_case() {
        use RehashReason as R;
        use VerifyErrorKind as K;
        fn check(names: &[&'static str]) {
            let distinct: std::collections::BTreeSet<_> = names.iter().collect();
            assert_eq!(distinct.len(), names.len(), "{names:?}");
            for name in names {
                assert!(
                    !name.is_empty()
                        && !name.starts_with('_')
                        && !name.ends_with('_')
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{name}"
                );
            }
        }
        let reasons = [
            R::LegacyAlgorithm,
            R::Argon2Variant,
            R::Argon2Version,
            R::MemoryCost,
            R::TimeCost,
            R::OutputLength,
            R::SaltLength,
            R::PepperRetired,
            R::PepperMissing,
        ];
        for r in reasons {
            match r {
                R::LegacyAlgorithm
                | R::Argon2Variant
                | R::Argon2Version
                | R::MemoryCost
                | R::TimeCost
                | R::OutputLength
                | R::SaltLength
                | R::PepperRetired
                | R::PepperMissing => {}
            }
        }
        check(&reasons.map(RehashReason::as_str));
        assert_eq!(RehashReason::MemoryCost.to_string(), "memory_cost");
        let kinds = [
            K::Mismatch,
            K::NoStoredHash,
            K::Malformed,
            K::Unsupported,
            K::ExceedsLimits,
            K::UnknownPepper,
            K::PepperDowngrade,
            K::PasswordTooLong,
            K::BcryptTruncation,
            K::Busy,
            K::TaskFailed,
        ];
        for k in kinds {
            match k {
                K::Mismatch
                | K::NoStoredHash
                | K::Malformed
                | K::Unsupported
                | K::ExceedsLimits
                | K::UnknownPepper
                | K::PepperDowngrade
                | K::PasswordTooLong
                | K::BcryptTruncation
                | K::Busy
                | K::TaskFailed => {}
            }
        }
        let mut names = kinds.map(VerifyErrorKind::as_str).to_vec();
        // "ok" is the success outcome beside them.
        names.push("ok");
        check(&names);
    }

    fn cheap(m_kib: u32) -> Hasher {
        Hasher::builder()
            .params(Params::insecure(m_kib, 1, 1).unwrap())
            .memory_budget(Limits::DEFAULT.max_memory_kib.into(), Duration::ZERO)
            .build()
            .unwrap()
    }

    use palisade_testkit::unhex as hex;

    /// RFC 9106 section 5 through the same path verification takes (budget, pooled buffer,
    /// secret input), since the public API cannot set associated data.
    #[test]
    fn rfc9106_vectors() {
        let hasher = cheap(64);
        let file = include_str!("../tests/vectors/rfc9106.txt");
        let mut count = 0;
        for line in file
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let f: Vec<&str> = line.split('\t').collect();
            let algorithm = Algorithm::new(f[0]).unwrap();
            assert_eq!(f[1], "0x13");
            let (m, t, p) = (
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            );
            let (password, salt, secret, ad, tag) =
                (hex(f[5]), hex(f[6]), hex(f[7]), hex(f[8]), hex(f[9]));
            let params = argon2::ParamsBuilder::new()
                .m_cost(m)
                .t_cost(t)
                .p_cost(p)
                .data(argon2::AssociatedData::new(&ad).unwrap())
                .output_len(tag.len())
                .build()
                .unwrap();
            let mut out = vec![0u8; tag.len()];
            let kib = params.block_count() as u64;
            hasher
                .compute(
                    algorithm,
                    Version::V0x13,
                    &params,
                    Some(&secret),
                    kib,
                    &password,
                    &salt,
                    &mut out,
                )
                .unwrap();
            assert_eq!(out, tag, "{}", f[0]);
            // Negative: each input changed by one bit changes the tag.
            let mut flipped = password.clone();
            flipped[0] ^= 1;
            hasher
                .compute(
                    algorithm,
                    Version::V0x13,
                    &params,
                    Some(&secret),
                    kib,
                    &flipped,
                    &salt,
                    &mut out,
                )
                .unwrap();
            assert_ne!(out, tag);
            count += 1;
        }
        assert_eq!(count, 3);
    }

    /// palisade's own output, byte for byte, is what libargon2 writes for the same password,
    /// salt and parameters: the argon2id v1.3 reference vectors re-hashed and re-encoded.
    #[test]
    fn output_is_byte_identical_to_the_reference_implementation() {
        let hasher = cheap(64);
        let file = include_str!("../tests/vectors/argon2_reference.txt");
        let mut count = 0;
        for line in file.lines().filter(|l| l.starts_with(|c| c != '#')) {
            let (password, expected) = line.split_once('\t').unwrap();
            if !expected.starts_with("$argon2id$v=19$") {
                continue;
            }
            let Ok(Stored::Argon2(stored)) = stored::parse(expected, &Limits::DEFAULT) else {
                panic!("{expected}");
            };
            let mut out = vec![0u8; stored.hash.len()];
            let kib = stored.memory_kib();
            hasher
                .compute(
                    Algorithm::Argon2id,
                    Version::V0x13,
                    &stored.params,
                    None,
                    kib,
                    &hex(password),
                    &stored.salt,
                    &mut out,
                )
                .unwrap();
            assert_eq!(
                encode_phc(&stored.params, &stored.salt, &out).unwrap(),
                expected
            );
            count += 1;
        }
        assert!(count >= 10, "{count}");
    }

    #[test]
    fn dummy_verification_does_the_work_of_a_real_one() {
        let hasher = cheap(256);
        assert_eq!(hasher.inner.budget.snapshot(), (0, 0));
        let err = hasher
            .verify_account(&Password::from("guess"), None)
            .unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::NoStoredHash);
        assert!(err.is_mismatch());
        // A buffer of the policy's size was filled and returned to the pool, cleared.
        assert_eq!(hasher.inner.budget.snapshot(), (0, 256));
        assert_eq!(hasher.inner.budget.peak_kib(), 256);
        assert_eq!(hasher.inner.budget.pool_is_all_zeros(), (true, 1));
    }

    /// The unknown-account dummy hashes with the current pepper, not a retired one or none:
    /// its parameters name the current pepper's id and its output is Argon2id keyed with the
    /// current pepper's secret, computed here by the `argon2` crate directly.
    #[test]
    fn dummy_verification_uses_the_current_pepper() {
        let secret = |byte: u8| secrecy::SecretBox::new(vec![byte; 32].into_boxed_slice());
        let peppers = Peppers::new(Pepper::new("new", secret(0x11)).unwrap())
            .with_retired(Pepper::new("old", secret(0x22)).unwrap())
            .unwrap();
        let hasher = Hasher::builder()
            .params(Params::insecure(64, 1, 1).unwrap())
            .peppers(peppers)
            .build()
            .unwrap();
        let salt = [7u8; SALT_LEN];
        let (params, out) = hasher.dummy_hash(&Password::from("guess"), &salt).unwrap();
        assert_eq!(params.keyid(), b"new");
        let expected = |key: u8| {
            let mut tag = vec![0u8; out.len()];
            Argon2::new_with_secret(
                &[key; 32],
                Algorithm::Argon2id,
                Version::V0x13,
                params.clone(),
            )
            .unwrap()
            .hash_password_into(b"guess", &salt, &mut tag)
            .unwrap();
            tag
        };
        assert_eq!(out.as_slice(), expected(0x11).as_slice());
        assert_ne!(out.as_slice(), expected(0x22).as_slice());
        // And `verify_account(_, None)` runs this dummy: it fails as an unknown account.
        let err = hasher
            .verify_account(&Password::from("guess"), None)
            .unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::NoStoredHash);
    }

    /// `Hasher::new()` and an untouched builder admit 512 MiB of hashes at once, wait 2 s
    /// for room before `Busy`, and pool up to the whole budget of idle buffers.
    #[test]
    fn memory_budget_defaults_are_512_mib_and_a_2_s_wait() {
        let expected = (512 * 1024, 512 * 1024, Duration::from_secs(2));
        assert_eq!(Hasher::new().inner.budget.settings(), expected);
        assert_eq!(Hasher::default().inner.budget.settings(), expected);
        assert_eq!(
            Hasher::builder().build().unwrap().inner.budget.settings(),
            expected
        );
    }

    /// Memory and passes each within their caps, their product 100 times the policy: refused
    /// before the budget hands out a byte.
    #[test]
    fn hostile_product_hash_is_refused_before_allocation() {
        let hasher = Hasher::new();
        let good = cheap(64).hash(&Password::from("pw")).unwrap();
        let hostile = good
            .as_str()
            .replace("m=64", "m=262144")
            .replace("t=1", "t=16");
        let err = hasher.verify(&Password::from("pw"), &hostile).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::ExceedsLimits);
        assert_eq!(hasher.inner.budget.snapshot(), (0, 0));
        assert_eq!(hasher.inner.budget.peak_kib(), 0);
    }

    #[test]
    fn busy_when_the_budget_is_held() {
        let hasher = Hasher::builder()
            .params(Params::insecure(1024, 1, 1).unwrap())
            .limits(Limits {
                max_memory_kib: 1024,
                ..Limits::DEFAULT
            })
            .memory_budget(1024, Duration::ZERO)
            .build()
            .unwrap();
        let stored = hasher.hash(&Password::from("pw")).unwrap();
        let held = hasher.inner.budget.acquire(1, false).unwrap();
        assert!(matches!(
            hasher.hash(&Password::from("pw")),
            Err(HashError::Busy)
        ));
        let err = hasher
            .verify(&Password::from("pw"), stored.as_str())
            .unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::Busy);
        assert!(!err.is_mismatch());
        // An unknown account under the same load fails the same way, not as "no account".
        let err = hasher
            .verify_account(&Password::from("pw"), None)
            .unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::Busy);
        drop(held);
        assert!(
            hasher
                .verify(&Password::from("pw"), stored.as_str())
                .is_ok()
        );
    }

    /// `hash_async`, `verify_async` and `verify_account_async` run on tokio's blocking pool,
    /// never on the async thread: with the memory budget held, the first poll of each returns
    /// `Pending` on a current-thread runtime. Run inline, it would block that only thread until
    /// the wait ran out and return `Busy`.
    #[cfg(feature = "tokio")]
    #[tokio::test(flavor = "current_thread")]
    async fn async_helpers_run_off_the_async_thread() {
        use std::{pin::pin, task::Poll};

        async fn first_poll_pends<T>(
            hasher: &Hasher,
            future: impl Future<Output = Result<T, impl core::fmt::Debug>>,
        ) {
            let held = hasher.inner.budget.acquire(256, false).unwrap();
            let mut future = pin!(future);
            let first = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "ran on the async thread");
            drop(held);
            let _ = future.await;
        }

        let hasher = Hasher::builder()
            .params(Params::insecure(256, 1, 1).unwrap())
            .limits(Limits {
                max_memory_kib: 256,
                ..Limits::DEFAULT
            })
            .memory_budget(256, Duration::from_secs(10))
            .build()
            .unwrap();
        let stored = hasher.hash(&Password::from("pw")).unwrap();
        first_poll_pends(&hasher, hasher.hash_async(Password::from("pw"))).await;
        first_poll_pends(
            &hasher,
            hasher.verify_async(Password::from("pw"), stored.as_str().to_owned()),
        )
        .await;
        first_poll_pends(
            &hasher,
            hasher.verify_account_async(Password::from("pw"), None),
        )
        .await;
        // And they still give the synchronous answers.
        assert!(
            hasher
                .verify_async(Password::from("pw"), stored.as_str().to_owned())
                .await
                .is_ok()
        );
    }

    #[test]
    fn concurrent_verifies_stay_within_budget() {
        let hasher = Hasher::builder()
            .params(Params::insecure(2048, 1, 1).unwrap())
            .limits(Limits {
                max_memory_kib: 2048,
                ..Limits::DEFAULT
            })
            .memory_budget(4096, Duration::from_secs(60))
            .build()
            .unwrap();
        let stored = hasher.hash(&Password::from("pw")).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..4 {
                        assert!(
                            hasher
                                .verify(&Password::from("pw"), stored.as_str())
                                .is_ok()
                        );
                    }
                });
            }
        });
        assert!(hasher.inner.budget.peak_kib() <= 4096);
        assert_eq!(hasher.inner.budget.snapshot().0, 0);
    }
}
