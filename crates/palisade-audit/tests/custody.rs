//! The three failures of issue 16, each as an attack: key custody, truncation, verification
//! cost. Each test is named after the claim it proves.

mod support;

use std::{fs, sync::Arc};

use palisade_audit::{
    AuditLog, Checkpoint, Event, FindingKind, ManualClock, Timestamp, Verifier, VerifierBundle,
};
use support::{EPOCH, START, TempDir, hex, reforge};

/// A log made as an operator makes one: fresh keys, the bundle written beside the directory
/// (then "moved away"), three epochs of events.
struct Made {
    base: TempDir,
    clock: ManualClock,
}

impl Made {
    fn new(tag: &str) -> Self {
        let made = Self {
            base: TempDir::new(tag),
            clock: ManualClock::new(Timestamp::from_unix_millis(START)),
        };
        let mut log = made
            .builder()
            .create(made.bundle_path())
            .expect("log can be created");
        for epoch in 0..3 {
            if epoch > 0 {
                made.clock.advance(EPOCH);
                log.tick().expect("tick");
            }
            for i in 0..5 {
                let _ = log
                    .append(Event::new("data.read").target(format!("row:{epoch}{i}")))
                    .expect("append");
            }
        }
        made
    }

    fn dir(&self) -> std::path::PathBuf {
        self.base.path().join("log")
    }

    fn bundle_path(&self) -> std::path::PathBuf {
        self.base.path().join("verifier.bundle")
    }

    fn builder(&self) -> palisade_audit::AuditLogBuilder {
        AuditLog::builder(self.dir())
            .epoch_length(EPOCH)
            .clock(Arc::new(self.clock.clone()))
    }

    fn verifier(&self) -> Verifier {
        let bundle = VerifierBundle::read_file(self.bundle_path()).expect("bundle");
        Verifier::new()
            .bundle(&bundle)
            .clock(Arc::new(self.clock.clone()))
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir().join("audit-00000000000000000000.jsonl")
    }

    fn lines(&self) -> Vec<String> {
        fs::read_to_string(self.file())
            .expect("segment")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(&self, lines: &[String]) {
        fs::write(self.file(), lines.join("\n") + "\n").expect("segment written");
    }
}

#[test]
fn an_intruder_holding_every_writer_file_cannot_change_a_sealed_record() {
    let made = Made::new("custody");
    // Everything the writer holds: the directory (segments, the current epoch key, the
    // checkpoint signing key). The verifier bundle is elsewhere.
    let epoch_key = fs::read_to_string(made.dir().join("epoch.key")).unwrap();
    let stolen: [u8; 32] = {
        let hex_key = epoch_key.lines().nth(3).unwrap();
        std::array::from_fn(|i| u8::from_str_radix(&hex_key[2 * i..2 * i + 2], 16).unwrap())
    };
    // Record 3 (epoch 0, sealed) is changed, and everything after it re-linked and re-MACed
    // with the stolen key, as the library itself would write it.
    let mut lines = made.lines();
    lines[3] = lines[3].replace("row:02", "row:99");
    reforge(&mut lines, 3, &stolen);
    made.write_lines(&lines);
    let report = made.verifier().verify_dir(made.dir()).unwrap();
    let first = report.first_tampering().expect("the change is caught");
    assert_eq!(
        (first.position.seq, &first.kind),
        (Some(3), &FindingKind::BadMac)
    );

    // Nor can the intruder start a new log under the same directory with keys of their own.
    let forged = TempDir::new("custody-forged");
    let mut other = AuditLog::builder(forged.path().join("log"))
        .create_with(|_| Ok(()))
        .unwrap();
    let _ = other.append(Event::new("data.read")).unwrap();
    drop(other);
    fs::remove_dir_all(made.dir()).unwrap();
    fs::rename(forged.path().join("log"), made.dir()).unwrap();
    let report = made.verifier().verify_dir(made.dir()).unwrap();
    assert!(!report.is_intact(), "{report}");
    assert!(
        report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::BadGenesis)
    );
}

#[test]
fn nothing_on_the_writer_holds_or_derives_the_epoch_0_key() {
    let made = Made::new("custody-files");
    let bundle = VerifierBundle::read_file(made.bundle_path()).unwrap();
    let k0 = support::expose(&bundle.mac_key());
    for entry in fs::read_dir(made.dir()).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&hex(&k0)));
        assert!(!bytes.windows(32).any(|w| w == k0));
    }
    // The key file holds epoch 2's key only; the writer's Debug shows its epoch, no key.
    let log = made.builder().open().unwrap();
    assert_eq!(log.epoch(), 2);
}

#[test]
fn appending_never_needs_the_verifier_bundle() {
    let made = Made::new("custody-append");
    let moved = made.base.path().join("vault.bundle");
    fs::rename(made.bundle_path(), &moved).unwrap();
    let mut log = made.builder().open().unwrap();
    let _ = log.append(Event::new("after.move")).unwrap();
    drop(log);
    fs::rename(&moved, made.bundle_path()).unwrap();
    assert!(made.verifier().verify_dir(made.dir()).unwrap().is_intact());
}

#[test]
fn create_refuses_to_overwrite_a_verifier_bundle_and_creates_nothing() {
    let made = Made::new("custody-overwrite");
    let before = fs::read(made.bundle_path()).unwrap();
    let dir = made.base.path().join("second");
    let err = AuditLog::builder(&dir)
        .create(made.bundle_path())
        .unwrap_err();
    assert!(err.to_string().contains("no log was created"), "{err}");
    assert!(!dir.exists());
    assert_eq!(fs::read(made.bundle_path()).unwrap(), before);
}

