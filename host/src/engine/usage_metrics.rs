//! Camunda's usage metrics (`/metrics` REST resource, not the Prometheus endpoint): counters
//! such as `activity-instance-start`, `root-process-instance-start`, `job-successful`,
//! `job-failed`, `executed-decision-instances`, and the unique task workers (`task-users`).
//!
//! Counting must not cost the hot path a write: each count adds to an in-memory sum keyed by
//! its 15-minute interval (Camunda's reporting interval). The sums are written to the store
//! at most once a minute of engine time, by the first commit after that minute
//! ([`ProcessEngine::after_commit`] calls [`ProcessEngine::maybe_flush_metrics`]), and at
//! shutdown: a handful of rows per flush, read-added-written under one flush lock. Reads
//! merge the stored rows with the sums not yet flushed, so they are exact; a crash loses at
//! most the counts since the last flush (usage metrics, not business data).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use super::{ProcessEngine, Result};
use crate::store::{MetricsStore, WriteSet};

/// Camunda's metrics interval: 15 minutes.
pub const INTERVAL_MS: i64 = 15 * 60 * 1000;
/// How often (engine time) pending counts are written at most.
const FLUSH_EVERY_MS: i64 = 60 * 1000;
/// The name Camunda reports metrics under when no reporter id is configured.
pub const REPORTER: &str = "baton";

/// Metric names (Camunda's `Metrics` constants).
pub mod names {
    /// An activity instance started.
    pub const ACTIVITY_INSTANCE_START: &str = "activity-instance-start";
    /// An activity instance ended.
    pub const ACTIVITY_INSTANCE_END: &str = "activity-instance-end";
    /// A root process instance started.
    pub const ROOT_PROCESS_INSTANCE_START: &str = "root-process-instance-start";
    /// A job ran successfully.
    pub const JOB_SUCCESSFUL: &str = "job-successful";
    /// A job failed.
    pub const JOB_FAILED: &str = "job-failed";
    /// A decision was evaluated.
    pub const EXECUTED_DECISION_INSTANCES: &str = "executed-decision-instances";
    /// Unique task workers (user task assignees).
    pub const TASK_USERS: &str = "task-users";
    /// Camunda's alias of [`TASK_USERS`].
    pub const UNIQUE_TASK_WORKERS: &str = "unique-task-workers";
    /// Camunda's newer alias of root process instance starts.
    pub const PROCESS_INSTANCES: &str = "process-instances";
    /// Camunda's newer alias of decision instances.
    pub const DECISION_INSTANCES: &str = "decision-instances";
    /// Camunda's newer alias of activity instance starts.
    pub const FLOW_NODE_INSTANCES: &str = "flow-node-instances";
}

/// The stored name an alias reads.
pub fn canonical(name: &str) -> &str {
    match name {
        names::PROCESS_INSTANCES => names::ROOT_PROCESS_INSTANCE_START,
        names::DECISION_INSTANCES => names::EXECUTED_DECISION_INSTANCES,
        names::FLOW_NODE_INSTANCES => names::ACTIVITY_INSTANCE_START,
        names::UNIQUE_TASK_WORKERS => names::TASK_USERS,
        other => other,
    }
}

/// The in-memory side: sums and task workers not yet written.
#[derive(Default)]
pub(crate) struct UsageMeter {
    pending: Mutex<BTreeMap<(i64, &'static str), u64>>,
    workers: Mutex<BTreeSet<(i64, String)>>,
    last_flush: AtomicI64,
    flush_lock: tokio::sync::Mutex<()>,
    /// Held while a flush commits sums and takes them out of `pending`, and while a reader
    /// adds stored sums to pending ones: the reader sees each count once. Kept apart from
    /// `pending`, which every counted command takes and which must never wait on the store.
    published: Mutex<()>,
}

/// One metric row as the REST resource reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRow {
    /// Interval start (ms since epoch).
    pub interval: i64,
    /// Metric name.
    pub name: String,
    /// Sum over the interval.
    pub value: u64,
}

fn interval_of(t: i64) -> i64 {
    t.div_euclid(INTERVAL_MS) * INTERVAL_MS
}

impl ProcessEngine {
    /// Count `n` occurrences of a metric now (memory only).
    pub(crate) fn meter(&self, name: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        let at = interval_of(self.now());
        if let Ok(mut p) = self.inner.usage.pending.lock() {
            *p.entry((at, name)).or_insert(0) += n;
        }
    }

    /// Remember a task worker (an assignee) for the current interval (memory only).
    pub(crate) fn meter_task_worker(&self, worker: &str) {
        let at = interval_of(self.now());
        if let Ok(mut w) = self.inner.usage.workers.lock() {
            w.insert((at, worker.to_owned()));
        }
    }

