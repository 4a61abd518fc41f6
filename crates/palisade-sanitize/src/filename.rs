//! Portable file names, and joining a user's relative path onto a base directory.

use std::path::{Component, Path, PathBuf};

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::{ConfigError, text::is_invisible};

/// A name refused by [`sanitize_file_name`]. Never contains the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileNameError {
    /// Nothing usable was left (the name was empty, only dots, separators or control
    /// characters).
    #[error("file name is empty after sanitization")]
    Empty,
    /// The input is longer than 64 KiB; refused before any work.
    #[error("file name input is longer than 65536 bytes")]
    TooLong,
}

/// A relative path refused by [`safe_join`]. Never contains the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Absolute: starts with `/` or `\`, has a drive (`C:`) or is a UNC path (`\\server`).
    #[error("path is absolute")]
    Absolute,
    /// Has a `..` component.
    #[error("path contains a parent-directory component")]
    ParentComponent,
    /// A component has a NUL, a control or bidi character, or `:` (a Windows drive or
    /// alternate data stream).
    #[error("path component contains a forbidden character")]
    ForbiddenCharacter,
    /// A component is a Windows device name (`CON`, `NUL`, `COM1`, ...).
    #[error("path component is a reserved device name")]
    ReservedName,
    /// A component ends with a dot or a space, which Windows strips.
    #[error("path component ends with a dot or a space")]
    TrailingDotOrSpace,
    /// No components left.
    #[error("path is empty")]
    Empty,
    /// Longer than 4096 bytes or 64 components.
    #[error("path is too long")]
    TooLong,
}

impl PathError {
    /// A short stable name, for log fields and validation error codes.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Absolute => "absolute",
            Self::ParentComponent => "parent_component",
            Self::ForbiddenCharacter => "forbidden_character",
            Self::ReservedName => "reserved_name",
            Self::TrailingDotOrSpace => "trailing_dot_or_space",
            Self::Empty => "empty",
            Self::TooLong => "too_long",
        }
    }
}

/// Options for [`FileNameOptions::sanitize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNameOptions {
    max_bytes: usize,
    replacement: char,
    allow_hidden: bool,
}

impl Default for FileNameOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl FileNameOptions {
    /// 255 bytes (the limit of ext4, APFS, NTFS in UTF-16 units is larger), `_` as the
    /// replacement, no leading dots.
    pub fn new() -> Self {
        Self {
            max_bytes: 255,
            replacement: '_',
            allow_hidden: false,
        }
    }

    /// The most bytes of UTF-8 in the result.
    ///
    /// # Errors
    /// [`ConfigError::LimitOutOfRange`] outside 16..=4096.
    pub fn max_bytes(mut self, max: usize) -> Result<Self, ConfigError> {
        ConfigError::limit("max_bytes", max as u64, 16, 4096)?;
        self.max_bytes = max;
        Ok(self)
    }

    /// The character that replaces separators and characters Windows forbids.
    ///
    /// # Errors
    /// [`ConfigError::InvalidName`] if the replacement would itself be replaced.
    pub fn replacement(mut self, c: char) -> Result<Self, ConfigError> {
        if is_forbidden(c) || c == '.' || c == ' ' {
            return Err(ConfigError::InvalidName {
                what: "replacement character",
                name: c.to_string(),
                expected: "a character allowed in file names, not '.' or ' '",
            });
        }
        self.replacement = c;
        Ok(self)
    }

    /// Keeps a leading dot (`.htaccess`, `.env`). Default false: such files are hidden and
    /// some are configuration for the server that stores them.
    #[must_use]
    pub fn allow_hidden(mut self, allow: bool) -> Self {
        self.allow_hidden = allow;
        self
    }

