//! Text hygiene: Unicode normalization, removal of invisible and bidirectional control
//! characters (Trojan Source, CVE-2021-42574), and length limits counted in graphemes.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::ConfigError;

/// Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069). These reorder how text is displayed, so what a reviewer sees is not what a
/// compiler, a shell or a database reads.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that display as nothing and carry no meaning for most text: bidi controls and
/// marks (U+200E, U+200F, U+061C), zero-width space (U+200B), word joiner and invisible
/// operators (U+2060–U+2064), the byte order mark (U+FEFF), soft hyphen (U+00AD), the Mongolian
/// vowel separator (U+180E), Hangul fillers, interlinear annotation marks, deprecated format
/// characters (U+206A–U+206F) and tag characters (U+E0000–U+E007F, used to smuggle hidden
/// text). Zero-width joiner and non-joiner (U+200D, U+200C) and variation selectors are not in
/// this set: emoji and several scripts need them.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{00AD}'
                | '\u{180E}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// The Unicode normalization form applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalization {
    /// None.
    None,
    /// Canonical composition: the same text typed on two systems compares equal. The default.
    Nfc,
    /// Compatibility composition: also folds look-alikes (full-width letters, ligatures,
    /// superscripts). For identifiers (user names, slugs), not for prose.
    Nfkc,
}

/// Text refused by [`TextPolicy::check`] or [`TextPolicy::clean`]. Never contains the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// More bytes than [`TextPolicy::max_bytes`], refused before any other work.
    #[error("text is longer than {max} bytes")]
    TooManyBytes {
        /// The limit.
        max: usize,
    },
    /// More grapheme clusters than [`TextPolicy::max_graphemes`].
    #[error("text is longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Fewer grapheme clusters than [`TextPolicy::min_graphemes`].
    #[error("text is shorter than {min} characters")]
    TooShort {
        /// The limit.
        min: usize,
    },
    /// [`TextPolicy::check`] only: the text is not already clean (it has control, invisible or
    /// bidi characters, or is not normalized).
    #[error("text contains invisible, control or unnormalized characters")]
    NotClean,
}

impl TextError {
    /// A short stable name, for log fields and validation error codes.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::TooManyBytes { .. } => "too_many_bytes",
            Self::TooLong { .. } => "too_long",
            Self::TooShort { .. } => "too_short",
            Self::NotClean => "not_clean",
        }
    }
}

/// Rules for plain text from users (names, titles, comments).
///
/// ```
/// use palisade_sanitize::text::TextPolicy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = TextPolicy::new().max_graphemes(12)?;
/// // Trojan Source: a right-to-left override hides what follows.
/// assert_eq!(policy.clean("admin\u{202E}txt.exe")?, "admintxt.exe");
/// // "é" as e + combining accent is one grapheme, and NFC makes it one code point.
/// assert_eq!(policy.clean("Ame\u{301}lie")?, "Amélie");
/// assert!(policy.clean("👩‍👩‍👧‍👦 family x").is_ok()); // 10 graphemes, 16 code points
/// assert!(policy.clean("thirteen char").is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPolicy {
    normalization: Normalization,
    max_bytes: usize,
    max_graphemes: usize,
    min_graphemes: usize,
    newlines: bool,
    tabs: bool,
}

impl Default for TextPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl TextPolicy {
    /// NFC; newlines and tabs allowed; at most 10,000 graphemes and 64 KiB.
    pub fn new() -> Self {
        Self {
            normalization: Normalization::Nfc,
            max_bytes: 64 * 1024,
            max_graphemes: 10_000,
            min_graphemes: 0,
            newlines: true,
            tabs: true,
        }
    }

    /// A single line: no newlines or tabs, at most 200 graphemes and 4 KiB.
    pub fn single_line() -> Self {
        Self {
            max_bytes: 4096,
            max_graphemes: 200,
            newlines: false,
            tabs: false,
            ..Self::new()
        }
    }

    /// The normalization form.
    #[must_use]
    pub fn normalization(mut self, form: Normalization) -> Self {
        self.normalization = form;
        self
    }

    /// The most grapheme clusters (user-perceived characters) allowed.
    ///
    /// # Errors
    /// [`ConfigError::LimitOutOfRange`] for 0 or more than 16 Mi.
    pub fn max_graphemes(mut self, max: usize) -> Result<Self, ConfigError> {
        ConfigError::limit("max_graphemes", max as u64, 1, 16 << 20)?;
        self.max_graphemes = max;
        self.max_bytes = self.max_bytes.max(max.saturating_mul(4));
        Ok(self)
    }

    /// The fewest grapheme clusters required, after cleaning.
    #[must_use]
    pub fn min_graphemes(mut self, min: usize) -> Self {
        self.min_graphemes = min;
        self
    }

    /// The most bytes accepted before any work is done.
    ///
    /// # Errors
    /// [`ConfigError::LimitOutOfRange`] for 0 or more than 64 MiB.
    pub fn max_bytes(mut self, max: usize) -> Result<Self, ConfigError> {
        ConfigError::limit("max_bytes", max as u64, 1, 64 << 20)?;
        self.max_bytes = max;
        Ok(self)
    }

