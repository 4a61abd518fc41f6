//! Retention: `prune` removes whole sealed, exported, old segments and the rest still
//! verifies from its signed cut; it refuses the rest; it survives a crash anywhere.

mod support;

use std::{fs, sync::Arc, time::Duration};

use palisade_audit::{
    AuditLog, Checkpoint, Event, FindingKind, KeptBecause, ManualClock, PruneError, Timestamp,
    Verifier, VerifierBundle, prune,
};
use support::{START, TempDir};

const EPOCH: Duration = Duration::from_secs(60);

struct Rotated {
    base: TempDir,
    clock: ManualClock,
}

impl Rotated {
    /// Six epochs of 150 events each, in 64 KiB segments.
    fn new(tag: &str) -> Self {
        let r = Self {
            base: TempDir::new(tag),
            clock: ManualClock::new(Timestamp::from_unix_millis(START)),
        };
        let mut log = r.builder().create(r.bundle()).unwrap();
        for epoch in 0..6 {
            if epoch > 0 {
                r.clock.advance(EPOCH);
                log.tick().unwrap();
            }
            for i in 0..150 {
                let _ = log
                    .append(
                        Event::new("data.read")
                            .field("note", "x".repeat(100))
                            .field("i", i),
                    )
                    .unwrap();
            }
        }
        r
    }

    fn dir(&self) -> std::path::PathBuf {
        self.base.path().join("log")
    }

    fn bundle(&self) -> std::path::PathBuf {
        self.base.path().join("verifier.bundle")
    }

    fn builder(&self) -> palisade_audit::AuditLogBuilder {
        AuditLog::builder(self.dir())
            .epoch_length(EPOCH)
            .max_file_bytes(64 * 1024)
            .clock(Arc::new(self.clock.clone()))
    }

    fn export(&self) -> Checkpoint {
        let mut log = self.builder().open().unwrap();
        Checkpoint::from_note(&log.checkpoint().unwrap().to_note()).unwrap()
    }

    fn verifier(&self) -> Verifier {
        Verifier::new()
            .bundle(&VerifierBundle::read_file(self.bundle()).unwrap())
            .clock(Arc::new(self.clock.clone()))
    }

    fn segments(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("audit-"))
            .collect();
        names.sort();
        names
    }
}

/// Three epochs in: everything before it is old.
fn date(epochs: u64) -> Timestamp {
    Timestamp::from_unix_millis(START + epochs * EPOCH.as_millis() as u64)
}

#[test]
fn prune_then_verify_from_the_signed_cut() {
    let r = Rotated::new("prune-verify");
    let exported = r.export();
    let before = r.segments();
    let pruned = prune(r.dir(), date(3), std::slice::from_ref(&exported), None).unwrap();
    let (first, last) = pruned.removed.expect("old segments removed");
    assert_eq!(first, 0);
    assert!(pruned.files_removed >= 1 && pruned.files_removed < before.len());
    assert_eq!(pruned.kept_because, Some(KeptBecause::TooRecent));
    let report = r
        .verifier()
        .trusted_checkpoint(exported.clone())
        .verify_dir(r.dir())
        .unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.anchored_size(), Some(exported.size()));
    assert!(
        report
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::Pruned { first, last })
    );
    assert_eq!(
        report.size(),
        exported.size() + 1,
        "the checkpoint record follows what it covers"
    );
    // The writer carries on from the cut.
    let mut log = r.builder().open().unwrap();
    let _ = log.append(Event::new("after.prune")).unwrap();
    drop(log);
    assert!(r.verifier().verify_dir(r.dir()).unwrap().is_intact());
    // A second prune cuts further, from the first cut.
    let exported = r.export();
    let again = prune(r.dir(), date(6), std::slice::from_ref(&exported), None).unwrap();
    assert_eq!(again.removed.map(|(f, _)| f), Some(last + 1));
    let report = r
        .verifier()
        .trusted_checkpoint(exported)
        .verify_dir(r.dir())
        .unwrap();
    assert!(report.is_intact(), "{report}");
}

