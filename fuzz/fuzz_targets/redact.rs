//! Arbitrary bytes through the redactor, whole and streamed: no panic, findings stay in
//! bounds, the output is the single-pass rendering when that leaves nothing to find,
//! redaction is idempotent, and chunking changes nothing; with registered known values too
//! (one shaped like the marker's letters, one with JSON's escaped characters).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_redact::{KnownSecrets, LineRedactor, REDACTED, Redactor};

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        let known = KnownSecrets::new();
        for value in [
            &b"REDACTED"[..],
            b"say \"open\" sesame",
            b"abcdefgh",
            b"abcdefghijkl",
        ] {
            known
                .insert(value)
                .expect("values of 8 bytes and more are accepted");
        }
        Redactor::builder()
            .enable_pii()
            .known_secrets(known)
            .build()
            .expect("valid configuration")
    })
}

fuzz_target!(|data: &[u8]| {
    let r = redactor();
    let found = r.find(data);
    let out = r.redact_bytes(data);
    let mut expected = Vec::new();
    let mut at = 0;
    for f in &found {
        assert!(at <= f.range.start && f.range.end <= data.len());
        expected.extend_from_slice(&data[at..f.range.start]);
        expected.extend_from_slice(REDACTED.as_bytes());
        at = f.range.end;
    }
    expected.extend_from_slice(&data[at..]);
    if r.find(&expected).is_empty() {
        assert_eq!(&*out, expected.as_slice());
    }
    assert_eq!(&*r.redact_bytes(&out), &*out);
    if let Ok(text) = std::str::from_utf8(data) {
        let once = r.redact(text).into_owned();
        assert_eq!(r.redact(&once), once.as_str());
    }
    let mut whole = Vec::new();
    let mut s = LineRedactor::new(r.clone());
    s.push(data, &mut whole);
    s.finish(&mut whole);
    let mut pieces = Vec::new();
    let mut s = LineRedactor::new(r.clone());
    for chunk in data.chunks(7) {
        s.push(chunk, &mut pieces);
    }
    s.finish(&mut pieces);
    assert_eq!(whole, pieces);
});
