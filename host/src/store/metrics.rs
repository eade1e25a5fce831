//! [`MetricsStore`]: Camunda's usage metrics (`/metrics`): one sum per 15-minute interval and
//! metric name, and the task workers (assignees) seen per interval.
//!
//! The engine aggregates in memory and writes a handful of these rows per flush (see
//! `engine/usage_metrics.rs`), never one per step. Rows are few (96 intervals a day per
//! name), so reads scan the interval range they ask for.

use super::{Result, WriteSet};

/// One stored sum: the interval start (ms since epoch), the metric name and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricInterval {
    /// Start of the 15-minute interval (ms since epoch).
    pub interval: i64,
    /// Camunda's metric name (`activity-instance-start`, ...).
    pub name: String,
    /// Sum over the interval.
    pub value: u64,
}

/// Durable usage metrics.
pub trait MetricsStore {
    /// The stored sums of intervals starting in `[from, to)`, in interval then name order.
    fn metric_intervals(&self, from: i64, to: i64) -> Result<Vec<MetricInterval>>;
    /// The stored sum of one interval and name (0 when none).
    fn metric_value(&self, interval: i64, name: &str) -> Result<u64>;
    /// Write the sum of one interval and name.
    fn stage_metric(&self, ws: &mut WriteSet, interval: i64, name: &str, value: u64);
    /// The task workers seen in intervals starting in `[from, to)`: (interval, worker id).
    fn task_workers(&self, from: i64, to: i64) -> Result<Vec<(i64, String)>>;
    /// Record a task worker in an interval.
    fn stage_task_worker(&self, ws: &mut WriteSet, interval: i64, worker: &str);
    /// Forget a task worker entry.
    fn stage_task_worker_removal(&self, ws: &mut WriteSet, interval: i64, worker: &str);
}
