//! Size-based rotation: the chain continues across files, and the verifier reads them all.

mod support;

use std::fs;

use palisade_audit::{Event, FindingKind, Pseudonyms, Verifier};
use support::Fixture;

fn rotated(tag: &str) -> Fixture {
    let fx = Fixture::new(tag);
    let mut log = fx
        .builder()
        .max_file_bytes(64 * 1024)
        .checkpoint_every(100)
        .signer(std::sync::Arc::new(Fixture::signing(&fx.signing_seed)))
        .epoch0_key(palisade_audit::MacKey::from_bytes(fx.k0))
        .create_with(|_| Ok(()))
        .unwrap();
    for i in 0..600 {
        let _ = log
            .append(
                Event::new("data.export")
                    .actor(format!("user:{}", i % 7))
                    .field("rows", i)
                    .field("note", "x".repeat(200)),
            )
            .unwrap();
    }
    drop(log);
    fx
}

#[test]
fn rotated_log_verifies_across_files() {
    let fx = rotated("rotate");
    let files = fx.segments();
    assert!(files.len() >= 3, "{files:?}");
    for f in &files {
        assert!(fs::metadata(f).unwrap().len() <= 64 * 1024);
        // Each file is named by its first record's sequence number.
        let text = fs::read_to_string(f).unwrap();
        let first = support::seq_of(text.lines().next().unwrap());
        let name = f.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, format!("audit-{first:020}.jsonl"));
    }
    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.files(), files.len());
    assert_eq!(report.records(), 1 + 600 + 6);

    // Reopen and keep appending into the last file.
    let mut log = fx.open();
    let r = log.append(Event::new("after.reopen")).unwrap();
    assert_eq!(r.seq, 607);
    drop(log);
    assert!(fx.verifier().verify_dir(fx.dir.path()).unwrap().is_intact());
}

#[test]
fn a_deleted_file_is_a_gap_at_the_next_file() {
    let fx = rotated("rotate-delete");
    let files = fx.segments();
    fs::remove_file(&files[1]).unwrap();
    let report = Verifier::new().verify_dir(fx.dir.path()).unwrap();
    let f = report.first_tampering().unwrap();
    assert!(
        matches!(f.kind, FindingKind::SequenceGap { .. }),
        "{report}"
    );
    assert_eq!(f.position.file.as_deref(), Some(files[2].as_path()));
    assert_eq!(f.position.line, 1);
    // The writer refuses to open it too.
    assert!(fx.keyed().open().is_err());
}

#[test]
fn erasing_a_pseudonym_keeps_the_log_verifiable() {
    let fx = Fixture::new("gdpr");
    let mut people = Pseudonyms::new();
    let mut log = fx.create();
    let alice = people.pseudonym("alice@example.com").unwrap();
    let bob = people.pseudonym("bob@example.com").unwrap();
    let _ = log
        .append(Event::new("profile.read").actor(alice.clone()))
        .unwrap();
    let _ = log
        .append(Event::new("profile.read").actor(bob.clone()))
        .unwrap();
    drop(log);
    let salts = fx.dir.path().join("..").join(format!(
        "{}-salts",
        fx.dir.path().file_name().unwrap().to_str().unwrap()
    ));
    people.save(&salts).unwrap();
    let log_text = fs::read_to_string(fx.file()).unwrap();
    assert!(!log_text.contains("alice@example.com"));
    assert!(log_text.contains(&alice));

    let mut people = Pseudonyms::load(&salts).unwrap();
    assert_eq!(people.resolve(&alice), Some("alice@example.com"));
    assert!(people.erase("alice@example.com"));
    people.save(&salts).unwrap();
    let people = Pseudonyms::load(&salts).unwrap();
    assert_eq!(people.resolve(&alice), None);
    assert_eq!(people.resolve(&bob), Some("bob@example.com"));
    assert_eq!(format!("{people:?}"), "Pseudonyms { subjects: 1 }");
    fs::remove_file(&salts).unwrap();

    let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
    assert!(report.is_intact(), "{report}");
}

#[test]
fn secrets_in_events_are_redacted_before_hashing() {
    let fx = Fixture::new("redact");
    let mut log = fx.create();
    let _ = log
        .append(
            Event::new("auth.login")
                .actor("alice")
                .target("https://bob:hunter2@db.internal/")
                .field("password", "hunter2")
                .field("token_note", "key AKIAIOSFODNN7EXAMPLE used"),
        )
        .unwrap();
    drop(log);
    let text = fs::read_to_string(fx.file()).unwrap();
    assert!(!text.contains("hunter2"));
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"));
    let records = palisade_audit::read_records(fx.dir.path()).unwrap();
    assert_eq!(
        records[1].event().unwrap()["fields"]["password"],
        "[REDACTED]"
    );
    assert!(fx.verifier().verify_dir(fx.dir.path()).unwrap().is_intact());
}

#[test]
fn checkpoints_read_back_verify_and_prove_inclusion() {
    let fx = rotated("proofs");
    let records = palisade_audit::read_records(fx.dir.path()).unwrap();
    let tree = palisade_audit::tree_of(&records);
    let checkpoints: Vec<_> = records.iter().filter_map(|r| r.checkpoint()).collect();
    assert_eq!(checkpoints.len(), 6);
    for pair in checkpoints.windows(2) {
        let (old, new) = (pair[0], pair[1]);
        assert!(new.verify(&fx.public).is_ok());
        let proof = tree.consistency_proof(old.size(), new.size()).unwrap();
        assert!(old.verify_consistency(new, &proof).is_ok());
        let bad = tree.consistency_proof(old.size() - 1, new.size()).unwrap();
        assert!(old.verify_consistency(new, &bad).is_err());
        for seq in [0, old.size() / 2, new.size() - 1] {
            let proof = tree.inclusion_proof(seq, new.size()).unwrap();
            assert!(
                new.verify_inclusion(&records[seq as usize].hash(), &proof)
                    .is_ok()
            );
            assert!(
                new.verify_inclusion(&records[seq as usize + 1].hash(), &proof)
                    .is_err()
            );
        }
    }
}
