//! Property tests: proofs verify for every index and size, roots agree, round trips hold.

mod support;

use palisade_audit::{
    Event, Timestamp,
    merkle::{self, Frontier, Tree},
};
use proptest::prelude::*;
use support::Fixture;

fn tree(n: u64) -> Tree {
    let mut t = Tree::new();
    for i in 0..n {
        t.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    t
}

#[test]
fn inclusion_proofs_verify_for_every_index_and_size() {
    let t = tree(130);
    for size in 1..=130 {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let proof = t.inclusion_proof(index, size).unwrap();
            assert!(proof.path.len() <= 64 - (size - 1).leading_zeros() as usize);
            assert!(
                proof.verify(&t.leaf(index).unwrap(), &root).is_ok(),
                "{index}/{size}"
            );
        }
        assert!(t.inclusion_proof(size, size).is_none());
    }
}

#[test]
fn consistency_proofs_verify_for_every_pair() {
    let t = tree(70);
    for new in 0..=70 {
        for old in 0..=new {
            let proof = t.consistency_proof(old, new).unwrap();
            let (a, b) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
            assert!(proof.verify(&a, &b).is_ok(), "{old}->{new}");
        }
    }
}

proptest! {
    #[test]
    fn frontier_and_tree_agree(n in 0u64..3000) {
        let t = tree(n);
        let mut f = Frontier::new();
        for i in 0..n {
            f.push(merkle::leaf_hash(&i.to_le_bytes()));
        }
        prop_assert_eq!(f.root(), t.root());
        prop_assert_eq!(f.size(), n);
    }

    #[test]
    fn large_trees_prove_any_leaf(size in 1u64..5000, pick in any::<u64>()) {
        let t = tree(size);
        let index = pick % size;
        let proof = t.inclusion_proof(index, size).unwrap();
        prop_assert!(proof.verify(&t.leaf(index).unwrap(), &t.root()).is_ok());
        let old = pick % (size + 1);
        let c = t.consistency_proof(old, size).unwrap();
        prop_assert!(c.verify(&t.root_at(old).unwrap(), &t.root()).is_ok());
    }

    #[test]
    fn timestamps_round_trip(ms in 0u64..253_402_300_800_000) {
        let t = Timestamp::from_unix_millis(ms);
        prop_assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn events_round_trip_through_the_log(
        actors in proptest::collection::vec("[a-z0-9:._@-]{0,24}", 1..8),
        value in any::<i64>(),
        note in "\\PC{0,40}",
    ) {
        let fx = Fixture::new("prop");
        let redactor = palisade_redact::Redactor::new();
        let mut log = fx.create();
        for a in &actors {
            let _ = log.append(Event::new("prop.test").actor(a.clone()).field("v", value)
                .field("note", note.clone())).unwrap();
        }
        drop(log);
        let records = palisade_audit::read_records(fx.dir.path()).unwrap();
        prop_assert_eq!(records.len(), actors.len() + 1);
        for (r, a) in records[1..].iter().zip(&actors) {
            let e = r.event().unwrap();
            let expected = redactor.redact(a).into_owned();
            prop_assert_eq!(e["actor"].as_str().unwrap(), expected.as_str());
            prop_assert_eq!(e["fields"]["v"].as_i64(), Some(value));
        }
        let report = fx.verifier().verify_dir(fx.dir.path()).unwrap();
        prop_assert!(report.is_intact(), "{}", report);
    }

    #[test]
    fn verifier_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let report = palisade_audit::Verifier::new().verify_bytes(&data);
        prop_assert!(report.records() <= data.len() as u64);
    }
}
