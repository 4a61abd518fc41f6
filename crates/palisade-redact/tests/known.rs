//! Known values: registered secret bytes are redacted wherever they appear, even when no
//! pattern recognises them; removed ones are not; short ones are refused.

use palisade_redact::{
    Kind, KnownSecretError, KnownSecrets, LineRedactor, MIN_KNOWN_SECRET_LEN, REDACTED, Redactor,
};
use proptest::prelude::*;

/// A password no detector recognises: no key name, no prefix, no checksum.
const PLAIN: &str = "violet-staple-93-orbit";
/// One with the characters JSON escapes and a space.
const AWKWARD: &str = "say \"open\" sesame\\now";

fn setup() -> (KnownSecrets, Redactor) {
    let known = KnownSecrets::new();
    let redactor = Redactor::builder()
        .known_secrets(known.clone())
        .build()
        .unwrap();
    (known, redactor)
}

#[test]
fn no_pattern_recognises_the_test_values() {
    let r = Redactor::new();
    for value in [PLAIN, AWKWARD] {
        let line = format!("connected as svc using {value} to db");
        assert_eq!(r.redact(&line), line);
    }
}

#[test]
fn a_registered_value_in_ordinary_log_lines_is_redacted() {
    let (known, r) = setup();
    known.insert(PLAIN.as_bytes()).unwrap();
    for (line, expected) in [
        (
            format!("connected as svc using {PLAIN} to db"),
            "connected as svc using [REDACTED] to db".to_owned(),
        ),
        (PLAIN.to_owned(), REDACTED.to_owned()),
        (
            format!("prefix{PLAIN}suffix"),
            "prefix[REDACTED]suffix".to_owned(),
        ),
        (
            format!("twice {PLAIN},{PLAIN}\nnext {PLAIN}"),
            "twice [REDACTED],[REDACTED]\nnext [REDACTED]".to_owned(),
        ),
    ] {
        assert_eq!(r.redact(&line), expected);
    }
    let found = r.find(format!("x {PLAIN} y").as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, Kind::KnownSecret);
    assert_eq!(found[0].range, 2..2 + PLAIN.len());
    assert_eq!(Kind::KnownSecret.as_str(), "known_secret");
}

