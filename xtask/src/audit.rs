//! `cargo xtask audit`: the supply-chain and policy checks to run before a release, and a
//! CycloneDX SBOM of every published crate and of the reference service.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{
    run::{cargo, metadata, step, succeeds, target_dir},
    workspace_root,
};

/// Directory name cargo-deny gives its clone of the default RustSec database
/// (`https://github.com/rustsec/advisory-db`) under `db-path`.
const DEFAULT_DB_DIR: &str = "advisory-db-3157b0e258782691";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let advisory_db = crate::flag_value(args, "--advisory-db")?;
    let home = if args.iter().any(|a| a == "--fresh-cargo-home") {
        CargoHome::Fresh
    } else {
        CargoHome::Inherited
    };
    audit(advisory_db.as_deref(), home)
}

/// Which cargo home the dependency checks run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CargoHome {
    /// The caller's (`$CARGO_HOME` or `~/.cargo`), with whatever its package cache holds.
    Inherited,
    /// An empty directory made for this run, as on a machine that has never built the
    /// workspace: every package the checks read must be downloaded by the checks themselves.
    Fresh,
}

pub(crate) fn audit(advisory_db: Option<&str>, home: CargoHome) -> Result<(), String> {
    let fresh_home = cargo_deny(advisory_db, home)?;
    sbom(fresh_home.as_deref())?;
    forbid_unsafe()?;
    publish_metadata()?;
    eprintln!("xtask: audit passed");
    Ok(())
}

/// Runs cargo-deny; returns the fresh cargo home it used, if any (every package in the lock
/// file fetched into it).
fn cargo_deny(advisory_db: Option<&str>, home: CargoHome) -> Result<Option<PathBuf>, String> {
    if !succeeds(&mut cargo(&["deny", "--version"])) {
        eprintln!(
            "xtask: cargo-deny is not installed; installing it now with \
             `cargo install --locked cargo-deny` (a few minutes, once)"
        );
        step(
            "install cargo-deny",
            &mut cargo(&["install", "--locked", "cargo-deny"]),
        )?;
    }
    let root = workspace_root();
    let config = root.join("deny.toml");
    let fresh_home = match home {
        CargoHome::Inherited => None,
        CargoHome::Fresh => Some(fresh_cargo_home()?),
    };
    // Runs a cargo command with the chosen cargo home.
    let with_home = |args: &[&str]| {
        let mut cmd = cargo(args);
        if let Some(dir) = &fresh_home {
            cmd.env("CARGO_HOME", dir);
        }
        cmd
    };
    // cargo-deny checks the graph for every target and feature (`all-features = true`), so it
    // reads the manifests of packages no native build downloads (wasm-only and optional ones).
    // Fetching the whole lock file first is what lets the check itself run offline.
    step(
        "cargo fetch (every package in Cargo.lock, for every target)",
        &mut with_home(&["fetch", "--locked"]),
    )?;
    match advisory_db {
        None => step(
            "cargo deny",
            with_home(&["deny", "--config"]).arg(&config).arg("check"),
        )?,
        Some(copy) => {
            let db_path = target_dir()?.join("advisory-dbs");
            prepare_offline_db(Path::new(copy), &db_path.join(DEFAULT_DB_DIR))?;
            let text = fs::read_to_string(&config).map_err(|e| format!("deny.toml: {e}"))?;
            let offline = text.replacen(
                "[advisories]",
                &format!(
                    "[advisories]\ndb-path = {:?}",
                    db_path.display().to_string()
                ),
                1,
            );
            let offline_config = db_path.join("deny-offline.toml");
            fs::write(&offline_config, offline).map_err(|e| format!("{e}"))?;
            step(
                "cargo deny (offline advisory database)",
                with_home(&["deny", "--offline", "--config"])
                    .arg(&offline_config)
                    .arg("check"),
            )?;
        }
    }
    Ok(fresh_home)
}

/// The cargo-cyclonedx release `cargo xtask audit` installs when none is found.
const CYCLONEDX_VERSION: &str = "0.5.9";

/// The name cargo-cyclonedx writes each package's SBOM under, beside its manifest (`.json` is
/// added); moved under the target directory at once.
const SBOM_SCRATCH_NAME: &str = "xtask-sbom-scratch";

/// Where the SBOMs go: `<target>/sbom/<package>.cdx.json`.
pub(crate) fn sbom_dir() -> Result<PathBuf, String> {
    Ok(target_dir()?.join("sbom"))
}

