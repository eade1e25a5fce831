//! [`MetricsStore`] on sled: `Metrics` (interval start, name → sum) and `TaskWorkers`
//! (interval start, worker id → ()), both keyed by the interval first so a time range is one
//! range scan.

use super::index::{interval_bound, interval_key, split_interval_key};
use super::{Result, Store, Tree, WriteSet};
use crate::store::metrics::{MetricInterval, MetricsStore};

fn metric_key(interval: i64, name: &str) -> Vec<u8> {
    interval_key(interval, name)
}

impl MetricsStore for Store {
    fn metric_intervals(&self, from: i64, to: i64) -> Result<Vec<MetricInterval>> {
        let keys = self.range_keys(
            Tree::Metrics,
            &interval_bound(from),
            &interval_bound(to),
            usize::MAX,
        )?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some((interval, name)) = split_interval_key(&key) else {
                continue;
            };
            let value: u64 = self.get(Tree::Metrics, &key)?.unwrap_or(0);
            out.push(MetricInterval {
                interval,
                name,
                value,
            });
        }
        Ok(out)
    }

    fn metric_value(&self, interval: i64, name: &str) -> Result<u64> {
        Ok(self
            .get(Tree::Metrics, &metric_key(interval, name))?
            .unwrap_or(0))
    }

    fn stage_metric(&self, ws: &mut WriteSet, interval: i64, name: &str, value: u64) {
        ws.put(Tree::Metrics, metric_key(interval, name), &value);
    }

    fn task_workers(&self, from: i64, to: i64) -> Result<Vec<(i64, String)>> {
        let keys = self.range_keys(
            Tree::TaskWorkers,
            &interval_bound(from),
            &interval_bound(to),
            usize::MAX,
        )?;
        Ok(keys.iter().filter_map(|k| split_interval_key(k)).collect())
    }

    fn stage_task_worker(&self, ws: &mut WriteSet, interval: i64, worker: &str) {
        ws.put_raw(Tree::TaskWorkers, metric_key(interval, worker), Vec::new());
    }

    fn stage_task_worker_removal(&self, ws: &mut WriteSet, interval: i64, worker: &str) {
        ws.delete(Tree::TaskWorkers, metric_key(interval, worker));
    }
}