    /// Makes a portable file name from `name`:
    ///
    /// - removes control, invisible and bidi characters (a right-to-left override turns
    ///   `evil\u{202E}gnp.exe` into what displays as `evilexe.png`);
    /// - replaces every OS's path separators (`/`, `\`, `:`), look-alike slashes
    ///   (U+2215, U+2044, U+FF0F, U+29F8) and the characters Windows forbids (`<>"|?*`);
    /// - removes leading dots (unless allowed) and spaces, and trailing dots and spaces,
    ///   which Windows strips, so `..` and `.` become empty;
    /// - NFC-normalizes what is left;
    /// - prefixes a Windows device name (`CON`, `nul.txt`, `COM¹`) with the replacement;
    /// - cuts the result to the byte limit on a grapheme boundary, keeping the extension
    ///   when it is short.
    ///
    /// # Errors
    /// [`FileNameError::Empty`] when nothing is left, [`FileNameError::TooLong`] for input
    /// over 64 KiB.
    pub fn sanitize(&self, name: &str) -> Result<String, FileNameError> {
        if name.len() > 65_536 {
            return Err(FileNameError::TooLong);
        }
        // Filter first, then normalize: removing an invisible character can bring a letter and
        // a combining mark together, and they must compose now, not on the next call.
        let mut filtered = String::with_capacity(name.len());
        for c in name.chars() {
            if c.is_control() || is_invisible(c) {
                continue;
            }
            if is_forbidden(c) {
                filtered.push(self.replacement);
            } else {
                filtered.push(c);
            }
        }
        let out: String = filtered.nfc().collect();
        let mut trimmed = out.trim_end_matches(['.', ' ']);
        trimmed = trimmed.trim_start_matches(' ');
        if !self.allow_hidden {
            trimmed = trimmed.trim_start_matches(['.', ' ']);
        }
        if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
            return Err(FileNameError::Empty);
        }
        let mut result = if is_reserved_windows_name(trimmed) {
            format!("{}{trimmed}", self.replacement)
        } else {
            trimmed.to_owned()
        };
        if result.len() > self.max_bytes {
            result = truncate_keeping_extension(&result, self.max_bytes);
            result = result.trim_end_matches(['.', ' ']).to_owned();
            if result.is_empty() {
                return Err(FileNameError::Empty);
            }
        }
        Ok(result)
    }
}

/// [`FileNameOptions::sanitize`] with the default options.
///
/// ```
/// use palisade_sanitize::sanitize_file_name;
/// assert_eq!(sanitize_file_name("../../etc/passwd").unwrap(), "_.._etc_passwd");
/// assert_eq!(sanitize_file_name("CON.txt").unwrap(), "_CON.txt");
/// assert_eq!(sanitize_file_name("report\u{202E}fdp.exe").unwrap(), "reportfdp.exe");
/// assert!(sanitize_file_name("..").is_err());
/// ```
///
/// # Errors
/// As [`FileNameOptions::sanitize`].
pub fn sanitize_file_name(name: &str) -> Result<String, FileNameError> {
    FileNameOptions::new().sanitize(name)
}

fn is_forbidden(c: char) -> bool {
    matches!(
        c,
        '/' | '\\'
            | ':'
            | '<'
            | '>'
            | '"'
            | '|'
            | '?'
            | '*'
            | '\u{2215}'
            | '\u{2044}'
            | '\u{FF0F}'
            | '\u{29F8}'
            | '\u{FF3C}'
            | '\u{2216}'
    ) || c.is_control()
}

/// Windows device names, matched on the part before the first dot, ignoring case and trailing
/// spaces; the digit may be a superscript, which Windows also reserves.
fn is_reserved_windows_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && rest.len() == 1
        && matches!(rest[0], '0'..='9' | '¹' | '²' | '³')
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => name.split_at(dot),
        _ => (name, ""),
    };
    let budget = max.saturating_sub(ext.len());
    let mut out = String::with_capacity(max);
    for g in stem.graphemes(true) {
        if out.len() + g.len() > budget {
            break;
        }
        out.push_str(g);
    }
    if out.is_empty() {
        // Extension alone is too long, or the first grapheme is: cut on char boundaries.
        for c in name.chars() {
            if out.len() + c.len_utf8() > max {
                break;
            }
            out.push(c);
        }
        return out;
    }
    out.push_str(ext);
    out
}

