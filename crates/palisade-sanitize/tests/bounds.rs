//! The bounds `docs/threat-model.md` promises, one test each: "The report is capped at 1000
//! entries; names in it at 64 bytes.", "No recursion on input depth anywhere in palisade's
//! code." and `sanitize_file_name` "cuts to 255 bytes on a grapheme boundary".

use std::thread;

use palisade_sanitize::{sanitize_file_name, text::TextPolicy, url::UrlPolicy};

/// A stack far smaller than the 2 MiB a test thread gets: recursion over thousands of levels
/// overflows it, a loop with an explicit stack does not.
const SMALL_STACK: usize = 256 * 1024;

fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(work)
        .expect("spawn")
        .join()
        .expect("no stack overflow, no panic")
}

#[cfg(feature = "html")]
mod html {
    use palisade_sanitize::html::{
        Disallowed, HtmlError, Limits, MAX_REPORT_ENTRIES, Policy, Preset,
    };

    use super::on_small_stack;

    #[test]
    fn the_report_is_capped_at_1000_entries() {
        assert_eq!(MAX_REPORT_ENTRIES, 1000);
        for (removed, kept) in [(999, 999), (1000, 1000), (1001, 1000), (5000, 1000)] {
            let input = "<blink>x</blink>".repeat(removed);
            let (_, report) = Policy::basic().clean_with_report(&input).expect("clean");
            assert_eq!(report.total(), removed, "every removal is counted");
            assert_eq!(report.removals().len(), kept);
        }
    }

    #[test]
    fn names_in_the_report_are_cut_at_64_bytes_without_splitting_a_character() {
        // 1 + 2 * 40 bytes: a cut at exactly 64 would fall inside an `é`.
        let name = format!("x{}", "é".repeat(40));
        let input = format!(
            "<{name}>t</{name}><b {name}=\"v\">u</b><i {}=1>w</i>",
            "a".repeat(100)
        );
        let (_, report) = Policy::basic().clean_with_report(&input).expect("clean");
        let element = report
            .removals()
            .iter()
            .find(|r| r.attribute().is_none())
            .expect("the element is reported");
        assert_eq!(element.element().len(), 63);
        assert!(name.starts_with(element.element()));
        let attributes: Vec<&str> = report
            .removals()
            .iter()
            .filter_map(|r| r.attribute())
            .collect();
        assert_eq!(attributes.len(), 2, "{report:?}");
        assert_eq!(attributes[0].len(), 63);
        assert!(name.starts_with(attributes[0]));
        assert_eq!(attributes[1], "a".repeat(64));
        for removal in report.removals() {
            assert!(
                removal.element().len() <= 64 && removal.attribute().is_none_or(|a| a.len() <= 64)
            );
        }
    }

    fn deepest() -> Policy {
        Policy::builder()
            .preset(Preset::Basic)
            .limits(Limits {
                max_depth: 4096,
                ..Limits::DEFAULT
            })
            .build()
            .expect("the largest depth limit is accepted")
    }

    #[test]
    fn no_recursion_on_input_depth_html_at_the_largest_depth_limit() {
        on_small_stack(|| {
            let policy = deepest();
            // Kept elements, removed elements, escaped elements, all 4000 deep.
            for tag in ["b", "blink", "section"] {
                let input = format!("<{tag}>").repeat(4000) + "x";
                let (out, report) = policy.clean_with_report(&input).expect("within the limit");
                assert!(
                    out.as_str().ends_with('x') || out.as_str().contains('x'),
                    "{tag}"
                );
                if tag != "b" {
                    assert!(report.total() >= 1000);
                }
            }
            let escaping = Policy::builder()
                .preset(Preset::Basic)
                .disallowed(Disallowed::Escape)
                .limits(Limits {
                    max_depth: 4096,
                    ..Limits::DEFAULT
                })
                .build()
                .expect("policy");
            escaping
                .clean(&("<blink>".repeat(4000) + "x"))
                .expect("escaped");
        });
    }

    #[test]
    fn no_recursion_on_input_depth_html_past_the_limit() {
        on_small_stack(|| {
            let policy = Policy::basic();
            for open in ["<div>", "<b>", "<table><tr><td>", "<svg><g>", "<math><mi>"] {
                let input = open.repeat(200_000 / open.len());
                assert_eq!(
                    policy.clean(&input),
                    Err(HtmlError::TooDeep { max_depth: 256 }),
                    "{open}"
                );
            }
        });
    }
}

#[test]
fn no_recursion_on_input_depth_text_names_and_urls() {
    on_small_stack(|| {
        // Within the default 10 000-grapheme limit.
        let nested = "(".repeat(4_000) + &"[".repeat(4_000);
        TextPolicy::new().clean(&nested).expect("text");
        let _ = sanitize_file_name(&"../".repeat(20_000));
        let url = format!("https://example.com/{}", "a/".repeat(1000));
        UrlPolicy::new().check(&url).expect("url");
    });
}

#[test]
fn file_names_are_cut_to_255_bytes_on_a_grapheme_boundary() {
    // One grapheme of four code points (12 bytes) that NFC leaves alone.
    let cluster = "\u{915}\u{94d}\u{937}\u{93f}";
    assert_eq!(cluster.len(), 12);
    let out = sanitize_file_name(&cluster.repeat(30)).expect("a name");
    assert_eq!(
        out.len(),
        252,
        "21 whole graphemes, not 255 bytes of a cut one"
    );
    assert_eq!(out, cluster.repeat(21));
}
