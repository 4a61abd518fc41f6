//! Repository invariants, checked by `cargo xtask tidy`, by `cargo xtask ci`, and by this
//! module's `#[test]`, so a plain `cargo test` enforces them too.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// Directories of the workspace's crates (`crates/*`).
pub(crate) fn crate_dirs(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .map_err(|e| format!("crates/: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every invariant; all problems are reported together.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    let crates = crate_dirs(root)?;
    let readme = read(&root.join("README.md"))?;
    let architecture = read(&root.join("docs/architecture.md"))?;
    for dir in &crates {
        let name = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        check_crate(dir, &name, &mut problems)?;
        if !readme.contains(&format!("`{name}`")) {
            problems.push(format!("README.md: the crate table does not list `{name}`"));
        }
        if !architecture.contains(&name) {
            problems.push(format!("docs/architecture.md does not mention {name}"));
        }
    }
    for doc in [
        "SECURITY.md",
        "docs/threat-model.md",
        "docs/benchmarks.md",
        "docs/metrics.md",
        "deny.toml",
    ] {
        if !root.join(doc).is_file() {
            problems.push(format!("{doc} is missing"));
        }
    }
    let names: Vec<String> = crates
        .iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    crate::security_policy::check(root, &names, &mut problems);
    scan_sources(root, &mut problems)?;
    check_vectors(root, &crates, &mut problems)?;
    check_checks(root, &mut problems)?;
    crate::constant_time::check(root, &mut problems);
    crate::metrics_catalogue::check(root, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

/// The crate-root header, in the order the conventions give, and the manifest rules.
const HEADER: [&str; 4] = [
    "#![cfg_attr(docsrs, feature(doc_cfg))]",
    "#![doc = include_str!(\"../README.md\")]",
    "#![forbid(unsafe_code)]",
    "#![warn(missing_docs, clippy::unwrap_used, clippy::panic)]",
];

fn check_crate(dir: &Path, name: &str, problems: &mut Vec<String>) -> Result<(), String> {
    for file in ["README.md", "CHANGELOG.md"] {
        if !dir.join(file).is_file() {
            problems.push(format!("{name}: no {file}"));
        }
    }
    if let Ok(lib) = fs::read_to_string(dir.join("src/lib.rs")) {
        let lines: Vec<&str> = lib.lines().take(HEADER.len()).collect();
        if lines != HEADER {
            problems.push(format!(
                "{name}/src/lib.rs: the first lines must be, in order:\n    {}",
                HEADER.join("\n    ")
            ));
        }
    }
    let manifest = read(&dir.join("Cargo.toml"))?;
    if !manifest.contains("[lints]\nworkspace = true") {
        problems.push(format!("{name}/Cargo.toml: no `[lints] workspace = true`"));
    }
    if !manifest.contains("[package.metadata.docs.rs]\nall-features = true") {
        problems.push(format!("{name}/Cargo.toml: no docs.rs all-features"));
    }
    // Dependencies are declared once, in the workspace.
    let mut section = "";
    for line in manifest.lines() {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let in_deps = section.ends_with("dependencies]");
        let declares = line.contains('=') && !line.trim_start().starts_with('#');
        if in_deps && declares && !line.contains("workspace = true") && !line.contains(".workspace")
        {
            problems.push(format!(
                "{name}/Cargo.toml: `{}` must use `workspace = true`",
                line.trim()
            ));
        }
    }
    Ok(())
}

pub(crate) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// No stubs, no ignored tests, no removed rustdoc features.
fn scan_sources(root: &Path, problems: &mut Vec<String>) -> Result<(), String> {
    // Built from pieces so this file does not match itself.
    let banned = [
        (concat!("todo", "!("), "a stub"),
        (concat!("unimplemented", "!("), "a stub"),
        (
            concat!("#[", "ignore"),
            "an ignored test: run it or delete it",
        ),
        (
            concat!("doc_auto", "_cfg"),
            "a removed rustdoc feature: use doc(cfg(...))",
        ),
    ];
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "fuzz", "examples", "checks"] {
        rust_files(&root.join(dir), &mut files);
    }
    for file in files {
        let text = read(&file)?;
        for (pattern, why) in banned {
            if text.contains(pattern) {
                let shown = file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                problems.push(format!("{shown}: contains `{pattern}`, {why}"));
            }
        }
    }
    Ok(())
}

/// Every project under `checks/` is run by `cargo xtask ci`, has a committed lock file
/// (it is built with `--locked`) and is excluded from the root workspace.
fn check_checks(root: &Path, problems: &mut Vec<String>) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(root.join("checks")) else {
        return Ok(());
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.path().join("Cargo.toml").is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if !crate::ci::CHECKS.contains(&name.as_str()) {
            problems.push(format!(
                "checks/{name} is not run by `cargo xtask ci` (ci::CHECKS)"
            ));
        }
        if !entry.path().join("Cargo.lock").is_file() {
            problems.push(format!(
                "checks/{name} has no Cargo.lock (ci builds it --locked)"
            ));
        }
    }
    for name in crate::ci::CHECKS {
        if !root.join("checks").join(name).join("Cargo.toml").is_file() {
            problems.push(format!(
                "ci::CHECKS names checks/{name}, which does not exist"
            ));
        }
    }
    let manifest = read(&root.join("Cargo.toml"))?;
    if !manifest.contains("\"checks\"") {
        problems.push("Cargo.toml: the workspace does not exclude \"checks\"".to_owned());
    }
    Ok(())
}

/// Test-vector files name their source in a header.
fn check_vectors(
    root: &Path,
    crates: &[PathBuf],
    problems: &mut Vec<String>,
) -> Result<(), String> {
    for dir in crates {
        let Ok(entries) = fs::read_dir(dir.join("tests/vectors")) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let is_data = path.extension().is_some_and(|e| e == "txt")
                && path.file_name().is_some_and(|n| n != "requirements.txt");
            if !is_data {
                continue;
            }
            let text = read(&path)?;
            let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
            let named = header
                .iter()
                .any(|l| l.contains("generated by") || l.contains("RFC") || l.contains("Source"));
            if !named {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                problems.push(format!("{shown}: header does not name the vectors' source"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn repository_is_tidy() {
        if let Err(problems) = super::check(&crate::workspace_root()) {
            panic!("{problems}");
        }
    }
}
