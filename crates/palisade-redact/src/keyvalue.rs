//! Rules by key name: the value of `password=…`, `"token": "…"`, `Authorization: …`.
//!
//! A key is split into words at `_`, `-`, `.` and lower-to-upper case changes, so
//! `dbPassword`, `DB_PASSWORD` and `db.password` are the same key. A key is sensitive when all
//! its words together, its last word, or its last two words together are a sensitive name:
//! `client_secret` and `x-api-key` are, `password_reset_requested` and `token_count` are not.
//! Keys are never matched as substrings of other words.

use core::ops::Range;

/// Sensitive names; matched in any separator and case style.
pub(crate) const DEFAULT_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "x_api_key",
    "access_key",
    "secret_key",
    "private_key",
    "client_secret",
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "credentials",
    "session_id",
    "aws_secret_access_key",
    "secret_access_key",
];

/// Words that make a key secret-named for the generic rule (`stripe_key`, `signing_key`,
/// `authToken`, `db_pass`): its value is redacted only when it looks random
/// ([`crate::checks::looks_random`]). Each contains an anchor of the default key names.
const GENERIC_WORDS: &[&str] = &[
    "key",
    "keys",
    "apikey",
    "secret",
    "secrets",
    "token",
    "tokens",
    "authtoken",
    "password",
    "passwords",
    "passwd",
    "pass",
    "passphrase",
    "pwd",
    "auth",
    "credential",
    "credentials",
];

/// Keys whose value runs to the end of the line in `Key: value` header form.
const HEADER_KEYS: &[&str] = &["authorization", "proxyauthorization", "cookie", "setcookie"];

/// The configured sensitive names.
#[derive(Debug, Clone)]
pub(crate) struct KeyRules {
    /// Canonical names by length (a few dozen short byte strings: comparing the few of a
    /// key's length is faster than hashing or a binary search on the hot path).
    by_len: Vec<Vec<Box<[u8]>>>,
    /// [`GENERIC_WORDS`] by length, likewise.
    generic_by_len: Vec<Vec<&'static [u8]>>,
}

/// The literal the anchor search looks for to find keys named `name`: the first four letters
/// of its last word (of its longest word when the last is shorter than three letters, as in
/// `session_id`). Every key matching the name contains that word, and four letters let
/// `password`, `passwd` and `passphrase` share `pass` and the `…_key` names share `key`,
/// keeping the anchor set small enough for the SIMD searcher.
pub(crate) fn anchor(name: &str) -> Option<String> {
    let words = words(name.as_bytes());
    let last = words.last()?;
    let word = if last.len() >= 3 {
        last
    } else {
        words.iter().max_by_key(|w| w.len())?
    };
    Some(word.chars().take(4).collect())
}

