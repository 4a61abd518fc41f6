//! The tracing layer, end to end: tracing calls in, verified audit records out.
#![cfg(feature = "tracing")]

mod support;

use std::sync::{Arc, Mutex};

use palisade_audit::{AuditLayer, Outcome, RecordKind};
use support::Fixture;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn audit_events_become_verified_records() {
    let fx = Fixture::new("tracing");
    let log = Arc::new(Mutex::new(fx.create()));
    let layer = AuditLayer::new(Arc::clone(&log));
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            target: "audit",
            action = "auth.login",
            actor = "user:42",
            client = "203.0.113.9",
            outcome = "failure",
            request_id = "req-1",
            attempt = 3u64,
            password = "hunter2",
        );
        tracing::warn!(target: "audit::authz", actor = "user:7", resource = "invoice:9",
                       outcome = "denied", "invoice.read");
        tracing::info!(target: "auditing", "not audit: another target");
        tracing::info!(actor = "user:1", "not audit: default target");
    });
    assert_eq!(layer.failures(), 0);
    drop(log);

    let records = palisade_audit::read_records(fx.dir.path()).unwrap();
    let events: Vec<_> = records
        .iter()
        .filter(|r| r.kind() == RecordKind::Event)
        .map(|r| r.event().unwrap().clone())
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "auth.login");
    assert_eq!(events[0]["actor"], "user:42");
    assert_eq!(events[0]["client"], "203.0.113.9");
    assert_eq!(events[0]["outcome"], Outcome::Failure.as_str());
    assert_eq!(events[0]["request_id"], "req-1");
    assert_eq!(events[0]["fields"]["attempt"], 3);
    assert_eq!(events[0]["fields"]["password"], "[REDACTED]");
    assert_eq!(events[1]["action"], "invoice.read");
    assert_eq!(events[1]["target"], "invoice:9");
    assert_eq!(events[1]["outcome"], "denied");

    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
}
