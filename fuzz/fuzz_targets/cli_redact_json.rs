//! Arbitrary bytes through `palisade redact --json`, fed in chunks whose sizes the input picks:
//! no panic, the result does not depend on the chunking, and a JSON document comes out as
//! JSON equal to what palisade-redact's `redact_json` makes of it.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use palisade_cli::{RedactMode, redact_stream};

/// Gives out the input `step` bytes at a time.
struct Chunks<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let step = usize::from(first % 16) + 1;
    let mut whole = Vec::new();
    let whole_result = redact_stream(data, &mut whole, RedactMode::Json);
    let mut chunked = Vec::new();
    let chunked_result = redact_stream(Chunks { data, step }, &mut chunked, RedactMode::Json);
    assert_eq!(whole_result.is_ok(), chunked_result.is_ok());
    assert_eq!(whole, chunked);

    let depth = data.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if depth < 100
        && let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data)
    {
        assert!(whole_result.is_ok(), "a JSON document was refused");
        let out: serde_json::Value = serde_json::from_slice(&whole).expect("output is JSON");
        palisade_redact::Redactor::new().redact_json(&mut value);
        assert_eq!(out, value);
    }
});
