//! The ISO 8601 grammar of BPMN timers, behind the API in [`crate::timer`]: `timeDate`
//! date-times, `timeDuration` durations, `timeCycle` repeating intervals, and Camunda's retry
//! schedules.
//!
//! The grammar is written by hand: the profile BPMN timers need (one date-time form, durations
//! with calendar units, repeating intervals) is small, and a hand parser gives every rejection a
//! precise reason. Cron cycles (`0 0/5 * * * ?`, which Camunda 7 accepts in `timeCycle`) are
//! handed to [`super::cron`]. When a parsed timer fires is [`super::due`]'s business.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use super::{Cycle, IsoDuration, RetrySchedule, TimerError};

/// Longest retry schedule `Rn/...` accepted: a bigger `n` is a typo, and it would allocate.
const MAX_RETRIES: u32 = 10_000;

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
    // The slicing below is by byte position: non-ASCII text would split a character (and
    // panic), and is never a valid offset anyway.
    if !body.is_ascii() {
        return Err(format!("bad offset '{s}': expected ±hh:mm, ±hhmm or ±hh"));
    }
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