#[test]
fn a_registered_value_in_json_is_redacted_raw_and_escaped() {
    let (known, r) = setup();
    known.insert(PLAIN.as_bytes()).unwrap();
    known.insert(AWKWARD.as_bytes()).unwrap();
    let mut v = serde_json::json!({
        "msg": format!("dsn postgres://svc@db/{PLAIN}"),
        "nested": [{"note": AWKWARD}],
    });
    r.redact_json(&mut v);
    assert_eq!(
        v,
        serde_json::json!({
            "msg": "dsn postgres://svc@db/[REDACTED]",
            "nested": [{"note": "[REDACTED]"}],
        })
    );
    // As a JSON log line shows it: escaped.
    let line = serde_json::json!({"msg": AWKWARD}).to_string();
    assert!(line.contains(r#"say \"open\" sesame\\now"#));
    let out = r.redact(&line);
    assert_eq!(out, r#"{"msg":"[REDACTED]"}"#);
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
}

#[test]
fn a_value_split_across_stream_writes_at_every_offset_is_redacted() {
    let (known, r) = setup();
    known.insert(PLAIN.as_bytes()).unwrap();
    known.insert(AWKWARD.as_bytes()).unwrap();
    let text = format!("a {PLAIN} b\nc {AWKWARD} d\ntail {PLAIN}");
    let expected = "a [REDACTED] b\nc [REDACTED] d\ntail [REDACTED]";
    for cut in 0..=text.len() {
        for second in cut..=text.len() {
            let mut s = LineRedactor::new(r.clone());
            let mut out = Vec::new();
            s.push(&text.as_bytes()[..cut], &mut out);
            s.push(&text.as_bytes()[cut..second], &mut out);
            s.push(&text.as_bytes()[second..], &mut out);
            s.finish(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "cuts {cut} {second}"
            );
        }
    }
}

#[test]
fn an_overlong_line_is_not_cut_inside_a_value_with_spaces() {
    let (known, r) = setup();
    let value = "correct horse battery staple";
    known.insert(value.as_bytes()).unwrap();
    let mut s = LineRedactor::with_max_pending(r, 4096);
    let mut out = Vec::new();
    // Just under the bound; the value's first half takes the line past it, so the stream
    // must cut somewhere, and the last space is inside the value.
    let filler = "word ".repeat(818);
    s.push(filler.as_bytes(), &mut out);
    s.push(b"correct horse ", &mut out);
    s.push(b"battery staple and more words ", &mut out);
    s.push(b"\n", &mut out);
    s.finish(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(
        !out.contains("battery staple"),
        "{}",
        &out[out.len() - 200..]
    );
}

#[test]
fn a_removed_value_is_not_redacted_and_a_rotated_one_can_stay() {
    let (known, r) = setup();
    let old = "old-password-0001";
    let new = "new-password-0002";
    known.insert(old.as_bytes()).unwrap();
    known.insert(new.as_bytes()).unwrap();
    assert_eq!(r.redact(&format!("{old} {new}")), "[REDACTED] [REDACTED]");
    assert!(known.remove(old.as_bytes()));
    assert!(!known.remove(old.as_bytes()));
    assert_eq!(
        r.redact(&format!("{old} {new}")),
        format!("{old} [REDACTED]")
    );
    assert!(known.contains(new.as_bytes()) && !known.contains(old.as_bytes()));
    // Two inserts need two removes.
    known.insert(new.as_bytes()).unwrap();
    assert!(known.remove(new.as_bytes()));
    assert_eq!(r.redact(new), REDACTED);
    assert!(known.remove(new.as_bytes()));
    assert_eq!(r.redact(new), new);
    assert!(known.is_empty());
}

#[test]
fn values_added_after_the_redactor_was_built_are_redacted() {
    let (known, r) = setup();
    let other_clone = known.clone();
    assert_eq!(r.redact(PLAIN), PLAIN);
    other_clone.insert(PLAIN.as_bytes()).unwrap();
    assert_eq!(r.redact(PLAIN), REDACTED);
    assert_eq!(known.len(), 1);
}

#[test]
fn short_and_oversized_values_are_refused() {
    let known = KnownSecrets::new();
    assert_eq!(
        known.insert(b"hunter2"),
        Err(KnownSecretError::TooShort { longest: 7 })
    );
    assert!(known.insert(b"").is_err());
    assert!(known.insert(b"abc\ndefg\r\nhij").is_err());
    assert!(known.insert(&[b'a'; MIN_KNOWN_SECRET_LEN]).is_ok());
    assert!(matches!(
        known.insert(&vec![b'a'; 64 * 1024 + 1]),
        Err(KnownSecretError::TooLong { .. })
    ));
    let err = known.insert(b"hunter2").unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(known.len(), 1);
}

#[test]
fn a_multi_line_value_is_redacted_line_by_line() {
    let (known, r) = setup();
    let value = "first-line-of-key\r\nsecond-line-of-key\nend";
    known.insert(value.as_bytes()).unwrap();
    assert_eq!(r.redact(value), "[REDACTED]\r\n[REDACTED]\nend");
    let mut s = LineRedactor::new(r);
    let mut out = Vec::new();
    for b in format!("log {value}\n").as_bytes() {
        s.push(&[*b], &mut out);
    }
    s.finish(&mut out);
    assert_eq!(out, b"log [REDACTED]\r\n[REDACTED]\nend\n");
}

#[test]
fn debug_shows_no_value() {
    let (known, r) = setup();
    known.insert(PLAIN.as_bytes()).unwrap();
    for shown in [format!("{known:?}"), format!("{r:?}")] {
        assert!(!shown.contains("violet"), "{shown}");
    }
    assert!(format!("{known:?}").contains("values: 1"));
}

#[test]
fn a_disabled_kind_is_not_redacted() {
    let known = KnownSecrets::new();
    known.insert(PLAIN.as_bytes()).unwrap();
    let r = Redactor::builder()
        .known_secrets(known)
        .disable(Kind::KnownSecret)
        .build()
        .unwrap();
    assert_eq!(r.redact(PLAIN), PLAIN);
}

#[test]
fn a_value_that_looks_like_a_marker_does_not_loop() {
    let (known, r) = setup();
    known.insert(b"REDACTED").unwrap();
    assert_eq!(r.redact("x REDACTED y"), "x [REDACTED] y");
    assert_eq!(r.redact("x [REDACTED] y"), "x [REDACTED] y");
}

#[test]
fn a_hundred_values_are_all_found() {
    let (known, r) = setup();
    let values: Vec<String> = (0..100).map(|i| format!("value-{i:04}-zq")).collect();
    for v in &values {
        known.insert(v.as_bytes()).unwrap();
    }
    let line = values.join(" ");
    let out = r.redact(&line);
    assert_eq!(out, vec![REDACTED; 100].join(" "));
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_output_is_redacted() {
    use palisade_redact::RedactingMakeWriter;
    use palisade_testkit::log_capture::LogCapture;

    let (known, r) = setup();
    known.insert(AWKWARD.as_bytes()).unwrap();
    for json in [false, true] {
        let buf = LogCapture::default();
        let writer = RedactingMakeWriter::new(buf.clone(), r.clone());
        let emit = || tracing::info!(note = AWKWARD, "loaded {AWKWARD}");
        if json {
            let s = tracing_subscriber::fmt()
                .json()
                .with_writer(writer)
                .finish();
            tracing::subscriber::with_default(s, emit);
        } else {
            let s = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(writer)
                .finish();
            tracing::subscriber::with_default(s, emit);
        }
        let out = buf.text();
        assert!(!out.contains("sesame"), "{out}");
        assert!(out.contains(REDACTED), "{out}");
    }
}

fn logish_with(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        proptest::sample::select(values).prop_map(str::to_owned),
        Just("password=".to_owned()),
        Just("Bearer ".to_owned()),
        Just("[REDACTED]".to_owned()),
        Just("\n".to_owned()),
        "[A-Za-z0-9 =:,_.\"-]{0,12}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

const VALUES: &[&str] = &[
    PLAIN,
    AWKWARD,
    "REDACTED",
    "abcdefgh",
    "abcdefghijkl",
    "0123456789abcdef",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With registered values, redacting redacted text changes nothing, and no registered
    /// value of more than the marker's letters survives.
    #[test]
    fn idempotent_with_known_values(text in logish_with(VALUES)) {
        let (known, r) = setup();
        for v in VALUES {
            known.insert(v.as_bytes()).unwrap();
        }
        let once = r.redact(&text).into_owned();
        let twice = r.redact(&once).into_owned();
        prop_assert_eq!(&twice, &once);
        for v in [PLAIN, AWKWARD, "abcdefgh"] {
            prop_assert!(!once.contains(v), "{} in {}", v, once);
        }
    }

    /// Streaming in arbitrary chunks gives what whole-text redaction gives.
    #[test]
    fn chunking_does_not_matter_with_known_values(
        text in logish_with(VALUES),
        cuts in proptest::collection::vec(0usize..64, 0..8),
    ) {
        let (known, r) = setup();
        for v in VALUES {
            known.insert(v.as_bytes()).unwrap();
        }
        let text = format!("{text}\n");
        let expected = r.redact(&text).into_owned();
        let mut s = LineRedactor::new(r);
        let mut out = Vec::new();
        let mut rest = text.as_bytes();
        for cut in cuts {
            let (a, b) = rest.split_at(cut.min(rest.len()));
            s.push(a, &mut out);
            rest = b;
        }
        s.push(rest, &mut out);
        s.finish(&mut out);
        prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
