//! Events and metrics: the live event stream (SSE, cockpit) and the counters behind `/metrics`.

use super::ProcessEngine;
use crate::store::{InstanceStore, MAX_EVENT_PAYLOAD};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use tokio::sync::broadcast;

/// A live event, for the SSE stream (`/engine-rest/events`) and the cockpit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub(crate) fetch_and_lock_hand_offs: AtomicU64,
    pub(crate) wasm_executions: AtomicU64,
    pub(crate) wasm_failures: AtomicU64,
    pub(crate) wasm_micros_total: AtomicU64,
    pub(crate) tasks_created_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) tasks_completed_by_topic: Mutex<HashMap<String, u64>>,
    pub(crate) recent_wasm_micros: Mutex<HashMap<String, Vec<u64>>>,
    /// Failures reported for external tasks (`POST /external-task/{id}/failure`).
    pub(crate) external_task_failures: AtomicU64,
    /// BPMN errors thrown by external and in-engine (wasm) tasks, caught or not.
    pub(crate) bpmn_errors: AtomicU64,
    /// Jobs (timers, async continuations, timer starts) run by the scheduler or on request.
    pub(crate) job_executions: AtomicU64,
    /// Job runs whose command failed (retries go down, then an incident).
    pub(crate) job_failures: AtomicU64,
    /// Incidents raised, by incident type; counted from the committed `incidentRaised` event.
    pub(crate) incidents_by_type: Mutex<HashMap<String, u64>>,
    /// The numbered recent events a reconnecting SSE client resumes from.
    pub(crate) journal: EventJournal,
    /// Request latency per route template (recorded by the HTTP layer).
    pub(crate) http: RouteLatencies,
}

/// How many recent events the SSE journal keeps for clients that reconnect with
/// `Last-Event-ID`: about a minute of a busy cockpit's events at a few hundred bytes each
/// (~250 KB). A client that was away longer gets a `lagged` event and re-reads its page.
/// Events are numbered and kept from the first stream subscription of an engine run on.
pub const EVENT_JOURNAL_SIZE: usize = 1024;

/// The recent events, numbered in the order they were sent.
pub(crate) struct EventJournal {
    ring: Mutex<(u64, VecDeque<(u64, EngineEvent)>)>,
    tx: broadcast::Sender<(u64, EngineEvent)>,
    /// Distinguishes this engine run's numbers from a previous run's (ids restart at 1).
    epoch: u64,
    /// Set when the first stream subscribes: until then no client can resume, so an engine
    /// nobody watches does not copy every event into the ring.
    watched: std::sync::atomic::AtomicBool,
}

impl Default for EventJournal {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        EventJournal {
            ring: Mutex::new((0, VecDeque::with_capacity(EVENT_JOURNAL_SIZE))),
            tx,
            epoch,
            watched: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// What a (re)connecting event-stream client gets before the live events.
pub struct EventReplay {
    /// Journal events after the client's last id, oldest first.
    pub events: Vec<(u64, EngineEvent)>,
    /// Events the client missed that the journal no longer holds.
    pub missed: u64,
}

/// Upper bounds (seconds) of the request latency histogram's buckets: from a cached read
/// (1 ms) to long polls (fetchAndLock waits up to its `asyncResponseTimeout`).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One route's latency histogram (cumulative buckets are computed when rendered).
#[derive(Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Latency histograms keyed by (method, route template). Routes are the router's templates,
/// never raw paths, so the key set is bounded by the routes baton serves.
#[derive(Default)]
pub(crate) struct RouteLatencies {
    /// Route template, then method: two levels so a lookup borrows `&str` keys and a request
    /// allocates nothing once its route has been seen.
    routes: RwLock<HashMap<String, HashMap<String, Histogram>>>,
}

/// A snapshot of one route's latency histogram.
#[derive(Debug, Clone, Default)]
pub struct LatencySnapshot {
    /// HTTP method.
    pub method: String,
    /// Route template (`/engine-rest/external-task/{id}/complete`) or `unmatched`.
    pub route: String,
    /// Per bucket of [`LATENCY_BUCKETS`] (not cumulative).
    pub buckets: Vec<u64>,
    /// Requests.
    pub count: u64,
    /// Total seconds.
    pub sum_seconds: f64,
}

impl RouteLatencies {
    fn observe(&self, method: &str, route: &str, seconds: f64) {
        let record = |h: &Histogram| {
            let i = LATENCY_BUCKETS
                .iter()
                .position(|b| seconds <= *b)
                .unwrap_or(LATENCY_BUCKETS.len());
            if let Some(b) = h.buckets.get(i) {
                b.fetch_add(1, Ordering::Relaxed);
            }
            h.count.fetch_add(1, Ordering::Relaxed);
            h.sum_micros
                .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        };
        if let Ok(map) = self.routes.read()
            && let Some(h) = map.get(route).and_then(|m| m.get(method))
        {
            record(h);
            return;
        }
        if let Ok(mut map) = self.routes.write() {
            record(
                map.entry(route.to_owned())
                    .or_default()
                    .entry(method.to_owned())
                    .or_default(),
            );
        }
    }

