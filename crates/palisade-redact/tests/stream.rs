//! Streaming: chunk boundaries never hide a secret, PEM blocks are held until their END line,
//! and the tracing writer redacts plain and JSON records.

use std::io::Write;

use palisade_redact::{LineRedactor, RedactingWriter, Redactor};

const LOG: &str = "start\n\
    user=alice password=hunter2 ok\n\
    Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\n\
    -----BEGIN OPENSSH PRIVATE KEY-----\n\
    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n\
    AAAAAAABAAAAMwAAAAtzc2gtZWQyNTUxOQ\n\
    -----END OPENSSH PRIVATE KEY-----\n\
    card 4111 1111 1111 1111 end\n\
    tail without newline token=abc";

fn whole() -> String {
    Redactor::new().redact(LOG).into_owned()
}

fn streamed(chunk: usize) -> String {
    let mut s = LineRedactor::new(Redactor::new());
    let mut out = Vec::new();
    for piece in LOG.as_bytes().chunks(chunk) {
        s.push(piece, &mut out);
    }
    s.finish(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn every_chunk_size_gives_the_whole_text_result() {
    let expected = whole();
    assert!(
        !expected.contains("hunter2")
            && !expected.contains("b3BlbnNz")
            && !expected.contains("abc")
    );
    for chunk in 1..=LOG.len() {
        assert_eq!(streamed(chunk), expected, "chunk size {chunk}");
    }
}

#[test]
fn pem_block_is_held_until_its_end_line() {
    let mut s = LineRedactor::new(Redactor::new());
    let mut out = Vec::new();
    s.push(b"a\n-----BEGIN PRIVATE KEY-----\nMIIEvQ\n", &mut out);
    assert_eq!(out, b"a\n", "the open block is held back");
    s.push(b"QUJD\n-----END PRIVATE KEY-----\nb\n", &mut out);
    assert_eq!(out, b"a\n[REDACTED]\nb\n");
}

/// Found by fuzzing: a block whose END line also opens the next block must not be split from
/// that END line, whatever the chunking.
#[test]
fn a_block_is_never_split_from_its_end_line() {
    let text = "x -----BEGIN PRIVATE KEY-----\nMIIE\n-----END~PRIVATE KEY-----\n\
                card -----BEGIN PRIVATE KEY-----\nMIE\n-----END PRIVATE KEY------BEGIN PRIVATE KEY-----\n\
                MIIE\n-----END~PRIVATE KEY-----\ncard -----BEGIN PRIVATE KEY-----\nMIE\n\
                -----END PRIVATE KEY-----\ntail\n";
    let whole = Redactor::new().redact(text).into_owned();
    assert!(!whole.contains("MI"), "{whole}");
    for chunk in 1..=text.len() {
        let mut s = LineRedactor::new(Redactor::new());
        let mut out = Vec::new();
        for piece in text.as_bytes().chunks(chunk) {
            s.push(piece, &mut out);
        }
        s.finish(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), whole, "chunk size {chunk}");
    }
}

#[test]
fn an_overgrown_block_fails_closed() {
    let mut s = LineRedactor::with_max_pending(Redactor::new(), 4096);
    let mut out = Vec::new();
    s.push(b"-----BEGIN PRIVATE KEY-----\n", &mut out);
    let body = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789ab\n".repeat(200);
    s.push(body.as_bytes(), &mut out);
    s.push(b"QUJD\n-----END PRIVATE KEY-----\nafter\n", &mut out);
    s.finish(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("QUJD"), "{text}");
    assert!(text.ends_with("after\n"), "{text}");
}

#[test]
fn overlong_lines_are_cut_at_a_separator() {
    let mut s = LineRedactor::with_max_pending(Redactor::new(), 4096);
    let mut out = Vec::new();
    let filler = "word ".repeat(1000);
    s.push(filler.as_bytes(), &mut out);
    s.push(b"password=hunter2 x", &mut out);
    s.finish(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("word word") && text.ends_with("password=[REDACTED] x"));
}

#[test]
fn writer_finishes_and_drop_drains() {
    let mut w = RedactingWriter::new(Vec::new(), Redactor::new());
    for b in LOG.as_bytes() {
        w.write_all(&[*b]).unwrap();
    }
    w.flush().unwrap();
    assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), whole());

    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = RedactingWriter::new(Sink(shared.clone()), Redactor::new());
        w.write_all(b"token=abc").unwrap();
    }
    assert_eq!(&*shared.lock().unwrap(), b"token=[REDACTED]");
}

