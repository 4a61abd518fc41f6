//! Crash simulations: a process killed in the middle of an append, torn writes, zero-filled
//! blocks, a crash between a seal and the key file's update. No committed record is lost, and
//! damage that is not a crash's leftover is refused, not cut.

mod support;

use std::{fs, io::Write as _};

use palisade_audit::{Durability, Event, OpenError};
use support::{EPOCH, Fixture, three_epochs};

fn append_raw(fx: &Fixture, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new().append(true).open(fx.file()).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn every_cut_inside_the_last_append_keeps_every_committed_record() {
    let fx = Fixture::new("cut-everywhere");
    let mut log = fx.create();
    for i in 0..4 {
        let r = log
            .append(Event::new("auth.login").actor(format!("u{i}")))
            .unwrap();
        assert!(r.durable);
    }
    drop(log);
    let committed = fs::read(fx.file()).unwrap();
    let mut log = fx.open();
    let _ = log.append(Event::new("auth.logout").actor("u9")).unwrap();
    drop(log);
    let full = fs::read(fx.file()).unwrap();
    let last_line = &full[committed.len()..];
    for cut in 0..last_line.len() {
        fs::write(fx.file(), [&committed[..], &last_line[..cut]].concat()).unwrap();
        let log = fx.open();
        assert_eq!(log.len(), 5, "cut at byte {cut}");
        drop(log);
        assert_eq!(fs::read(fx.file()).unwrap(), committed, "cut at byte {cut}");
    }
    // The complete line survives.
    fs::write(fx.file(), &full).unwrap();
    assert_eq!(fx.open().len(), 6);
    assert!(fx.verifier().verify_dir(fx.dir.path()).unwrap().is_intact());
}

#[test]
fn torn_tail_is_cut_and_appending_continues() {
    let fx = three_epochs("torn");
    append_raw(&fx, b"{\"v\":1,\"seq\":20,\"time\":\"2026-01-01T00:02:00.0");
    let before = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(before.is_intact(), "a torn line is a warning: {before}");
    let mut log = fx.open();
    assert_eq!(log.len(), 20);
    let r = log.append(Event::new("after.crash")).unwrap();
    assert_eq!(r.seq, 20);
    drop(log);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records(), 21);
}

#[test]
fn zero_filled_tail_is_cut() {
    let fx = three_epochs("zeros");
    append_raw(&fx, &[0u8; 4096]);
    assert_eq!(fx.open().len(), 20);
    // A partial line followed by zeros, and by zeros and newlines.
    append_raw(&fx, b"{\"v\":1,\"se\0\0\0\0\n\0\0\n");
    assert_eq!(fx.open().len(), 20);
    assert!(fx.verifier().verify_dir(fx.dir.path()).unwrap().is_intact());
}

#[test]
fn damage_before_the_tail_is_refused_and_left_alone() {
    let fx = three_epochs("damaged");
    let mut lines = fx.lines();
    lines[7] = lines[7].replace("\"size\":7", "\"size\":8");
    fx.write_lines(&lines);
    let before = fs::read(fx.file()).unwrap();
    let err = fx.keyed().open().unwrap_err();
    match err {
        OpenError::Damaged { line, .. } => assert_eq!(line, 9), // record 8 no longer links
        other => panic!("expected Damaged, got {other}"),
    }
    assert_eq!(fs::read(fx.file()).unwrap(), before, "nothing was cut");
}

#[test]
fn a_complete_but_forged_last_line_is_refused() {
    let fx = three_epochs("forged-last");
    let mut lines = fx.lines();
    let last = lines.len() - 1;
    lines[last] = lines[last].replace("row:24", "row:00");
    fx.write_lines(&lines);
    let err = fx.keyed().open().unwrap_err();
    assert!(matches!(err, OpenError::Damaged { line: 20, .. }), "{err}");
}

