//! `redact --json`: a streaming JSON tokenizer that copies its input byte for byte except
//! where it redacts.
//!
//! It holds one string or number at a time (bounded) and a stack of open containers
//! (bounded), never a whole document, so a multi-gigabyte JSON Lines file or a single huge
//! document goes through in constant memory. The value of a sensitive key (any type: string,
//! number, object, array) is replaced by `"[REDACTED]"`; every other string is decoded,
//! redacted as text, and re-encoded only when something was found, so its original escapes
//! survive when nothing was. Structure is checked as it goes; numbers and literals are checked
//! with `serde_json`.

use std::{borrow::Cow, io::Write};

use palisade_redact::{REDACTED, Redactor};

use crate::error::JsonStreamError;

/// The longest string (in its escaped form) held at once.
pub(crate) const MAX_STRING: usize = 16 * 1024 * 1024;
/// The longest number or literal.
const MAX_SCALAR: usize = 1024;
/// The deepest nesting accepted.
pub(crate) const MAX_DEPTH: usize = 1024;
/// Output is passed on in pieces of about this size (and at the end of every input chunk).
const OUT_CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (at the top level, also the end of the input).
    Value,
    /// A value or `]`, just after `[`.
    ValueOrEnd,
    /// A key or `}`, just after `{`.
    KeyOrEnd,
    /// A key, after `,` in an object.
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the container's end, after a value.
    CommaOrEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Structure,
    String { escaped: bool },
    Scalar,
}

/// Redacts a stream of JSON values, chunk by chunk.
pub(crate) struct JsonRedactor<W: Write> {
    redactor: Redactor,
    out: W,
    pending_out: Vec<u8>,
    stack: Vec<Container>,
    expect: Expect,
    lex: Lex,
    /// The string (with its opening quote) or scalar being read.
    token: Vec<u8>,
    token_is_key: bool,
    /// The next value belongs to a sensitive key.
    sensitive_next: bool,
    /// Output is suppressed while a sensitive value is skipped; it ends when a value completes
    /// at this depth.
    mute: Option<usize>,
    offset: u64,
}

impl<W: Write> JsonRedactor<W> {
    pub(crate) fn new(redactor: Redactor, out: W) -> Self {
        Self {
            redactor,
            out,
            pending_out: Vec::with_capacity(OUT_CHUNK),
            stack: Vec::new(),
            expect: Expect::Value,
            lex: Lex::Structure,
            token: Vec::new(),
            token_is_key: false,
            sensitive_next: false,
            mute: None,
            offset: 0,
        }
    }

    fn syntax(&self, reason: &'static str) -> JsonStreamError {
        JsonStreamError::Syntax {
            offset: self.offset,
            reason,
        }
    }

    /// Takes the next chunk of input; writes out everything that is settled.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), JsonStreamError> {
        let result = self.push_inner(chunk);
        // Output settled before an error is written too: the reader sees where it stopped.
        let written = self.write_pending();
        result.and(written)
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<(), JsonStreamError> {
        let mut i = 0;
        while i < chunk.len() {
            if let Lex::String { escaped: false } = self.lex {
                // Copy the plain run of a string at once.
                let rest = &chunk[i..];
                let run = rest
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .unwrap_or(rest.len());
                if self.token.len() + run > MAX_STRING {
                    return Err(self.syntax("a string is longer than 16 MiB"));
                }
                self.token.extend_from_slice(&rest[..run]);
                i += run;
                self.offset += run as u64;
                if i == chunk.len() {
                    break;
                }
            }
            self.byte(chunk[i])?;
            i += 1;
            self.offset += 1;
        }
        Ok(())
    }