impl KeyRules {
    pub(crate) fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<Box<[u8]>> = names
            .into_iter()
            .map(|n| n.into_bytes().into_boxed_slice())
            .collect();
        names.sort();
        names.dedup();
        let mut by_len: Vec<Vec<Box<[u8]>>> = Vec::new();
        for name in names {
            if by_len.len() <= name.len() {
                by_len.resize(name.len() + 1, Vec::new());
            }
            by_len[name.len()].push(name);
        }
        let mut generic_by_len: Vec<Vec<&'static [u8]>> = Vec::new();
        for word in GENERIC_WORDS {
            if generic_by_len.len() <= word.len() {
                generic_by_len.resize(word.len() + 1, Vec::new());
            }
            generic_by_len[word.len()].push(word.as_bytes());
        }
        Self {
            by_len,
            generic_by_len,
        }
    }

    fn contains(&self, name: &[u8]) -> bool {
        self.by_len
            .get(name.len())
            // The first byte rejects most names of the length before a full comparison.
            .is_some_and(|names| names.iter().any(|n| same(n, name)))
    }

    /// Whether a key (as written) is sensitive. Only the names are compared: the generic
    /// rule's words, which cannot make a key sensitive, are not looked at.
    pub(crate) fn is_sensitive(&self, key: &[u8]) -> bool {
        self.class(key, false) == Some(false)
    }

    /// Whether a key is sensitive (`Some(false)`: its words joined, its last word or its
    /// last two words are a name), only secret-named for the generic rule (`Some(true)`: one
    /// of its words is a [`GENERIC_WORDS`] word), or neither. This runs for every
    /// `key=value` whose key holds an anchor, sensitive or not (`token_type=bearer`,
    /// `key_count=3`): the key is folded once, on the stack unless it is long.
    fn classify(&self, key: &[u8]) -> Option<bool> {
        self.class(key, true)
    }

    /// [`classify`](Self::classify); without `generic`, a key that is not sensitive is `None`
    /// whatever its words.
    fn class(&self, key: &[u8], generic: bool) -> Option<bool> {
        const STACK: usize = 64;
        let mut stack = [0u8; STACK];
        let mut heap = Vec::new();
        let buf: &mut [u8] = if key.len() <= STACK {
            &mut stack
        } else {
            heap.resize(key.len(), 0);
            &mut heap
        };
        let mut starts = [0usize; 16];
        let (n, count) = fold_words(key, buf, &mut starts);
        let buf = &buf[..n];
        if count == 0 {
            return None;
        }
        let from = |word: usize| &buf[starts[word.min(15)]..];
        // The last word and the last two are the whole key when it has one or two words.
        if self.contains(from(0))
            || (count >= 2 && self.contains(from(count - 1)))
            || (count >= 3 && self.contains(from(count - 2)))
        {
            return Some(false);
        }
        if !generic {
            return None;
        }
        let generic = if key.len() <= STACK && count < starts.len() {
            (0..count).any(|w| {
                let end = if w + 1 < count { starts[w + 1] } else { n };
                let word = &buf[starts[w]..end];
                self.generic_by_len
                    .get(word.len())
                    .is_some_and(|words| words.iter().any(|g| same(g, word)))
            })
        } else {
            words(key)
                .iter()
                .any(|w| GENERIC_WORDS.contains(&w.as_str()))
        };
        generic.then_some(true)
    }

    /// At an anchor inside a key, the value's range and whether only the generic rule took it
    /// (a secret-named key whose value looks random), if the key is sensitive or secret-named
    /// and followed by an operator and a value. Command-line flags take their value after a
    /// space too (`--password hunter2`, `-token abc`).
    ///
    /// Inlined: most anchors in prose ("token refreshed") and at the end of a short text end
    /// a key followed by a byte that starts no operator, and are left here without a call.
    #[inline]
    pub(crate) fn value_at(&self, text: &[u8], hit: Range<usize>) -> Option<(Range<usize>, bool)> {
        let ke = key_end(text, hit.end);
        if !may_precede_operator(text.get(ke).copied()) {
            return None;
        }
        self.value_after_key(text, hit.start, ke)
    }

    /// [`value_at`](Self::value_at); `early`: whether a key followed by a byte no operator
    /// may follow is left before its start is looked for (always, but in the test of that).
    #[cfg(test)]
    fn value_at_with(
        &self,
        text: &[u8],
        hit: Range<usize>,
        early: bool,
    ) -> Option<(Range<usize>, bool)> {
        if early {
            return self.value_at(text, hit);
        }
        self.value_after_key(text, hit.start, key_end(text, hit.end))
    }

    /// [`value_at`](Self::value_at) for the key that holds the anchor starting at `start` and
    /// ends at `ke`.
    #[inline(never)]
    fn value_after_key(
        &self,
        text: &[u8],
        start: usize,
        ke: usize,
    ) -> Option<(Range<usize>, bool)> {
        let mut ks = start;
        while ks > 0 && is_key_byte(text[ks - 1]) {
            ks -= 1;
        }
        let key = &text[ks..ke];
        // A key in quotes (`"token": …`, `'password' => …`) has its closing quote right
        // after it. A quote before the key without one after it opens a string the key sits
        // inside (`{"msg":"token=…"}`, `-H "apikey: …"`): the key is then read unquoted.
        let mut i = ke;
        let quoted_key = ks
            .checked_sub(1)
            .map(|at| text[at])
            .is_some_and(|q| matches!(q, b'"' | b'\'' | b'`') && text.get(ke) == Some(&q));
        if quoted_key {
            i += 1;
        }
        let spaces = crate::detect::run_len(text, i, |b| *b == b' ' || *b == b'\t', 64);
        let flag = ks > 0 && text[ks] == b'-' && text[ks - 1].is_ascii_whitespace();
        let op = match operator(text, i + spaces) {
            Some(op) => op,
            // `--password value`: a flag, a space, a value that is not another flag.
            None if flag
                && spaces > 0
                && !quoted_key
                && text
                    .get(i + spaces)
                    .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'-') =>
            {
                b""
            }
            None => return None,
        };
        i += spaces;
        // The name is looked up only once the syntax says this is a key: most anchors in
        // prose ("token refreshed") stop at the missing separator.
        let key = key
            .strip_prefix(b"--")
            .or_else(|| key.strip_prefix(b"-"))
            .unwrap_or(key);
        let generic = self.classify(key)?;
        let header = !quoted_key && op == b":" && is_header_key(key);
        i += op.len();
        i += crate::detect::run_len(text, i, |b| *b == b' ' || *b == b'\t', 64);
        let value = match (text.get(i), text.get(i + 1)) {
            (Some(&q @ (b'"' | b'\'' | b'`')), _) => quoted(text, i + 1, q),
            // C#'s verbatim strings and Python's string prefixes: `@"…"`, `r'…'`, `b"…"`.
            (
                Some(b'@' | b'r' | b'R' | b'b' | b'B' | b'f' | b'F' | b'u' | b'U'),
                Some(&q @ (b'"' | b'\'')),
            ) => quoted(text, i + 2, q),
            (Some(_), _) if header => header_value(text, ks, i),
            (Some(_), _) => unquoted(text, ks, i),
            (None, _) => return None,
        };
        let v = &text[value.clone()];
        (!v.is_empty()
            && !v.starts_with(crate::style::REDACTED_PREFIX)
            && !crate::checks::is_template(v)
            && (!generic || crate::checks::looks_random(v)))
        .then_some((value, generic))
    }
}

