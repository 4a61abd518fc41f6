//! Audit key custody (issue 16, in the service): the service holds what appending needs and
//! nothing that verifies, so an intruder holding every file and secret it holds cannot rewrite
//! a sealed record unnoticed. Each test is named after the claim it proves.
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

mod common;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use common::{PASSWORD, SECRETS, Server};
use palisade_audit::{FindingKind, Verifier, VerifierBundle};

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex32(text: &str) -> [u8; 32] {
    std::array::from_fn(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
}

/// A line without its trailing `mac` member, closed: the bytes hashed and authenticated.
fn content_of(line: &str) -> String {
    let at = line.rfind(",\"mac\":\"").unwrap();
    format!("{}}}", &line[..at])
}

/// Re-links and re-MACs every line from `from` on with `key`, as an intruder holding that key
/// would write them (RFC 9162 leaf hashes for `prev`, HMAC-SHA256 for `mac`).
fn reforge(lines: &mut [String], from: usize, key: &[u8; 32]) {
    use hmac::{KeyInit as _, Mac as _};
    use sha2::Digest as _;
    for i in from..lines.len() {
        let mut leaf = sha2::Sha256::new();
        leaf.update([0u8]);
        leaf.update(content_of(&lines[i - 1]).as_bytes());
        let prev = hex(&leaf.finalize());
        let content = content_of(&lines[i]);
        let at = content.rfind(",\"prev\":\"").unwrap();
        let content = format!("{},\"prev\":\"{prev}\"}}", &content[..at]);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(content.as_bytes());
        let tag = hex(&mac.finalize().into_bytes());
        lines[i] = format!("{},\"mac\":\"{tag}\"}}", &content[..content.len() - 1]);
    }
}

fn segment(dir: &Path) -> PathBuf {
    dir.join("audit").join("audit-00000000000000000000.jsonl")
}

/// Runs the service until the audit epoch (1 s) holding a registration is sealed, then stops
/// it; the verifier bundle is moved to `away`, as the operator would.
fn sealed_log(name: &str) -> (PathBuf, PathBuf) {
    let dir = Server::temp_dir(name);
    let away = Server::temp_dir(&format!("{name}-operator"));
    {
        let server = Server::start(&dir, &[("PALISADE_AUDIT_EPOCH_SECS", "1")]);
        std::fs::rename(dir.join("audit.verifier"), away.join("audit.verifier")).unwrap();
        assert_eq!(server.register("mallory@example.com", PASSWORD).status, 201);
        let started = Instant::now();
        loop {
            let audit = server.audit();
            // Two seals after the registration: the first may close an earlier epoch written
            // late, the second is at least the registration's own.
            let seals_after = audit
                .find("\"action\":\"auth.register\"")
                .map_or(0, |r| audit[r..].matches("\"kind\":\"seal\"").count());
            if seals_after >= 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "never sealed:\n{audit}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    (dir, away.join("audit.verifier"))
}

fn verify(dir: &Path, bundle: &Path) -> palisade_audit::Report {
    let bundle = VerifierBundle::read_file(bundle).unwrap();
    Verifier::new()
        .bundle(&bundle)
        .verify_dir(dir.join("audit"))
        .unwrap()
}

#[test]
fn an_intruder_holding_every_file_and_secret_of_the_service_cannot_rewrite_a_sealed_record() {
    let (dir, bundle) = sealed_log("custody");
    let untouched = verify(&dir, &bundle);
    assert!(untouched.is_intact(), "{untouched}");

    // Every key the intruder finds on the machine: the audit log's current epoch key and each
    // of the service's secrets (the checkpoint signing key among them).
    let epoch_key = std::fs::read_to_string(dir.join("audit").join("epoch.key")).unwrap();
    let mut stolen = vec![unhex32(epoch_key.lines().nth(3).unwrap())];
    stolen.extend(SECRETS.iter().map(|(_, value)| unhex32(value)));

    let original = std::fs::read_to_string(segment(&dir)).unwrap();
    // The records, without the zeros the log writes ahead of them (the service was killed, so
    // they were never cut away).
    let lines: Vec<String> = original
        .trim_end_matches('\0')
        .lines()
        .map(str::to_owned)
        .collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"action\":\"auth.register\""))
        .unwrap();
    for key in &stolen {
        // The registration is rewritten to name another client, and everything after it is
        // re-linked and re-MACed with the stolen key.
        let mut forged = lines.clone();
        forged[at] = forged[at].replace("\"client\":\"127.0.0.1\"", "\"client\":\"192.0.2.66\"");
        assert_ne!(forged[at], lines[at]);
        reforge(&mut forged, at, key);
        std::fs::write(segment(&dir), forged.join("\n") + "\n").unwrap();
        let report = verify(&dir, &bundle);
        let first = report.first_tampering().expect("the rewrite is caught");
        assert_eq!(first.position.seq, Some(at as u64), "{report}");
        assert_eq!(first.kind, FindingKind::BadMac, "{report}");
    }
    std::fs::write(segment(&dir), original).unwrap();
    assert!(verify(&dir, &bundle).is_intact());
}

#[test]
fn the_service_starts_without_an_audit_mac_secret() {
    // The test secrets hold none; the service starts (every other test relies on it too).
    assert!(!SECRETS.iter().any(|(name, _)| name.contains("AUDIT_MAC")));
    let dir = Server::temp_dir("custody-no-mac");
    let server = Server::start(&dir, &[]);
    assert_eq!(server.get("/health/live", &[]).status, 200);
    assert!(
        dir.join("audit.verifier").exists(),
        "the bundle was written"
    );
}

#[test]
fn the_service_refuses_to_start_without_a_log_or_a_place_for_its_verifier_bundle() {
    let dir = Server::temp_dir("custody-refuse");
    let log = Server::try_start(&dir, &[("PALISADE_AUDIT_VERIFIER_OUT", "")], &[])
        .err()
        .expect("refused");
    assert!(log.contains("audit-init --verifier-out"), "{log}");
    assert!(!dir.join("audit").join("epoch.key").exists());
}

#[test]
fn audit_init_writes_the_verifier_bundle_once_and_never_over_a_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Server::temp_dir("custody-init");
    let bundle = dir.join("operator.bundle");
    let bundle_arg = bundle.display().to_string();
    let init = |server_dir: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_secure-api"))
            .args(["audit-init", "--verifier-out", &bundle_arg])
            .env_clear()
            .envs(SECRETS.iter().copied())
            .env("PALISADE_AUDIT_DIR", server_dir.join("audit"))
            .output()
            .unwrap()
    };
    let first = init(&dir);
    assert!(first.status.success(), "{first:?}");
    let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the bundle is private");
    let written = std::fs::read(&bundle).unwrap();

    // The log exists: refused, the bundle untouched.
    let again = init(&dir);
    assert_eq!(again.status.code(), Some(1));
    // A new log with the same bundle path: refused, nothing created.
    let other = Server::temp_dir("custody-init-other");
    let over = init(&other);
    assert_eq!(over.status.code(), Some(1));
    assert!(!other.join("audit").join("epoch.key").exists());
    assert_eq!(std::fs::read(&bundle).unwrap(), written);

    // The service then starts on the log audit-init made, with no verifier output configured.
    let mut env: Vec<(&str, &str)> = vec![("PALISADE_AUDIT_VERIFIER_OUT", "")];
    let audit_dir = dir.join("audit").display().to_string();
    env.push(("PALISADE_AUDIT_DIR", &audit_dir));
    let server = Server::start(&dir, &env);
    assert_eq!(server.get("/health/ready", &[]).status, 200);
}

#[test]
fn audit_init_needs_a_verifier_out_and_nothing_else_takes_one() {
    let dir = Server::temp_dir("custody-args");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_secure-api"))
            .args(args)
            .env_clear()
            .envs(SECRETS.iter().copied())
            .env("PALISADE_AUDIT_DIR", dir.join("audit"))
            .output()
            .unwrap()
    };
    assert_eq!(run(&["audit-init"]).status.code(), Some(2));
    assert_eq!(
        run(&["serve", "--verifier-out", "x.bundle"]).status.code(),
        Some(2)
    );
    assert!(!dir.join("audit").exists(), "nothing was created");
}
