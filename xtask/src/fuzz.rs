//! `cargo xtask fuzz`: a short smoke run of every cargo-fuzz target (as rustls's CI does).

use std::fs;

use crate::{
    run::{step, succeeds},
    workspace_root,
};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let seconds: u32 = crate::flag_value(args, "--seconds")?
        .map_or(Ok(10), |s| s.parse())
        .map_err(|e| format!("--seconds: {e}"))?;
    let fuzz_dir = workspace_root().join("fuzz");
    let mut targets: Vec<String> = fs::read_dir(fuzz_dir.join("fuzz_targets"))
        .map_err(|e| format!("fuzz/fuzz_targets: {e}"))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".rs")
                .map(str::to_owned)
        })
        .collect();
    targets.sort();
    let cargo_nightly = || {
        let mut cmd = std::process::Command::new("cargo");
        cmd.arg("+nightly").current_dir(&fuzz_dir);
        cmd
    };
    if !succeeds(cargo_nightly().args(["fuzz", "--version"])) {
        eprintln!(
            "xtask: cargo-fuzz is not installed; installing it with `cargo install --locked cargo-fuzz`"
        );
        step(
            "install cargo-fuzz",
            std::process::Command::new("cargo").args(["install", "--locked", "cargo-fuzz"]),
        )?;
    }
    for target in targets {
        fs::create_dir_all(fuzz_dir.join("corpus").join(&target)).map_err(|e| e.to_string())?;
        // The audit verifier promises bounded work: any input up to 1 MiB within a second.
        let budget: &[&str] = if target == "audit_verify" {
            &["-max_len=1048576", "-timeout=1"]
        } else {
            &[]
        };
        step(
            &format!("fuzz {target} for {seconds}s"),
            cargo_nightly()
                .args(["fuzz", "run", &target])
                // New inputs go to the first (ignored) directory; the committed seeds
                // (valid strings of every format) are read from the second.
                .arg(fuzz_dir.join("corpus").join(&target))
                .arg(fuzz_dir.join("seeds").join(&target))
                .args(["--", &format!("-max_total_time={seconds}")])
                .args(budget),
        )?;
    }
    Ok(())
}
