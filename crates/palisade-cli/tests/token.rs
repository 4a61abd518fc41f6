//! `token sign|verify`, driven through the built binary: every exit status, the classic JWT
//! attacks, secrets never echoed.

mod common;

use common::{Run, Scratch, run};

fn keys_dir() -> String {
    format!("{}/tests/jwt", env!("CARGO_MANIFEST_DIR"))
}

fn key(name: &str) -> String {
    format!("{}/{name}", keys_dir())
}

const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hs256-test-secret";

/// `palisade token VERB --alg ALG ARGS...` with `input` on standard input.
fn cli_token(verb: &str, alg: &str, args: &[&str], input: &[u8]) -> Run {
    let mut all = vec!["token", verb, "--alg", alg];
    all.extend_from_slice(args);
    run(&all, input)
}

fn token_of(r: &Run) -> String {
    r.expect_code(0);
    let out = r.stdout_str();
    assert_eq!(out.lines().count(), 1, "{out}");
    let token = out.trim_end().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    token
}

fn claims_of(r: &Run) -> serde_json::Value {
    r.expect_code(0);
    let out = r.stdout_str();
    assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
    serde_json::from_str(&out).expect("claims are JSON")
}

// ---------------------------------------------------------------- token

#[test]
fn token_hs256_sign_and_verify() {
    let s = Scratch::new("token-hs");
    let secret = s.file("hs.key", HS_SECRET);
    let token = token_of(
        cli_token(
            "sign",
            "HS256",
            &[
                "--secret-file",
                &secret,
                "--kid",
                "k1",
                "--iss",
                "https://auth.example",
                "--aud",
                "orders",
                "--sub",
                "alice",
                "--ttl",
                "600",
                "--claims",
                r#"{"scope":"orders:read","tenant":"acme"}"#,
            ],
            b"",
        )
        .never_shows(HS_SECRET),
    );
    let verify = |extra: &[&str], input: &str| {
        let mut args = vec![
            "token",
            "verify",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
        ];
        args.extend_from_slice(extra);
        run(&args, input.as_bytes())
    };
    // Surrounding whitespace is trimmed.
    let r = verify(
        &["--iss", "https://auth.example", "--aud", "orders"],
        &format!("  {token}\r\n"),
    );
    let claims = claims_of(r.never_shows(HS_SECRET));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], "https://auth.example");
    assert_eq!(claims["aud"], "orders");
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["tenant"], "acme");
    let (exp, iat) = (
        claims["exp"].as_u64().expect("exp"),
        claims["iat"].as_u64().expect("iat"),
    );
    assert_eq!(exp - iat, 600);
    assert!(claims["jti"].is_string());

    // Negative answers: exit 1, the reason on standard error, nothing on standard output.
    for (extra, reason) in [
        (
            &["--iss", "https://evil.example", "--aud", "orders"][..],
            "wrong_issuer",
        ),
        (&["--iss", "https://auth.example"], "wrong_audience"),
        (&["--aud", "payments"], "wrong_audience"),
    ] {
        let r = verify(extra, &token);
        r.expect_code(1);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains(reason), "{}", r.stderr);
    }
    // Another secret: bad signature.
    let other = s.file("other.key", b"another-secret-of-at-least-32-bytes!!");
    let r = cli_token(
        "verify",
        "HS256",
        &["--secret-file", &other, "--aud", "orders"],
        token.as_bytes(),
    );
    r.expect_code(1);
    assert!(r.stderr.contains("bad_signature"), "{}", r.stderr);
    // A tampered payload.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let r = verify(&["--aud", "orders"], &parts.join("."));
    r.expect_code(1);
}

