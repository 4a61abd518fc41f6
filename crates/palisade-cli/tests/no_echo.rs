//! "A usage error never repeats what was typed": every option and argument that takes a value
//! is given a recognisable marker, in a value the command refuses or in a run that fails for
//! another reason, and the marker must appear on neither standard output nor standard error.
//! Paths count too: a password pasted where a file name belongs is not echoed either.

mod common;

use std::collections::BTreeSet;

use common::{Run, Scratch, run_env};

/// The marker: a valid field name, attribute name and key id alphabet where that matters, so
/// the value reaches the check it is meant for.
const MARK: &str = "zqxmark";
/// A key id (8 hex digits) that is well formed but not in the keyring.
const MARK_KEY_ID: &str = "c0ffee77";

const MASTER: &str = "q8bJmV5c3k8oZ0Q4m2m2b0qzv5b2VQx9l6l3mJ8m3Yc=";
const OTHER_MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hs256-test-secret";

struct Fixtures {
    _scratch: Scratch,
    /// A directory whose name is the marker: every path under it carries the marker.
    marked: String,
    hs_key: String,
    keyring: String,
    /// A log made by `audit init` (outside the marked directory) and its verifier bundle.
    audit_log: String,
    audit_verifier: String,
    /// A valid HS256 token from `https://issuer.example` for `orders`.
    token: Vec<u8>,
}

fn setup() -> Fixtures {
    let scratch = Scratch::new("no-echo");
    let marked = scratch.join(MARK);
    std::fs::create_dir_all(&marked).expect("marked dir");
    let hs_key = scratch.file("hs.key", HS_SECRET);
    let keyring = scratch.join("keys.pck");
    run_env(
        &["keyring", "new", &keyring],
        b"",
        &[("PALISADE_MASTER_KEY", MASTER)],
    )
    .expect_code(0);
    let audit_log = scratch.join("audit-log");
    let audit_verifier = scratch.join("audit.verifier");
    run_env(
        &[
            "audit",
            "init",
            &audit_log,
            "--verifier-out",
            &audit_verifier,
        ],
        b"",
        &[],
    )
    .expect_code(0);
    run_env(
        &["audit", "append", &audit_log],
        b"{\"action\":\"a\"}\n",
        &[],
    )
    .expect_code(0);
    let signed = run_env(
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &hs_key,
            "--iss",
            "https://issuer.example",
            "--aud",
            "orders",
        ],
        b"",
        &[],
    );
    signed.expect_code(0);
    let token = signed.stdout;
    Fixtures {
        _scratch: scratch,
        marked,
        hs_key,
        keyring,
        audit_log,
        audit_verifier,
        token,
    }
}

/// One row: what it covers, the arguments, standard input and the exit status expected.
struct Row {
    covers: &'static str,
    args: Vec<String>,
    stdin: Vec<u8>,
    code: i32,
}

fn row(covers: &'static str, args: &[&str], stdin: &[u8], code: i32) -> Row {
    Row {
        covers,
        args: args.iter().map(|&a| a.to_owned()).collect(),
        stdin: stdin.to_vec(),
        code,
    }
}

fn marked(f: &Fixtures, name: &str) -> String {
    format!("{}/{name}", f.marked)
}

