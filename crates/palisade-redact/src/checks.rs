//! Offline validity checks that turn a pattern match into a high-precision detection:
//! checksums (Luhn, CRC32 in base62, IBAN mod 97) and structure (JWT segments decode to JSON).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// Luhn's mod-10 check over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether `digits` (13 to 19 ASCII digits) start with an issuer identification number of a
/// card network, with a length that network issues.
pub(crate) fn card_iin(digits: &[u8]) -> bool {
    let len = digits.len();
    let prefix = |n: usize| -> u32 {
        digits[..n]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    if len < 13 {
        return false;
    }
    let p1 = prefix(1);
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    let p6 = prefix(6);
    match len {
        // Visa: 4, 13/16/19 digits.
        13 | 16 | 19 if p1 == 4 => true,
        // American Express: 34, 37; 15 digits.
        15 if p2 == 34 || p2 == 37 => true,
        // Mastercard: 51-55, 2221-2720; 16 digits.
        16 if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => true,
        // Discover: 6011, 644-649, 65, 622126-622925; 16-19 digits.
        16..=19
            if p4 == 6011
                || (644..=649).contains(&p3)
                || p2 == 65
                || (622_126..=622_925).contains(&p6) =>
        {
            true
        }
        // JCB: 3528-3589; 16-19 digits.
        16..=19 if (3528..=3589).contains(&p4) => true,
        // Diners Club International: 36, 300-305, 38-39; 14-19 digits.
        14..=19 if p2 == 36 || (300..=305).contains(&p3) || p2 == 38 || p2 == 39 => true,
        // UnionPay: 62; 16-19 digits.
        16..=19 if p2 == 62 => true,
        // Maestro: 50, 56-58, 6304, 6759, 676770, 676774; 12-19 digits.
        13..=19 if p2 == 50 || (56..=58).contains(&p2) || p4 == 6304 || p4 == 6759 => true,
        _ => false,
    }
}

/// The base62 alphabet GitHub and npm tokens use for their checksum: digits, upper, lower.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with `0` to six characters.
pub(crate) fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// GitHub's and npm's token checksum: the last six characters are the CRC32 of the random part
/// before them, in base62.
pub(crate) fn crc32_base62_suffix(random: &[u8], checksum: &[u8]) -> bool {
    checksum.len() == 6 && base62_6(crc32fast::hash(random)) == checksum
}

/// ISO 13616 IBAN check: move the first four characters to the end, letters to numbers,
/// remainder mod 97 must be 1. `iban` is upper-case alphanumerics without spaces.
pub(crate) fn iban(iban: &[u8]) -> bool {
    if !(15..=34).contains(&iban.len())
        || !iban[..2].iter().all(u8::is_ascii_uppercase)
        || !iban[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let mut rem = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// BIP 173 bech32 checksum: whether `data` (5-bit values, checksum included) under the
/// human-readable part `hrp` (lower case) verifies.
pub(crate) fn bech32(hrp: &[u8], data: &[u8]) -> bool {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    let mut step = |v: u8| {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    };
    for c in hrp {
        step(c >> 5);
    }
    step(0);
    for c in hrp {
        step(c & 31);
    }
    for v in data {
        step(*v);
    }
    data.len() >= 6 && chk == 1
}

/// Whether `segment` is base64url of a JSON object with the member `key`.
pub(crate) fn b64_json_object_with(segment: &[u8], key: &str) -> bool {
    URL_SAFE_NO_PAD.decode(segment).is_ok_and(|decoded| {
        decoded.first() == Some(&b'{')
            && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&decoded)
                .is_ok_and(|m| m.contains_key(key))
    })
}

/// Whether `segment` is base64url (no padding) of a JSON object.
pub(crate) fn b64_json_object(segment: &[u8]) -> bool {
    let Ok(decoded) = URL_SAFE_NO_PAD.decode(segment) else {
        return false;
    };
    decoded.first() == Some(&b'{')
        && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&decoded).is_ok()
}

/// A template or reference standing where a value would go, never a secret itself:
/// `${DB_PASSWORD}`, `$(cat key)`, `{{ .Values.token }}`, `<your-token>`, `%s`, `%(pw)s`,
/// `****`, `xxxx`, or one character repeated.
pub(crate) fn is_template(v: &[u8]) -> bool {
    let Some((&first, _)) = v.split_first() else {
        return false;
    };
    let last = v[v.len() - 1];
    (first == b'<' && last == b'>')
        || v.starts_with(b"${")
        || v.starts_with(b"$(")
        || v.starts_with(b"{{")
        || v.starts_with(b"%(")
        || v == b"%s"
        || v == b"%v"
        || v == b"?"
        || (v.len() >= 3 && v.iter().all(|b| *b == first))
        || (v.len() >= 3
            && v.iter()
                .all(|b| matches!(b, b'*' | b'x' | b'X' | b'.' | b'#' | b'-' | b'_')))
        || (first == b'$'
            && v.len() > 1
            && v[1..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
}

/// Whether the random part of a token is an obvious placeholder rather than random: a
/// template, a run of one character over a quarter of it (at least eight), a short
/// repeating period (`abcabcabc…`), or too little Shannon entropy for its length and
/// alphabet (see [`low_entropy`]).
pub(crate) fn is_placeholder(v: &[u8]) -> bool {
    placeholder(v, &mut None)
}

/// [`is_placeholder`], keeping in `entropy` the estimate of the Shannon entropy of `v` if
/// the test worked it out (or using it if the caller already has it), so a caller that then
/// compares the entropy with a bar of its own ([`entropy_at_least`]) does not count the bytes
/// twice.
pub(crate) fn placeholder(v: &[u8], entropy: &mut Option<f64>) -> bool {
    if is_template(v) {
        return true;
    }
    if has_run(v, 8.max(v.len() / 4)) {
        return true;
    }
    if v.len() >= 12 && (1..=4).any(|p| v[p..].iter().zip(v).all(|(a, b)| a == b)) {
        return true;
    }
    low_entropy(v, entropy)
}

/// Whether `v` holds a run of one byte at least `t` long (`t` at least 1). Such a run covers
/// one of the positions `t - 1`, `2t - 1`, …, so only the runs through those are measured:
/// a few bytes looked at per `t`, where a random token's runs end at once.
fn has_run(v: &[u8], t: usize) -> bool {
    debug_assert!(t >= 1);
    (t - 1..v.len()).step_by(t).any(|j| {
        let b = v[j];
        let before = v[..j].iter().rev().take_while(|x| **x == b).count();
        let after = v[j + 1..].iter().take_while(|x| **x == b).count();
        before + 1 + after >= t
    })
}

/// Words that mark a value as an example or a stand-in, never a secret.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "placeholder",
    "dummy",
    "sample",
    "your",
    "xxx",
    "redacted",
    "todo",
    "fixme",
    "insert",
    "replace",
    "notreal",
    "fake",
];

/// Per byte, a bit for each [`PLACEHOLDER_WORDS`] word starting with it in either case.
const PLACEHOLDER_FIRST: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < PLACEHOLDER_WORDS.len() {
        let first = PLACEHOLDER_WORDS[i].as_bytes()[0];
        t[first as usize] |= 1 << i;
        t[first.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    t
};

/// Whether `v` contains a [`PLACEHOLDER_WORDS`] word in any case: one table load per byte,
/// and a comparison only where a word starts with it (no lower-cased copy, no searcher built
/// per word).
fn has_placeholder_word(v: &[u8]) -> bool {
    (0..v.len()).any(|i| {
        let mut words = PLACEHOLDER_FIRST[usize::from(v[i])];
        while words != 0 {
            let w = PLACEHOLDER_WORDS[words.trailing_zeros() as usize].as_bytes();
            words &= words - 1;
            if v[i..]
                .get(..w.len())
                .is_some_and(|x| x.eq_ignore_ascii_case(w))
            {
                return true;
            }
        }
        false
    })
}

/// Whether a value of a secret-named key looks like a secret rather than a word, a number, a
/// path or a stand-in: 8 to 512 token characters (`A-Za-z0-9+/=_.~-`), at least two of lower
/// case, upper case and digits (or hex of 16 and more), no placeholder word (`example`,
/// `changeme`, `xxx`, …), not a placeholder (see [`is_placeholder`]), and Shannon entropy of at
/// least 3.0 bits for hex and 3.5 for other alphabets (3.0 below 16 characters, whose
/// entropy is capped by their length).
pub(crate) fn looks_random(v: &[u8]) -> bool {
    if !(8..=512).contains(&v.len()) {
        return false;
    }
    let present = classes(v);
    if present & NOT_TOKEN != 0 {
        return false;
    }
    let hex = present & (PAST_HEX | OTHER) == 0;
    if mixed_classes(present) < 2 && !(hex && v.len() >= 16) {
        return false;
    }
    random_past_classes(v, hex)
}

/// [`looks_random`] for a value whose length and classes passed (`hex`: whether it is all hex
/// digits): no placeholder word, no placeholder, and the entropy bar.
fn random_past_classes(v: &[u8], hex: bool) -> bool {
    let mut entropy = None;
    if has_placeholder_word(v) || placeholder(v, &mut entropy) {
        return false;
    }
    let bar = if hex || v.len() < 16 { 3.0 } else { 3.5 };
    entropy_at_least(v, &mut entropy, bar)
}

/// How far an [`entropy_estimate`] may be from [`shannon`] before the comparison with a bar
/// is left to [`shannon`] itself. Both stray from the true entropy by rounding alone: a few
/// thousand units in the last place of numbers below 64 (bits per byte of a text of any
/// length), under 1e-11; this margin is a hundred times that.
const ENTROPY_MARGIN: f64 = 1e-9;

/// Whether `shannon(v) >= bar`, decided by the estimate (kept in `estimate`, or taken from it
/// when there) unless the estimate lies within [`ENTROPY_MARGIN`] of the bar, where
/// [`shannon`] decides. The estimate costs one table load per distinct byte where
/// [`shannon`] costs a division and a logarithm, and bars are seldom that close.
pub(crate) fn entropy_at_least(v: &[u8], estimate: &mut Option<f64>, bar: f64) -> bool {
    let e = *estimate.get_or_insert_with(|| entropy_estimate(v));
    if (e - bar).abs() > ENTROPY_MARGIN {
        e >= bar
    } else {
        shannon(v) >= bar
    }
}

/// The counts of the bytes of `v`, and a bit per byte present.
fn byte_counts(v: &[u8]) -> ([u32; 256], [u64; 4]) {
    let mut counts = [0u32; 256];
    let mut seen = [0u64; 4];
    for b in v {
        counts[usize::from(*b)] += 1;
        seen[usize::from(*b >> 6)] |= 1 << (*b & 63);
    }
    (counts, seen)
}

/// The Shannon entropy of `v` as `log2(n) - sum(c * log2(c)) / n` over the counts `c` of its
/// `n` bytes, with `c * log2(c)` from a table for counts up to 256: the same quantity as
/// [`shannon`], without a logarithm per distinct byte, but rounded differently, hence only
/// an estimate (see [`entropy_at_least`]).
fn entropy_estimate(v: &[u8]) -> f64 {
    static C_LOG2_C: std::sync::OnceLock<[f64; 257]> = std::sync::OnceLock::new();
    if v.is_empty() {
        return 0.0;
    }
    let table = C_LOG2_C.get_or_init(|| {
        let mut t = [0.0; 257];
        for (c, slot) in (0u32..).zip(t.iter_mut()).skip(1) {
            let c = f64::from(c);
            *slot = c * c.log2();
        }
        t
    });
    let (counts, seen) = byte_counts(v);
    let mut sum = 0.0;
    for (w, mut bits) in seen.into_iter().enumerate() {
        while bits != 0 {
            let c = counts[w * 64 + bits.trailing_zeros() as usize];
            bits &= bits - 1;
            sum += table.get(c as usize).copied().unwrap_or_else(|| {
                let c = f64::from(c);
                c * c.log2()
            });
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "lengths far below 2^52")]
    let n = v.len() as f64;
    n.log2() - sum / n
}

/// Shannon entropy of `v` in bits per byte.
pub(crate) fn shannon(v: &[u8]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    // The bytes present, so the sum visits them (in byte order, as a walk of all 256 counts
    // would, giving the same result to the bit) without the absent ones.
    let (counts, seen) = byte_counts(v);
    #[allow(clippy::cast_precision_loss, reason = "lengths far below 2^52")]
    let n = v.len() as f64;
    // `-0.0`: where `Iterator::sum` of floats starts.
    let mut sum = -0.0;
    for (w, mut bits) in seen.into_iter().enumerate() {
        while bits != 0 {
            let p = f64::from(counts[w * 64 + bits.trailing_zeros() as usize]) / n;
            bits &= bits - 1;
            sum += -p * p.log2();
        }
    }
    sum
}

/// [`classes`]: an ASCII digit.
const DIGIT: u8 = 1;
/// [`classes`]: an ASCII lower-case letter.
const LOWER: u8 = 2;
/// [`classes`]: an ASCII upper-case letter.
const UPPER: u8 = 4;
/// [`classes`]: a letter past `f` or `F`, no hex digit.
const PAST_HEX: u8 = 8;
/// [`classes`]: a byte other than an ASCII letter or digit.
const OTHER: u8 = 16;
/// [`classes`]: a byte other than an ASCII letter or digit and `+/=_.~-` (a token's bytes).
const NOT_TOKEN: u8 = 32;

/// Per byte, its classes ([`DIGIT`], [`LOWER`], …).
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_lowercase() {
            LOWER | if c > b'f' { PAST_HEX } else { 0 }
        } else if c.is_ascii_uppercase() {
            UPPER | if c > b'F' { PAST_HEX } else { 0 }
        } else if matches!(c, b'+' | b'/' | b'=' | b'_' | b'.' | b'~' | b'-') {
            OTHER
        } else {
            OTHER | NOT_TOKEN
        };
        b += 1;
    }
    t
};

/// The classes of the bytes of `v`, together: one table load per byte, where a test per
/// class costs a pass or a branch each.
fn classes(v: &[u8]) -> u8 {
    v.iter()
        .fold(0, |present, b| present | CLASSES[usize::from(*b)])
}

/// How many of lower-case letters, upper-case letters and digits the [`classes`] `present`
/// hold.
fn mixed_classes(present: u8) -> u32 {
    (present & (LOWER | UPPER | DIGIT)).count_ones()
}

/// How many of lower-case letters, upper-case letters and digits `v` holds: a secret mixes
/// at least two.
pub(crate) fn mixed(v: &[u8]) -> u32 {
    mixed_classes(classes(v))
}

/// The size of the alphabet `v` appears to be drawn from: the character classes it uses
/// (digits 10, each case 26, or 6 for hex digits in that case, others 4).
pub(crate) fn alphabet(v: &[u8]) -> u32 {
    let present = classes(v);
    let has = |class: u8| present & class != 0;
    let (digit, lower, upper, other) = (has(DIGIT), has(LOWER), has(UPPER), has(OTHER));
    let hex_only = !has(PAST_HEX);
    let letters = match (lower, upper) {
        (false, false) => 0,
        (true, true) if hex_only && digit => 12,
        (true, true) => 52,
        _ if hex_only && digit => 6,
        _ => 26,
    };
    u32::from(digit) * 10 + letters + u32::from(other) * 4
}

/// Whether `v` (20 characters or more) has less entropy than a random string of its length
/// from its alphabet could plausibly have: below the smaller of log2(alphabet) and
/// log2(length), less 2 bits. Random strings stay well above (a 20-character base64url body
/// averages 4.0 bits against a 2.3 bar; `placeholders_never_catch_random_bodies` draws a
/// million and none falls below); `XXXXXXXXXXXXXXXXXXXX`, `aaaaaaaaaabbbbbbbbbb` fall below.
/// Shorter strings carry too little evidence either way. The estimate of the entropy of `v`
/// is taken from `entropy` when there, and kept there when worked out.
fn low_entropy(v: &[u8], entropy: &mut Option<f64>) -> bool {
    if v.len() < 20 {
        return false;
    }
    #[allow(clippy::cast_precision_loss, reason = "lengths far below 2^52")]
    let len = (v.len() as f64).log2();
    let bar = f64::from(alphabet(v)).log2().min(len) - 2.0;
    !entropy_at_least(v, entropy, bar)
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    proptest::proptest! {
        /// The table-driven word search finds exactly what a search of the lower-cased value
        /// for each word finds.
        #[test]
        fn placeholder_words_as_a_lowercase_search(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(PLACEHOLDER_WORDS).prop_map(|w| w.as_bytes().to_vec()),
                    proptest::sample::select(PLACEHOLDER_WORDS)
                        .prop_map(|w| w.to_ascii_uppercase().into_bytes()),
                    proptest::sample::select(PLACEHOLDER_WORDS)
                        .prop_map(|w| w.as_bytes()[..w.len() - 1].to_vec()),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
                    proptest::collection::vec(proptest::prop_oneof![b'a'..=b'z', b'A'..=b'Z', proptest::strategy::Just(b'_')], 0..6),
                ],
                0..8,
            )
        ) {
            let v = pieces.concat();
            let folded = v.to_ascii_lowercase();
            let previous = PLACEHOLDER_WORDS
                .iter()
                .any(|w| memchr::memmem::find(&folded, w.as_bytes()).is_some());
            proptest::prop_assert_eq!(has_placeholder_word(&v), previous);
        }

        /// The estimate decides every comparison as the exact sum does: for bars anywhere,
        /// and for bars at the exact entropy and a rounding step or two either side of it,
        /// where the estimate alone could err.
        #[test]
        fn entropy_comparisons_as_the_exact_sum(
            v in proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
                proptest::collection::vec(b'a'..=b'd', 0..400),
                proptest::collection::vec(proptest::sample::select(b"0123456789abcdefXYZ-_".to_vec()), 0..80),
            ],
            bar in -1.0f64..9.0,
            steps in -3i64..=3,
        ) {
            let exact = shannon(&v);
            let mut near = exact;
            for _ in 0..steps.unsigned_abs() {
                near = if steps > 0 { near.next_up() } else { near.next_down() };
            }
            for bar in [bar, exact, near, exact + 1e-12, exact - 1e-12] {
                proptest::prop_assert_eq!(
                    entropy_at_least(&v, &mut None, bar),
                    exact >= bar,
                    "bar {}", bar
                );
            }
            proptest::prop_assert!((entropy_estimate(&v) - exact).abs() < ENTROPY_MARGIN / 100.0);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The runs measured at every `t`-th position decide as the longest run does.
        #[test]
        fn runs_at_anchors_as_the_longest_run(
            pieces in proptest::collection::vec(
                (proptest::sample::select(b"aab0X".to_vec()), 1usize..14),
                0..12,
            ),
            t in 1usize..16,
        ) {
            let v: Vec<u8> = pieces.iter().flat_map(|(b, n)| std::iter::repeat_n(*b, *n)).collect();
            let mut run = 1usize;
            let mut longest = usize::from(!v.is_empty());
            for (i, b) in v.iter().enumerate() {
                if i > 0 && v[i - 1] == *b {
                    run += 1;
                    longest = longest.max(run);
                } else {
                    run = 1;
                }
            }
            proptest::prop_assert_eq!(has_run(&v, t), longest >= t);
            proptest::prop_assert_eq!(has_run(&v, 8.max(v.len() / 4)), longest >= 8.max(v.len() / 4));
        }
    }

    /// [`looks_random`] and [`alphabet`] as they were written with a test per class.
    fn looks_random_by_tests(v: &[u8]) -> bool {
        if !(8..=512).contains(&v.len())
            || !v.iter().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'+' | b'/' | b'=' | b'_' | b'.' | b'~' | b'-')
            })
        {
            return false;
        }
        let lower = v.iter().any(u8::is_ascii_lowercase);
        let upper = v.iter().any(u8::is_ascii_uppercase);
        let digit = v.iter().any(u8::is_ascii_digit);
        let hex = v.iter().all(u8::is_ascii_hexdigit);
        let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
        if classes < 2 && !(hex && v.len() >= 16) {
            return false;
        }
        random_past_classes(v, hex)
    }

    fn alphabet_by_tests(v: &[u8]) -> u32 {
        let (mut digit, mut lower, mut upper, mut hex_only, mut other) =
            (false, false, false, true, false);
        for b in v {
            match b {
                b'0'..=b'9' => digit = true,
                b'a'..=b'z' => {
                    lower = true;
                    hex_only &= *b <= b'f';
                }
                b'A'..=b'Z' => {
                    upper = true;
                    hex_only &= *b <= b'F';
                }
                _ => other = true,
            }
        }
        let letters = match (lower, upper) {
            (false, false) => 0,
            (true, true) if hex_only && digit => 12,
            (true, true) => 52,
            _ if hex_only && digit => 6,
            _ => 26,
        };
        u32::from(digit) * 10 + letters + u32::from(other) * 4
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// One table load per byte classifies as a test per class does.
        #[test]
        fn classes_by_table_as_by_tests(
            v in proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                proptest::collection::vec(
                    proptest::sample::select(b"0123456789abcdefgzABCDEFGZ+/=_.~-% \xc3".to_vec()),
                    0..40,
                ),
                proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), 0..40),
                proptest::collection::vec(proptest::sample::select(b"0123456789ABCDEF".to_vec()), 0..40),
                proptest::collection::vec(proptest::sample::select(b"0123456789ABCDEFabcdef".to_vec()), 0..40),
            ],
        ) {
            proptest::prop_assert_eq!(alphabet(&v), alphabet_by_tests(&v));
            proptest::prop_assert_eq!(looks_random(&v), looks_random_by_tests(&v));
        }
    }

    #[test]
    fn luhn_and_iin() {
        // Network test numbers published by the card schemes.
        for n in [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "2223003122003222",
        ] {
            assert!(luhn(n.as_bytes()) && card_iin(n.as_bytes()), "{n}");
        }
        assert!(!luhn(b"4111111111111112"));
        // Luhn-valid but no network issues it.
        assert!(luhn(b"1234567812345670") && !card_iin(b"1234567812345670"));
    }

    #[test]
    fn iban_mod97() {
        for good in [
            "GB82WEST12345698765432",
            "DE89370400440532013000",
            "FR1420041010050500013M02606",
        ] {
            assert!(iban(good.as_bytes()), "{good}");
        }
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"GB82"));
    }

    #[test]
    fn base62_padding() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn placeholders_and_entropy() {
        for p in [
            &b"XXXXXXXXXXXXXXXX"[..],
            b"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            b"0000000000000000000000000000000000000000",
            b"abcdabcdabcdabcdabcd",
            b"${GITLAB_TOKEN}",
            b"<your-token-here>",
            b"aaaaaaaaaaaaaaaaaaab",
            b"AAAAAAAA1111",
            b"abababababab",
            b"1111111122",
            b"aaaaaaabbbbbbbcccccc",
        ] {
            assert!(is_placeholder(p), "{}", String::from_utf8_lossy(p));
        }
        for real in [
            &b"IOSFODNN7EXAMPLE"[..],
            b"MKsvrBsD37GL4JayTZwk",
            b"5a4gDKbaEgXwZfQ1cSD652Ov",
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(!is_placeholder(real), "{}", String::from_utf8_lossy(real));
        }
        assert!(shannon(b"") == 0.0 && shannon(b"aaaa") == 0.0);
    }

    /// Random token bodies of the alphabets and lengths the detectors check are never taken
    /// for placeholders: a filter that did would leave real secrets in the clear.
    #[test]
    fn placeholders_never_catch_random_bodies() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabets: [&[u8]; 5] = [
            b"0123456789abcdef",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_",
            b"0123456789abcdefghijklmnopqrstuvwxyz",
        ];
        for alphabet in alphabets {
            for len in [16usize, 20, 24, 32, 40, 64] {
                for _ in 0..40_000 {
                    let body: Vec<u8> = (0..len)
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                        .collect();
                    assert!(!is_placeholder(&body), "{}", String::from_utf8_lossy(&body));
                }
            }
        }
        assert!((shannon(b"ab") - 1.0).abs() < 1e-9);
    }

    /// Long texts, with counts past the estimate's table and bytes of every value: the
    /// estimate stays within a hundredth of its margin of the exact sum.
    #[test]
    fn entropy_estimate_of_long_texts() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [257usize, 1000, 4096, 70_000] {
            for spread in [1u64, 2, 7, 64, 256] {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state % spread) as u8
                    })
                    .collect();
                let exact = shannon(&v);
                assert!((entropy_estimate(&v) - exact).abs() < ENTROPY_MARGIN / 100.0);
                assert!(entropy_at_least(&v, &mut None, exact));
                assert!(!entropy_at_least(&v, &mut None, exact.next_up()));
            }
        }
    }
}