    /// Whether line breaks are kept (`\r\n` and `\r` become `\n`); otherwise they are removed.
    #[must_use]
    pub fn newlines(mut self, allow: bool) -> Self {
        self.newlines = allow;
        self
    }

    /// Whether tabs are kept.
    #[must_use]
    pub fn tabs(mut self, allow: bool) -> Self {
        self.tabs = allow;
        self
    }

    /// Cleans `input`: removes control, invisible and bidi characters (keeping newlines and
    /// tabs if allowed, and tag characters inside an emoji flag sequence), normalizes, then
    /// checks the length in graphemes.
    ///
    /// # Errors
    /// [`TextError::TooManyBytes`], [`TextError::TooLong`] or [`TextError::TooShort`].
    pub fn clean(&self, input: &str) -> Result<String, TextError> {
        if input.len() > self.max_bytes {
            return Err(TextError::TooManyBytes {
                max: self.max_bytes,
            });
        }
        let stripped = self.strip(input);
        let text = match self.normalization {
            Normalization::None => stripped,
            Normalization::Nfc => stripped.nfc().collect(),
            Normalization::Nfkc => {
                // NFKC can turn compatibility characters into controls; strip again.
                let folded: String = stripped.nfkc().collect();
                self.strip(&folded)
            }
        };
        let count = text.graphemes(true).take(self.max_graphemes + 1).count();
        if count > self.max_graphemes {
            return Err(TextError::TooLong {
                max: self.max_graphemes,
            });
        }
        if count < self.min_graphemes {
            return Err(TextError::TooShort {
                min: self.min_graphemes,
            });
        }
        Ok(text)
    }

    /// Checks that `input` is already clean: [`TextPolicy::clean`] would return it unchanged.
    ///
    /// # Errors
    /// [`TextError::NotClean`], or any error of [`TextPolicy::clean`].
    pub fn check(&self, input: &str) -> Result<(), TextError> {
        if self.clean(input)? == input {
            Ok(())
        } else {
            Err(TextError::NotClean)
        }
    }

    fn strip(&self, input: &str) -> String {
        let mut out = String::with_capacity(input.len());
        let mut chars = input.chars().peekable();
        let mut in_flag = false;
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if self.newlines {
                        out.push('\n');
                    }
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                }
                '\n' if self.newlines => out.push('\n'),
                '\t' if self.tabs => out.push('\t'),
                '\u{1F3F4}' => {
                    in_flag = true;
                    out.push(c);
                }
                // Tag characters spell the region of a subdivision flag after U+1F3F4.
                '\u{E0020}'..='\u{E007E}' if in_flag => out.push(c),
                '\u{E007F}' if in_flag => {
                    out.push(c);
                    in_flag = false;
                }
                c if c.is_control() || is_invisible(c) || is_noncharacter(c) => {
                    in_flag = false;
                }
                c => {
                    in_flag = false;
                    out.push(c);
                }
            }
        }
        out
    }
}

fn is_noncharacter(c: char) -> bool {
    let v = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&v) || v & 0xFFFE == 0xFFFE
}

/// Cleans `input` with the default [`TextPolicy`].
///
/// # Errors
/// As [`TextPolicy::clean`].
pub fn clean(input: &str) -> Result<String, TextError> {
    TextPolicy::new().clean(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_keeps() {
        let p = TextPolicy::new();
        assert_eq!(
            p.clean("a\u{200B}b\u{2066}c\u{FEFF}\u{0}d").unwrap(),
            "abcd"
        );
        assert_eq!(p.clean("l1\r\nl2\rl3\n").unwrap(), "l1\nl2\nl3\n");
        assert_eq!(p.clean("👨\u{200D}💻").unwrap(), "👨\u{200D}💻");
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert_eq!(p.clean(scotland).unwrap(), scotland);
        assert_eq!(p.clean("hi\u{E0068}\u{E0069}").unwrap(), "hi");
        let one = TextPolicy::single_line();
        assert_eq!(one.clean("a\nb\tc").unwrap(), "abc");
        let nfkc = TextPolicy::new().normalization(Normalization::Nfkc);
        assert_eq!(nfkc.clean("ｆｕｌｌ").unwrap(), "full");
    }

    #[test]
    fn limits() {
        let p = TextPolicy::new().max_graphemes(3).unwrap().min_graphemes(2);
        assert!(p.clean("e\u{301}e\u{301}e\u{301}").is_ok());
        assert_eq!(p.clean("abcd"), Err(TextError::TooLong { max: 3 }));
        assert_eq!(p.clean("a\u{200B}"), Err(TextError::TooShort { min: 2 }));
        let p = TextPolicy::new().max_bytes(4).unwrap();
        assert_eq!(p.clean("abcde"), Err(TextError::TooManyBytes { max: 4 }));
        assert_eq!(
            TextPolicy::new().check("a\u{202E}b"),
            Err(TextError::NotClean)
        );
        assert!(TextPolicy::new().check("fine").is_ok());
    }
}
