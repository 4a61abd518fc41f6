//! A proof, from one scan of the input, that a sanitization removed nothing, so that counting
//! removals (the `metrics` feature) can skip the report's two parses.
//!
//! A report lists the input tree's comments, its elements the policy does not allow, the
//! attributes of allowed elements that fail the policy's checks, and any allowed element the
//! output tree lacks (see `report::build`). [`proved_none`] answers `true` only when none of
//! these can exist:
//!
//! * The scan follows the HTML tokenizer exactly in the states ordinary markup uses (data, tag
//!   open, tag names, attribute names, quoted and unquoted values) and gives up at the first
//!   construct outside them: comments, doctypes, processing instructions, bogus comments, a
//!   NUL or a carriage return inside a tag, a tag cut off by the end of the input, and every
//!   character the tokenizer reports as a parse error inside a name or an unquoted value.
//! * Every start and end tag must name an element the policy allows. The tree builder creates
//!   elements from start tags, from the end tags `</p>` and `</br>`, and by cloning formatting
//!   elements it has seen, attributes included; none of these can then be disallowed. It gives
//!   up on the start tags whose handling depends on more than the tokenizer (`prescan::bails`:
//!   raw text, tables, forms, `select`, SVG, `MathML`, the document elements) and on `image`,
//!   which the tree builder renames `img`.
//! * Every attribute of every start tag must pass the policy's check, with its value decoded
//!   as the tokenizer decodes it. The only character reference decoded is `&amp;`; any other
//!   `&` makes the scan give up. The tokenizer keeps only the first of duplicate attributes; the
//!   scan checks them all, which can only make it give up more often.
//!
//! The last kind of removal, an allowed element missing from the output, needs no scan of the
//! output when the caller also has `stable::proved_stable` for it: ammonia removes only
//! disallowed elements (and their content) and elements outside their namespace, and with no
//! SVG or `MathML` every element is HTML; a proved-stable output re-parses to the tree ammonia
//! serialized, so every element of the input is in the output tree.
//!
//! A property test checks that every input accepted here, whose output is proved stable, has
//! an empty report, under every policy of the stability scan's tests.

use std::borrow::Cow;

use super::{
    Rules,
    prescan::{self, TagOpen, is_space},
};

/// Whether sanitizing `input` under `rules` is proved to have removed nothing, given that its
/// output was proved stable on the first pass. `false` means "not proved", never "removed".
pub(crate) fn proved_none(input: &str, rules: &Rules) -> bool {
    let b = input.as_bytes();
    let mut i = 0;
    let mut name_buf = [0u8; 32];
    while let Some(offset) = b.get(i..).and_then(|rest| memchr::memchr(b'<', rest)) {
        i += offset + 1;
        let closing = match prescan::tag_open(b, &mut i) {
            TagOpen::Tag { closing } => closing,
            TagOpen::NotATag => continue,
            TagOpen::Markup => return false,
        };
        let Some(element) = tag_name(b, &mut i, &mut name_buf) else {
            return false;
        };
        if !element_allowed(element, rules) {
            return false;
        }
        if closing {
            // Attributes in end tags are ignored, but then the tag is not plain markup.
            skip_space(b, &mut i);
            if b.get(i) != Some(&b'>') {
                return false;
            }
            i += 1;
            continue;
        }
        if !attributes_allowed(b, &mut i, element, rules) {
            return false;
        }
    }
    true
}

/// A tag name, lowercased into `buf` as the tokenizer lowercases it, read up to the space,
/// `/` or `>` that ends it. `None` for a character the scan does not follow (NUL, non-ASCII,
/// punctuation) or a name longer than `buf`.
fn tag_name<'b>(b: &[u8], i: &mut usize, buf: &'b mut [u8; 32]) -> Option<&'b str> {
    let start = *i;
    while let Some(&c) = b.get(*i) {
        if is_space(c) || c == b'/' || c == b'>' {
            break;
        }
        if !(c.is_ascii_alphanumeric() || c == b'-') {
            return None;
        }
        *i += 1;
    }
    lowercase(&b[start..*i], buf)
}

fn element_allowed(element: &str, rules: &Rules) -> bool {
    element != "image" && !prescan::bails(element.as_bytes()) && rules.tags.contains(element)
}

