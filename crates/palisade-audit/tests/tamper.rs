//! Every kind of tampering is detected and reported at the right position.

mod support;

use palisade_audit::{Checkpoint, Event, FindingKind, Report, Severity, Timestamp, Verifier};
use support::{EPOCH, Fixture, START, reforge, three_epochs};

fn first(report: &Report) -> (&FindingKind, u64, Option<u64>) {
    let f = report
        .first_tampering()
        .unwrap_or_else(|| panic!("tampering not detected:\n{report}"));
    (&f.kind, f.position.line, f.position.seq)
}

#[test]
fn untouched_log_is_intact() {
    let fx = three_epochs("intact");
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records(), 20);
    assert!(report.macs_checked() && report.signatures_checked());
    assert_eq!(report.sealed_through(), Some(1));
    assert_eq!(report.last_checkpoint().unwrap().size(), 14);
    // Only notices: six records after the last seal (a checkpoint and five events), five after
    // the last checkpoint.
    assert!(
        report
            .findings()
            .iter()
            .all(|f| f.kind.severity() == Severity::Notice)
    );
    assert!(
        report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::UnsealedTail { records: 6 })
    );
    // Without keys, links and structure are still checked.
    assert!(
        Verifier::new()
            .verify_dir(fx.dir.path())
            .unwrap()
            .is_intact()
    );
}

#[test]
fn modified_record_is_the_first_bad_record() {
    let fx = three_epochs("modify");
    let mut lines = fx.lines();
    lines[3] = lines[3].replace("row:02", "row:99");
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(first(&report), (&FindingKind::BadMac, 4, Some(3)));
    // The next record no longer links to it, and the checkpoint over it no longer matches.
    assert!(
        report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::BrokenChain && f.position.seq == Some(4))
    );
    assert!(
        report
            .findings()
            .iter()
            .any(|f| matches!(f.kind, FindingKind::CheckpointMismatch { size: 7 }))
    );
    // A verifier without the MAC key sees the broken link right after it.
    let public_only = Verifier::new()
        .public_key(fx.public)
        .verify_dir(fx.dir.path())
        .unwrap();
    assert_eq!(first(&public_only), (&FindingKind::BrokenChain, 5, Some(4)));
}

#[test]
fn modifying_the_last_record_is_caught_by_its_mac() {
    let fx = three_epochs("modify-last");
    let mut lines = fx.lines();
    let last = lines.len() - 1;
    lines[last] = lines[last].replace("user:24", "user:00");
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(first(&report), (&FindingKind::BadMac, 20, Some(19)));
}

#[test]
fn deleted_record_is_a_gap_where_it_was() {
    let fx = three_epochs("delete");
    let mut lines = fx.lines();
    lines.remove(9); // record 9
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(
        first(&report),
        (
            &FindingKind::SequenceGap {
                expected: 9,
                found: 10
            },
            10,
            Some(10)
        )
    );
}

#[test]
fn inserted_records_are_detected() {
    // A copy of an existing record inserted after it.
    let fx = three_epochs("insert-copy");
    let mut lines = fx.lines();
    let copy = lines[10].clone();
    lines.insert(11, copy);
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(
        first(&report),
        (
            &FindingKind::SequenceGap {
                expected: 11,
                found: 10
            },
            12,
            Some(10)
        )
    );

    // A new record forged with the current key, renumbering everything after it: the MACs
    // of the earlier epoch do not verify from the inserted record on.
    let fx = three_epochs("insert-forged");
    let stolen = fx.stolen_key();
    let mut lines = fx.lines();
    let forged = lines[4].replace("row:03", "row:66");
    lines.insert(5, forged);
    for (i, line) in lines.iter_mut().enumerate().skip(5) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let old = v["seq"].as_u64().unwrap();
        *line = line.replacen(&format!("\"seq\":{old},"), &format!("\"seq\":{i},"), 1);
    }
    reforge(&mut lines, 5, &stolen);
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(first(&report), (&FindingKind::BadMac, 6, Some(5)));
}

#[test]
fn reordered_records_are_detected() {
    let fx = three_epochs("reorder");
    let mut lines = fx.lines();
    lines.swap(16, 17);
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(
        first(&report),
        (
            &FindingKind::SequenceGap {
                expected: 16,
                found: 17
            },
            17,
            Some(17)
        )
    );
}

#[test]
fn truncation_is_caught_by_a_trusted_checkpoint_and_by_time() {
    let fx = three_epochs("truncate");
    let trusted = {
        let mut log = fx.open();
        let cp = log.checkpoint().unwrap(); // a witness keeps this
        Checkpoint::from_note(&cp.to_note()).unwrap()
    };
    assert_eq!(trusted.size(), 20);
    let mut lines = fx.lines();
    lines.truncate(13); // cut the last seal, its checkpoint and epoch 2
    fx.write_lines(&lines);

    // Structurally the remaining prefix is fine: only outside evidence shows the cut.
    let plain = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(plain.is_intact(), "{plain}");

    let with_witness = fx
        .verifier()
        .trusted_checkpoint(trusted)
        .verify_dir(fx.dir.path())
        .unwrap();
    assert_eq!(
        first(&with_witness).0,
        &FindingKind::TruncatedBelowTrusted {
            trusted_size: 20,
            found: 13
        }
    );

    let now = Timestamp::from_unix_millis(START + 2 * EPOCH.as_millis() as u64 + 90_000);
    let with_time = fx.verifier().now(now).verify_dir(fx.dir.path()).unwrap();
    assert_eq!(
        first(&with_time).0,
        &FindingKind::Stale {
            log_epoch: 1,
            now_epoch: 2
        }
    );
}

