//! Every command in `docs/runbooks/` runs here. A runbook's commands are its `console` blocks:
//! `$ ` starts a command, `> ` continues it, and the lines up to the next command are its
//! expected output (standard output and error together). In expected output `[..]` matches any
//! text within a line and a line `...` matches any number of lines. Each runbook runs top to
//! bottom in one `bash` session (so a variable set by one command is seen by the next), in a
//! directory the test prepares for it (a keyring, encrypted values, an audit log, a Redis
//! server), with the built `palisade` first on `PATH`. Every command must exit 0: a runbook
//! shows an expected failure as `...; echo "exit $?"`.
//!
//! The reference service's commands (`secure-api ...`) are not run here but by
//! `examples/secure-api/tests/runbooks.rs`, against the service's binary; both tests split
//! the commands with palisade-testkit's `runbook::Runner::of`, which refuses a command that
//! mixes the two, so every command is run by exactly one of them. The parser, the matcher and
//! the session are palisade-testkit's `runbook` module.
//!
//! Runbooks may hold no other command: every fenced block is `console` or `text`, and a `text`
//! block has no `$ ` line. The alert rules' `runbook_url`s and the README's links must name a
//! runbook and a heading that exist.

mod common;

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use common::{BIN, Scratch, run_env};
use palisade_crypt::{Keyring, ManualClock, MasterKey};
use palisade_testkit::runbook::{self, Runner};

const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runbooks() -> Vec<PathBuf> {
    runbook::runbooks(&repo().join("docs/runbooks"))
}

fn pk(dir: &Path, args: &[&str], stdin: &[u8]) -> String {
    let _ = dir;
    let r = run_env(args, stdin, &[("PALISADE_MASTER_KEY", MASTER)]);
    r.expect_code(0);
    r.stdout_str()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// `keyring.pck`, made `days_old` days ago, and `phones.tsv`: three rows of context, tab,
/// ciphertext under its primary key.
fn keyring_and_values(dir: &Path, days_old: u64) {
    let keyring_path = dir.join("keyring.pck");
    let clock = Arc::new(ManualClock::new(now() - days_old * 86_400));
    let mut keyring = Keyring::generate_with_clock(clock).expect("keyring");
    keyring
        .save_new(
            &keyring_path,
            &MasterKey::from_base64(MASTER).expect("master"),
        )
        .expect("save");
    let file = keyring_path.to_string_lossy().into_owned();
    let mut tsv = String::new();
    for (row, phone) in ["+44 20 7946 0000", "+44 20 7946 0001", "+1 555 0100"]
        .iter()
        .enumerate()
    {
        let context = format!("users.phone;row={}", row + 1);
        let ct = pk(
            dir,
            &["encrypt", "--keyring", &file, "--context", &context],
            phone.as_bytes(),
        );
        let _ = write!(tsv, "{context}\t{ct}");
    }
    std::fs::write(dir.join("phones.tsv"), tsv).expect("phones.tsv");
}

/// `jwt-key` (a raw HS256 secret) and `token.txt`, a token it signed.
fn signing_key_and_token(dir: &Path) {
    let key = dir.join("jwt-key");
    std::fs::write(&key, [0x5a; 32]).expect("jwt-key");
    let key = key.to_string_lossy().into_owned();
    let token = pk(
        dir,
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &key,
            "--sub",
            "alice",
        ],
        b"",
    );
    std::fs::write(dir.join("token.txt"), token).expect("token.txt");
}