#[test]
fn crash_between_seal_and_key_update_recovers() {
    let fx = Fixture::new("seal-crash");
    let mut log = fx.create();
    let _ = log.append(Event::new("a")).unwrap();
    drop(log);
    let old_key = fs::read(fx.dir.path().join("epoch.key")).unwrap();
    let lines_before = fx.lines().len();
    fx.clock.advance(EPOCH);
    fx.open().tick().unwrap(); // seal (record 2) + checkpoint (record 3)
    // Simulate the crash: the seal reached the disk, the key file and checkpoint did not.
    let mut lines = fx.lines();
    assert_eq!(lines.len(), lines_before + 2);
    lines.truncate(lines_before + 1);
    fx.write_lines(&lines);
    fs::write(fx.dir.path().join("epoch.key"), old_key).unwrap();

    let mut log = fx.open();
    assert_eq!(log.epoch(), 1, "the key caught up with the seal");
    let _ = log.append(Event::new("b")).unwrap();
    drop(log);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
}

#[test]
fn a_cut_seal_makes_the_key_file_ahead_and_open_refuses() {
    let fx = three_epochs("key-ahead");
    let mut lines = fx.lines();
    lines.truncate(13); // epoch 1's seal and everything after it
    fx.write_lines(&lines);
    let err = fx.keyed().open().unwrap_err();
    assert!(matches!(err, OpenError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("truncation"));
}

#[test]
fn group_commit_reports_durability() {
    let fx = Fixture::new("group");
    let mut log = fx
        .builder()
        .durability(Durability::Group {
            records: 3,
            interval: std::time::Duration::from_millis(100),
        })
        .signer(std::sync::Arc::new(Fixture::signing(&fx.signing_seed)))
        .epoch0_key(palisade_audit::MacKey::from_bytes(fx.k0))
        .create_with(|_| Ok(()))
        .unwrap();
    assert_eq!(log.durable_len(), 1);
    let a = log.append(Event::new("a")).unwrap();
    let b = log.append(Event::new("b")).unwrap();
    assert!(!a.durable && !b.durable);
    let c = log.append(Event::new("c")).unwrap();
    assert!(c.durable, "the third pending record forces the sync");
    let d = log.append(Event::new("d")).unwrap();
    assert!(!d.durable);
    fx.clock.advance(std::time::Duration::from_millis(100));
    log.tick().unwrap();
    assert_eq!(log.durable_len(), log.len(), "the interval forces the sync");
}

#[test]
fn idle_epochs_are_sealed_by_tick() {
    let fx = Fixture::new("idle");
    let mut log = fx.create();
    fx.clock.advance(EPOCH * 5);
    log.tick().unwrap();
    assert_eq!(log.epoch(), 5);
    log.tick().unwrap(); // nothing more to seal
    assert_eq!(log.len(), 3); // genesis, one seal through epoch 4, a checkpoint
    drop(log);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.sealed_through(), Some(4));
}

#[test]
fn open_checks_its_inputs() {
    let fx = three_epochs("inputs");
    let err = fx
        .builder()
        .signer(std::sync::Arc::new(Fixture::signing(&[1; 32])))
        .open()
        .unwrap_err();
    assert!(matches!(err, OpenError::WrongSigningKey { .. }), "{err}");
    let err = fx.builder().create_with(|_| Ok(())).unwrap_err();
    assert!(matches!(err, OpenError::Exists(_)), "{err}");
    let empty = support::TempDir::new("empty");
    let err = palisade_audit::AuditLog::builder(empty.path())
        .signer(std::sync::Arc::new(Fixture::signing(&[1; 32])))
        .open()
        .unwrap_err();
    assert!(matches!(err, OpenError::NotFound(_)), "{err}");
    let err = fx
        .builder()
        .epoch_length(std::time::Duration::from_millis(10))
        .signer(std::sync::Arc::new(Fixture::signing(&fx.signing_seed)))
        .open()
        .unwrap_err();
    assert!(err.to_string().contains("at least 1 s"), "{err}");
    fs::write(fx.dir.path().join("epoch.key"), "garbage").unwrap();
    let err = fx.keyed().open().unwrap_err();
    assert!(matches!(err, OpenError::KeyFile { .. }), "{err}");
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let fx = Fixture::new("debug");
    let log = fx.create();
    let shown = format!(
        "{log:?} {:?} {:?}",
        Fixture::signing(&fx.signing_seed),
        support::k(fx.k0)
    );
    for secret in [support::hex(&fx.k0), support::hex(&fx.signing_seed)] {
        assert!(!shown.contains(&secret));
    }
    assert!(!shown.contains("66, 66, 66"));
    assert!(!shown.contains("23, 23, 23"));
}