/// Where the key holding an anchor that ends at `end` ends: after its last key byte.
#[inline]
fn key_end(text: &[u8], end: usize) -> usize {
    let mut ke = end;
    while ke < text.len() && is_key_byte(text[ke]) {
        ke += 1;
    }
    ke
}

/// Whether the byte after a key (`None` at the end of the text) may be followed by its
/// operator: the quote closing a quoted key, a space or tab before the operator (or a
/// flag's value), or the operator's first byte. After any other byte,
/// [`KeyRules::value_at`] finds no operator and no flag's value.
fn may_precede_operator(after: Option<u8>) -> bool {
    matches!(
        after,
        Some(b'"' | b'\'' | b'`' | b' ' | b'\t' | b':' | b'=' | b'<')
    )
}

/// The assignment operator at `i`: `=`, `:`, Go's `:=`, `=>` (Ruby, PHP, Perl), R's `<-`.
fn operator(text: &[u8], i: usize) -> Option<&'static [u8]> {
    match (text.get(i)?, text.get(i + 1)) {
        (b':', Some(b'=')) => Some(b":="),
        (b'=', Some(b'>')) => Some(b"=>"),
        (b'<', Some(b'-')) => Some(b"<-"),
        (b'=', _) => Some(b"="),
        (b':', _) => Some(b":"),
        _ => None,
    }
}

