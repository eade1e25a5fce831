//! Timer parsing and arithmetic behind the API in [`crate::timer`].
//!
//! The ISO 8601 grammar accepted here is written by hand: the profile BPMN timers need (one
//! date-time form, durations with calendar units, repeating intervals) is small, and a hand
//! parser gives every rejection a precise reason. chrono does the calendar arithmetic.
//!
//! Everything is pure: "now" is an argument, never read from the clock.
//!
//! Cron cycles (`0 0/5 * * * ?`, which Camunda 7 accepts in `timeCycle`) are handed to
//! [`super::cron`].

use chrono::{DateTime, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use super::{Cycle, IsoDuration, RetrySchedule, TimerError};

/// Longest retry schedule `Rn/...` accepted: a bigger `n` is a typo, and it would allocate.
const MAX_RETRIES: u32 = 10_000;

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
const MS_PER_WEEK: i64 = 7 * MS_PER_DAY;

fn err(text: &str, reason: impl Into<String>) -> TimerError {
    TimerError {
        text: text.to_owned(),
        reason: reason.into(),
    }
}

/// Parse an ISO 8601 date-time (`timeDate`) to milliseconds since the Unix epoch.
///
/// Accepted: `YYYY-MM-DDThh:mm[:ss[.fff]]` followed by `Z`, `±hh:mm`, `±hhmm`, `±hh` or
/// nothing (then the time is UTC). A date without a time is rejected: a timer needs an instant.
pub fn parse_date(text: &str) -> Result<i64, TimerError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(err(text, "empty date"));
    }
    let Some(t_pos) = s.find('T') else {
        return Err(err(
            text,
            "a date alone is not an instant: expected a date-time like 2026-01-01T10:00:00Z",
        ));
    };
    let (date_part, rest) = (&s[..t_pos], &s[t_pos + 1..]);
    let date = parse_calendar_date(date_part).map_err(|r| err(text, r))?;

    // Split the time from its offset: the offset starts at 'Z' or at a sign (the time part
    // itself contains neither).
    let (time_part, offset_secs) = if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        (time, 0)
    } else if let Some(sign_pos) = rest.find(['+', '-']) {
        let offset = parse_offset(&rest[sign_pos..]).map_err(|r| err(text, r))?;
        (&rest[..sign_pos], offset)
    } else {
        (rest, 0)
    };
    let time = parse_time(time_part).map_err(|r| err(text, r))?;
    let naive = NaiveDateTime::new(date, time);
    let offset =
        FixedOffset::east_opt(offset_secs).ok_or_else(|| err(text, "offset out of range"))?;
    let instant = offset
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| err(text, "date-time out of range"))?;
    Ok(instant.with_timezone(&Utc).timestamp_millis())
}

/// Exactly `n` ASCII digits as a number.
fn digits(s: &str, n: usize, what: &str) -> Result<u32, String> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} must be {n} digits, found '{s}'"));
    }
    s.parse::<u32>()
        .map_err(|_| format!("{what} must be {n} digits, found '{s}'"))
}

fn parse_calendar_date(s: &str) -> Result<NaiveDate, String> {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("expected a date YYYY-MM-DD, found '{s}'"));
    };
    let year = digits(y, 4, "year")?;
    let month = digits(m, 2, "month")?;
    let day = digits(d, 2, "day")?;
    // The year has four digits, so it always fits i32.
    let year = i32::try_from(year).map_err(|_| "year out of range".to_owned())?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| format!("no such date '{s}'"))
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    let (hms, frac) = match s.find(['.', ',']) {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(m), sec, None) => (h, m, sec),
        _ => return Err(format!("expected a time hh:mm[:ss[.fff]], found '{s}'")),
    };
    let hour = digits(h, 2, "hour")?;
    let minute = digits(m, 2, "minute")?;
    let second = match sec {
        Some(sec) => digits(sec, 2, "second")?,
        None if frac.is_some() => return Err("a fraction needs seconds".to_owned()),
        None => 0,
    };
    let millis = match frac {
        Some(f) => {
            fraction_to_millis(f).ok_or_else(|| format!("bad fraction of a second '{f}'"))?
        }
        None => 0,
    };
    NaiveTime::from_hms_milli_opt(hour, minute, second, millis)
        .ok_or_else(|| format!("no such time '{s}'"))
}

