//! `cargo xtask ci`: everything a change must pass, in order, stopping at the first failure.

use std::process::Command;

use crate::{
    audit, dast,
    run::{cargo, package_targets, step, succeeds, target_dir},
    tidy, workspace_root,
};

/// The projects under `checks/`: `jwt-backends` builds palisade-token with both of
/// jsonwebtoken's crypto backends on, as another crate in an application can leave it.
pub(crate) const CHECKS: [&str; 1] = ["jwt-backends"];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let advisory_db = crate::flag_value(args, "--advisory-db")?;
    let full = args.iter().any(|a| a == "--full");

    step("fmt", &mut cargo(&["fmt", "--all", "--", "--check"]))?;

    // One clippy run over the whole workspace with every feature: each dependency is checked
    // once, with the same features the docs step then reuses. Per-package runs with every
    // feature re-checked shared dependencies under each package's own feature set.
    step(
        "clippy --workspace --all-features",
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // Without default features each package alone, so a feature one package turns on for
    // another cannot hide a missing feature gate. Per change only the libraries and binaries:
    // tests, benches and examples bring each package's dev-dependencies, whose build-time
    // crates (syn, cc) then differ in features from the workspace build's, so every
    // procedural macro and aws-lc's C library were rebuilt once per package. `--full` adds
    // those targets (their code is still compiled, with features unified, by the tests below).
    for package in package_targets()? {
        let mut targets = Vec::new();
        if full {
            targets.push("--all-targets");
        } else {
            if package.lib {
                targets.push("--lib");
            }
            if package.bins {
                targets.push("--bins");
            }
        }
        let mut args = vec!["clippy", "--package", &package.name];
        args.extend_from_slice(&targets);
        args.extend_from_slice(&["--no-default-features", "--", "-D", "warnings"]);
        step(
            &format!(
                "clippy {} --no-default-features {}",
                package.name,
                targets.join(" ")
            ),
            &mut cargo(&args),
        )?;
    }

    // Everything built with every feature runs back to back (tests, the running service,
    // doctests, docs), then the tests without default features: switching the workspace's
    // feature set twice would rebuild the service and its dependencies once more.
    let nextest = succeeds(&mut cargo(&["nextest", "--version"]));
    tests(nextest, "--all-features")?;
    // The reference service, running, attacked: schemathesis and the hostile-request battery.
    eprintln!("xtask: ==> dast");
    let dast_started = std::time::Instant::now();
    dast::run(&[])?;
    eprintln!(
        "xtask: <== dast: {:.1} s",
        dast_started.elapsed().as_secs_f64()
    );
    step(
        "doctests",
        &mut cargo(&["test", "--workspace", "--doc", "--all-features"]),
    )?;
    step(
        "docs",
        cargo(&["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    // docs.rs builds with every feature; a user's `cargo doc` builds with the defaults, where a
    // link to an item behind an optional feature is broken.
    step(
        "docs (default features)",
        cargo(&["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    tests(nextest, "--no-default-features")?;
    // Builds whose features would unify into every build of this workspace live in their own
    // (checks/); they share its target directory, so only what differs is rebuilt.
    let target = target_dir()?;
    for check in CHECKS {
        let manifest = format!("checks/{check}/Cargo.toml");
        step(
            &format!("fmt {check}"),
            &mut cargo(&["fmt", "--manifest-path", &manifest, "--", "--check"]),
        )?;
        step(
            &format!("check {check}"),
            cargo(&["test", "--locked", "--manifest-path", &manifest])
                .env("CARGO_TARGET_DIR", &target),
        )?;
    }

    alert_rules()?;

    eprintln!("xtask: ==> tidy");
    tidy::check(&workspace_root())?;

    // On a fresh cargo home, as a new machine has: the audit must download what it reads.
    audit::audit(advisory_db.as_deref(), audit::CargoHome::Fresh)?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// The workspace's tests with `features`, through cargo-nextest when it is installed.
fn tests(nextest: bool, features: &str) -> Result<(), String> {
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
    step(&format!("tests {features}"), &mut tests)
}

/// The alert rules and their unit tests (`deploy/prometheus/`), with promtool from Debian's
/// `prometheus` package, and the Alertmanager example with amtool from
/// `prometheus-alertmanager` (`.ci/run` installs both).
pub(crate) fn alert_rules() -> Result<(), String> {
    let dir = workspace_root().join("deploy/prometheus");
    for tool in ["promtool", "amtool"] {
        if !succeeds(Command::new(tool).arg("--version")) {
            return Err(format!(
                "{tool} not found: `apt-get install prometheus prometheus-alertmanager` (Debian; \
                 .ci/run installs them)"
            ));
        }
    }
    step(
        "promtool check rules",
        Command::new("promtool")
            .args(["check", "rules", "palisade.rules.yml"])
            .current_dir(&dir),
    )?;
    step(
        "promtool test rules",
        Command::new("promtool")
            .args(["test", "rules", "palisade.rules.test.yml"])
            .current_dir(&dir),
    )?;
    step(
        "amtool check-config",
        Command::new("amtool")
            .args(["check-config", "alertmanager.example.yml"])
            .current_dir(&dir),
    )
}
