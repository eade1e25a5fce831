//! Quartz-style cron cycles as Camunda 7 accepts them in `timeCycle` (`0 0/5 * * * ?`):
//! six or seven fields, `seconds minutes hours day-of-month month day-of-week [year]`, all in
//! UTC.
//!
//! Supported in each field: `*`, `?` (day fields), numbers, names (`JAN`..`DEC`,
//! `SUN`..`SAT`, Sunday = 1 as in Quartz), lists `a,b`, ranges `a-b` and steps `a/n`, `*/n`,
//! `a-b/n`. Not supported, and rejected with a clear reason: `L`, `W`, `#` and restricting
//! both the day of month and the day of week (Quartz refuses that too).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;

/// Years searched ahead for the next firing before giving up (Quartz stops at 2199).
const SEARCH_YEARS: i32 = 200;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cron {
    /// The expression as written.
    pub text: String,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// `(first, last, step)` ranges; `None` for every year.
    years: Ranges,
    /// Whether the day-of-month field restricts days (it is not `*` or `?`).
    days_restricted: bool,
    /// Whether the day-of-week field restricts days.
    weekdays_restricted: bool,
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// `(first, last, step)` ranges of one field; `None` for `*` / `?`.
type Ranges = Option<Vec<(u32, u32, u32)>>;

/// Parse one field into its ranges.
fn ranges(field: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<Ranges, String> {
    if field == "*" || field == "?" {
        return Ok(None);
    }
    if field.contains(['L', 'W', '#']) && !names.iter().any(|n| field.contains(n)) {
        return Err(format!(
            "the cron features L, W and # are not supported (in the {what} field '{field}')"
        ));
    }
    let number = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| s.eq_ignore_ascii_case(n)) {
            return Ok(min + i as u32);
        }
        let n: u32 = s
            .parse()
            .map_err(|_| format!("bad {what} '{s}' in cron field '{field}'"))?;
        if n < min || n > max {
            return Err(format!("{what} {n} is out of range {min}-{max}"));
        }
        Ok(n)
    };
    let mut out = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step '{s}' in cron field '{field}'"))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (first, last) = match range {
            "*" | "?" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                // `a/n` runs from a to the end of the field.
                None if step > 1 || item.contains('/') => (number(r)?, max),
                None => {
                    let n = number(r)?;
                    (n, n)
                }
            },
        };
        if first > last {
            return Err(format!(
                "range {first}-{last} in cron field '{field}' is reversed"
            ));
        }
        out.push((first, last, step));
    }
    Ok(Some(out))
}

fn mask(ranges: &Ranges, min: u32, max: u32) -> u64 {
    let mut m = 0u64;
    let all = [(min, max, 1)];
    let rs: &[(u32, u32, u32)] = ranges.as_deref().unwrap_or(&all);
    for &(first, last, step) in rs {
        let mut v = first;
        while v <= last && v < 64 {
            m |= 1 << v;
            v = v.saturating_add(step);
        }
    }
    m
}

