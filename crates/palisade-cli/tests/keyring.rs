//! `keyring`, `encrypt`, `decrypt` and `rewrap`, driven through the built binary: every exit
//! status, secrets never echoed, and the keyring rotation story.

mod common;

use common::{Run, Scratch, run, run_env};

/// A base64 master key that is not the machine's.
const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";
const OTHER_MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn pk(args: &[&str], stdin: &[u8]) -> Run {
    run_env(args, stdin, &[("PALISADE_MASTER_KEY", MASTER)])
}

fn one_line(r: &Run) -> String {
    r.expect_code(0);
    let out = r.stdout_str();
    assert_eq!(out.lines().count(), 1, "{out}");
    out.trim_end().to_owned()
}

/// `keyring list` as (id, purpose, state) rows.
fn list(file: &str) -> Vec<(String, String, String)> {
    let r = pk(&["keyring", "list", file], b"");
    r.expect_code(0);
    r.stdout_str()
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 6, "{l}");
            assert_eq!(cols[4].len(), 20, "RFC 3339 UTC: {l}");
            assert!(cols[4].ends_with('Z') && cols[5].ends_with('Z'), "{l}");
            (cols[0].to_owned(), cols[2].to_owned(), cols[3].to_owned())
        })
        .collect()
}

fn state_of(rows: &[(String, String, String)], id: &str) -> String {
    rows.iter().find(|(i, _, _)| i == id).map_or_else(
        || panic!("{id} not listed: {rows:?}"),
        |(_, _, s)| s.clone(),
    )
}

#[test]
fn keyring_rotation_story() {
    let s = Scratch::new("rotation");
    let file = s.join("keys.pck");
    let ctx = "users.email;row=42;tenant=acme";
    let secret = b"alice@example.com";

    let old = one_line(&pk(&["keyring", "new", &file], b""));
    assert_eq!(old.len(), 8);
    let ct = one_line(
        pk(&["encrypt", "--keyring", &file, "--context", ctx], secret).never_shows(secret),
    );
    assert!(ct.starts_with("pc1:"), "{ct}");

    // Rotate: a new primary, the old key still decrypts.
    let new = one_line(&pk(&["keyring", "rotate", &file], b""));
    assert_ne!(new, old);
    let rows = list(&file);
    assert_eq!(state_of(&rows, &old), "decrypt-only");
    assert_eq!(state_of(&rows, &new), "primary");
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, secret);

    // Disabling the primary is refused.
    pk(&["keyring", "disable", &file, &new], b"").expect_code(2);

    // Rewrap moves the value to the new key without printing the plaintext.
    let r = pk(
        &["rewrap", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    );
    let rewrapped = one_line(r.never_shows(secret));
    assert!(rewrapped.starts_with("pc1:") && rewrapped != ct);

    // List shows both encryption keys (and the keyring's blind-index key), never material.
    let rows = list(&file);
    let encryption: Vec<_> = rows.iter().filter(|(_, p, _)| p == "encryption").collect();
    assert_eq!(encryption.len(), 2, "{rows:?}");

    // Only now is the old key disabled.
    pk(&["keyring", "disable", &file, &old], b"").expect_code(0);
    assert_eq!(state_of(&list(&file), &old), "disabled");
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        rewrapped.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, secret);
    // The old ciphertext no longer decrypts: had the key been disabled before the rewrap,
    // this is what would have been lost.
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    );
    r.expect_code(1).never_shows(secret);
    assert!(r.stderr.contains("key_disabled"), "{}", r.stderr);
    pk(
        &["rewrap", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    )
    .expect_code(1);
}