#[test]
fn token_verify_refuses_the_classic_attacks() {
    let s = Scratch::new("token-attacks");
    let secret = s.file("hs.key", HS_SECRET);
    let verify = |alg: &str, input: &str| {
        cli_token("verify", alg, &["--secret-file", &secret], input.as_bytes())
    };
    // alg none, with and without a signature.
    for token in [
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.",
        "eyJhbGciOiJOb05lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.",
    ] {
        verify("HS256", token).expect_code(1);
    }
    // Expired (an `exp` in the past) and missing `exp`.
    let expired = token_of(&cli_token(
        "sign",
        "HS256",
        &["--secret-file", &secret, "--claims", r#"{"exp":1000}"#],
        b"",
    ));
    let r = verify("HS256", &expired);
    r.expect_code(1);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    // A token signed with HS256 presented as HS512 (with a secret long enough for HS512).
    let long = s.file("hs512.key", &[b'k'; 64]);
    let hs256 = token_of(&cli_token("sign", "HS256", &["--secret-file", &long], b""));
    let r = cli_token(
        "verify",
        "HS512",
        &["--secret-file", &long],
        hs256.as_bytes(),
    );
    r.expect_code(1);
    assert!(r.stderr.contains("algorithm_mismatch"), "{}", r.stderr);
    // Algorithm confusion: an HS256 token whose HMAC key is the RSA public key's PEM.
    let public_pem = std::fs::read(key("rsa2048.pub.pem")).expect("pem");
    let confused_key = s.file("confused.key", &public_pem);
    let confused = token_of(&cli_token(
        "sign",
        "HS256",
        &["--secret-file", &confused_key],
        b"",
    ));
    cli_token(
        "verify",
        "RS256",
        &["--public-key", &key("rsa2048.pub.pem")],
        confused.as_bytes(),
    )
    .expect_code(1);
    // Garbage and oversized tokens are negative answers; no token at all is an input error.
    verify("HS256", "not.a.token").expect_code(1);
    verify("HS256", "\u{ff}").expect_code(1);
    verify("HS256", &"a".repeat(20_000)).expect_code(1);
    verify("HS256", "").expect_code(2);
    verify("HS256", " \n").expect_code(2);
}

#[test]
fn token_asymmetric_keys_and_jwks() {
    for (alg, private, public, kid) in [
        ("EdDSA", "ed25519.pem", "ed25519.pub.pem", "ed-1"),
        ("ES256", "p256.pem", "p256.pub.pem", "ec-1"),
        ("ES512", "p521.pem", "p521.pub.pem", "ec-521"),
        ("RS256", "rsa2048.pem", "rsa2048.pub.pem", "rsa-1"),
        ("PS256", "rsa2048.pem", "rsa2048.pub.pem", "rsa-1"),
    ] {
        let token = token_of(&cli_token(
            "sign",
            alg,
            &["--private-key", &key(private), "--kid", kid, "--sub", "svc"],
            b"",
        ));
        let claims = claims_of(&cli_token(
            "verify",
            alg,
            &["--public-key", &key(public)],
            token.as_bytes(),
        ));
        assert_eq!(claims["sub"], "svc", "{alg}");
        if alg != "PS256" && alg != "ES512" {
            // The JWKS names each key's algorithm; the kid selects it.
            let claims = claims_of(&cli_token(
                "verify",
                alg,
                &["--jwks", &key("jwks.json")],
                token.as_bytes(),
            ));
            assert_eq!(claims["sub"], "svc", "{alg}");
        }
        // Another key pair's public key does not verify it.
        let wrong = if alg == "EdDSA" {
            "p256.pub.pem"
        } else {
            "ed25519.pub.pem"
        };
        let r = cli_token(
            "verify",
            alg,
            &["--public-key", &key(wrong)],
            token.as_bytes(),
        );
        assert!(matches!(r.code, 1 | 2), "{alg}: {r:?}");
    }
    // A kid the JWKS does not have.
    let token = token_of(&cli_token(
        "sign",
        "EdDSA",
        &["--private-key", &key("ed25519.pem"), "--kid", "ed-2"],
        b"",
    ));
    let r = cli_token(
        "verify",
        "EdDSA",
        &["--jwks", &key("jwks.json")],
        token.as_bytes(),
    );
    r.expect_code(1);
    assert!(r.stderr.contains("unknown_key"), "{}", r.stderr);
}

#[test]
fn token_alg_binds_with_a_jwks() {
    // With a JWKS every key names its own algorithm: --alg still binds.
    let token = token_of(&cli_token(
        "sign",
        "EdDSA",
        &["--private-key", &key("ed25519.pem"), "--kid", "ed-1"],
        b"",
    ));
    let r = cli_token(
        "verify",
        "ES256",
        &["--jwks", &key("jwks.json")],
        token.as_bytes(),
    );
    r.expect_code(1);
    assert!(r.stderr.contains("algorithm_mismatch"), "{}", r.stderr);
}

#[test]
fn token_usage_errors_exit_2() {
    let s = Scratch::new("token-usage");
    let secret = s.file("hs.key", HS_SECRET);
    let short = s.file("short.key", b"too-short");
    let pem = key("ed25519.pem");
    for args in [
        &["token", "sign", "--alg", "HS256"][..],
        &["token", "sign", "--alg", "HS999", "--secret-file", &secret],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--private-key",
            &pem,
        ],
        &["token", "sign", "--alg", "HS256", "--private-key", &pem],
        &["token", "sign", "--alg", "EdDSA", "--secret-file", &secret],
        &["token", "sign", "--alg", "HS256", "--secret-file", &short],
        &["token", "sign", "--alg", "RS256", "--private-key", &pem],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--claims",
            "{not json",
        ],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--claims",
            "[1]",
        ],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--claims",
            r#"{"exp":"soon"}"#,
        ],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--ttl",
            "0",
        ],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            &secret,
            "--ttl",
            "-5",
        ],
        &[
            "token",
            "sign",
            "--alg",
            "HS256",
            "--secret-file",
            "/nonexistent/key",
        ],
        &["token", "verify", "--alg", "HS256"],
        &["token", "verify", "--alg", "EdDSA", "--public-key", &secret],
        &["token", "verify", "--alg", "EdDSA", "--jwks", &secret],
        &["token", "sign", "--alg", "HS256", "--secret", "hunter2"],
    ] {
        run(args, b"eyJ.eyJ.sig")
            .expect_code(2)
            .never_shows(HS_SECRET)
            .never_shows(b"hunter2");
    }
    for args in [
        &["token", "sign", "--help"][..],
        &["token", "verify", "--help"],
        &["token", "--help"],
    ] {
        run(args, b"").expect_code(0);
    }
}
