//! Checkpoint notes against an independent implementation: Go's
//! `golang.org/x/mod/sumdb/note`, driven through `tests/interop/note_verify.go`. The Go
//! toolchain and the module come from Debian (`golang-go`, `golang-golang-x-mod-dev`), which
//! `.ci/run` installs; without them this test fails, it never skips.

mod support;

use std::{path::PathBuf, process::Command};

use base64::Engine as _;
use palisade_audit::Checkpoint;
use support::{TempDir, three_epochs};

const GOPATH: &str = "/usr/share/gocode";

/// Runs the Go tool; panics with what to install when Go or the module is missing.
fn go(args: &[&str]) -> (i32, String, String) {
    let tool = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/note_verify.go");
    assert!(
        PathBuf::from(GOPATH)
            .join("src/golang.org/x/mod/sumdb/note/note.go")
            .exists(),
        "golang.org/x/mod/sumdb/note is missing: apt-get install golang-go golang-golang-x-mod-dev"
    );
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-cache");
    let out = Command::new("go")
        .arg("run")
        .arg(&tool)
        .args(args)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", cache)
        .env("GOFLAGS", "")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `go` ({e}): apt-get install golang-go golang-golang-x-mod-dev")
        });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn go_sumdb_note_opens_our_checkpoint_notes() {
    let fx = three_epochs("go-verify");
    let mut log = fx.open();
    let cp = log.checkpoint().unwrap();
    let vkey = log.verifying_key().note_verifier_key(log.origin());
    drop(log);
    let dir = TempDir::new("go-notes");
    let note = dir.path().join("checkpoint.note");
    std::fs::write(&note, cp.to_note()).unwrap();
    let (code, text, err) = go(&["verify", &vkey, note.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(text, cp.text());
    assert!(text.starts_with(&format!("{}\n{}\n", cp.origin(), cp.size())));

    // Go refuses a note whose size was changed, as we do.
    let forged = cp
        .to_note()
        .replacen(&format!("\n{}\n", cp.size()), "\n7\n", 1);
    std::fs::write(&note, &forged).unwrap();
    assert_eq!(go(&["verify", &vkey, note.to_str().unwrap()]).0, 1);
    assert!(
        Checkpoint::from_note(&forged)
            .unwrap()
            .verify(&fx.public)
            .is_err()
    );
}

#[test]
fn our_parser_verifies_notes_signed_by_go() {
    let fx = three_epochs("go-sign");
    let origin = "audit.example.com/interop";
    // Go's signer key names our key id: Go checks it against the key it derives from the seed,
    // so this also proves the C2SP key id computation.
    let mut key = vec![1u8];
    key.extend_from_slice(&fx.signing_seed);
    let skey = format!(
        "PRIVATE+KEY+{origin}+{}+{}",
        support::hex(&fx.public.note_key_id(origin)),
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let root = base64::engine::general_purpose::STANDARD.encode([0x5a; 32]);
    let dir = TempDir::new("go-sign-notes");
    let text_file = dir.path().join("text");
    std::fs::write(&text_file, format!("{origin}\n42\n{root}\n")).unwrap();
    let (code, note, err) = go(&["sign", &skey, text_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let cp = Checkpoint::from_note(&note).unwrap();
    assert_eq!(
        (cp.origin(), cp.size(), cp.root()),
        (origin, 42, [0x5a; 32])
    );
    assert!(cp.verify(&fx.public).is_ok());
    assert_eq!(
        cp.to_note(),
        note,
        "our serialization is Go's, byte for byte"
    );
    let other = support::Fixture::signing(&[3; 32]).verifying_key();
    assert!(cp.verify(&other).is_err());
}