#[test]
fn decrypt_exits_1_on_every_authentication_failure() {
    let s = Scratch::new("decrypt-fail");
    let file = s.join("keys.pck");
    let other = s.join("other.pck");
    let ctx = "users.ssn;row=7";
    pk(&["keyring", "new", &file], b"").expect_code(0);
    pk(&["keyring", "new", &other], b"").expect_code(0);
    let plaintext = b"078-05-1120";
    let ct = one_line(&pk(
        &["encrypt", "--keyring", &file, "--context", ctx],
        plaintext,
    ));
    let decrypt = |keyring: &str, context: &str, input: &str| {
        pk(
            &["decrypt", "--keyring", keyring, "--context", context],
            input.as_bytes(),
        )
    };
    assert_eq!(decrypt(&file, ctx, &ct).expect_code(0).stdout, plaintext);

    let mut cases: Vec<(String, String, String, &str)> = vec![
        (
            file.clone(),
            "users.ssn;row=8".into(),
            ct.clone(),
            "wrong_context",
        ),
        (
            file.clone(),
            "users.email;row=7".into(),
            ct.clone(),
            "wrong_context",
        ),
        (other.clone(), ctx.into(), ct.clone(), "unknown_key"),
        (file.clone(), ctx.into(), "pc1:AAAA".into(), ""),
        (
            file.clone(),
            ctx.into(),
            "not a ciphertext".into(),
            "malformed",
        ),
        (file.clone(), ctx.into(), ct[..ct.len() - 4].to_owned(), ""),
    ];
    // Every single-character change in the body is caught.
    for at in [4, 10, 20, 60, ct.len() / 2, ct.len() - 1] {
        let mut bytes = ct.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        cases.push((
            file.clone(),
            ctx.into(),
            String::from_utf8(bytes).expect("ascii"),
            "",
        ));
    }
    for (keyring, context, input, reason) in cases {
        let r = decrypt(&keyring, &context, &input);
        r.expect_code(1).never_shows(plaintext);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains(reason), "{reason}: {}", r.stderr);
        pk(
            &["rewrap", "--keyring", &keyring, "--context", &context],
            input.as_bytes(),
        )
        .expect_code(1);
    }
}

#[test]
fn binary_plaintext_round_trips_exactly() {
    let s = Scratch::new("binary");
    let file = s.join("keys.pck");
    pk(&["keyring", "new", &file], b"").expect_code(0);
    let plaintext: Vec<u8> = (0..=255u8).chain(*b"\n\r\n\0tail\n").collect();
    let ct = one_line(&pk(
        &["encrypt", "--keyring", &file, "--context", "blobs"],
        &plaintext,
    ));
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", "blobs"],
        ct.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, plaintext);
    // The empty plaintext too.
    let ct = one_line(&pk(
        &["encrypt", "--keyring", &file, "--context", "blobs"],
        b"",
    ));
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", "blobs"],
        ct.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, b"");
}

#[test]
fn master_key_sources_and_errors() {
    let s = Scratch::new("master");
    let file = s.join("keys.pck");
    // No master key at all.
    run(&["keyring", "new", &file], b"").expect_code(2);
    // From a file (base64), then the same key from the environment.
    let master_file = s.file("master.key", format!("{MASTER}\n").as_bytes());
    run(
        &["keyring", "new", &file, "--master-key-file", &master_file],
        b"",
    )
    .expect_code(0);
    pk(&["keyring", "list", &file], b"").expect_code(0);
    // The file is used over the environment.
    run_env(
        &["keyring", "list", &file, "--master-key-file", &master_file],
        b"",
        &[("PALISADE_MASTER_KEY", OTHER_MASTER)],
    )
    .expect_code(0);
    // A wrong master key is a configuration error, and no key is ever printed.
    for r in [
        run_env(
            &["keyring", "list", &file],
            b"",
            &[("PALISADE_MASTER_KEY", OTHER_MASTER)],
        ),
        run_env(
            &["encrypt", "--keyring", &file, "--context", "a"],
            b"x",
            &[("PALISADE_MASTER_KEY", OTHER_MASTER)],
        ),
        run_env(
            &["keyring", "list", &file],
            b"",
            &[("PALISADE_MASTER_KEY", "c2hvcnQ=")],
        ),
        run_env(
            &["keyring", "list", &file],
            b"",
            &[("PALISADE_MASTER_KEY", "not base64!")],
        ),
    ] {
        r.expect_code(2)
            .never_shows(MASTER.as_bytes())
            .never_shows(OTHER_MASTER.as_bytes());
    }
    let short = s.file("short.key", b"c2hvcnQ=");
    run(
        &["keyring", "list", &file, "--master-key-file", &short],
        b"",
    )
    .expect_code(2);
    // Refuses to overwrite, to open a missing file, or to take a malformed key id.
    pk(&["keyring", "new", &file], b"").expect_code(2);
    pk(&["keyring", "list", &s.join("missing.pck")], b"").expect_code(2);
    for id in ["xyz", "0123456789", "00000000"] {
        pk(&["keyring", "disable", &file, id], b"").expect_code(2);
    }
    // Bad contexts and missing arguments.
    for args in [
        &["encrypt", "--keyring", &file, "--context", "Users.Email"][..],
        &["encrypt", "--keyring", &file, "--context", ""],
        &["encrypt", "--keyring", &file],
        &["decrypt", "--context", "a"],
        &["keyring", "disable", &file],
    ] {
        pk(args, b"x").expect_code(2);
    }
    pk(&["decrypt", "--keyring", &file, "--context", "a"], b"").expect_code(2);
    for args in [
        &["keyring", "--help"][..],
        &["keyring", "new", "--help"],
        &["keyring", "rotate", "--help"],
        &["keyring", "list", "--help"],
        &["keyring", "disable", "--help"],
        &["encrypt", "--help"],
        &["decrypt", "--help"],
        &["rewrap", "--help"],
    ] {
        run(args, b"").expect_code(0);
    }
}

