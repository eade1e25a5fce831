//! Failure notifications (issue 22): tell people when work is stuck or failing.
//!
//! This room owns the rules ([`rules`]), the durable notification outbox, grouping and the
//! delivery loop ([`delivery`]). It must not slow the engine down: the engine only *stages*
//! a small event record in the same write set as the event itself (an incident opened or
//! resolved, an instance canceled, a wasm limit hit), so a crash loses none; matching rules,
//! grouping and HTTP delivery happen later on the notification loop, never on a command's
//! path.
//!
//! Flow: event record (`notification_events`, same commit as the incident) → the loop
//! matches it against the enabled rules and folds it into a delivery per rule and group key
//! (`notification_deliveries` + `notification_due`, one commit that also deletes the event)
//! → due deliveries are POSTed ([`send`]) by spawned attempts (bounded concurrency, timeouts) whose
//! outcomes come back to the loop, the only writer of deliveries → delivered, or retried with
//! exponential backoff and jitter, or given up after `max_attempts`.

mod conditions;
mod delivery;
pub mod rules;
mod send;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::records::Incident;
use crate::store::{NotificationStore, Store, WriteSet};

pub use delivery::{Delivery, DeliveryStatus, NotificationMetrics};
pub use rules::{ConditionKind, NotificationRule, RuleInput};
pub use send::{TestOutcome, sign};

/// Delivery settings of the notification loop.
#[derive(Debug, Clone)]
pub struct NotificationConfig {
    /// Rules from the config file, created or updated (by id) when the engine opens.
    pub rules: Vec<RuleInput>,
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: u32,
    /// First retry delay, ms; doubles per attempt (with jitter) up to `max_backoff_ms`.
    pub backoff_ms: u64,
    /// Longest retry delay, ms.
    pub max_backoff_ms: u64,
    /// Per-attempt HTTP timeout (connect + answer), ms.
    pub timeout_ms: u64,
    /// Most webhook requests in flight at once.
    pub concurrency: usize,
    /// Base URL of the cockpit in links (default: `http://<listen address>`).
    pub public_url: Option<String>,
    /// How often (engine time) the time-based conditions are evaluated, ms.
    pub eval_interval_ms: u64,
}

impl Default for NotificationConfig {
    fn default() -> Self {
        NotificationConfig {
            rules: Vec::new(),
            max_attempts: 10,
            backoff_ms: 1_000,
            max_backoff_ms: 10 * 60 * 1000,
            timeout_ms: 10_000,
            concurrency: 8,
            public_url: None,
            eval_interval_ms: 10_000,
        }
    }
}

/// What happened, as staged in the outbox with the event's own commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// An incident was opened.
    IncidentCreated,
    /// An incident was resolved.
    IncidentResolved,
    /// An instance was canceled.
    InstanceCanceled,
    /// A wasm task hit a limit.
    WasmLimit,
    /// A test notification (`POST /notification-rule/{id}/test`).
    Test,
    /// Tasks of a topic wait and no worker fetches it.
    TaskWaiting,
    /// A worker fetches the topic again, or nothing waits any more.
    TaskWaitingResolved,
    /// A user task is past its due date.
    UserTaskOverdue,
    /// It was completed, or its due date moved.
    UserTaskOverdueResolved,
    /// A user task has no assignee for too long.
    UserTaskUnclaimed,
    /// It was claimed or completed.
    UserTaskUnclaimedResolved,
    /// A topic's failure rate is over the threshold.
    FailureRate,
    /// It is back under the threshold.
    FailureRateResolved,
    /// A BPMN error nothing caught ended its execution.
    UncaughtError,
}

impl EventKind {
    /// The name in the webhook body.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::IncidentCreated => "incidentCreated",
            EventKind::IncidentResolved => "incidentResolved",
            EventKind::InstanceCanceled => "instanceCanceled",
            EventKind::WasmLimit => "wasmLimit",
            EventKind::Test => "test",
            EventKind::TaskWaiting => "taskWaiting",
            EventKind::TaskWaitingResolved => "taskWaitingResolved",
            EventKind::UserTaskOverdue => "userTaskOverdue",
            EventKind::UserTaskOverdueResolved => "userTaskOverdueResolved",
            EventKind::UserTaskUnclaimed => "userTaskUnclaimed",
            EventKind::UserTaskUnclaimedResolved => "userTaskUnclaimedResolved",
            EventKind::FailureRate => "failureRate",
            EventKind::FailureRateResolved => "failureRateResolved",
            EventKind::UncaughtError => "uncaughtError",
        }
    }
}