    /// Whether the last flush is a minute (engine time) old; the caller that gets `true`
    /// owns the next flush (one atomic compare, so commits pay nothing in between).
    pub(crate) fn claim_metrics_flush(&self) -> bool {
        let now = self.now();
        let last = self.inner.usage.last_flush.load(Ordering::Relaxed);
        now.saturating_sub(last) >= FLUSH_EVERY_MS
            && self
                .inner
                .usage
                .last_flush
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    /// [`ProcessEngine::flush_metrics`], logging a failure (background flushes).
    pub(crate) async fn flush_metrics_logged(&self) {
        if let Err(e) = self.flush_metrics().await {
            tracing::warn!("writing usage metrics failed: {e}");
        }
    }

    /// Write the pending counts: one small write set of read-added sums.
    ///
    /// The counts stay pending until their sums are committed, and leave pending under the
    /// same lock as the commit (`published`, which readers hold while they read both), so a
    /// reader never sees a count twice or not at all, and a failed write loses nothing.
    pub async fn flush_metrics(&self) -> Result<()> {
        let _one = self.inner.usage.flush_lock.lock().await;
        self.inner
            .usage
            .last_flush
            .store(self.now(), Ordering::Relaxed);
        let pending = match self.inner.usage.pending.lock() {
            Ok(p) => p.clone(),
            Err(_) => BTreeMap::new(),
        };
        let workers = match self.inner.usage.workers.lock() {
            Ok(w) => w.clone(),
            Err(_) => BTreeSet::new(),
        };
        if pending.is_empty() && workers.is_empty() {
            return Ok(());
        }
        let store = &self.inner.store;
        let mut ws = WriteSet::new();
        for ((interval, name), n) in &pending {
            let stored = store.metric_value(*interval, name)?;
            store.stage_metric(&mut ws, *interval, name, stored.saturating_add(*n));
        }
        for (interval, worker) in &workers {
            store.stage_task_worker(&mut ws, *interval, worker);
        }
        {
            let _published = self
                .inner
                .usage
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            store.commit(&ws)?;
            let mut still_pending = self
                .inner
                .usage
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for (key, n) in &pending {
                if let Some(left) = still_pending.get_mut(key) {
                    *left = left.saturating_sub(*n);
                    if *left == 0 {
                        still_pending.remove(key);
                    }
                }
            }
            if let Ok(mut w) = self.inner.usage.workers.lock() {
                for seen in &workers {
                    w.remove(seen);
                }
            }
        }
        store.sync().await?;
        Ok(())
    }

    /// Metric rows of intervals starting in `[from, to)`, stored and pending merged, for one
    /// name or all; newest interval first, then by name (Camunda's order).
    pub fn metric_rows(&self, name: Option<&str>, from: i64, to: i64) -> Result<Vec<MetricRow>> {
        let mut sums: BTreeMap<(i64, String), u64> = BTreeMap::new();
        // Held while the stored sums are read: a flush commits and clears under it.
        {
            let _published = self
                .inner
                .usage
                .published
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for r in self.inner.store.metric_intervals(from, to)? {
                *sums.entry((r.interval, r.name)).or_insert(0) += r.value;
            }
            let p = self
                .inner
                .usage
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for ((interval, n), v) in p.iter() {
                if *interval >= from && *interval < to {
                    *sums.entry((*interval, (*n).to_owned())).or_insert(0) += v;
                }
            }
        }
        let wanted = name.map(canonical);
        let mut rows: Vec<MetricRow> = sums
            .into_iter()
            .filter(|((_, n), _)| wanted.is_none_or(|w| w == n))
            .map(|((interval, name), value)| MetricRow {
                interval,
                name,
                value,
            })
            .collect();
        rows.sort_by(|a, b| b.interval.cmp(&a.interval).then(a.name.cmp(&b.name)));
        Ok(rows)
    }

    /// The sum of a metric over `[from, to)` (whole intervals by their start). `task-users`
    /// counts distinct task workers instead.
    pub fn metric_sum(&self, name: &str, from: i64, to: i64) -> Result<u64> {
        if canonical(name) == names::TASK_USERS {
            let mut seen: BTreeSet<String> = self
                .inner
                .store
                .task_workers(from, to)?
                .into_iter()
                .map(|(_, w)| w)
                .collect();
            if let Ok(w) = self.inner.usage.workers.lock() {
                seen.extend(
                    w.iter()
                        .filter(|(i, _)| *i >= from && *i < to)
                        .map(|(_, w)| w.clone()),
                );
            }
            return Ok(seen.len() as u64);
        }
        Ok(self
            .metric_rows(Some(name), from, to)?
            .iter()
            .map(|r| r.value)
            .sum())
    }

    /// Forget the task workers seen in intervals before `before` (Camunda's
    /// `deleteTaskMetrics`); all of them when `None`. Returns how many entries went.
    pub async fn delete_task_workers(&self, before: Option<i64>) -> Result<usize> {
        self.flush_metrics().await?;
        let _one = self.inner.usage.flush_lock.lock().await;
        let to = before.unwrap_or(i64::MAX);
        let old = self.inner.store.task_workers(i64::MIN, to)?;
        let mut ws = WriteSet::new();
        for (interval, worker) in &old {
            self.inner
                .store
                .stage_task_worker_removal(&mut ws, *interval, worker);
        }
        self.inner.store.commit_durable(&ws).await?;
        Ok(old.len())
    }
}
