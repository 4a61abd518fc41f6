//! The limits and character sets the request validators apply, in one place: the handlers use
//! them, and `tests/openapi.rs` checks that `openapi.yaml` declares exactly these, so the
//! contract cannot drift from the code again.
//!
//! Every length is counted in Unicode scalar values (what JSON Schema's `maxLength` counts) of
//! the value as sent, before any trimming or normalization. The patterns are written for both
//! ECMA-262 (JSON Schema) and Rust, over the same explicit character ranges.
//!
//! ```
//! use secure_api::limits::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PHONE_PATTERN};
//!
//! // What a client can check before sending, and what `openapi.yaml` declares.
//! assert_eq!((PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS), (15, 256));
//! assert_eq!(PHONE_PATTERN, r"^[0-9 +\-().]*$");
//! ```

/// Fewest characters in a new password (counted after NFKC normalization, as
/// palisade-password's policy counts; NIST SP 800-63B-4 for a single factor).
pub const PASSWORD_MIN_CHARS: usize = 15;
/// Most characters in a new password (after NFKC normalization).
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Most characters in an email address.
pub const EMAIL_MAX_CHARS: usize = 254;
/// An email address: a local part, `@`, and a domain that holds a dot and does not start with
/// one; no whitespace, control character or second `@` anywhere.
pub const EMAIL_PATTERN: &str = r"^[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@.\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// Most characters in a display name.
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// A display name: no control, invisible, bidirectional-formatting or noncharacter code point
/// (palisade-sanitize's single-line text policy) in the basic multilingual plane; tag
/// characters (U+E0000 to U+E007F) and the noncharacters above it are refused too, which an
/// ECMA-262 pattern without the `u` flag cannot spell.
pub const DISPLAY_NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f\xad\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufdd0-\ufdef\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff]*$";

/// Most characters in a phone number.
pub const PHONE_MAX_CHARS: usize = 32;
/// A phone number: digits, spaces and `+ - ( ) .` only (empty clears it).
pub const PHONE_PATTERN: &str = r"^[0-9 +\-().]*$";

/// Most characters in a postal address.
pub const ADDRESS_MAX_CHARS: usize = 500;
/// A postal address: any text but control characters, line feeds allowed (empty clears it).
pub const ADDRESS_PATTERN: &str = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$";

/// Most characters in a bio, before it is sanitized.
pub const BIO_MAX_CHARS: usize = 8 * 1024;

/// Whether `c` is whitespace or a control character (the ranges [`EMAIL_PATTERN`] excludes).
pub(crate) fn is_space_or_control(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Whether `email` is an address by [`EMAIL_PATTERN`] and [`EMAIL_MAX_CHARS`].
pub(crate) fn is_email(email: &str) -> bool {
    if email.chars().count() > EMAIL_MAX_CHARS
        || email.chars().any(is_space_or_control)
        || email.chars().filter(|c| *c == '@').count() != 1
    {
        return false;
    }
    email.split_once('@').is_some_and(|(local, domain)| {
        let mut rest = domain.chars();
        !local.is_empty()
            && rest.next().is_some_and(|first| first != '.')
            && rest.as_str().contains('.')
    })
}

/// Whether `c` may appear in a phone number ([`PHONE_PATTERN`]).
pub(crate) fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || " +-().".contains(c)
}

/// Whether `c` may appear in an address ([`ADDRESS_PATTERN`]).
pub(crate) fn is_address_char(c: char) -> bool {
    !c.is_control() || c == '\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The explicit ranges in the patterns are exactly Rust's whitespace and control sets.
    #[test]
    fn the_email_ranges_are_rusts_whitespace_and_controls() {
        let ranges = [
            ('\u{0}', '\u{20}'),
            ('\u{7f}', '\u{a0}'),
            ('\u{1680}', '\u{1680}'),
            ('\u{2000}', '\u{200a}'),
            ('\u{2028}', '\u{2029}'),
            ('\u{202f}', '\u{202f}'),
            ('\u{205f}', '\u{205f}'),
            ('\u{3000}', '\u{3000}'),
        ];
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let listed = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
            assert_eq!(listed, is_space_or_control(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn emails() {
        for good in [
            "a@b.c",
            "alice@example.com",
            "x@a.b.",
            "ü@bücher.example",
            "a@ü.b",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "@b.c",
            "a@.b",
            "a@b",
            " a@b.c",
            "a@b.c ",
            "a b@c.d",
            "a@b@c.d",
            "a\u{0}@b.c",
            "a@b.c\u{3000}",
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
        let local = "l".repeat(EMAIL_MAX_CHARS - 4);
        assert!(is_email(&format!("{local}@b.c")));
        assert!(!is_email(&format!("{local}x@b.c")));
        // Counted in characters, not bytes.
        let wide = "é".repeat(EMAIL_MAX_CHARS - 4);
        assert!(is_email(&format!("{wide}@b.c")));
    }

    #[test]
    fn password_lengths_are_the_policys() {
        let policy = palisade_password::PasswordPolicy::single_factor();
        assert_eq!(policy.min_chars(), PASSWORD_MIN_CHARS);
        assert_eq!(policy.max_chars(), PASSWORD_MAX_CHARS);
    }

    #[test]
    fn display_name_pattern_lists_palisade_sanitizes_refusals_in_the_bmp() {
        use palisade_sanitize::text::is_invisible;
        let listed = |c: char| {
            let u = c as u32;
            u <= 0x1f
                || (0x7f..=0x9f).contains(&u)
                || [
                    0xad, 0x61c, 0x115f, 0x1160, 0x180e, 0x200b, 0x200e, 0x200f, 0x3164, 0xfeff,
                    0xffa0, 0xfffe, 0xffff,
                ]
                .contains(&u)
                || (0x202a..=0x202e).contains(&u)
                || (0x2060..=0x2064).contains(&u)
                || (0x2066..=0x206f).contains(&u)
                || (0xfdd0..=0xfdef).contains(&u)
                || (0xfff9..=0xfffb).contains(&u)
        };
        for c in (0..=0xFFFF).filter_map(char::from_u32) {
            let refused = c.is_control()
                || is_invisible(c)
                || (0xfdd0..=0xfdef).contains(&(c as u32))
                || (c as u32 & 0xfffe) == 0xfffe;
            assert_eq!(listed(c), refused, "U+{:04X}", c as u32);
        }
    }
}
