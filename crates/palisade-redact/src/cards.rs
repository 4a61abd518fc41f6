//! Payment card numbers: 13 to 19 digits, optionally grouped by single spaces or dashes used
//! consistently, passing Luhn's check and starting with a card network's IIN at a length that
//! network issues.

use core::ops::Range;

use crate::{bytemask::Chunk, checks};

/// Appends the range of every card number in `text` to `out`.
///
/// A card's bytes are digits and single separators, each separator after a digit: at least
/// 13 such bytes in a row. The text is read in blocks of 64 bytes, each made a bitmask of
/// those bytes sixteen at a time, and only a run of 13 or more in a mask is parsed. Logs full
/// of short numbers, dates and times, hashes and ids skip almost everything.
#[inline]
pub(crate) fn find(text: &[u8], out: &mut Vec<Range<usize>>) {
    // Shorter texts (a record's fields, most JSON strings) hold no card: left without a call.
    if text.len() >= SHORTEST {
        find_in(text, out);
    }
}

/// The fewest bytes a card spans: 13 digits.
const SHORTEST: usize = 13;

/// A block's window starts: a window of [`SHORTEST`] bytes from any of them lies within the
/// 64 bytes of the block, so consecutive blocks are this far apart.
const STRIDE: usize = 64 - SHORTEST + 1;

/// [`find`], for texts of 13 bytes or more.
fn find_in(text: &[u8], out: &mut Vec<Range<usize>>) {
    let mut at = 0;
    while let Some(p) = next_window(text, at) {
        // The whole run of digits, spaces and dashes around the window: its cards are
        // parsed (the parse checks the separators are single and consistent).
        let mut start = p;
        while start > 0 && is_cardish(text[start - 1]) {
            start -= 1;
        }
        let mut end = p + SHORTEST;
        while end < text.len() && is_cardish(text[end]) {
            end += 1;
        }
        scan(text, start, end, out);
        at = end;
    }
}

fn is_cardish(b: u8) -> bool {
    b.is_ascii_digit() || b == b' ' || b == b'-'
}

/// The start of the first window of [`SHORTEST`] bytes at or after `from` made only of
/// digits and separators that follow a digit: every card is such a run.
fn next_window(text: &[u8], mut from: usize) -> Option<usize> {
    while from + SHORTEST <= text.len() {
        let windows = windows(text, from);
        if windows != 0 {
            return Some(from + windows.trailing_zeros() as usize);
        }
        from += STRIDE;
    }
    None
}

/// Bit `i` set where a window of [`SHORTEST`] card bytes starts at `from + i`, for `i` below
/// [`STRIDE`] (bytes past the text's end are not card bytes).
fn windows(text: &[u8], from: usize) -> u64 {
    // Fewer than 64 bytes left: the text's last 64, the bits before `from` then dropped.
    let (start, shift) = match text.len().checked_sub(64) {
        Some(last) if last < from => (last, from - last),
        _ => (from, 0),
    };
    let block = &text[start..text.len().min(start + 64)];
    let (digits, separators) = masks(block);
    // Whether the byte before the block is a digit, as the bit before its first.
    let carry = u64::from(start > 0 && text[start - 1].is_ascii_digit());
    let card = digits | separators & (digits << 1 | carry);
    // Bit i of `run` set where bits i..i + 13 of `card` are: runs of 2, 4, 8, then 13.
    let mut run = card & card >> 1;
    run &= run >> 2;
    run &= run >> 4;
    run &= run >> 5;
    (run >> shift) & ((1 << STRIDE) - 1)
}

/// The digits and the separators (space, dash) of `block` (at most 64 bytes; bytes past its
/// end count as neither).
fn masks(block: &[u8]) -> (u64, u64) {
    let mut padded = [0u8; 64];
    let bytes: &[u8; 64] = if let Some(bytes) = block.first_chunk::<64>() {
        bytes
    } else {
        padded[..block.len()].copy_from_slice(block);
        &padded
    };
    let (chunks, _) = bytes.as_chunks::<16>();
    let (mut digits, mut separators) = (0u64, 0u64);
    for (i, chunk) in chunks.iter().enumerate() {
        let chunk = Chunk::new(chunk);
        digits |= u64::from(chunk.digits()) << (16 * i);
        separators |= u64::from(chunk.any_of([b' ', b'-'])) << (16 * i);
    }
    (digits, separators)
}

/// Cards within `text[from..to]`, a run of digits and separators (checks look outside it).
fn scan(text: &[u8], from: usize, to: usize, out: &mut Vec<Range<usize>>) {
    let mut i = from;
    while i < to {
        if !text[i].is_ascii_digit() || (i > 0 && is_word(text[i - 1])) {
            i += 1;
            continue;
        }
        // Fast path: most digit runs are far shorter than a card.
        let (run_end, run_digits) = measure_run(text, i);
        if run_digits < 13 {
            i = run_end.max(i + 1);
            continue;
        }
        let start = i;
        let mut digits = [0u8; 19];
        let mut count = 0;
        let mut separator = None;
        let mut end = i;
        let mut too_long = false;
        while i < text.len() {
            let b = text[i];
            if b.is_ascii_digit() {
                if count >= digits.len() {
                    too_long = true;
                } else {
                    digits[count] = b;
                }
                count += 1;
                i += 1;
                end = i;
            } else if (b == b' ' || b == b'-')
                && separator.is_none_or(|s| s == b)
                && text.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                separator = Some(b);
                i += 1;
            } else {
                break;
            }
        }
        let bounded = text.get(end).is_none_or(|b| !is_word(*b));
        if bounded && !too_long && (13..=19).contains(&count) {
            let d = &digits[..count];
            if checks::luhn(d) && checks::card_iin(d) {
                out.push(start..end);
            }
        }
        // Skip the rest of this run of digits and separators.
        i = i.max(end + 1);
    }
}

