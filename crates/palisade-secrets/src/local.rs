//! Secrets from this machine: environment variables, files and systemd credentials.

use std::{
    collections::HashMap,
    fs::File,
    io::Read as _,
    path::{Path, PathBuf},
};

use zeroize::Zeroizing;

use crate::{
    address::Address,
    error::{SecretError, SecretErrorKind},
    secret::{MAX_SECRET_BYTES, Secret, Source},
};

/// How [`LocalSource`] reads.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LocalSourceOptions {
    /// The largest value accepted, in bytes (at most [`MAX_SECRET_BYTES`], the default).
    pub max_bytes: usize,
    /// Accept secret files that their group or others may read or write. Off by default: like
    /// ssh with private keys and `PostgreSQL` with its key file, a secret file must be private
    /// to its owner (mode `0600` or stricter) or it is refused.
    pub insecure_allow_readable_by_others: bool,
}

impl Default for LocalSourceOptions {
    fn default() -> Self {
        Self {
            max_bytes: MAX_SECRET_BYTES,
            insecure_allow_readable_by_others: false,
        }
    }
}

/// Reads `env:`, `file:` and `systemd:` addresses.
///
/// - `env:NAME`: the variable's value, as it is.
/// - `file:/path`: the file's bytes with one trailing newline (`\n` or `\r\n`) removed. The
///   file must be a regular file (symbolic links are followed, as Kubernetes mounts secrets
///   through them) that neither its group nor others can read or write.
/// - `systemd:NAME`: the file `NAME` in `$CREDENTIALS_DIRECTORY`, read the same way.
///
/// A value larger than the cap, or empty, is refused. Files are read with one system call
/// sequence sized from the file's length, into a buffer that is wiped if the read fails.
///
/// ```
/// use palisade_secrets::{LocalSource, Source as _};
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let source = LocalSource::with_environment([("DB_PASSWORD", "correct horse")]);
/// let secret = source.fetch(&"env:DB_PASSWORD".parse()?).await?;
/// assert_eq!(secret.expose_secret(), b"correct horse");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct LocalSource {
    options: LocalSourceOptions,
    /// A fixed environment instead of the process's (tests, or a snapshot taken at start).
    environment: Option<HashMap<String, String>>,
    /// Where loaded values are registered for redaction.
    #[cfg(feature = "redact")]
    known: Option<palisade_redact::KnownSecrets>,
}

impl LocalSource {
    /// Reads the process environment and the file system with `options`.
    pub fn new(options: LocalSourceOptions) -> Self {
        Self {
            options,
            environment: None,
            #[cfg(feature = "redact")]
            known: None,
        }
    }