#[test]
fn truncation_without_an_external_checkpoint_is_reported_as_unanchored() {
    let made = Made::new("truncate-plain");
    let lines = made.lines();
    for keep in [3, 1] {
        made.write_lines(&lines[..keep]);
        let report = made.verifier().verify_dir(made.dir()).unwrap();
        // Nothing inside the log can show the cut ...
        assert!(report.is_intact(), "{report}");
        // ... and the report says so.
        assert_eq!(report.anchored_size(), None);
        assert!(report.findings().iter().any(|f| f.kind
            == FindingKind::NotAnchored {
                from: 0,
                records: keep as u64
            }));
    }
}

#[test]
fn truncation_below_an_exported_checkpoint_is_tampering() {
    let made = Made::new("truncate-anchored");
    let exported = {
        let mut log = made.builder().open().unwrap();
        Checkpoint::from_note(&log.checkpoint().unwrap().to_note()).unwrap()
    };
    let lines = made.lines();
    // Intact, the log is anchored up to the checkpoint.
    let report = made
        .verifier()
        .trusted_checkpoint(exported.clone())
        .verify_dir(made.dir())
        .unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.anchored_size(), Some(exported.size()));
    for keep in [3usize, 1] {
        made.write_lines(&lines[..keep]);
        let report = made
            .verifier()
            .trusted_checkpoint(exported.clone())
            .verify_dir(made.dir())
            .unwrap();
        assert_eq!(
            report.first_tampering().unwrap().kind,
            FindingKind::TruncatedBelowTrusted {
                trusted_size: exported.size(),
                found: keep as u64
            }
        );
    }
}

/// Three forged lines claiming epochs near 2^22 (issue 16 measured 44 s for 2^26): the verifier
/// derives no key for them.
#[test]
fn a_forged_far_epoch_costs_the_verifier_no_key_derivation() {
    let made = Made::new("cost");
    let mut lines = made.lines();
    let last = lines.last().unwrap().clone();
    for (seq, epoch) in [(20u64, 1u64 << 22), (21, 3), (22, (1 << 22) - 1)] {
        lines.push(
            last.replacen("\"seq\":19,", &format!("\"seq\":{seq},"), 1)
                .replacen("\"epoch\":2,", &format!("\"epoch\":{epoch},"), 1),
        );
    }
    made.write_lines(&lines);
    let report = made.verifier().verify_dir(made.dir()).unwrap();
    assert!(!report.is_intact());
    // Two genuine epoch boundaries: two derivations, whatever the forged lines claim.
    assert_eq!(report.key_derivations(), 2, "{report}");
}

/// A 1 MiB segment of hostile lines (far epochs, seals claiming far epochs, alternating
/// epochs) after a genuine start: the work is one MAC per line and no key derivation beyond
/// the log's own epochs.
#[test]
fn a_hostile_mebibyte_segment_verifies_with_bounded_work() {
    let made = Made::new("cost-mib");
    let mut lines = made.lines();
    let template = lines.last().unwrap().clone();
    let mut seq = 20u64;
    let mut bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    while bytes < 1 << 20 {
        let epoch = match seq % 3 {
            0 => (1u64 << 26) - seq,
            1 => 1,
            _ => u64::MAX / 2,
        };
        let mut line = template
            .replacen("\"seq\":19,", &format!("\"seq\":{seq},"), 1)
            .replacen("\"epoch\":2,", &format!("\"epoch\":{epoch},"), 1);
        if seq.is_multiple_of(5) {
            line = line.replacen(
                "\"kind\":\"event\"",
                &format!("\"kind\":\"seal\",\"through\":{epoch}"),
                1,
            );
        }
        bytes += line.len() + 1;
        lines.push(line);
        seq += 1;
    }
    made.write_lines(&lines);
    let report = made.verifier().verify_dir(made.dir()).unwrap();
    assert!(!report.is_intact());
    assert!(report.records() <= lines.len() as u64);
    assert_eq!(report.key_derivations(), 2, "only the genuine boundaries");
    assert!(report.findings().len() <= palisade_audit::MAX_FINDINGS);
}

/// An intruder holding the current key can write a seal whose MAC verifies; it still cannot
/// make the verifier derive past the epoch of the verification time.
#[test]
fn an_authentic_seal_claiming_a_far_epoch_stops_at_the_verification_time() {
    let made = Made::new("cost-seal");
    let stolen: [u8; 32] = {
        let text = fs::read_to_string(made.dir().join("epoch.key")).unwrap();
        let hex_key = text.lines().nth(3).unwrap().to_owned();
        std::array::from_fn(|i| u8::from_str_radix(&hex_key[2 * i..2 * i + 2], 16).unwrap())
    };
    let mut lines = made.lines();
    let last = lines.last().unwrap().clone();
    lines.push(last.replacen("\"seq\":19,", "\"seq\":20,", 1).replacen(
        "\"kind\":\"event\"",
        "\"kind\":\"seal\",\"through\":1073741824",
        1,
    ));
    let n = lines.len();
    reforge(&mut lines, n - 1, &stolen);
    made.write_lines(&lines);
    let report = made.verifier().verify_dir(made.dir()).unwrap();
    assert!(
        report.findings().iter().any(|f| f.kind
            == FindingKind::EpochOutOfReach {
                found: (1 << 30) + 1
            }),
        "{report}"
    );
    assert_eq!(report.key_derivations(), 2);
}
