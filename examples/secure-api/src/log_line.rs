//! The service's log line, written as tracing-subscriber's `Full` format and `DefaultFields`
//! write it, byte for byte, with fewer trips through `core::fmt`.
//!
//! `DefaultFields` writes every field with `write!("{}{}{:?}", name, "=", value)`, the name
//! and the `=` each through a style wrapper's own `Display`: three nested formatting calls per
//! field before the value. The request log has eight or so fields on every request, where that
//! was about 5 k instructions. [`LogFields`] writes names and separators as strings, strings
//! that need no escaping between quotes, and integers through `itoa`; everything else (other
//! `Debug` values, errors, `log.` fields, a writer with colours) goes the way `DefaultFields`
//! goes. [`LogFormat`] writes the level, the spans and the target as strings where `Full`
//! formats each through `write!`. `same_text_as_tracing_subscriber` compares them with
//! tracing-subscriber's own on arbitrary values.

use std::fmt::{self, Write as _};

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    field::{RecordFields, VisitOutput as _},
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::{DefaultFields, DefaultVisitor, Format, Full, Writer},
        time::FormatTime,
    },
    registry::LookupSpan,
};

/// The service's line: tracing-subscriber's `Full` format with the timer `T`, the level, the
/// spans and the target, and no thread names, ids, files or lines.
#[derive(Debug, Clone)]
pub struct LogFormat<T> {
    timer: T,
    /// The same format as tracing-subscriber writes it, for what the fast path leaves to it.
    full: Format<Full, T>,
}

