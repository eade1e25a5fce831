//! Tests of the timer grammar and arithmetic (`iso8601`, `due`).

use super::due::*;
use super::iso8601::*;
use super::*;
use crate::value::Value;
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

/// `due_at`: every case the engine, the job scheduler and `baton run` used to decide apiece.
#[test]
fn due_at_covers_every_kind_of_value() {
    let now = JAN_1_2026;
    let text = |s: &str| Value::String(s.to_owned());
    let rows: Vec<(TimerKind, Value, Result<i64, DueError>)> = vec![
        // timeDate: a date value as is, ISO text (trimmed), anything else rejected.
        (TimerKind::Date, Value::Date(now + 5), Ok(now + 5)),
        (TimerKind::Date, text(" 2026-01-01T00:00:00Z "), Ok(now)),
        (
            TimerKind::Date,
            Value::Null,
            Err(DueError::NotADate("Null")),
        ),
        (
            TimerKind::Date,
            Value::Long(5),
            Err(DueError::NotADate("Long")),
        ),
        // timeDuration: from now; a number is read by its text and fails as ISO 8601.
        (TimerKind::Duration, text("PT1H"), Ok(now + MS_PER_HOUR)),
        (TimerKind::Duration, text(" P1D\n"), Ok(now + MS_PER_DAY)),
        (TimerKind::Duration, Value::Null, Err(DueError::Null)),
        // timeCycle: its first firing; a cycle whose end is past never fires.
        (TimerKind::Cycle, text("R3/PT10S"), Ok(now + 10_000)),
        (TimerKind::Cycle, Value::Null, Err(DueError::Null)),
        (
            TimerKind::Cycle,
            text("R/PT1H/2020-01-01T00:00:00Z"),
            Err(DueError::NeverFires),
        ),
    ];
    for (kind, value, want) in rows {
        assert_eq!(due_at(kind, &value, now), want, "{kind:?} {value:?}");
    }
    assert!(matches!(
        due_at(TimerKind::Duration, &Value::Long(5), now),
        Err(DueError::Invalid(_))
    ));
    assert!(matches!(
        due_at(TimerKind::Date, &text("tomorrow"), now),
        Err(DueError::Invalid(_))
    ));
}

/// The messages are what `EngineError::Expression` carried before the rule moved here.
#[test]
fn due_errors_keep_the_engine_messages() {
    assert_eq!(
        DueError::Null.to_string(),
        "the timer expression evaluated to null"
    );
    assert_eq!(
        DueError::NotADate("Boolean").to_string(),
        "timeDate evaluated to a Boolean value, not a date"
    );
    assert_eq!(
        DueError::NeverFires.to_string(),
        "the timer cycle never fires"
    );
    let Err(invalid) = parse_duration("PT") else {
        panic!("PT is not a duration");
    };
    assert_eq!(
        DueError::from(invalid.clone()).to_string(),
        invalid.to_string()
    );
}

/// `timer_due` evaluates the definition's expression in the given scope first.
#[test]
fn timer_due_evaluates_the_expression() {
    use crate::expr::Expression;
    use crate::model::TimerDefinition;
    let expr = |s: &str| Expression::parse(s).expect("a valid expression");
    let mut vars = crate::Variables::new();
    vars.insert("wait".to_owned(), Value::String("PT1M".to_owned()));
    vars.insert("at".to_owned(), Value::Date(JAN_1_2026 + 7));
    let now = JAN_1_2026;
    let def = TimerDefinition::Duration(expr("${wait}"));
    assert_eq!(timer_due(&def, &vars, now), Ok(now + MS_PER_MINUTE));
    let def = TimerDefinition::Date(expr("${at}"));
    assert_eq!(timer_due(&def, &vars, now), Ok(now + 7));
    let def = TimerDefinition::Cycle(expr("R2/PT1S"));
    assert_eq!(
        timer_due(&def, &crate::Variables::new(), now),
        Ok(now + 1_000)
    );
    let def = TimerDefinition::Duration(expr("${missing}"));
    assert!(matches!(
        timer_due(&def, &crate::Variables::new(), now),
        Err(DueError::Expression(_))
    ));
}

/// Fuzz find (tests/fuzz, target `timer`): a non-ASCII character inside a date's offset was
/// sliced through by byte position and panicked; it is an invalid offset.
#[test]
fn fuzz_date_offset_with_non_ascii_is_an_error() {
    let input = "2024-01-01T00:00:008)12$-`\u{a2}0";
    assert!(parse_date(input).is_err());
    assert!(parse_date("2024-01-01T00:00:00+0\u{a2}").is_err());
    assert!(parse_date("2024-01-01T00:00:00-\u{e9}\u{e9}").is_err());
    let value = Value::String(input.to_owned());
    assert!(due_at(TimerKind::Date, &value, 0).is_err());
}
