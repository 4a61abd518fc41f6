//! Arbitrary bytes through the HTML policies: no input may panic, and every output must keep
//! the invariants: only allowed elements, no event handlers, only allowed URL schemes, and
//! sanitizing the output again changes nothing.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_sanitize::html::{Disallowed, Limits, Policy, Preset};

fn policies() -> &'static [Policy] {
    static POLICIES: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let limits = Limits {
            max_input_bytes: 64 * 1024,
            max_depth: 64,
        };
        let build = |preset, mode| {
            Policy::builder()
                .preset(preset)
                .disallowed(mode)
                .limits(limits)
                .build()
                .expect("presets build")
        };
        vec![
            build(Preset::Strict, Disallowed::Drop),
            build(Preset::Basic, Disallowed::Drop),
            build(Preset::Rich, Disallowed::Drop),
            build(Preset::Rich, Disallowed::Escape),
        ]
    })
}

/// The tags of html5ever-serialized output: `(name, [(attribute, value)])`. Returns `None` if
/// the output is not in the serializer's regular form, which is itself a failure.
fn tags(html: &str) -> Option<Vec<(String, Vec<(String, String)>)>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = &after[after.find("-->")? + 3..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('/') {
            rest = &after[after.find('>')? + 1..];
            continue;
        }
        let end = rest.find(|c: char| c == ' ' || c == '>')?;
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        let mut attrs = Vec::new();
        while let Some(after) = rest.strip_prefix(' ') {
            let eq = after.find("=\"")?;
            let attr = after[..eq].to_owned();
            let value_start = &after[eq + 2..];
            let close = value_start.find('"')?;
            let value = value_start[..close]
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            attrs.push((attr, value));
            rest = &value_start[close + 1..];
        }
        rest = rest.strip_prefix('>')?;
        out.push((name, attrs));
    }
    Some(out)
}

fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let candidate = &cleaned[..cleaned.find(':')?];
    let mut bytes = candidate.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| candidate.to_ascii_lowercase())
}

fuzz_target!(|data: &[u8]| {
    let which = data.first().copied().unwrap_or(0) as usize;
    let policy = &policies()[which % policies().len()];
    let input = data.get(1..).unwrap_or_default();
    let Ok(out) = policy.clean_bytes(input) else {
        return; // invalid UTF-8, too large, too deep or unstable: refused, not a bypass
    };
    let html = out.as_str();
    let tags = tags(html).expect("sanitized output is in serializer form");
    for (name, attrs) in tags {
        assert!(
            policy.allows_element(&name),
            "element {name} survived: {html}"
        );
        for (attr, value) in attrs {
            assert!(!attr.starts_with("on"), "event handler survived: {html}");
            assert!(
                policy.allows_attribute(&name, &attr, &value),
                "{attr} survived: {html}"
            );
            if matches!(attr.as_str(), "href" | "src" | "cite" | "srcset") {
                let s = scheme(&value);
                assert!(
                    matches!(s.as_deref(), None | Some("http" | "https" | "mailto")),
                    "scheme {s:?} survived: {html}"
                );
            }
        }
    }
    let again = policy
        .clean(html)
        .expect("sanitized output is accepted again");
    assert_eq!(again.as_str(), html, "not idempotent");
    let _ = policy.clean_with_report(html);
});
