//! Helpers shared by the integration tests: the vector-file reader and a strict scanner for
//! sanitized output.

#![allow(dead_code, unreachable_pub)]

/// Reads a vector file: lines that are not empty and do not start with `#`, with the escapes
/// `\\ \t \n \r \f \0` decoded. Returns (line number, decoded line).
pub fn records(file: &str) -> Vec<(usize, String)> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let out: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty())
        .map(|(i, l)| (i + 1, decode(l)))
        .collect();
    assert!(out.len() >= 10, "{file} has too few records");
    out
}

fn decode(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let decoded = match chars.peek() {
                Some('\\') => Some('\\'),
                Some('t') => Some('\t'),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                Some('f') => Some('\x0c'),
                Some('0') => Some('\0'),
                _ => None,
            };
            if let Some(d) = decoded {
                chars.next();
                out.push(d);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// A tag found in sanitized output.
#[derive(Debug)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

/// Scans html5ever-serialized output, which has one regular form: text with `&`, `<`, `>`
/// escaped, tags as `<name attr="value">` with `&amp; &quot; &nbsp;` in values, end tags
/// `</name>`, comments `<!--...-->`. Anything else fails the test, so the scanner cannot be
/// fooled into missing a tag.
pub fn scan(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        assert_ne!(b[i], b'>', "unescaped '>' in text at {i}: {html}");
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        if html[i..].starts_with("!--") {
            let end = html[i..]
                .find("-->")
                .unwrap_or_else(|| panic!("open comment: {html}"));
            i += end + 3;
            continue;
        }
        let closing = b.get(i) == Some(&b'/');
        if closing {
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        assert!(i > start, "'<' not starting a tag at {start}: {html}");
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            match b.get(i) {
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b' ') if !closing => {
                    i += 1;
                    let a = i;
                    while i < b.len() && !matches!(b[i], b'=' | b' ' | b'>') {
                        i += 1;
                    }
                    let attr = html[a..i].to_ascii_lowercase();
                    assert_eq!(b.get(i), Some(&b'='), "attribute without value: {html}");
                    assert_eq!(b.get(i + 1), Some(&b'"'), "unquoted attribute: {html}");
                    i += 2;
                    let v = i;
                    while i < b.len() && b[i] != b'"' {
                        i += 1;
                    }
                    let value = html[v..i]
                        .replace("&quot;", "\"")
                        .replace("&nbsp;", "\u{a0}")
                        .replace("&amp;", "&");
                    i += 1;
                    attrs.push((attr, value));
                }
                _ => panic!("malformed tag near {i}: {html}"),
            }
        }
        if !closing {
            tags.push(Tag { name, attrs });
        }
    }
    tags
}

/// The scheme of a URL as a browser reads it (tabs and newlines removed, leading C0 controls and
/// spaces trimmed), or `None` for a relative URL.
pub fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let colon = cleaned.find(':')?;
    let candidate = &cleaned[..colon];
    let mut bytes = candidate.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| candidate.to_ascii_lowercase())
}

/// Strings built from HTML fragments, so the generator reaches the parser's corners.
pub fn html_soup() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy as _;

    let pieces = proptest::sample::select(vec![
        "<",
        ">",
        "</",
        "/>",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<b>",
        "</b>",
        "<p>",
        "</p>",
        "<a href=\"",
        "javascript:",
        "https://x.example/",
        "\"",
        "'",
        "=",
        " ",
        "&lt;",
        "&#106;",
        "<svg>",
        "</svg>",
        "<math>",
        "<mtext>",
        "<style>",
        "</style>",
        "<script>",
        "</script>",
        "<noscript>",
        "<template>",
        "<table>",
        "<td>",
        "<select>",
        "<img src=x onerror=y>",
        "<textarea>",
        "</textarea>",
        "<li>",
        "<ul>",
        "<form>",
        "<iframe>",
        "text",
        "\0",
        "\t",
        "<!DOCTYPE html>",
        "<title>",
        "<xmp>",
        "<annotation-xml encoding=\"text/html\">",
        "<foreignObject>",
        "<desc>",
        "<mglyph>",
        "<option>",
        "<h1>",
        "<code>",
        "<blockquote>",
    ]);
    proptest::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}