/// One event staged for notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationEvent {
    /// What happened.
    pub kind: EventKind,
    /// When (engine clock, ms).
    pub time: i64,
    /// The instance.
    pub process_instance_id: Option<String>,
    /// Its definition.
    pub process_definition_id: Option<String>,
    /// Its definition key, when known at staging time (else looked up when matching).
    pub process_definition_key: Option<String>,
    /// Where it happened.
    pub activity_id: Option<String>,
    /// The incident, for incident events.
    pub incident_id: Option<String>,
    /// The incident type, for incident events.
    pub incident_type: Option<String>,
    /// The error message.
    pub message: Option<String>,
    /// The topic (wasm limits, waiting tasks, failure rates).
    pub topic: Option<String>,
    /// Only this rule (time-based conditions are evaluated per rule).
    #[serde(default)]
    pub rule_id: Option<String>,
}

/// The in-memory side of the room (rules cache, wake-up, in-flight attempts, counters).
pub(crate) struct State {
    pub(crate) config: NotificationConfig,
    pub(crate) rules: RwLock<Arc<Vec<NotificationRule>>>,
    pub(crate) wake: Notify,
    pub(crate) self_addr: Mutex<Option<SocketAddr>>,
    pub(crate) in_flight: Mutex<HashSet<u64>>,
    pub(crate) outcomes_tx: mpsc::UnboundedSender<delivery::AttemptOutcome>,
    pub(crate) outcomes_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<delivery::AttemptOutcome>>,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) client: reqwest::Client,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed_attempts: AtomicU64,
    pub(crate) given_up: AtomicU64,
    pub(crate) grouped: AtomicU64,
    pub(crate) passes: AtomicU64,
    pub(crate) watch: Mutex<conditions::Watch>,
}

impl State {
    pub(crate) fn new(config: NotificationConfig) -> State {
        let (tx, rx) = mpsc::unbounded_channel();
        let timeout = std::time::Duration::from_millis(config.timeout_ms.max(1));
        // No redirects: a 3xx must not turn a checked URL into one pointing elsewhere (or
        // back at this server). No TLS in this reqwest build: http only (see rules::check_url).
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        State {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            rules: RwLock::new(Arc::new(Vec::new())),
            wake: Notify::new(),
            self_addr: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
            outcomes_tx: tx,
            outcomes_rx: tokio::sync::Mutex::new(rx),
            client,
            delivered: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            given_up: AtomicU64::new(0),
            grouped: AtomicU64::new(0),
            passes: AtomicU64::new(0),
            watch: Mutex::new(conditions::Watch::default()),
        }
    }
}

/// Stage an event in the outbox, in the write set of the change that caused it.
pub(crate) fn stage(store: &Store, ws: &mut WriteSet, event: &NotificationEvent) {
    store.stage_notification_event(ws, event.time, event);
}

/// Stage an incident opened or resolved (called where the incident record is written or
/// moved to history).
pub(crate) fn stage_incident(
    store: &Store,
    ws: &mut WriteSet,
    incident: &Incident,
    kind: EventKind,
    now: i64,
) {
    stage(
        store,
        ws,
        &NotificationEvent {
            kind,
            time: now,
            process_instance_id: Some(incident.process_instance_id.clone()),
            process_definition_id: Some(incident.process_definition_id.clone()),
            process_definition_key: None,
            activity_id: Some(incident.activity_id.clone()),
            incident_id: Some(incident.id.clone()),
            incident_type: Some(incident.incident_type.as_str().to_owned()),
            message: incident.message.clone(),
            topic: None,
            rule_id: None,
        },
    );
}

