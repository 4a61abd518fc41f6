//! A proof, from the bytes of ammonia's output alone, that sanitizing it again would return it
//! unchanged, so that the stability check can skip its second ammonia pass.
//!
//! ammonia's output is html5ever's serialization of ammonia's sanitized tree. Sanitizing it
//! again parses it into a second tree and sanitizes that. The result is the same bytes when
//! (a) the parse rebuilds the tree that was serialized and (b) the sanitizer leaves that tree
//! alone. [`proved_stable`] checks both on a single scan of the output and answers `false` at
//! the first doubt; the caller then runs the full re-check.
//!
//! (a) The scan reads the serializer's exact format (`<name attr="value">`, `</name>`, escaped
//! text) and simulates the HTML tree builder's "in body" rules on it. It accepts only elements
//! whose start tag the tree builder inserts as a child of the current node without closing,
//! reopening or moving anything, and only when:
//!
//! * the element is on a short list of HTML flow and phrasing elements (no table parts,
//!   `select`, `option`, forms, `template`, `head`-ish, raw-text, RCDATA, `nobr`, ruby parts,
//!   SVG or `MathML`, unknown or custom elements); comments, doctypes and processing
//!   instructions make it give up;
//! * no `p` is open when an element that closes a `p` starts (blocks, headings, lists, `hr`);
//! * no heading is open when a heading starts, no `a` is open when an `a` starts (the
//!   adoption agency), and no `li` (`dd`, `dt`) would be closed by a new one (the tree
//!   builder's list-item loop, up to the nearest special element other than `address`, `div`
//!   and `p`);
//! * every end tag closes the element on top of the stack, so formatting elements are never
//!   misnested and the list of active formatting elements never needs reconstruction;
//! * no `pre` starts with a line feed (the parser drops it), and the output has no carriage
//!   return (normalized to a line feed), no NUL (dropped or replaced) and no leading byte order
//!   mark (discarded by the tokenizer).
//!
//! Under these rules the re-parse pushes and pops exactly what the scan pushes and pops, and
//! the text and attribute values decode to what was escaped, so the second tree serializes to
//! the same bytes.
//!
//! (b) Every element and attribute in the output already passed the same pure checks in the
//! first pass, with the same values. Two things ammonia changes on every pass are checked: it
//! removes an `a`'s `rel` and appends the policy's `link_rel`, so a link's `rel` must be its
//! last attribute with exactly that value; and it rewrites `style` attributes through its CSS
//! filter, so a `style` attribute makes the scan give up. Attribute names must be lowercase
//! ASCII names, each once per element.
//!
//! The unit tests check the rules on hand-written shapes; property tests check that every
//! output accepted here comes back byte for byte from a full ammonia pass, on ammonia's
//! output for hostile tag soup and on random well-formed trees built to break the rules.

use std::collections::HashMap;

/// How the tree builder treats a start tag, for the elements the scan accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `a`: reopened by the adoption agency when an `a` is already open.
    Anchor,
    /// Formatting elements other than `a`, and ordinary phrasing elements: inserted as they
    /// are (formatting elements after a reconstruction that has nothing to do here).
    Phrasing,
    /// Void phrasing elements: inserted and popped.
    Void,
    /// `hr`: closes an open `p`, then inserted and popped.
    VoidBlock,
    /// Flow elements that close an open `p`.
    Block,
    /// `address`, `div`: as `Block`, but not special for the list-item loop.
    PlainBlock,
    /// `p`.
    Paragraph,
    /// `h1` to `h6`: close an open `p`, and a heading that is the current node.
    Heading,
    /// `pre`: closes an open `p` and drops a line feed right after its start tag.
    Pre,
    /// `li`: closes an open `li` up to the nearest special element.
    ListItem,
    /// `dd`, `dt`: close an open `dd` or `dt` up to the nearest special element.
    Definition,
}

