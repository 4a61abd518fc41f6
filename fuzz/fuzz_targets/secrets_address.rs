//! Arbitrary text through palisade-secrets' address parser: no panic; whatever parses prints
//! back to the same text and parses again to the same address; errors never repeat the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_secrets::Address;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<Address>() {
        Ok(address) => {
            let shown = address.to_string();
            assert_eq!(shown, text);
            assert_eq!(shown.parse::<Address>().ok(), Some(address));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(text.len() < 8 || !message.contains(text));
        }
    }
});
