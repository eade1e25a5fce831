//! Events and metrics: the live event stream (SSE, cockpit) and the counters behind `/metrics`.

use super::ProcessEngine;
use crate::store::InstanceStore;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast;

/// A live event, for the SSE stream (`/engine-rest/events`) and the cockpit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum EngineEvent {
    /// A deployment was created.
    DeploymentCreated {
        /// Deployment id.
        deployment_id: String,
    },
    /// A process instance started.
    InstanceStarted {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Business key.
        business_key: Option<String>,
    },
    /// A process instance ended.
    InstanceEnded {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// `COMPLETED` or `EXTERNALLY_TERMINATED`.
        state: String,
    },
    /// A token entered an activity.
    ActivityEntered {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Element id.
        activity_id: String,
        /// Activity instance id.
        activity_instance_id: String,
        /// Camunda activity type.
        activity_type: String,
    },
    /// A token left an activity.
    ActivityLeft {
        /// Instance id.
        process_instance_id: String,
        /// Definition id.
        process_definition_id: String,
        /// Element id.
        activity_id: String,
        /// Activity instance id.
        activity_instance_id: String,
        /// Interrupted or cancelled rather than completed.
        canceled: bool,
    },
    /// An external or user task was created.
    TaskCreated {
        /// Task id.
        task_id: String,
        /// `external` or `user`.
        task_type: String,
        /// Topic (external tasks).
        topic: Option<String>,
        /// Element id.
        activity_id: String,
        /// Instance id.
        process_instance_id: String,
    },
    /// A task was completed.
    TaskCompleted {
        /// Task id.
        task_id: String,
        /// `external` or `user`.
        task_type: String,
        /// Instance id.
        process_instance_id: String,
    },
    /// An incident was raised.
    IncidentRaised {
        /// Incident id.
        incident_id: String,
        /// Instance id.
        process_instance_id: String,
        /// Element id.
        activity_id: String,
        /// Type.
        incident_type: String,
        /// Message.
        message: Option<String>,
    },
    /// An incident was resolved.
    IncidentResolved {
        /// Incident id.
        incident_id: String,
        /// Instance id.
        process_instance_id: String,
    },
}

/// Counters exposed at `/metrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) instances_started: AtomicU64,
    pub(crate) instances_completed: AtomicU64,
    pub(crate) instances_canceled: AtomicU64,
    pub(crate) incidents_raised: AtomicU64,
    pub(crate) fetch_and_lock_requests: AtomicU64,
    pub(crate) fetch_and_lock_waits: AtomicU64,
    pub(crate) wasm_executions: AtomicU64,
    pub(crate) wasm_failures: AtomicU64,
    pub(crate) wasm_micros_total: AtomicU64,
    pub(crate) tasks_created_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) tasks_completed_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) recent_wasm_micros: Mutex<HashMap<String, Vec<u64>>>,
}

impl ProcessEngine {
    /// Live engine events (instance started/ended, activity entered/left, task
    /// created/completed, incident raised/resolved) for the SSE stream and the cockpit.
    pub fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        // No receivers is fine: nobody is watching.
        let _ = self.inner.events.send(event);
    }

    /// The engine's counters and sizes now.
    pub fn metrics(&self) -> super::MetricsSnapshot {
        use crate::store::{ExternalTaskStore, IncidentStore, UserTaskStore};
        let m = &self.inner.metrics;
        let copy = |map: &Mutex<HashMap<String, u64>>| -> std::collections::BTreeMap<String, u64> {
            map.lock()
                .map(|g| g.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default()
        };
        super::MetricsSnapshot {
            instances_started: m.instances_started.load(Ordering::Relaxed),
            instances_completed: m.instances_completed.load(Ordering::Relaxed),
            instances_canceled: m.instances_canceled.load(Ordering::Relaxed),
            incidents_raised: m.incidents_raised.load(Ordering::Relaxed),
            fetch_and_lock_requests: m.fetch_and_lock_requests.load(Ordering::Relaxed),
            fetch_and_lock_waits: m.fetch_and_lock_waits.load(Ordering::Relaxed),
            fetch_and_lock_parked: self.inner.parked_fetches.load(Ordering::Relaxed) as u64,
            wasm_executions: m.wasm_executions.load(Ordering::Relaxed),
            wasm_failures: m.wasm_failures.load(Ordering::Relaxed),
            wasm_micros_total: m.wasm_micros_total.load(Ordering::Relaxed),
            tasks_created_by_topic: copy(&m.tasks_created_by_topic),
            tasks_completed_by_topic: copy(&m.tasks_completed_by_topic),
            recent_wasm_micros: m
                .recent_wasm_micros
                .lock()
                .map(|g| g.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            store_bytes: self.inner.store.size_on_disk().unwrap_or(0),
            running_instances: self.inner.store.count_running_instances() as u64,
            open_incidents: self.inner.store.count_open_incidents() as u64,
            open_user_tasks: self.inner.store.count_user_tasks() as u64,
            open_external_tasks: self.inner.store.count_external_tasks() as u64,
        }
    }

    pub(crate) fn bump(counter: &Mutex<HashMap<String, u64>>, key: &str) {
        if let Ok(mut m) = counter.lock() {
            *m.entry(key.to_owned()).or_insert(0) += 1;
        }
    }
}