    /// Ends the input: it must end between complete top-level values.
    pub(crate) fn finish(mut self) -> Result<W, JsonStreamError> {
        let result = self.finish_inner();
        let written = self.write_pending();
        result.and(written)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn finish_inner(&mut self) -> Result<(), JsonStreamError> {
        match self.lex {
            Lex::String { .. } => return Err(self.syntax("unterminated string")),
            Lex::Scalar => self.end_scalar()?,
            Lex::Structure => {}
        }
        if !self.stack.is_empty() || self.expect != Expect::Value {
            return Err(self.syntax("the input ends inside an object or array"));
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<(), JsonStreamError> {
        if !self.pending_out.is_empty() {
            self.out.write_all(&self.pending_out)?;
            self.pending_out.clear();
        }
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8]) {
        if self.mute.is_none() {
            self.pending_out.extend_from_slice(bytes);
        }
    }

    fn byte(&mut self, b: u8) -> Result<(), JsonStreamError> {
        match self.lex {
            Lex::String { escaped } => {
                if escaped {
                    self.lex = Lex::String { escaped: false };
                } else if b == b'"' {
                    self.token.push(b);
                    self.lex = Lex::Structure;
                    return self.end_string();
                } else if b == b'\\' {
                    self.lex = Lex::String { escaped: true };
                } else if b < 0x20 {
                    return Err(self.syntax("a control character inside a string"));
                }
                if self.token.len() >= MAX_STRING {
                    return Err(self.syntax("a string is longer than 16 MiB"));
                }
                self.token.push(b);
                Ok(())
            }
            Lex::Scalar => {
                if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') {
                    if self.token.len() >= MAX_SCALAR {
                        return Err(self.syntax("a number or literal is too long"));
                    }
                    self.token.push(b);
                    return Ok(());
                }
                self.end_scalar()?;
                self.structure(b)
            }
            Lex::Structure => self.structure(b),
        }
    }

    fn structure(&mut self, b: u8) -> Result<(), JsonStreamError> {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            self.emit(&[b]);
            return Ok(());
        }
        match self.expect {
            Expect::ValueOrEnd if b == b']' => {
                self.close(b);
                Ok(())
            }
            Expect::Value | Expect::ValueOrEnd => self.begin_value(b),
            Expect::KeyOrEnd if b == b'}' => {
                self.close(b);
                Ok(())
            }
            Expect::KeyOrEnd | Expect::Key => {
                if b != b'"' {
                    return Err(self.syntax("expected a string key"));
                }
                self.token.clear();
                self.token.push(b);
                self.token_is_key = true;
                self.lex = Lex::String { escaped: false };
                Ok(())
            }
            Expect::Colon => {
                if b != b':' {
                    return Err(self.syntax("expected ':' after a key"));
                }
                self.emit(&[b]);
                self.expect = Expect::Value;
                Ok(())
            }
            Expect::CommaOrEnd => match (b, self.stack.last()) {
                (b',', Some(Container::Object)) => {
                    self.emit(&[b]);
                    self.expect = Expect::Key;
                    Ok(())
                }
                (b',', Some(Container::Array)) => {
                    self.emit(&[b]);
                    self.expect = Expect::Value;
                    Ok(())
                }
                (b'}', Some(Container::Object)) | (b']', Some(Container::Array)) => {
                    self.close(b);
                    Ok(())
                }
                _ => Err(self.syntax("expected ',' or the end of the object or array")),
            },
        }
    }

