//! The reference service's commands in `docs/runbooks/`: every `secure-api ...` command of
//! every runbook runs here, against the built binary, with the documented output compared.
//!
//! `crates/palisade-cli/tests/runbooks.rs` runs every other command. Both split a runbook's
//! commands with palisade-testkit's `runbook::Runner::of` (this test takes the
//! `Runner::SecureApi` ones, that test the rest, and a command that mixes the two fails both),
//! so every command of every runbook is run by exactly one test. Each runbook's service
//! commands run top to bottom in one `bash` session, in a directory holding the service's
//! files (a keyring, its database) and a `secure-api.toml` naming them, with the service's
//! secrets in the environment and the built `secure-api` first on `PATH`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{SECRETS, Server, keyring_made_days_ago};
use palisade_testkit::runbook::{self, Runner};

/// The configuration the runbooks' commands name: the service's files in the directory.
const CONFIG: &str = "database = \"secure-api.db\"\naudit_dir = \"audit\"\nkeyring = \"keyring\"\n";

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// What a runbook's service commands run against.
fn prepare(name: &str, dir: &Path) {
    std::fs::write(dir.join("secure-api.toml"), CONFIG).unwrap();
    match name {
        // A suspected leak: rotate now, whatever the key's age.
        "key-compromise.md" => {
            keyring_made_days_ago(dir, 10);
        }
        // The scheduled rotation that did not run: the key is past the 90-day period.
        "key-rotation.md" => {
            keyring_made_days_ago(dir, 100);
        }
        other => panic!("docs/runbooks/{other}: add its secure-api fixture to tests/runbooks.rs"),
    }
}

#[test]
fn every_secure_api_command_in_the_runbooks_runs_and_shows_the_documented_output() {
    let bin = Path::new(env!("CARGO_BIN_EXE_secure-api"));
    let env: Vec<(String, String)> = SECRETS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut failures = Vec::new();
    let mut ran = Vec::new();
    for file in runbook::runbooks(&repo().join("docs/runbooks")) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let all = runbook::steps(&text);
        let mut steps = Vec::new();
        for step in &all {
            match Runner::of(&step.command) {
                Ok(Runner::SecureApi) => steps.push(step),
                Ok(Runner::Palisade) => {}
                Err(e) => failures.push(format!("docs/runbooks/{name}:{}: {e}", step.line)),
            }
        }
        if steps.is_empty() {
            continue;
        }
        let dir = Server::temp_dir(&format!("runbook-{}", name.trim_end_matches(".md")));
        prepare(&name, &dir);
        let results = runbook::run_session(&dir, &steps, bin.parent().unwrap(), &env);
        for (step, (out, rc)) in steps.iter().zip(results) {
            ran.push(format!("{name}:{}", step.line));
            failures.extend(runbook::failure(&name, step, &out, rc));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // key-compromise.md's rotate-keys, key-rotation.md's two `--if-due` runs.
    assert!(ran.len() >= 3, "only {ran:?}");
}