/// `--min-generation` on every command that opens a keyring file: an older copy of the file is
/// refused with exit 1 and a message naming the problem, the current file passes.
#[test]
fn min_generation_refuses_an_older_copy_of_the_keyring_file() {
    let s = Scratch::new("rollback");
    let file = s.join("keys.pck");
    let ctx = "users.email;row=1";
    let secret = b"bob@example.com";
    let old_id = one_line(&pk(&["keyring", "new", &file], b""));
    assert_eq!(one_line(&pk(&["keyring", "generation", &file], b"")), "1");
    let ct = one_line(&pk(
        &["encrypt", "--keyring", &file, "--context", ctx],
        secret,
    ));
    // The attacker keeps this copy: generation 1, where the first key is still enabled.
    let older = std::fs::read(&file).expect("read keyring");
    pk(&["keyring", "rotate", &file], b"").expect_code(0);
    let r = pk(
        &["rewrap", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    );
    let rewrapped = one_line(&r);
    pk(&["keyring", "disable", &file, &old_id], b"").expect_code(0);
    let current = std::fs::read(&file).expect("read keyring");
    let generation = one_line(&pk(&["keyring", "generation", &file], b""));
    assert_eq!(generation, "3");

    let commands = |min: &str| -> Vec<(Vec<String>, Vec<u8>)> {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| (*s).to_owned())
                .chain(["--min-generation".to_owned(), min.to_owned()])
                .collect::<Vec<String>>()
        };
        vec![
            (args(&["keyring", "list", &file]), Vec::new()),
            (args(&["keyring", "generation", &file]), Vec::new()),
            (args(&["keyring", "rotate", &file]), Vec::new()),
            (args(&["keyring", "disable", &file, &old_id]), Vec::new()),
            (
                args(&["encrypt", "--keyring", &file, "--context", ctx]),
                secret.to_vec(),
            ),
            (
                args(&["decrypt", "--keyring", &file, "--context", ctx]),
                rewrapped.clone().into_bytes(),
            ),
            (
                args(&["rewrap", "--keyring", &file, "--context", ctx]),
                rewrapped.clone().into_bytes(),
            ),
        ]
    };
    let run_all = |min: &str| {
        commands(min)
            .into_iter()
            .map(|(args, stdin)| {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                (args.join(" "), pk(&args, &stdin))
            })
            .collect::<Vec<_>>()
    };

    // The older copy put back in the file's place: refused by every command, file untouched.
    std::fs::write(&file, &older).expect("roll back");
    // Without a pin it still opens (and the disabled key would decrypt again): the pin is what
    // catches it.
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        ct.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, secret);
    for (command, r) in run_all(&generation) {
        r.expect_code(1)
            .never_shows(secret)
            .never_shows(MASTER.as_bytes());
        assert!(r.stdout.is_empty(), "{command}");
        assert!(
            r.stderr
                .contains("generation, 1, is below --min-generation")
                && r.stderr.contains("older copy"),
            "{command}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains(&file), "{command}: {}", r.stderr);
    }
    assert_eq!(
        std::fs::read(&file).expect("read"),
        older,
        "nothing was saved"
    );

    // The current file passes with the same pin, and with a lower one.
    std::fs::write(&file, &current).expect("restore");
    for min in ["3", "0"] {
        for (command, r) in run_all(min) {
            assert_eq!(r.code, 0, "{command}: {}", r.stderr);
        }
    }
    // Each round saved twice (rotate, and disable, which saves even for a key already
    // disabled): the generation only grows, and the new one is what to pin next.
    assert_eq!(one_line(&pk(&["keyring", "generation", &file], b"")), "7");
    let r = pk(
        &["decrypt", "--keyring", &file, "--context", ctx],
        rewrapped.as_bytes(),
    );
    assert_eq!(r.expect_code(0).stdout, secret);

    // A minimum that is not a number is a usage error.
    pk(&["keyring", "list", &file, "--min-generation", "-1"], b"").expect_code(2);
    pk(
        &["keyring", "list", &file, "--min-generation", "three"],
        b"",
    )
    .expect_code(2);
}