impl Kind {
    /// Whether the tree builder's list-item loop stops at an open element of this kind (the
    /// special elements other than `address`, `div` and `p`).
    fn stops_list_loop(self) -> bool {
        matches!(
            self,
            Self::Block | Self::Heading | Self::Pre | Self::ListItem | Self::Definition
        )
    }

    fn closes_p(self) -> bool {
        matches!(
            self,
            Self::VoidBlock
                | Self::Block
                | Self::PlainBlock
                | Self::Paragraph
                | Self::Heading
                | Self::Pre
                | Self::ListItem
                | Self::Definition
        )
    }
}

fn kind(name: &[u8]) -> Option<Kind> {
    Some(match name {
        b"a" => Kind::Anchor,
        b"b" | b"big" | b"code" | b"em" | b"font" | b"i" | b"s" | b"small" | b"strike"
        | b"strong" | b"tt" | b"u" | b"abbr" | b"bdi" | b"bdo" | b"cite" | b"data" | b"del"
        | b"dfn" | b"ins" | b"kbd" | b"mark" | b"q" | b"samp" | b"span" | b"sub" | b"sup"
        | b"time" | b"var" => Kind::Phrasing,
        b"br" | b"img" | b"wbr" => Kind::Void,
        b"hr" => Kind::VoidBlock,
        b"article" | b"aside" | b"blockquote" | b"details" | b"dl" | b"figcaption" | b"figure"
        | b"footer" | b"header" | b"hgroup" | b"main" | b"nav" | b"ol" | b"section"
        | b"summary" | b"ul" => Kind::Block,
        b"address" | b"div" => Kind::PlainBlock,
        b"p" => Kind::Paragraph,
        b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" => Kind::Heading,
        b"pre" => Kind::Pre,
        b"li" => Kind::ListItem,
        b"dd" | b"dt" => Kind::Definition,
        _ => return None,
    })
}

/// One open element of the scan.
struct Open<'a> {
    name: &'a [u8],
    kind: Kind,
}

/// Whether sanitizing `out` (ammonia's output under a policy whose `link_rel` is `link_rel`)
/// again is proved to give `out` back. `false` means "not proved", never "unstable".
pub(crate) fn proved_stable(out: &str, link_rel: Option<&str>) -> bool {
    scan(out, link_rel, |_| {})
}

/// What [`element_counts`] found.
pub(crate) enum Scan<'k> {
    /// `out` is not proved stable.
    Unproved,
    /// `out` is proved stable, with the number of elements of each name in the tree it parses
    /// to, or `None` when `key` had no name for one of them.
    Stable(Option<HashMap<&'k str, usize>>),
}

impl<'k> Scan<'k> {
    /// The counts, when `out` was proved stable and counted.
    pub(crate) fn into_counts(self) -> Option<HashMap<&'k str, usize>> {
        match self {
            Self::Stable(counts) => counts,
            Self::Unproved => None,
        }
    }
}

/// [`proved_stable`], and, when `out` is proved stable, the number of elements of each name in
/// the tree `out` parses to (the proof rebuilds that tree element for element, one per start
/// tag), counted under the name `key` gives each: the caller's own copy of the name, so the
/// counts need not borrow `out`.
pub(crate) fn element_counts<'a, 'k>(
    out: &'a str,
    link_rel: Option<&str>,
    key: impl Fn(&'a str) -> Option<&'k str>,
) -> Scan<'k> {
    let mut counts: Option<HashMap<&'k str, usize>> = Some(HashMap::new());
    let proved = scan(out, link_rel, |name| {
        // Names the scan accepts are ASCII, so `from_utf8` never fails.
        let name = std::str::from_utf8(name).ok().and_then(&key);
        match (name, &mut counts) {
            (Some(name), Some(counts)) => *counts.entry(name).or_default() += 1,
            _ => counts = None,
        }
    });
    if proved {
        Scan::Stable(counts)
    } else {
        Scan::Unproved
    }
}

