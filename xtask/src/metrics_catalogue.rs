//! `docs/metrics.md` against the sources: every metric emitted with the facade's `counter!`,
//! `gauge!` or `histogram!` in `crates/*/src` and `examples/*/src` is named by a string
//! literal, follows the naming conventions (`palisade_<crate>_..._<unit>`, or the example's
//! own prefix; `_total` for counters and only for them; a unit for histograms) and has a row
//! in the catalogue's tables with its type.
//!
//! It checks the tree as it is: metrics the catalogue lists that no source emits yet (another
//! crate's work in progress) are not a problem.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// The facade's registration macros and the metric type each registers.
const MACROS: [(&str, &str); 3] = [
    ("counter!(", "counter"),
    ("gauge!(", "gauge"),
    ("histogram!(", "histogram"),
];

/// Units a histogram's name may end with.
const HISTOGRAM_UNITS: [&str; 2] = ["_seconds", "_bytes"];

/// One registration found in a source file: the name (or `None` when it is not a string
/// literal) and the metric type.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Emitted {
    pub(crate) name: Option<String>,
    pub(crate) kind: &'static str,
}

/// Every registration macro call in `source`. A macro whose name only ends like one
/// (`describe_counter!`) is not a registration.
pub(crate) fn emitted(source: &str) -> Vec<Emitted> {
    let mut out = Vec::new();
    for (mac, kind) in MACROS {
        let mut from = 0;
        while let Some(i) = source[from..].find(mac) {
            let at = from + i;
            from = at + mac.len();
            let before = source[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let args = source[from..].trim_start();
            let name = args
                .strip_prefix('"')
                .and_then(|lit| lit.split_once('"'))
                .map(|(name, _)| name.to_owned());
            out.push(Emitted { name, kind });
        }
    }
    out
}

/// The prefix every metric of the package in `dir` starts with: `palisade_ratelimit_` for
/// `crates/palisade-ratelimit`, `secure_api_` for `examples/secure-api`.
pub(crate) fn prefix(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!("{}_", name.replace('-', "_"))
}

/// What is wrong with `name` as a metric of `kind` in a package whose prefix is `prefix`.
pub(crate) fn naming_problems(name: &str, kind: &str, prefix: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let snake = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.contains("__")
        && !name.ends_with('_');
    if !snake {
        problems.push("is not snake_case".to_owned());
    }
    let thing = name.strip_prefix(prefix).unwrap_or("");
    if thing.is_empty() {
        problems.push(format!("does not start with `{prefix}` and name a thing"));
    }
    let total = name.ends_with("_total");
    match kind {
        "counter" if !total => problems.push("is a counter: its name must end in `_total`".into()),
        "gauge" | "histogram" if total => {
            problems.push(format!("is a {kind}: only counters end in `_total`"));
        }
        _ => {}
    }
    if kind == "histogram" && !HISTOGRAM_UNITS.iter().any(|u| name.ends_with(u)) {
        problems.push(format!(
            "is a histogram: its name must end in a unit ({})",
            HISTOGRAM_UNITS.join(", ")
        ));
    }
    problems
}

/// The type the catalogue's table row for `name` gives (its second cell), if any.
pub(crate) fn catalogued_kind<'a>(catalogue: &'a str, name: &str) -> Option<&'a str> {
    let cell = format!("| `{name}` |");
    catalogue.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(&cell)?;
        rest.split('|').next().map(str::trim)
    })
}

fn rust_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    crate::tidy::rust_files(&dir.join("src"), &mut files);
    files.sort();
    files
}

fn packages(root: &Path, parent: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root.join(parent)) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Adds to `problems` every metric emitted in the sources that breaks a convention or is
/// missing from `docs/metrics.md`.
pub(crate) fn check(root: &Path, problems: &mut Vec<String>) {
    let Ok(catalogue) = fs::read_to_string(root.join("docs/metrics.md")) else {
        problems.push("docs/metrics.md is missing".to_owned());
        return;
    };
    let mut dirs = packages(root, "crates");
    dirs.extend(packages(root, "examples"));
    for dir in dirs {
        let prefix = prefix(&dir);
        for file in rust_files_under(&dir) {
            let Ok(source) = fs::read_to_string(&file) else {
                continue;
            };
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            for Emitted { name, kind } in emitted(&source) {
                let Some(name) = name else {
                    problems.push(format!(
                        "{shown}: a {kind} is named by an expression; name metrics with a \
                         string literal so docs/metrics.md can be checked"
                    ));
                    continue;
                };
                for problem in naming_problems(&name, kind, &prefix) {
                    problems.push(format!("{shown}: metric `{name}` {problem}"));
                }
                match catalogued_kind(&catalogue, &name) {
                    None => problems.push(format!(
                        "{shown}: metric `{name}` is not in docs/metrics.md's tables"
                    )),
                    Some(listed) if listed != kind => problems.push(format!(
                        "{shown}: metric `{name}` is a {kind}; docs/metrics.md says {listed}"
                    )),
                    Some(_) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Emitted, catalogued_kind, emitted, naming_problems, prefix};

    #[test]
    fn finds_registrations_with_literal_names() {
        let source = r#"
            metrics::counter!("palisade_x_events_total", "kind" => k).increment(1);
            let h = histogram!(
                "palisade_x_call_duration_seconds"
            );
            metrics::describe_counter!("palisade_x_events_total", "Events.");
            metrics::gauge!(NAME).set(1.0);
        "#;
        assert_eq!(
            emitted(source),
            [
                Emitted {
                    name: Some("palisade_x_events_total".into()),
                    kind: "counter"
                },
                Emitted {
                    name: None,
                    kind: "gauge"
                },
                Emitted {
                    name: Some("palisade_x_call_duration_seconds".into()),
                    kind: "histogram"
                },
            ]
        );
    }

    #[test]
    fn naming_conventions() {
        let p = prefix(Path::new("crates/palisade-ratelimit"));
        assert_eq!(p, "palisade_ratelimit_");
        assert_eq!(prefix(Path::new("examples/secure-api")), "secure_api_");
        assert!(naming_problems("palisade_ratelimit_lockouts_total", "counter", &p).is_empty());
        assert!(
            naming_problems(
                "palisade_ratelimit_backend_duration_seconds",
                "histogram",
                &p
            )
            .is_empty()
        );
        assert!(naming_problems("palisade_ratelimit_keys", "gauge", &p).is_empty());
        for (name, kind) in [
            ("palisade_ratelimit_lockouts", "counter"),
            ("palisade_ratelimit_keys_total", "gauge"),
            ("palisade_ratelimit_backend_duration", "histogram"),
            ("palisade_ratelimit_backend_duration_ms", "histogram"),
            ("palisade_token_lockouts_total", "counter"),
            ("palisade_ratelimit_Lockouts_total", "counter"),
            ("palisade_ratelimit__total", "counter"),
            ("palisade_ratelimit_", "counter"),
        ] {
            assert!(
                !naming_problems(name, kind, &p).is_empty(),
                "{name} ({kind}) should be refused"
            );
        }
    }

    #[test]
    fn reads_the_type_from_the_catalogue_row() {
        let catalogue = "| Metric | Type |\n|---|---|\n| `palisade_x_events_total` | counter | \
                         `kind` | Events. | |\nSee `palisade_x_other_total` in prose.\n";
        assert_eq!(
            catalogued_kind(catalogue, "palisade_x_events_total"),
            Some("counter")
        );
        assert_eq!(catalogued_kind(catalogue, "palisade_x_other_total"), None);
        assert_eq!(catalogued_kind(catalogue, "palisade_x_events"), None);
    }
}