    fn snapshot(&self) -> Vec<LatencySnapshot> {
        let Ok(map) = self.routes.read() else {
            return Vec::new();
        };
        let mut out: Vec<LatencySnapshot> = map
            .iter()
            .flat_map(|(route, by_method)| by_method.iter().map(move |(m, h)| (route, m, h)))
            .map(|(route, method, h)| LatencySnapshot {
                method: method.clone(),
                route: route.clone(),
                buckets: h
                    .buckets
                    .iter()
                    .map(|b| b.load(Ordering::Relaxed))
                    .collect(),
                count: h.count.load(Ordering::Relaxed),
                sum_seconds: h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            })
            .collect();
        out.sort_by(|a, b| (&a.route, &a.method).cmp(&(&b.route, &b.method)));
        out
    }
}

impl ProcessEngine {
    /// Live engine events (instance started/ended, activity entered/left, task
    /// created/completed, incident raised/resolved) for the SSE stream and the cockpit.
    pub fn subscribe_events(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Whether anyone sees events beyond their meters: a subscriber, an SSE stream (since the
    /// first one), or the other nodes of a shared store. When nobody does, a command's
    /// highest-volume events (activities entered and left, external tasks created and completed)
    /// are not built (the meters are counted apart from them).
    pub(crate) fn events_watched(&self) -> bool {
        self.inner.event_relay.is_some()
            || self.inner.events.receiver_count() > 0
            || self.inner.metrics.journal.watched.load(Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, event: EngineEvent) {
        if let EngineEvent::IncidentRaised { incident_type, .. } = &event {
            Self::bump(&self.inner.metrics.incidents_by_type, incident_type);
        }
        if let Some(relay) = &self.inner.event_relay {
            // Full: the other nodes' live views miss this event, as a lagging stream does.
            let _ = relay.try_send(event.clone());
        }
        self.show_event(event);
    }

    /// Show an event (this node's or another's) on this node's streams.
    fn show_event(&self, event: EngineEvent) {
        let journal = &self.inner.metrics.journal;
        if journal.watched.load(Ordering::Relaxed)
            && let Ok(mut ring) = journal.ring.lock()
        {
            // Numbered and sent under the lock, so ids reach subscribers in order and a
            // subscriber taken under the same lock sees every event after its replay.
            ring.0 += 1;
            let id = ring.0;
            if ring.1.len() == EVENT_JOURNAL_SIZE {
                ring.1.pop_front();
            }
            ring.1.push_back((id, event.clone()));
            if journal.tx.receiver_count() > 0 {
                let _ = journal.tx.send((id, event.clone()));
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.inner.events.send(event);
    }

    /// Publish this node's events to the other nodes of a shared store, batched: a batch is
    /// whatever waited while the previous one was sent, so a quiet node sends each event at
    /// once and a busy one sends few large notifications.
    pub(crate) async fn relay_events(
        engine: std::sync::Weak<super::core::Inner>,
        node: u64,
        mut events: tokio::sync::mpsc::Receiver<EngineEvent>,
    ) {
        let mut pending: Option<String> = None;
        loop {
            let event = match pending.take() {
                Some(json) => Some(json),
                None => events.recv().await.and_then(|e| event_json(&e)),
            };
            let Some(first) = event else {
                if events.is_closed() {
                    return;
                }
                continue;
            };
            let mut batch = format!("{{\"node\":{node},\"events\":[{first}");
            while let Ok(next) = events.try_recv() {
                let Some(json) = event_json(&next) else {
                    continue;
                };
                if batch.len() + json.len() + 2 > MAX_EVENT_PAYLOAD {
                    pending = Some(json);
                    break;
                }
                batch.push(',');
                batch.push_str(&json);
            }
            batch.push_str("]}");
            let Some(inner) = engine.upgrade() else {
                return;
            };
            let store = inner.store.clone();
            drop(inner);
            store.publish_events(batch).await;
        }
    }

    /// Show the events another node published (a batch of [`Self::relay_events`]) on this
    /// node's streams; this node's own batches come back too and are ignored.
    pub(crate) fn show_remote_events(&self, batch: &str) {
        #[derive(Deserialize)]
        struct Batch {
            node: u64,
            events: Vec<EngineEvent>,
        }
        match serde_json::from_str::<Batch>(batch) {
            Ok(batch) if batch.node != self.inner.node_id => {
                for event in batch.events {
                    self.show_event(event);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("a live-event batch from another node was not read: {e}"),
        }
    }

    /// The numbered live events for the SSE stream: a receiver of events after now, and the
    /// journal's events after `after` (the id a reconnecting client last saw; `None` for a
    /// new client, who gets no replay). Taken under the journal's lock: nothing is missed
    /// or sent twice between the replay and the receiver.
    pub fn subscribe_numbered_events(
        &self,
        after: Option<u64>,
    ) -> (broadcast::Receiver<(u64, EngineEvent)>, EventReplay) {
        let journal = &self.inner.metrics.journal;
        journal.watched.store(true, Ordering::Relaxed);
        let Ok(ring) = journal.ring.lock() else {
            let replay = EventReplay {
                events: Vec::new(),
                missed: 0,
            };
            return (journal.tx.subscribe(), replay);
        };
        let rx = journal.tx.subscribe();
        let (last, buf) = &*ring;
        let mut replay = EventReplay {
            events: Vec::new(),
            missed: 0,
        };
        if let Some(after) = after.filter(|a| a < last) {
            let oldest = buf.front().map_or(last + 1, |(id, _)| *id);
            replay.missed = oldest.saturating_sub(after + 1);
            replay.events = buf.iter().filter(|(id, _)| *id > after).cloned().collect();
        }
        (rx, replay)
    }

    /// This engine run's event-id epoch: ids of an earlier run (they restart at 1) carry
    /// another, so a client reconnecting across a restart is told it lost track.
    pub fn event_epoch(&self) -> u64 {
        self.inner.metrics.journal.epoch
    }

    /// Record one handled request's latency under its route template.
    pub fn observe_request(&self, method: &str, route: &str, seconds: f64) {
        self.inner.metrics.http.observe(method, route, seconds);
    }

    /// Request latency histograms per route, sorted by route.
    pub fn request_latencies(&self) -> Vec<super::LatencySnapshot> {
        self.inner.metrics.http.snapshot()
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
            fetch_and_lock_hand_offs: m.fetch_and_lock_hand_offs.load(Ordering::Relaxed),
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
            // Gauges read from the store: 0 while it cannot be read (the failure is logged).
            running_instances: gauge(self.inner.store.count_running_instances()),
            open_incidents: gauge(self.inner.store.count_open_incidents()),
            open_user_tasks: gauge(self.inner.store.count_user_tasks()),
            open_external_tasks: gauge(self.inner.store.count_external_tasks()),
            external_task_failures: m.external_task_failures.load(Ordering::Relaxed),
            bpmn_errors: m.bpmn_errors.load(Ordering::Relaxed),
            job_executions: m.job_executions.load(Ordering::Relaxed),
            job_failures: m.job_failures.load(Ordering::Relaxed),
            incidents_by_type: copy(&m.incidents_by_type),
        }
    }

    pub(crate) fn bump(counter: &Mutex<HashMap<String, u64>>, key: &str) {
        if let Ok(mut m) = counter.lock() {
            *m.entry(key.to_owned()).or_insert(0) += 1;
        }
    }
}

/// An event as JSON for another node, small enough for one notification: a long incident
/// message is shortened; anything still too large is not relayed.
fn event_json(event: &EngineEvent) -> Option<String> {
    const MESSAGE_CHARS: usize = 2_000;
    let shortened;
    let event = match event {
        EngineEvent::IncidentRaised {
            message: Some(message),
            ..
        } if message.chars().count() > MESSAGE_CHARS => {
            let mut copy = event.clone();
            if let EngineEvent::IncidentRaised {
                message: Some(m), ..
            } = &mut copy
            {
                *m = message.chars().take(MESSAGE_CHARS).collect();
            }
            shortened = copy;
            &shortened
        }
        _ => event,
    };
    let json = serde_json::to_string(event).ok()?;
    // Room for the batch's envelope around a single event.
    (json.len() + 64 <= MAX_EVENT_PAYLOAD).then_some(json)
}

/// A gauge read from the store for `/metrics`: 0 while the store cannot be read (logged), so
/// one scrape during a database outage does not fail the whole page.
pub(crate) fn gauge(count: crate::store::Result<usize>) -> u64 {
    match count {
        Ok(n) => n as u64,
        Err(e) => {
            tracing::warn!("a metrics gauge could not be read: {e}");
            0
        }
    }
}