#[test]
fn prune_refuses_without_an_exported_checkpoint_and_past_the_newest_one() {
    let r = Rotated::new("prune-refuse");
    let before = r.segments();
    assert!(matches!(
        prune(r.dir(), date(9), &[], None),
        Err(PruneError::NoExportedCheckpoint)
    ));
    // An early checkpoint (record 40) lets nothing after it go, whatever the date.
    let records = palisade_audit::read_records(r.dir()).unwrap();
    let early = records.iter().find_map(|r| r.checkpoint()).unwrap().clone();
    let pruned = prune(r.dir(), date(9), std::slice::from_ref(&early), None).unwrap();
    assert_eq!(pruned.removed, None);
    assert_eq!(
        pruned.kept_because,
        Some(KeptBecause::AfterExportedCheckpoint { size: early.size() })
    );
    assert_eq!(r.segments(), before);
    // A checkpoint of another log is refused.
    let other = Rotated::new("prune-other");
    assert!(matches!(
        prune(r.dir(), date(9), &[other.export()], None),
        Err(PruneError::ForeignCheckpoint { .. })
    ));
}

#[test]
fn prune_never_removes_an_unsealed_or_the_active_segment() {
    let r = Rotated::new("prune-unsealed");
    // Far in the future and fully exported: every segment is old enough, but the last epoch
    // is not sealed, and the active segment is never removed.
    let exported = r.export();
    let pruned = prune(r.dir(), date(100), &[exported], None).unwrap();
    assert!(matches!(
        pruned.kept_because,
        Some(KeptBecause::Unsealed | KeptBecause::Active)
    ));
    let remaining = r.segments();
    assert!(!remaining.is_empty());
    let report = r.verifier().verify_dir(r.dir()).unwrap();
    assert!(report.is_intact(), "{report}");
    // Every record of the unsealed epoch is still there.
    let records = palisade_audit::read_records(r.dir()).unwrap();
    assert!(records.iter().any(|rec| rec.epoch() == 5));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn an_interrupted_prune_loses_nothing_and_a_rerun_completes() {
    let r = Rotated::new("prune-crash");
    let exported = r.export();
    let original = r.base.path().join("original");
    copy_dir(&r.dir(), &original);
    let done = prune(r.dir(), date(3), std::slice::from_ref(&exported), None).unwrap();
    assert!(
        done.files_removed >= 2,
        "the scenario needs two files to remove"
    );
    let finished = r.segments();
    let cut = fs::read_dir(r.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("cut-"))
        .unwrap();
    let cut_bytes = fs::read(&cut).unwrap();
    // A crash after the cut file was written and `removed` of the old segments were deleted.
    for removed in 0..done.files_removed {
        fs::remove_dir_all(r.dir()).unwrap();
        copy_dir(&original, &r.dir());
        fs::write(r.dir().join(cut.file_name().unwrap()), &cut_bytes).unwrap();
        let mut old = r.segments();
        old.truncate(done.files_removed);
        for name in &old[..removed] {
            fs::remove_file(r.dir().join(name)).unwrap();
        }
        // Readers start from the cut: the log verifies, and the writer opens and appends.
        let report = r
            .verifier()
            .trusted_checkpoint(exported.clone())
            .verify_dir(r.dir())
            .unwrap();
        assert!(report.is_intact(), "after {removed} removals: {report}");
        // Running the same prune again completes it.
        let rerun = prune(r.dir(), date(3), std::slice::from_ref(&exported), None).unwrap();
        assert_eq!(rerun.files_removed, done.files_removed - removed);
        assert_eq!(r.segments(), finished);
        let report = r
            .verifier()
            .trusted_checkpoint(exported.clone())
            .verify_dir(r.dir())
            .unwrap();
        assert!(report.is_intact(), "{report}");
        let mut log = r.builder().open().unwrap();
        let _ = log.append(Event::new("after.crash")).unwrap();
    }
}
