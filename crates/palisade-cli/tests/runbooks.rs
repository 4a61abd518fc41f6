//! Every command in `docs/runbooks/` runs here. A runbook's commands are its `console` blocks:
//! `$ ` starts a command, `> ` continues it, and the lines up to the next command are its
//! expected output (standard output and error together). In expected output `[..]` matches any
//! text within a line and a line `...` matches any number of lines. Each runbook runs top to
//! bottom in one `bash` session (so a variable set by one command is seen by the next), in a
//! directory the test prepares for it (a keyring, encrypted values, an audit log, a Redis
//! server), with the built `palisade` first on `PATH`. Every command must exit 0: a runbook
//! shows an expected failure as `...; echo "exit $?"`.
//!
//! Runbooks may hold no other command: every fenced block is `console` or `text`, and a `text`
//! block has no `$ ` line. The alert rules' `runbook_url`s and the README's links must name a
//! runbook and a heading that exist.

mod common;

use std::{
    collections::BTreeSet,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
};

use common::{BIN, Scratch, run_env};
use palisade_crypt::{Keyring, ManualClock, MasterKey};

const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runbooks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("docs/runbooks"))
        .expect("docs/runbooks")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// One command of a runbook: where it is, its text, and the output it shows.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The fenced blocks of a Markdown file: (info string, first line number, lines).
fn fenced_blocks(text: &str) -> Vec<(String, usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize, Vec<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), i + 2, Vec::new())),
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some((_, _, lines)), _) => lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed fenced block");
    blocks
}

fn steps(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (info, first, lines) in fenced_blocks(text) {
        if info != "console" {
            continue;
        }
        let mut continuing = false;
        for (offset, line) in lines.iter().enumerate() {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    line: first + offset,
                    command: command.to_owned(),
                    expected: Vec::new(),
                });
                continuing = true;
            } else if let (true, Some(more)) = (continuing, line.strip_prefix("> ")) {
                let step = steps.last_mut().expect("a command before");
                step.command.push('\n');
                step.command.push_str(more);
            } else {
                let step = steps
                    .last_mut()
                    .unwrap_or_else(|| panic!("output before any command at line {first}"));
                step.expected.push(line.clone());
                continuing = false;
            }
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `[..]` in the pattern matches any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split("[..]");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether `lines` match `patterns`, where a pattern line `...` matches any number of lines.
fn output_matches(patterns: &[String], lines: &[&str]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "..." => {
            (0..=lines.len()).any(|skip| output_matches(rest, &lines[skip..]))
        }
        Some((p, rest)) => lines
            .split_first()
            .is_some_and(|(l, more)| line_matches(p, l) && output_matches(rest, more)),
    }
}

#[test]
fn the_output_matcher_can_fail() {
    let p = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert!(line_matches(
        "key [..] is [..] old",
        "key 1a2b is 3 days old"
    ));
    assert!(!line_matches(
        "key [..] is [..] old",
        "key 1a2b is 3 days young"
    ));
    assert!(!line_matches("exit 0", "exit 1"));
    assert!(line_matches("[..]", ""));
    assert!(output_matches(
        &p(&["a", "...", "z"]),
        &["a", "b", "c", "z"]
    ));
    assert!(output_matches(&p(&["a", "...", "z"]), &["a", "z"]));
    assert!(!output_matches(&p(&["a", "...", "z"]), &["a", "b"]));
    assert!(!output_matches(&p(&["a"]), &["a", "b"]));
    assert!(!output_matches(&p(&[]), &["a"]));
    let s = steps("```console\n$ echo a \\\n> b\na b\n$ true\n```\n```text\n$ not run\n```\n");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].command, "echo a \\\nb");
    assert_eq!(s[0].expected, ["a b"]);
    assert!(s[1].expected.is_empty());
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

/// Runs a runbook's steps in one bash session in `dir`; returns each step's output and status.
fn run_session(dir: &Path, steps: &[Step], env: &[(String, String)]) -> Vec<(String, i32)> {
    let results = dir.join(".runbook");
    std::fs::create_dir_all(&results).expect("results dir");
    let mut script = String::new();
    for (i, step) in steps.iter().enumerate() {
        let _ = write!(
            script,
            "{{\n{}\n}} > \"$RUNBOOK_RESULTS/{i}.out\" 2>&1 < /dev/null\necho $? > \"$RUNBOOK_RESULTS/{i}.rc\"\n",
            step.command
        );
    }
    let bin_dir = Path::new(BIN).parent().expect("bin dir");
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", dir)
        .env("LC_ALL", "C")
        .env("RUNBOOK_RESULTS", &results)
        .env("PALISADE_MASTER_KEY", MASTER)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .status()
        .expect("bash");
    assert!(status.success(), "the session itself failed: {status}");
    (0..steps.len())
        .map(|i| {
            let out = std::fs::read_to_string(results.join(format!("{i}.out"))).unwrap_or_default();
            let rc = std::fs::read_to_string(results.join(format!("{i}.rc")))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(-1);
            (out, rc)
        })
        .collect()
}

#[test]
fn every_runbook_command_runs_and_shows_the_documented_output() {
    let files = runbooks();
    assert!(files.len() >= 5, "{files:?}");
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in &files {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(file).expect("runbook");
        let steps = steps(&text);
        let scratch = Scratch::new(&format!("runbook-{}", name.trim_end_matches(".md")));
        let (env, _redis) = prepare(&name, scratch.path());
        for (step, (out, rc)) in steps.iter().zip(run_session(scratch.path(), &steps, &env)) {
            ran += 1;
            let lines: Vec<&str> = out.lines().collect();
            if rc != 0 || !output_matches(&step.expected, &lines) {
                failures.push(format!(
                    "docs/runbooks/{name}:{}: `{}` exited {rc}\n--- expected\n{}\n--- got\n{}",
                    step.line,
                    step.command,
                    step.expected.join("\n"),
                    out.trim_end()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 20, "only {ran} runbook commands");
}

#[test]
fn runbooks_hold_no_command_that_is_not_run() {
    for file in runbooks() {
        let text = std::fs::read_to_string(&file).expect("runbook");
        for (info, line, lines) in fenced_blocks(&text) {
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
