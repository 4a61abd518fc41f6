//! `palisade audit`: init, append, verify, checkpoint, prune, through the built binary; key
//! custody, truncation with and without an exported checkpoint, nothing secret ever shown.

mod common;

use std::path::Path;

use common::{Scratch, run};

struct Log {
    s: Scratch,
    dir: String,
    bundle: String,
}

impl Log {
    fn init(name: &str) -> Self {
        let s = Scratch::new(name);
        let dir = s.join("log");
        let bundle = s.join("verifier.bundle");
        let r = run(&["audit", "init", &dir, "--verifier-out", &bundle], b"");
        r.expect_code(0);
        // The public key as a signed-note verifier key: `<origin>+<8 hex>+<base64>`.
        let line = r.stdout_str();
        let (name, rest) = line.split_once('+').unwrap();
        assert!(name.starts_with("palisade-audit/"), "{line}");
        assert!(
            rest.as_bytes()[8] == b'+' && rest[..8].bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        Self { s, dir, bundle }
    }

    fn append(&self, input: &[u8]) -> common::Run {
        run(&["audit", "append", &self.dir], input)
    }

    fn verify(&self, checkpoints: &[&str]) -> common::Run {
        let mut args = vec!["audit", "verify", &self.dir, "--verifier", &self.bundle];
        for c in checkpoints {
            args.extend(["--checkpoint", c]);
        }
        run(&args, b"")
    }

    fn segment(&self) -> std::path::PathBuf {
        Path::new(&self.dir).join("audit-00000000000000000000.jsonl")
    }

    /// The verifier bundle's MAC key, in hex: it must never be printed.
    fn mac_key_hex(&self) -> Vec<u8> {
        let text = std::fs::read_to_string(&self.bundle).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("mac-key "))
            .unwrap()
            .as_bytes()
            .to_vec()
    }
}

const FIVE: &[u8] = b"{\"action\":\"a\"}\n{\"action\":\"b\"}\n{\"action\":\"c\"}\n{\"action\":\"d\"}\n{\"action\":\"e\"}\n";

#[test]
fn init_writes_a_private_verifier_bundle_once() {
    let log = Log::init("audit-init");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log.bundle).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let before = std::fs::read(&log.bundle).unwrap();
    let other = log.s.join("other");
    run(
        &["audit", "init", &other, "--verifier-out", &log.bundle],
        b"",
    )
    .expect_code(2)
    .never_shows(&log.mac_key_hex());
    assert!(!Path::new(&other).exists(), "nothing is created");
    assert_eq!(std::fs::read(&log.bundle).unwrap(), before);
    // A directory that holds a log is refused too.
    let again = log.s.join("again.bundle");
    run(&["audit", "init", &log.dir, "--verifier-out", &again], b"").expect_code(2);
}