/// `.5` → 500, `.123456` → 123 (truncated to milliseconds). At most 9 digits.
fn fraction_to_millis(f: &str) -> Option<u32> {
    if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0u32;
    for (i, b) in f.bytes().take(3).enumerate() {
        ms += u32::from(b - b'0') * 10u32.pow(2 - i as u32);
    }
    Some(ms)
}

/// `+01:00`, `-0530`, `+02` → seconds east of UTC.
fn parse_offset(s: &str) -> Result<i32, String> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(format!("bad offset '{s}'")),
    };
    let (h, m) = match body.len() {
        2 => (body, "00"),
        4 => (&body[..2], &body[2..]),
        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
        _ => return Err(format!("bad offset '{s}': expected ±hh:mm, ±hhmm or ±hh")),
    };
    let hours = digits(h, 2, "offset hours")?;
    let minutes = digits(m, 2, "offset minutes")?;
    if hours > 23 || minutes > 59 {
        return Err(format!("offset '{s}' out of range"));
    }
    let secs = i32::try_from(hours * 3600 + minutes * 60).map_err(|_| "offset out of range")?;
    Ok(sign * secs)
}

/// Parse an ISO 8601 duration (`timeDuration`): `PnYnMnWnDTnHnMnS`, with a fraction allowed on
/// seconds only (`PT0.5S`). Negative, empty (`P`, `PT`) and out-of-order forms are rejected.
pub fn parse_duration(text: &str) -> Result<IsoDuration, TimerError> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(err(text, "negative durations are not allowed"));
    }
    let Some(body) = s.strip_prefix('P') else {
        return Err(err(
            text,
            "a duration starts with 'P', like PT5M, P1D or P1Y2M",
        ));
    };
    let (date_part, time_part) = match body.find('T') {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    let mut d = IsoDuration::default();
    let mut any = false;

    // Date part: designators Y, M, W, D in this order, each at most once.
    let mut rest = date_part;
    let mut rank = 0;
    while !rest.is_empty() {
        let (number, designator, tail) = next_component(rest).map_err(|r| err(text, r))?;
        let (this_rank, slot) = match designator {
            'Y' => (1, &mut d.years),
            'M' => (2, &mut d.months),
            'W' => (3, &mut d.weeks),
            'D' => (4, &mut d.days),
            'H' | 'S' => {
                return Err(err(
                    text,
                    format!("'{designator}' belongs after 'T' (like PT1{designator})"),
                ));
            }
            other => return Err(err(text, format!("unknown designator '{other}'"))),
        };
        if this_rank <= rank {
            return Err(err(
                text,
                "designators must appear once each, in the order Y M W D",
            ));
        }
        rank = this_rank;
        *slot = whole_number(number, designator).map_err(|r| err(text, r))?;
        any = true;
        rest = tail;
    }

    if let Some(time) = time_part {
        if time.is_empty() {
            return Err(err(
                text,
                "'T' must be followed by hours, minutes or seconds",
            ));
        }
        let mut rest = time;
        let mut rank = 0;
        while !rest.is_empty() {
            let (number, designator, tail) = next_component(rest).map_err(|r| err(text, r))?;
            let this_rank = match designator {
                'H' => 1,
                'M' => 2,
                'S' => 3,
                'Y' | 'W' | 'D' => {
                    return Err(err(
                        text,
                        format!("'{designator}' belongs before 'T' (like P1{designator})"),
                    ));
                }
                other => return Err(err(text, format!("unknown designator '{other}'"))),
            };
            if this_rank <= rank {
                return Err(err(
                    text,
                    "designators must appear once each, in the order H M S",
                ));
            }
            rank = this_rank;
            match designator {
                'H' => d.hours = whole_number(number, 'H').map_err(|r| err(text, r))?,
                'M' => d.minutes = whole_number(number, 'M').map_err(|r| err(text, r))?,
                _ => d.millis = seconds_to_millis(number).map_err(|r| err(text, r))?,
            }
            any = true;
            rest = tail;
        }
    }
    if !any {
        return Err(err(
            text,
            "a duration needs at least one component, like PT5M",
        ));
    }
    Ok(d)
}