/// Reads the attributes of a start tag up to and past its `>`, judging each one; `false` at
/// the first that fails the policy, or at anything the scan does not follow.
fn attributes_allowed(b: &[u8], i: &mut usize, element: &str, rules: &Rules) -> bool {
    let mut name_buf = [0u8; 32];
    loop {
        // Before an attribute name (also after a value, or a `/` that does not end the tag).
        while b.get(*i).is_some_and(|&c| is_space(c) || c == b'/') {
            if b[*i] == b'/' && b.get(*i + 1) == Some(&b'>') {
                *i += 2;
                return true;
            }
            *i += 1;
        }
        match b.get(*i) {
            Some(b'>') => {
                *i += 1;
                return true;
            }
            None | Some(b'=') => return false, // cut off, or a name starting with `=`
            Some(_) => {}
        }
        let start = *i;
        while let Some(&c) = b.get(*i) {
            if is_space(c) || matches!(c, b'/' | b'>' | b'=') {
                break;
            }
            if !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.')) {
                return false;
            }
            *i += 1;
        }
        let Some(attribute) = lowercase(&b[start..*i], &mut name_buf) else {
            return false;
        };
        skip_space(b, i);
        let raw: &[u8] = if b.get(*i) == Some(&b'=') {
            *i += 1;
            skip_space(b, i);
            match b.get(*i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let open = *i + 1;
                    let Some(len) = b.get(open..).and_then(|rest| memchr::memchr(quote, rest))
                    else {
                        return false;
                    };
                    *i = open + len + 1;
                    &b[open..open + len]
                }
                Some(b'>') => &[], // a missing value: the tag ends with an empty one
                _ => {
                    let open = *i;
                    while let Some(&c) = b.get(*i) {
                        if is_space(c) || c == b'>' {
                            break;
                        }
                        if matches!(c, b'"' | b'\'' | b'<' | b'=' | b'`') {
                            return false;
                        }
                        *i += 1;
                    }
                    &b[open..*i]
                }
            }
        } else {
            &[]
        };
        let Some(value) = decoded(raw) else {
            return false;
        };
        if rules.attribute_verdict(element, attribute, &value).is_err() {
            return false;
        }
    }
}

