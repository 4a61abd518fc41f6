//! Compact JSON written straight into a byte buffer, byte for byte as `serde_json` writes it:
//! strings escaped by the same rules, objects and arrays member by member, numbers by
//! `serde_json` itself. Appending an event writes its member this way, without the serializer's
//! per-string set-up and `io::Write` calls.

use serde_json::Value;

/// Appends `text` as a JSON string, escaped as `serde_json`'s compact formatter escapes it:
/// `"` and `\` with a backslash, the control characters U+0000 to U+001F as `\b`, `\t`, `\n`,
/// `\f`, `\r` or `\u00xx` (lower-case hex), everything else (U+007F and every non-ASCII
/// character included) as it is.
pub(crate) fn push_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if clean(bytes) {
        out.extend_from_slice(bytes);
    } else {
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if escaped(b) {
                out.extend_from_slice(&bytes[run..i]);
                push_escape(out, b);
                run = i + 1;
            }
        }
        out.extend_from_slice(&bytes[run..]);
    }
    out.push(b'"');
}

/// Whether JSON text may not hold `b` as it is.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether no byte of `bytes` is [`escaped`], tested eight bytes at a time (the last word
/// padded with spaces).
fn clean(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut last = [b' '; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    words.all(|w| {
        let mut word = [0; 8];
        word.copy_from_slice(w);
        clean_word(u64::from_le_bytes(word))
    }) && clean_word(u64::from_le_bytes(last))
}

/// Whether no byte of the word is [`escaped`]. Each test is the "has a byte less than `n`"
/// bit trick, exact for the word as a whole (not byte by byte) when `n` is at most 0x80.
fn clean_word(w: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0;
    !(below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1))
}

/// The escape of one byte that JSON text may not hold as it is.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Appends `value` as compact JSON: objects' members in the map's own order (the order
/// `serde_json` serializes them in), numbers as `serde_json` writes them.
///
/// Recursion follows the value's nesting, as `serde_json`'s serializer does; events reach this
/// only after redaction, which replaces whatever lies deeper than its depth limit.
pub(crate) fn push_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // Into a `Vec` nothing fails, and a number always serializes.
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => push_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(out, key);
                out.push(b':');
                push_value(out, item);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::{clean_word, escaped, push_str, push_value};

    /// Text with every byte JSON escapes, the characters next to them, and multi-byte ones.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,24}",
            "[\\x00-\\x20\"\\\\/\\x7f a-z\u{80}\u{e9}\u{2028}\u{fffd}\u{1f600}]{0,24}",
            any::<String>(),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_escapes_it() {
        // Each byte alone, and at each place of a word and of the tail after it.
        for b in 0..=0x7fu8 {
            for at in 0..17 {
                let mut text = "a".repeat(17);
                text.replace_range(at..=at, &char::from(b).to_string());
                let mut out = Vec::new();
                push_str(&mut out, &text);
                assert_eq!(
                    out,
                    serde_json::to_vec(&text).unwrap(),
                    "byte {b:#04x} at {at}"
                );
            }
        }
        for b in 0..=0x7fu8 {
            let text = char::from(b).to_string();
            let mut out = Vec::new();
            push_str(&mut out, &text);
            assert_eq!(out, serde_json::to_vec(&text).unwrap(), "byte {b:#04x}");
        }
    }

    /// A byte that must be escaped, one next to it, or any byte.
    fn word_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(vec![0x00, 0x1f, 0x20, 0x21, b'"', 0x23, 0x5b, b'\\', 0x5d]),
            prop::sample::select(vec![0x7f, 0x80, 0x9f, 0xa0, 0xa2, 0xdc, 0xff]),
            any::<u8>(),
        ]
    }

    proptest! {
        /// The word test says what testing each of its bytes says.
        #[test]
        fn a_word_is_clean_when_each_of_its_bytes_is(bytes in prop::array::uniform8(word_byte())) {
            let expected = !bytes.iter().any(|&b| escaped(b));
            prop_assert_eq!(clean_word(u64::from_le_bytes(bytes)), expected);
        }

        #[test]
        fn strings_are_what_serde_json_writes(text in text()) {
            let mut out = b"x".to_vec();
            push_str(&mut out, &text);
            prop_assert_eq!(&out[1..], &serde_json::to_vec(&text).unwrap()[..]);
        }

        #[test]
        fn values_are_what_serde_json_writes(value in value()) {
            let mut out = b"x".to_vec();
            push_value(&mut out, &value);
            prop_assert_eq!(&out[1..], &serde_json::to_vec(&value).unwrap()[..]);
        }
    }
}