/// The `cargo cyclonedx` command: the one on `PATH`, else the one installed under
/// `~/.cache/palisade/tools` (outside the clone, so later runs and clones reuse it), installed
/// there now if missing.
fn cyclonedx() -> Result<Command, String> {
    if succeeds(&mut cargo(&["cyclonedx", "--version"])) {
        return Ok(cargo(&["cyclonedx"]));
    }
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let root = Path::new(&home).join(".cache/palisade/tools");
    let binary = root.join("bin/cargo-cyclonedx");
    if !binary.is_file() {
        eprintln!(
            "xtask: cargo-cyclonedx is not installed; installing {CYCLONEDX_VERSION} into {} \
             (a few minutes, once per machine)",
            root.display()
        );
        let mut install = cargo(&["install", "--locked", "--version", CYCLONEDX_VERSION]);
        // Built in a temporary directory, not the workspace's target directory.
        install
            .arg("--root")
            .arg(&root)
            .arg("cargo-cyclonedx")
            .env_remove("CARGO_TARGET_DIR");
        step("install cargo-cyclonedx", &mut install)?;
    }
    let mut cmd = Command::new(binary);
    cmd.arg("cyclonedx").current_dir(workspace_root());
    Ok(cmd)
}

/// A CycloneDX SBOM (JSON, spec 1.5) of every published crate and of the reference service,
/// under [`sbom_dir`]: every package each can be built with (all features, every target),
/// build dependencies included. Each is checked to be a CycloneDX document about its package
/// listing its components. `fresh_home`: the cargo home the dependencies were fetched into.
fn sbom(fresh_home: Option<&Path>) -> Result<(), String> {
    let meta = metadata()?;
    let mut packages: Vec<(String, PathBuf)> = Vec::new();
    let mut scratch = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let Some(dir) = p["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
        else {
            continue;
        };
        let file = dir.join(format!("{SBOM_SCRATCH_NAME}.json"));
        scratch.push(file.clone());
        let published = !p["publish"].as_array().is_some_and(Vec::is_empty);
        if published || name == "secure-api" {
            packages.push((name, file));
        }
    }
    let mut cmd = cyclonedx()?;
    cmd.args(["--format", "json", "--spec-version", "1.5"])
        .args(["--all-features", "--target", "all", "--quiet"])
        .args(["--override-filename", SBOM_SCRATCH_NAME])
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"));
    if let Some(home) = fresh_home {
        // Everything was fetched into it: no network needed.
        cmd.env("CARGO_HOME", home).env("CARGO_NET_OFFLINE", "true");
    }
    // The commit's time, not the clock's, so the same commit gives the same timestamp.
    if let Ok(out) = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(workspace_root())
        .output()
        && out.status.success()
    {
        cmd.env(
            "SOURCE_DATE_EPOCH",
            String::from_utf8_lossy(&out.stdout).trim(),
        );
    }
    let generated = step("cargo cyclonedx", &mut cmd);
    let out = sbom_dir()?;
    let moved = generated.and_then(|()| {
        if out.exists() {
            fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut summary = Vec::new();
        for (name, file) in &packages {
            let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let components = check_sbom(&text, name)?;
            let dest = out.join(format!("{name}.cdx.json"));
            fs::write(&dest, text).map_err(|e| format!("{}: {e}", dest.display()))?;
            summary.push(format!("{name} ({components} components)"));
        }
        Ok(summary)
    });
    // The scratch files are written into the source tree: never leave them there.
    for file in &scratch {
        let _ = fs::remove_file(file);
    }
    let summary = moved?;
    eprintln!(
        "xtask: ==> sbom: {} CycloneDX documents in {}: {}",
        summary.len(),
        out.display(),
        summary.join(", ")
    );
    Ok(())
}

/// Checks that `text` is a CycloneDX JSON document about the package `name` that lists its
/// components, each named, versioned and with a `pkg:cargo` package URL; their number.
pub(crate) fn check_sbom(text: &str, name: &str) -> Result<usize, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("SBOM of {name}: not JSON: {e}"))?;
    if doc["bomFormat"] != "CycloneDX" {
        return Err(format!("SBOM of {name}: bomFormat is not CycloneDX"));
    }
    if doc["specVersion"] != "1.5" {
        return Err(format!("SBOM of {name}: specVersion is not 1.5"));
    }
    if doc["metadata"]["component"]["name"] != name {
        return Err(format!(
            "SBOM of {name}: it describes {} instead",
            doc["metadata"]["component"]["name"]
        ));
    }
    let components = doc["components"]
        .as_array()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("SBOM of {name}: no components"))?;
    for c in components {
        let named = c["name"].as_str().is_some_and(|n| !n.is_empty());
        let versioned = c["version"].as_str().is_some_and(|v| !v.is_empty());
        let purl = c["purl"]
            .as_str()
            .is_some_and(|p| p.starts_with("pkg:cargo/"));
        if !(named && versioned && purl) {
            return Err(format!(
                "SBOM of {name}: a component without a name, version or pkg:cargo purl: {c}"
            ));
        }
    }
    Ok(components.len())
}

/// An empty cargo home under the target directory, emptied again on every run.
fn fresh_cargo_home() -> Result<PathBuf, String> {
    let dir = target_dir()?.join("audit-cargo-home");
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    eprintln!(
        "xtask: dependency checks run with an empty CARGO_HOME at {}",
        dir.display()
    );
    Ok(dir)
}