#[test]
fn forged_tail_from_an_earlier_epoch_fails_its_macs() {
    // The intruder steals the current key (epoch 2) and rewrites history from record 3, in
    // epoch 0: they cannot make epoch-0 MACs.
    let fx = three_epochs("forge-old");
    let stolen = fx.stolen_key();
    let mut lines = fx.lines();
    for line in lines.iter_mut().skip(3) {
        *line = line.replace("user:", "intruder:");
    }
    reforge(&mut lines, 3, &stolen);
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(first(&report), (&FindingKind::BadMac, 4, Some(3)));
    // The links are all valid: only the MACs and the checkpoints show the forgery.
    assert!(
        !report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::BrokenChain)
    );
    // The records forged in the current epoch do verify with the stolen key.
    assert!(
        !report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::BadMac && f.position.seq.is_some_and(|s| s >= 15))
    );
}

#[test]
fn forged_current_epoch_is_caught_by_a_trusted_checkpoint() {
    // The intruder holds the current MAC key and the signing key, cuts the current epoch and
    // writes another one with the library itself: every MAC, link and signature verifies.
    let fx = three_epochs("forge-current");
    let trusted = fx.open().checkpoint().unwrap(); // size 20, kept by a witness
    let mut lines = fx.lines();
    lines.truncate(17); // records 0..=16
    fx.write_lines(&lines);
    {
        let mut log = fx.open();
        for i in 0..6 {
            let _ = log
                .append(
                    Event::new("data.read")
                        .actor("user:00")
                        .target(format!("row:{i}")),
                )
                .unwrap();
        }
        let _ = log.checkpoint().unwrap();
    }
    let forged = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(
        forged.is_intact(),
        "the forgery is internally consistent: {forged}"
    );

    let report = fx
        .verifier()
        .trusted_checkpoint(trusted)
        .verify_dir(fx.dir.path())
        .unwrap();
    assert_eq!(
        first(&report).0,
        &FindingKind::ForkedFromTrusted { size: 20 }
    );
}

#[test]
fn missing_epoch_seal_is_reported() {
    let fx = three_epochs("missing-epoch");
    let mut lines = fx.lines();
    // Drop epoch 1's seal (record 13): renumbering and re-forging with the current key still
    // leaves epoch 1 unsealed.
    lines.remove(13);
    fx.write_lines(&lines);
    let report = Verifier::new().verify_dir(fx.dir.path()).unwrap();
    let kinds: Vec<_> = report.findings().iter().map(|f| f.kind.clone()).collect();
    assert!(
        kinds.contains(&FindingKind::MissingEpoch {
            expected: 1,
            found: 2
        }),
        "{report}"
    );
}

#[test]
fn time_going_backwards_is_a_warning() {
    let fx = Fixture::new("time-back");
    let mut log = fx.create();
    let _ = log.append(Event::new("a")).unwrap();
    fx.clock.set(Timestamp::from_unix_millis(START - 5_000));
    let _ = log.append(Event::new("b")).unwrap();
    drop(log);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    let f = report
        .findings()
        .iter()
        .find(|f| matches!(f.kind, FindingKind::TimeWentBackwards { .. }))
        .unwrap();
    assert_eq!(f.position.seq, Some(2));
    assert_eq!(f.kind.severity(), Severity::Warning);
}

#[test]
fn wrong_keys_are_reported() {
    let fx = three_epochs("wrong-keys");
    let other = Fixture::signing(&[9; 32]).verifying_key();
    let report = Verifier::new()
        .public_key(other)
        .mac_key(palisade_audit::MacKey::from_bytes([1; 32]))
        .verify_dir(fx.dir.path())
        .unwrap();
    let f = report.first_tampering().unwrap();
    assert_eq!(f.position.seq, Some(0));
    assert!(
        report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::WrongKey)
    );
    assert!(
        report
            .findings()
            .iter()
            .any(|f| matches!(f.kind, FindingKind::BadCheckpointSignature { size: 7 }))
    );
}

#[test]
fn garbage_is_reported_not_panicked_on() {
    let fx = three_epochs("garbage");
    let mut lines = fx.lines();
    lines[2] = "{\"v\":1,\"seq\":2}".to_owned();
    lines[5] = "\u{0}\u{1}not json".to_owned();
    fx.write_lines(&lines);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert_eq!(
        first(&report),
        (
            &FindingKind::Malformed {
                reason: "no trailing mac member"
            },
            3,
            None
        )
    );
    let report = Verifier::new().verify_bytes(b"\n\n\xff\xfe{}\n");
    assert!(!report.is_intact());
}
