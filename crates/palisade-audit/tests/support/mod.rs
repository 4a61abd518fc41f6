//! Shared test helpers: temporary directories, a log on a manual clock, line surgery.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use palisade_audit::{
    AuditLog, Durability, ExposeSecret, MacKey, ManualClock, SigningKey, Timestamp, VerifyingKey,
};
use secrecy::SecretBox;

/// A directory removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "palisade-audit-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("temp dir can be made");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(crate) const START: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
pub(crate) const EPOCH: Duration = Duration::from_secs(60);

/// A log, the keys an operator keeps, and its clock.
pub(crate) struct Fixture {
    pub(crate) dir: TempDir,
    pub(crate) clock: ManualClock,
    pub(crate) k0: [u8; 32],
    pub(crate) signing_seed: [u8; 32],
    pub(crate) public: VerifyingKey,
}

impl Fixture {
    pub(crate) fn new(tag: &str) -> Self {
        Self {
            dir: TempDir::new(tag),
            clock: ManualClock::new(Timestamp::from_unix_millis(START)),
            k0: [0x42; 32],
            signing_seed: [0x17; 32],
            public: Self::signing(&[0x17; 32]).verifying_key(),
        }
    }

    pub(crate) fn signing(seed: &[u8; 32]) -> SigningKey {
        SigningKey::from_secret(&SecretBox::new(Box::new(*seed)))
    }

    pub(crate) fn builder(&self) -> palisade_audit::AuditLogBuilder {
        AuditLog::builder(self.dir.path())
            .epoch_length(EPOCH)
            .clock(Arc::new(self.clock.clone()))
            .durability(Durability::EveryRecord)
    }

    /// The builder with the fixture's signer and epoch-0 key.
    pub(crate) fn keyed(&self) -> palisade_audit::AuditLogBuilder {
        self.builder()
            .signer(Arc::new(Self::signing(&self.signing_seed)))
            .epoch0_key(MacKey::from_bytes(self.k0))
    }

    pub(crate) fn create(&self) -> AuditLog {
        self.keyed()
            .create_with(|_| Ok(()))
            .expect("log can be created")
    }

    pub(crate) fn open(&self) -> AuditLog {
        self.keyed().open().expect("log can be opened")
    }

    /// A verifier with both keys, on the fixture's clock.
    pub(crate) fn verifier(&self) -> palisade_audit::Verifier {
        palisade_audit::Verifier::new()
            .public_key(self.public)
            .mac_key(MacKey::from_bytes(self.k0))
            .clock(Arc::new(self.clock.clone()))
    }

    /// The only segment file.
    pub(crate) fn file(&self) -> PathBuf {
        self.dir.path().join("audit-00000000000000000000.jsonl")
    }

    /// Every segment file, oldest first.
    pub(crate) fn segments(&self) -> Vec<PathBuf> {
        let mut files: Vec<_> = fs::read_dir(self.dir.path())
            .expect("log directory is readable")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        files
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        fs::read_to_string(self.file())
            .expect("log file is readable")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub(crate) fn write_lines(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(self.file(), text).expect("log file is writable");
    }

    /// The writer's current epoch key, as an intruder would read it from disk.
    pub(crate) fn stolen_key(&self) -> [u8; 32] {
        let text = fs::read_to_string(self.dir.path().join("epoch.key")).expect("key file");
        let hex = text.lines().nth(3).expect("key line");
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
        }
        key
    }
}

/// A log with three epochs: 5 events in epoch 0, a seal and checkpoint, 5 events in epoch 1,
/// a seal and checkpoint, 5 events in epoch 2. Returns the fixture.
pub(crate) fn three_epochs(tag: &str) -> Fixture {
    let fx = Fixture::new(tag);
    let mut log = fx.create();
    for epoch in 0..3 {
        if epoch > 0 {
            fx.clock.advance(EPOCH);
            log.tick().expect("tick");
        }
        for i in 0..5 {
            let _ = log
                .append(
                    palisade_audit::Event::new("data.read")
                        .actor(format!("user:{epoch}{i}"))
                        .target(format!("row:{epoch}{i}")),
                )
                .expect("append");
        }
    }
    assert_eq!(log.epoch(), 2);
    drop(log);
    fx
}

/// Sequence number of a line.
pub(crate) fn seq_of(line: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(line).expect("json line");
    v["seq"].as_u64().expect("seq")
}

/// RFC 9162 leaf hash, computed independently of the crate.
pub(crate) fn leaf(content: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(content);
    h.finalize().into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Re-links and re-MACs every line from `from` on with `key`, as an intruder holding that key
/// would: each line's `prev` becomes the previous line's hash.
pub(crate) fn reforge(lines: &mut [String], from: usize, key: &[u8; 32]) {
    use hmac::{KeyInit, Mac};
    for i in from..lines.len() {
        let prev_content = content_of(&lines[i - 1]);
        let prev_hash = hex(&leaf(prev_content.as_bytes()));
        let content = content_of(&lines[i]);
        let at = content.rfind(",\"prev\":\"").expect("prev member");
        let content = format!("{},\"prev\":\"{prev_hash}\"}}", &content[..at]);
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("key");
        mac.update(content.as_bytes());
        let tag = hex(&mac.finalize().into_bytes());
        lines[i] = format!("{},\"mac\":\"{tag}\"}}", &content[..content.len() - 1]);
    }
}

/// A line without its trailing mac member, closed: the bytes hashed and authenticated.
pub(crate) fn content_of(line: &str) -> String {
    format!("{}}}", &line[..line.len() - 74])
}

pub(crate) fn k(bytes: [u8; 32]) -> MacKey {
    MacKey::from_bytes(bytes)
}

pub(crate) fn expose(key: &MacKey) -> [u8; 32] {
    *key.expose_secret()
}
