//! History cleanup (Camunda's "removal-time-based" strategy, end-time variant): a finished
//! process instance's history is removed once its definition's `historyTimeToLive` days
//! have passed since it ended. Instances of definitions without a time to live are kept.
//! A removal time set by hand (`set-removal-time`: absolute or cleared) replaces the
//! calculated one. Finished historic batches go the same way, after the batch history time
//! to live (Camunda's `batchOperationHistoryTimeToLive`) or at their own removal time.
//! Only finished instances and batches are removed, even when an absolute removal time of a
//! running one has passed (Camunda would remove that history under a running instance).
//!
//! The cleanup never holds the engine: each batch is one small write set removing at most
//! `batch_size` instances' history (their activities, variables, logs), and the pass yields
//! to the runtime between batches. It runs when asked (`POST /history/cleanup`) and, with a
//! batch window configured, by a background loop that checks once a minute whether the
//! engine clock's time of day (UTC) lies in the window.

use std::collections::HashMap;
use std::sync::Mutex;

use super::batches::MAX_BATCH_TARGETS;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricProcessInstance, RemovalTimeOverride};
use crate::store::batches::HistoricBatch;
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
    /// Days a finished batch's history is kept (Camunda's `batchOperationHistoryTimeToLive`);
    /// `None`: kept until removed by hand or given a removal time.
    pub batch_time_to_live: Option<u32>,
}

