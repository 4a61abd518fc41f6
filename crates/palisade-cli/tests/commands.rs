//! Every command of step one, every exit status, driven through the built binary.

mod common;

use common::{Scratch, run};
use palisade_testkit::unhex;

const PASSWORD: &[u8] = b"Tr0ub4dor&3-correct-horse";

// ---------------------------------------------------------------- usage and help

#[test]
fn help_on_every_command_exits_0() {
    for args in [
        &["--help"][..],
        &["password", "--help"],
        &["password", "hash", "--help"],
        &["password", "verify", "--help"],
        &["redact", "--help"],
        &["sanitize", "--help"],
        &["audit", "--help"],
        &["audit", "init", "--help"],
        &["audit", "append", "--help"],
        &["audit", "verify", "--help"],
        &["audit", "checkpoint", "--help"],
        &["audit", "prune", "--help"],
    ] {
        let r = run(args, b"");
        r.expect_code(0);
        assert!(r.stdout_str().contains("Usage: palisade"), "{args:?}");
    }
    run(&["--version"], b"").expect_code(0);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [
        &[][..],
        &["password"],
        &["frobnicate"],
        &["password", "verify"],
        &["sanitize", "--policy", "bogus"],
        &["redact", "--nope"],
        &["audit", "verify", "/tmp/x"],
    ] {
        run(args, b"").expect_code(2);
    }
}

#[test]
fn a_secret_typed_as_an_argument_is_refused_and_never_echoed() {
    for args in [
        &["password", "hash", "hunter2-typed-here"][..],
        &["password", "verify", "--hash", "x", "hunter2-typed-here"],
        &["password", "hash", "--password=hunter2-typed-here"],
        &["redact", "hunter2-typed-here"],
        &["hunter2-typed-here"],
        &["sanitize", "--policy", "hunter2-typed-here"],
    ] {
        run(args, b"")
            .expect_code(2)
            .never_shows(b"hunter2-typed-here");
    }
}

// ---------------------------------------------------------------- password

fn hash_with(args: &[&str], password: &[u8]) -> String {
    let r = run(args, password);
    r.expect_code(0).never_shows(PASSWORD);
    let out = r.stdout_str();
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    out.trim_end().to_owned()
}

#[test]
fn password_hash_then_verify() {
    let mut typed = PASSWORD.to_vec();
    typed.push(b'\n');
    let stored = hash_with(&["password", "hash"], &typed);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );

    // With or without the newline: one trailing newline is stripped.
    for input in [typed.clone(), PASSWORD.to_vec()] {
        let r = run(&["password", "verify", "--hash", &stored], &input);
        r.expect_code(0).never_shows(PASSWORD);
        assert_eq!(r.stdout, b"ok\n");
    }

    // Only one newline: "pw\n\n" is the password "pw\n".
    let mut two = typed.clone();
    two.push(b'\n');
    let r = run(&["password", "verify", "--hash", &stored], &two);
    r.expect_code(1);
    assert_eq!(r.stdout, b"mismatch\n");
}

#[test]
fn password_mismatch_exits_1_without_echo() {
    let stored = hash_with(&["password", "hash"], PASSWORD);
    let r = run(
        &["password", "verify", "--hash", &stored],
        b"wrong-password-guess\n",
    );
    r.expect_code(1)
        .never_shows(b"wrong-password-guess")
        .never_shows(PASSWORD);
    assert_eq!(r.stdout, b"mismatch\n");
}

#[test]
fn password_preset_and_needs_rehash() {
    let weaker = hash_with(
        &["password", "hash", "--preset", "owasp-m7168-t5"],
        PASSWORD,
    );
    assert!(
        weaker.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"),
        "{weaker}"
    );
    let r = run(&["password", "verify", "--hash", &weaker], PASSWORD);
    r.expect_code(0);
    assert_eq!(r.stdout, b"ok needs-rehash\n");

    // A hash stronger than policy on every parameter is never flagged.
    let stronger = hash_with(
        &["password", "hash", "--preset", "rfc9106-second"],
        PASSWORD,
    );
    let r = run(&["password", "verify", "--hash", &stronger], PASSWORD);
    assert_eq!(r.expect_code(0).stdout, b"ok\n");
}

#[test]
fn password_hash_refuses_bad_input() {
    run(&["password", "hash", "--preset", "owasp-weak"], PASSWORD).expect_code(2);
    run(&["password", "hash"], b"").expect_code(2);
    run(&["password", "hash"], b"\n").expect_code(2);
    run(&["password", "hash"], b"\xff\xfe not utf-8").expect_code(2);
    // Longer than palisade-password's 4096-byte limit.
    run(&["password", "hash"], &[b'a'; 5000]).expect_code(2);
}