    /// Reads `env:` addresses (and `$CREDENTIALS_DIRECTORY`) from `vars` instead of the
    /// process environment, with the default options.
    pub fn with_environment<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            options: LocalSourceOptions::default(),
            environment: Some(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            #[cfg(feature = "redact")]
            known: None,
        }
    }

    /// The same source with other options.
    #[must_use]
    pub fn options(mut self, options: LocalSourceOptions) -> Self {
        self.options = options;
        self
    }

    /// The same source registering every value it loads with `known` (feature `redact`), so
    /// a [`Redactor`](palisade_redact::Redactor) built with the same registry redacts those
    /// exact bytes wherever they appear. A value is registered once however often it is
    /// loaded, and stays registered: this source does not know when a value is retired. Put a
    /// [`SecretCache`](crate::SecretCache) in front and give the registry to the cache instead
    /// (not to both) to have rotated values retired.
    ///
    /// ```
    /// use palisade_redact::{KnownSecrets, Redactor};
    /// use palisade_secrets::LocalSource;
    ///
    /// let known = KnownSecrets::new();
    /// let redactor = Redactor::builder().known_secrets(known.clone()).build()?;
    /// let source = LocalSource::with_environment([("DB_PASSWORD", "violet-staple-93-orbit")])
    ///     .with_known_secrets(known);
    /// let _password = source.load(&"env:DB_PASSWORD".parse()?)?;
    /// assert_eq!(
    ///     redactor.redact("retrying with violet-staple-93-orbit"),
    ///     "retrying with [REDACTED]"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    #[must_use]
    pub fn with_known_secrets(mut self, known: palisade_redact::KnownSecrets) -> Self {
        self.known = Some(known);
        self
    }

    fn cap(&self) -> usize {
        self.options.max_bytes.min(MAX_SECRET_BYTES)
    }

    fn var(&self, name: &str) -> Result<Option<String>, SecretErrorKind> {
        match &self.environment {
            Some(vars) => Ok(vars.get(name).cloned()),
            None => match std::env::var(name) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(SecretErrorKind::Unreadable),
            },
        }
    }

    /// Loads `address` now, synchronously.
    ///
    /// # Errors
    ///
    /// [`SecretError`] naming the address and the [`SecretErrorKind`].
    pub fn load(&self, address: &Address) -> Result<Secret, SecretError> {
        let secret = self.load_unregistered(address)?;
        #[cfg(feature = "redact")]
        if let Some(known) = &self.known
            && !known.contains(secret.expose_secret())
        {
            crate::known::register(known, address, &secret);
        }
        Ok(secret)
    }

    fn load_unregistered(&self, address: &Address) -> Result<Secret, SecretError> {
        let fail = |kind| SecretError::new(address, kind);
        match address {
            Address::Env(name) => {
                let value = self.var(name).map_err(fail)?;
                let value = value.ok_or_else(|| fail(SecretErrorKind::NotFound))?;
                if value.len() > self.cap() {
                    return Err(fail(SecretErrorKind::TooLarge));
                }
                if value.is_empty() {
                    return Err(fail(SecretErrorKind::Empty));
                }
                Ok(Secret::new(value.into_bytes(), None))
            }
            Address::File(path) => self.read_file(path).map_err(fail),
            Address::Systemd(name) => {
                let dir = self
                    .var("CREDENTIALS_DIRECTORY")
                    .map_err(fail)?
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| fail(SecretErrorKind::NotFound))?;
                self.read_file(&PathBuf::from(dir).join(name)).map_err(fail)
            }
            Address::AwsSecretsManager(_) | Address::Vault(_) => {
                Err(fail(SecretErrorKind::Unsupported))
            }
        }
    }

    fn read_file(&self, path: &Path) -> Result<Secret, SecretErrorKind> {
        let io_kind = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => SecretErrorKind::NotFound,
            _ => SecretErrorKind::Unreadable,
        };
        // Checked before opening, so a FIFO is never opened (which could block), and again on
        // the open file, so a file swapped in between is caught.
        let before = std::fs::metadata(path).map_err(io_kind)?;
        self.check_file(&before)?;
        let mut file = File::open(path).map_err(io_kind)?;
        let meta = file.metadata().map_err(io_kind)?;
        self.check_file(&meta)?;
        if !same_file(&before, &meta) {
            return Err(SecretErrorKind::Unreadable);
        }
        let cap = self.cap();
        if meta.len() > (cap + 2) as u64 {
            return Err(SecretErrorKind::TooLarge);
        }
        // Sized from the file's length (plus one byte to see growth), so the buffer does not
        // reallocate and leave copies behind.
        let expected = usize::try_from(meta.len()).unwrap_or(cap);
        let mut bytes = Zeroizing::new(Vec::with_capacity(expected + 1));
        (&mut file)
            .take((cap + 3) as u64)
            .read_to_end(&mut bytes)
            .map_err(io_kind)?;
        let newline = if bytes.ends_with(b"\r\n") {
            2
        } else {
            usize::from(bytes.ends_with(b"\n"))
        };
        let len = bytes.len() - newline;
        bytes.truncate(len);
        if bytes.len() > cap {
            return Err(SecretErrorKind::TooLarge);
        }
        if bytes.is_empty() {
            return Err(SecretErrorKind::Empty);
        }
        Ok(Secret::new(std::mem::take(&mut *bytes), modified(&meta)))
    }

    fn check_file(&self, meta: &std::fs::Metadata) -> Result<(), SecretErrorKind> {
        if !meta.is_file() {
            return Err(SecretErrorKind::NotRegularFile);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if meta.permissions().mode() & 0o077 != 0
                && !self.options.insecure_allow_readable_by_others
            {
                return Err(SecretErrorKind::NotPrivate);
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// A file's modification time as its version (`seconds.nanoseconds` since the epoch).
fn modified(meta: &std::fs::Metadata) -> Option<String> {
    let since = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos()))
}

impl Source for LocalSource {
    async fn fetch(&self, address: &Address) -> Result<Secret, SecretError> {
        self.load(address)
    }
}
