//! When a timer fires: calendar arithmetic on durations, the first and next firing of a cycle,
//! and [`due_at`], the one rule for when a timer definition whose expression evaluated to a
//! value is due. The engine, the job scheduler and `baton run` all ask here, so a `timeDate`
//! given as a date value, a text, or a cycle that never fires is handled the same everywhere.
//!
//! Everything is pure: "now" is an argument, never read from the clock.

use chrono::{DateTime, Months, Utc};

use super::iso8601::{parse_cycle, parse_date, parse_duration};
use super::{Cycle, IsoDuration, TimerError};
use crate::expr::{Scope, to_display_string};
use crate::model::TimerDefinition;
use crate::value::Value;

pub(super) const MS_PER_SECOND: i64 = 1_000;
pub(super) const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub(super) const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub(super) const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
pub(super) const MS_PER_WEEK: i64 = 7 * MS_PER_DAY;

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

/// The kind of a BPMN timer definition: it decides how the definition's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// `timeDate`: an instant, as a date value or ISO 8601 text.
    Date,
    /// `timeDuration`: fires once, that long after `now`.
    Duration,
    /// `timeCycle`: a repeating interval or a cron expression; this gives its first firing.
    Cycle,
}

impl TimerKind {
    /// The kind of `def`.
    pub fn of(def: &TimerDefinition) -> TimerKind {
        match def {
            TimerDefinition::Date(_) => TimerKind::Date,
            TimerDefinition::Duration(_) => TimerKind::Duration,
            TimerDefinition::Cycle(_) => TimerKind::Cycle,
        }
    }
}

/// Why a timer definition gives no due time. The messages are the ones the engine reports in
/// `EngineError::Expression`, so they are part of behaviour: change them with care.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DueError {
    /// The definition's expression failed to evaluate (the message names the expression).
    #[error("{0}")]
    Expression(String),
    /// The text is not valid ISO 8601 (or cron).
    #[error(transparent)]
    Invalid(#[from] TimerError),
    /// A `timeDuration` or `timeCycle` evaluated to null.
    #[error("the timer expression evaluated to null")]
    Null,
    /// A `timeDate` evaluated to neither a date nor text; holds the value's type name.
    #[error("timeDate evaluated to a {0} value, not a date")]
    NotADate(&'static str),
    /// A `timeCycle` that never fires (its end is already past).
    #[error("the timer cycle never fires")]
    NeverFires,
}

/// When a timer of `kind`, whose definition evaluated to `value`, is first due, seen at `now`
/// (ms since the Unix epoch). The one rule for this: a `timeDate` is a [`Value::Date`] or
/// ISO 8601 text; a `timeDuration` or `timeCycle` is read as text (any non-null value by its
/// display form, as `eval_string` does), surrounding whitespace ignored.
pub fn due_at(kind: TimerKind, value: &Value, now: i64) -> Result<i64, DueError> {
    match kind {
        TimerKind::Date => match value {
            Value::Date(ms) => Ok(*ms),
            Value::String(s) => Ok(parse_date(s.trim())?),
            other => Err(DueError::NotADate(other.type_name())),
        },
        TimerKind::Duration => Ok(parse_duration(&timer_text(value)?)?.after(now)),
        TimerKind::Cycle => parse_cycle(&timer_text(value)?)?
            .first_due(now)
            .ok_or(DueError::NeverFires),
    }
}

/// [`due_at`] for `def` with its expression evaluated in `scope` (for callers that have a
/// plain variable scope: timer start events evaluate in [`crate::Variables::new`]).
pub fn timer_due(def: &TimerDefinition, scope: &dyn Scope, now: i64) -> Result<i64, DueError> {
    let (TimerDefinition::Date(e) | TimerDefinition::Duration(e) | TimerDefinition::Cycle(e)) = def;
    let value = e
        .eval(scope)
        .map_err(|err| DueError::Expression(err.message))?;
    due_at(TimerKind::of(def), &value, now)
}

/// The text of a duration or cycle value, trimmed; null is an error.
fn timer_text(value: &Value) -> Result<String, DueError> {
    match value {
        Value::Null => Err(DueError::Null),
        Value::String(s) => Ok(s.trim().to_owned()),
        other => Ok(to_display_string(other).trim().to_owned()),
    }
}
