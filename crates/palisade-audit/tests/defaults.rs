//! The documented defaults and refusals, each proved (issue 24): 64 MiB segments, 15-minute
//! epochs, private files, `ClockJump`, `EpochAfterSeal`, strict Ed25519.

mod support;

use std::{fs, sync::Arc, time::Duration};

use base64::Engine as _;

use palisade_audit::{
    AppendError, AuditLog, AuditWriter, Checkpoint, CheckpointSigner, Event, FindingKind, Overflow,
    Queued, SignError, SigningKey, VerifyingKey,
};
use support::{Fixture, TempDir, three_epochs};

#[test]
fn segments_are_64_mib_by_default() {
    let dir = TempDir::new("default-size");
    let log = AuditLog::builder(dir.path())
        .create_with(|_| Ok(()))
        .unwrap();
    assert_eq!(log.max_file_bytes(), 64 * 1024 * 1024);
    assert_eq!(palisade_audit::DEFAULT_MAX_FILE_BYTES, 64 << 20);
}

#[test]
fn epochs_are_15_minutes_by_default() {
    let dir = TempDir::new("default-epoch");
    let log = AuditLog::builder(dir.path())
        .create_with(|_| Ok(()))
        .unwrap();
    assert_eq!(log.epoch_length(), Duration::from_secs(15 * 60));
    let text = fs::read_to_string(dir.path().join("audit-00000000000000000000.jsonl")).unwrap();
    assert!(text.contains("\"epoch_ms\":900000"), "{text}");
}

#[cfg(unix)]
#[test]
fn every_file_the_log_writes_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("modes");
    let bundle = dir.path().join("verifier.bundle");
    let log_dir = dir.path().join("log");
    let mut log = AuditLog::builder(&log_dir)
        .max_file_bytes(64 * 1024)
        .create(&bundle)
        .unwrap();
    for i in 0..400 {
        let _ = log
            .append(Event::new("x").field("pad", "y".repeat(200)).field("i", i))
            .unwrap();
    }
    let _ = log.checkpoint().unwrap();
    drop(log);
    let mut files = vec![bundle];
    files.extend(fs::read_dir(&log_dir).unwrap().map(|e| e.unwrap().path()));
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let mode = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    let key = dir.path().join("signing.key");
    SigningKey::generate()
        .unwrap()
        .write_new_file(&key)
        .unwrap();
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        SigningKey::generate()
            .unwrap()
            .write_new_file(&key)
            .is_err(),
        "never overwritten"
    );
}

#[test]
fn a_clock_jump_beyond_reach_is_refused_as_clock_jump() {
    let fx = Fixture::new("clock-jump");
    let mut log = fx
        .keyed()
        .epoch_length(Duration::from_secs(1))
        .create_with(|_| Ok(()))
        .unwrap();
    // 2^26 one-second epochs is about two years: three years ahead is refused.
    fx.clock.advance(Duration::from_secs(3 * 365 * 86_400));
    match log.append(Event::new("late")) {
        Err(AppendError::ClockJump { epochs }) => assert!(epochs > 1 << 26),
        other => panic!("expected ClockJump, got {other:?}"),
    }
}