    fn begin_value(&mut self, b: u8) -> Result<(), JsonStreamError> {
        if !matches!(
            b,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        ) {
            return Err(self.syntax("expected a JSON value"));
        }
        if self.sensitive_next {
            self.sensitive_next = false;
            self.emit(b"\"");
            self.emit(REDACTED.as_bytes());
            self.emit(b"\"");
            self.mute = Some(self.stack.len());
        }
        match b {
            b'{' | b'[' => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.syntax("nested deeper than 1024 levels"));
                }
                self.emit(&[b]);
                if b == b'{' {
                    self.stack.push(Container::Object);
                    self.expect = Expect::KeyOrEnd;
                } else {
                    self.stack.push(Container::Array);
                    self.expect = Expect::ValueOrEnd;
                }
            }
            b'"' => {
                self.token.clear();
                self.token.push(b);
                self.token_is_key = false;
                self.lex = Lex::String { escaped: false };
            }
            _ => {
                self.token.clear();
                self.token.push(b);
                self.lex = Lex::Scalar;
            }
        }
        Ok(())
    }

    fn close(&mut self, b: u8) {
        self.emit(&[b]);
        self.stack.pop();
        self.value_done();
    }

    fn value_done(&mut self) {
        if self.mute == Some(self.stack.len()) {
            self.mute = None;
        }
        self.expect = if self.stack.is_empty() {
            Expect::Value
        } else {
            Expect::CommaOrEnd
        };
    }

    fn end_string(&mut self) -> Result<(), JsonStreamError> {
        let token = std::mem::take(&mut self.token);
        let result = self.settle_string(&token);
        self.token = token;
        result
    }

    /// `token` is a complete string with its quotes.
    fn settle_string(&mut self, token: &[u8]) -> Result<(), JsonStreamError> {
        let body = &token[1..token.len() - 1];
        // Without escapes the body is the text (control characters were refused as read).
        let decoded: Cow<'_, str> = if body.contains(&b'\\') {
            Cow::Owned(
                serde_json::from_slice(token)
                    .map_err(|_| self.syntax("an invalid string (bad escape or UTF-8)"))?,
            )
        } else {
            Cow::Borrowed(
                std::str::from_utf8(body)
                    .map_err(|_| self.syntax("an invalid string (not UTF-8)"))?,
            )
        };
        if self.token_is_key {
            if self.mute.is_none() {
                self.sensitive_next = self.redactor.is_sensitive_key(&decoded);
                self.pending_out.extend_from_slice(token);
            }
            self.expect = Expect::Colon;
            return Ok(());
        }
        if self.mute.is_none() {
            match self.redactor.redact(&decoded) {
                Cow::Borrowed(_) => self.pending_out.extend_from_slice(token),
                Cow::Owned(redacted) => {
                    let encoded = serde_json::to_string(&redacted)
                        .map_err(|_| self.syntax("a string could not be re-encoded"))?;
                    self.pending_out.extend_from_slice(encoded.as_bytes());
                }
            }
            if self.pending_out.len() >= OUT_CHUNK {
                self.write_pending()?;
            }
        }
        self.value_done();
        Ok(())
    }

    fn end_scalar(&mut self) -> Result<(), JsonStreamError> {
        self.lex = Lex::Structure;
        if !is_scalar(&self.token) {
            return Err(self.syntax("an invalid number or literal"));
        }
        if self.mute.is_none() {
            self.pending_out.extend_from_slice(&self.token);
        }
        self.value_done();
        Ok(())
    }
}