/// An unquoted value from `i`: up to white space, a quote, `;`, `&`, `<`, `>`, a comma that
/// ends a list item, or a closing bracket that closes one opened before the key. Brackets
/// opened inside the value, and closing ones nothing before the key opened, belong to the
/// value (`p{a}s)s` is one password).
fn unquoted(text: &[u8], key_start: usize, i: usize) -> Range<usize> {
    // Counted only when a closing bracket needs it: most values have none.
    let open_before = || {
        let line_start = memchr::memrchr(b'\n', &text[..key_start]).map_or(0, |n| n + 1);
        let mut open = 0usize;
        for &b in &text[line_start..key_start] {
            match b {
                b'{' | b'[' | b'(' => open += 1,
                b'}' | b']' | b')' => open = open.saturating_sub(1),
                _ => {}
            }
        }
        open
    };
    let mut depth = 0usize;
    let mut end = i;
    while let Some(&b) = text.get(end) {
        match b {
            b if b.is_ascii_whitespace() => break,
            b'"' | b'\'' | b'`' | b';' | b'&' | b'<' | b'>' => break,
            b',' if list_comma(text, end) => break,
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' if depth > 0 => depth -= 1,
            b'}' | b']' | b')' if open_before() > 0 => break,
            _ => {}
        }
        end += 1;
    }
    i..end
}

/// Whether the comma at `at` separates items (`token=a, b=1`, `token=a,user=b`) rather than
/// sitting inside a value: followed by white space, the end, a quote, or another `key=`.
fn list_comma(text: &[u8], at: usize) -> bool {
    let rest = &text[at + 1..];
    let Some(&next) = rest.first() else {
        return true;
    };
    if next.is_ascii_whitespace() || matches!(next, b'"' | b'\'' | b'{' | b'[') {
        return true;
    }
    let key = rest.iter().take_while(|b| is_key_byte(**b)).count();
    key > 0 && matches!(rest.get(key), Some(b'=' | b':'))
}

/// The value of a header-style key (`Authorization: …`, `Cookie: …`) starting at `i`.
///
/// It runs to the end of the line, because header values hold spaces (`a=1; b=2`,
/// `Digest username="x", response="…"`), with two exceptions that keep the rest of a log
/// line intact: a single-token scheme (`Bearer`, `Basic`, `Token`, `Bot`) ends after its token,
/// and when the key sits inside a double-quoted string (a JSON log field) the value ends at
/// that string's closing quote.
fn header_value(text: &[u8], key_start: usize, i: usize) -> Range<usize> {
    let line_start = memchr::memrchr(b'\n', &text[..key_start]).map_or(0, |n| n + 1);
    let mut end = memchr::memchr(b'\n', &text[i..]).map_or(text.len(), |n| i + n);
    if end > i && text[end - 1] == b'\r' {
        end -= 1;
    }
    if inside_quotes(&text[line_start..key_start]) {
        end = end.min(quoted(text, i, b'"').end);
    }
    for scheme in [&b"bearer"[..], b"basic", b"token", b"bot"] {
        let n = scheme.len();
        if text.len() > i + n
            && text[i..i + n].eq_ignore_ascii_case(scheme)
            && (text[i + n] == b' ' || text[i + n] == b'\t')
        {
            let token =
                i + n + crate::detect::run_len(text, i + n, |b| *b == b' ' || *b == b'\t', 16);
            let len = crate::detect::run_len(
                text,
                token,
                |b| !b.is_ascii_whitespace() && *b != b'"',
                usize::MAX,
            );
            if len > 0 {
                // `Bearer <token>`, `Token XXXXXXXX`: a placeholder credential is no value.
                if crate::checks::is_placeholder(&text[token..token + len]) {
                    return i..i;
                }
                return i..(token + len).min(end);
            }
        }
    }
    i..end
}

/// Whether `prefix` (a line up to some position) leaves that position inside a double-quoted
/// string: an odd number of unescaped `"` before it.
fn inside_quotes(prefix: &[u8]) -> bool {
    let mut inside = false;
    let mut escaped = false;
    for &b in prefix {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => inside = !inside,
            _ => {}
        }
    }
    inside
}

