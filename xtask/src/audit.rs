//! `cargo xtask audit`: the supply-chain and policy checks to run before a release.

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
    cargo_deny(advisory_db, home)?;
    forbid_unsafe()?;
    publish_metadata()?;
    eprintln!("xtask: audit passed");
    Ok(())
}

fn cargo_deny(advisory_db: Option<&str>, home: CargoHome) -> Result<(), String> {
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
        ),
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
            )
        }
    }
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
