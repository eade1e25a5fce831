//! History cleanup (Camunda's "removal-time-based" strategy, end-time variant): a finished
//! process instance's history is removed once its definition's `historyTimeToLive` days
//! have passed since it ended. Instances of definitions without a time to live are kept.
//!
//! The cleanup never holds the engine: each batch is one small write set removing at most
//! `batch_size` instances' history (their activities, variables, logs), and the pass yields
//! to the runtime between batches. It runs when asked (`POST /history/cleanup`) and, with a
//! batch window configured, by a background loop that checks once a minute whether the
//! engine clock's time of day (UTC) lies in the window.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ProcessEngine, Result};
use crate::records::HistoricProcessInstance;
use crate::store::{Accept, HistoricInstanceLookup, HistoryStore, WriteSet};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The id of baton's one history cleanup job (Camunda creates jobs of this kind).
pub const CLEANUP_JOB_ID: &str = "history-cleanup";

/// History cleanup settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCleanupConfig {
    /// The daily window (UTC minutes of the day, start inclusive, end exclusive; an end before
    /// the start wraps past midnight) in which the background cleanup runs; `None`: only on
    /// request.
    pub batch_window: Option<(u32, u32)>,
    /// Instances removed per write set (Camunda's `historyCleanupBatchSize`, default 500).
    pub batch_size: usize,
}

impl Default for HistoryCleanupConfig {
    fn default() -> Self {
        HistoryCleanupConfig {
            batch_window: None,
            batch_size: 500,
        }
    }
}

/// Parse a window `HH:MM-HH:MM` (UTC) into minutes of the day.
pub fn parse_batch_window(text: &str) -> std::result::Result<(u32, u32), String> {
    let minutes = |s: &str| -> Option<u32> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("batch window '{text}' is not HH:MM-HH:MM"))?;
    match (minutes(a), minutes(b)) {
        (Some(a), Some(b)) if a != b => Ok((a, b)),
        _ => Err(format!(
            "batch window '{text}' is not HH:MM-HH:MM with two different times"
        )),
    }
}

/// What the cleanup did last and when it is due next (memory only).
#[derive(Debug, Clone, Default)]
pub struct CleanupState {
    /// When the cleanup job was created (first request or first window).
    pub created: Option<i64>,
    /// When it is due next.
    pub due: Option<i64>,
    /// When the last pass ended.
    pub last_run: Option<i64>,
    /// Instances the last pass removed.
    pub removed_last: usize,
}

/// The cleanup's runtime state.
#[derive(Default)]
pub(crate) struct Cleanup {
    state: Mutex<CleanupState>,
    running: tokio::sync::Mutex<()>,
}

/// Start of the window containing or following `now` (ms), for a window in minutes.
fn next_window_start(now: i64, (start, end): (u32, u32)) -> (i64, bool) {
    let day = now.div_euclid(DAY_MS) * DAY_MS;
    let minute = (now - day) / 60_000;
    let (s, e) = (i64::from(start), i64::from(end));
    let inside = if s < e {
        minute >= s && minute < e
    } else {
        minute >= s || minute < e
    };
    if inside {
        return (now, true);
    }
    let today = day + s * 60_000;
    (if today > now { today } else { today + DAY_MS }, false)
}

impl ProcessEngine {
    /// The cleanup job as Camunda would show it (`None` before it exists: no window and never
    /// requested).
    pub fn history_cleanup_job(&self) -> Option<CleanupState> {
        let mut state = self.inner.cleanup.state.lock().ok()?.clone();
        if let Some(window) = self.inner.config.history_cleanup.batch_window {
            let now = self.now();
            state.created.get_or_insert(now);
            if state.due.is_none_or(|d| d < now) {
                state.due = Some(next_window_start(now, window).0);
            }
        }
        state.created.map(|_| state)
    }

    /// Create the cleanup job without running it (`immediatelyDue=false`): due at the next
    /// window, or now without one.
    pub fn schedule_history_cleanup(&self) {
        let now = self.now();
        let due = self
            .inner
            .config
            .history_cleanup
            .batch_window
            .map_or(now, |w| next_window_start(now, w).0);
        if let Ok(mut s) = self.inner.cleanup.state.lock() {
            s.created.get_or_insert(now);
            s.due = Some(due);
        }
    }