/// Whether `token` is `true`, `false`, `null` or a number in JSON's grammar:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_scalar(token: &[u8]) -> bool {
    if matches!(token, b"true" | b"false" | b"null") {
        return true;
    }
    let digits = |t: &[u8]| t.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut t = token.strip_prefix(b"-").unwrap_or(token);
    match t.first() {
        Some(b'0') => t = &t[1..],
        Some(b'1'..=b'9') => t = &t[digits(t)..],
        _ => return false,
    }
    if let Some(rest) = t.strip_prefix(b".") {
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        t = &rest[n..];
    }
    if let Some(rest) = t.strip_prefix(b"e").or_else(|| t.strip_prefix(b"E")) {
        let rest = rest
            .strip_prefix(b"+")
            .or_else(|| rest.strip_prefix(b"-"))
            .unwrap_or(rest);
        let n = digits(rest);
        if n == 0 {
            return false;
        }
        t = &rest[n..];
    }
    t.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> Result<Vec<u8>, JsonStreamError> {
        let mut r = JsonRedactor::new(Redactor::new(), Vec::new());
        r.push(input)?;
        r.finish()
    }

    /// Every split of the input into two chunks gives the same output as one chunk.
    fn run_split(input: &[u8]) -> Vec<u8> {
        let whole = run(input).expect("valid");
        for cut in 0..=input.len() {
            let mut r = JsonRedactor::new(Redactor::new(), Vec::new());
            r.push(&input[..cut]).expect("valid");
            r.push(&input[cut..]).expect("valid");
            assert_eq!(r.finish().expect("valid"), whole, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn sensitive_values_of_any_type_are_replaced() {
        let out = run_split(
            br#"{"user":"alice","password":{"a":[1,"x",{"b":null}]},"pin":7,"token":12.5e3, "api_key" : [true]}"#,
        );
        assert_eq!(
            out,
            br#"{"user":"alice","password":"[REDACTED]","pin":7,"token":"[REDACTED]", "api_key" : "[REDACTED]"}"#
        );
    }

    #[test]
    fn bytes_are_kept_when_nothing_is_found() {
        let input =
            b"{ \"a\" : [ 1 , 2.50 , \"\\u00e9t\\u00e9\" ] }\n\n[ ]\n\"x\"\n-0.0e+1 true null\n";
        assert_eq!(run_split(input), input);
    }

    #[test]
    fn secrets_in_strings_are_found_after_decoding_escapes() {
        // `\u0041` is `A`: the key is only visible once the escape is decoded.
        let out = run(br#"{"note":"key \u0041KIAIOSFODNN7EXAMPLE used"}"#).expect("valid");
        assert_eq!(out, br#"{"note":"key [REDACTED] used"}"#);
    }

    #[test]
    fn json_lines_each_line_redacted() {
        let out = run_split(b"{\"secret\":\"a\"}\n{\"ok\":1}\n");
        assert_eq!(out, b"{\"secret\":\"[REDACTED]\"}\n{\"ok\":1}\n");
    }

    #[test]
    fn not_json_is_an_error_with_offset() {
        for (input, offset) in [
            (&b"{\"a\" 1}"[..], 5),
            (b"{\"a\":1,}", 7),
            (b"[1 2]", 3),
            (b"plain text", 0),
            (b"{\"a\":tru}", 8),
            (b"]", 0),
        ] {
            match run(input) {
                Err(JsonStreamError::Syntax { offset: at, .. }) => {
                    assert_eq!(at, offset, "{}", String::from_utf8_lossy(input));
                }
                other => panic!("{other:?}"),
            }
        }
        for input in [&b"{\"a\":1"[..], b"\"abc", b"[", b"{\"a\""] {
            assert!(matches!(run(input), Err(JsonStreamError::Syntax { .. })));
        }
    }

    #[test]
    fn scalars_follow_the_json_grammar() {
        for ok in [
            "0", "-0", "7", "-12", "1.5", "0.25e-3", "6E+10", "1e5", "true", "false", "null",
        ] {
            assert!(is_scalar(ok.as_bytes()), "{ok}");
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(ok);
            assert!(parsed.is_ok(), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "tru", "nul", "0x10", "1.2.3", "--1",
            "1-",
        ] {
            assert!(!is_scalar(bad.as_bytes()), "{bad}");
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(bad);
            assert!(parsed.is_err(), "{bad}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            run(deep.as_bytes()),
            Err(JsonStreamError::Syntax { .. })
        ));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(run(ok.as_bytes()).expect("valid"), ok.as_bytes());
    }

    mod props {
        use proptest::prelude::*;

        use super::run;

        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::Bool),
                any::<i64>().prop_map(serde_json::Value::from),
                "[a-z \"\\\\\n\u{e9}\u{1f600}]{0,12}".prop_map(serde_json::Value::String),
            ];
            leaf.prop_recursive(4, 32, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                    prop::collection::btree_map("[a-z]{1,8}", inner, 0..5)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// The output is JSON, and equals what palisade-redact's own `redact_json` gives.
            #[test]
            fn agrees_with_redact_json(value in json(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&value)
                } else {
                    serde_json::to_string(&value)
                }.expect("serializable");
                let out = run(text.as_bytes()).expect("valid JSON");
                let parsed: serde_json::Value = serde_json::from_slice(&out).expect("output is JSON");
                let mut expected = value.clone();
                palisade_redact::Redactor::new().redact_json(&mut expected);
                prop_assert_eq!(parsed, expected);
            }

            /// Arbitrary bytes never panic.
            #[test]
            fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = run(&bytes);
            }
        }
    }
}