/// Joins a user-supplied relative path onto `base`, refusing anything that could leave it.
///
/// The path is split on both `/` and `\`, whatever the platform, so a Windows-style path cannot
/// slip through on Unix or the reverse. Empty and `.` components are skipped. Refused: absolute
/// paths, drive letters and UNC prefixes, any `..` component (even one that would stay inside),
/// control, bidi and invisible characters, `:`, Windows device names and components ending in a
/// dot or space. The result is checked component by component to lie under `base`.
///
/// The check is lexical: it does not follow symbolic links. If an attacker can create links
/// under `base`, open the result with `O_NOFOLLOW`-style APIs or canonicalize and check again.
///
/// ```
/// use std::path::Path;
/// use palisade_sanitize::safe_join;
///
/// let base = Path::new("/srv/uploads");
/// assert_eq!(safe_join(base, "alice/cat.png").unwrap(), Path::new("/srv/uploads/alice/cat.png"));
/// assert!(safe_join(base, "../etc/passwd").is_err());
/// assert!(safe_join(base, "..\\..\\windows\\win.ini").is_err());
/// assert!(safe_join(base, "/etc/passwd").is_err());
/// ```
///
/// # Errors
/// The [`PathError`] for the first problem found.
pub fn safe_join(base: &Path, user_path: &str) -> Result<PathBuf, PathError> {
    if user_path.len() > 4096 {
        return Err(PathError::TooLong);
    }
    if user_path.starts_with(['/', '\\']) {
        return Err(PathError::Absolute);
    }
    let bytes = user_path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(PathError::Absolute);
    }
    let mut joined = base.to_path_buf();
    let mut added = 0usize;
    for part in user_path.split(['/', '\\']) {
        if part.is_empty() || part == "." {
            continue;
        }
        if part == ".." {
            return Err(PathError::ParentComponent);
        }
        if part
            .chars()
            .any(|c| c.is_control() || is_invisible(c) || c == ':')
        {
            return Err(PathError::ForbiddenCharacter);
        }
        if part.ends_with(['.', ' ']) {
            return Err(PathError::TrailingDotOrSpace);
        }
        if is_reserved_windows_name(part) {
            return Err(PathError::ReservedName);
        }
        // After the checks above a part is a single normal component on every platform.
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(_)), None) => {}
            _ => return Err(PathError::ForbiddenCharacter),
        }
        joined.push(part);
        added += 1;
        if added > 64 {
            return Err(PathError::TooLong);
        }
    }
    if added == 0 {
        return Err(PathError::Empty);
    }
    // Belt and braces: the result must extend base by normal components only.
    let rest = joined.strip_prefix(base).map_err(|_| PathError::Absolute)?;
    if rest.components().all(|c| matches!(c, Component::Normal(_)))
        && rest.components().count() == added
    {
        Ok(joined)
    } else {
        Err(PathError::ParentComponent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let s = |n: &str| sanitize_file_name(n);
        assert_eq!(s("a/b\\c:d").unwrap(), "a_b_c_d");
        assert_eq!(s("  .hidden ").unwrap(), "hidden");
        assert_eq!(s("x∕y").unwrap(), "x_y");
        assert_eq!(s("lpt¹.log").unwrap(), "_lpt¹.log");
        assert_eq!(s("com10").unwrap(), "com10");
        assert_eq!(s("name. . .").unwrap(), "name");
        assert_eq!(s("\u{0}\u{7}"), Err(FileNameError::Empty));
        let hidden = FileNameOptions::new().allow_hidden(true);
        assert_eq!(hidden.sanitize(".env").unwrap(), ".env");
        assert_eq!(hidden.sanitize(".."), Err(FileNameError::Empty));
    }

    #[test]
    fn truncation_keeps_extension_and_graphemes() {
        let opts = FileNameOptions::new().max_bytes(16).unwrap();
        let out = opts.sanitize(&format!("{}.jpeg", "é".repeat(20))).unwrap();
        assert_eq!(out, "ééééé.jpeg");
        let out = opts.sanitize(&"👩‍👩‍👧".repeat(3)).unwrap();
        // One grapheme is 18 bytes: cut on a char boundary rather than return nothing.
        assert!(!out.is_empty() && out.len() <= 16, "{out}");
    }
}
