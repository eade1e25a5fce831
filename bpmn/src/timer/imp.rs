//! Timer parsing and arithmetic.
use super::{Cycle, IsoDuration, RetrySchedule, TimerError};

fn err(text: &str, reason: &str) -> TimerError {
    TimerError { text: text.to_owned(), reason: reason.to_owned() }
}
/// Parse an ISO 8601 date-time (`timeDate`) to ms since epoch.
pub fn parse_date(text: &str) -> Result<i64, TimerError> {
    Err(err(text, "not implemented yet"))
}
/// Parse an ISO 8601 duration (`timeDuration`).
pub fn parse_duration(text: &str) -> Result<IsoDuration, TimerError> {
    Err(err(text, "not implemented yet"))
}
/// Parse an ISO 8601 repeating interval (`timeCycle`).
pub fn parse_cycle(text: &str) -> Result<Cycle, TimerError> {
    Err(err(text, "not implemented yet"))
}
pub(super) fn parse_retry_schedule(text: &str) -> Result<RetrySchedule, TimerError> {
    Err(err(text, "not implemented yet"))
}
pub(super) fn add_duration(from: i64, d: &IsoDuration) -> i64 {
    from + approx_millis(d)
}
pub(super) fn approx_millis(d: &IsoDuration) -> i64 {
    d.millis as i64
}
pub(super) fn cycle_first_due(c: &Cycle, now: i64) -> Option<i64> {
    Some(c.interval.after(now))
}
pub(super) fn cycle_next_due(c: &Cycle, prev: i64, _fired: u32) -> Option<i64> {
    Some(c.interval.after(prev))
}