#[test]
fn append_then_verify_with_the_bundle() {
    let log = Log::init("audit-ok");
    let input = br#"{"action":"auth.login","actor":"user:42","client":"203.0.113.9","outcome":"failure","fields":{"password":"hunter2"}}
{"action":"key.rotate","target":"keyring:main","outcome":"success","request_id":"req-1","attempt":3}
"#;
    let r = log.append(input);
    r.expect_code(0).never_shows(b"hunter2");
    assert_eq!(r.stdout_str(), "1\n2\n");
    // Appending again continues the chain, after the checkpoint that ended the first run.
    assert_eq!(
        log.append(br#"{"action":"data.read"}"#)
            .expect_code(0)
            .stdout_str(),
        "4\n"
    );
    let text = std::fs::read_to_string(log.segment()).unwrap();
    assert!(!text.contains("hunter2") && text.contains("[REDACTED]"));

    let r = log.verify(&[]);
    r.expect_code(0).never_shows(&log.mac_key_hex());
    let out = r.stdout_str();
    // genesis, two events, a checkpoint, an event, a checkpoint.
    assert!(
        out.starts_with("intact: 6 record(s) in 1 file(s)\n"),
        "{out}"
    );
    assert!(out.contains("could have been cut undetected"), "{out}");
}

#[test]
fn append_needs_an_initialised_log_and_checks_every_object_first() {
    let s = Scratch::new("audit-input");
    let dir = s.join("log");
    run(&["audit", "append", &dir], b"{\"action\":\"a\"}").expect_code(2);
    assert!(!Path::new(&dir).exists());
    let log = Log::init("audit-input-2");
    let before = std::fs::read(log.segment()).unwrap();
    for bad in [
        &b"[1,2]"[..],
        b"{\"actor\":\"no action\"}",
        b"{\"action\":\"a\"}\n{\"action\":\"b\",\"outcome\":\"maybe\"}",
        b"{\"action\":\"a\"}\nnot json",
        b"{\"action\":\"a\",\"fields\":[1]}",
        b"{\"action\":\"a\",\"actor\":7}",
    ] {
        log.append(bad).expect_code(2);
        assert_eq!(
            std::fs::read(log.segment()).unwrap(),
            before,
            "nothing is written"
        );
    }
}

#[test]
fn a_log_rebuilt_by_an_intruder_with_every_writer_file_fails_verification() {
    let log = Log::init("audit-custody");
    log.append(b"{\"action\":\"a\",\"target\":\"row:1\"}\n{\"action\":\"b\"}\n")
        .expect_code(0);
    // The intruder holds the whole directory but not the bundle: a log rebuilt from scratch
    // with the record changed carries keys of its own.
    let forged = log.s.join("forged");
    let forged_bundle = log.s.join("forged.bundle");
    run(
        &["audit", "init", &forged, "--verifier-out", &forged_bundle],
        b"",
    )
    .expect_code(0);
    run(
        &["audit", "append", &forged],
        b"{\"action\":\"a\",\"target\":\"row:9\"}\n{\"action\":\"b\"}\n",
    )
    .expect_code(0);
    std::fs::remove_dir_all(&log.dir).unwrap();
    std::fs::rename(&forged, &log.dir).unwrap();
    let r = log.verify(&[]);
    r.expect_code(1);
    assert!(
        r.stdout_str().starts_with("tampered: record 0 "),
        "{}",
        r.stdout_str()
    );
}

#[test]
fn verify_reports_the_first_tampered_record() {
    let log = Log::init("audit-tamper");
    log.append(b"{\"action\":\"a\",\"target\":\"row:1\"}\n{\"action\":\"b\",\"target\":\"row:2\"}\n{\"action\":\"c\",\"target\":\"row:3\"}\n")
        .expect_code(0);
    let text = std::fs::read_to_string(log.segment()).unwrap();
    std::fs::write(log.segment(), text.replace("row:2", "row:9")).unwrap();
    let r = log.verify(&[]);
    r.expect_code(1);
    let out = r.stdout_str();
    assert!(out.starts_with("tampered: record 2 ("), "{out}");
    assert!(out.contains("MAC does not verify"), "{out}");
    assert!(r.stderr.contains("record 2"), "{}", r.stderr);
}

/// `--prometheus-textfile`: a scheduled verification exports its findings for the node exporter's
/// textfile collector (the source of the `PalisadeAuditVerificationFailed` alert): a tampered
/// log writes the failure counter by kind, an intact one writes no failure.
#[test]
fn verify_writes_its_findings_as_a_prometheus_textfile() {
    let log = Log::init("audit-textfile");
    log.append(FIVE).expect_code(0);
    let textfile = log.s.join("audit.prom");
    let verify = || {
        run(
            &[
                "audit",
                "verify",
                &log.dir,
                "--verifier",
                &log.bundle,
                "--prometheus-textfile",
                &textfile,
            ],
            b"",
        )
    };
    verify().expect_code(0);
    let intact = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        !intact.contains("palisade_audit_verification_failures_total"),
        "{intact}"
    );
    let text = std::fs::read_to_string(log.segment()).unwrap();
    std::fs::write(log.segment(), text.replace("\"c\"", "\"x\"")).unwrap();
    verify().expect_code(1);
    let exported = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        exported.contains("# TYPE palisade_audit_verification_failures_total counter"),
        "{exported}"
    );
    let failures = exported
        .lines()
        .find(|l| l.starts_with("palisade_audit_verification_failures_total{kind=\""))
        .unwrap_or_else(|| panic!("no failure series in {exported}"));
    assert!(failures.ends_with(" 1"), "{failures}");
    // Written through a temporary file that is renamed away.
    assert!(!Path::new(&format!("{textfile}.tmp")).exists());
    // Nothing from the bundle reaches the file.
    let key = String::from_utf8(log.mac_key_hex()).unwrap();
    assert!(!exported.contains(&key));
}

#[test]
fn truncation_is_caught_with_an_exported_checkpoint_and_announced_without() {
    let log = Log::init("audit-truncate");
    log.append(FIVE).expect_code(0);
    let r = run(&["audit", "checkpoint", &log.dir], b"");
    r.expect_code(0);
    let note = r.stdout_str();
    // A C2SP tlog-checkpoint: origin, size, base64 root, blank line, signature line.
    let lines: Vec<&str> = note.lines().collect();
    assert_eq!((lines[1], lines[3]), ("6", ""), "{note}");
    assert!(
        lines[4].starts_with(&format!("\u{2014} {} ", lines[0])),
        "{note}"
    );
    let note_file = log.s.file("witness.note", note.as_bytes());
    log.verify(&[&note_file]).expect_code(0);

    let full = std::fs::read_to_string(log.segment()).unwrap();
    let all: Vec<&str> = full.lines().collect();
    for keep in [3, 1] {
        std::fs::write(log.segment(), all[..keep].join("\n") + "\n").unwrap();
        let plain = log.verify(&[]);
        plain.expect_code(0);
        assert!(plain.stdout_str().contains(&format!(
            "the {keep} record(s) from record 0 on could have been cut undetected"
        )));
        let anchored = log.verify(&[&note_file]);
        anchored.expect_code(1);
        assert!(
            anchored
                .stdout_str()
                .contains("truncated: a trusted checkpoint covers 6 records"),
            "{}",
            anchored.stdout_str()
        );
    }
}

