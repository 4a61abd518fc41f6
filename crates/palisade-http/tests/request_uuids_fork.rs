//! `RequestUuids` across `fork`: a child process must not make the ids its parent makes next.
//! Both start from the same per-thread generator state, so without fork detection the child
//! would continue the parent's stream and every id after the fork would be issued twice.
//!
//! The test calls `fork(2)` through `libc`, the one `unsafe` in palisade-http's tests: there is
//! no safe way to fork in Rust. The library itself forbids unsafe code; integration tests are
//! separate crates under the workspace lints, which allow it.

#![cfg(unix)]

use std::collections::HashSet;

use http::Request;
use palisade_http::{RequestUuids, tower_http::request_id::MakeRequestId};

/// `n` ids from this thread's generator, as text.
fn ids(n: usize) -> Vec<String> {
    let mut make = RequestUuids::new();
    let request = Request::new(());
    (0..n)
        .map(|_| {
            let id = make.make_request_id(&request).expect("an id");
            id.header_value().to_str().expect("ASCII").to_owned()
        })
        .collect()
}

/// Forks; the child makes `n` ids and reports them through a file; the parent makes `n` of its
/// own after the fork. Returns (the child's, the parent's).
fn fork_and_make(n: usize) -> (Vec<String>, Vec<String>) {
    let path = std::env::temp_dir().join(format!(
        "palisade-http-uuids-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    // SAFETY: fork(2) has no preconditions; in the child only this thread exists, and it
    // touches nothing another thread could have held locked at the fork (the generator is this
    // thread's own), then leaves through `_exit` without unwinding into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let written = std::panic::catch_unwind(|| std::fs::write(&path, ids(n).join("\n")));
        let code = i32::from(!matches!(written, Ok(Ok(()))));
        // SAFETY: ends the child at once, as a forked child of a threaded process must.
        unsafe { libc::_exit(code) };
    }
    let ours = ids(n);
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status})"
    );
    let text = std::fs::read_to_string(&path).expect("the child's ids");
    let _ = std::fs::remove_file(&path);
    (text.lines().map(str::to_owned).collect(), ours)
}

/// The parent's generator is seeded and mid-stream when it forks.
#[test]
fn a_forked_child_makes_other_ids_than_its_parent() {
    let before = ids(5);
    let (child, parent) = fork_and_make(64);
    assert_eq!((child.len(), parent.len()), (64, 64));
    let parent: HashSet<_> = parent.into_iter().chain(before).collect();
    let shared = child.iter().filter(|id| parent.contains(*id)).count();
    assert_eq!(shared, 0, "the child repeated {shared} of its parent's ids");
    assert_eq!(child.iter().collect::<HashSet<_>>().len(), 64);
}

/// Two children forked from one parent at different points of its stream: no id twice among
/// the three of them.
#[test]
fn each_of_two_forks_is_detected() {
    ids(3);
    let (child, parent) = fork_and_make(16);
    let (again, parent_again) = fork_and_make(16);
    let all: Vec<_> = [child, parent, again, parent_again].concat();
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
}