#[test]
fn password_verify_reads_every_legacy_format() {
    let vectors = include_str!("vectors/legacy_hashes.txt");
    let mut seen = 0;
    for line in vectors
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (hex, stored) = line.split_once('\t').expect("tab-separated record");
        let password = unhex(hex);
        let r = run(&["password", "verify", "--hash", stored], &password);
        r.expect_code(0);
        // Every one of these is weaker than policy or a legacy format.
        assert_eq!(r.stdout, b"ok needs-rehash\n", "{stored}");
        let r = run(
            &["password", "verify", "--hash", stored],
            b"not the password",
        );
        r.expect_code(1);
        assert_eq!(r.stdout, b"mismatch\n", "{stored}");
        seen += 1;
    }
    assert_eq!(seen, 12);
}

#[test]
fn password_verify_malformed_or_unsupported_hash_exits_2() {
    for stored in [
        "",
        "nonsense",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
        "$argon2id$v=99$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
        "$md5$rounds=1000$salt$hash",
        "$2x$04$ZkL6jyOZns9OG0UtcJ6WQOMJOwM6hJC7P1W2yhp/j1dKMhpLxZrnS",
        // Demands 4 GiB: refused before any memory is allocated.
        "$argon2id$v=19$m=4194304,t=1,p=1$eyE6CtpsQKdF5Mnbr0wzog$56lCZnsXUipYmz9oKS7qY/oTzGMccexMieMaPjFshgU",
    ] {
        let r = run(&["password", "verify", "--hash", stored], PASSWORD);
        r.expect_code(2).never_shows(PASSWORD);
        assert!(r.stdout.is_empty(), "{stored}");
    }
}

// ---------------------------------------------------------------- redact

#[test]
fn redact_replaces_secrets_and_keeps_every_other_byte() {
    let input = b"GET /login user=alice password=hunter2 ok\r\n\
        key AKIAIOSFODNN7EXAMPLE then\n\
        \xff\xfe binary \x00 bytes stay\n\
        Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\n\
        last line without newline token=abc";
    let r = run(&["redact"], input);
    r.expect_code(0)
        .never_shows(b"hunter2")
        .never_shows(b"AKIAIOSFODNN7EXAMPLE")
        .never_shows(b"eyJzdWIiOiIxIn0");
    assert_eq!(
        r.stdout,
        b"GET /login user=alice password=[REDACTED] ok\r\n\
        key [REDACTED] then\n\
        \xff\xfe binary \x00 bytes stay\n\
        Authorization: [REDACTED]\n\
        last line without newline token=[REDACTED]"
            .to_vec()
    );
    assert!(r.stderr.is_empty());

    // Text without secrets comes back byte for byte, empty input included.
    let plain = b"nothing to see\n\n  here\t\r\n".to_vec();
    assert_eq!(run(&["redact"], &plain).expect_code(0).stdout, plain);
    assert_eq!(run(&["redact"], b"").expect_code(0).stdout, b"");
}

#[test]
fn redact_with_a_gitleaks_rule_file() {
    let dir = Scratch::new("redact-rules");
    let rules = dir.file(
        "gitleaks.toml",
        b"[[rules]]\nid = \"acme\"\nregex = '''acme_live_([a-z0-9]{24})'''\nsecretGroup = 1\n\
          keywords = [\"acme_live_\"]\n",
    );
    let input = b"charge acme_live_k3j9x2m8q7w1z5r4t6y0u2p8 password=hunter2\n";
    let r = run(&["redact", "--rules", &rules], input);
    r.expect_code(0)
        .never_shows(b"k3j9x2m8q7w1z5r4t6y0u2p8")
        .never_shows(b"hunter2");
    assert_eq!(
        r.stdout_str(),
        "charge acme_live_[REDACTED] password=[REDACTED]\n"
    );
    // A file that is not a gitleaks configuration, or is missing, is a usage error.
    let bad = dir.file(
        "bad.toml",
        b"[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n",
    );
    let r = run(&["redact", "--rules", &bad], input);
    r.expect_code(2).never_shows(b"hunter2");
    assert!(r.stdout.is_empty());
    let r = run(&["redact", "--rules", &dir.join("missing.toml")], input);
    r.expect_code(2).never_shows(b"hunter2");
}