#[test]
fn a_fork_from_an_exported_checkpoint_exits_1() {
    let log = Log::init("audit-fork");
    log.append(FIVE).expect_code(0);
    let note = run(&["audit", "checkpoint", &log.dir], b"").stdout_str();
    let note_file = log.s.file("witness.note", note.as_bytes());
    // The intruder (who holds the current epoch's key and the signing key) cuts the log and
    // writes another history with the tool itself: internally consistent, but a fork.
    let full = std::fs::read_to_string(log.segment()).unwrap();
    let all: Vec<&str> = full.lines().collect();
    std::fs::write(log.segment(), all[..3].join("\n") + "\n").unwrap();
    log.append(b"{\"action\":\"x\"}\n{\"action\":\"y\"}\n{\"action\":\"z\"}\n{\"action\":\"w\"}\n")
        .expect_code(0);
    log.verify(&[]).expect_code(0);
    let r = log.verify(&[&note_file]);
    r.expect_code(1);
    assert!(
        r.stdout_str()
            .contains("forked: the first 6 records differ"),
        "{}",
        r.stdout_str()
    );
}

#[test]
fn prune_refuses_without_an_exported_checkpoint_and_keeps_the_active_segment() {
    let log = Log::init("audit-prune");
    log.append(FIVE).expect_code(0);
    let r = run(&["audit", "prune", &log.dir, "--before", "2999-01-01"], b"");
    r.expect_code(2);
    assert!(r.stderr.contains("no exported checkpoint"), "{}", r.stderr);
    run(&["audit", "checkpoint", &log.dir], b"").expect_code(0);
    let r = run(
        &[
            "audit",
            "prune",
            &log.dir,
            "--before",
            "2999-01-01T00:00:00Z",
        ],
        b"",
    );
    r.expect_code(0);
    assert_eq!(
        r.stdout_str(),
        "pruned: nothing\nkept the next segment: it is the segment being written\n"
    );
    log.verify(&[]).expect_code(0);
    run(&["audit", "prune", &log.dir, "--before", "yesterday"], b"").expect_code(2);
}

#[test]
fn a_signing_key_kept_in_its_own_file_is_needed_to_append() {
    let s = Scratch::new("audit-signing-file");
    let dir = s.join("log");
    let bundle = s.join("verifier.bundle");
    let key = s.join("checkpoint.key");
    run(
        &[
            "audit",
            "init",
            &dir,
            "--verifier-out",
            &bundle,
            "--signing-key",
            &key,
            "--origin",
            "audit.example.com/test",
        ],
        b"",
    )
    .expect_code(0);
    assert!(!Path::new(&dir).join("checkpoint.key").exists());
    run(&["audit", "append", &dir], b"{\"action\":\"a\"}").expect_code(2);
    let secret = std::fs::read_to_string(&key).unwrap();
    let secret = secret.lines().nth(1).unwrap().as_bytes().to_vec();
    run(
        &["audit", "append", &dir, "--signing-key", &key],
        b"{\"action\":\"a\"}",
    )
    .expect_code(0)
    .never_shows(&secret);
    let r = run(&["audit", "checkpoint", &dir], b"");
    assert!(
        r.expect_code(0)
            .stdout_str()
            .starts_with("audit.example.com/test\n2\n")
    );
    run(&["audit", "verify", &dir, "--verifier", &bundle], b"").expect_code(0);
}

#[test]
fn verify_refuses_bad_inputs_with_exit_2() {
    let log = Log::init("audit-bad-inputs");
    let not_bundle = log.s.file("x.bundle", b"SECRETSECRET");
    run(
        &["audit", "verify", &log.dir, "--verifier", &not_bundle],
        b"",
    )
    .expect_code(2)
    .never_shows(b"SECRETSECRET");
    let not_note = log.s.file("x.note", b"not a note\n");
    log.verify(&[&not_note]).expect_code(2);
    let missing = log.s.join("nothing-here");
    run(
        &["audit", "verify", &missing, "--verifier", &log.bundle],
        b"",
    )
    .expect_code(2);
    run(&["audit", "checkpoint", &missing], b"").expect_code(2);
}
