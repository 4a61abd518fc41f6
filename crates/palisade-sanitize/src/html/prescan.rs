//! A fast upper bound on the nesting depth html5ever will build, so that the exact bounded
//! parse (`dom::parse`) can be skipped for ordinary markup.
//!
//! The scanner follows the HTML tokenizer exactly in the states ordinary markup uses (data, tag
//! name, attribute names and values, quoted or not) and gives up, returning `None`, on every
//! construct whose tokenization depends on the tree builder or hides text from the tokenizer:
//! comments, doctypes and other `<!` or `<?` markup, bogus end tags, raw-text and RCDATA
//! elements, `template`, SVG and `MathML`, tables, `select`, forms and the document elements.
//!
//! For what remains it keeps a stack of open elements that only ever over-estimates the tree
//! builder's: every start tag of a non-void element is pushed, and an end tag pops only when it
//! names the element on top of the stack. Elements the tree builder closes by itself (an
//! unclosed `<p>`, a misnested `</b>`) stay on the scanner's stack; elements it creates without
//! a start tag (reconstructed formatting elements) are clones of elements the scanner still
//! counts. One level is added for leaves: void elements, and the empty `p` that a stray `</p>`
//! creates. The unit tests and a property test check the bound against the exact parse.

/// Start tags whose handling depends on more than the tokenizer, beyond the raw-text elements
/// (`vocab::RAW_TEXT`): give up on them. `bails` matches these names; the list is what the
/// test checks it against.
#[cfg(test)]
const BAIL: &[&str] = &[
    "svg", "math", "table", "caption", "colgroup", "col", "tbody", "thead", "tfoot", "tr", "td",
    "th", "select", "html", "head", "body", "frameset", "form", "isindex",
];

/// An upper bound on the depth of the tree html5ever builds from `input`, or `None` when the
/// input needs the exact parse: it has context-dependent markup, or the bound passes `cap`.
pub(crate) fn depth_bound(input: &str, cap: usize) -> Option<usize> {
    let b = input.as_bytes();
    let mut stack: Vec<&[u8]> = Vec::new();
    let mut deepest = 0usize;
    let mut i = 0;
    while let Some(offset) = b.get(i..).and_then(|rest| memchr::memchr(b'<', rest)) {
        i += offset + 1;
        let closing = match tag_open(b, &mut i) {
            TagOpen::Tag { closing } => closing,
            TagOpen::NotATag => continue,
            TagOpen::Markup => return None,
        };
        let start = i;
        while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
            i += 1;
        }
        let name = &b[start..i];
        // Attributes, as the tokenizer reads them; only the end of the tag matters.
        let mut ended = false;
        while i < b.len() {
            match b[i] {
                b'>' => {
                    ended = true;
                    i += 1;
                    break;
                }
                b'=' => {
                    i += 1;
                    while i < b.len() && is_space(b[i]) {
                        i += 1;
                    }
                    match b.get(i) {
                        Some(&q @ (b'"' | b'\'')) => {
                            i += 1;
                            i += memchr::memchr(q, &b[i..]).unwrap_or(b.len() - i);
                            i += 1; // past the closing quote (or the end)
                        }
                        Some(b'>') => {}
                        _ => {
                            while i < b.len() && !is_space(b[i]) && b[i] != b'>' {
                                i += 1;
                            }
                        }
                    }
                }
                _ => i += 1,
            }
        }
        if !ended {
            break; // a tag cut off by the end of input is dropped by the tokenizer
        }
        if closing {
            if stack
                .last()
                .is_some_and(|top| top.eq_ignore_ascii_case(name))
            {
                stack.pop();
            }
            continue;
        }
        let mut buf = [0u8; 16];
        let lower = lowercase(name, &mut buf);
        if bails(lower) {
            return None;
        }
        if !is_void(lower) {
            stack.push(name);
            deepest = deepest.max(stack.len());
            if deepest >= cap {
                return None;
            }
        }
    }
    // A leaf one level below the deepest open element: a void element, or the empty `p` the
    // tree builder inserts for a `</p>` with no open `p`.
    Some(deepest + 1)
}

