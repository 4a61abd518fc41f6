//! The `metrics` feature, observed with `metrics-util`'s debugging recorder: names, types and
//! labels after real sanitizations, and label cardinality under hostile input.
//!
//! Each test records into its own recorder, installed for the current thread only
//! (`metrics::with_local_recorder`), so the tests of this binary never see each other's counts.

#![cfg(all(feature = "metrics", feature = "html"))]

mod common;

use palisade_sanitize::html::{Disallowed, Limits, Policy, Preset, Reason};
use palisade_testkit::metrics::{Series, assert_bounded, capture, counter_or_zero};
use proptest::prelude::*;

#[test]
fn documents_are_counted_by_outcome() {
    let series = capture(|| {
        let policy = Policy::basic();
        assert!(policy.clean("<p>plain <b>text</b></p>").is_ok());
        assert!(
            policy
                .clean("<p onclick=\"x()\">hi</p><script>x()</script>")
                .is_ok()
        );
        let deep = "<b>".repeat(Limits::DEFAULT.max_depth as usize + 10);
        assert!(policy.clean(&deep).is_err());
        assert!(policy.clean_bytes(b"\xff\xfe").is_err());
    });
    assert_eq!(
        counter_or_zero(&series, "palisade_sanitize_documents_total{outcome=clean}"),
        1,
        "{series:?}"
    );
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_documents_total{outcome=changed}"
        ),
        1
    );
    assert_eq!(
        counter_or_zero(&series, "palisade_sanitize_documents_total{outcome=error}"),
        2
    );
    // The changed document's removals are counted although `clean` returns no report.
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_removals_total{reason=event_handler}"
        ),
        1,
        "{series:?}"
    );
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_removals_total{reason=content_removed}"
        ),
        1,
        "{series:?}"
    );
}

/// An attacker's markup fed to `clean` or `clean_bytes` (which return no report) is counted
/// by reason exactly as `clean_with_report` counts it; markup that comes out unchanged counts
/// no removal.
#[test]
fn every_cleaning_path_counts_removals_by_reason() {
    let attack = "<p onclick=\"x()\" onmouseover=\"y()\">hi</p><script>x()</script>\
                  <a href=\"javascript:alert(1)\">a</a><blink>b</blink><!-- c -->";
    let reported = capture(|| {
        let _ = Policy::rich().clean_with_report(attack).expect("clean");
    });
    let removals = |series: &Series| -> Vec<(String, u64)> {
        series
            .iter()
            .filter(|(k, _)| k.starts_with("palisade_sanitize_removals_total"))
            .map(|(k, _)| (k.clone(), counter_or_zero(series, k)))
            .collect()
    };
    assert_eq!(removals(&reported).len(), 5, "{reported:?}");
    let cleaned = capture(|| {
        let _ = Policy::rich().clean(attack).expect("clean");
    });
    assert_eq!(removals(&cleaned), removals(&reported));
    let from_bytes = capture(|| {
        let _ = Policy::rich()
            .clean_bytes(attack.as_bytes())
            .expect("clean");
    });
    assert_eq!(removals(&from_bytes), removals(&reported));

    let escaping = capture(|| {
        let policy = Policy::builder()
            .preset(Preset::Basic)
            .disallowed(Disallowed::Escape)
            .build()
            .expect("policy");
        let _ = policy
            .clean("<script>x()</script><p>ok</p>")
            .expect("clean");
    });
    assert_eq!(
        counter_or_zero(
            &escaping,
            "palisade_sanitize_removals_total{reason=escaped}"
        ),
        1,
        "{escaping:?}"
    );

    let unchanged = capture(|| {
        let input = "<p>plain <b>text</b></p>";
        assert_eq!(Policy::rich().clean(input).expect("clean").as_str(), input);
    });
    assert!(removals(&unchanged).is_empty(), "{unchanged:?}");
    assert_eq!(
        counter_or_zero(
            &unchanged,
            "palisade_sanitize_documents_total{outcome=clean}"
        ),
        1
    );
}

/// A document ammonia only normalized (a link's `rel` added, `&` written `&amp;`, quotes) is
/// `changed` with no removals, and one with a removal among such markup still counts it: the
/// scan that spares the first its report never spares the second.
#[test]
fn a_changed_document_that_lost_nothing_counts_no_removals() {
    let normalized = "<p>Tom & Jerry <a href='https://example.com/?a=1&amp;b=2'>link</a></p>";
    let series = capture(|| {
        let out = Policy::rich().clean(normalized).expect("clean");
        assert_ne!(out.as_str(), normalized);
        let (_, report) = Policy::rich().clean_with_report(normalized).expect("clean");
        assert!(report.is_empty(), "{:?}", report.removals());
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_documents_total{outcome=changed}"
        ),
        2
    );
    let removals = series
        .iter()
        .filter(|(k, _)| k.starts_with("palisade_sanitize_removals_total"))
        .count();
    assert_eq!(removals, 0, "{series:?}");

    let one_removed = format!("{normalized}<a href=\"https://example.com/\" onclick=\"x()\">x</a>");
    let series = capture(|| {
        let _ = Policy::rich().clean(&one_removed).expect("clean");
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_removals_total{reason=event_handler}"
        ),
        1,
        "{series:?}"
    );
}