/// A quoted value from `start` to its unescaped closing quote (or the end of the line).
fn quoted(text: &[u8], start: usize, q: u8) -> Range<usize> {
    let mut i = start;
    while i < text.len() {
        match text[i] {
            // An escape never carries a value onto the next line: values end at line ends,
            // so streaming line by line sees the same values as the whole text.
            b'\\' if text.get(i + 1) == Some(&b'\n') => {
                i += 1;
                break;
            }
            b'\\' => i += 2,
            b'\n' => break,
            b if b == q => break,
            _ => i += 1,
        }
    }
    start..i.min(text.len())
}

/// Whether two short byte strings (names, words of a key) are equal: the first byte, then a
/// byte loop, where a slice comparison calls `memcmp` for a few bytes.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether `b` may be part of a key: a letter, a digit, `_`, `-` or `.`. One table load: the
/// key walks around every anchor hit and keyword operator test it for each byte of the key.
pub(crate) fn is_key_byte(b: u8) -> bool {
    KEY_BYTES[usize::from(b)]
}

/// [`is_key_byte`] per byte.
const KEY_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "b < 256")]
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        b += 1;
    }
    t
};

/// Writes the key's words lower-cased and joined into `out`, recording where each word starts
/// (the first 16); returns (bytes written, words).
fn fold_words(key: &[u8], out: &mut [u8], starts: &mut [usize; 16]) -> (usize, usize) {
    let (mut n, mut count) = (0, 0);
    // 0: between words; 1: in a word, after a byte other than a lower-case letter or digit;
    // 2: in a word, after a lower-case letter or digit.
    let mut state = 0u8;
    for &b in key {
        // The class and the lower-case byte, one load.
        let [class, lower] = FOLD[usize::from(b)].to_le_bytes();
        if class == SEPARATOR {
            state = 0;
            continue;
        }
        if state == 0 || (class == CAPITAL && state == 2) {
            // Past 16 words, later words fold into the 16th; such keys are not names.
            starts[count.min(starts.len() - 1)] = n;
            count += 1;
        }
        state = if class == LOWER_OR_DIGIT { 2 } else { 1 };
        out[n] = lower;
        n += 1;
    }
    (n, count.min(starts.len()))
}

/// [`WORD_CLASS`] of `_`, `-` and `.`.
const SEPARATOR: u8 = 0;
/// [`WORD_CLASS`] of an upper-case letter.
const CAPITAL: u8 = 2;
/// [`WORD_CLASS`] of a lower-case letter or a digit.
const LOWER_OR_DIGIT: u8 = 3;

/// Per byte, how [`fold_words`] splits at it: [`SEPARATOR`], [`CAPITAL`],
/// [`LOWER_OR_DIGIT`], or 1 for any other byte.
const WORD_CLASS: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "b < 256")]
        let c = b as u8;
        t[b] = if c == b'_' || c == b'-' || c == b'.' {
            SEPARATOR
        } else if c.is_ascii_uppercase() {
            CAPITAL
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            LOWER_OR_DIGIT
        } else {
            1
        };
        b += 1;
    }
    t
};

/// Per byte, its [`WORD_CLASS`] in the low byte and the byte lower-cased in the high one.
static FOLD: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "b < 256")]
        let c = b as u8;
        t[b] = (c.to_ascii_lowercase() as u16) << 8 | WORD_CLASS[b] as u16;
        b += 1;
    }
    t
};

/// Whether `key`'s words joined (`words(key).concat()`: its bytes lower-cased, without its
/// separators) are one of [`HEADER_KEYS`], compared as they are folded: no string is built
/// for every `key:` of a text.
fn is_header_key(key: &[u8]) -> bool {
    let folded = key
        .iter()
        .filter(|b| !matches!(b, b'_' | b'-' | b'.'))
        .map(u8::to_ascii_lowercase);
    // A byte past ASCII folds to two bytes in the joined words and matches no header here,
    // as it matches none there.
    HEADER_KEYS.iter().any(|h| folded.clone().eq(h.bytes()))
}

