//! Nonces: every encryption carries a 96-bit nonce that no other encryption under the same
//! subkey repeats, across many values, many threads and the generator's reseeds, and across
//! `fork`: a child process must not draw the nonces its parent draws next.
//!
//! The fork tests call `fork(2)` through `libc`, the one `unsafe` in palisade-crypt's tests:
//! there is no safe way to fork in Rust. The library itself forbids unsafe code; integration
//! tests are separate crates under the workspace lints, which allow it.

use std::collections::HashSet;

use palisade_crypt::{Context, Crypter, Keyring};

/// Bytes 63..75 of the format are the nonce (see the README's "Format").
const NONCE: std::ops::Range<usize> = 63..75;

fn nonces(crypter: &Crypter, context: &Context, n: usize) -> Vec<[u8; 12]> {
    (0..n)
        .map(|i| {
            let ct = crypter.encrypt(context, &i.to_be_bytes()).expect("encrypt");
            ct.as_bytes()[NONCE].try_into().expect("12 bytes")
        })
        .collect()
}

fn setup() -> (Crypter, Context) {
    let keyring = Keyring::generate().expect("keyring");
    let crypter = Crypter::new(&keyring).expect("crypter");
    (crypter, Context::new("users.email").expect("context"))
}

/// 8 threads, each past two reseeds of its generator (4096 nonces per seed): no nonce twice.
#[test]
fn nonces_do_not_repeat_across_threads_and_reseeds() {
    let (crypter, context) = setup();
    let per_thread = 2 * 4096 + 100;
    let all: Vec<[u8; 12]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| nonces(&crypter, &context, per_thread)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 8 * per_thread);
    assert_eq!(distinct.len(), all.len(), "a nonce repeated");
}

/// Forks; the child runs `child` and reports its nonces through a file; the parent's own
/// draws after the fork come back with the child's.
#[cfg(unix)]
fn fork_and_draw(
    child: impl Fn() -> Vec<[u8; 12]>,
    parent: impl Fn() -> Vec<[u8; 12]>,
) -> (Vec<[u8; 12]>, Vec<[u8; 12]>) {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "palisade-crypt-nonces-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    // SAFETY: fork(2) has no preconditions; in the child only this thread exists, and it
    // touches nothing another thread could have held locked at the fork (the crypter and its
    // caches are this test's own), then leaves through `_exit` without unwinding into the
    // test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::fs::write(&path, child().concat())
        }));
        let code = i32::from(!matches!(written, Ok(Ok(()))));
        // SAFETY: ends the child at once, as a forked child of a threaded process must.
        unsafe { libc::_exit(code) };
    }
    let ours = parent();
    let mut status = 0;
    // SAFETY: waits for the child forked above; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status})"
    );
    let bytes = std::fs::read(&path).expect("the child's nonces");
    let _ = std::fs::remove_file(&path);
    let theirs = bytes
        .chunks_exact(12)
        .map(|c| c.try_into().expect("12 bytes"))
        .collect();
    (theirs, ours)
}

/// The parent's generator is seeded and mid-stream when it forks: without fork detection the
/// child would continue the same stream and its nonces would be the parent's next ones.
#[cfg(unix)]
#[test]
fn a_forked_child_draws_other_nonces_than_its_parent() {
    let (crypter, context) = setup();
    let before = nonces(&crypter, &context, 5);
    let (child, parent) = fork_and_draw(
        || nonces(&crypter, &context, 64),
        || nonces(&crypter, &context, 64),
    );
    assert_eq!(child.len(), 64);
    assert_eq!(parent.len(), 64);
    let parent: HashSet<_> = parent.into_iter().chain(before).collect();
    let shared = child.iter().filter(|n| parent.contains(*n)).count();
    assert_eq!(
        shared, 0,
        "the child repeated {shared} of its parent's nonces"
    );
    let child: HashSet<_> = child.into_iter().collect();
    assert_eq!(child.len(), 64);
}

/// A fork from a child (a daemon's double fork): the grandchild reseeds too, and neither
/// repeats the other's nonces nor the original parent's.
#[cfg(unix)]
#[test]
fn a_grandchild_draws_other_nonces_than_its_parent_and_grandparent() {
    let (crypter, context) = setup();
    let _ = nonces(&crypter, &context, 3);
    let (child_side, parent) = fork_and_draw(
        || {
            let _ = nonces(&crypter, &context, 3);
            let (grandchild, child) = fork_and_draw(
                || nonces(&crypter, &context, 32),
                || nonces(&crypter, &context, 32),
            );
            child.into_iter().chain(grandchild).collect()
        },
        || nonces(&crypter, &context, 32),
    );
    let all: Vec<_> = parent.iter().chain(&child_side).collect();
    assert_eq!(all.len(), 96);
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        96,
        "a nonce repeated across the three processes"
    );
}
