//! Running commands and reporting them.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use crate::workspace_root;

/// A `cargo` command in the workspace root.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(workspace_root());
    cmd
}

/// Runs `cmd` under a step name; an error names the step and the command.
pub(crate) fn step(name: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: ==> {name}: {}", show(cmd));
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: could not start `{}`: {e}", show(cmd)))?;
    eprintln!(
        "xtask: <== {name}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status}): `{}`", show(cmd)))
    }
}

/// Whether `cmd` runs and exits 0, with its output hidden.
pub(crate) fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command line, for messages.
pub(crate) fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// `cargo metadata` for the workspace's own packages.
pub(crate) fn metadata() -> Result<serde_json::Value, String> {
    let out = cargo(&["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err("cargo metadata failed".into());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))
}

/// The cargo target directory (honours `CARGO_TARGET_DIR` and config).
pub(crate) fn target_dir() -> Result<PathBuf, String> {
    metadata()?["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".into())
}

/// A workspace package and whether it has a library and binaries, for commands that select
/// targets (cargo refuses `--lib` on a package without one).
pub(crate) struct PackageTargets {
    pub(crate) name: String,
    pub(crate) lib: bool,
    pub(crate) bins: bool,
}

pub(crate) fn package_targets() -> Result<Vec<PackageTargets>, String> {
    let meta = metadata()?;
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    Ok(packages
        .iter()
        .filter_map(|p| {
            let kinds: Vec<&str> = p["targets"]
                .as_array()?
                .iter()
                .filter_map(|t| t["kind"].as_array())
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .collect();
            Some(PackageTargets {
                name: p["name"].as_str()?.to_owned(),
                lib: kinds
                    .iter()
                    .any(|k| matches!(*k, "lib" | "rlib" | "proc-macro")),
                bins: kinds.contains(&"bin"),
            })
        })
        .collect())
}