#[allow(clippy::too_many_lines)] // One table, read top to bottom.
fn rows(f: &Fixtures) -> Vec<Row> {
    let missing = marked(f, "missing");
    let in_missing_dir = marked(f, "missing/keys.pck");
    let long_sub = MARK.repeat(20);
    let bad_kid = format!("{MARK}\n");
    let bad_claims = format!("{{\"{MARK}\":");
    let typed_claims = format!("{{\"exp\":\"{MARK}\"}}");
    let array_claims = format!("[\"{MARK}\"]");
    let malformed_hash = format!("$argon2id$v=19$m=19456,t=2,p=1${MARK}${MARK}");
    let ctx_bad_attribute = format!("users.email;{MARK}");
    let ctx_bad_field = format!("{MARK}!;row=1");
    let ctx_duplicate = format!("users.email;{MARK}=1;{MARK}=2");
    let ctx_long_value = format!("users.email;{MARK}={}", MARK.repeat(200));
    let ctx_bad_name = format!("users.email;{}=1", MARK.repeat(10));
    let existing = marked(f, "exists.pck");
    std::fs::write(&existing, b"not a keyring").expect("existing file");
    let short_key = marked(f, "short.key");
    std::fs::write(&short_key, [7u8; 16]).expect("short key");
    let bad_pem = marked(f, "bad.pem");
    std::fs::write(
        &bad_pem,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("bad pem");
    let bad_rules = marked(f, "bad-rules.toml");
    std::fs::write(&bad_rules, b"[[rules]]\nregex = '(unclosed'\n").expect("bad rules");
    let bad_jwks = marked(f, "bad.jwks");
    std::fs::write(&bad_jwks, b"{\"keys\":[{\"kty\":\"oct\"}]}").expect("bad jwks");
    let no_log = marked(f, "log");
    let hs = f.hs_key.as_str();
    let ring = f.keyring.as_str();
    let log = f.audit_log.as_str();
    let verifier = f.audit_verifier.as_str();
    let bad_origin = format!("{MARK} +");
    let token = f.token.as_slice();
    let sign = |extra: &[&str]| {
        let mut a = vec!["token", "sign", "--alg", "HS256", "--secret-file", hs];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let mut rows = vec![
        // password
        row(
            "password hash PASSWORD",
            &["password", "hash", MARK],
            b"",
            2,
        ),
        row(
            "password hash --preset",
            &["password", "hash", "--preset", MARK],
            b"pw",
            2,
        ),
        row(
            "password verify --hash",
            &["password", "verify", "--hash", MARK],
            b"pw",
            2,
        ),
        row(
            "password verify --hash (PHC shape)",
            &["password", "verify", "--hash", &malformed_hash],
            b"pw",
            2,
        ),
        // token sign
        row(
            "token sign --alg",
            &["token", "sign", "--alg", MARK, "--secret-file", hs],
            b"",
            2,
        ),
        row(
            "token sign --secret-file (missing)",
            &["token", "sign", "--alg", "HS256", "--secret-file", &missing],
            b"",
            2,
        ),
        row(
            "token sign --private-key (missing)",
            &["token", "sign", "--alg", "ES256", "--private-key", &missing],
            b"",
            2,
        ),
        row(
            "token sign --private-key (not a key)",
            &["token", "sign", "--alg", "ES256", "--private-key", &bad_pem],
            b"",
            2,
        ),
        row(
            "token sign --iss/--aud/--sub (run fails)",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                &missing,
                "--iss",
                MARK,
                "--aud",
                MARK,
                "--sub",
                MARK,
            ],
            b"",
            2,
        ),
        row(
            "token sign --ttl",
            &["token", "sign", "--alg", "HS256", "--ttl", MARK],
            b"",
            2,
        ),
        row(
            "token sign --claims (not JSON)",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--claims",
                &bad_claims,
            ],
            b"",
            2,
        ),
        row(
            "token sign --claims (wrong type)",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--claims",
                &typed_claims,
            ],
            b"",
            2,
        ),
        row(
            "token sign --claims (not an object)",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--claims",
                &array_claims,
            ],
            b"",
            2,
        ),
        row(
            "token sign --kid (invalid)",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--kid",
                &bad_kid,
            ],
            b"",
            2,
        ),
        row(
            "token sign --sub twice",
            &[
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--sub",
                &long_sub,
                "--sub",
                &long_sub,
            ],
            b"",
            2,
        ),
        // secrets check
        row(
            "secrets check ADDRESS (malformed)",
            &["secrets", "check", MARK],
            b"",
            2,
        ),
        row(
            "secrets check ADDRESS (not found)",
            &["secrets", "check", &format!("env:{MARK}")],
            b"",
            1,
        ),
        // token verify
        row(
            "token verify --alg",
            &["token", "verify", "--alg", MARK, "--secret-file", hs],
            token,
            2,
        ),
        row(
            "token verify --secret-file (missing)",
            &[
                "token",
                "verify",
                "--alg",
                "HS256",
                "--secret-file",
                &missing,
            ],
            token,
            2,
        ),
        row(
            "token verify --public-key (missing)",
            &[
                "token",
                "verify",
                "--alg",
                "ES256",
                "--public-key",
                &missing,
            ],
            token,
            2,
        ),
        row(
            "token verify --public-key (not a key)",
            &[
                "token",
                "verify",
                "--alg",
                "ES256",
                "--public-key",
                &bad_pem,
            ],
            token,
            2,
        ),
        row(
            "token verify --jwks (missing)",
            &["token", "verify", "--alg", "HS256", "--jwks", &missing],
            token,
            2,
        ),
        row(
            "token verify --jwks (invalid)",
            &["token", "verify", "--alg", "HS256", "--jwks", &bad_jwks],
            token,
            2,
        ),
        row(
            "token verify --iss (wrong issuer)",
            &[
                "token",
                "verify",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--iss",
                MARK,
                "--aud",
                "orders",
            ],
            token,
            1,
        ),
        row(
            "token verify --aud (wrong audience)",
            &[
                "token",
                "verify",
                "--alg",
                "HS256",
                "--secret-file",
                hs,
                "--aud",
                MARK,
            ],
            token,
            1,
        ),
        // keyring
        row(
            "keyring new FILE (no such directory)",
            &["keyring", "new", &in_missing_dir],
            b"",
            2,
        ),
        row(
            "keyring new FILE (exists)",
            &["keyring", "new", &existing],
            b"",
            2,
        ),
        row(
            "keyring rotate FILE (missing)",
            &["keyring", "rotate", &missing],
            b"",
            2,
        ),
        row(
            "keyring list FILE (missing)",
            &["keyring", "list", &missing],
            b"",
            2,
        ),
        row(
            "keyring list FILE (not a keyring)",
            &["keyring", "list", &existing],
            b"",
            2,
        ),
        row(
            "keyring disable FILE (missing)",
            &["keyring", "disable", &missing, MARK_KEY_ID],
            b"",
            2,
        ),
        row(
            "keyring disable KEY_ID (malformed)",
            &["keyring", "disable", ring, MARK],
            b"",
            2,
        ),
        row(
            "keyring disable KEY_ID (unknown)",
            &["keyring", "disable", ring, MARK_KEY_ID],
            b"",
            2,
        ),
        row(
            "keyring rotate --if-older-than (malformed)",
            &["keyring", "rotate", ring, "--if-older-than", MARK],
            b"",
            2,
        ),
        row(
            "keyring status FILE (missing)",
            &["keyring", "status", &missing],
            b"",
            2,
        ),
        row(
            "keyring status --rotate-after (malformed)",
            &["keyring", "status", ring, "--rotate-after", MARK],
            b"",
            2,
        ),
        row(
            "keyring status --retire-after (malformed)",
            &["keyring", "status", ring, "--retire-after", MARK],
            b"",
            2,
        ),
        row(
            "keyring destroy FILE (missing)",
            &["keyring", "destroy", &missing, MARK_KEY_ID],
            b"",
            2,
        ),
        row(
            "keyring destroy KEY_ID (malformed)",
            &["keyring", "destroy", ring, MARK],
            b"",
            2,
        ),
        row(
            "keyring destroy KEY_ID (unknown)",
            &["keyring", "destroy", ring, MARK_KEY_ID],
            b"",
            2,
        ),
        row(
            "keyring census --key (malformed)",
            &["keyring", "census", "--key", MARK],
            b"",
            2,
        ),
        row(
            "keyring census --key (no ciphertext on it)",
            &["keyring", "census", "--key", MARK_KEY_ID],
            b"",
            0,
        ),
        row(
            "keyring --master-key-file (missing)",
            &["keyring", "list", ring, "--master-key-file", &missing],
            b"",
            2,
        ),
        row(
            "keyring --master-key-file (not a key)",
            &["keyring", "list", ring, "--master-key-file", &short_key],
            b"",
            2,
        ),
        // encrypt, decrypt, rewrap
        row(
            "encrypt --context (syntax)",
            &[
                "encrypt",
                "--keyring",
                ring,
                "--context",
                &ctx_bad_attribute,
            ],
            b"x",
            2,
        ),
        row(
            "encrypt --context (field name)",
            &["encrypt", "--keyring", ring, "--context", &ctx_bad_field],
            b"x",
            2,
        ),
        row(
            "encrypt --context (attribute twice)",
            &["encrypt", "--keyring", ring, "--context", &ctx_duplicate],
            b"x",
            2,
        ),
        row(
            "encrypt --context (value too long)",
            &["encrypt", "--keyring", ring, "--context", &ctx_long_value],
            b"x",
            2,
        ),
        row(
            "encrypt --context (name too long)",
            &["encrypt", "--keyring", ring, "--context", &ctx_bad_name],
            b"x",
            2,
        ),
        row(
            "encrypt --keyring (missing)",
            &["encrypt", "--keyring", &missing, "--context", "users.email"],
            b"x",
            2,
        ),
        row(
            "decrypt --keyring (not a keyring)",
            &[
                "decrypt",
                "--keyring",
                &existing,
                "--context",
                "users.email",
            ],
            b"pc1:x",
            2,
        ),
        row(
            "rewrap --context (syntax)",
            &["rewrap", "--keyring", ring, "--context", &ctx_bad_attribute],
            b"pc1:x",
            2,
        ),
        row(
            "encrypt --master-key-file (missing)",
            &[
                "encrypt",
                "--keyring",
                ring,
                "--context",
                "users.email",
                "--master-key-file",
                &missing,
            ],
            b"x",
            2,
        ),
        // sanitize, redact
        row(
            "sanitize --policy",
            &["sanitize", "--policy", MARK],
            b"<p>x</p>",
            2,
        ),
        row("redact ARG", &["redact", MARK], b"x\n", 2),
        row(
            "redact --rules (missing)",
            &["redact", "--rules", &missing],
            b"x\n",
            2,
        ),
        row(
            "redact --rules (invalid)",
            &["redact", "--rules", &bad_rules],
            b"x\n",
            2,
        ),
        // audit
        row(
            "audit init DIR (a file)",
            &[
                "audit",
                "init",
                &existing,
                "--verifier-out",
                &marked(f, "a.verifier"),
            ],
            b"",
            2,
        ),
        row(
            "audit init --verifier-out (exists)",
            &[
                "audit",
                "init",
                &marked(f, "new-log"),
                "--verifier-out",
                &existing,
            ],
            b"",
            2,
        ),
        row(
            "audit init --signing-key (not a key)",
            &[
                "audit",
                "init",
                &marked(f, "new-log"),
                "--verifier-out",
                &marked(f, "b.verifier"),
                "--signing-key",
                &existing,
            ],
            b"",
            2,
        ),
        row(
            "audit init --origin (invalid)",
            &[
                "audit",
                "init",
                &marked(f, "new-log"),
                "--verifier-out",
                &marked(f, "c.verifier"),
                "--origin",
                &bad_origin,
            ],
            b"",
            2,
        ),
        row(
            "audit append DIR (no log)",
            &["audit", "append", &no_log],
            b"{\"action\":\"a\"}",
            2,
        ),
        row(
            "audit append --signing-key (missing)",
            &["audit", "append", log, "--signing-key", &missing],
            b"{\"action\":\"a\"}",
            2,
        ),
        row(
            "audit verify DIR (no log)",
            &["audit", "verify", &no_log, "--verifier", verifier],
            b"",
            2,
        ),
        row(
            "audit verify --verifier (not a bundle)",
            &["audit", "verify", log, "--verifier", &existing],
            b"",
            2,
        ),
        row(
            "audit verify --checkpoint (not a note)",
            &[
                "audit",
                "verify",
                log,
                "--verifier",
                verifier,
                "--checkpoint",
                &existing,
            ],
            b"",
            2,
        ),
        row(
            "audit verify --prometheus-textfile (no such directory)",
            &[
                "audit",
                "verify",
                log,
                "--verifier",
                verifier,
                "--prometheus-textfile",
                &format!("{missing}/audit.prom"),
            ],
            b"",
            2,
        ),
        row(
            "audit checkpoint DIR (no log)",
            &["audit", "checkpoint", &no_log],
            b"",
            2,
        ),
        row(
            "audit prune DIR (no log)",
            &["audit", "prune", &no_log, "--before", "2026-01-01"],
            b"",
            2,
        ),
        row(
            "audit prune --before",
            &["audit", "prune", log, "--before", MARK],
            b"",
            2,
        ),
        row(
            "audit prune --checkpoint (missing)",
            &[
                "audit",
                "prune",
                log,
                "--before",
                "2026-01-01",
                "--checkpoint",
                &missing,
            ],
            b"",
            2,
        ),
        row(
            "audit prune --signing-key (missing)",
            &[
                "audit",
                "prune",
                log,
                "--before",
                "2026-01-01",
                "--signing-key",
                &missing,
            ],
            b"",
            2,
        ),
    ];
    for verb in [
        "new",
        "rotate",
        "status",
        "disable",
        "destroy",
        "generation",
    ] {
        let mut args = vec!["keyring", verb, ring];
        if verb == "disable" || verb == "destroy" {
            args.push(MARK_KEY_ID);
        }
        args.extend(["--master-key-file", &missing]);
        rows.push(row("keyring --master-key-file (missing)", &args, b"", 2));
    }
    // `--kek` (a key file that does not exist) and `--keyring-name` (with a Vault Transit key
    // this run cannot reach: no `vault` feature, or no `VAULT_ADDR`) on every keyring and
    // crypt command.
    let kek_file = format!("file:{missing}");
    for verb in [
        "new",
        "rotate",
        "status",
        "list",
        "disable",
        "destroy",
        "generation",
        "encrypt",
        "decrypt",
        "rewrap",
    ] {
        let mut args = if ["encrypt", "decrypt", "rewrap"].contains(&verb) {
            vec![verb, "--keyring", ring, "--context", "users.email"]
        } else {
            vec!["keyring", verb, ring]
        };
        if verb == "disable" || verb == "destroy" {
            args.push(MARK_KEY_ID);
        }
        let mut with_file = args.clone();
        with_file.extend(["--kek", &kek_file]);
        rows.push(row("--kek file: (missing)", &with_file, b"pc1:x", 2));
        args.extend([
            "--kek",
            "vault-transit:transit/palisade",
            "--keyring-name",
            MARK,
        ]);
        rows.push(row(
            "--keyring-name (Vault unreachable)",
            &args,
            b"pc1:x",
            2,
        ));
    }
    // Rollback pinning: a minimum that is not a number, on every command that opens a keyring
    // file; and the file of `keyring generation`.
    rows.push(row(
        "keyring generation FILE (missing)",
        &["keyring", "generation", &missing],
        b"",
        2,
    ));
    for verb in [
        "rotate",
        "status",
        "list",
        "disable",
        "destroy",
        "generation",
    ] {
        let mut args = vec!["keyring", verb, ring];
        if verb == "disable" || verb == "destroy" {
            args.push(MARK_KEY_ID);
        }
        args.extend(["--min-generation", MARK]);
        rows.push(row(
            "keyring --min-generation (not a number)",
            &args,
            b"",
            2,
        ));
    }
    for verb in ["encrypt", "decrypt", "rewrap"] {
        rows.push(row(
            "crypt --min-generation (not a number)",
            &[
                verb,
                "--keyring",
                ring,
                "--context",
                "users.email",
                "--min-generation",
                MARK,
            ],
            b"pc1:x",
            2,
        ));
    }
    for verb in ["encrypt", "decrypt", "rewrap"] {
        for (option, value, good) in [
            ("--context", ctx_duplicate.as_str(), "users.email"),
            ("--keyring", missing.as_str(), ring),
            ("--master-key-file", missing.as_str(), ""),
        ] {
            let mut args = vec![verb, "--keyring", ring, "--context", "users.email"];
            if good.is_empty() {
                args.extend([option, value]);
            } else {
                let at = args.iter().position(|a| *a == option).expect("option") + 1;
                args[at] = value;
            }
            rows.push(row(
                "crypt options on every crypt command",
                &args,
                b"pc1:x",
                2,
            ));
        }
    }
    rows.push(Row {
        covers: "token sign with every claim option (signs; the token is base64)",
        args: sign(&["--iss", MARK, "--aud", MARK, "--sub", MARK, "--kid", MARK]),
        stdin: Vec::new(),
        code: 0,
    });
    rows
}