/// Split `12.5S...` into (`12.5`, 'S', `...`).
fn next_component(s: &str) -> Result<(&str, char, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(s.len());
    let number = &s[..end];
    if number.is_empty() {
        return Err(format!("expected a number at '{s}'"));
    }
    let Some(designator) = s[end..].chars().next() else {
        return Err(format!(
            "number '{number}' has no designator (Y, M, W, D, H, M or S)"
        ));
    };
    Ok((number, designator, &s[end + designator.len_utf8()..]))
}

fn whole_number(number: &str, designator: char) -> Result<u32, String> {
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{number}{designator}': fractions are only supported on seconds"
        ));
    }
    number
        .parse::<u32>()
        .map_err(|_| format!("'{number}{designator}' is too large"))
}

fn seconds_to_millis(number: &str) -> Result<u64, String> {
    let (whole, frac) = match number.find(['.', ',']) {
        Some(p) => (&number[..p], Some(&number[p + 1..])),
        None => (number, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad number of seconds '{number}'"));
    }
    let secs: u64 = whole
        .parse()
        .map_err(|_| format!("'{number}S' is too large"))?;
    let frac_ms = match frac {
        Some(f) => fraction_to_millis(f).ok_or_else(|| format!("bad fraction in '{number}S'"))?,
        None => 0,
    };
    secs.checked_mul(1000)
        .and_then(|ms| ms.checked_add(u64::from(frac_ms)))
        // Keep it representable as i64 milliseconds.
        .filter(|ms| i64::try_from(*ms).is_ok())
        .ok_or_else(|| format!("'{number}S' is too large"))
}

/// Parse a `timeCycle`: an ISO 8601 repeating interval (`Rn/<duration>`, `R/<duration>`,
/// `Rn/<start>/<duration>`, `Rn/<duration>/<end>`) or a Quartz cron expression
/// (`0 0/5 * * * ?`, UTC).
pub fn parse_cycle(text: &str) -> Result<Cycle, TimerError> {
    let s = text.trim();
    if looks_like_cron(s) {
        let cron = super::cron::parse(s).map_err(|reason| err(text, reason))?;
        return Ok(Cycle {
            repetitions: None,
            start: None,
            interval: IsoDuration::default(),
            end: None,
            cron: Some(cron),
        });
    }
    let parts: Vec<&str> = s.split('/').collect();
    let repetitions = parse_repetitions(text, parts[0])?;
    // Errors of the parts name the whole text.
    let whole = |e: TimerError| err(text, e.reason);
    let duration = |d: &str| parse_duration(d).map_err(whole);
    let date = |d: &str| parse_date(d).map_err(whole);
    let (start, interval, end) = match parts.as_slice() {
        [_, d] => (None, duration(d)?, None),
        [_, a, b] if a.trim_start().starts_with('P') && b.trim_start().starts_with('P') => {
            return Err(err(text, "a cycle has one duration, not two"));
        }
        [_, d, end] if d.trim_start().starts_with('P') => (None, duration(d)?, Some(date(end)?)),
        [_, start, d] if d.trim_start().starts_with('P') => {
            (Some(date(start)?), duration(d)?, None)
        }
        [_, _, _] => {
            return Err(err(
                text,
                "a cycle needs a duration: Rn/<start>/<duration> or Rn/<duration>/<end>",
            ));
        }
        _ => {
            return Err(err(
                text,
                "expected Rn/<duration>, Rn/<start>/<duration> or Rn/<duration>/<end>",
            ));
        }
    };
    if interval.approx_millis() <= 0 {
        return Err(err(
            text,
            "the interval of a cycle must be longer than zero",
        ));
    }
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        return Err(err(text, "the cycle ends before it starts"));
    }
    Ok(Cycle {
        repetitions,
        start,
        interval,
        end,
        cron: None,
    })
}