    /// The batch window of today (start, end in ms), when configured.
    pub fn history_cleanup_window(&self) -> Option<(i64, i64)> {
        let (s, e) = self.inner.config.history_cleanup.batch_window?;
        let now = self.now();
        let day = now.div_euclid(DAY_MS) * DAY_MS;
        let start = day + i64::from(s) * 60_000;
        let mut end = day + i64::from(e) * 60_000;
        if end <= start {
            end += DAY_MS;
        }
        Some((start, end))
    }

    /// Remove the history of every finished instance whose time to live has passed, in
    /// batches; how many instances went.
    pub async fn run_history_cleanup(&self) -> Result<usize> {
        let _one = self.inner.cleanup.running.lock().await;
        let now = self.now();
        if let Ok(mut s) = self.inner.cleanup.state.lock() {
            s.created.get_or_insert(now);
            s.due = Some(now);
        }
        let ttl: HashMap<String, i32> = self
            .definitions_sync()?
            .into_iter()
            .filter_map(|d| Some((d.id, d.history_time_to_live?)))
            .collect();
        let batch = self.inner.config.history_cleanup.batch_size.max(1);
        let lookup = HistoricInstanceLookup {
            finished: Some(true),
            ..Default::default()
        };
        let mut removed = 0;
        loop {
            let mut keep = |h: &HistoricProcessInstance| match removal_time(h, &ttl) {
                Some(t) if t <= now => Accept::Take,
                _ => Accept::Skip,
            };
            let expired = self
                .inner
                .store
                .historic_instances_where(&lookup, &mut keep, 0, batch)?;
            if expired.is_empty() {
                break;
            }
            let mut ws = WriteSet::new();
            for h in &expired {
                self.inner.store.stage_history_removal(&mut ws, &h.id)?;
            }
            self.inner.store.commit_durable(&ws).await?;
            removed += expired.len();
            // Let other work run between batches.
            tokio::task::yield_now().await;
        }
        if let Ok(mut s) = self.inner.cleanup.state.lock() {
            s.last_run = Some(self.now());
            s.removed_last = removed;
            s.due = self
                .inner
                .config
                .history_cleanup
                .batch_window
                .map(|w| next_window_start(self.now() + 60_000, w).0);
        }
        Ok(removed)
    }

    /// When a finished historic instance's history will be removed (end time plus its
    /// definition's time to live), `None` when it is kept.
    pub fn removal_time_of(&self, h: &HistoricProcessInstance) -> Option<i64> {
        let days = self
            .deployed_sync(&h.process_definition_id)
            .ok()?
            .record
            .history_time_to_live?;
        h.end_time
            .map(|e| e.saturating_add(i64::from(days).saturating_mul(DAY_MS)))
    }

    /// Start the background cleanup when a batch window is configured.
    pub(crate) fn start_history_cleanup(&self) {
        let Some(window) = self.inner.config.history_cleanup.batch_window else {
            return;
        };
        let me = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                if me
                    .inner
                    .shutting_down
                    .load(std::sync::atomic::Ordering::SeqCst)
                {
                    return;
                }
                if next_window_start(me.now(), window).1
                    && let Err(e) = me.run_history_cleanup().await
                {
                    tracing::warn!("history cleanup failed: {e}");
                }
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
        });
        if let Ok(mut bg) = self.inner.background.lock() {
            bg.push(handle);
        }
    }
}

fn removal_time(h: &HistoricProcessInstance, ttl: &HashMap<String, i32>) -> Option<i64> {
    let days = ttl.get(&h.process_definition_id)?;
    h.end_time
        .map(|e| e.saturating_add(i64::from(*days).saturating_mul(DAY_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_windows_parse_and_wrap_past_midnight() {
        assert_eq!(parse_batch_window("22:00-06:30"), Ok((1320, 390)));
        assert!(parse_batch_window("25:00-01:00").is_err());
        assert!(parse_batch_window("01:00-01:00").is_err());
        let day = 10 * DAY_MS;
        // 23:00 is inside a 22:00-06:30 window; 12:00 waits for 22:00.
        assert_eq!(
            next_window_start(day + 23 * 3_600_000, (1320, 390)),
            (day + 23 * 3_600_000, true)
        );
        assert_eq!(
            next_window_start(day + 12 * 3_600_000, (1320, 390)),
            (day + 22 * 3_600_000, false)
        );
    }
}