/// The scan behind [`proved_stable`], calling `on_element` with the name of each start tag it
/// accepts.
fn scan<'a>(out: &'a str, link_rel: Option<&str>, mut on_element: impl FnMut(&'a [u8])) -> bool {
    let b = out.as_bytes();
    if b.starts_with("\u{feff}".as_bytes()) || memchr::memchr2(b'\r', 0, b).is_some() {
        return false;
    }
    let mut stack: Vec<Open<'_>> = Vec::new();
    // Open `p`, `a` and heading elements, so the common checks need no walk.
    let (mut paragraphs, mut anchors, mut headings) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while let Some(offset) = find(out, i, b'<') {
        i = offset + 1;
        if b.get(i) == Some(&b'/') {
            i += 1;
            let name = name_at(b, &mut i);
            if b.get(i) != Some(&b'>') {
                return false;
            }
            i += 1;
            match stack.pop() {
                Some(top) if top.name == name && !name.is_empty() => match top.kind {
                    Kind::Paragraph => paragraphs -= 1,
                    Kind::Anchor => anchors -= 1,
                    Kind::Heading => headings -= 1,
                    _ => {}
                },
                _ => return false,
            }
            continue;
        }
        let name = name_at(b, &mut i);
        let Some(kind) = kind(name) else {
            return false; // also `<!--`, `<!DOCTYPE`, `<?`: not on the list
        };
        if kind.closes_p() && paragraphs > 0 {
            return false;
        }
        let allowed = match kind {
            Kind::Anchor => anchors == 0,
            Kind::Heading => headings == 0,
            Kind::ListItem => !list_loop_closes(&stack, |k| k == Kind::ListItem),
            Kind::Definition => !list_loop_closes(&stack, |k| k == Kind::Definition),
            _ => true,
        };
        if !allowed {
            return false;
        }
        // Attributes: ` name="value"`, as the serializer writes them.
        let mut names: [&[u8]; 8] = [&[]; 8];
        let mut count = 0usize;
        let mut last: Option<(&[u8], &[u8])> = None;
        loop {
            match b.get(i) {
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b' ') => i += 1,
                _ => return false,
            }
            let attr = attribute_name_at(b, &mut i);
            if attr.is_empty() || attr == b"style" || b.get(i..i + 2) != Some(b"=\"") {
                return false;
            }
            i += 2;
            let Some(end) = find(out, i, b'"') else {
                return false;
            };
            let value = &b[i..end];
            i = end + 1;
            if count == names.len() || names[..count].contains(&attr) {
                return false; // a duplicate, or more attributes than an ordinary tag has
            }
            names[count] = attr;
            count += 1;
            last = Some((attr, value));
        }
        if kind == Kind::Anchor
            && let Some(rel) = link_rel
            && last != Some((b"rel".as_slice(), rel.as_bytes()))
        {
            return false;
        }
        on_element(name);
        match kind {
            Kind::Void | Kind::VoidBlock => {}
            Kind::Pre if b.get(i) == Some(&b'\n') => return false,
            _ => {
                match kind {
                    Kind::Paragraph => paragraphs += 1,
                    Kind::Anchor => anchors += 1,
                    Kind::Heading => headings += 1,
                    _ => {}
                }
                stack.push(Open { name, kind });
            }
        }
    }
    stack.is_empty()
}

/// Whether the tree builder's loop for a new `li` (or `dd`/`dt`) would close an open element:
/// it walks up from the current node to the first element that `closes`, stopping at a
/// special element other than `address`, `div` and `p`.
fn list_loop_closes(stack: &[Open<'_>], closes: impl Fn(Kind) -> bool) -> bool {
    for open in stack.iter().rev() {
        if closes(open.kind) {
            return true;
        }
        if open.kind.stops_list_loop() {
            return false;
        }
    }
    false
}

/// The index of the next `byte` at or after `from`: `memchr` compares a vector register at a
/// time, where `str::find` goes a word at a time.
fn find(s: &str, from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, s.as_bytes().get(from..)?).map(|p| p + from)
}