/// Parse a cron expression; `Err` carries the reason.
pub fn parse(text: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 6 && fields.len() != 7 {
        return Err(format!(
            "a cron expression has 6 or 7 fields (seconds minutes hours day-of-month month \
             day-of-week [year]), found {}",
            fields.len()
        ));
    }
    let upper: Vec<String> = fields.iter().map(|f| f.to_ascii_uppercase()).collect();
    let seconds = ranges(&upper[0], "second", 0, 59, &[])?;
    let minutes = ranges(&upper[1], "minute", 0, 59, &[])?;
    let hours = ranges(&upper[2], "hour", 0, 23, &[])?;
    let days = ranges(&upper[3], "day of month", 1, 31, &[])?;
    let months = ranges(&upper[4], "month", 1, 12, MONTHS)?;
    let weekdays = ranges(&upper[5], "day of week", 1, 7, WEEKDAYS)?;
    let years = match upper.get(6) {
        Some(y) => ranges(y, "year", 1970, 2199, &[])?,
        None => None,
    };
    for (f, what) in [
        (&upper[0], "second"),
        (&upper[1], "minute"),
        (&upper[2], "hour"),
        (&upper[4], "month"),
    ] {
        if f == "?" {
            return Err(format!(
                "'?' is only allowed in the day fields, not the {what} field"
            ));
        }
    }
    if days.is_some() && weekdays.is_some() {
        return Err(
            "restricting both the day of month and the day of week is not supported; \
             put '?' in one of them"
                .to_owned(),
        );
    }
    Ok(Cron {
        text: text.trim().to_owned(),
        seconds: mask(&seconds, 0, 59),
        minutes: mask(&minutes, 0, 59),
        hours: mask(&hours, 0, 23),
        days: mask(&days, 1, 31),
        months: mask(&months, 1, 12),
        weekdays: mask(&weekdays, 1, 7),
        days_restricted: days.is_some(),
        weekdays_restricted: weekdays.is_some(),
        years,
    })
}

fn bit(mask: u64, v: u32) -> bool {
    v < 64 && mask & (1 << v) != 0
}

impl Cron {
    fn year_ok(&self, y: i32) -> bool {
        match &self.years {
            None => true,
            Some(rs) => rs.iter().any(|&(first, last, step)| {
                u32::try_from(y).is_ok_and(|y| y >= first && y <= last && (y - first) % step == 0)
            }),
        }
    }

    fn day_ok(&self, d: NaiveDate) -> bool {
        if !bit(self.months, d.month()) {
            return false;
        }
        if self.days_restricted {
            return bit(self.days, d.day());
        }
        if self.weekdays_restricted {
            // Quartz numbers Sunday 1 .. Saturday 7.
            return bit(self.weekdays, d.weekday().number_from_sunday());
        }
        true
    }

    /// The first matching second of `day` at or after `from`.
    fn time_on(&self, from: NaiveTime) -> Option<NaiveTime> {
        let (h0, m0, s0) = (from.hour(), from.minute(), from.second());
        for h in h0..24 {
            if !bit(self.hours, h) {
                continue;
            }
            let m_start = if h == h0 { m0 } else { 0 };
            for m in m_start..60 {
                if !bit(self.minutes, m) {
                    continue;
                }
                let s_start = if h == h0 && m == m0 { s0 } else { 0 };
                if let Some(s) = (s_start..60).find(|s| bit(self.seconds, *s)) {
                    return NaiveTime::from_hms_opt(h, m, s);
                }
            }
        }
        None
    }

    /// The first firing strictly after `after` (ms since the epoch, UTC), if any.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        // Whole seconds: the next candidate is the second after `after`.
        let start_s = after.div_euclid(1000).checked_add(1)?;
        let start = chrono::DateTime::from_timestamp(start_s, 0)?.naive_utc();
        let mut day = start.date();
        let mut from = start.time();
        let limit = start.date().year().saturating_add(SEARCH_YEARS);
        while day.year() <= limit {
            if !self.year_ok(day.year()) {
                day = NaiveDate::from_ymd_opt(day.year().checked_add(1)?, 1, 1)?;
                from = NaiveTime::MIN;
                continue;
            }
            if self.day_ok(day)
                && let Some(t) = self.time_on(from)
            {
                return Some(NaiveDateTime::new(day, t).and_utc().timestamp_millis());
            }
            day = day.checked_add_signed(Duration::days(1))?;
            from = NaiveTime::MIN;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "*", "?", "0", "5", "59", "60", "0/5", "*/7", "1-3", "3-1", "MON", "JAN", "L", "6#3",
        "15W", ",", "/", "-", "2026", "2199", "1,2", "SUN-SAT", "31",
    ];