/// What the tokenizer makes of the bytes after a `<` in its data state (the tag open and end
/// tag open states), for the scans that follow it: this one and `removals`.
pub(super) enum TagOpen {
    /// A start tag, or an end tag when `closing`, whose name starts where the index was left.
    Tag { closing: bool },
    /// Text, or `</>` (which the tokenizer drops): the scan goes on from where the index was
    /// left.
    NotATag,
    /// A comment, doctype, processing instruction or bogus comment: the scan gives up.
    Markup,
}

/// Reads what follows the `<` just before `b[*i]`, moving `*i` past the `/` of an end tag and
/// past a dropped `</>`.
pub(super) fn tag_open(b: &[u8], i: &mut usize) -> TagOpen {
    let closing = b.get(*i) == Some(&b'/');
    if closing {
        *i += 1;
    }
    match b.get(*i) {
        Some(c) if c.is_ascii_alphabetic() => TagOpen::Tag { closing },
        Some(b'>') if closing => {
            *i += 1;
            TagOpen::NotATag
        }
        Some(b'!' | b'?') => TagOpen::Markup,
        // A bogus comment (and `</` at the very end, which is text: giving up is safe).
        _ if closing => TagOpen::Markup,
        _ => TagOpen::NotATag, // `<` followed by text is text
    }
}

/// `name` in ASCII lowercase, as the tokenizer lowercases names, when it fits in `buf` (every
/// name the scans look up does), else an empty name, which is on no list.
pub(super) fn lowercase<'b, const N: usize>(name: &[u8], buf: &'b mut [u8; N]) -> &'b [u8] {
    let Some(dst) = buf.get_mut(..name.len()) else {
        return &[];
    };
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    dst
}

/// Whether a lowercase start tag name is in `vocab::RAW_TEXT` or `BAIL` (a `match`: one
/// comparison per tag instead of a walk of both lists; `lists_and_matches_agree` checks it).
pub(super) fn bails(name: &[u8]) -> bool {
    matches!(
        name,
        b"script"
            | b"style"
            | b"xmp"
            | b"iframe"
            | b"noembed"
            | b"noframes"
            | b"noscript"
            | b"plaintext"
            | b"title"
            | b"textarea"
            | b"template"
            | b"svg"
            | b"math"
            | b"table"
            | b"caption"
            | b"colgroup"
            | b"col"
            | b"tbody"
            | b"thead"
            | b"tfoot"
            | b"tr"
            | b"td"
            | b"th"
            | b"select"
            | b"html"
            | b"head"
            | b"body"
            | b"frameset"
            | b"form"
            | b"isindex"
    )
}

/// Whether a lowercase name is in `vocab::VOID`.
fn is_void(name: &[u8]) -> bool {
    matches!(
        name,
        b"area"
            | b"base"
            | b"br"
            | b"col"
            | b"embed"
            | b"hr"
            | b"img"
            | b"input"
            | b"keygen"
            | b"link"
            | b"meta"
            | b"param"
            | b"source"
            | b"track"
            | b"wbr"
            | b"basefont"
            | b"bgsound"
            | b"frame"
    )
}

/// The tokenizer's whitespace (a carriage return is one too once normalized to a line feed).
pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

#[cfg(test)]
mod tests {
    use super::super::dom;
    use super::depth_bound;

    /// Depth of the exact parse, by a search for the smallest limit it accepts.
    fn exact(input: &str) -> u32 {
        let mut depth = 0;
        while dom::parse(input, depth, false).is_err() {
            depth += 1;
        }
        depth
    }

    #[test]
    fn lists_and_matches_agree() {
        use super::super::vocab::{RAW_TEXT, VOID};
        use super::{BAIL, bails, is_void, lowercase};
        let others = [
            "p",
            "b",
            "x-y",
            "scripts",
            "",
            "a",
            "tablex",
            "colgroups",
            "dd",
        ];
        let names = RAW_TEXT.iter().chain(BAIL).chain(VOID).chain(&others);
        for name in names {
            for spelled in [name.to_string(), name.to_ascii_uppercase()] {
                let mut buf = [0u8; 16];
                let lower = lowercase(spelled.as_bytes(), &mut buf);
                let listed = |list: &[&str]| list.iter().any(|n| n.eq_ignore_ascii_case(&spelled));
                assert_eq!(bails(lower), listed(RAW_TEXT) || listed(BAIL), "{spelled}");
                assert_eq!(is_void(lower), listed(VOID), "{spelled}");
            }
        }
        let long = "a".repeat(17);
        assert!(lowercase(long.as_bytes(), &mut [0u8; 16]).is_empty());
    }

