//! Property tests: idempotence of every cleaner, containment of `safe_join`, and round trips of
//! the escaping helpers.

mod common;

use std::path::Path;

use palisade_sanitize::{
    escape, safe_join, sanitize_file_name,
    text::{TextPolicy, is_invisible},
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[cfg(feature = "html")]
    #[test]
    fn html_output_is_a_fixed_point(input in common::html_soup()) {
        use palisade_sanitize::html::{Disallowed, Policy, Preset};
        let escape = Policy::builder().preset(Preset::Basic).disallowed(Disallowed::Escape).build().unwrap();
        for policy in [Policy::strict(), Policy::basic(), Policy::rich(), escape] {
            if let Ok(out) = policy.clean(&input) {
                prop_assert_eq!(policy.clean(out.as_str()).unwrap(), out.clone());
                for tag in common::scan(out.as_str()) {
                    prop_assert!(policy.allows_element(&tag.name), "{}", out);
                    for (name, value) in &tag.attrs {
                        prop_assert!(!name.starts_with("on"), "{}", out);
                        let scheme = common::scheme(value);
                        prop_assert!(matches!(scheme.as_deref(), None | Some("http" | "https" | "mailto")), "{}", out);
                    }
                }
            }
        }
    }

    #[cfg(feature = "html")]
    #[test]
    fn html_never_panics_on_any_string(input in ".{0,200}") {
        let _ = palisade_sanitize::html::clean(&input);
        let _ = palisade_sanitize::html::Policy::rich().clean_with_report(&input);
    }

    #[test]
    fn file_names_are_idempotent_and_portable(name in "\\PC{0,80}|[./\\\\:a-zA-Z ]{0,20}") {
        if let Ok(clean) = sanitize_file_name(&name) {
            prop_assert_eq!(sanitize_file_name(&clean).unwrap(), clean.clone());
            prop_assert!(!clean.contains(['/', '\\', ':', '\0']));
            prop_assert!(clean.len() <= 255 && !clean.is_empty());
            prop_assert!(clean != "." && clean != "..");
            prop_assert!(!clean.chars().any(|c| c.is_control() || is_invisible(c)));
        }
    }

    #[test]
    fn safe_join_stays_under_base(user in "[./\\\\a-z:]{0,30}|\\PC{0,30}") {
        let base = Path::new("/srv/base");
        if let Ok(path) = safe_join(base, &user) {
            prop_assert!(path.starts_with(base));
            prop_assert!(path.components().count() > base.components().count());
            prop_assert!(path.components().all(|c| !matches!(c, std::path::Component::ParentDir)));
        }
    }

    #[test]
    fn text_clean_is_idempotent(input in "\\PC{0,100}|[\\u{200B}-\\u{206F}a-z\\r\\n\\t]{0,30}") {
        let policy = TextPolicy::new();
        let once = policy.clean(&input).unwrap();
        prop_assert_eq!(policy.clean(&once).unwrap(), once.clone());
        prop_assert!(policy.check(&once).is_ok());
    }

    #[test]
    fn escaping_round_trips(input in "\\PC{0,100}") {
        let text = escape::html_text(&input);
        prop_assert!(!text.contains(['<', '>', '"', '\'']));
        let back = text
            .replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"")
            .replace("&#39;", "'").replace("&amp;", "&");
        prop_assert_eq!(back, input.replace('\0', "\u{FFFD}"));
        let attr = escape::html_attribute(&input);
        prop_assert!(!attr.contains(['<', '>', '"', '\'', '`']));
        let component = escape::url_component(&input);
        prop_assert!(component.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        let decoded = percent_decode(&component);
        prop_assert_eq!(decoded, input.into_bytes());
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