/// Lower-case words of a key, split at separators and lower-to-upper case changes.
pub(crate) fn words(key: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for &b in key {
        if b == b'_' || b == b'-' || b == b'.' {
            if !word.is_empty() {
                out.push(core::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if b.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            out.push(core::mem::take(&mut word));
        }
        prev_lower = b.is_ascii_lowercase() || b.is_ascii_digit();
        word.push(char::from(b.to_ascii_lowercase()));
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A configured name in its canonical joined form.
pub(crate) fn canonical(name: &str) -> String {
    words(name.as_bytes()).concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn rules() -> KeyRules {
        KeyRules::new(DEFAULT_KEYS.iter().map(|s| canonical(s)))
    }

    proptest::proptest! {
        /// The table-driven fold splits a key into the words [`words`] gives.
        #[test]
        fn fold_words_agrees_with_words(
            key in proptest::collection::vec(
                proptest::prop_oneof![
                    b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9',
                    proptest::sample::select(vec![b'_', b'-', b'.', b' ', b'@']),
                ],
                0..64,
            )
        ) {
            let mut out = [0u8; 64];
            let mut starts = [0usize; 16];
            let (n, count) = fold_words(&key, &mut out, &mut starts);
            let words = words(&key);
            let joined = words.concat();
            proptest::prop_assert_eq!(&out[..n], joined.as_bytes());
            proptest::prop_assert_eq!(count, words.len().min(16));
            let mut at = 0;
            for (i, w) in words.iter().enumerate().take(15) {
                proptest::prop_assert_eq!(starts[i], at);
                at += w.len();
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A key followed by a byte no operator may follow is left early: at every anchor of
        /// texts made of key names, operators, quotes, flags, white space and other bytes,
        /// the value is what the full reading gives.
        #[test]
        fn a_key_left_early_has_no_value(
            tokens in proptest::collection::vec(
                proptest::prop_oneof![
                    3 => proptest::sample::select(vec![
                        &b"password"[..], b"api_key", b"authToken", b"secret", b"db_pass",
                        b"--password", b"-token", b"x-api-key", b"token_count",
                    ]).prop_map(<[u8]>::to_vec),
                    3 => proptest::sample::select(vec![
                        &b"="[..], b":", b":=", b"=>", b"<-", b" ", b"\t", b"\"", b"'", b"`",
                        b"\n", b",", b";", b"/", b".", b"-",
                    ]).prop_map(<[u8]>::to_vec),
                    2 => proptest::sample::select(vec![
                        &b"hunter2"[..], b"Zx9Qk2Lm8Pw4Rt6Y", b"bearer", b"${SECRET}", b"3",
                    ]).prop_map(<[u8]>::to_vec),
                    1 => proptest::num::u8::ANY.prop_map(|b| vec![b]),
                ],
                0..12,
            )
        ) {
            let text = tokens.concat();
            let rules = KeyRules::new(DEFAULT_KEYS.iter().map(|s| canonical(s)));
            for anchor in ["pass", "toke", "key", "secr", "Toke"] {
                let mut from = 0;
                while let Some(i) = text[from..]
                    .windows(anchor.len())
                    .position(|w| w == anchor.as_bytes())
                {
                    let hit = from + i..from + i + anchor.len();
                    proptest::prop_assert_eq!(
                        rules.value_at_with(&text, hit.clone(), true),
                        rules.value_at_with(&text, hit.clone(), false)
                    );
                    from = hit.start + 1;
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// A key of up to 16 words is a name exactly when its words joined, its last word or
        /// its last two words are one: what [`words`] gives, compared as strings.
        #[test]
        fn sensitivity_agrees_with_the_words(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    2 => proptest::sample::select(vec![
                        "password", "Password", "pwd", "token", "api", "Key", "key", "secret",
                        "access", "db", "x", "id", "Session", "auth", "cookie", "set", "aws",
                    ]).prop_map(String::from),
                    1 => proptest::sample::select(vec!["_", "-", ".", ""]).prop_map(String::from),
                ],
                0..8,
            )
        ) {
            let key = parts.concat();
            let r = rules();
            let words = words(key.as_bytes());
            let name = |w: &[String]| r.contains(w.concat().as_bytes());
            let expected = !words.is_empty()
                && (name(&words)
                    || name(&words[words.len() - 1..])
                    || (words.len() >= 2 && name(&words[words.len() - 2..])));
            proptest::prop_assert_eq!(r.is_sensitive(key.as_bytes()), expected);
        }
    }

    proptest::proptest! {
        /// The folded comparison with the header names gives what comparing the joined
        /// words gives.
        #[test]
        fn header_keys_as_the_joined_words(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    2 => proptest::sample::select(vec![
                        "authorization", "Authorization", "AUTHORIZATION", "proxy", "Proxy",
                        "auth", "cookie", "Cookie", "set", "Set", "SET", "x", "orization",
                    ]).prop_map(|s: &str| s.as_bytes().to_vec()),
                    1 => proptest::sample::select(vec!["_", "-", ".", ""])
                        .prop_map(|s: &str| s.as_bytes().to_vec()),
                    1 => proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
                ],
                0..6,
            )
        ) {
            let key = parts.concat();
            proptest::prop_assert_eq!(
                is_header_key(&key),
                HEADER_KEYS.contains(&words(&key).concat().as_str())
            );
        }
    }

    #[test]
    fn keys_match_by_words_not_substrings() {
        let r = rules();
        for key in [
            "password",
            "PASSWORD",
            "db_password",
            "dbPassword",
            "client_secret",
            "x-api-key",
            "apiKey",
            "API_KEY",
            "access_token",
            "Set-Cookie",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(r.is_sensitive(key.as_bytes()), "{key}");
        }
        for key in [
            "password_reset_requested",
            "passwords_count",
            "token_type",
            "tokens",
            "secretary",
            "keyboard",
            "primary_key",
            "cache_key",
            "mypassword",
            "passwordless",
        ] {
            assert!(!r.is_sensitive(key.as_bytes()), "{key}");
        }
    }

    #[test]
    fn sensitivity_skips_the_generic_words_but_agrees_with_classify() {
        let r = rules();
        for key in [
            "stripe_key",
            "authToken",
            "db_pass",
            "signing_key",
            "password",
            "token_count",
            "method",
            "attempt",
            "X-Api-Key",
            "session_id",
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q",
        ] {
            let key = key.as_bytes();
            assert_eq!(r.is_sensitive(key), r.classify(key) == Some(false));
        }
        assert_eq!(r.classify(b"stripe_key"), Some(true));
        assert!(!r.is_sensitive(b"stripe_key"));
    }

    #[test]
    fn values_in_every_syntax() {
        let r = rules();
        let cases: &[(&str, &str)] = &[
            ("password=hunter2 next", "hunter2"),
            ("password = 'hunter 2'", "hunter 2"),
            (r#"{"password":"hun\"ter2","x":1}"#, r#"hun\"ter2"#),
            ("token: abc123, user=1", "abc123"),
            ("Authorization: Bearer abc.def\r\nHost: x", "Bearer abc.def"),
            ("Cookie: a=1; b=2\n", "a=1; b=2"),
            ("url?access_token=xyz&page=2", "xyz"),
        ];
        for (text, value) in cases {
            let t = text.as_bytes();
            let hit = (0..t.len())
                .find_map(|i| {
                    ["password", "token", "authorization", "cookie"]
                        .iter()
                        .find_map(|a| {
                            t[i..]
                                .to_ascii_lowercase()
                                .starts_with(a.as_bytes())
                                .then_some(i..i + a.len())
                        })
                })
                .unwrap();
            let (range, _) = r.value_at(t, hit).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(&text[range], *value, "{text}");
        }
        assert!(r.value_at(b"password reset requested", 0..8).is_none());
        assert!(r.value_at(b"password=[REDACTED]", 0..8).is_none());
    }
}
