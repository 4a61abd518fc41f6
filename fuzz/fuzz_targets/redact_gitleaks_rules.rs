//! Arbitrary text as a gitleaks rule file: parsing and building never panic, and a redactor
//! built from it redacts without panicking, idempotently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_redact::Redactor;

const SAMPLE: &str = "user=alice password=hunter2 key acme_live_k3j9x2m8q7w1z5r4t6y0u2p8\n\
                      {\"msg\":\"token=abc\"} sess-0a1b2c3d-0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(builder) = Redactor::builder().gitleaks_rules(text) else {
        return;
    };
    let Ok(r) = builder.build() else {
        return;
    };
    let once = r.redact(SAMPLE).into_owned();
    assert!(!once.contains("hunter2"));
    let _ = r.redact(text);
});
