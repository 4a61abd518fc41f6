//! `keyring rotate --if-older-than`, `keyring status`, `keyring destroy` and `keyring census`
//! through the built binary, on keyrings dated in the past by the test.

mod common;

use std::sync::Arc;

use common::{Run, Scratch, run_env};
use palisade_crypt::{KeyPurpose, Keyring, ManualClock, MasterKey};

const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";
const DAY: u64 = 86_400;

fn pk(args: &[&str], stdin: &[u8]) -> Run {
    run_env(args, stdin, &[("PALISADE_MASTER_KEY", MASTER)])
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A keyring file whose keys were made `days_old` days ago; returns its primary key id.
fn keyring_made_days_ago(path: &str, days_old: u64) -> String {
    let clock = Arc::new(ManualClock::new(now() - days_old * DAY));
    let mut keyring = Keyring::generate_with_clock(clock).expect("keyring");
    let master = MasterKey::from_base64(MASTER).expect("master");
    keyring.save_new(path, &master).expect("save");
    keyring
        .primary(KeyPurpose::Encryption)
        .expect("primary")
        .id
        .to_string()
}

fn generation(file: &str) -> String {
    let r = pk(&["keyring", "generation", file], b"");
    r.expect_code(0);
    r.stdout_str()
}

#[test]
fn rotate_if_older_than_does_nothing_and_says_so_when_the_key_is_younger() {
    let s = Scratch::new("rotate-not-due");
    let file = s.join("keys.pck");
    let primary = keyring_made_days_ago(&file, 89);
    let before = generation(&file);
    let r = pk(&["keyring", "rotate", &file, "--if-older-than", "90d"], b"");
    r.expect_code(0);
    assert_eq!(
        r.stdout_str(),
        format!("not due: primary key {primary} is 89 days old, under 90d; nothing changed\n")
    );
    assert_eq!(generation(&file), before, "the file is untouched");
    // Twice in a row, as cron would: still nothing.
    pk(&["keyring", "rotate", &file, "--if-older-than", "90d"], b"").expect_code(0);
    assert_eq!(generation(&file), before);
}

#[test]
fn rotate_if_older_than_rotates_a_due_key_once() {
    let s = Scratch::new("rotate-due");
    let file = s.join("keys.pck");
    let old = keyring_made_days_ago(&file, 120);
    let r = pk(&["keyring", "rotate", &file, "--if-older-than", "90d"], b"");
    r.expect_code(0);
    let out = r.stdout_str();
    let (new, _) = out
        .strip_prefix("rotated: ")
        .and_then(|rest| rest.split_once(' '))
        .unwrap_or_else(|| panic!("{out}"));
    let new = new.to_owned();
    assert_eq!(
        out,
        format!("rotated: {new} is the primary key; {old} (120 days old) is decrypt-only\n")
    );
    assert_ne!(new, old);
    // The next run finds a fresh key: nothing to do.
    let r = pk(&["keyring", "rotate", &file, "--if-older-than", "90d"], b"");
    r.expect_code(0);
    assert!(
        r.stdout_str()
            .starts_with(&format!("not due: primary key {new} is 0 minutes old"))
    );
    // Hours and minutes work too.
    let r = pk(&["keyring", "rotate", &file, "--if-older-than", "1m"], b"");
    assert!(
        r.stdout_str().starts_with("not due: "),
        "{}",
        r.stdout_str()
    );
}

#[test]
fn malformed_ages_are_usage_errors_that_change_nothing() {
    let s = Scratch::new("rotate-bad-age");
    let file = s.join("keys.pck");
    keyring_made_days_ago(&file, 400);
    let before = generation(&file);
    for bad in ["77", "00d", "1.5d", "77D", "1d12h", "-1d", "77 d", "ninety"] {
        let arg = format!("--if-older-than={bad}");
        let r = pk(&["keyring", "rotate", &file, &arg], b"");
        r.expect_code(2);
        assert!(r.stderr.contains("--if-older-than"), "{}", r.stderr);
        assert!(
            !r.stderr.contains(bad),
            "the value is not echoed: {}",
            r.stderr
        );
    }
    pk(&["keyring", "status", &file, "--rotate-after", "3w"], b"").expect_code(2);
    assert_eq!(generation(&file), before);
}

#[test]
fn status_shows_what_is_due() {
    let s = Scratch::new("status");
    let file = s.join("keys.pck");
    let old = keyring_made_days_ago(&file, 100);
    let r = pk(&["keyring", "status", &file], b"");
    r.expect_code(0);
    assert_eq!(
        r.stdout_str(),
        format!(
            "primary key: {old}, version 1, 100 days old\n\
             rotation: due (older than 90d)\n\
             retirement: none due (retire after 30d)\n\
             keys: 2 primary, 0 decrypt-only, 0 disabled, 0 destroyed\n"
        )
    );
    let new = pk(&["keyring", "rotate", &file], b"").stdout_str();
    let new = new.trim();
    // The old key was decrypt-only for under a minute: due only with a period that short.
    let r = pk(
        &[
            "keyring",
            "status",
            &file,
            "--retire-after",
            "1m",
            "--rotate-after",
            "1h",
        ],
        b"",
    );
    r.expect_code(0);
    let out = r.stdout_str();
    assert!(
        out.starts_with(&format!(
            "primary key: {new}, version 3, 0 minutes old\nrotation: not due (rotate at 1h)\n"
        )),
        "{out}"
    );
    assert!(
        out.ends_with("keys: 2 primary, 1 decrypt-only, 0 disabled, 0 destroyed\n"),
        "{out}"
    );
    let r = pk(&["keyring", "status", &file], b"");
    assert!(
        r.stdout_str()
            .contains("retirement: none due (retire after 30d)\n")
    );
}

#[test]
fn census_destroy_and_the_retirement_story() {
    let s = Scratch::new("census");
    let file = s.join("keys.pck");
    let old = keyring_made_days_ago(&file, 10);
    let ctx = "users.phone;row=1";
    let enc = |text: &[u8]| {
        let r = pk(&["encrypt", "--keyring", &file, "--context", ctx], text);
        r.expect_code(0);
        r.stdout_str()
    };
    let first = enc(b"+44 20 7946 0000");
    let second = enc(b"+44 20 7946 0001");
    let new = pk(&["keyring", "rotate", &file], b"")
        .stdout_str()
        .trim()
        .to_owned();
    let third = enc(b"+44 20 7946 0002");
    let dump = format!("{first}{second}\n{third}");

    let r = pk(&["keyring", "census"], dump.as_bytes());
    r.expect_code(0);
    let mut expected = [format!("{old}\t2"), format!("{new}\t1")];
    expected.sort();
    assert_eq!(r.stdout_str(), format!("{}\n", expected.join("\n")));
    let r = pk(&["keyring", "census", "--key", &old], dump.as_bytes());
    r.expect_code(1);
    assert_eq!(r.stdout_str(), "2\n");

    // Rewrap both, then the census is clean and the old key can go.
    let rewrap = |ct: &str| {
        let r = pk(
            &["rewrap", "--keyring", &file, "--context", ctx],
            ct.as_bytes(),
        );
        r.expect_code(0);
        r.stdout_str()
    };
    let dump = format!("{}{}{third}", rewrap(&first), rewrap(&second));
    let r = pk(&["keyring", "census", "--key", &old], dump.as_bytes());
    r.expect_code(0);
    assert_eq!(r.stdout_str(), "0\n");

    // Destroy needs a disabled key.
    pk(&["keyring", "destroy", &file, &old], b"").expect_code(2);
    pk(&["keyring", "disable", &file, &old], b"").expect_code(0);
    pk(&["keyring", "destroy", &file, &old], b"").expect_code(0);
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        first.as_bytes(),
    );
    r.expect_code(1);
    assert!(r.stderr.contains("key_destroyed"), "{}", r.stderr);
    let r = pk(&["keyring", "status", &file], b"");
    assert!(
        r.stdout_str()
            .ends_with("keys: 2 primary, 0 decrypt-only, 0 disabled, 1 destroyed\n")
    );

    // Input that is not a ciphertext is a negative answer naming the line, not its text.
    let r = pk(&["keyring", "census"], b"pc1:not-a-ciphertext\n");
    r.expect_code(1);
    assert!(r.stderr.contains("line 1"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-a-ciphertext"), "{}", r.stderr);
    pk(&["keyring", "destroy", &file, "xyz"], b"").expect_code(2);
}

#[test]
fn status_lists_a_replaced_key_past_the_retirement_age() {
    let s = Scratch::new("status-retire");
    let file = s.join("keys.pck");
    let clock = Arc::new(ManualClock::new(now() - 100 * DAY));
    let mut keyring = Keyring::generate_with_clock(clock.clone()).expect("keyring");
    let old = keyring.primary(KeyPurpose::Encryption).expect("primary").id;
    clock.set(now() - 40 * DAY);
    let new = keyring.rotate(KeyPurpose::Encryption).expect("rotate");
    keyring
        .save_new(&file, &MasterKey::from_base64(MASTER).expect("master"))
        .expect("save");
    let r = pk(&["keyring", "status", &file], b"");
    r.expect_code(0);
    assert_eq!(
        r.stdout_str(),
        format!(
            "primary key: {new}, version 3, 40 days old\n\
             rotation: not due (rotate at 90d)\n\
             retirement: due for {old}, decrypt-only for 40 days (over 30d): rewrap, then \
             disable it\n\
             keys: 2 primary, 1 decrypt-only, 0 disabled, 0 destroyed\n"
        )
    );
    // A longer retirement period: nothing due.
    let r = pk(&["keyring", "status", &file, "--retire-after", "41d"], b"");
    assert!(
        r.stdout_str()
            .contains("retirement: none due (retire after 41d)\n"),
        "{}",
        r.stdout_str()
    );
}
