//! The notification loop: match staged events against rules, group them into deliveries,
//! POST due deliveries (spawned, bounded, with timeouts) and record their outcomes. The loop
//! is the only writer of deliveries and groups, so grouping needs no locks beyond its own.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::rules::{ConditionKind, NotificationRule};
use super::{EventKind, NotificationEvent};
use crate::engine::{ProcessEngine, Result};
use crate::store::{NotificationStore, OutboxStore, WriteSet};

/// Events matched per commit.
const EVENT_BATCH: usize = 512;
/// Event batches per pass before due deliveries get their turn.
const MAX_BATCHES_PER_PASS: usize = 64;
/// Due deliveries started per pass.
const DUE_BATCH: usize = 64;
/// Finished deliveries kept for the cockpit and the REST list (oldest pruned first).
const KEEP_FINISHED: usize = 1000;
/// Longest error text kept on a delivery.
const MAX_ERROR_LEN: usize = 300;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; given up.
    Failed,
}

impl DeliveryStatus {
    /// The name shown over REST and in the cockpit.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One notification: the first event of a group window plus how many events it stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Store sequence (key).
    pub seq: u64,
    /// Delivery id, sent in `X-Baton-Delivery`: the same on every retry, so receivers dedupe.
    pub id: String,
    /// The rule.
    pub rule_id: String,
    /// The rule's name when the delivery was made.
    pub rule_name: String,
    /// The grouping key (definition key or topic).
    pub group_key: String,
    /// The first event.
    pub event: NotificationEvent,
    /// Events this delivery stands for.
    pub count: u64,
    /// When the last of them happened.
    pub last_event_time: i64,
    /// Whether this is the summary sent at the end of a window.
    pub summary: bool,
    /// Status.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Next attempt (pending deliveries), ms.
    pub due: i64,
    /// Last HTTP status received.
    pub last_status: Option<u16>,
    /// Last error (no secrets: a transport error or the status line).
    pub last_error: Option<String>,
    /// Created, ms.
    pub created: i64,
    /// Delivered or given up, ms.
    pub finished: Option<i64>,
}

/// The grouping state of one rule and key: the window and its deliveries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    window_end: i64,
    first: u64,
    summary: Option<u64>,
}

/// What one attempt came to, sent back to the loop.
#[derive(Debug)]
pub(crate) struct AttemptOutcome {
    seq: u64,
    result: std::result::Result<u16, String>,
    /// Retrying cannot help (the rule was deleted): mark the delivery failed at once.
    give_up: bool,
}

/// Notification counters (`/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NotificationMetrics {
    /// Deliveries answered 2xx.
    pub delivered: u64,
    /// Failed attempts (non-2xx, timeout, connection error).
    pub failed_attempts: u64,
    /// Deliveries given up after every attempt failed.
    pub given_up: u64,
    /// Events folded into an existing delivery instead of sending another.
    pub grouped: u64,
    /// Deliveries still pending.
    pub pending: u64,
    /// Passes of the notification loop so far (it must idle, not spin, while attempts wait).
    pub passes: u64,
}

/// Groups are per rule, event kind and key, so a "resolved" is never counted into the
/// notification of what it resolves.
type GroupKey = (String, &'static str, String);

/// Whether `rule` wants `event`.
fn matches(rule: &NotificationRule, event: &NotificationEvent) -> bool {
    if !rule.enabled {
        return false;
    }
    if event.rule_id.as_ref().is_some_and(|r| *r != rule.id) {
        return false;
    }
    let kind_ok = match (rule.condition, event.kind) {
        (ConditionKind::IncidentCreated, EventKind::IncidentCreated) => true,
        (ConditionKind::IncidentResolved, EventKind::IncidentResolved) => true,
        (ConditionKind::InstanceCanceled, EventKind::InstanceCanceled) => true,
        (ConditionKind::UncaughtError, EventKind::IncidentCreated) => {
            event.incident_type.as_deref() == Some("unhandledBpmnError")
        }
        (ConditionKind::UncaughtError, EventKind::UncaughtError) => true,
        (ConditionKind::WasmLimit, EventKind::WasmLimit) => true,
        (ConditionKind::TaskWaiting, EventKind::TaskWaiting | EventKind::TaskWaitingResolved)
        | (
            ConditionKind::UserTaskOverdue,
            EventKind::UserTaskOverdue | EventKind::UserTaskOverdueResolved,
        )
        | (
            ConditionKind::UserTaskUnclaimed,
            EventKind::UserTaskUnclaimed | EventKind::UserTaskUnclaimedResolved,
        )
        | (ConditionKind::FailureRate, EventKind::FailureRate | EventKind::FailureRateResolved) => {
            event.rule_id.is_some()
        }
        _ => false,
    };
    let eq = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    };
    kind_ok
        && eq(&rule.incident_type, &event.incident_type)
        && eq(&rule.process_definition_key, &event.process_definition_key)
        && eq(&rule.activity_id, &event.activity_id)
        && eq(&rule.topic, &event.topic)
}

