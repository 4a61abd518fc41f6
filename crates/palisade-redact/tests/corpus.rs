//! The quality bar: on a corpus of realistic log lines, every planted secret is removed and
//! every benign line is unchanged, byte for byte.

#[path = "support/corpus.rs"]
mod corpus;

use palisade_redact::Redactor;

#[test]
#[allow(clippy::print_stdout, reason = "the numbers are part of the report")]
fn every_secret_removed_every_benign_line_unchanged() {
    let corpus = corpus::Corpus::build(0x05EC_2E75, 5_000, 440);
    let redactor = Redactor::new();
    let (removed, planted, unchanged, benign) = corpus.score(&redactor);
    println!(
        "corpus: planted secrets removed {removed}/{planted}; benign lines unchanged {unchanged}/{benign}"
    );
    for (line, secret) in &corpus.planted {
        let out = redactor.redact(line);
        assert!(
            !out.contains(secret.as_str()),
            "secret kept:\n{line}\n{out}"
        );
    }
    for line in &corpus.benign {
        assert_eq!(redactor.redact(line), line.as_str());
    }
    assert_eq!((removed, unchanged), (planted, benign));
}