    #[test]
    fn bounds_ordinary_markup() {
        for (input, bound) in [
            ("plain text", 1),
            ("<p>a <b>b</b> <i>c</i></p>", 3),
            ("<ul><li>a</li><li>b<ul><li>c</li></ul></li></ul>", 5),
            ("<p>one<p>two<p>three", 4),
            ("<b><p>x</b>y</p>", 3),
            ("<a title='</a>' href=\"x>y\">z</a>", 2),
            ("<img src=x><br/><hr>", 1),
            ("1 < 2 and </> and <3", 1),
            ("<div/><div/>", 3),
            ("<DIV></div>", 2),
            ("<span><div></span></div>", 3),
        ] {
            assert_eq!(depth_bound(input, usize::MAX), Some(bound), "{input}");
            assert!(exact(input) as usize <= bound, "{input}");
        }
    }

    #[test]
    fn gives_up_on_context_dependent_markup() {
        for input in [
            "<!-- </b> -->",
            "<!DOCTYPE html>",
            "<?xml?>",
            "</ bogus>",
            "<script></b></script>",
            "<svg><p>",
            "<table><td>",
            "<textarea></textarea>",
            "<template></template>",
            "<select><b>",
            "<form>",
            "<NoScript>",
        ] {
            assert_eq!(depth_bound(input, usize::MAX), None, "{input}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Random tag soup from the tags the scanner accepts: whenever it gives a bound, the
        /// exact parse never goes deeper.
        #[test]
        fn bound_holds_for_tag_soup(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<a>", "</a>", "<div>", "</div>",
            "<span>", "</span>", "<li>", "</li>", "<ul>", "</ul>", "<h1>", "</h1>", "<h2>",
            "</h2>", "<nobr>", "</nobr>", "<object>", "</object>", "<button>", "</button>",
            "<dd>", "<dt>", "</dl>", "<dl>", "<br>", "</br>", "<img>", "<pre>", "<marquee>",
            "</marquee>", "<applet>", "</applet>", "<font color=x>", "</font>", "<em>", "</em>",
            "<b id=1>", "<b id=2>", "<u>", "</u>", "<s>", "</s>", "<option>", "<optgroup>",
            "<ruby>", "<rt>", "<rp>", "</ruby>", "<address>", "</address>", "<image>", "<x-y>",
            "</x-y>", "x", " ", "<p title='</p>'>", "<menu>", "<dir>", "<center>", "<listing>",
        ]), 0..120)) {
            let input = pieces.concat();
            if let Some(bound) = depth_bound(&input, usize::MAX) {
                let limit = u32::try_from(bound).unwrap_or(u32::MAX);
                proptest::prop_assert!(
                    dom::parse(&input, limit, false).is_ok(),
                    "{} deeper than its bound {}", input, bound
                );
            }
        }
    }

    #[test]
    fn never_below_the_exact_depth_on_misnesting() {
        for input in [
            "<p><b></p>x</b>".repeat(20),
            "<b><div>x</b>y</div>".repeat(20),
            "<p><b><i></p><p>x".repeat(20),
            "<a><a><a>x</a>".repeat(20),
            "<span><div></span>".repeat(20),
            "<li><ul><li></ul>".repeat(20),
            "<h1><h2>x</h1>".repeat(20),
            "<object><b></object>x".repeat(20),
            "<nobr><nobr>x".repeat(20),
            "<button><button>".repeat(20),
            "<dd><dt><dl>".repeat(20),
            "<b id=1><b id=2><b id=3><b id=4></p>x".repeat(10),
            "<p title=\"</p>\"><b>".repeat(20),
        ] {
            let bound = depth_bound(&input, usize::MAX).expect("ordinary markup");
            let depth = exact(&input);
            assert!(
                depth as usize <= bound,
                "{input}: exact {depth} > bound {bound}"
            );
        }
    }
}
