//! Metrics through the `metrics` facade (feature `metrics`). The only label is the finding's
//! kind, from the closed set of [`Kind`]; never a rule's name, a value or any text.

use crate::Kind;

/// The `kind` label of a redaction: [`Kind::as_str`], except that every custom rule (added
/// with `RedactorBuilder::rule` or loaded from a gitleaks file) is `custom_rule`.
pub(crate) const fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Custom => "custom_rule",
        other => other.as_str(),
    }
}

/// One value replaced.
pub(crate) fn redacted(kind: Kind) {
    metrics::counter!("palisade_redact_redactions_total", "kind" => label(kind)).increment(1);
}
