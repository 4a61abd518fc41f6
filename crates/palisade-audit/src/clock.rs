//! Time: the injectable [`Clock`] and the UTC [`Timestamp`] written into records.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A point in time, UTC, with millisecond precision: milliseconds since the Unix epoch.
///
/// Records carry it as RFC 3339 text (`2026-11-22T18:04:05.123Z`), always in that exact
/// form, so two timestamps compare the same as text and as numbers.
///
/// ```
/// use palisade_audit::Timestamp;
///
/// let t = Timestamp::from_unix_millis(1_700_000_000_123);
/// assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
/// assert_eq!(Timestamp::parse("2023-11-14T22:13:20.123Z"), Some(t));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

/// The last millisecond of year 9999, the largest time RFC 3339 text with four year digits holds.
const MAX_MILLIS: u64 = 253_402_300_799_999;

impl Timestamp {
    /// `millis` after 1970-01-01T00:00:00Z, clamped to the end of year 9999.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(if millis > MAX_MILLIS {
            MAX_MILLIS
        } else {
            millis
        })
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of year 9999.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self::from_unix_millis(self.0.saturating_add(ms))
    }

    /// Parses exactly the form [`Display`](fmt::Display) writes; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 24 {
            return None;
        }
        let shape_ok = b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.'
            && b[23] == b'Z';
        if !shape_ok {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u64> {
            b[from..to].iter().try_fold(0u64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
            })
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second, milli) =
            (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
        if year < 1970 || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
        Some(Self(secs * 1000 + milli))
    }
}

impl Timestamp {
    /// The RFC 3339 text, `YYYY-MM-DDTHH:MM:SS.mmmZ`, as ASCII bytes: what records carry.
    pub(crate) fn to_text(self) -> [u8; 24] {
        let millis = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        // Every field fits its width: the year is at most 9999 (`MAX_MILLIS`).
        for (at, width, value) in [
            (0, 4, year),
            (5, 2, month),
            (8, 2, day),
            (11, 2, rem / 3600),
            (14, 2, rem % 3600 / 60),
            (17, 2, rem % 60),
            (20, 3, millis),
        ] {
            let mut v = value;
            for digit in out[at..at + width].iter_mut().rev() {
                *digit = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        out
    }
}

/// The text of the last time written, kept so that records written within one second (most
/// of them, under load) only rewrite the milliseconds instead of working out the date again.
#[derive(Debug, Clone)]
pub(crate) struct TimeText {
    /// The whole second the text is for; `u64::MAX`, which no time reaches, before the first.
    secs: u64,
    text: [u8; 24],
}

impl Default for TimeText {
    fn default() -> Self {
        Self {
            secs: u64::MAX,
            text: *b"0000-00-00T00:00:00.000Z",
        }
    }
}

impl TimeText {
    /// `t`'s text, as [`Timestamp::to_text`] writes it.
    pub(crate) fn of(&mut self, t: Timestamp) -> &[u8; 24] {
        let secs = t.0 / 1000;
        if secs == self.secs {
            let millis = t.0 % 1000;
            self.text[20] = b'0' + (millis / 100) as u8;
            self.text[21] = b'0' + (millis / 10 % 10) as u8;
            self.text[22] = b'0' + (millis % 10) as u8;
        } else {
            self.text = t.to_text();
            self.secs = secs;
        }
        &self.text
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_text();
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date at or after 1970 (H. Hinnant's
/// `days_from_civil`, restricted to non-negative results).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Where the log gets the time. Inject [`ManualClock`] in tests so they never sleep.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        // `as_millis` saturated to `u64`, without its 128-bit arithmetic.
        let millis = since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_millis()));
        Timestamp::from_unix_millis(millis)
    }
}

/// A clock that moves only when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use palisade_audit::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_unix_millis(1_000));
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(shared.now().unix_millis(), 3_000);
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(start.unix_millis())))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(Timestamp::from_unix_millis(t.saturating_add(ms)).unix_millis())
            });
    }

    /// Sets the clock to `t`, which may be earlier than now (a clock stepped back).
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.unix_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_dates() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_164_799_999, "2024-02-28T23:59:59.999Z"),
            (MAX_MILLIS, "9999-12-31T23:59:59.999Z"),
        ] {
            let t = Timestamp::from_unix_millis(ms);
            assert_eq!(t.to_string(), text);
            assert_eq!(Timestamp::parse(text), Some(t));
        }
        for bad in [
            "2023-02-29T00:00:00.000Z",
            "2023-13-01T00:00:00.000Z",
            "2023-01-01T24:00:00.000Z",
            "2023-01-01 00:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
            "2023-01-01T00:00:00.000+",
            "+023-01-01T00:00:00.000Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    /// The text records carry is what the first encoder's `format!` wrote, for every 7th day
    /// up to year 9999 at a time of day that moves with the day.
    #[test]
    fn text_is_what_format_wrote() {
        for d in (0..2_932_897u64).step_by(7) {
            let ms = (d * 86_400_000 + d * 7_777_777 % 86_400_000).min(MAX_MILLIS);
            let millis = ms % 1000;
            let secs = ms / 1000;
            let (days, rem) = (secs / 86_400, secs % 86_400);
            let (year, month, day) = civil_from_days(days);
            let expected = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            );
            let t = Timestamp::from_unix_millis(ms);
            assert_eq!(t.to_text(), expected.as_bytes(), "{ms}");
            assert_eq!(t.to_string(), expected);
        }
    }

    /// The kept text is the text of every time, going forwards within and across seconds,
    /// backwards, and after a jump.
    #[test]
    fn kept_text_is_the_text_of_every_time() {
        let mut kept = TimeText::default();
        let start = 1_767_225_599_990u64;
        let times = (start..start + 2_100).chain([
            start + 5,
            start - 1,
            MAX_MILLIS,
            0,
            999,
            1000,
            1000,
            1_001,
            0,
        ]);
        for ms in times {
            let t = Timestamp::from_unix_millis(ms);
            assert_eq!(kept.of(t), &t.to_text(), "{ms}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        for day in (0..2_932_896u64).step_by(7) {
            let t = Timestamp::from_unix_millis(day * 86_400_000 + 45_296_789);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
    }
}
