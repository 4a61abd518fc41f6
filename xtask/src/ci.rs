//! `cargo xtask ci`: everything a change must pass, in order, stopping at the first failure.

use crate::{
    audit,
    run::{cargo, packages, step, succeeds},
    tidy, workspace_root,
};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let advisory_db = crate::flag_value(args, "--advisory-db")?;

    step("fmt", &mut cargo(&["fmt", "--all", "--", "--check"]))?;

    for package in packages()? {
        for features in ["--all-features", "--no-default-features"] {
            step(
                &format!("clippy {package} {features}"),
                &mut cargo(&[
                    "clippy",
                    "--package",
                    &package,
                    "--all-targets",
                    features,
                    "--",
                    "-D",
                    "warnings",
                ]),
            )?;
        }
    }

    let nextest = succeeds(&mut cargo(&["nextest", "--version"]));
    for features in ["--all-features", "--no-default-features"] {
        let mut tests = if nextest {
            cargo(&["nextest", "run", "--workspace", features])
        } else {
            eprintln!("xtask: cargo-nextest not found; using cargo test");
            cargo(&[
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                features,
            ])
        };
        step(&format!("tests {features}"), &mut tests)?;
    }
    step(
        "doctests",
        &mut cargo(&["test", "--workspace", "--doc", "--all-features"]),
    )?;

    step(
        "docs",
        cargo(&["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;

    eprintln!("xtask: ==> tidy");
    tidy::check(&workspace_root())?;

    // On a fresh cargo home, as a new machine has: the audit must download what it reads.
    audit::audit(advisory_db.as_deref(), audit::CargoHome::Fresh)?;
    eprintln!("xtask: ci passed");
    Ok(())
}