/// `audit/` with three records, its verifier bundle `audit.verifier` and a checkpoint note a
/// witness kept, `witness.note`; with `tamper`, the second record is then altered.
fn audit_log(dir: &Path, tamper: bool) {
    let log = dir.join("audit").to_string_lossy().into_owned();
    let bundle = dir.join("audit.verifier").to_string_lossy().into_owned();
    pk(
        dir,
        &["audit", "init", &log, "--verifier-out", &bundle],
        b"",
    );
    let events = concat!(
        r#"{"action":"login","actor":"alice","outcome":"success"}"#,
        "\n",
        r#"{"action":"role.granted","actor":"alice","target":"bob","outcome":"success"}"#,
        "\n",
        r#"{"action":"logout","actor":"alice","outcome":"success"}"#,
        "\n",
    );
    pk(dir, &["audit", "append", &log], events.as_bytes());
    let note = pk(dir, &["audit", "checkpoint", &log], b"");
    std::fs::write(dir.join("witness.note"), note).expect("witness.note");
    if tamper {
        let segment = std::fs::read_dir(dir.join("audit"))
            .expect("audit dir")
            .map(|e| e.expect("entry").path())
            .find(|p| p.to_string_lossy().ends_with(".jsonl"))
            .expect("a segment");
        let text = std::fs::read_to_string(&segment).expect("segment");
        assert!(text.contains(r#""target":"bob""#));
        std::fs::write(
            &segment,
            text.replace(r#""target":"bob""#, r#""target":"eve""#),
        )
        .expect("tamper");
    }
}

/// What each runbook's commands run against: extra environment, and a Redis server kept
/// running until the runbook has run.
fn prepare(
    name: &str,
    dir: &Path,
) -> (Vec<(String, String)>, Option<palisade_testkit::RedisServer>) {
    match name {
        "key-compromise.md" => {
            keyring_and_values(dir, 40);
            signing_key_and_token(dir);
        }
        "key-rotation.md" => keyring_and_values(dir, 100),
        "audit-tamper.md" => audit_log(dir, true),
        "alerts.md" => {
            keyring_and_values(dir, 10);
            audit_log(dir, false);
        }
        "pepper-rotation.md" => {
            std::fs::write(dir.join("pepper-1"), [0x11; 32]).expect("pepper-1");
        }
        "README.md" => {}
        "redis-outage.md" => {
            let redis = palisade_testkit::RedisServer::start().expect("redis-server");
            return (vec![("REDIS_URL".into(), redis.url())], Some(redis));
        }
        other => panic!("docs/runbooks/{other}: add its fixture to tests/runbooks.rs"),
    }
    (Vec::new(), None)
}

#[test]
fn every_runbook_command_runs_and_shows_the_documented_output() {
    let files = runbooks();
    assert!(files.len() >= 5, "{files:?}");
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut left = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(file).expect("runbook");
        let all = runbook::steps(&text);
        // The reference service's commands are run by examples/secure-api/tests/runbooks.rs,
        // which takes exactly the steps this one leaves; no command is of neither kind.
        let mut steps = Vec::new();
        for step in &all {
            match Runner::of(&step.command) {
                Ok(Runner::Palisade) => steps.push(step),
                Ok(Runner::SecureApi) => left.push(format!("{name}:{}", step.line)),
                Err(e) => failures.push(format!("docs/runbooks/{name}:{}: {e}", step.line)),
            }
        }
        let scratch = Scratch::new(&format!("runbook-{}", name.trim_end_matches(".md")));
        let (mut env, _redis) = prepare(&name, scratch.path());
        env.push(("PALISADE_MASTER_KEY".into(), MASTER.into()));
        let results = runbook::run_session(scratch.path(), &steps, bin_dir, &env);
        for (step, (out, rc)) in steps.iter().zip(results) {
            ran += 1;
            failures.extend(runbook::failure(&name, step, &out, rc));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 20, "only {ran} runbook commands");
    // The split is real: the service's test has commands to run (see its `runbooks.rs`).
    assert!(left.len() >= 2, "secure-api commands: {left:?}");
}

#[test]
fn runbooks_hold_no_command_that_is_not_run() {
    for file in runbooks() {
        let text = std::fs::read_to_string(&file).expect("runbook");
        for (info, line, lines) in runbook::fenced_blocks(&text) {
            assert!(
                info == "console" || info == "text",
                "{}:{line}: a ```{info} block; commands go in ```console blocks, which the test runs",
                file.display()
            );
            if info == "text" {
                assert!(
                    lines.iter().all(|l| !l.starts_with("$ ")),
                    "{}:{line}: a command in a ```text block",
                    file.display()
                );
            }
        }
    }
}

/// GitHub's anchor for a heading: lowercase, spaces to `-`, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(file: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(file)
        .expect("runbook")
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// `docs/runbooks/NAME.md[#ANCHOR]` exists, with that heading.
fn check_link(from: &str, target: &str) {
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let file = repo().join("docs/runbooks").join(path);
    assert!(file.is_file(), "{from}: {target}: no such runbook");
    if !fragment.is_empty() {
        assert!(
            anchors(&file).contains(fragment),
            "{from}: {target}: no such heading in {path}"
        );
    }
}

#[test]
fn every_alert_links_to_a_runbook_section_that_exists() {
    let rules = std::fs::read_to_string(repo().join("deploy/prometheus/palisade.rules.yml"))
        .expect("rules");
    let prefix = "https://github.com/palisade-rs/palisade/blob/main/docs/runbooks/";
    let alerts = rules.matches("- alert: ").count();
    let urls: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: "))
        .map(|u| u.trim_matches('"'))
        .collect();
    assert_eq!(urls.len(), alerts, "one runbook_url per alert");
    assert!(alerts >= 12);
    for url in urls {
        let target = url
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{url} is not under docs/runbooks/"));
        check_link("palisade.rules.yml", target);
    }
    // The runbooks' own cross-links and the README's links.
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let mut linked = 0;
    for (i, _) in readme.match_indices("](docs/runbooks/") {
        let rest = &readme[i + "](docs/runbooks/".len()..];
        let target = &rest[..rest.find(')').expect("link end")];
        if !target.is_empty() {
            check_link("README.md", target);
            linked += 1;
        }
    }
    assert!(linked >= 4, "README.md links the runbooks");
    for file in runbooks() {
        let text = std::fs::read_to_string(&file).expect("runbook");
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').expect("link end")];
            if let Some(local) = target.strip_prefix('#') {
                assert!(
                    anchors(&file).contains(local),
                    "{}: #{local}",
                    file.display()
                );
            } else if target.split('#').next().is_some_and(|p| {
                Path::new(p)
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("md"))
            }) && !target.contains('/')
            {
                check_link(&file.display().to_string(), target);
            }
        }
    }
}
