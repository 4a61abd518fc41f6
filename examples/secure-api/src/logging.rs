//! The service's log: tracing-subscriber's text format, every line redacted by palisade-redact,
//! stamped by [`LogTime`], written by [`LogFormat`] and [`LogFields`].

use std::{
    cell::RefCell,
    fmt,
    time::{SystemTime, UNIX_EPOCH},
};

use tracing_subscriber::fmt::{MakeWriter, format::Writer, time::FormatTime};

use crate::log_line::{LogFields, LogFormat};

/// The exact values of the service's secrets, as loaded: the log redactor removes them
/// wherever they appear, even where no pattern would recognise them.
pub fn known_secrets() -> &'static palisade_redact::KnownSecrets {
    static KNOWN: std::sync::OnceLock<palisade_redact::KnownSecrets> = std::sync::OnceLock::new();
    KNOWN.get_or_init(palisade_redact::KnownSecrets::new)
}

/// Logging to standard error through palisade-redact, so no token, key or password that
/// reaches a log line is written; the secrets loaded later are registered with the same
/// redactor ([`known_secrets`]).
pub fn init_logging() {
    // The redactor registers its metrics when it is built: the recorder comes first.
    crate::metrics::exporter();
    let writer = palisade_redact::RedactingMakeWriter::new(
        std::io::stderr,
        // The built-in rules and a registry cannot fail to build; were they to, the built-in
        // redactor still runs.
        palisade_redact::Redactor::builder()
            .known_secrets(known_secrets().clone())
            .build()
            .unwrap_or_else(|_| palisade_redact::Redactor::new()),
    );
    let _ = tracing::subscriber::set_global_default(subscriber(writer));
}

/// The service's log format writing to `writer`: what [`init_logging`] installs, for a
/// benchmark or a test that logs as the service does but elsewhere.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .fmt_fields(LogFields)
        .event_format(LogFormat::new(LogTime))
        .finish()
}

/// Each line's time, in the text tracing-subscriber's own `SystemTime` writes
/// (`2026-12-06T07:34:20.512842Z`: UTC, microseconds), with the date and the time of day
/// worked out once a second per thread instead of on every line (where they cost about a
/// third of what redacting the line does).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogTime;

impl FormatTime for LogTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        thread_local! {
            static LAST: RefCell<LineTime> = const { RefCell::new(LineTime::new()) };
        }
        let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
            // Before 1970: as tracing-subscriber writes it.
            return tracing_subscriber::fmt::time::SystemTime.format_time(w);
        };
        let (secs, micros) = (since_epoch.as_secs(), since_epoch.subsec_micros());
        LAST.with(|last| match last.try_borrow_mut() {
            Ok(mut last) => match last.text(secs, micros) {
                Some(text) => w.write_str(text),
                None => tracing_subscriber::fmt::time::SystemTime.format_time(w),
            },
            // A line formatted while this thread formats another (a `Debug` that logs).
            Err(_) => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        })
    }
}

/// The text of the last time written on a thread.
struct LineTime {
    /// The whole second `text` holds; `u64::MAX`, which no time reaches, before the first.
    secs: u64,
    text: [u8; 27],
}

/// The last second of year 9999, the largest time the text holds with four year digits (and
/// the last a `palisade_audit::Timestamp` holds).
const MAX_SECS: u64 = 253_402_300_799;

impl LineTime {
    const fn new() -> Self {
        Self {
            secs: u64::MAX,
            text: *b"0000-00-00T00:00:00.000000Z",
        }
    }

    /// The text of `secs` and `micros` (below 1,000,000) past the epoch; `None` past year
    /// 9999.
    fn text(&mut self, secs: u64, micros: u32) -> Option<&str> {
        if secs > MAX_SECS {
            return None;
        }
        if secs != self.secs {
            // The date and time of day as the audit records write them (`…T22:13:20.123Z`),
            // once a second: the calendar is palisade-audit's.
            let whole = palisade_audit::Timestamp::from_unix_millis(secs * 1000).to_string();
            self.text[..19].copy_from_slice(whole.as_bytes().get(..19)?);
            self.secs = secs;
        }
        digits(&mut self.text[20..26], u64::from(micros));
        std::str::from_utf8(&self.text).ok()
    }
}

/// `value`'s last `out.len()` decimal digits, zero-padded, into `out`.
fn digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        // A digit: `value % 10` is below 10.
        *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text `time` (an independent implementation of the calendar) gives the same instant.
    fn reference(secs: u64, micros: u32) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap()).unwrap();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    proptest::proptest! {
        /// Whatever second came before (the cache's state), a time's text is the calendar's.
        #[test]
        fn log_time_is_the_calendar_text(
            before in 0..=MAX_SECS,
            secs in 0..=MAX_SECS,
            micros in 0..1_000_000u32,
            again in 0..1_000_000u32,
        ) {
            let mut last = LineTime::new();
            let _ = last.text(before, 0);
            proptest::prop_assert_eq!(last.text(secs, micros).unwrap(), reference(secs, micros));
            // The same second again: only the microseconds are rewritten.
            proptest::prop_assert_eq!(last.text(secs, again).unwrap(), reference(secs, again));
        }
    }

    #[test]
    fn log_time_edges() {
        let mut last = LineTime::new();
        assert_eq!(last.text(0, 0), Some("1970-01-01T00:00:00.000000Z"));
        assert_eq!(
            last.text(951_782_400, 999_999),
            Some("2000-02-29T00:00:00.999999Z")
        );
        assert_eq!(
            last.text(MAX_SECS, 999_999),
            Some("9999-12-31T23:59:59.999999Z")
        );
        assert_eq!(last.text(MAX_SECS + 1, 0), None);
    }

    /// A line stamped by [`LogTime`] and one stamped by tracing-subscriber's `SystemTime` at
    /// about the same moment have the same shape and differ by well under a second.
    #[test]
    fn log_time_matches_tracing_subscribers_format() {
        let stamp = |timer: &dyn Fn(&mut Writer<'_>) -> fmt::Result| {
            let mut text = String::new();
            timer(&mut Writer::new(&mut text)).unwrap();
            text
        };
        let ours = stamp(&|w| LogTime.format_time(w));
        let theirs = stamp(&|w| tracing_subscriber::fmt::time::SystemTime.format_time(w));
        assert_eq!(ours.len(), theirs.len(), "{ours} vs {theirs}");
        let shape = |s: &str| {
            s.bytes()
                .map(|b| if b.is_ascii_digit() { b'0' } else { b })
                .collect::<Vec<u8>>()
        };
        assert_eq!(shape(&ours), shape(&theirs));
        let parse = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let apart = (parse(&theirs) - parse(&ours)).abs();
        assert!(apart < time::Duration::seconds(2), "{ours} vs {theirs}");
    }
}