#[test]
fn a_record_in_a_sealed_epoch_is_reported_as_epoch_after_seal() {
    let fx = three_epochs("after-seal");
    let mut lines = fx.lines();
    // Record 16 (epoch 2) claims epoch 1, which record 13 sealed.
    lines[16] = lines[16].replacen("\"epoch\":2,", "\"epoch\":1,", 1);
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    let f = report
        .findings()
        .iter()
        .find(|f| f.position.seq == Some(16))
        .unwrap();
    assert_eq!(
        f.kind,
        FindingKind::EpochAfterSeal {
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn checkpoint_signatures_are_strict_ed25519_small_order_key() {
    // The identity point as a public key, and the signature (R = identity, S = 0), satisfy the
    // lax verification equation for every message; strict RFC 8032 verification refuses both.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let note_text = "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let mut blob = weak.note_key_id("example.com/log").to_vec();
    blob.extend_from_slice(&identity);
    blob.extend_from_slice(&[0u8; 32]);
    let note = format!(
        "{note_text}\n\u{2014} example.com/log {}\n",
        base64::engine::general_purpose::STANDARD.encode(blob)
    );
    let cp = Checkpoint::from_note(&note).unwrap();
    assert!(cp.verify(&weak).is_err());
}

#[test]
fn checkpoint_signatures_are_strict_ed25519_non_canonical_s() {
    // S + L (the group order) is the same scalar, a second encoding of the same signature.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let fx = three_epochs("strict-s");
    let cp = fx.open().checkpoint().unwrap();
    assert!(cp.verify(&fx.public).is_ok());
    let b64 = base64::engine::general_purpose::STANDARD;
    let note = cp.to_note();
    let sig_line = note.lines().last().unwrap();
    let (head, sig) = sig_line.rsplit_once(' ').unwrap();
    let mut blob = b64.decode(sig).unwrap();
    let s = &mut blob[4 + 32..];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    let forged = note.replace(sig_line, &format!("{head} {}", b64.encode(blob)));
    let cp = Checkpoint::from_note(&forged).unwrap();
    assert!(cp.verify(&fx.public).is_err());
}

/// A signer that blocks until told to go on: the writer thread stalls while it signs.
#[derive(Debug)]
struct Gate {
    key: SigningKey,
    open: std::sync::Mutex<bool>,
    cv: std::sync::Condvar,
}

impl CheckpointSigner for Gate {
    fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
        CheckpointSigner::sign(&self.key, message)
    }
}

#[test]
fn a_full_queue_drops_and_counts_and_the_log_records_the_count() {
    let fx = Fixture::new("writer-drop");
    drop(fx.create());
    let gate = Arc::new(Gate {
        key: Fixture::signing(&fx.signing_seed),
        open: std::sync::Mutex::new(false),
        cv: std::sync::Condvar::new(),
    });
    let writer = AuditWriter::open(
        fx.builder().signer(gate.clone()).checkpoint_every(1),
        2,
        Overflow::DropAndCount,
    )
    .unwrap();
    // The first event makes the writer sign a checkpoint, where it stalls; two more fill the
    // queue; the rest are dropped and counted.
    let outcomes: Vec<Queued> = (0..10)
        .map(|i| writer.record(Event::new("e").field("i", i)))
        .collect();
    let dropped = outcomes.iter().filter(|q| **q == Queued::Dropped).count() as u64;
    assert!(dropped >= 7, "{outcomes:?}");
    assert_eq!(writer.dropped(), dropped);
    *gate.open.lock().unwrap() = true;
    gate.cv.notify_all();
    writer.flush().unwrap();
    writer.close().unwrap();
    let records = palisade_audit::read_records(fx.dir.path()).unwrap();
    let note = records
        .iter()
        .filter_map(|r| r.event())
        .find(|e| e["action"] == "audit.dropped")
        .expect("a record of the drops");
    assert_eq!(note["fields"]["count"], dropped);
    assert!(fx.verifier().verify_dir(fx.dir.path()).unwrap().is_intact());
}

#[test]
fn the_block_policy_loses_nothing_and_services_default_to_group_commit() {
    let fx = Fixture::new("writer-block");
    drop(fx.create());
    let writer = AuditWriter::open(
        AuditLog::builder(fx.dir.path())
            .epoch_length(support::EPOCH)
            .clock(Arc::new(fx.clock.clone()))
            .signer(Arc::new(Fixture::signing(&fx.signing_seed))),
        1,
        Overflow::Block,
    )
    .unwrap();
    assert_eq!(writer.durability(), palisade_audit::DEFAULT_GROUP);
    for i in 0..200 {
        assert_eq!(
            writer.record(Event::new("e").field("i", i)),
            Queued::Accepted
        );
    }
    writer.close().unwrap();
    let events = palisade_audit::read_records(fx.dir.path())
        .unwrap()
        .iter()
        .filter(|r| r.event().is_some())
        .count();
    assert_eq!(events, 200);
    assert_eq!(
        palisade_audit::DEFAULT_GROUP,
        palisade_audit::Durability::Group {
            records: 64,
            interval: Duration::from_millis(50)
        }
    );
}
