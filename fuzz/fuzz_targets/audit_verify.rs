//! Arbitrary bytes through the audit log verifier, as a whole log and as a checkpoint note:
//! no panic, the report stays bounded, and a report is intact only when it has no tampering.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_audit::{Checkpoint, MAX_FINDINGS, MacKey, SecretBox, SigningKey, Verifier};

fuzz_target!(|data: &[u8]| {
    let public = SigningKey::from_secret(&SecretBox::new(Box::new([9; 32]))).verifying_key();
    let report = Verifier::new()
        .public_key(public)
        .mac_key(MacKey::from_bytes([7; 32]))
        .verify_bytes(data);
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(report.records() <= lines);
    assert!(report.findings().len() <= MAX_FINDINGS);
    assert_eq!(
        report.is_intact(),
        report.first_tampering().is_none() && report.uncounted_findings() == 0
    );
    let _ = report.to_string();

    let text = String::from_utf8_lossy(data);
    if let Ok(cp) = Checkpoint::from_note(&text) {
        let again = Checkpoint::from_note(&cp.to_note()).expect("a note re-parses");
        assert_eq!(again, cp);
        let _ = cp.verify(&public);
    }
});
