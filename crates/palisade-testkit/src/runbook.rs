//! The commands of `docs/runbooks/`: parsed from their `console` blocks, split by the test
//! that runs them, run in one `bash` session per runbook, and their output compared.
//!
//! A runbook's commands are its `console` blocks: `$ ` starts a command, `> ` continues it,
//! and the lines up to the next command are its expected output (standard output and error
//! together). In expected output `[..]` matches any text within a line and a line `...`
//! matches any number of lines.
//!
//! Two tests share the commands: `crates/palisade-cli/tests/runbooks.rs` runs every
//! [`Runner::Palisade`] command (the `palisade` CLI and shell tools) and
//! `examples/secure-api/tests/runbooks.rs` every [`Runner::SecureApi`] one (the reference
//! service's binary); [`Runner::of`] decides for both, so no command falls between them.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

/// One command of a runbook: where it is, its text, and the output it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Line of the `$ ` in the runbook, from 1.
    pub line: usize,
    /// The command (continuation lines joined with `\n`).
    pub command: String,
    /// The output the runbook shows for it.
    pub expected: Vec<String>,
}

/// Which test runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// The reference service's binary: the command starts with `secure-api `. Run by
    /// `examples/secure-api/tests/runbooks.rs`.
    SecureApi,
    /// Everything else: the `palisade` CLI and shell tools. Run by
    /// `crates/palisade-cli/tests/runbooks.rs`.
    Palisade,
}

/// The word that starts a command run by the reference service's test.
const SECURE_API: &str = "secure-api";

impl Runner {
    /// The test that runs `command`.
    ///
    /// # Errors
    ///
    /// A command that names `secure-api` anywhere but at its start (in a pipe, after `cd`):
    /// neither test could run all of it, so it must be split into commands of one kind.
    pub fn of(command: &str) -> Result<Self, String> {
        let first = command.split_whitespace().next().unwrap_or_default();
        if first == SECURE_API {
            return Ok(Self::SecureApi);
        }
        let elsewhere = command
            .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | '$'))
            .any(|word| word == SECURE_API);
        if elsewhere {
            Err(format!(
                "`{command}` runs secure-api after something else: start the command with \
                 `secure-api ` or keep secure-api out of it"
            ))
        } else {
            Ok(Self::Palisade)
        }
    }
}

/// The runbooks in `dir` (`docs/runbooks/`), sorted by name.
///
/// # Panics
///
/// When the directory cannot be read.
pub fn runbooks(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the runbooks' directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// The fenced blocks of a Markdown file: (info string, first line number, lines).
///
/// # Panics
///
/// On a block that is not closed.
pub fn fenced_blocks(text: &str) -> Vec<(String, usize, Vec<String>)> {
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

/// Every command of a runbook, in order.
///
/// # Panics
///
/// On output before the first command of a `console` block.
pub fn steps(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (info, first, lines) in fenced_blocks(text) {
        if info != "console" {
            continue;
        }
        let mut continuing = false;
        let mut in_block = false;
        for (offset, line) in lines.iter().enumerate() {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    line: first + offset,
                    command: command.to_owned(),
                    expected: Vec::new(),
                });
                continuing = true;
                in_block = true;
            } else if let (true, Some(more)) = (continuing, line.strip_prefix("> ")) {
                if let Some(step) = steps.last_mut() {
                    step.command.push('\n');
                    step.command.push_str(more);
                }
            } else {
                assert!(in_block, "output before any command at line {first}");
                if let Some(step) = steps.last_mut() {
                    step.expected.push(line.clone());
                }
                continuing = false;
            }
        }
    }
    steps
}

/// Whether `line` matches `pattern`, where `[..]` in the pattern matches any text.
pub fn line_matches(pattern: &str, line: &str) -> bool {
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
pub fn output_matches(patterns: &[String], lines: &[&str]) -> bool {
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

/// Runs `steps` in one `bash` session in `dir` (so a variable one sets is seen by the next),
/// with a clean environment: `PATH` is `bin_dir` then the system's, `HOME` is `dir`, `LC_ALL`
/// is `C`, plus `env`. Returns each step's output (standard output and error together) and
/// exit status.
///
/// # Panics
///
/// When `bash` cannot be started or the session itself fails.
pub fn run_session(
    dir: &Path,
    steps: &[&Step],
    bin_dir: &Path,
    env: &[(String, String)],
) -> Vec<(String, i32)> {
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

/// Why `step` failed, or `None` when it exited 0 with the documented output.
pub fn failure(runbook: &str, step: &Step, out: &str, rc: i32) -> Option<String> {
    let lines: Vec<&str> = out.lines().collect();
    if rc == 0 && output_matches(&step.expected, &lines) {
        return None;
    }
    Some(format!(
        "docs/runbooks/{runbook}:{}: `{}` exited {rc}\n--- expected\n{}\n--- got\n{}",
        step.line,
        step.command,
        step.expected.join("\n"),
        out.trim_end()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn every_command_has_exactly_one_runner() {
        assert_eq!(
            Runner::of("secure-api rotate-keys --config secure-api.toml"),
            Ok(Runner::SecureApi)
        );
        assert_eq!(Runner::of("secure-api"), Ok(Runner::SecureApi));
        assert_eq!(
            Runner::of("palisade keyring list keyring.pck"),
            Ok(Runner::Palisade)
        );
        // A path that merely contains the name is not the binary.
        assert_eq!(
            Runner::of("cat examples/secure-api/README.md"),
            Ok(Runner::Palisade)
        );
        // The service's binary anywhere but first cannot be run by either test.
        for mixed in [
            "cd /srv && secure-api rotate-keys",
            "true; secure-api rotate-keys",
            "echo | secure-api grant-role a@example.com admin",
            "out=$(secure-api rotate-keys --if-due)",
            "sudo -u api secure-api rotate-keys",
        ] {
            assert!(Runner::of(mixed).is_err(), "{mixed}");
        }
    }
}