/// The group key of an event: its topic, else its definition key.
fn group_of(event: &NotificationEvent) -> String {
    event
        .topic
        .clone()
        .or_else(|| event.process_definition_key.clone())
        .unwrap_or_else(|| "-".to_owned())
}

/// Retry delay after `attempts` failed attempts: exponential, capped, with "equal jitter"
/// (half fixed, half random) so many failing deliveries do not retry in lockstep.
fn backoff(base_ms: u64, max_ms: u64, attempts: u32) -> i64 {
    let exp = base_ms
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
        .min(max_ms)
        .max(1);
    let random = (uuid::Uuid::new_v4().as_u128() as u64) % (exp / 2 + 1);
    (exp / 2 + random) as i64
}

pub(super) fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl ProcessEngine {
    pub(crate) async fn notification_loop(self) {
        // On a store other nodes share, one node delivers (the one holding the duty's lock);
        // the others stand by and take over when it dies (its connection, and so its lock,
        // goes). A delivery in flight on a dead node is sent again by the next: same
        // delivery id, which receivers dedupe on.
        let mut delivering: Option<crate::store::ClusterLock> = None;
        loop {
            if self.inner.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let woken = self.inner.notifications.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.inner.store.is_shared() && !delivering.as_ref().is_some_and(|l| l.is_held()) {
                delivering = match self
                    .inner
                    .store
                    .try_lock_duty_across_nodes("notifications")
                    .await
                {
                    Ok(lock) => lock,
                    Err(e) => {
                        tracing::warn!("notification delivery: {e}");
                        None
                    }
                };
                if delivering.is_none() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            if self.inner.store.is_shared()
                && let Err(e) = self.reload_rules()
            {
                // Rules another node changed are read each pass (this node's own changes
                // reload them at once).
                tracing::warn!("notification rules not reloaded: {e}");
            }
            let next = match self.notification_pass().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!("notification pass failed: {e}");
                    None
                }
            };
            let now = self.now();
            // Re-check at least every second: retries come due on the engine clock, which a
            // wake-up does not announce.
            let wait = next.map(|t| (t - now).clamp(0, 1000)).unwrap_or(1000);
            if wait == 0 {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }

    /// One pass of the notification loop: record finished attempts, fold staged events into
    /// deliveries, start the deliveries that are due. Returns when the next delivery is due.
    /// The background loop calls it; tests with a manual clock may call it themselves.
    pub async fn notification_pass(&self) -> Result<Option<i64>> {
        // One pass at a time: the pass is the only writer of deliveries and groups.
        let mut outcomes = self.inner.notifications.outcomes_rx.lock().await;
        self.inner
            .notifications
            .passes
            .fetch_add(1, Ordering::Relaxed);
        while let Ok(outcome) = outcomes.try_recv() {
            self.record_outcome(outcome)?;
        }
        if let Err(e) = self.evaluate_time_conditions() {
            tracing::warn!("evaluating time-based notification conditions failed: {e}");
        }
        let mut folded = 0;
        for _ in 0..MAX_BATCHES_PER_PASS {
            let read = self.fold_events()?;
            folded += read;
            if read < EVENT_BATCH {
                break;
            }
        }
        if folded > 0 {
            // A delivery is sent only once its record is on disk, so a crash after sending
            // re-sends the same delivery id (the receiver dedupes) instead of a new one.
            self.inner.store.sync().await?;
        }
        self.start_due()?;
        self.prune_finished()?;
        drop(outcomes);
        self.next_due_not_in_flight()
    }

    /// When the next delivery that is not already being attempted comes due. Deliveries in
    /// flight are skipped: their outcome wakes the loop, and counting them as due would make
    /// the loop spin while a receiver hangs.
    fn next_due_not_in_flight(&self) -> Result<Option<i64>> {
        let in_flight = self.in_flight_snapshot();
        if in_flight.len() >= self.max_in_flight() {
            // Nothing more can start before an attempt ends, and its outcome wakes the loop.
            return Ok(None);
        }
        let due = self
            .inner
            .store
            .due_notifications(i64::MAX, in_flight.len().saturating_add(1))?;
        Ok(due
            .iter()
            .find(|(_, seq)| !in_flight.contains(seq))
            .map(|(due, _)| *due))
    }

    /// The deliveries being attempted now.
    fn in_flight_snapshot(&self) -> std::collections::HashSet<u64> {
        self.inner
            .notifications
            .in_flight
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    fn definition_key_of(&self, definition_id: &str) -> Option<String> {
        self.deployed_sync(definition_id)
            .ok()
            .map(|d| d.record.key.clone())
    }

    /// Fold one batch of staged events into deliveries; returns how many events it read.
    fn fold_events(&self) -> Result<usize> {
        let store = &self.inner.store;
        let raw = store.notification_events::<NotificationEvent>(EVENT_BATCH)?;
        if raw.is_empty() {
            return Ok(0);
        }
        let rules = self.rules_snapshot();
        let now = self.now();
        let mut ws = WriteSet::new();
        let mut deliveries: HashMap<u64, Delivery> = HashMap::new();
        let mut groups: HashMap<GroupKey, Group> = HashMap::new();
        let in_flight = self.in_flight_snapshot();
        let read = raw.len();
        for (key, decoded) in raw {
            store.stage_notification_event_removal(&mut ws, &key);
            let mut event = match decoded {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!("unreadable notification event dropped: {e}");
                    continue;
                }
            };
            if event.process_definition_key.is_none()
                && let Some(def) = &event.process_definition_id
            {
                event.process_definition_key = self.definition_key_of(def);
            }
            for rule in rules.iter().filter(|r| matches(r, &event)) {
                let group = group_of(&event);
                let gkey = (rule.id.clone(), event.kind.as_str(), group.clone());
                let current = match groups.get(&gkey) {
                    Some(g) => Some(g.clone()),
                    None => {
                        store.notification_group::<Group>(&rule.id, event.kind.as_str(), &group)?
                    }
                };
                let load =
                    |seq: u64, deliveries: &HashMap<u64, Delivery>| -> Result<Option<Delivery>> {
                        match deliveries.get(&seq) {
                            Some(d) => Ok(Some(d.clone())),
                            None => Ok(store.notification_delivery::<Delivery>(seq)?),
                        }
                    };
                match current {
                    Some(mut g) if now < g.window_end => {
                        // Within the window: add to the first delivery while it is untouched,
                        // else to the window's summary (sent when the window ends).
                        let first = load(g.first, &deliveries)?;
                        if let Some(mut d) = first.filter(|d| {
                            d.status == DeliveryStatus::Pending
                                && d.attempts == 0
                                && !in_flight.contains(&d.seq)
                        }) {
                            d.count += 1;
                            d.last_event_time = event.time;
                            deliveries.insert(d.seq, d);
                        } else if let Some(mut s) = match g.summary {
                            Some(seq) => load(seq, &deliveries)?,
                            None => None,
                        } {
                            s.count += 1;
                            s.last_event_time = event.time;
                            deliveries.insert(s.seq, s);
                        } else {
                            let d = self.new_delivery(rule, &group, &event, g.window_end, true)?;
                            g.summary = Some(d.seq);
                            deliveries.insert(d.seq, d);
                        }
                        self.inner
                            .notifications
                            .grouped
                            .fetch_add(1, Ordering::Relaxed);
                        groups.insert(gkey, g);
                    }
                    _ => {
                        let d = self.new_delivery(rule, &group, &event, now, false)?;
                        groups.insert(
                            gkey,
                            Group {
                                window_end: now.saturating_add(rule.window_ms),
                                first: d.seq,
                                summary: None,
                            },
                        );
                        deliveries.insert(d.seq, d);
                    }
                }
            }
        }
        for ((rule_id, kind, group), g) in &groups {
            store.stage_notification_group(&mut ws, rule_id, kind, group, g);
        }
        for d in deliveries.values() {
            store.stage_notification_delivery(&mut ws, d.seq, d, Some(d.due), None);
        }
        store.commit(&ws)?;
        Ok(read)
    }

    fn new_delivery(
        &self,
        rule: &NotificationRule,
        group: &str,
        event: &NotificationEvent,
        due: i64,
        summary: bool,
    ) -> Result<Delivery> {
        Ok(Delivery {
            seq: self.inner.store.next_sequence()?,
            id: crate::engine::core::new_id(),
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            group_key: group.to_owned(),
            event: event.clone(),
            count: 1,
            last_event_time: event.time,
            summary,
            status: DeliveryStatus::Pending,
            attempts: 0,
            due,
            last_status: None,
            last_error: None,
            created: self.now(),
            finished: None,
        })
    }

    /// Start every due delivery that is not already in flight.
    fn start_due(&self) -> Result<()> {
        let now = self.now();
        let in_flight = self.in_flight_count();
        let room = self
            .max_in_flight()
            .saturating_sub(in_flight)
            .min(DUE_BATCH);
        if room == 0 {
            return Ok(());
        }
        // Skip over what is already in flight (at most `in_flight` entries) to reach new work.
        let due = self
            .inner
            .store
            .due_notifications(now.saturating_add(1), in_flight.saturating_add(room))?;
        let rules = self.rules_snapshot();
        let mut started = 0;
        for (due_at, seq) in due {
            if started >= room {
                break;
            }
            let fresh = match self.inner.notifications.in_flight.lock() {
                Ok(mut s) => s.insert(seq),
                Err(_) => false,
            };
            if !fresh {
                continue;
            }
            let Some(delivery) = self.inner.store.notification_delivery::<Delivery>(seq)? else {
                let mut ws = WriteSet::new();
                self.inner
                    .store
                    .stage_notification_due_removal(&mut ws, due_at, seq);
                self.inner.store.commit(&ws)?;
                self.forget_in_flight(seq);
                continue;
            };
            let rule = rules.iter().find(|r| r.id == delivery.rule_id).cloned();
            let me = self.clone();
            tokio::spawn(async move { me.attempt(delivery, rule).await });
            started += 1;
        }
        Ok(())
    }

    /// Attempts started and not yet recorded (running or waiting for a permit): four per
    /// permit, so a hanging receiver parks a bounded number of tasks.
    fn max_in_flight(&self) -> usize {
        self.inner
            .notifications
            .config
            .concurrency
            .max(1)
            .saturating_mul(4)
    }

    fn in_flight_count(&self) -> usize {
        self.inner
            .notifications
            .in_flight
            .lock()
            .map(|s| s.len())
            .unwrap_or(0)
    }

    fn forget_in_flight(&self, seq: u64) {
        if let Ok(mut s) = self.inner.notifications.in_flight.lock() {
            s.remove(&seq);
        }
    }

    /// One attempt, off the loop: wait for a permit, POST, report back.
    async fn attempt(self, delivery: Delivery, rule: Option<NotificationRule>) {
        let give_up = rule.is_none();
        let result = match rule {
            None => Err("the rule was deleted".to_owned()),
            Some(rule) => {
                let permits = self.inner.notifications.permits.clone();
                match permits.acquire_owned().await {
                    Ok(_permit) => self.send(&rule, &delivery).await,
                    Err(_) => Err("shutting down".to_owned()),
                }
            }
        };
        let _ = self.inner.notifications.outcomes_tx.send(AttemptOutcome {
            seq: delivery.seq,
            result,
            give_up,
        });
        self.wake_notifications();
    }

    fn record_outcome(&self, outcome: AttemptOutcome) -> Result<()> {
        self.forget_in_flight(outcome.seq);
        let store = &self.inner.store;
        let Some(mut d) = store.notification_delivery::<Delivery>(outcome.seq)? else {
            return Ok(());
        };
        let now = self.now();
        let state = &self.inner.notifications;
        let mut ws = WriteSet::new();
        let old_due = d.due;
        let mut next_due = None;
        d.attempts = d.attempts.saturating_add(1);
        match outcome.result {
            Ok(status) => {
                d.status = DeliveryStatus::Delivered;
                d.last_status = Some(status);
                d.last_error = None;
                d.finished = Some(now);
                state.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                state.failed_attempts.fetch_add(1, Ordering::Relaxed);
                d.last_status = error
                    .strip_prefix("receiver answered ")
                    .and_then(|s| s.get(..3))
                    .and_then(|s| s.parse().ok());
                d.last_error = Some(error.chars().take(MAX_ERROR_LEN).collect());
                if outcome.give_up || d.attempts >= state.config.max_attempts.max(1) {
                    d.status = DeliveryStatus::Failed;
                    d.finished = Some(now);
                    state.given_up.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "notification {} of rule {} given up after {} attempts",
                        d.id,
                        d.rule_id,
                        d.attempts
                    );
                } else {
                    d.due = now.saturating_add(backoff(
                        state.config.backoff_ms,
                        state.config.max_backoff_ms,
                        d.attempts,
                    ));
                    next_due = Some(d.due);
                }
            }
        }
        store.stage_notification_delivery(&mut ws, d.seq, &d, next_due, Some(old_due));
        store.commit(&ws)?;
        Ok(())
    }

    /// Keep the newest finished deliveries only (pending ones are never pruned).
    fn prune_finished(&self) -> Result<()> {
        let store = &self.inner.store;
        let (total, _) = store.count_notification_deliveries()?;
        if total <= KEEP_FINISHED + DUE_BATCH {
            return Ok(());
        }
        let mut ws = WriteSet::new();
        for (seq, d) in store.oldest_notification_deliveries::<Delivery>(total - KEEP_FINISHED)? {
            if d.status != DeliveryStatus::Pending {
                store.stage_notification_delivery_removal(&mut ws, seq);
            }
        }
        store.commit(&ws)?;
        Ok(())
    }

    /// The newest deliveries, newest first (at most `limit`), optionally of one rule.
    pub async fn notification_deliveries(
        &self,
        rule_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let all: Vec<Delivery> = self.inner.store.notification_deliveries()?;
        Ok(all
            .into_iter()
            .rev()
            .filter(|d| rule_id.is_none_or(|r| d.rule_id == r))
            .take(limit)
            .collect())
    }

    /// Notification counters.
    pub fn notification_metrics(&self) -> NotificationMetrics {
        let s = &self.inner.notifications;
        NotificationMetrics {
            delivered: s.delivered.load(Ordering::Relaxed),
            failed_attempts: s.failed_attempts.load(Ordering::Relaxed),
            given_up: s.given_up.load(Ordering::Relaxed),
            grouped: s.grouped.load(Ordering::Relaxed),
            pending: crate::engine::events::gauge(
                self.inner
                    .store
                    .count_notification_deliveries()
                    .map(|(_, due)| due),
            ),
            passes: s.passes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_with_jitter() {
        for attempts in 1..40 {
            let d = backoff(1000, 60_000, attempts);
            let exp = (1000u64 << (attempts - 1).min(30)).min(60_000) as i64;
            assert!(d >= exp / 2 && d <= exp, "{attempts}: {d}");
        }
    }
}
