//! Runs the built `palisade` binary as a user would: arguments, standard input, environment.
#![allow(dead_code, unreachable_pub)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

/// What a run gave back.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Exit status `code`; on a failure, `stderr` is exactly one line starting `palisade: `.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "stdout: {}\nstderr: {}",
            self.stdout_str(),
            self.stderr
        );
        if code != 0 {
            assert!(
                self.stderr.starts_with("palisade: ") && self.stderr.lines().count() == 1,
                "stderr must be one line: {:?}",
                self.stderr
            );
        }
        self
    }

    /// Neither stream contains `secret`.
    #[track_caller]
    pub fn never_shows(&self, secret: &[u8]) -> &Self {
        let shows = |hay: &[u8]| hay.windows(secret.len()).any(|w| w == secret);
        assert!(!shows(&self.stdout), "stdout shows a secret");
        assert!(!shows(self.stderr.as_bytes()), "stderr shows a secret");
        self
    }
}

/// Runs `palisade args...` with `stdin` and extra environment variables; the inherited
/// `PALISADE_*` variables are removed so the machine's settings never leak into a test.
pub fn run_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PALISADE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn palisade");
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may exit before reading everything (a usage error): that is fine.
        let _ = pipe.write_all(&input);
    });
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for palisade");
    writer.join().expect("stdin writer");
    Run {
        code: status.code().expect("exited normally, not by a signal"),
        stdout,
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

pub fn run(args: &[&str], stdin: &[u8]) -> Run {
    run_env(args, stdin, &[])
}

/// A scratch directory, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "palisade-cli-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A file in the directory with these bytes; returns its path as a string.
    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write scratch file");
        path.to_string_lossy().into_owned()
    }

    pub fn join(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