#[test]
fn removals_are_counted_by_reason_from_the_report() {
    let series = capture(|| {
        let policy = Policy::rich();
        let (_, report) = policy
            .clean_with_report(
                "<p onclick=\"x()\" onmouseover=\"y()\">hi</p><script>x()</script>\
                 <a href=\"javascript:alert(1)\">a</a><blink>b</blink><!-- c -->",
            )
            .expect("clean");
        assert_eq!(report.count(Reason::EventHandler), 2);
    });
    for (reason, n) in [
        ("event_handler", 2),
        ("content_removed", 1),
        ("url_scheme_not_allowed", 1),
        ("element_not_allowed", 1),
        ("comment", 1),
    ] {
        assert_eq!(
            counter_or_zero(
                &series,
                &format!("palisade_sanitize_removals_total{{reason={reason}}}")
            ),
            n,
            "{reason}: {series:?}"
        );
    }
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_documents_total{outcome=changed}"
        ),
        1
    );
}

#[test]
fn escape_mode_counts_escaped_elements() {
    let series = capture(|| {
        let policy = Policy::builder()
            .preset(Preset::Basic)
            .disallowed(Disallowed::Escape)
            .build()
            .expect("policy");
        let _ = policy
            .clean_with_report("<script>x()</script><p>ok</p>")
            .expect("clean");
    });
    assert_eq!(
        counter_or_zero(&series, "palisade_sanitize_removals_total{reason=escaped}"),
        1,
        "{series:?}"
    );
}

#[test]
fn removals_past_the_report_cap_are_still_counted() {
    let n = palisade_sanitize::html::MAX_REPORT_ENTRIES + 500;
    let series = capture(|| {
        let input = "<blink>x</blink>".repeat(n);
        let (_, report) = Policy::basic().clean_with_report(&input).expect("clean");
        assert_eq!(report.total(), n);
    });
    assert_eq!(
        counter_or_zero(
            &series,
            "palisade_sanitize_removals_total{reason=element_not_allowed}"
        ),
        n as u64
    );
}

/// Thousands of distinct element names, attribute names, URLs and texts leave a fixed number
/// of series, none of which carries any of them.
#[test]
fn hostile_input_leaves_the_number_of_series_bounded() {
    let mut hostile = Vec::new();
    let series = capture(|| {
        let policy = Policy::rich();
        for i in 0..3000u32 {
            let element = format!("x-evil{i}");
            let attribute = format!("data-leak{i}");
            let url = format!("javascript:steal{i}()");
            let text = format!("secret-text-{i:08x}");
            let input = format!(
                "<{element} {attribute}=\"1\" onload{i}=\"z\"><a href=\"{url}\" title=\"{{x=\\\"y\\\"}}\">{text}</a></{element}>"
            );
            let _ = policy.clean_with_report(&input);
            let _ = policy.clean(&input);
            hostile.extend([element, attribute, url, text]);
        }
    });
    // Documents by outcome (3) and removals by reason (11) at most.
    let hostile: Vec<&str> = hostile.iter().map(String::as_str).collect();
    assert_bounded(&series, "palisade_sanitize_", 3 + 11, &hostile);
    assert!(
        counter_or_zero(
            &series,
            "palisade_sanitize_documents_total{outcome=changed}"
        ) >= 6000
    );
}

/// The removal series a run of `f` counted, by name, with their counts.
fn removal_counts(f: impl FnOnce()) -> Vec<(String, u64)> {
    let series = capture(f);
    series
        .iter()
        .filter(|(k, _)| k.starts_with("palisade_sanitize_removals_total"))
        .map(|(k, _)| (k.clone(), counter_or_zero(&series, k)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whichever way `clean` reaches its counts (no report when nothing can have been
    /// removed, the depth parse's tree reused for the report, or a parse of its own for the
    /// report of shallow markup), they are the counts of `clean_with_report`, under every
    /// preset and in escape mode.
    #[test]
    fn clean_counts_what_clean_with_report_counts(input in common::html_soup()) {
        let escape = Policy::builder()
            .preset(Preset::Basic)
            .disallowed(Disallowed::Escape)
            .build()
            .expect("policy");
        for policy in [Policy::strict(), Policy::basic(), Policy::rich(), escape] {
            let reported = removal_counts(|| {
                let _ = policy.clean_with_report(&input);
            });
            let cleaned = removal_counts(|| {
                let _ = policy.clean(&input);
            });
            prop_assert_eq!(cleaned, reported, "{}", input);
        }
    }
}
