//! The zeros the writer keeps ahead of its records in the file it writes: there while the log
//! is open or after a crash, gone from every file at rest, never taken for a record, a torn
//! line or tampering, and written over by the next append after a crash.

mod support;

use std::fs;

use palisade_audit::{Checkpoint, DEFAULT_PREALLOCATE, Durability, Event, FindingKind, Severity};
use support::Fixture;

/// The bytes up to and including the last newline, and what follows them.
fn split_tail(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.split_at(end)
}

fn append_some(log: &mut palisade_audit::AuditLog, n: usize) {
    for i in 0..n {
        let _ = log
            .append(Event::new("auth.login").actor(format!("user:{i}")))
            .unwrap();
    }
}

#[test]
fn the_file_being_written_holds_zeros_ahead_and_a_dropped_log_cuts_them() {
    let fx = Fixture::new("prealloc-drop");
    let mut log = fx.create();
    append_some(&mut log, 10);
    let live = fs::read(fx.file()).unwrap();
    let (records, tail) = split_tail(&live);
    assert_eq!(live.len() as u64, DEFAULT_PREALLOCATE);
    assert!(!tail.is_empty() && tail.iter().all(|&b| b == 0));
    assert!(!records.contains(&0));
    drop(log);
    assert_eq!(fs::read(fx.file()).unwrap(), records);
}

#[test]
fn a_live_log_verifies_without_a_finding_about_its_zeros() {
    let fx = Fixture::new("prealloc-live");
    let mut log = fx.create();
    append_some(&mut log, 5);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        report.records(),
        6,
        "the genesis record and five events: {report}"
    );
    assert!(
        report
            .findings()
            .iter()
            .all(|f| f.kind.severity() == Severity::Notice),
        "{report}"
    );
    assert_eq!(
        palisade_audit::read_records(fx.dir.path()).unwrap().len(),
        6
    );
    drop(log);
}

#[test]
fn after_a_crash_the_next_append_goes_over_the_zeros() {
    let fx = Fixture::new("prealloc-crash");
    let mut log = fx.create();
    append_some(&mut log, 3);
    // A crash: the log is never dropped, so the zeros stay.
    std::mem::forget(log);
    let crashed = fs::read(fx.file()).unwrap();
    let (records, tail) = split_tail(&crashed);
    assert!(tail.iter().all(|&b| b == 0) && !tail.is_empty());

    let mut log = fx.open();
    assert_eq!(log.len(), 4);
    let r = log.append(Event::new("after.crash")).unwrap();
    assert_eq!(r.seq, 4);
    drop(log);
    let after = fs::read(fx.file()).unwrap();
    assert!(after.starts_with(records));
    assert!(!after.contains(&0) && after.ends_with(b"\n"));
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records(), 5);
}

#[test]
fn a_torn_append_into_the_zeros_is_cut() {
    let fx = Fixture::new("prealloc-torn");
    let mut log = fx.create();
    append_some(&mut log, 3);
    std::mem::forget(log);
    let mut bytes = fs::read(fx.file()).unwrap();
    let (records, _) = split_tail(&bytes);
    let at = records.len();
    // Half a record written over the zeros, the rest of them still there.
    let torn = b"{\"v\":1,\"seq\":4,\"time\":\"2026-01-01T00:0";
    bytes[at..at + torn.len()].copy_from_slice(torn);
    fs::write(fx.file(), &bytes).unwrap();
    let warned = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(
        warned
            .findings()
            .iter()
            .any(|f| f.kind == FindingKind::TornLastLine),
        "{warned}"
    );
    let mut log = fx.open();
    assert_eq!(log.len(), 4);
    let _ = log.append(Event::new("after.crash")).unwrap();
    drop(log);
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records(), 5);
}

#[test]
fn every_file_the_log_moved_on_from_ends_with_its_last_record() {
    let fx = Fixture::new("prealloc-rotate");
    let mut log = fx
        .keyed()
        .max_file_bytes(64 * 1024)
        .durability(Durability::Group {
            records: 64,
            interval: std::time::Duration::from_secs(1),
        })
        .create_with(|_| Ok(()))
        .unwrap();
    for i in 0..600 {
        let _ = log
            .append(Event::new("x").field("pad", format!("{i:0>300}")))
            .unwrap();
    }
    let files = fx.segments();
    assert!(files.len() >= 3, "{files:?}");
    let (last, closed) = files.split_last().unwrap();
    for f in closed {
        let bytes = fs::read(f).unwrap();
        assert!(bytes.ends_with(b"\n") && !bytes.contains(&0), "{f:?}");
        assert!(bytes.len() <= 64 * 1024);
    }
    // The file being written holds zeros, never beyond the size limit.
    let live = fs::read(last).unwrap();
    assert!(live.ends_with(&[0]) && live.len() <= 64 * 1024);
    drop(log);
    assert!(fs::read(last).unwrap().ends_with(b"\n"));
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
}

#[test]
fn zeros_at_the_end_of_a_closed_file_are_reported_and_refused() {
    let fx = Fixture::new("prealloc-closed");
    let mut log = fx
        .keyed()
        .max_file_bytes(64 * 1024)
        .create_with(|_| Ok(()))
        .unwrap();
    while fx.segments().len() < 2 {
        let _ = log
            .append(Event::new("x").field("pad", "y".repeat(400)))
            .unwrap();
    }
    drop(log);
    let mut bytes = fs::read(fx.file()).unwrap();
    bytes.extend_from_slice(&[0; 100]);
    fs::write(fx.file(), &bytes).unwrap();
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(
        report.findings().iter().any(|f| matches!(
            f.kind,
            FindingKind::Malformed {
                reason: "NUL bytes at the end of a closed file"
            }
        )),
        "{report}"
    );
    assert!(fx.keyed().open().is_err());
}

