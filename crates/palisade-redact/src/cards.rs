//! Payment card numbers: 13 to 19 digits, optionally grouped by single spaces or dashes used
//! consistently, passing Luhn's check and starting with a card network's IIN at a length that
//! network issues.

use core::ops::Range;

use crate::checks;

/// Appends the range of every card number in `text` to `out`.
///
/// Every card spans at least 13 bytes of digits and single separators, so it covers a whole
/// aligned 4-byte block made only of such bytes with at least two digits (separators are
/// never adjacent). Blocks are tested eight bytes at a time; only the runs around a passing
/// block are parsed. Logs full of short numbers, hashes and timestamps skip almost everything.
#[inline]
pub(crate) fn find(text: &[u8], out: &mut Vec<Range<usize>>) {
    // Shorter texts (a record's fields, most JSON strings) hold no card: left without a call.
    if text.len() >= 13 {
        find_in(text, out);
    }
}

/// [`find`], for texts of 13 bytes or more.
fn find_in(text: &[u8], out: &mut Vec<Range<usize>>) {
    let mut at = 0;
    while let Some(block) = next_candidate_block(text, at) {
        // The digits of the run outside the pair of blocks, counted on the way.
        let mut outside = 0;
        let mut start = block;
        while start > 0 && is_cardish(text[start - 1]) {
            start -= 1;
            outside += usize::from(text[start].is_ascii_digit());
        }
        // The pair of blocks found is all digits and separators: the run goes on past it.
        let mut end = block + 8;
        while end < text.len() && is_cardish(text[end]) {
            outside += usize::from(text[end].is_ascii_digit());
            end += 1;
        }
        // A card is at least 13 digits, all in one run: a run that cannot hold 13 (the
        // pair holds at most eight) needs no parse, however long with its separators
        // (`2026-12-05 12:34`, the date and time that open most log lines).
        if end - start >= 13 && outside + 8 >= 13 {
            scan(text, start, end, out);
        }
        at = end;
    }
}

fn is_cardish(b: u8) -> bool {
    b.is_ascii_digit() || b == b' ' || b == b'-'
}

/// Per byte of `v`, the high bit set exactly where the byte is zero.
fn zero_bytes(v: u64) -> u64 {
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // (v & 0x7F) + 0x7F stays below 0x100 in each byte, so no carry crosses bytes.
    !(((v & LOW).wrapping_add(LOW)) | v) & HIGH
}

/// Per byte of `v`, the high bit set exactly where the byte is an ASCII digit.
fn digit_bytes(v: u64) -> u64 {
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = v & LOW;
    // Without carries between bytes (each low 7 bits plus at most 0x50 < 0x100): the high bit
    // is set when the byte is >= '0', when it is > '9', and when it is not ASCII.
    let at_least_0 = low.wrapping_add(0x5050_5050_5050_5050) & HIGH;
    let above_9 = low.wrapping_add(0x4646_4646_4646_4646) & HIGH;
    at_least_0 & !above_9 & !v & HIGH
}

/// How many of the four low bytes of `flags` (each 0x80 or 0) are set: one multiply, where a
/// portable `count_ones` is a dozen operations on targets without a population count.
fn flags_in_half(flags: u64) -> u32 {
    let ones = (flags >> 7) & 0x0101_0101;
    // Each byte of `ones` is 0 or 1; the multiply sums them into the top byte, carry-free.
    ((ones.wrapping_mul(0x0101_0101) >> 24) & 0xFF) as u32
}

/// Whether the aligned 4-byte block at `at` is all digits, spaces and dashes, and how many
/// digits it has.
fn block(text: &[u8], at: usize) -> Option<(bool, u32)> {
    let bytes = text.get(at..at + 4)?;
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32;
    Some((bytes.iter().all(|b| is_cardish(*b)), digits))
}

/// The start of the first pair of adjacent aligned 4-byte blocks, at or after `from` (rounded
/// up), that are all digits, spaces and dashes with at least four digits between them (so the
/// eight bytes from it are all in `text` and all digits, spaces and dashes).
///
/// A card spans at least 13 bytes, so it covers two whole adjacent aligned blocks; separators
/// are never adjacent, so those 8 bytes hold at least four digits. Timestamps, sizes and ids
/// rarely do, which keeps the exact parse for the few places that might be cards.
///
/// The text is read eight bytes (two blocks) at a time, and of every pair of adjacent blocks
/// one is the first block of such a chunk: a chunk whose first block is not full starts no
/// pair, and the pair ending in it cannot hold it either, so only its first half is tested
/// (three operations that reject letters and hex). The pair across two chunks is looked at
/// from the second chunk, when its first block is full.
fn next_candidate_block(text: &[u8], from: usize) -> Option<usize> {
    const HALF: u64 = 0x8080_8080;
    let first = from.next_multiple_of(4);
    // The block before `at` (not before `first`), when it is full: its digits.
    let before = |at: usize| {
        if at < first + 4 {
            return None;
        }
        block(text, at - 4).and_then(|(full, digits)| full.then_some(digits))
    };
    let mut at = first;
    while let Some(chunk) = text.get(at..at + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let v = u64::from_le_bytes(bytes);
        // Digits, space and dash are all in 0x20..=0x3F: a first block with a byte outside
        // that range is not full.
        if (v & 0xE0E0_E0E0) ^ 0x2020_2020 != 0 {
            at += 8;
            continue;
        }
        let digits = digit_bytes(v);
        let lo_digits = flags_in_half(digits);
        // A block of a card holds at least two digits (its separators are single): runs of
        // spaces and dashes (indentation, rules) are left here.
        if lo_digits < 2 {
            at += 8;
            continue;
        }
        let cardish =
            digits | zero_bytes(v ^ 0x2020_2020_2020_2020) | zero_bytes(v ^ 0x2D2D_2D2D_2D2D_2D2D);
        if cardish & HALF != HALF {
            at += 8;
            continue;
        }
        if let Some(d) = before(at)
            && d + lo_digits >= 4
        {
            return Some(at - 4);
        }
        if (cardish >> 32) & HALF == HALF && lo_digits + flags_in_half(digits >> 32) >= 4 {
            return Some(at);
        }
        at += 8;
    }
    // The last block (fewer than eight bytes are left), with the block before it.
    let (full, d) = block(text, at)?;
    let pd = before(at)?;
    (full && pd + d >= 4).then(|| at - 4)
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

    #[test]
    fn masks_agree_with_byte_tests() {
        for b in 0u8..=255 {
            let v = u64::from(b) << 24 | 0x4141_4141_0041_4141;
            let digit = digit_bytes(v) >> 31 & 1 == 1;
            let zero = zero_bytes(v ^ 0x2020_2020_2020_2020) >> 31 & 1 == 1;
            assert_eq!(digit, b.is_ascii_digit(), "{b}");
            assert_eq!(zero, b == b' ', "{b}");
        }
    }

    proptest::proptest! {
        /// The block filter never hides a card the plain scan finds.
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
                0..12,
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