fn run_row(row: &Row) -> Run {
    let args: Vec<&str> = row.args.iter().map(String::as_str).collect();
    run_env(&args, &row.stdin, &[("PALISADE_MASTER_KEY", MASTER)])
}

#[test]
fn no_value_typed_after_an_option_is_ever_echoed() {
    let f = setup();
    let shows = |hay: &[u8], what: &str| hay.windows(what.len()).any(|w| w == what.as_bytes());
    let mut problems = Vec::new();
    for row in rows(&f) {
        let r = run_row(&row);
        if r.code != row.code {
            problems.push(format!(
                "{}: exit {} (stderr {:?})",
                row.covers, r.code, r.stderr
            ));
        }
        for what in [MARK, MARK_KEY_ID] {
            if shows(&r.stdout, what) || shows(r.stderr.as_bytes(), what) {
                problems.push(format!(
                    "{}: echoed: {:?} {:?}",
                    row.covers,
                    r.stdout_str(),
                    r.stderr
                ));
            }
        }
        if row.code != 0 && !(r.stderr.starts_with("palisade: ") && r.stderr.lines().count() == 1) {
            problems.push(format!("{}: not one line: {:?}", row.covers, r.stderr));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every option and argument that takes a value, per command, as `--help` lists them:
/// `"token sign --alg"`, `"keyring new <FILE>"`.
fn value_taking_arguments() -> BTreeSet<String> {
    fn walk(path: &mut Vec<String>, out: &mut BTreeSet<String>) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run_env(&args, b"", &[]);
        help.expect_code(0);
        let mut section = "";
        let mut commands = Vec::new();
        for line in help.stdout_str().lines() {
            if !line.starts_with(' ') {
                section = line;
                continue;
            }
            let first = line.split_whitespace().next().unwrap_or("");
            match section {
                "Commands:" if first != "help" => commands.push(first.to_owned()),
                "Arguments:" if first.starts_with('<') => {
                    out.insert(format!("{} {first}", path.join(" ")));
                }
                "Options:" => {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if let Some(i) = words.iter().position(|w| w.starts_with("--"))
                        && words.get(i + 1).is_some_and(|w| w.starts_with('<'))
                    {
                        out.insert(format!("{} {}", path.join(" "), words[i]));
                    }
                }
                _ => {}
            }
        }
        for command in commands {
            path.push(command);
            walk(path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(&mut Vec::new(), &mut out);
    out
}

/// What a row gives the marker to, in the form `value_taking_arguments` uses.
fn marked_arguments(row: &Row, known: &BTreeSet<String>) -> BTreeSet<String> {
    let is_command = |path: &[&str], word: &str| {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{} ", path.join(" "))
        };
        known
            .iter()
            .any(|k| k.starts_with(&format!("{prefix}{word} ")))
    };
    let args: Vec<&str> = row.args.iter().map(String::as_str).collect();
    let mut path: Vec<&str> = Vec::new();
    let mut rest = args.as_slice();
    while let Some((word, tail)) = rest.split_first()
        && !word.starts_with('-')
        && is_command(&path, word)
    {
        path.push(word);
        rest = tail;
    }
    let path = path.join(" ");
    let positionals: Vec<&String> = known
        .iter()
        .filter(|k| {
            k.strip_prefix(&format!("{path} "))
                .is_some_and(|a| a.starts_with('<'))
        })
        .collect();
    let marked = |value: &str| value.contains(MARK) || value.contains(MARK_KEY_ID);
    let mut out = BTreeSet::new();
    let mut position = 0;
    let mut i = 0;
    while i < rest.len() {
        let word = rest[i];
        let option = format!("{path} {word}");
        if word.starts_with("--") && known.contains(&option) {
            if rest.get(i + 1).is_some_and(|v| marked(v)) {
                out.insert(option);
            }
            i += 2;
            continue;
        }
        if !word.starts_with('-') {
            // Positionals are listed in `--help` order, which `BTreeSet` does not keep: match
            // by the argument's place in the usage line instead.
            if let Some(name) = positional_name(&path, position, &positionals)
                && marked(word)
            {
                out.insert(name);
            }
            position += 1;
        }
        i += 1;
    }
    out
}

/// The name of the `position`-th positional argument of `path`, from its usage line.
fn positional_name(path: &str, position: usize, known: &[&String]) -> Option<String> {
    let mut args: Vec<&str> = path.split(' ').collect();
    args.push("--help");
    let help = run_env(&args, b"", &[]);
    let usage = help.stdout_str();
    let line = usage.lines().find(|l| l.starts_with("Usage: "))?.to_owned();
    let names: Vec<&str> = line
        .split_whitespace()
        .filter(|w| {
            // A repeated positional shows as `<NAME>...`.
            let name = w.trim_end_matches("...");
            name.starts_with('<') && name.ends_with('>') && !w.contains('|')
        })
        .filter(|w| known.iter().any(|k| k.ends_with(&format!(" {w}"))))
        .collect();
    names.get(position).map(|n| format!("{path} {n}"))
}

#[test]
fn the_table_gives_the_marker_to_every_option_that_takes_a_value() {
    let known = value_taking_arguments();
    assert!(known.len() > 20, "{known:?}");
    let f = setup();
    let covered: BTreeSet<String> = rows(&f)
        .iter()
        .flat_map(|row| marked_arguments(row, &known))
        .collect();
    let missing: Vec<&String> = known.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "no row of `rows` gives the marker to: {missing:?}"
    );
}

#[test]
fn a_wrong_master_key_names_no_file() {
    let f = setup();
    let r = run_env(
        &["keyring", "list", &f.keyring],
        b"",
        &[("PALISADE_MASTER_KEY", OTHER_MASTER)],
    );
    r.expect_code(2);
    assert!(r.stderr.contains("wrong master key"), "{}", r.stderr);
    assert!(!r.stderr.contains(&f.keyring), "{}", r.stderr);
}

#[test]
fn audit_verify_names_the_tampered_segment_by_its_name_only() {
    let f = setup();
    let log = marked(&f, "audit");
    let verifier = marked(&f, "audit.verifier");
    run_env(
        &["audit", "init", &log, "--verifier-out", &verifier],
        b"",
        &[],
    )
    .expect_code(0);
    run_env(
        &["audit", "append", &log],
        b"{\"action\":\"a\",\"target\":\"row:1\"}\n{\"action\":\"b\",\"target\":\"row:2\"}\n",
        &[],
    )
    .expect_code(0);
    let segment = std::path::Path::new(&log).join("audit-00000000000000000000.jsonl");
    let text = std::fs::read_to_string(&segment).expect("segment");
    std::fs::write(&segment, text.replace("row:2", "row:9")).expect("tamper");
    let r = run_env(
        &["audit", "verify", &log, "--verifier", &verifier],
        b"",
        &[],
    );
    r.expect_code(1);
    assert!(
        r.stdout_str()
            .starts_with("tampered: record 2 (audit-00000000000000000000.jsonl:"),
        "{}",
        r.stdout_str()
    );
    assert!(!r.stdout_str().contains(MARK), "{}", r.stdout_str());
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_not_echoed() {
    use std::{
        ffi::OsString,
        os::unix::ffi::OsStringExt as _,
        process::{Command, Stdio},
    };

    let mut value = vec![0xff, 0xfe];
    value.extend_from_slice(MARK.as_bytes());
    for option in ["--sub", "--kid", "--iss"] {
        let out = Command::new(common::BIN)
            .args([
                "token",
                "sign",
                "--alg",
                "HS256",
                "--secret-file",
                "/nonexistent",
                option,
            ])
            .arg(OsString::from_vec(value.clone()))
            .stdin(Stdio::null())
            .output()
            .expect("run palisade");
        assert_eq!(out.status.code(), Some(2), "{option}");
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !stream.windows(MARK.len()).any(|w| w == MARK.as_bytes()),
                "{option}: {}",
                String::from_utf8_lossy(stream)
            );
        }
    }
}