#[test]
fn with_preallocation_off_the_file_holds_only_records() {
    let fx = Fixture::new("prealloc-off");
    let mut log = fx.keyed().preallocate(0).create_with(|_| Ok(())).unwrap();
    append_some(&mut log, 4);
    let live = fs::read(fx.file()).unwrap();
    assert!(live.ends_with(b"\n") && !live.contains(&0));
    drop(log);
}

/// Zeros written over the last records read as space not yet written: a cut tail, which a
/// checkpoint kept elsewhere shows as tampering, as it shows a file cut short.
#[test]
fn zeros_over_the_last_records_are_a_cut_tail_a_kept_checkpoint_catches() {
    let fx = Fixture::new("prealloc-zeroed");
    let mut log = fx.create();
    append_some(&mut log, 4);
    let exported = Checkpoint::from_note(&log.checkpoint().unwrap().to_note()).unwrap();
    drop(log);
    let mut bytes = fs::read(fx.file()).unwrap();
    let third = bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .nth(2)
        .map(|(i, _)| i + 1)
        .unwrap();
    bytes[third..].fill(0);
    fs::write(fx.file(), &bytes).unwrap();
    let report = fx
        .verifier()
        .trusted_checkpoint(exported.clone())
        .verify_dir(fx.dir.path())
        .unwrap();
    assert_eq!(
        report.first_tampering().map(|f| f.kind.clone()),
        Some(FindingKind::TruncatedBelowTrusted {
            trusted_size: exported.size(),
            found: 3
        }),
        "{report}"
    );
}

/// One step of a writer's life, for the property below.
#[derive(Debug, Clone)]
enum Step {
    /// An event whose actor is this many bytes long, so lines cross pages and files.
    Append(usize),
    /// The log dropped and opened again.
    Close,
    /// The process killed: the log never dropped, its zeros left in place.
    Crash,
    /// Killed in the middle of a `write`: these bytes of a line over the zeros, no newline.
    TornCrash(Vec<u8>),
    /// The clock moved on this many seconds (epochs are 60 s: seals and key steps).
    Advance(u64),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let torn_byte = any::<u8>().prop_filter("a torn line holds no newline and no NUL", |b| {
        *b != b'\n' && *b != 0
    });
    prop_oneof![
        8 => (0usize..9_000).prop_map(Step::Append),
        1 => Just(Step::Close),
        1 => Just(Step::Crash),
        1 => proptest::collection::vec(torn_byte, 1..400).prop_map(Step::TornCrash),
        1 => (1u64..90).prop_map(Step::Advance),
    ]
}

/// Every file but the one being written ends with its last record and holds no zeros.
fn closed_files_end_with_a_record(
    fx: &Fixture,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let files = fx.segments();
    let (_, closed) = files.split_last().expect("the log has a file");
    for f in closed {
        let bytes = fs::read(f).unwrap();
        proptest::prop_assert!(bytes.ends_with(b"\n") && !bytes.contains(&0), "{f:?}");
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 48, ..Default::default() })]

    /// Whatever the sizes, the zeros kept ahead, the file size limit and where the writer was
    /// stopped (dropped, killed, killed inside a `write`), opening again finds every record
    /// written before, closed files end with their last record, and the whole verifies.
    #[test]
    fn no_sequence_of_appends_closes_and_crashes_loses_a_record(
        preallocate in proptest::prop_oneof![
            proptest::strategy::Just(0u64),
            1u64..40_000,
            proptest::strategy::Just(DEFAULT_PREALLOCATE),
        ],
        max_file_bytes in 65_536u64..131_072,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let fx = Fixture::new("prealloc-steps");
        let builder = || fx.keyed().preallocate(preallocate).max_file_bytes(max_file_bytes);
        let mut log = builder().create_with(|_| Ok(())).unwrap();
        for step in steps {
            let len = log.len();
            match step {
                Step::Append(n) => {
                    let r = log.append(Event::new("auth.login").actor("a".repeat(n))).unwrap();
                    proptest::prop_assert!(r.durable);
                    continue;
                }
                Step::Advance(secs) => {
                    fx.clock.advance(std::time::Duration::from_secs(secs));
                    continue;
                }
                Step::Close => {
                    drop(log);
                    for f in fx.segments() {
                        let bytes = fs::read(&f).unwrap();
                        proptest::prop_assert!(!bytes.contains(&0), "zeros left in {f:?}");
                    }
                }
                Step::Crash => std::mem::forget(log),
                Step::TornCrash(torn) => {
                    std::mem::forget(log);
                    let last = fx.segments().pop().unwrap();
                    let mut bytes = fs::read(&last).unwrap();
                    let at = split_tail(&bytes).0.len();
                    let end = at + torn.len();
                    if bytes.len() < end {
                        bytes.resize(end, 0);
                    }
                    bytes[at..end].copy_from_slice(&torn);
                    fs::write(&last, &bytes).unwrap();
                }
            }
            closed_files_end_with_a_record(&fx)?;
            log = builder().open().unwrap();
            proptest::prop_assert_eq!(log.len(), len, "records lost or gained on open");
        }
        let len = log.len();
        drop(log);
        closed_files_end_with_a_record(&fx)?;
        let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
        proptest::prop_assert!(report.is_intact(), "{}", report);
        proptest::prop_assert_eq!(report.records(), len);
    }
}
