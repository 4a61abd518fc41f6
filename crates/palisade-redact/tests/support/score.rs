//! Recall and false-positive counts per rule, and the report the corpus tests print.

use std::collections::BTreeMap;

/// What one rule's samples did.
#[derive(Default)]
pub(crate) struct Score {
    /// Valid samples planted, and how many were found under the rule's id and removed.
    pub(crate) planted: usize,
    pub(crate) found: usize,
    /// Near-misses planted, and how many changed their line.
    pub(crate) near: usize,
    pub(crate) changed: usize,
}

/// Prints each rule's recall and false-positive rate, then the totals over `what`.
#[allow(
    clippy::print_stdout,
    reason = "recall and false positives are the report"
)]
pub(crate) fn report(rule: &str, what: &str, scores: &BTreeMap<&str, Score>) {
    println!("{rule:<36} {:>8} {:>8}", "recall", "FP rate");
    #[allow(clippy::cast_precision_loss, reason = "small counts")]
    for (id, s) in scores {
        println!(
            "{id:<36} {:>7.1}% {:>7.1}%",
            100.0 * s.found as f64 / s.planted.max(1) as f64,
            100.0 * s.changed as f64 / s.near.max(1) as f64
        );
    }
    let (found, planted, changed, near) = scores.values().fold((0, 0, 0, 0), |a, s| {
        (
            a.0 + s.found,
            a.1 + s.planted,
            a.2 + s.changed,
            a.3 + s.near,
        )
    });
    println!("all {what}: found {found}/{planted}; near-misses changed {changed}/{near}");
}
