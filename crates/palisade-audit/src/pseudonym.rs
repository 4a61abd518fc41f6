//! Pseudonyms for personal data that must be erasable later (GDPR's right to erasure) from a
//! log that can never be edited.

use std::{
    collections::BTreeMap,
    fmt, fs,
    io::{self, Write as _},
    path::Path,
};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{error::KeyError, hex};

const PREFIX: &str = "psn:";

/// Per-subject secret salts that turn a subject (an email address, a user name) into a stable
/// pseudonym: `psn:` + the first 16 bytes of HMAC-SHA256(salt, subject), in hex.
///
/// The log records only the pseudonym, a salted commitment to the subject. The same subject
/// always gets the same pseudonym, so an investigator can follow one actor through the log, and
/// whoever holds the salts can resolve a pseudonym back to its subject. [`erase`](Self::erase)
/// destroys a subject's salt: its pseudonyms can no longer be resolved or recomputed, not even
/// by guessing the subject, while every record, hash, MAC and checkpoint stays valid, because
/// the log itself never changes.
///
/// Keep the salts away from the log (another store, another backup policy): they are what
/// links the log to people. Their `Debug` shows only how many subjects there are.
///
/// ```
/// use palisade_audit::{Event, Pseudonyms};
///
/// let mut people = Pseudonyms::new();
/// let alice = people.pseudonym("alice@example.com").unwrap();
/// assert!(alice.starts_with("psn:"));
/// assert_eq!(people.pseudonym("alice@example.com").unwrap(), alice); // stable
/// let event = Event::new("profile.read").actor(alice.clone());
///
/// assert_eq!(people.resolve(&alice), Some("alice@example.com"));
/// people.erase("alice@example.com");
/// assert_eq!(people.resolve(&alice), None); // the log still verifies, the link is gone
/// # let _ = event;
/// ```
#[derive(Default)]
pub struct Pseudonyms {
    subjects: BTreeMap<String, SecretBox<[u8; 32]>>,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("subjects", &self.subjects.len())
            .finish()
    }
}

fn pseudonym_of(salt: &[u8; 32], subject: &str) -> String {
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(salt)
        .expect("HMAC accepts keys of any length, so a 32-byte salt")
        .chain_update(subject.as_bytes())
        .finalize()
        .into_bytes();
    format!("{PREFIX}{}", hex::encode(&mac[..16]))
}

impl Pseudonyms {
    /// No subjects yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subject's pseudonym, making its salt on first use.
    ///
    /// # Errors
    ///
    /// [`KeyError::Randomness`] when a new salt cannot be drawn.
    pub fn pseudonym(&mut self, subject: &str) -> Result<String, KeyError> {
        if let Some(salt) = self.subjects.get(subject) {
            return Ok(pseudonym_of(salt.expose_secret(), subject));
        }
        let mut salt = Zeroizing::new([0u8; 32]);
        getrandom::fill(salt.as_mut()).map_err(|_| KeyError::Randomness)?;
        let p = pseudonym_of(&salt, subject);
        self.subjects
            .insert(subject.to_owned(), SecretBox::new(Box::new(*salt)));
        Ok(p)
    }

    /// The subject behind a pseudonym, while its salt exists.
    pub fn resolve(&self, pseudonym: &str) -> Option<&str> {
        self.subjects
            .iter()
            .find(|(subject, salt)| pseudonym_of(salt.expose_secret(), subject) == pseudonym)
            .map(|(subject, _)| subject.as_str())
    }

    /// Destroys the subject's salt (zeroized); returns whether there was one.
    pub fn erase(&mut self, subject: &str) -> bool {
        self.subjects.remove(subject).is_some()
    }

    /// The number of subjects.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Writes the salts to `path` atomically (a new file, synced, renamed), readable by the
    /// owner only on Unix. After an [`erase`](Self::erase), save to make it stick.
    ///
    /// # Errors
    ///
    /// The I/O error.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut text = Zeroizing::new(String::new());
        for (subject, salt) in &self.subjects {
            let line = Zeroizing::new(format!(
                "{}\t{}\n",
                hex::encode(salt.expose_secret()),
                serde_json::Value::from(subject.as_str())
            ));
            text.push_str(&line);
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::sync_dir(dir)?;
        }
        Ok(())
    }

    /// Reads salts written by [`save`](Self::save).
    ///
    /// # Errors
    ///
    /// The I/O error, or `InvalidData` for a line that is not a salt and a subject.
    pub fn load(path: impl AsRef<Path>) -> io::Result<Self> {
        let text = Zeroizing::new(fs::read_to_string(path)?);
        let mut subjects = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a pseudonym salt line");
            let (salt, subject) = line.split_once('\t').ok_or_else(bad)?;
            let salt = Zeroizing::new(hex::decode::<32>(salt).ok_or_else(bad)?);
            let subject: String = serde_json::from_str::<serde_json::Value>(subject)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(bad)?;
            subjects.insert(subject, SecretBox::new(Box::new(*salt)));
        }
        Ok(Self { subjects })
    }
}