/// A tag name as html5ever writes one for the elements the scan knows: lowercase ASCII
/// letters and digits.
fn name_at<'a>(b: &'a [u8], i: &mut usize) -> &'a [u8] {
    let start = *i;
    while b
        .get(*i)
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        *i += 1;
    }
    &b[start..*i]
}

/// An attribute name of the kind a policy can allow: lowercase ASCII letters, digits, `-`,
/// `_` and `:`.
fn attribute_name_at<'a>(b: &'a [u8], i: &mut usize) -> &'a [u8] {
    let start = *i;
    while b.get(*i).is_some_and(|&c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b':')
    }) {
        *i += 1;
    }
    &b[start..*i]
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use std::collections::HashMap;

    use super::super::{Policy, PolicyBuilder, Preset, dom, report};
    use super::{Scan, element_counts, proved_stable};

    const REL: Option<&str> = Some("noopener noreferrer nofollow");

    /// One full ammonia pass of `policy`, as the stability check runs it.
    fn pass(policy: &Policy, html: &str) -> String {
        policy.ammonia.clean(html).to_string()
    }

    /// Whether the fast path accepts `out` under `policy`; when it does, a full ammonia pass
    /// must give `out` back byte for byte.
    fn accepted_and_checked(policy: &Policy, out: &str) -> bool {
        let proved = proved_stable(out, policy.rules.link_rel);
        if proved {
            assert_eq!(pass(policy, out), out, "accepted but not stable: {out:?}");
        }
        proved
    }

    pub(in super::super) fn policies() -> Vec<Policy> {
        vec![
            Policy::strict(),
            Policy::basic(),
            Policy::rich(),
            PolicyBuilder::from_preset(Preset::Rich)
                .allow_hosts(["ok.example"])
                .unwrap()
                .allow_generic_attributes(["title", "lang", "dir"])
                .allow_aria_attributes()
                .build()
                .unwrap(),
            PolicyBuilder::from_preset(Preset::Rich)
                .link_rel(None)
                .allow_attributes("a", ["rel"])
                .relative_urls(false)
                .keep_comments(true)
                .style_properties(["color"])
                .allow_generic_attributes(["style"])
                .build()
                .unwrap(),
            PolicyBuilder::from_preset(Preset::Rich)
                .link_rel(Some("nofollow"))
                .allow_elements([
                    "div", "section", "article", "nav", "main", "address", "font",
                ])
                .build()
                .unwrap(),
        ]
    }

    #[test]
    fn ordinary_rich_text_is_proved_stable() {
        let rich = Policy::rich();
        for html in [
            "",
            "plain text &amp; &lt;b&gt; &nbsp; “quotes”",
            "<p>a <b>bold <i>both</i></b> <em>e</em> <code>x &lt; y</code></p>\n<p>two</p>",
            "<h2>Title <a href=\"https://example.com/?a=1&amp;b=2\" rel=\"noopener noreferrer nofollow\">link</a></h2>",
            "<ul><li>one<ul><li>nested</li></ul></li><li><p>para</p></li></ul>",
            "<ol start=\"3\"><li>x</li></ol><dl><dt>t</dt><dd>d<dl><dt>u</dt></dl></dd></dl>",
            "<blockquote><p>quoted</p></blockquote><hr><pre>code\n  indented</pre>",
            "<p>line<br>break <img src=\"https://example.com/x.png\" alt=\"a &quot;b&quot;\"></p>",
            "<details open=\"\"><summary>more</summary><p>body</p></details>",
            "<figure><img src=\"https://example.com/x.png\"><figcaption>c</figcaption></figure>",
            "<b><b><b><b>Noah's ark</b></b></b></b><b><p>block in formatting</p></b>",
            "<span><li>an item under a span, no open li</li></span>",
        ] {
            assert!(accepted_and_checked(&rich, html), "{html}");
            assert_eq!(pass(&rich, html), html, "{html}");
        }
    }

    #[test]
    fn shapes_the_parser_rebuilds_differently_take_the_full_check() {
        for html in [
            // Nested links, paragraphs and headings, and list items the parser closes.
            "<a rel=\"noopener noreferrer nofollow\"><a rel=\"noopener noreferrer nofollow\">x</a></a>",
            "<p><p>x</p></p>",
            "<p><div>x</div></p>",
            "<p><ul><li>x</li></ul></p>",
            "<p><span><hr></span></p>",
            "<h1><h2>x</h2></h1>",
            "<li><span><li>x</li></span></li>",
            "<dd><b><dt>x</dt></b></dd>",
            // Misnested or unknown tags, table parts, forms, raw text, foreign content.
            "<b><i>x</b></i>",
            "<table><tbody><tr><td>x</td></tr></tbody></table>",
            "<td>x</td>",
            "<select><option>x</option></select>",
            "<form></form>",
            "<textarea>x</textarea>",
            "<svg><b>x</b></svg>",
            "<nobr>x</nobr>",
            "<ruby>x<rt>y</rt></ruby>",
            "<x-custom>x</x-custom>",
            "<template>x</template>",
            "<p>unclosed",
            "x</p>",
            "<br></br>",
            // Text the parser changes: a leading line feed in pre, CR, NUL, a leading BOM.
            "<pre>\nx</pre>",
            "a\rb",
            "a\0b",
            "\u{feff}x",
            // Comments, doctypes, processing instructions.
            "<!--x-->",
            "<!DOCTYPE html>",
            "<?x?>",
            // Attributes: not the serializer's format, duplicates, style, rel not last.
            "<p title=x>y</p>",
            "<p title='x'>y</p>",
            "<p  title=\"x\">y</p>",
            "<p title=\"x\" title=\"y\">z</p>",
            "<p style=\"color: red\">x</p>",
            "<p TITLE=\"x\">y</p>",
            "<P>x</P>",
            "<a rel=\"noopener noreferrer nofollow\" href=\"https://x.example/\">x</a>",
            "<a href=\"https://x.example/\">x</a>",
            "<a href=\"https://x.example/\" rel=\"nofollow\">x</a>",
        ] {
            assert!(!proved_stable(html, REL), "{html:?} proved");
        }
    }

    #[test]
    fn a_link_needs_the_policys_rel_last_only_when_the_policy_sets_one() {
        let html = "<a href=\"https://x.example/\">x</a>";
        assert!(!proved_stable(html, REL));
        assert!(proved_stable(html, None));
    }

    #[test]
    fn xss_corpus_outputs_proved_stable_are_stable() {
        let corpus = include_str!("../../tests/vectors/xss.txt");
        let (mut proved, mut total) = (0, 0);
        for policy in policies() {
            for line in corpus
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let input = line
                    .replace("\\t", "\t")
                    .replace("\\n", "\n")
                    .replace("\\r", "\r");
                let out = pass(&policy, &input);
                total += 1;
                if accepted_and_checked(&policy, &out) {
                    proved += 1;
                }
            }
        }
        // Both paths are exercised: the corpus is not all refused, nor all accepted.
        assert!(proved > total / 4 && proved < total, "{proved} of {total}");
    }

    /// The bench inputs (`benches/data`), whole and one document per line: all of the prose
    /// takes the fast path. The shares are printed for `docs/benchmarks.md`.
    #[test]
    fn bench_prose_takes_the_fast_path() {
        let rich = Policy::rich();
        for file in ["prose", "hostile"] {
            let path = format!("{}/benches/data/{file}.html", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let whole = accepted_and_checked(&rich, &pass(&rich, &text));
            let lines: Vec<&str> = text.lines().collect();
            let fast = lines
                .iter()
                .filter(|line| accepted_and_checked(&rich, &pass(&rich, line)))
                .count();
            eprintln!(
                "{file}.html: whole file on the fast path: {whole}; lines: {fast} of {}",
                lines.len()
            );
            if file == "prose" {
                assert!(whole);
                assert_eq!(fast, lines.len());
            }
        }
    }

    /// Tag soup that reaches the parser's corners, as in `tests/properties.rs`, plus pieces
    /// aimed at this scan: text the parser rewrites and the shapes of the rules above.
    pub(in super::super) fn soup() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "<",
            ">",
            "</",
            "/>",
            "<!--",
            "-->",
            "\"",
            "'",
            "=",
            " ",
            "\n",
            "\r",
            "\r\n",
            "\0",
            "\u{feff}",
            "&#xfeff;",
            "&#13;",
            "&#10;",
            "&#0;",
            "&nbsp;",
            "\u{a0}",
            "&amp;",
            "&lt;",
            "text",
            "<b>",
            "</b>",
            "<i>",
            "</i>",
            "<em>",
            "</em>",
            "<p>",
            "</p>",
            "<a href=\"",
            "https://x.example/",
            "javascript:",
            "<a href=x title=t>",
            "<a title=t>",
            "</a>",
            "<a rel=nofollow>",
            "<a href=https://evil.example/ title=t>",
            "<a href=https://ok.example/ title=t>",
            "<ul>",
            "</ul>",
            "<li>",
            "</li>",
            "<dl>",
            "<dd>",
            "<dt>",
            "<h1>",
            "</h1>",
            "<h2>",
            "<pre>",
            "</pre>",
            "<blockquote>",
            "<hr>",
            "<br>",
            "<img src=x>",
            "<img src=https://x.example/a.png>",
            "<span>",
            "</span>",
            "<table>",
            "<td>",
            "<tr>",
            "</table>",
            "<caption>",
            "<select>",
            "<option>",
            "<svg>",
            "</svg>",
            "<math>",
            "<mtext>",
            "<style>",
            "</style>",
            "<script>",
            "<textarea>",
            "<template>",
            "<noscript>",
            "<form>",
            "<button>",
            "<nobr>",
            "<font color=red>",
            "<code>",
            "<details>",
            "<summary>",
            "<figure>",
            "<div>",
            "<section>",
            "<address>",
            "<p style=\"color: red\">",
            "<b title=\"a&quot;b\">",
            "<!DOCTYPE html>",
            "<?x>",
            "<plaintext>",
            "<xmp>",
            "<listing>",
            "<object>",
        ]);
        prop::collection::vec(pieces, 0..48).prop_map(|v| v.concat())
    }

    /// Random well-formed trees of the elements the scan knows and some it does not,
    /// serialized as html5ever would: they break the nesting rules far more often than
    /// ammonia's output does.
    fn tree() -> impl Strategy<Value = String> {
        let names = prop::sample::select(vec![
            "p",
            "a",
            "b",
            "i",
            "em",
            "code",
            "span",
            "ul",
            "ol",
            "li",
            "dl",
            "dd",
            "dt",
            "h1",
            "h2",
            "pre",
            "blockquote",
            "div",
            "figure",
            "summary",
            "details",
            "section",
            "address",
            "q",
            "sub",
            "table",
            "td",
            "nobr",
            "u",
            "s",
            "strong",
            "small",
        ]);
        let text = prop::sample::select(vec![
            "", "x", " ", "\n", "\r", "\0", "\u{a0}", "\u{feff}", "&", "<", ">", "\"", "é",
        ]);
        let leaf = prop_oneof![
            text.prop_map(escape_text),
            prop::sample::select(vec!["<br>", "<hr>", "<img src=\"https://x.example/a\">"])
                .prop_map(str::to_owned),
        ];
        leaf.prop_recursive(6, 64, 4, move |inner| {
            (
                names.clone(),
                any::<bool>(),
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(name, title, children)| {
                    let mut attrs = String::new();
                    if title {
                        attrs.push_str(" title=\"t &amp; &quot;u&quot;\"");
                    }
                    if name == "a" {
                        attrs.push_str(" rel=\"noopener noreferrer nofollow\"");
                    }
                    format!("<{name}{attrs}>{}</{name}>", children.concat())
                })
        })
    }

    fn escape_text(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('\u{a0}', "&nbsp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    /// The elements of each name in the fragment `html` parses to.
    fn parsed_counts(html: &str) -> HashMap<String, usize> {
        let Ok(tree) = dom::parse(html, u32::MAX, false) else {
            panic!("no depth limit, so no failure: {html:?}");
        };
        report::element_counts(&tree)
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect()
    }

    /// Whether the scan counts `html`'s elements; when it does, the counts must be the parse's.
    fn counted_and_checked(html: &str, link_rel: Option<&str>) -> bool {
        let Scan::Stable(Some(counts)) = element_counts(html, link_rel, Some) else {
            return false;
        };
        let counts: HashMap<String, usize> = counts
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect();
        assert_eq!(counts, parsed_counts(html), "{html:?}");
        true
    }

    #[test]
    fn element_counts_are_the_parsed_trees() {
        let html =
            "<p>a <b>b</b><br><img src=\"https://x.example/\"></p><ul><li>x</li><li>y</li></ul>";
        let Scan::Stable(Some(counts)) = element_counts(html, REL, Some) else {
            panic!("proved and counted: {html}");
        };
        let expected = [
            ("p", 1),
            ("b", 1),
            ("br", 1),
            ("img", 1),
            ("ul", 1),
            ("li", 2),
        ];
        assert_eq!(counts, HashMap::from(expected));
        assert!(counted_and_checked(html, REL));
        assert!(matches!(
            element_counts("<p><p>x</p></p>", REL, Some),
            Scan::Unproved
        ));
        // A name the caller has no copy of: proved, not counted.
        let no_b = |name: &'static str| (name != "b").then_some(name);
        assert!(matches!(
            element_counts(html, REL, no_b),
            Scan::Stable(None)
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Whenever the scan counts the elements of an output, the counts are those of the
        /// tree the output parses to (what a report compares the input with). Counted under
        /// the policy's own names, as a report counts them, every element of ammonia's output
        /// has one, so the counts are the same.
        #[test]
        fn counted_outputs_have_the_parsed_counts(input in soup()) {
            for policy in policies() {
                let out = pass(&policy, &input);
                let link_rel = policy.rules.link_rel;
                if counted_and_checked(&out, link_rel) {
                    let by_policy = |name: &str| policy.rules.tags.get(name).copied();
                    let Scan::Stable(Some(counts)) = element_counts(&out, link_rel, by_policy)
                    else {
                        panic!("an output element the policy has no name for: {out:?}");
                    };
                    let counts: HashMap<String, usize> = counts
                        .into_iter()
                        .map(|(name, n)| (name.to_owned(), n))
                        .collect();
                    prop_assert_eq!(counts, parsed_counts(&out));
                }
            }
        }

        #[test]
        fn counted_trees_have_the_parsed_counts(html in tree()) {
            counted_and_checked(&html, Some("noopener noreferrer nofollow"));
        }

        /// Every first-pass output that skips the re-check comes back identical from a full
        /// ammonia pass, under every policy.
        #[test]
        fn outputs_that_skip_the_recheck_reparse_identically(input in soup()) {
            for policy in policies() {
                let out = pass(&policy, &input);
                if proved_stable(&out, policy.rules.link_rel) {
                    prop_assert_eq!(pass(&policy, &out), out);
                }
            }
        }

        /// The same for random trees fed to the scan directly: whatever it accepts, the parser
        /// rebuilds and the `rich` policy (with `title` on every element) keeps as it is.
        #[test]
        fn trees_the_scan_accepts_reparse_identically(html in tree()) {
            let policy = PolicyBuilder::from_preset(Preset::Rich)
                .allow_elements(["div", "section", "address", "nobr", "font"])
                .allow_generic_attributes(["title"])
                .build()
                .unwrap();
            if proved_stable(&html, policy.rules.link_rel) {
                prop_assert_eq!(pass(&policy, &html), html);
            }
        }
    }
}