    proptest! {
        #[test]
        fn cron_never_panics(
            fields in prop::collection::vec(prop::sample::select(PIECES), 0..8),
            after in any::<i64>(),
        ) {
            if let Ok(c) = parse(&fields.join(" "))
                && let Some(next) = c.next_after(after)
            {
                prop_assert!(next > after);
            }
        }
    }

    fn at(s: &str) -> i64 {
        crate::timer::parse_date(s).expect("date")
    }

    #[test]
    fn next_firings() {
        let rows: &[(&str, &str, &str)] = &[
            (
                "0 0/5 * * * ?",
                "2026-01-01T10:02:30Z",
                "2026-01-01T10:05:00Z",
            ),
            (
                "0 0/5 * * * ?",
                "2026-01-01T10:05:00Z",
                "2026-01-01T10:10:00Z",
            ),
            (
                "0 0/5 * * * ?",
                "2026-01-01T23:59:00Z",
                "2026-01-02T00:00:00Z",
            ),
            (
                "*/10 * * * * ?",
                "2026-01-01T10:00:01.500Z",
                "2026-01-01T10:00:10Z",
            ),
            (
                "0 0 12 * * ?",
                "2026-01-01T12:00:00Z",
                "2026-01-02T12:00:00Z",
            ),
            (
                "0 15 10 ? * MON-FRI",
                "2026-01-02T11:00:00Z",
                "2026-01-05T10:15:00Z",
            ),
            (
                "0 15 10 ? * 2",
                "2026-01-01T00:00:00Z",
                "2026-01-05T10:15:00Z",
            ),
            (
                "0 0 0 31 * ?",
                "2026-02-01T00:00:00Z",
                "2026-03-31T00:00:00Z",
            ),
            (
                "0 0 0 29 FEB ?",
                "2026-01-01T00:00:00Z",
                "2028-02-29T00:00:00Z",
            ),
            (
                "0 0 8 1 JAN,jul ? 2027",
                "2026-01-01T00:00:00Z",
                "2027-01-01T08:00:00Z",
            ),
            (
                "0 30 9-17/4 * * ?",
                "2026-01-01T09:31:00Z",
                "2026-01-01T13:30:00Z",
            ),
            (
                "15,45 * * * * ?",
                "2026-01-01T00:00:15Z",
                "2026-01-01T00:00:45Z",
            ),
        ];
        for (expr, after, want) in rows {
            let c = parse(expr).expect(expr);
            assert_eq!(
                c.next_after(at(after)),
                Some(at(want)),
                "{expr} after {after}"
            );
        }
        let never = parse("0 0 0 1 1 ? 2020").expect("past year");
        assert_eq!(never.next_after(at("2026-01-01T00:00:00Z")), None);
        let feb_30 = parse("0 0 0 30 2 ?").expect("no such day");
        assert_eq!(feb_30.next_after(at("2026-01-01T00:00:00Z")), None);
        assert_eq!(
            parse("* * * * * ?")
                .expect("every second")
                .next_after(i64::MAX),
            None
        );
    }

    #[test]
    fn rejected() {
        let rows: &[(&str, &str)] = &[
            ("0 0 * * *", "6 or 7 fields"),
            ("0 0 0 L * ?", "not supported"),
            ("0 0 0 ? * 6#3", "not supported"),
            ("0 0 0 15W * ?", "not supported"),
            ("0 0 0 1 * MON", "both the day of month and the day of week"),
            ("60 * * * * ?", "out of range"),
            ("0 0 24 * * ?", "out of range"),
            ("0 0 0 0 * ?", "out of range"),
            ("0 0 0 * 13 ?", "out of range"),
            ("0 0/0 * * * ?", "bad step"),
            ("0 5-1 * * * ?", "reversed"),
            ("x * * * * ?", "bad second"),
            ("? * * * * ?", "only allowed in the day fields"),
            ("0 0 0 ? FOO ?", "bad month"),
        ];
        for (expr, want) in rows {
            let e = parse(expr).expect_err(expr);
            assert!(e.contains(want), "{expr}: {e}");
        }
    }
}
