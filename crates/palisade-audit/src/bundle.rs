//! The verifier bundle: what a verifier needs and the writer must not keep.

use std::{fmt, path::Path};

use zeroize::Zeroizing;

use crate::{
    clock::Timestamp,
    error::KeyError,
    files, hex,
    keys::{MacKey, VerifyingKey},
    record::Genesis,
};

const HEADER: &str = "palisade-audit verifier v1";

/// Everything a verifier needs to check a log completely, made once when the log is created:
/// the log's identity (id, origin, start, epoch length), the checkpoint public key and the
/// epoch-0 MAC key.
///
/// The writer never holds it after creation: it keeps only the current epoch's MAC key, from
/// which no earlier epoch's key can be derived. Move the bundle off the writer's machine (a
/// vault, an auditor's laptop) the moment it is written; whoever holds it can check every MAC,
/// and could forge records of any epoch, so guard it as a secret. Its `Debug` never shows the
/// MAC key.
///
/// ```
/// # use palisade_audit::{AuditLog, Event, VerifierBundle, Verifier};
/// # let base = std::env::temp_dir().join(format!("palisade-audit-doc-bundle-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&base);
/// # std::fs::create_dir_all(&base).unwrap();
/// let bundle_path = base.join("verifier.bundle"); // then move it elsewhere
/// let mut log = AuditLog::builder(base.join("log")).create(&bundle_path).unwrap();
/// log.append(Event::new("auth.login")).unwrap();
/// drop(log);
///
/// let bundle = VerifierBundle::read_file(&bundle_path).unwrap();
/// let report = Verifier::new().bundle(&bundle).verify_dir(base.join("log")).unwrap();
/// assert!(report.is_intact() && report.macs_checked(), "{report}");
/// # std::fs::remove_dir_all(&base).unwrap();
/// ```
pub struct VerifierBundle {
    pub(crate) genesis: Genesis,
    pub(crate) public_key: VerifyingKey,
    pub(crate) mac_key: MacKey,
}

impl VerifierBundle {
    /// The log's id.
    pub fn log_id(&self) -> [u8; 16] {
        self.genesis.log_id
    }

    /// The log's origin: its checkpoints' first line and their signing key's name.
    pub fn origin(&self) -> &str {
        &self.genesis.origin
    }

    /// The key that verifies the log's checkpoints.
    pub fn public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// The public key as a signed-note verifier key (`<origin>+<key id>+<key>`), the line to
    /// give a witness. Not secret.
    pub fn note_verifier_key(&self) -> String {
        self.public_key.note_verifier_key(&self.genesis.origin)
    }

    /// A copy of the epoch-0 MAC key.
    pub fn mac_key(&self) -> MacKey {
        self.mac_key.duplicate()
    }

    /// Writes the bundle to a new file, readable by its owner only (mode 0600 on Unix), synced;
    /// never over an existing file.
    ///
    /// # Errors
    ///
    /// The operating system's; [`std::io::ErrorKind::AlreadyExists`] when the file exists.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        use secrecy::ExposeSecret;
        let g = &self.genesis;
        let text = Zeroizing::new(format!(
            "{HEADER}\norigin {}\nlog-id {}\nstart {}\nepoch-ms {}\npublic-key {}\nmac-key {}\n",
            g.origin,
            hex::encode(&g.log_id),
            g.start,
            g.epoch_ms,
            self.public_key.to_base64(),
            Zeroizing::new(hex::encode(self.mac_key.expose_secret())).as_str(),
        ));
        files::write_new_private(path.as_ref(), text.as_bytes())
    }

    /// Reads a bundle written by [`write_new_file`](Self::write_new_file).
    ///
    /// # Errors
    ///
    /// [`KeyError::Unreadable`] when the file cannot be read, [`KeyError::InvalidBundle`] when
    /// it is not a bundle. Neither shows the file's contents.
    pub fn read_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let text =
            Zeroizing::new(files::read_small(path.as_ref()).map_err(|_| KeyError::Unreadable)?);
        Self::parse(&text).ok_or(KeyError::InvalidBundle)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
        };
        let origin = field("origin")
            .filter(|o| crate::log::valid_origin(o))?
            .to_owned();
        let log_id = hex::decode::<16>(field("log-id")?)?;
        let start = Timestamp::parse(field("start")?)?;
        let epoch_ms = field("epoch-ms")?.parse::<u64>().ok().filter(|&m| m > 0)?;
        let public_key = VerifyingKey::from_base64(field("public-key")?).ok()?;
        let mac = Zeroizing::new(hex::decode::<32>(field("mac-key")?)?);
        let key_id = public_key.note_key_id(&origin);
        Some(Self {
            genesis: Genesis {
                log_id,
                epoch_ms,
                start,
                key_id,
                origin,
            },
            public_key,
            mac_key: MacKey::from_bytes(*mac),
        })
    }
}

impl fmt::Debug for VerifierBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBundle")
            .field("origin", &self.genesis.origin)
            .field("log_id", &hex::encode(&self.genesis.log_id))
            .field("public_key", &self.public_key)
            .field("mac_key", &format_args!("[REDACTED]"))
            .finish()
    }
}