#[test]
fn redact_files_with_path_rules() {
    let dir = Scratch::new("redact-files");
    dir.file(
        "base.toml",
        b"[[rules]]\nid = \"acme\"\nregex = 'acme_[a-z0-9]{24}'\nkeywords = [\"acme_\"]\n\
          [[rules.allowlists]]\npaths = ['fixtures']\n",
    );
    let rules = dir.file(
        "team.toml",
        b"[extend]\npath = \"base.toml\"\n\
          [[rules]]\nid = \"env\"\nregex = 'envkey_[a-z0-9]{24}'\npath = '\\.env$'\n\
          keywords = [\"envkey_\"]\n",
    );
    let line = b"acme_k3j9x2m8q7w1z5r4t6y0u2p8 envkey_k3j9x2m8q7w1z5r4t6y0u2p8 password=hunter2\n";
    let app = dir.file("app.log", line);
    let fixture = dir.file("fixtures.log", line);
    let env = dir.file("prod.env", line);
    // Each file with its own path, in order; the built-in detectors everywhere.
    let r = run(&["redact", "--rules", &rules, &app, &fixture, &env], b"");
    r.expect_code(0).never_shows(b"hunter2");
    assert_eq!(
        r.stdout_str(),
        "[REDACTED] envkey_k3j9x2m8q7w1z5r4t6y0u2p8 password=[REDACTED]\n\
         acme_k3j9x2m8q7w1z5r4t6y0u2p8 envkey_k3j9x2m8q7w1z5r4t6y0u2p8 password=[REDACTED]\n\
         [REDACTED] [REDACTED] password=[REDACTED]\n"
    );
    // Standard input has no path: path allow-lists never match it, and a rule's `path`
    // does not restrict it.
    let r = run(&["redact", "--rules", &rules], line);
    assert_eq!(
        r.expect_code(0).stdout_str(),
        "[REDACTED] [REDACTED] password=[REDACTED]\n"
    );
    // A file that cannot be read stops with exit 2, named by position, not by path.
    let missing = dir.join("zqxmark.log");
    let r = run(&["redact", &app, &missing], b"");
    r.expect_code(2).never_shows(b"zqxmark");
    assert!(r.stderr.contains("input file 2 of 2"), "{}", r.stderr);
}

#[test]
fn redact_holds_a_private_key_block_until_its_end() {
    let input = b"before\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nafter\n";
    let r = run(&["redact"], input);
    r.expect_code(0)
        .never_shows(b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
    let out = r.stdout_str();
    assert!(
        out.starts_with("before\n") && out.ends_with("after\n"),
        "{out}"
    );
}

#[test]
fn redact_json_mode() {
    let input =
        b"{\"user\":\"alice\",\"password\":123456,\"nested\":{\"api_key\":[\"k1\",\"k2\"]}}\n\
        {\"msg\": \"used AKIAIOSFODNN7EXAMPLE\", \"n\": 1.50}\n";
    let r = run(&["redact", "--json"], input);
    r.expect_code(0)
        .never_shows(b"123456")
        .never_shows(b"k1")
        .never_shows(b"AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        r.stdout_str(),
        "{\"user\":\"alice\",\"password\":\"[REDACTED]\",\"nested\":{\"api_key\":\"[REDACTED]\"}}\n\
         {\"msg\": \"used [REDACTED]\", \"n\": 1.50}\n"
    );
    // Objects and arrays under a sensitive key go whole, however they are laid out.
    let r = run(
        &["redact", "--json"],
        b"{\"secret\": {\n  \"a\": [1,\n 2],\n  \"b\": \"x\"\n}, \"z\": 0}",
    );
    assert_eq!(
        r.expect_code(0).stdout_str(),
        "{\"secret\": \"[REDACTED]\", \"z\": 0}"
    );
}

#[test]
fn redact_json_refuses_non_json_with_exit_2() {
    let r = run(
        &["redact", "--json"],
        b"{\"ok\":1}\nplain text password=hunter2\n",
    );
    r.expect_code(2).never_shows(b"hunter2");
    assert!(r.stderr.contains("not JSON at byte 9"), "{}", r.stderr);
    // What came before the error was written, redacted; nothing after it.
    assert_eq!(r.stdout, b"{\"ok\":1}\n");
    run(&["redact", "--json"], b"{\"a\":").expect_code(2);
}

// ---------------------------------------------------------------- sanitize

#[test]
fn sanitize_policies() {
    let html = br#"<h1>T</h1><p>Hi <b>there</b> <a href="https://example.com" onclick="x()">link</a><script>alert(1)</script><img src=x onerror=alert(1)></p>"#;
    let strict = run(&["sanitize", "--policy", "strict"], html);
    assert_eq!(strict.expect_code(0).stdout_str(), "THi there link");
    let basic = run(&["sanitize", "--policy", "basic"], html);
    assert_eq!(
        basic.expect_code(0).stdout_str(),
        "T<p>Hi <b>there</b> link</p>"
    );
    // basic is the default.
    assert_eq!(run(&["sanitize"], html).expect_code(0).stdout, basic.stdout);
    let rich = run(&["sanitize", "--policy", "rich"], html);
    let out = rich.expect_code(0).stdout_str();
    assert!(out.contains("<h1>T</h1>"), "{out}");
    assert!(
        out.contains(
            r#"<a href="https://example.com" rel="noopener noreferrer nofollow">link</a>"#
        ),
        "{out}"
    );
    for bad in ["script", "onclick", "onerror", "alert"] {
        assert!(!out.contains(bad), "{out}");
    }
}

#[test]
fn sanitize_refuses_oversized_deep_or_invalid_input() {
    run(&["sanitize"], &vec![b'a'; 2 * 1024 * 1024]).expect_code(2);
    run(&["sanitize"], "<div>".repeat(1000).as_bytes()).expect_code(2);
    run(&["sanitize"], b"<p>\xff</p>").expect_code(2);
}