/// Cron text has spaces between fields; ISO 8601 text has none.
fn looks_like_cron(s: &str) -> bool {
    s.split_whitespace().count() >= 5
}

/// `R` → unbounded, `R5` → 5.
fn parse_repetitions(text: &str, r: &str) -> Result<Option<u32>, TimerError> {
    let Some(n) = r.trim().strip_prefix('R') else {
        return Err(err(
            text,
            "a cycle starts with Rn/ (like R3/PT10S) or R/ for unbounded",
        ));
    };
    if n.is_empty() {
        return Ok(None);
    }
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(text, format!("bad repetition count 'R{n}'")));
    }
    n.parse::<u32>()
        .map(Some)
        .map_err(|_| err(text, format!("repetition count 'R{n}' is too large")))
}

/// Parse a retry schedule: `R3/PT10S` (3 retries, 10 s apart) or `PT1M,PT2M,PT5M`.
pub(super) fn parse_retry_schedule(text: &str) -> Result<RetrySchedule, TimerError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(err(
            text,
            "empty retry schedule; expected R3/PT10S or PT1M,PT5M",
        ));
    }
    if s.starts_with('R') {
        let parts: Vec<&str> = s.split('/').collect();
        let [r, d] = parts.as_slice() else {
            return Err(err(
                text,
                "a retry cycle is Rn/<duration> (like R3/PT10S); start and end dates are not supported",
            ));
        };
        let Some(n) = parse_repetitions(text, r)? else {
            return Err(err(
                text,
                "a retry cycle needs a count: R3/PT10S, not R/PT10S",
            ));
        };
        if n > MAX_RETRIES {
            return Err(err(
                text,
                format!("at most {MAX_RETRIES} retries are allowed"),
            ));
        }
        let interval = parse_duration(d).map_err(|e| err(text, e.reason))?;
        return Ok(RetrySchedule {
            intervals: vec![interval; n as usize],
        });
    }
    let mut intervals = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(err(text, "empty entry in the retry list"));
        }
        if intervals.len() >= MAX_RETRIES as usize {
            return Err(err(
                text,
                format!("at most {MAX_RETRIES} retries are allowed"),
            ));
        }
        intervals.push(parse_duration(item).map_err(|e| err(text, e.reason))?);
    }
    Ok(RetrySchedule { intervals })
}

/// The exact (non-calendar) part of a duration in milliseconds, saturating.
fn exact_millis(d: &IsoDuration) -> i64 {
    let millis = i64::try_from(d.millis).unwrap_or(i64::MAX);
    i64::from(d.weeks)
        .saturating_mul(MS_PER_WEEK)
        .saturating_add(i64::from(d.days).saturating_mul(MS_PER_DAY))
        .saturating_add(i64::from(d.hours).saturating_mul(MS_PER_HOUR))
        .saturating_add(i64::from(d.minutes).saturating_mul(MS_PER_MINUTE))
        .saturating_add(millis)
}

