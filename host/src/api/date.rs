//! Camunda's REST date format, `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (e.g. `2016-01-25T13:33:42.165+0000`).
//!
//! Output is always UTC with a `+0000` offset and milliseconds (pycamunda parses with
//! `%Y-%m-%dT%H:%M:%S.%f%z`). Input is lenient: `Z`, `+01:00`, `+0100`, `+01`, a space where a
//! `+` was (an un-encoded `+` in a query string decodes to a space), optional fractional
//! seconds, and no offset at all (taken as UTC).

use chrono::{DateTime, NaiveDateTime};

/// Format milliseconds since the epoch as `2016-01-25T13:33:42.165+0000`.
pub fn format(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        None => "1970-01-01T00:00:00.000+0000".to_owned(),
    }
}

/// Format an optional timestamp (`null` when absent).
pub fn format_opt(ms: Option<i64>) -> Option<String> {
    ms.map(format)
}

/// Parse a date in any of the accepted forms into milliseconds since the epoch (UTC).
pub fn parse(input: &str) -> Option<i64> {
    let s = input.trim_end();
    let t = s.find('T')?;
    // Split the offset off: the last '+', '-' or ' ' after the time part, or a trailing 'Z'.
    let (local, offset_secs) = if let Some(stripped) = s.strip_suffix(['Z', 'z']) {
        (stripped, 0i64)
    } else if let Some(pos) = s[t..].rfind(['+', '-', ' ']).map(|p| p + t) {
        let sign = if s.as_bytes()[pos] == b'-' { -1 } else { 1 };
        (&s[..pos], sign * parse_offset(&s[pos + 1..])?)
    } else {
        (s, 0)
    };
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Some(naive.and_utc().timestamp_millis() - offset_secs * 1000)
}

/// `hh:mm`, `hhmm` or `hh` → seconds.
fn parse_offset(s: &str) -> Option<i64> {
    let digits: String = s.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_453_728_822_165; // 2016-01-25T13:33:42.165Z

    #[test]
    fn formats_like_camunda() {
        assert_eq!(format(T), "2016-01-25T13:33:42.165+0000");
        assert_eq!(format(0), "1970-01-01T00:00:00.000+0000");
    }

    #[test]
    fn parses_every_offset_form() {
        for s in [
            "2016-01-25T13:33:42.165+0000",
            "2016-01-25T13:33:42.165Z",
            "2016-01-25T14:33:42.165+01:00",
            "2016-01-25T14:33:42.165+0100",
            "2016-01-25T14:33:42.165+01",
            "2016-01-25T14:33:42.165 0100",
            "2016-01-25T12:33:42.165-0100",
            "2016-01-25T13:33:42.165",
        ] {
            assert_eq!(parse(s), Some(T), "{s}");
        }
        assert_eq!(parse("2016-01-25T13:33:42Z"), Some(T - 165));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2016-01-25",
            "2016-01-25T13:33:42.165+01:0x",
            "2016-13-25T00:00:00Z",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn round_trips() {
        for ms in [0, T, -86_400_000, 4_102_444_800_000] {
            assert_eq!(parse(&format(ms)), Some(ms));
        }
    }
}
