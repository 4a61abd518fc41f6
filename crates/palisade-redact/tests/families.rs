//! The provider families, on a corpus made by an independent generator
//! (`families/generate.py`): every valid token is found, with its family, and removed in every
//! shape of log line; every near-miss (one character short or long, a broken checksum, a
//! placeholder, the prefix in prose) leaves its line unchanged. Recall and false-positive rate
//! are printed per family.

use std::collections::BTreeMap;

#[path = "support/score.rs"]
mod score;

use palisade_redact::{Kind, Redactor, provider_families};
use score::Score;

/// The shapes a token is planted in: prose, `key=value`, JSON, a key inside a JSON string,
/// YAML, a header, `curl -H`, a command-line flag, code assignments, a URL query.
const SHAPES: &[&str] = &[
    "2026-12-04T10:00:00Z ERROR upstream call failed with {} (retrying)",
    "2026-12-04T10:00:00Z INFO cfg ref={} region=eu",
    r#"{"ts":"2026-12-04T10:00:00Z","level":"warn","note":"{}"}"#,
    r#"{"level":"info","msg":"using upstream={}"}"#,
    "  upstream: {}",
    "X-Upstream: {}",
    r#"curl -s -H "X-Upstream: {}" https://api.internal/v1"#,
    "deploy --upstream={} --dry-run",
    r#"upstream := "{}""#,
    "upstream = '{}'",
    "const upstream = `{}`;",
    "GET /cb?ref={}&page=2 302",
];

#[test]
fn every_family_found_in_every_shape_and_near_misses_left_alone() {
    let redactor = Redactor::new();
    let mut scores: BTreeMap<&str, Score> = BTreeMap::new();
    let mut failures = Vec::new();
    for line in include_str!("families/samples.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [family, expect, why, token, part] = fields[..] else {
            panic!("bad record: {line}");
        };
        let score = scores.entry(family).or_default();
        for shape in SHAPES {
            let text = shape.replace("{}", token);
            let out = redactor.redact(&text);
            if expect == "detect" {
                score.planted += 1;
                let found = redactor.find(text.as_bytes());
                let named = found.iter().any(|f| {
                    matches!(f.kind, Kind::ProviderToken | Kind::PrivateKey)
                        && f.rule.as_deref() == Some(family)
                });
                if named && !out.contains(part) {
                    score.found += 1;
                } else {
                    failures.push(format!("missed {family}: {text} -> {out} {found:?}"));
                }
            } else {
                score.near += 1;
                if out != text {
                    score.changed += 1;
                    failures.push(format!("changed {family} ({why}): {text} -> {out}"));
                }
            }
        }
    }
    score::report("family", "families", &scores);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every family in the table has samples, and every sampled family is in the table.
    let ids: Vec<&str> = provider_families().map(|f| f.id).collect();
    for id in &ids {
        assert!(
            scores.get(id).is_some_and(|s| s.planted > 0),
            "no samples for {id}"
        );
    }
    for family in scores.keys() {
        assert!(ids.contains(family), "{family} is not a built-in family");
    }
}

/// The crate documentation's table lists every family, with its source and checksum column.
#[test]
fn the_documented_table_lists_every_family() {
    let readme = include_str!("../README.md");
    for family in provider_families() {
        let row = readme
            .lines()
            .find(|l| l.starts_with("| ") && l.contains(&format!("`{}`", family.id)))
            .unwrap_or_else(|| panic!("{} is not in the README's table", family.id));
        assert!(row.contains(family.provider), "{row}");
        assert!(row.contains("https://"), "no source for {}", family.id);
        let checksum = if family.checksum { "| yes |" } else { "| no |" };
        assert!(row.ends_with(checksum), "{row}");
    }
}

/// A family is reported under its id and can be turned off with its kind.
#[test]
fn families_are_named_and_can_be_disabled() {
    let token = "dop_v1_4f9c2a7e1b8d3f6a0c5e9b2d7f1a4c8e3b6d0f9a2c5e8b1d4f7a0c3e6b9d2f5a";
    let found = Redactor::new().find(format!("doctl auth init -t {token}").as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, Kind::ProviderToken);
    assert_eq!(found[0].rule.as_deref(), Some("digitalocean_token"));
    let off = Redactor::builder()
        .disable(Kind::ProviderToken)
        .build()
        .unwrap();
    assert!(off.find(token.as_bytes()).is_empty());
}