/// `from + d`: years and months move along the calendar (Jan 31 + P1M = Feb 28/29), the rest
/// is exact. Saturates at the ends of the representable range.
pub(super) fn add_duration(from: i64, d: &IsoDuration) -> i64 {
    let months = u64::from(d.years) * 12 + u64::from(d.months);
    let base = if months == 0 {
        from
    } else {
        let Some(start) = DateTime::<Utc>::from_timestamp_millis(from) else {
            return from.saturating_add(approx_millis(d));
        };
        match u32::try_from(months)
            .ok()
            .and_then(|m| start.checked_add_months(Months::new(m)))
        {
            Some(moved) => moved.timestamp_millis(),
            None => return i64::MAX,
        }
    };
    base.saturating_add(exact_millis(d))
}

/// Length in milliseconds, counting a month as 30 days and a year as 365 days.
pub(super) fn approx_millis(d: &IsoDuration) -> i64 {
    i64::from(d.years)
        .saturating_mul(365 * MS_PER_DAY)
        .saturating_add(i64::from(d.months).saturating_mul(30 * MS_PER_DAY))
        .saturating_add(exact_millis(d))
}

/// First firing seen at `now`: the start when it is still ahead, else one interval from now.
pub(super) fn cycle_first_due(c: &Cycle, now: i64) -> Option<i64> {
    if let Some(cron) = &c.cron {
        return cron.next_after(now);
    }
    if c.repetitions == Some(0) {
        return None;
    }
    let due = match c.start {
        Some(start) if start >= now => start,
        _ => c.interval.after(now),
    };
    within_end(c, due)
}

/// Next firing after firing at `prev`, having fired `fired` times so far.
pub(super) fn cycle_next_due(c: &Cycle, prev: i64, fired: u32) -> Option<i64> {
    if let Some(cron) = &c.cron {
        return cron.next_after(prev);
    }
    if let Some(n) = c.repetitions
        && fired >= n
    {
        return None;
    }
    let due = c.interval.after(prev);
    if due <= prev {
        // Saturated at the end of time: never fire again.
        return None;
    }
    within_end(c, due)
}

