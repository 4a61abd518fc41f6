//! Metrics through the `metrics` facade (feature `metrics`). The only label is the finding's
//! kind, from the closed set of [`Kind`]; never a rule's name, a value or any text.
//!
//! Each redactor registers one counter per kind when it is built, so a redaction costs one
//! atomic increment, not a registry lookup: install the recorder before building redactors.

use metrics::Counter;

use crate::Kind;

/// Every kind a finding can have: the built-in ones, custom rules and known values.
const ALL: [Kind; Kind::BUILT_IN.len() + 2] = {
    let mut all = [Kind::Custom; Kind::BUILT_IN.len() + 2];
    let mut i = 0;
    while i < Kind::BUILT_IN.len() {
        all[i] = Kind::BUILT_IN[i];
        i += 1;
    }
    all[Kind::BUILT_IN.len() + 1] = Kind::KnownSecret;
    all
};

/// The `kind` label of a redaction: [`Kind::as_str`], except that every custom rule (added
/// with `RedactorBuilder::rule` or loaded from a gitleaks file) is `custom_rule`.
pub(crate) const fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Custom => "custom_rule",
        other => other.as_str(),
    }
}

/// `palisade_redact_redactions_total{kind}`, one handle per kind.
#[derive(Debug)]
pub(crate) struct Counters {
    by_kind: Vec<(Kind, Counter)>,
}

impl Counters {
    /// Registers every kind's counter with the recorder in place.
    pub(crate) fn register() -> Self {
        Self {
            by_kind: ALL
                .iter()
                .map(|&kind| {
                    let counter = metrics::counter!(
                        "palisade_redact_redactions_total",
                        "kind" => label(kind)
                    );
                    (kind, counter)
                })
                .collect(),
        }
    }

    /// One value of `kind` replaced.
    pub(crate) fn redacted(&self, kind: Kind) {
        if let Some((_, counter)) = self.by_kind.iter().find(|(k, _)| *k == kind) {
            counter.increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ALL, label};

    #[test]
    fn every_kind_has_its_own_label() {
        let mut labels: Vec<&str> = ALL.iter().map(|&k| label(k)).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), ALL.len());
        assert!(labels.contains(&"custom_rule") && labels.contains(&"known_secret"));
    }
}
