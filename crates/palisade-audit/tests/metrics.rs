//! The `metrics` feature: names, kinds and labels after real appends, drops, syncs and
//! verifications of a tampered log, and a bounded number of series under hostile input.
#![cfg(feature = "metrics")]
#![allow(
    clippy::float_cmp,
    reason = "the queue-depth gauge holds whole numbers"
)]

mod support;

use palisade_audit::{AuditWriter, Durability, Event, Overflow, Queued};
use palisade_testkit::metrics::{Recorder, assert_bounded, capture, counter, gauge, histogram_len};
use support::{Fixture, three_epochs};

#[test]
fn appends_and_fsyncs_are_counted() {
    let fx = Fixture::new("metrics-appends");
    let series = capture(|| {
        let mut log = fx.create();
        for i in 0..3 {
            let r = log
                .append(Event::new("auth.login").actor(format!("user:{i}")))
                .expect("append");
            assert!(r.durable);
        }
        // A record over the line limit is refused: an append error, not a write failure.
        let huge = Event::new("auth.login").actor("x".repeat(2 << 20));
        assert!(log.append(huge).is_err());
    });
    assert_eq!(
        counter(&series, "palisade_audit_appends_total{outcome=ok}"),
        3
    );
    assert_eq!(
        counter(&series, "palisade_audit_appends_total{outcome=error}"),
        1
    );
    assert!(!series.contains_key("palisade_audit_write_failures_total"));
    // Every record is synced under `EveryRecord` (the genesis record too).
    assert!(histogram_len(&series, "palisade_audit_fsync_duration_seconds") >= 3);
}

/// A writer that cannot keep up under `DropAndCount` drops events and counts them; the queue
/// is empty once `flush` returns.
#[test]
fn drops_and_queue_depth_are_reported() {
    let fx = Fixture::new("metrics-drops");
    drop(fx.create());
    let mut dropped = 0;
    let series = capture(|| {
        let writer = AuditWriter::open(
            fx.keyed().durability(Durability::EveryRecord),
            1,
            Overflow::DropAndCount,
        )
        .expect("writer");
        while writer.dropped() == 0 {
            let _ = writer.record(Event::new("auth.login"));
        }
        writer.flush().expect("flush");
        dropped = writer.dropped();
        writer.close().expect("close");
    });
    assert_eq!(counter(&series, "palisade_audit_dropped_total"), dropped);
    assert_eq!(gauge(&series, "palisade_audit_queue_depth"), 0.0);
}

#[test]
fn verification_failures_are_counted_by_kind() {
    let intact = three_epochs("metrics-intact");
    let tampered = three_epochs("metrics-tampered");
    let mut lines = tampered.lines();
    lines[3] = lines[3].replace("row:02", "row:99");
    tampered.write_lines(&lines);
    let clean = capture(|| {
        assert!(
            intact
                .verifier()
                .verify_dir(intact.dir.path())
                .unwrap()
                .is_intact()
        );
    });
    // An intact live log has notices only (an unsealed tail): nothing is counted.
    assert!(clean.is_empty(), "{clean:#?}");
    let series = capture(|| {
        let report = tampered.verifier().verify_dir(tampered.dir.path()).unwrap();
        assert!(!report.is_intact());
    });
    assert_eq!(
        counter(
            &series,
            "palisade_audit_verification_failures_total{kind=bad_mac}"
        ),
        1
    );
    assert!(
        counter(
            &series,
            "palisade_audit_verification_failures_total{kind=broken_chain}"
        ) >= 1
    );
}

/// Thousands of distinct actors, targets and garbage lines leave a handful of series, none of
/// whose labels carries any of them.
#[test]
fn hostile_input_leaves_series_bounded() {
    let fx = Fixture::new("metrics-hostile");
    let series = capture(|| {
        let mut log = fx.create();
        for i in 0..500 {
            let _ = log.append(
                Event::new("auth.login")
                    .actor(format!("zzuser{i}"))
                    .target(format!("zzrow{i}")),
            );
        }
        drop(log);
        let mut lines = fx.lines();
        for (i, line) in lines.iter_mut().enumerate().skip(1) {
            *line = match i % 3 {
                0 => format!("zzgarbage{i}"),
                1 => line.replace("zzuser", "zzmallory"),
                _ => line.clone(),
            };
        }
        fx.write_lines(&lines);
        let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
        assert!(!report.is_intact());
    });
    // Only this crate's series are bounded here: a build with every feature also has
    // palisade-redact's (bounded by its own test).
    assert_bounded(&series, "palisade_audit_", 12, &["zz"]);
}

/// README "Metrics": the log registers its append and sync meters when it is opened, and the
/// writer its queue gauge and drop counter when it starts, so they count into the recorder
/// installed then, from the writer's own thread too.
#[test]
fn meters_count_into_the_recorder_in_place_when_the_log_was_opened() {
    let fx = Fixture::new("metrics-opened");
    drop(fx.create());
    let recorder = Recorder::new();
    let writer = recorder.run(|| {
        AuditWriter::open(
            fx.keyed().durability(Durability::EveryRecord),
            16,
            Overflow::Block,
        )
        .expect("writer")
    });
    for i in 0..3 {
        let queued = writer.record(Event::new("auth.login").actor(format!("user:{i}")));
        assert_eq!(queued, Queued::Accepted);
    }
    writer.flush().expect("flush");
    let series = recorder.series();
    assert_eq!(
        counter(&series, "palisade_audit_appends_total{outcome=ok}"),
        3
    );
    assert!(histogram_len(&series, "palisade_audit_fsync_duration_seconds") >= 3);
    assert_eq!(gauge(&series, "palisade_audit_queue_depth"), 0.0);
    writer.close().expect("close");

    // Drops are counted on the callers' threads, through the writer's handle too.
    let small = Fixture::new("metrics-opened-drops");
    drop(small.create());
    let writer = recorder.run(|| {
        AuditWriter::open(
            small.keyed().durability(Durability::EveryRecord),
            1,
            Overflow::DropAndCount,
        )
        .expect("writer")
    });
    while writer.dropped() == 0 {
        let _ = writer.record(Event::new("auth.login"));
    }
    assert_eq!(
        counter(&recorder.series(), "palisade_audit_dropped_total"),
        writer.dropped()
    );
    writer.close().expect("close");
}
