//! Metrics through the `metrics` facade (feature `metrics`). Labels only from closed sets:
//! `outcome` (`clean`, `changed`, `error`) and `reason` ([`Reason::as_str`]); never anything
//! of the input.

use super::{HtmlError, Reason, Report, SafeHtml};

/// One document sanitized (or refused), and the removals of its report when one was built.
pub(super) fn document(input: &str, result: &Result<(SafeHtml, Option<Report>), HtmlError>) {
    let outcome = match result {
        Err(_) => "error",
        Ok((html, _)) if html.as_str() == input => "clean",
        Ok(_) => "changed",
    };
    metrics::counter!("palisade_sanitize_documents_total", "outcome" => outcome).increment(1);
    if let Ok((_, Some(report))) = result {
        for (reason, n) in report.by_reason().filter(|&(_, n)| n > 0) {
            removed(reason, n);
        }
    }
}

/// Input refused before it was parsed (too large, not UTF-8).
pub(super) fn refused() {
    metrics::counter!("palisade_sanitize_documents_total", "outcome" => "error").increment(1);
}

fn removed(reason: Reason, n: usize) {
    metrics::counter!("palisade_sanitize_removals_total", "reason" => reason.as_str())
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
}