impl Default for HistoryCleanupConfig {
    fn default() -> Self {
        HistoryCleanupConfig {
            batch_window: None,
            batch_size: 500,
            batch_time_to_live: None,
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

/// Parse a time to live in days: `5` or Camunda's ISO form `P5D`.
pub fn parse_time_to_live(text: &str) -> std::result::Result<u32, String> {
    let t = text.trim();
    let days = t
        .strip_prefix('P')
        .and_then(|d| d.strip_suffix('D'))
        .unwrap_or(t);
    // u32 days times a day in ms stays far inside i64 (and removal times saturate).
    days.parse::<u32>()
        .map_err(|_| format!("time to live '{text}' is not a number of days (5 or P5D)"))
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
    /// Held while historic instances are removed or get a new removal time, so a
    /// `set-removal-time` invocation never writes back an instance the cleanup just removed.
    /// Innermost: nothing else is locked while it is held.
    pub(crate) removal: tokio::sync::Mutex<()>,
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
        // One node at a time; the next finds little left to do.
        let _one_node = self
            .inner
            .store
            .lock_duty_across_nodes("history-cleanup")
            .await?;
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
        // Decisions evaluated in a process go with their root process instance: they are
        // looked at while that instance's history is still there.
        let mut removed = self.remove_expired_decision_history(now, batch).await?;
        loop {
            let mut keep = |h: &HistoricProcessInstance| match removal_time(h, &ttl) {
                Some(t) if t <= now => Accept::Take,
                _ => Accept::Skip,
            };
            let guard = self.inner.cleanup.removal.lock().await;
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
            drop(guard);
            removed += expired.len();
            // Let other work run between batches.
            tokio::task::yield_now().await;
        }
        removed += self.remove_expired_historic_batches(now, batch).await?;
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

    /// When a historic instance's history will be removed: its removal time set by hand,
    /// else end time plus its definition's time to live; `None` when it is kept.
    pub fn removal_time_of(&self, h: &HistoricProcessInstance) -> Option<i64> {
        RemovalTimeOverride::apply(h.removal_time, || {
            let days = self
                .deployed_sync(&h.process_definition_id)
                .ok()?
                .record
                .history_time_to_live?;
            after_days(h.end_time?, i64::from(days))
        })
    }

    /// When a historic batch will be removed: its removal time set by hand, else end time
    /// plus the batch history time to live; `None` when it is kept.
    pub fn batch_removal_time_of(&self, h: &HistoricBatch) -> Option<i64> {
        RemovalTimeOverride::apply(h.removal_time, || {
            let days = self.batch_history_time_to_live()?;
            after_days(h.end_time?, i64::from(days))
        })
    }

    /// The batch history time to live in days (`None`: batches' history is kept).
    pub fn batch_history_time_to_live(&self) -> Option<u32> {
        self.inner.config.history_cleanup.batch_time_to_live
    }

    /// Set (or clear, or with `None` recalculate) the removal time of one historic instance
    /// and, `hierarchical`, of every instance of its root hierarchy (a batch invocation).
    /// Running instances get the override too; the cleanup still waits for their end.
    pub(crate) async fn set_instance_removal_time(
        &self,
        id: &str,
        removal_time: Option<RemovalTimeOverride>,
        hierarchical: bool,
    ) -> Result<()> {
        let store = &self.inner.store;
        let h = store.historic_instance(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!(
                "No historic process instance found with id: {id}"
            ))
        })?;
        let mut ids = vec![h.id.clone()];
        if hierarchical {
            // Camunda applies it to the instances sharing the root (the root included).
            let root = h.root_process_instance_id.clone();
            let mut keep = |x: &HistoricProcessInstance| {
                if x.root_process_instance_id == root && x.id != h.id {
                    Accept::Take
                } else {
                    Accept::Skip
                }
            };
            let lookup = HistoricInstanceLookup::default();
            ids.extend(
                store
                    .historic_instances_where(&lookup, &mut keep, 0, MAX_BATCH_TARGETS)?
                    .into_iter()
                    .map(|x| x.id),
            );
        }
        for id in &ids {
            // The instance lock orders this with the instance's own end (which rewrites its
            // history record); the removal lock with the cleanup.
            let _instance = self.lock_instance(id).await?;
            let _removal = self.inner.cleanup.removal.lock().await;
            let Some(mut h) = store.historic_instance(id)? else {
                continue;
            };
            if h.removal_time == removal_time {
                continue;
            }
            h.removal_time = removal_time;
            let mut ws = WriteSet::new();
            store.stage_historic_instance(&mut ws, &h);
            store.commit_durable(&ws).await?;
        }
        Ok(())
    }

    /// Remove one finished instance's history in the same commit as the batch's `progress`
    /// (a `historic-process-instance-deletion` invocation), so it runs exactly once. A
    /// running instance fails the invocation, as Camunda's batch job does.
    pub(crate) async fn delete_history_with(
        &self,
        id: &str,
        fail_if_not_exists: bool,
        progress: WriteSet,
    ) -> Result<Option<WriteSet>> {
        let store = &self.inner.store;
        let _removal = self.inner.cleanup.removal.lock().await;
        let Some(h) = store.historic_instance(id)? else {
            if fail_if_not_exists {
                return Err(ProcessEngineError::BadUserRequest(format!(
                    "No historic process instance found with id: {id}: historicProcessInstanceIds is empty"
                )));
            }
            return Ok(Some(progress));
        };
        if h.end_time.is_none() {
            return Err(ProcessEngineError::BadUserRequest(format!(
                "Process instance is still running, cannot delete historic process instance: {id}: instance.getEndTime() is null"
            )));
        }
        let mut ws = progress;
        // No operation log entry per instance: Camunda's job writes none either (the batch's
        // creation is logged).
        store.stage_history_removal(&mut ws, id)?;
        store.commit_durable(&ws).await?;
        Ok(None)
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
    RemovalTimeOverride::apply(h.removal_time, || {
        let days = ttl.get(&h.process_definition_id)?;
        after_days(h.end_time?, i64::from(*days))
    })
}

/// `days` after `at` (ms), saturating.
pub(super) fn after_days(at: i64, days: i64) -> Option<i64> {
    Some(at.saturating_add(days.saturating_mul(DAY_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_to_live_parse_as_days_or_iso_days() {
        assert_eq!(parse_time_to_live("5"), Ok(5));
        assert_eq!(parse_time_to_live("P30D"), Ok(30));
        assert_eq!(parse_time_to_live("0"), Ok(0));
        assert!(parse_time_to_live("P5M").is_err());
        assert!(parse_time_to_live("-1").is_err());
        assert!(parse_time_to_live("4294967296").is_err());
    }

    #[test]
    fn removal_time_overrides_replace_the_calculated_time() {
        let calculated = || Some(7);
        assert_eq!(RemovalTimeOverride::apply(None, calculated), Some(7));
        assert_eq!(
            RemovalTimeOverride::apply(Some(RemovalTimeOverride::Absolute(3)), calculated),
            Some(3)
        );
        assert_eq!(
            RemovalTimeOverride::apply(Some(RemovalTimeOverride::Cleared), calculated),
            None
        );
    }

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