/// Copies a plain directory tree of the RustSec database to `dest` and makes it the git
/// checkout cargo-deny expects. Replaced on every run so it never lags its source.
fn prepare_offline_db(source: &Path, dest: &Path) -> Result<(), String> {
    if !source.join("crates").is_dir() {
        return Err(format!(
            "{} does not look like the RustSec advisory database (no crates/ directory)",
            source.display()
        ));
    }
    eprintln!(
        "xtask: using the offline advisory database at {} (copied to {})",
        source.display(),
        dest.display()
    );
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    copy_tree(source, dest)?;
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dest)
            .args(["-c", "user.name=xtask", "-c", "user.email=xtask@localhost"])
            .args(args);
        cmd
    };
    for args in [
        &["init", "--quiet"][..],
        &["add", "--all"][..],
        &[
            "commit",
            "--quiet",
            "--no-gpg-sign",
            "-m",
            "offline advisory-db copy",
        ][..],
    ] {
        if !succeeds(&mut git(args)) {
            return Err(format!(
                "git {} in {} failed",
                args.join(" "),
                dest.display()
            ));
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_name() == ".git" {
            continue;
        }
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
    }
    Ok(())
}

/// Every crate root in the workspace forbids unsafe code.
fn forbid_unsafe() -> Result<(), String> {
    let root = workspace_root();
    let mut missing = Vec::new();
    let mut dirs = crate::tidy::crate_dirs(&root)?;
    dirs.push(root.join("xtask"));
    for dir in dirs {
        for file in ["src/lib.rs", "src/main.rs"] {
            let path = dir.join(file);
            if let Ok(text) = fs::read_to_string(&path)
                && !text.contains("#![forbid(unsafe_code)]")
            {
                missing.push(path.display().to_string());
            }
        }
    }
    if missing.is_empty() {
        eprintln!("xtask: ==> forbid(unsafe_code): every crate root forbids unsafe code");
        Ok(())
    } else {
        Err(format!(
            "missing #![forbid(unsafe_code)] in: {}",
            missing.join(", ")
        ))
    }
}

/// Every publishable crate has the metadata crates.io and docs.rs need, and packages.
fn publish_metadata() -> Result<(), String> {
    let meta = metadata()?;
    let mut problems = Vec::new();
    let mut publishable = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or("?");
        if p["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        publishable.push(name.to_owned());
        let nonempty = |key: &str| p[key].as_str().is_some_and(|s| !s.trim().is_empty());
        for key in ["description", "license", "repository", "readme"] {
            if !nonempty(key) {
                problems.push(format!("{name}: no `{key}`"));
            }
        }
        if p["keywords"].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{name}: no `keywords`"));
        }
        if p["categories"].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{name}: no `categories`"));
        }
        if p["metadata"]["docs"]["rs"]["all-features"].as_bool() != Some(true) {
            problems.push(format!(
                "{name}: no [package.metadata.docs.rs] all-features = true"
            ));
        }
        if let Some(manifest) = p["manifest_path"].as_str() {
            let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
            // Which files every crate must carry is tidy's rule; here, the README the
            // manifest names (the crates.io and docs.rs page) must exist.
            if let Some(readme) = p["readme"].as_str()
                && !dir.join(readme).is_file()
            {
                problems.push(format!("{name}: readme {readme} does not exist"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(format!("publish metadata:\n  {}", problems.join("\n  ")));
    }
    eprintln!(
        "xtask: ==> metadata: {} publishable crates complete",
        publishable.len()
    );
    let mut package = cargo(&["package", "--no-verify", "--allow-dirty", "--quiet"]);
    for name in &publishable {
        package.args(["--package", name]);
    }
    step("cargo package", &mut package)
}

#[cfg(test)]
mod tests {
    use super::check_sbom;

    fn doc(component: &str, components: &str) -> String {
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
                "metadata":{{"component":{{"type":"library","name":"{component}","version":"0.1.0"}}}},
                "components":{components}}}"#
        )
    }

    const ONE: &str =
        r#"[{"type":"library","name":"subtle","version":"2.6.1","purl":"pkg:cargo/subtle@2.6.1"}]"#;

    #[test]
    fn an_sbom_about_its_package_with_components_passes() {
        assert_eq!(
            check_sbom(&doc("palisade-token", ONE), "palisade-token"),
            Ok(1)
        );
    }

    #[test]
    fn a_broken_or_empty_or_foreign_sbom_fails() {
        for (text, expected) in [
            ("not json".to_owned(), "not JSON"),
            (doc("palisade-token", "[]"), "no components"),
            (doc("palisade-token", "null"), "no components"),
            (doc("other", ONE), "describes"),
            (
                doc("palisade-token", r#"[{"name":"subtle","version":"2.6.1"}]"#),
                "pkg:cargo purl",
            ),
            (
                doc("palisade-token", ONE).replace("CycloneDX", "SPDX"),
                "bomFormat",
            ),
        ] {
            let err = check_sbom(&text, "palisade-token").unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}