/// End and digit count of the run of digits, single spaces and single dashes from `i`.
fn measure_run(text: &[u8], mut i: usize) -> (usize, usize) {
    let mut digits = 0;
    while let Some(&b) = text.get(i) {
        if b.is_ascii_digit() {
            digits += 1;
        } else if !((b == b' ' || b == b'-') && text.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            break;
        }
        i += 1;
    }
    (i, digits)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(s.as_bytes(), &mut out);
        out.into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn finds_grouped_and_plain_numbers() {
        assert_eq!(cards("card 4111111111111111 ok"), ["4111111111111111"]);
        assert_eq!(cards("card 4111 1111 1111 1111."), ["4111 1111 1111 1111"]);
        assert_eq!(cards("amex 3782-822463-10005"), ["3782-822463-10005"]);
    }

    #[test]
    fn the_shortest_text_with_a_card_is_13_bytes() {
        // A 13-digit Visa number, alone: the shortest text a card fits in.
        assert_eq!(cards("4222222222222"), ["4222222222222"]);
        assert!(cards("422222222222").is_empty());
        assert!(cards("4222 2222 222").is_empty());
    }

    proptest::proptest! {
        /// The run filter never hides a card the plain scan finds, in texts up to a few
        /// blocks long.
        #[test]
        fn filtered_scan_equals_plain_scan(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b"4111111111111111".to_vec()),
                    proptest::strategy::Just(b"4111 1111 1111 1111".to_vec()),
                    proptest::strategy::Just(b"5555-5555-5555-4444".to_vec()),
                    proptest::strategy::Just(b"378282246310005".to_vec()),
                    proptest::strategy::Just(b"2026-12-05 12:34:56".to_vec()),
                    proptest::strategy::Just(b"4222 2222 2".to_vec()),
                    proptest::collection::vec(proptest::prop_oneof![
                        proptest::strategy::Just(b' '),
                        proptest::strategy::Just(b'-'),
                        b'0'..=b'9',
                        0u8..=255,
                    ], 0..6),
                ],
                0..24,
            )
        ) {
            let text = pieces.concat();
            let mut fast = Vec::new();
            find(&text, &mut fast);
            let mut plain = Vec::new();
            scan(&text, 0, text.len(), &mut plain);
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    /// Texts are read in blocks of 64 bytes, 52 apart, the last block overlapping the one
    /// before: a card is found at every offset against them, in texts of every length around
    /// a block's.
    #[test]
    fn a_card_is_found_at_every_offset() {
        for card in ["4111111111111111", "4111 1111 1111 1111", "4222222222222"] {
            for pad in 0..140 {
                for after in ["", ".", " ok", " and some more words after it"] {
                    // Words and spaces before the card, a space right before it.
                    let lead = "x ".repeat(pad / 2) + if pad % 2 == 1 { " " } else { "" };
                    let text = format!("{lead}{card}{after}");
                    assert_eq!(cards(&text), [card], "{text:?}");
                }
            }
        }
    }

    /// The README ("How it stays fast"): the ISO 8601 times that open log lines never reach
    /// the exact parse, nor do the short numbers around them.
    #[test]
    fn iso_times_never_reach_the_parse() {
        for line in [
            "2026-12-05T12:34:56.789Z INFO request_id=3a7757b0-f3a2-4472 status=200 port 5432",
            "ts=2026-12-05T12:34:56+01:00 level=warn retry=3 backoff_ms=9548 id 1234-5678-90",
            r#"{"ts":"2026-11-02T17:44:42.686Z","ttl":300,"user":56071}"#,
        ] {
            assert_eq!(next_window(line.as_bytes(), 0), None, "{line}");
        }
        // A date and time with a space between them is 13 card bytes: it does reach the
        // parse, which finds no card in it.
        let spaced = b"2026-12-05 12:34:56 INFO";
        assert_eq!(next_window(spaced, 0), Some(0));
        assert!(cards("2026-12-05 12:34:56 INFO").is_empty());
    }

    #[test]
    fn leaves_lookalikes_alone() {
        for s in [
            "ts=1700000000123 order=4111111111111112",
            "id 41111111111111110000",
            "mixed 4111 1111-1111 1111",
            "uuid 4111111111111111a",
            "2024-01-15 10:00:00",
            "phone 555 123 4567",
            "long 4111111111111111111111111111111111111111",
        ] {
            assert!(cards(s).is_empty(), "{s}");
        }
    }
}