/// Stage "a BPMN error nothing caught ended its execution" (Camunda's default for uncaught
/// errors; with `incident_on_unhandled_bpmn_error` the incident is the event instead).
pub(crate) fn stage_uncaught_error(
    store: &Store,
    ws: &mut WriteSet,
    instance: &crate::records::ProcessInstance,
    activity_id: &str,
    code: &str,
    message: Option<&str>,
    now: i64,
) {
    let text = match message {
        Some(m) => format!("uncaught BPMN error {code}: {m}"),
        None => format!("uncaught BPMN error {code}"),
    };
    stage(
        store,
        ws,
        &NotificationEvent {
            kind: EventKind::UncaughtError,
            time: now,
            process_instance_id: Some(instance.state.id.clone()),
            process_definition_id: Some(instance.definition_id.clone()),
            process_definition_key: Some(instance.definition_key.clone()),
            activity_id: Some(activity_id.to_owned()),
            incident_id: None,
            incident_type: None,
            message: Some(text),
            topic: None,
            rule_id: None,
        },
    );
}

/// Stage "instance canceled" (called where the instance end is written).
pub(crate) fn stage_instance_canceled(
    store: &Store,
    ws: &mut WriteSet,
    instance: &crate::records::ProcessInstance,
    reason: Option<String>,
    now: i64,
) {
    stage(
        store,
        ws,
        &NotificationEvent {
            kind: EventKind::InstanceCanceled,
            time: now,
            process_instance_id: Some(instance.state.id.clone()),
            process_definition_id: Some(instance.definition_id.clone()),
            process_definition_key: Some(instance.definition_key.clone()),
            activity_id: None,
            incident_id: None,
            incident_type: None,
            message: reason,
            topic: None,
            rule_id: None,
        },
    );
}

/// Stage "wasm limit hit" when an in-engine execution failed on its fuel, time or memory
/// limit; returns whether it staged anything.
pub(crate) fn stage_wasm_limit(
    store: &Store,
    ws: &mut WriteSet,
    task: &crate::records::ExternalTask,
    kind: crate::wasm::FailureKind,
    message: &str,
    now: i64,
) -> bool {
    use crate::wasm::FailureKind;
    if !matches!(
        kind,
        FailureKind::FuelExhausted | FailureKind::Deadline | FailureKind::Memory
    ) {
        return false;
    }
    stage(
        store,
        ws,
        &NotificationEvent {
            kind: EventKind::WasmLimit,
            time: now,
            process_instance_id: Some(task.process_instance_id.clone()),
            process_definition_id: Some(task.process_definition_id.clone()),
            process_definition_key: Some(task.process_definition_key.clone()),
            activity_id: Some(task.activity_id.clone()),
            incident_id: None,
            incident_type: None,
            message: Some(message.to_owned()),
            topic: Some(task.topic_name.clone()),
            rule_id: None,
        },
    );
    true
}

impl crate::engine::ProcessEngine {
    /// The server's own listen address (webhooks pointing at it are refused). Set by
    /// [`crate::server::run`].
    pub fn set_self_address(&self, addr: SocketAddr) {
        if let Ok(mut a) = self.inner.notifications.self_addr.lock() {
            *a = Some(addr);
        }
    }

    pub(crate) fn self_address(&self) -> Option<SocketAddr> {
        self.inner
            .notifications
            .self_addr
            .lock()
            .ok()
            .and_then(|a| *a)
    }

    /// Wake the delivery loop (after a commit that staged events).
    pub(crate) fn wake_notifications(&self) {
        self.inner.notifications.wake.notify_one();
    }

    pub(crate) fn reload_rules(&self) -> crate::engine::Result<()> {
        let all: Vec<NotificationRule> = self.inner.store.notification_rules()?;
        if let Ok(mut r) = self.inner.notifications.rules.write() {
            *r = Arc::new(all);
        }
        Ok(())
    }

    pub(crate) fn rules_snapshot(&self) -> Arc<Vec<NotificationRule>> {
        self.inner
            .notifications
            .rules
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Load the rules, apply the config file's rules and start the delivery loop.
    pub(crate) async fn open_notifications(&self) -> crate::engine::Result<()> {
        self.reload_rules()?;
        if let Ok(mut w) = self.inner.notifications.watch.lock() {
            w.opened = self.now();
        }
        for input in self.inner.config.notifications.rules.clone() {
            self.upsert_notification_rule(input).await?;
        }
        if self.inner.config.background_scheduler {
            let me = self.clone();
            let handle = tokio::spawn(async move { me.notification_loop().await });
            if let Ok(mut bg) = self.inner.background.lock() {
                bg.push(handle);
            }
        }
        Ok(())
    }
}