#[cfg(feature = "tracing")]
mod tracing_writer {
    use palisade_redact::{RedactingMakeWriter, Redactor};
    use palisade_testkit::log_capture::LogCapture;

    fn emit() {
        let token = "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";
        tracing::info!(user = "alice", password = "hunter2", "login with {token}");
        let span = tracing::info_span!("request", api_key = "k-12345");
        let _g = span.enter();
        tracing::warn!(
            retry = 2,
            "upstream said Authorization: Bearer abcdefghijklmnopqrstuvwx"
        );
    }

    fn check(out: &str) {
        for secret in ["hunter2", "ghp_aWFe", "k-12345", "abcdefghijklmnop"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("alice") && out.contains("retry"), "{out}");
    }

    #[test]
    fn plain_records() {
        let buf = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(RedactingMakeWriter::new(buf.clone(), Redactor::new()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        check(&buf.text());
    }

    #[test]
    fn json_records() {
        let buf = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(RedactingMakeWriter::new(buf.clone(), Redactor::new()))
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let out = buf.text();
        check(&out);
        for line in out.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("still valid JSON");
        }
    }
}

/// One overlong line arriving in two writes: the first ends with `before` and takes the held
/// text just past the bound, so its last separator is the one right after `before`; the second
/// brings the value.
fn overlong(before: &str, tail: &str) -> String {
    let mut s = LineRedactor::with_max_pending(Redactor::new(), 4096);
    let mut out = Vec::new();
    let first = format!("{} {before}", "x".repeat(4100 - before.len()));
    s.push(first.as_bytes(), &mut out);
    s.push(tail.as_bytes(), &mut out);
    s.finish(&mut out);
    String::from_utf8(out).unwrap()
}

/// The long-line claim: no cut of an overlong line separates a key from its value, whatever
/// the shape (`key: value`, JSON members, an authorization scheme), so a secret split across
/// writes is still seen whole.
#[test]
fn a_cut_never_separates_a_key_from_its_value() {
    let cases = [
        ("password: ", "hunter2hunter2 rest\n", "hunter2hunter2"),
        (
            "{\"password\": ",
            "\"hunter2hunter2\", \"x\": 1}\n",
            "hunter2hunter2",
        ),
        (
            "Authorization: Bearer ",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl done\n",
            "eyJzdWIiOiIxIn0",
        ),
    ];
    for (before, tail, secret) in cases {
        let text = overlong(before, tail);
        assert!(
            !text.contains(secret),
            "{before:?}: {}",
            &text[text.len() - 120..]
        );
        assert!(text.ends_with('\n'), "the line's end is kept");
    }
}

/// Failing closed: a line whose every recent separator follows a key has no safe cut; the
/// rest of that line is replaced by one marker and the next line comes through.
#[test]
fn an_overlong_line_without_a_safe_cut_fails_closed() {
    let mut s = LineRedactor::with_max_pending(Redactor::new(), 4096);
    let mut out = Vec::new();
    s.push("password: ".repeat(500).as_bytes(), &mut out);
    s.push(b"hunter2hunter2 and more\nnext line\n", &mut out);
    s.finish(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.ends_with("[REDACTED]\nnext line\n"),
        "{}",
        &text[text.len() - 80..]
    );
}