/// An attribute value as the tokenizer decodes it, when the scan can tell: UTF-8 (the input
/// is a `str` and values are cut at ASCII bytes), no NUL or carriage return (replaced and
/// normalized before the tokenizer), and no `&` other than `&amp;`.
fn decoded(raw: &[u8]) -> Option<Cow<'_, str>> {
    let value = std::str::from_utf8(raw).ok()?;
    if memchr::memchr2(b'\0', b'\r', raw).is_some() {
        return None;
    }
    if memchr::memchr(b'&', raw).is_none() {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = rest[at..].strip_prefix("&amp;")?;
        out.push('&');
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// `name` in ASCII lowercase (`prescan::lowercase`), when it is not empty and fits in `buf`.
fn lowercase<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b str> {
    let lower = prescan::lowercase(name, buf);
    if lower.is_empty() {
        return None;
    }
    std::str::from_utf8(lower).ok()
}

fn skip_space(b: &[u8], i: &mut usize) {
    while b.get(*i).is_some_and(|&c| is_space(c)) {
        *i += 1;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{
        Disallowed, Policy,
        stable::{
            proved_stable,
            tests::{policies, soup},
        },
    };
    use super::proved_none;

    /// Whether the metrics path would skip the report for `input` under `policy`: the first
    /// pass's output is proved stable and the scan proves nothing was removed. When it would,
    /// the full report must be empty.
    fn skips_and_checked(policy: &Policy, input: &str) -> bool {
        let out = policy.ammonia.clean(input).to_string();
        let skips = policy.disallowed != Disallowed::Escape
            && proved_stable(&out, policy.rules.link_rel)
            && proved_none(input, &policy.rules);
        if skips {
            let (_, report) = policy.clean_with_report(input).expect("within the limits");
            assert!(report.is_empty(), "{input:?}: {:?}", report.removals());
        }
        skips
    }

    #[test]
    fn markup_the_policy_allows_is_proved_to_lose_nothing() {
        let rich = Policy::rich();
        for html in [
            "",
            "plain text & more < less",
            "<p>a <b>bold <i>both</i></b> <em>e</em></p>\n<P>Upper <STRONG>case</STRONG></P>",
            "<a href=\"https://example.com/?a=1&amp;b=2\">query</a>",
            "<a href='https://example.com/'>single</a> <a href=https://example.com/x>bare</a>",
            "<a href=\"https://example.com/\" rel=\"noopener noreferrer nofollow\">own rel</a>",
            "<ul><li>one<li>two</ul><ol start=3><li>x</ol>",
            "<p>line<br/>break <img src=\"https://example.com/x.png\" alt=\"a b\" /></p>",
            "<abbr title>empty</abbr><abbr title=>no value</abbr><abbr/title=\"x\">slash</abbr>",
            "<p>stray end tags make elements</p></p></br>",
            "</>dropped",
            "<a\n  href=\"https://example.com/\"\n>multi-line tag</a>",
        ] {
            assert!(skips_and_checked(&rich, html), "{html:?}");
        }
    }

    #[test]
    fn anything_removed_or_not_followed_takes_the_report() {
        let rich = Policy::rich();
        for html in [
            // Removed elements and attributes.
            "<script>x()</script>",
            "<x-custom>x</x-custom>",
            "<p onclick=\"x()\">x</p>",
            "<p style=\"color: red\">x</p>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"java&#115;cript:alert(1)\">x</a>",
            "<a rel=\"nofollow\">x</a>",
            "<p>x</p></script>",
            "<image src=\"https://example.com/x.png\">",
            "<!-- a comment -->",
            "<!DOCTYPE html>",
            "<?pi?>",
            "</ bogus>",
            // Constructs the scan does not follow.
            "<table><tr><td>x</td></tr></table>",
            "<svg><b>x</b></svg>",
            "<textarea><b>x</b></textarea>",
            "<abbr title=\"a &lt; b\">entity</abbr>",
            "<abbr title=\"a\0b\">nul</abbr>",
            "<abbr title=\"a\rb\">cr</abbr>",
            "<abbr =x>name starts with =</abbr>",
            "<abbr title=a\"b>quote in an unquoted value</abbr>",
            "<abbr title=\"open",
            "<b",
            "</b x>",
        ] {
            assert!(!proved_none(html, &rich.rules), "{html:?}");
        }
    }

    #[test]
    fn bench_prose_is_proved_to_lose_nothing() {
        let rich = Policy::rich();
        let path = format!("{}/benches/data/prose.html", env!("CARGO_MANIFEST_DIR"));
        let prose = std::fs::read_to_string(&path).unwrap();
        assert!(skips_and_checked(&rich, &prose));
        assert_ne!(
            rich.clean(&prose).unwrap().as_str(),
            prose,
            "the prose is changed"
        );
    }

    /// The benign and XSS corpora under every policy: each input the scan accepts has an
    /// empty report, and both answers occur, so the property test below is not vacuous.
    #[test]
    fn corpora_take_both_paths() {
        let (mut skipped, mut total) = (0, 0);
        for policy in policies() {
            for corpus in [
                include_str!("../../tests/vectors/benign.txt"),
                include_str!("../../tests/vectors/xss.txt"),
            ] {
                for line in corpus
                    .lines()
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                {
                    // Benign records start with the policy they are for.
                    let html = line.split_once('\t').map_or(line, |(_, html)| html);
                    total += 1;
                    if skips_and_checked(&policy, html) {
                        skipped += 1;
                    }
                }
            }
        }
        assert!(
            skipped > total / 10 && skipped < total,
            "{skipped} of {total}"
        );
    }

    /// Markup that is mostly allowed, with the shapes the scan must read exactly (attribute
    /// syntax, character references, end tags that make elements) and, less often, something
    /// a policy removes or the scan does not follow: so that both answers are common.
    fn near_miss_soup() -> impl Strategy<Value = String> {
        let allowed = prop::sample::select(vec![
            "text",
            " ",
            "\n",
            "&amp;",
            "&lt;",
            "<",
            ">",
            "=",
            "\"",
            "'",
            "/",
            "<p>",
            "</p>",
            "<P>",
            "</br>",
            "<b>",
            "</b>",
            "<i>",
            "</i>",
            "<a href=\"https://x.example/?a=1&amp;b=2\">",
            "<a href=https://x.example/&amp;>",
            "<a href='https://ok.example/' rel=\"noopener noreferrer nofollow\">",
            "<a href=\" https://x.example/\">",
            "<a href=\"/relative\">",
            "</a>",
            "<abbr title>",
            "<abbr title=>",
            "<abbr/title=x>",
            "<abbr TITLE=\"x\"title=\"y\">",
            "<abbr title=x title=\"<script>\">",
            "<abbr title=\"a&b\">",
            "</abbr>",
            "<img src=\"https://x.example/a.png\" alt>",
            "<img src=x/>",
            "<ul>",
            "<li>",
            "</ul>",
            "<ol start=\"2\" reversed>",
            "</ol>",
            "<blockquote>",
            "</blockquote>",
            "<h1>",
            "<h2>",
            "<pre>",
            "<code>",
            "<br>",
            "<hr/>",
        ]);
        let removed = prop::sample::select(vec![
            "<script>",
            "</script>",
            "<span>",
            "<!--",
            "-->",
            "<img src=x onerror=y>",
            "<a href=\"//evil.example/\">",
            "<a href=\"java&#115;cript:x\">",
            "<a href='javascript:x'>",
            "<a rel=nofollow>",
            "<image src=x>",
            "<svg>",
            "<table>",
            "<td>",
            "<select>",
            "<textarea>",
            "<p style=\"color: red\">",
            "\0",
            "\r",
            "&nbsp;",
            "<b title=x>",
            "</ x>",
            "<?x>",
        ]);
        let piece = prop_oneof![12 => allowed, 1 => removed];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Every input whose report the metrics path skips has an empty report, under every
        /// policy of the stability scan's tests, for near misses and for the stability scan's
        /// tag soup.
        #[test]
        fn inputs_proved_to_lose_nothing_have_empty_reports(input in near_miss_soup()) {
            for policy in policies() {
                skips_and_checked(&policy, &input);
            }
        }

        #[test]
        fn tag_soup_proved_to_lose_nothing_has_empty_reports(input in soup()) {
            for policy in policies() {
                skips_and_checked(&policy, &input);
            }
        }
    }
}
