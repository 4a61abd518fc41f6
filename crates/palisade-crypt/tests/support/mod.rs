//! Vector parsing and fixed keyrings shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use palisade_crypt::{KeyId, KeyPurpose, KeyState, Keyring, Padding};

/// Reads `key = value` blocks separated by blank lines, skipping `#` comments.
pub fn read_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (k, v) = line
            .split_once(" = ")
            .or_else(|| line.split_once(" ="))
            .expect("key = value");
        current.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

pub fn get<'a>(block: &'a [(String, String)], key: &str) -> &'a str {
    block
        .iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("vector lacks {key}"), |(_, v)| v.as_str())
}

pub use palisade_testkit::unhex as hex;

pub fn key32(text: &str) -> [u8; 32] {
    hex(text).try_into().expect("32 bytes")
}

pub fn padding(text: &str) -> Padding {
    match text {
        "none" => Padding::NONE,
        "padme" => Padding::PADME,
        other => Padding::bucket(
            other
                .strip_prefix("bucket:")
                .expect("bucket:N")
                .parse()
                .expect("N"),
        )
        .expect("bucket"),
    }
}

/// A keyring whose primary encryption key is `(id, key)`, plus a blind-index key.
pub fn fixed_keyring(id: u32, key: [u8; 32]) -> Keyring {
    Keyring::insecure_from_fixed_keys(&[
        (
            KeyId::insecure_from_u32(id),
            1,
            KeyPurpose::Encryption,
            KeyState::Primary,
            key,
        ),
        (
            KeyId::insecure_from_u32(id ^ 0xffff_ffff),
            2,
            KeyPurpose::BlindIndex,
            KeyState::Primary,
            [7; 32],
        ),
    ])
    .expect("valid keyring")
}

/// A new master key in `dir/master.key` (base64) and a new keyring sealed under it in
/// `dir/ring.pck`, as a deployment has them; the master key is returned.
pub fn keyring_file(dir: &std::path::Path) -> palisade_crypt::MasterKey {
    use secrecy::ExposeSecret as _;
    let master = palisade_crypt::MasterKey::generate().expect("master");
    std::fs::write(dir.join("master.key"), master.to_base64().expose_secret())
        .expect("master key file");
    Keyring::generate()
        .expect("keyring")
        .save_new(dir.join("ring.pck"), &master)
        .expect("save_new");
    master
}

/// This test binary again, running only the test `name`, with `var` naming `dir`: a second
/// process for tests of what several processes sharing one file do.
pub fn second_process(name: &str, var: &str, dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", name, "--test-threads", "1"])
        .env(var, dir);
    command
}

/// A directory under the system's temporary directory for one test, emptied when created and
/// removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("palisade-crypt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
