//! ISO 8601 timer definitions: `timeDate` (`2026-01-01T10:00:00Z`), `timeDuration` (`PT5M`,
//! `P1D`), `timeCycle` (`R3/PT10S`, `R/PT1H`, `R2/2026-01-01T00:00:00Z/P1D`), and Camunda's
//! retry schedules (`R3/PT10S`, or a list `PT1M,PT5M,PT10M`). A `timeCycle` may also be a
//! Quartz cron expression (`0 0/5 * * * ?`, evaluated in UTC), as Camunda 7 allows.
//!
//! All functions are pure: "now" is always an argument (milliseconds since the Unix epoch, UTC).

use serde::Serialize;

/// Why a timer text is not valid ISO 8601.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid timer definition '{text}': {reason}")]
pub struct TimerError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An ISO 8601 duration (`PnYnMnWnDTnHnMnS`). Years and months are calendar units, applied to
/// a start instant; the rest are fixed lengths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IsoDuration {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Weeks.
    pub weeks: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds with fraction, in milliseconds.
    pub millis: u64,
}

/// A repeating schedule (`timeCycle`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cycle {
    /// `Rn`: how many times it fires; `None` for unbounded (`R/`).
    pub repetitions: Option<u32>,
    /// Optional start instant (`R/start/interval`).
    pub start: Option<i64>,
    /// The interval between firings.
    pub interval: IsoDuration,
    /// Optional end instant (`R/interval/end`).
    pub end: Option<i64>,
    /// A Quartz cron schedule (`0 0/5 * * * ?`) instead of an interval; then `interval` is
    /// zero, `repetitions`, `start` and `end` are `None`.
    pub cron: Option<Cron>,
}

/// A Camunda retry schedule (`camunda:failedJobRetryTimeCycle`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrySchedule {
    /// The wait before each retry, in order; its length is the number of retries.
    pub intervals: Vec<IsoDuration>,
}

mod cron;
mod due;
mod iso8601;
#[cfg(test)]
mod tests;

pub use cron::Cron;
pub use due::{DueError, TimerKind, due_at, timer_due};
pub use iso8601::{parse_cycle, parse_date, parse_duration};

impl IsoDuration {
    /// The instant `self` after `from` (calendar-aware for years and months).
    pub fn after(&self, from: i64) -> i64 {
        due::add_duration(from, self)
    }

    /// Length in milliseconds when it has no calendar units (years, months); approximate
    /// (30-day months, 365-day years) otherwise.
    pub fn approx_millis(&self) -> i64 {
        due::approx_millis(self)
    }
}

impl Cycle {
    /// When the cycle first fires, seen at `now`.
    pub fn first_due(&self, now: i64) -> Option<i64> {
        due::cycle_first_due(self, now)
    }

    /// When it fires next after firing at `previous_due`, having fired `fired` times so far.
    pub fn next_due(&self, previous_due: i64, fired: u32) -> Option<i64> {
        due::cycle_next_due(self, previous_due, fired)
    }
}

impl RetrySchedule {
    /// baton's default when no `camunda:failedJobRetryTimeCycle` is configured: `R3/PT10S`,
    /// three retries, ten seconds apart.
    pub fn default_schedule() -> RetrySchedule {
        RetrySchedule {
            intervals: vec![
                IsoDuration {
                    millis: 10_000,
                    ..IsoDuration::default()
                };
                3
            ],
        }
    }

    /// Parse `R3/PT10S` or `PT1M,PT5M,PT10M`.
    pub fn parse(text: &str) -> Result<RetrySchedule, TimerError> {
        iso8601::parse_retry_schedule(text)
    }

    /// Total retries the schedule allows.
    pub fn retries(&self) -> u32 {
        self.intervals.len() as u32
    }

    /// The wait before the next attempt when `retries_left` retries remain after a failure.
    pub fn delay_ms(&self, retries_left: u32) -> i64 {
        let n = self.intervals.len();
        if n == 0 {
            return 0;
        }
        // The first retry uses the first interval: with `retries_left` remaining out of n,
        // this is retry number n - retries_left.
        let idx = n.saturating_sub(retries_left as usize + 1).min(n - 1);
        self.intervals[idx].approx_millis()
    }
}