impl<T: FormatTime + Clone> LogFormat<T> {
    /// The format, stamping each line with `timer`.
    pub fn new(timer: T) -> Self {
        Self {
            full: tracing_subscriber::fmt::format()
                .with_timer(timer.clone())
                .with_target(true),
            timer,
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for LogFormat<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // Colours, and events from the `log` crate (whose metadata tracing-subscriber
        // replaces when it bridges `log`): its own path.
        if writer.has_ansi_escapes() || meta.fields().field("log.target").is_some() {
            return self.full.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        // The space after the time, then the level right-aligned in five columns and a space.
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                seen = true;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// The fields formatter of the service's log: the same text as tracing-subscriber's
/// `DefaultFields`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFields;

impl<'w> FormatFields<'w> for LogFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        // Colours, or a writer that leaves escape sequences as they are: `DefaultFields`'
        // own path, which the fast one does not repeat.
        if writer.has_ansi_escapes() || !writer.sanitizes_ansi_escapes() {
            return DefaultFields::new().format_fields(writer, fields);
        }
        let mut visitor = Fields {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes fields as `DefaultVisitor` does, to a writer without colours that escapes control
/// sequences in messages.
struct Fields<'w> {
    writer: Writer<'w>,
    is_empty: bool,
    result: fmt::Result,
}

impl Fields<'_> {
    /// Fields `DefaultVisitor` treats specially: the message, and `log.` metadata (skipped
    /// when tracing-subscriber bridges the `log` crate).
    fn is_plain(field: &Field) -> bool {
        let name = field.name();
        name != "message" && !name.starts_with("log.")
    }

    /// The space before every field but the line's first.
    fn separator(&mut self) -> fmt::Result {
        if self.is_empty {
            self.is_empty = false;
            Ok(())
        } else {
            self.writer.write_char(' ')
        }
    }

    /// The separator, the name without a raw identifier's `r#`, and `=`.
    fn name(&mut self, field: &Field) -> fmt::Result {
        self.separator()?;
        let name = field.name();
        self.writer
            .write_str(name.strip_prefix("r#").unwrap_or(name))?;
        self.writer.write_char('=')
    }

    /// A value `DefaultVisitor` writes with `{:?}` after the name, written by `text` when the
    /// name is plain, else as `DefaultVisitor` would.
    fn plain(
        &mut self,
        field: &Field,
        value: &dyn fmt::Debug,
        text: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
    ) {
        if self.result.is_err() {
            return;
        }
        if Self::is_plain(field) {
            self.result = self.name(field).and_then(|()| text(&mut self.writer));
        } else {
            self.record_debug(field, value);
        }
    }

    /// Hands one field to tracing-subscriber's own visitor, at this visitor's place in the line.
    fn delegate(&mut self, field: &Field, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        let mut counted = Counted {
            inner: &mut self.writer,
            wrote: false,
        };
        let mut visitor = DefaultVisitor::new(Writer::new(&mut counted), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        // `DefaultVisitor` marks the line as started for every field but a skipped `log.` one.
        if counted.wrote || !field.name().starts_with("log.") {
            self.is_empty = false;
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.result.is_ok() {
                self.result = self
                    .separator()
                    .and_then(|()| Escaped(&mut self.writer).write_str(value));
            }
        } else {
            self.plain(field, &value, |w| quoted(w, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.plain(field, &value, |w| {
            w.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.plain(field, &value, |w| {
            w.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.plain(field, &value, |w| {
            w.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.result.is_err() {
            return;
        }
        self.delegate(field, |visitor| visitor.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if field.name() == "message" {
            self.result = self
                .separator()
                .and_then(|()| write!(Escaped(&mut self.writer), "{value:?}"));
        } else if Self::is_plain(field) {
            self.result = self
                .name(field)
                .and_then(|()| write!(self.writer, "{value:?}"));
        } else {
            self.delegate(field, |visitor| visitor.record_debug(field, value));
        }
    }
}

/// `value` as `{:?}` writes it: between quotes as it is when every byte is printable ASCII
/// other than `"` and `\`, else through `Debug`.
fn quoted(writer: &mut Writer<'_>, value: &str) -> fmt::Result {
    if value
        .bytes()
        .all(|b| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\')
    {
        writer.write_char('"')?;
        writer.write_str(value)?;
        writer.write_char('"')
    } else {
        write!(writer, "{value:?}")
    }
}

/// A writer that escapes what could drive a terminal, as tracing-subscriber does in messages:
/// ESC, BEL, BS, FF and DEL as `\x1b` and so on, C1 controls as `\u{80}` to `\u{9f}`. A run of
/// other characters is written in one piece.
struct Escaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            let escape = match bytes[i] {
                0x1b => Some("\\x1b"),
                0x07 => Some("\\x07"),
                0x08 => Some("\\x08"),
                0x0c => Some("\\x0c"),
                0x7f => Some("\\x7f"),
                _ => None,
            };
            // U+0080 to U+009F are 0xC2 followed by 0x80 to 0x9F.
            let c1 =
                bytes[i] == 0xc2 && bytes.get(i + 1).is_some_and(|b| (0x80..=0x9f).contains(b));
            if escape.is_none() && !c1 {
                i += 1;
                continue;
            }
            // Both are whole characters, so `start..i` ends at a character boundary.
            self.0.write_str(s.get(start..i).ok_or(fmt::Error)?)?;
            if let Some(escape) = escape {
                self.0.write_str(escape)?;
                i += 1;
            } else {
                write!(self.0, "\\u{{{:x}}}", bytes[i + 1])?;
                i += 2;
            }
            start = i;
        }
        self.0.write_str(s.get(start..).ok_or(fmt::Error)?)
    }
}

/// A writer that notes whether anything was written through it.
struct Counted<'a, 'w> {
    inner: &'a mut Writer<'w>,
    wrote: bool,
}

impl fmt::Write for Counted<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.wrote |= !s.is_empty();
        self.inner.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use palisade_testkit::log_capture::LogCapture;
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug)]
    struct Failure {
        text: String,
        source: Option<Box<Failure>>,
    }

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.text)
        }
    }

    impl std::error::Error for Failure {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source.as_deref().map(|s| s as _)
        }
    }

    /// A timer that writes the same text every time, so that two runs can be compared.
    #[derive(Debug, Clone, Copy)]
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
            w.write_str("2026-12-06T12:00:00.000000Z")
        }
    }

    /// Logs the same events under tracing-subscriber's `Full` format and `DefaultFields`,
    /// under `Full` and [`LogFields`], and under [`LogFormat`] and [`LogFields`] (as the
    /// service does), each with the target, no colours and every level; returns the texts.
    fn three(log: &dyn Fn()) -> [String; 3] {
        let texts: [LogCapture; 3] = Default::default();
        let base = |lines: &LogCapture| {
            tracing_subscriber::fmt()
                .with_writer(lines.clone())
                .with_timer(Fixed)
                .with_target(true)
                .with_ansi(false)
                .with_max_level(Level::TRACE)
        };
        tracing::subscriber::with_default(base(&texts[0]).finish(), log);
        tracing::subscriber::with_default(base(&texts[1]).fmt_fields(LogFields).finish(), log);
        tracing::subscriber::with_default(
            base(&texts[2])
                .fmt_fields(LogFields)
                .event_format(LogFormat::new(Fixed))
                .finish(),
            log,
        );
        texts.map(|lines| lines.text())
    }

    /// The three texts of [`three`], checked equal.
    fn same_as_tracing_subscriber(log: &dyn Fn()) -> Result<String, TestCaseError> {
        let [theirs, fields, ours] = three(log);
        prop_assert_eq!(&fields, &theirs, "LogFields");
        prop_assert_eq!(&ours, &theirs, "LogFormat");
        Ok(ours)
    }

    /// Every kind of field the request log and the service's other events record, and the
    /// special names, with arbitrary values.
    fn log_everything(text: &str, other: &str, n: u64, i: i64, b: bool, x: f64) {
        let error = Failure {
            text: text.to_owned(),
            source: Some(Box::new(Failure {
                text: other.to_owned(),
                source: None,
            })),
        };
        let outer = tracing::info_span!("serve");
        let _outer = outer.enter();
        let span = tracing::info_span!("request", path = text, n, r#type = other);
        let entered = span.enter();
        span.record("n", n / 2);
        tracing::info!(
            target: "palisade_http::request",
            method = %other,
            path = text,
            status = n,
            latency_us = i,
            ok = b,
            ratio = x,
            client = Some(other),
            absent = None::<&str>,
            r#type = text,
            "log.target" = text,
            debug = ?(text, n),
            "request",
        );
        tracing::warn!(text, n, i, "{text} and {other}");
        tracing::error!(error = &error as &dyn std::error::Error, "failed");
        tracing::info!(message = text, after = other);
        let bare = Failure {
            text: text.to_owned(),
            source: None,
        };
        tracing::info!(message = &bare as &dyn std::error::Error, after = n);
        tracing::info!("r#quoted" = text, "r#" = n);
        tracing::info!(first = n, message = n, last = text);
        tracing::info!(only = text);
        tracing::info!("log.first" = n, rest = text);
        tracing::info!(text);
        tracing::info!("");
        tracing::trace!(n, "{text}");
        tracing::debug!(text);
        tracing::warn!(i);
        drop(entered);
        tracing::error!(target: "elsewhere", b, "{other}");
    }

    /// Strings with everything the two paths treat differently: quotes, backslashes, control
    /// characters, DEL, C1 controls, other non-ASCII text, and plain text.
    fn texts() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => "[ -~]{0,12}",
                1 => Just("\"".to_owned()),
                1 => Just("\\".to_owned()),
                1 => Just("\u{1b}[31m".to_owned()),
                1 => prop::sample::select(vec!['\u{7}', '\u{8}', '\u{c}', '\u{7f}', '\n', '\t', '\r', '\0'])
                    .prop_map(String::from),
                1 => (0x80u32..=0xa0).prop_map(|c| char::from_u32(c).unwrap().to_string()),
                1 => any::<char>().prop_map(String::from),
                1 => Just("é\u{301}€𝄞".to_owned()),
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn same_text_as_tracing_subscriber(
            text in texts(),
            other in texts(),
            n in any::<u64>(),
            i in any::<i64>(),
            b in any::<bool>(),
            x in any::<f64>(),
        ) {
            same_as_tracing_subscriber(&|| log_everything(&text, &other, n, i, b, x))?;
        }
    }

    #[test]
    fn same_text_at_the_edges() {
        let long = "x".repeat(300);
        let texts = [
            "",
            " ",
            "\u{80}",
            "\u{9f}",
            "\u{a0}",
            "\u{c2}",
            "a\u{1b}b\u{85}c",
            &long,
        ];
        for text in texts {
            for n in [0, 9, 10, u64::MAX] {
                for i in [i64::MIN, -1, 0, i64::MAX] {
                    same_as_tracing_subscriber(&|| {
                        log_everything(text, text, n, i, n == 0, f64::NAN);
                    })
                    .unwrap();
                }
            }
        }
    }

    /// The request log's own line: what the service writes on every request.
    #[test]
    fn the_request_line_is_unchanged() {
        let ours = same_as_tracing_subscriber(&|| {
            tracing::info!(
                target: "palisade_http::request",
                method = %axum::http::Method::GET,
                path = %"/me",
                status = 200u16,
                latency_us = 52u64,
                request_id = Some("0193a6f2-8d3c-7b6e-9f41-2b7c5d9e0a11"),
                client = Some("127.0.0.1"),
                "request",
            );
        })
        .unwrap();
        assert_eq!(
            ours,
            "2026-12-06T12:00:00.000000Z  INFO palisade_http::request: request method=GET \
             path=/me status=200 latency_us=52 \
             request_id=\"0193a6f2-8d3c-7b6e-9f41-2b7c5d9e0a11\" client=\"127.0.0.1\"\n"
        );
    }
}