fn within_end(c: &Cycle, due: i64) -> Option<i64> {
    match c.end {
        Some(end) if due > end => None,
        _ => Some(due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-01-01T00:00:00Z
    const JAN_1_2026: i64 = 1_767_225_600_000;

    fn dur(
        years: u32,
        months: u32,
        weeks: u32,
        days: u32,
        hours: u32,
        minutes: u32,
        millis: u64,
    ) -> IsoDuration {
        IsoDuration {
            years,
            months,
            weeks,
            days,
            hours,
            minutes,
            millis,
        }
    }

    #[test]
    fn dates() {
        let ok: &[(&str, i64)] = &[
            ("2026-01-01T00:00:00Z", JAN_1_2026),
            ("2026-01-01T00:00:00", JAN_1_2026),
            ("2026-01-01T00:00Z", JAN_1_2026),
            ("2026-01-01T00:00:00.250Z", JAN_1_2026 + 250),
            ("2026-01-01T00:00:00.5Z", JAN_1_2026 + 500),
            ("2026-01-01T00:00:00.123456789Z", JAN_1_2026 + 123),
            ("2026-01-01T01:00:00+01:00", JAN_1_2026),
            ("2026-01-01T01:00:00+0100", JAN_1_2026),
            ("2026-01-01T01:00:00+01", JAN_1_2026),
            ("2025-12-31T19:00:00-05:00", JAN_1_2026),
            ("  2026-01-01T00:00:10Z ", JAN_1_2026 + 10_000),
            ("1970-01-01T00:00:00Z", 0),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ];
        for (text, want) in ok {
            assert_eq!(parse_date(text), Ok(*want), "{text}");
        }
        let bad: &[(&str, &str)] = &[
            ("", "empty"),
            ("2026-01-01", "date alone"),
            ("2026-13-01T00:00:00Z", "no such date"),
            ("2025-02-29T00:00:00Z", "no such date"),
            ("2026-01-01T25:00:00Z", "no such time"),
            ("2026-01-01T00:00:00+25:00", "out of range"),
            ("2026-01-01T00:00:00+1:00", "offset hours"),
            ("26-01-01T00:00:00Z", "year must be 4 digits"),
            ("2026-01-01T00Z", "expected a time"),
            ("2026-01-01T00:00.5Z", "needs seconds"),
            ("2026-01-01T00:00:00.Z", "bad fraction"),
            ("tomorrow", "date alone"),
            ("2026-01-01T00:00:00ZZ", "second must be"),
        ];
        for (text, reason) in bad {
            let e = parse_date(text).expect_err(text);
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn durations() {
        let ok: &[(&str, IsoDuration)] = &[
            ("PT5M", dur(0, 0, 0, 0, 0, 5, 0)),
            ("P1D", dur(0, 0, 0, 1, 0, 0, 0)),
            ("P1Y2M", dur(1, 2, 0, 0, 0, 0, 0)),
            ("PT0.5S", dur(0, 0, 0, 0, 0, 0, 500)),
            ("PT1,25S", dur(0, 0, 0, 0, 0, 0, 1250)),
            ("PT10S", dur(0, 0, 0, 0, 0, 0, 10_000)),
            ("P2W", dur(0, 0, 2, 0, 0, 0, 0)),
            ("P1Y2M3W4DT5H6M7.008S", dur(1, 2, 3, 4, 5, 6, 7_008)),
            ("PT0S", dur(0, 0, 0, 0, 0, 0, 0)),
            ("PT36H", dur(0, 0, 0, 0, 36, 0, 0)),
            (" PT1H ", dur(0, 0, 0, 0, 1, 0, 0)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(*want), "{text}");
        }
        let bad: &[(&str, &str)] = &[
            ("P", "at least one component"),
            ("PT", "'T' must be followed"),
            ("P1DT", "'T' must be followed"),
            ("-PT5M", "negative"),
            ("PT-5M", "expected a number"),
            ("5M", "starts with 'P'"),
            ("", "starts with 'P'"),
            ("PT5", "no designator"),
            ("P5H", "belongs after 'T'"),
            ("PT1D", "belongs before 'T'"),
            ("P1M1Y", "order"),
            ("PT1S1M", "order"),
            ("P1X", "unknown designator"),
            ("P1.5D", "only supported on seconds"),
            ("PT99999999999M", "too large"),
            ("PT99999999999999999999S", "too large"),
            ("pt5m", "starts with 'P'"),
            ("PT5M garbage", "expected a number"),
        ];
        for (text, reason) in bad {
            let e = parse_duration(text).expect_err(text);
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn adding_durations() {
        let jan_31 = parse_date("2026-01-31T10:00:00Z").expect("date");
        let rows: &[(i64, &str, &str)] = &[
            (JAN_1_2026, "PT5M", "2026-01-01T00:05:00Z"),
            (JAN_1_2026, "P1D", "2026-01-02T00:00:00Z"),
            (JAN_1_2026, "P1Y", "2027-01-01T00:00:00Z"),
            (jan_31, "P1M", "2026-02-28T10:00:00Z"),
            (jan_31, "P1M1D", "2026-03-01T10:00:00Z"),
            (JAN_1_2026, "P1Y2M3DT4H", "2027-03-04T04:00:00Z"),
            (JAN_1_2026, "PT0.5S", "2026-01-01T00:00:00.500Z"),
        ];
        for (from, d, want) in rows {
            let d = parse_duration(d).expect("duration");
            assert_eq!(d.after(*from), parse_date(want).expect("date"), "{d:?}");
        }
        // Saturation instead of overflow.
        let huge = dur(
            u32::MAX,
            u32::MAX,
            u32::MAX,
            u32::MAX,
            u32::MAX,
            u32::MAX,
            u64::MAX,
        );
        assert_eq!(huge.after(JAN_1_2026), i64::MAX);
        assert_eq!(huge.approx_millis(), i64::MAX);
        assert_eq!(dur(0, 0, 0, 0, 0, 0, 1).after(i64::MAX), i64::MAX);
        assert_eq!(dur(0, 1, 0, 0, 0, 0, 0).after(i64::MAX), i64::MAX);
        assert_eq!(
            parse_duration("P1M").expect("d").approx_millis(),
            30 * MS_PER_DAY
        );
    }

    #[test]
    fn cycles() {
        let start = JAN_1_2026 + MS_PER_DAY;
        let end = JAN_1_2026 + MS_PER_HOUR;
        let ten_s = dur(0, 0, 0, 0, 0, 0, 10_000);
        let ok: &[(&str, Cycle)] = &[
            (
                "R3/PT10S",
                Cycle {
                    repetitions: Some(3),
                    start: None,
                    interval: ten_s,
                    end: None,
                    cron: None,
                },
            ),
            (
                "R/PT10S",
                Cycle {
                    repetitions: None,
                    start: None,
                    interval: ten_s,
                    end: None,
                    cron: None,
                },
            ),
            (
                "R2/2026-01-02T00:00:00Z/PT10S",
                Cycle {
                    repetitions: Some(2),
                    start: Some(start),
                    interval: ten_s,
                    end: None,
                    cron: None,
                },
            ),
            (
                "R5/PT10S/2026-01-01T01:00:00Z",
                Cycle {
                    repetitions: Some(5),
                    start: None,
                    interval: ten_s,
                    end: Some(end),
                    cron: None,
                },
            ),
        ];
        for (text, want) in ok {
            assert_eq!(parse_cycle(text).as_ref(), Ok(want), "{text}");
        }
        let bad: &[(&str, &str)] = &[
            ("0 0 * * *", "6 or 7 fields"),
            ("0 0 12 1 * MON-FRI 2026", "both the day of month"),
            ("0 0 0 L * ?", "not supported"),
            ("PT10S", "starts with Rn/"),
            ("R3", "expected Rn/<duration>"),
            ("Rx/PT10S", "bad repetition count"),
            ("R99999999999/PT10S", "too large"),
            ("R3/PT0S", "longer than zero"),
            ("R3/PT10S/PT10S", "one duration"),
            (
                "R3/2026-01-01T00:00:00Z/2026-01-02T00:00:00Z",
                "needs a duration",
            ),
            ("R3/a/b/c", "expected Rn/"),
            ("R3/P", "at least one component"),
            ("R3/2026-01-01/PT1S", "date alone"),
        ];
        for (text, reason) in bad {
            let e = parse_cycle(text).expect_err(text);
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
    }

    #[test]
    fn cycle_due_times() {
        let now = JAN_1_2026;
        let c = parse_cycle("R3/PT10S").expect("cycle");
        assert_eq!(c.first_due(now), Some(now + 10_000));
        assert_eq!(c.next_due(now + 10_000, 1), Some(now + 20_000));
        assert_eq!(c.next_due(now + 20_000, 2), Some(now + 30_000));
        assert_eq!(c.next_due(now + 30_000, 3), None);

        let unbounded = parse_cycle("R/PT1H").expect("cycle");
        assert_eq!(unbounded.next_due(now, 1_000_000), Some(now + MS_PER_HOUR));

        // Start in the future: fires at the start; start in the past: one interval from now.
        let future = parse_cycle("R2/2026-01-02T00:00:00Z/PT1H").expect("cycle");
        assert_eq!(future.first_due(now), Some(now + MS_PER_DAY));
        let past = parse_cycle("R2/2025-01-01T00:00:00Z/PT1H").expect("cycle");
        assert_eq!(past.first_due(now), Some(now + MS_PER_HOUR));

        // An end bounds the firings.
        let ended = parse_cycle("R/PT20M/2026-01-01T00:30:00Z").expect("cycle");
        assert_eq!(ended.first_due(now), Some(now + 20 * MS_PER_MINUTE));
        assert_eq!(ended.next_due(now + 20 * MS_PER_MINUTE, 1), None);
        assert_eq!(ended.first_due(now + MS_PER_HOUR), None);

        let zero = parse_cycle("R0/PT1S").expect("cycle");
        assert_eq!(zero.first_due(now), None);

        // Calendar-aware intervals.
        let monthly = parse_cycle("R/P1M").expect("cycle");
        let jan_31 = parse_date("2026-01-31T00:00:00Z").expect("date");
        assert_eq!(
            monthly.next_due(jan_31, 1),
            parse_date("2026-02-28T00:00:00Z").ok()
        );

        // Cron cycles fire on the calendar, unbounded.
        let cron = parse_cycle("0 0/5 * * * ?").expect("cron");
        assert_eq!(cron.first_due(now + 1), Some(now + 5 * MS_PER_MINUTE));
        assert_eq!(
            cron.next_due(now + 5 * MS_PER_MINUTE, 1_000),
            Some(now + 10 * MS_PER_MINUTE)
        );

        // Never overflow at the end of time.
        assert_eq!(unbounded.next_due(i64::MAX, 1), None);
    }

    #[test]
    fn retry_schedules() {
        let s = |ms: u64| dur(0, 0, 0, 0, 0, 0, ms);
        let m = |min: u32| dur(0, 0, 0, 0, 0, min, 0);
        let ok: &[(&str, Vec<IsoDuration>)] = &[
            ("R3/PT10S", vec![s(10_000); 3]),
            ("R1/PT1M", vec![m(1)]),
            ("R0/PT1M", vec![]),
            ("PT1M,PT2M,PT5M", vec![m(1), m(2), m(5)]),
            ("PT1M, PT2M", vec![m(1), m(2)]),
            ("PT30S", vec![s(30_000)]),
        ];
        for (text, want) in ok {
            assert_eq!(
                RetrySchedule::parse(text).map(|r| r.intervals).as_ref(),
                Ok(want),
                "{text}"
            );
        }
        let bad: &[(&str, &str)] = &[
            ("", "empty retry schedule"),
            ("R/PT10S", "needs a count"),
            ("R3", "Rn/<duration>"),
            ("R3/2026-01-01T00:00:00Z/PT10S", "not supported"),
            ("R20000/PT1S", "at most"),
            ("PT1M,,PT2M", "empty entry"),
            ("PT1M,", "empty entry"),
            ("three times", "starts with 'P'"),
            ("R3/PT", "'T' must be followed"),
        ];
        for (text, reason) in bad {
            let e = RetrySchedule::parse(text).expect_err(text);
            assert!(e.reason.contains(reason), "{text}: {}", e.reason);
        }
        let default = RetrySchedule::default_schedule();
        assert_eq!(Ok(default), RetrySchedule::parse("R3/PT10S"));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,40}") {
            let _ = parse_date(&text);
            let _ = parse_duration(&text);
            let _ = parse_cycle(&text);
            let _ = parse_retry_schedule(&text);
        }

        #[test]
        fn parsers_never_panic_on_timer_like_text(
            text in "[RPTYMWDHS0-9/:.,+\\-Z ]{0,30}",
            now in any::<i64>(),
            fired in any::<u32>(),
        ) {
            let _ = parse_date(&text);
            if let Ok(d) = parse_duration(&text) {
                let _ = d.after(now);
                let _ = d.approx_millis();
            }
            if let Ok(c) = parse_cycle(&text) {
                let _ = c.first_due(now);
                let _ = c.next_due(now, fired);
            }
            let _ = parse_retry_schedule(&text);
        }

        #[test]
        fn durations_add_monotonically(
            y in 0u32..3000, mo in 0u32..100, d in 0u32..1000, ms in 0u64..10_000_000,
            from in -10_000_000_000_000i64..10_000_000_000_000,
        ) {
            let dd = dur(y, mo, 0, d, 0, 0, ms);
            prop_assert!(dd.after(from) >= from);
        }
    }
}
