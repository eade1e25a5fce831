//! Time-based conditions, evaluated by the notification loop on the engine clock (every
//! `eval_interval_ms` of engine time, so tests move a manual clock instead of sleeping):
//!
//! - `taskWaiting`: external tasks of a topic wait longer than D and no worker fetched that
//!   topic for D ("no worker on topic `check-stock` for 10 min, 37 tasks waiting, oldest
//!   since ..."). The last fetch per topic is tracked in memory (a restart counts as a
//!   fetch, so a restarted server waits D before it alarms).
//! - `userTaskOverdue`: a user task is past its `dueDate`; `userTaskUnclaimed`: a user task
//!   has no assignee for longer than D.
//! - `failureRate`: a topic's failed attempts over the rule's window exceed the threshold
//!   (failures / (failures + completions), at least [`MIN_ATTEMPTS`] attempts).
//!
//! Each condition fires once when it becomes true and once ("...Resolved") when it stops
//! being true; what is active lives in memory (after a restart a still-true condition fires
//! again: at least once). The events go through the same outbox, grouping and delivery as
//! the others, addressed to the rule that evaluated them.

use std::collections::{HashMap, HashSet, VecDeque};

use super::rules::{ConditionKind, NotificationRule};
use super::{EventKind, NotificationEvent};
use crate::engine::{ProcessEngine, Result};
use crate::records::UserTask;
use crate::store::{Accept, ExternalTaskStore, TaskLookup, UserTaskStore, WriteSet};

/// Queue entries read per evaluation (a bound on the work, not on correctness: counts above
/// it are reported as "at least").
const MAX_QUEUE_SCAN: usize = 50_000;
/// User tasks read per evaluation.
const MAX_USER_TASK_SCAN: usize = 50_000;
/// Fewest attempts in a window before a failure rate means anything.
pub(crate) const MIN_ATTEMPTS: u64 = 5;
/// Samples kept per topic for failure rates.
const MAX_SAMPLES: usize = 4096;

/// In-memory state of the time-based conditions.
#[derive(Default)]
pub(crate) struct Watch {
    /// Topic → last fetchAndLock naming it (engine clock).
    pub(crate) last_fetch: HashMap<String, i64>,
    /// (rule id, subject) of conditions currently true.
    active: HashSet<(String, String)>,
    /// Topic → (time, completed so far, failed so far) samples.
    samples: HashMap<String, VecDeque<(i64, u64, u64)>>,
    /// Topic → failed attempts so far (external-task failures and wasm failures).
    pub(crate) failures: HashMap<String, u64>,
    /// When the engine opened (the baseline "last fetch" of every topic).
    pub(crate) opened: i64,
    /// Last evaluation (engine clock).
    pub(crate) last_eval: Option<i64>,
}

struct Fire {
    rule: NotificationRule,
    subject: String,
    event: NotificationEvent,
}

fn event(kind: EventKind, now: i64) -> NotificationEvent {
    NotificationEvent {
        kind,
        time: now,
        process_instance_id: None,
        process_definition_id: None,
        process_definition_key: None,
        activity_id: None,
        incident_id: None,
        incident_type: None,
        message: None,
        topic: None,
        rule_id: None,
    }
}

fn minutes(ms: i64) -> String {
    if ms >= 60_000 {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms / 1000)
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl ProcessEngine {
    /// Note that a worker asked for these topics (fetchAndLock).
    pub(crate) fn note_topics_fetched<'a>(&self, topics: impl Iterator<Item = &'a str>) {
        let now = self.now();
        if let Ok(mut w) = self.inner.notifications.watch.lock() {
            for t in topics {
                // Bounded by the topics workers name; a map entry per topic.
                if let Some(v) = w.last_fetch.get_mut(t) {
                    *v = now;
                } else if w.last_fetch.len() < 100_000 {
                    w.last_fetch.insert(t.to_owned(), now);
                }
            }
        }
    }

    /// Note a failed attempt of a topic (external-task failure or wasm failure).
    pub(crate) fn note_topic_failure(&self, topic: &str) {
        if let Ok(mut w) = self.inner.notifications.watch.lock()
            && (w.failures.len() < 100_000 || w.failures.contains_key(topic))
        {
            *w.failures.entry(topic.to_owned()).or_insert(0) += 1;
        }
    }

    /// Evaluate the time-based rules if `eval_interval_ms` of engine time passed; stage what
    /// changed. Returns how many events it staged.
    pub(crate) fn evaluate_time_conditions(&self) -> Result<usize> {
        let now = self.now();
        let interval = self.inner.config.notifications.eval_interval_ms.max(1) as i64;
        {
            let Ok(mut w) = self.inner.notifications.watch.lock() else {
                return Ok(0);
            };
            if w.last_eval.is_some_and(|t| now - t < interval) {
                return Ok(0);
            }
            w.last_eval = Some(now);
        }
        let rules = self.rules_snapshot();
        let timed: Vec<&NotificationRule> = rules
            .iter()
            .filter(|r| {
                r.enabled
                    && matches!(
                        r.condition,
                        ConditionKind::TaskWaiting
                            | ConditionKind::UserTaskOverdue
                            | ConditionKind::UserTaskUnclaimed
                            | ConditionKind::FailureRate
                    )
            })
            .collect();
        self.sample_topics(now);
        if timed.is_empty() {
            return Ok(0);
        }
        let mut truths: Vec<Fire> = Vec::new();
        if timed
            .iter()
            .any(|r| r.condition == ConditionKind::TaskWaiting)
        {
            let waiting = self.waiting_by_topic()?;
            for r in timed
                .iter()
                .filter(|r| r.condition == ConditionKind::TaskWaiting)
            {
                self.task_waiting(r, &waiting, now, &mut truths);
            }
        }
        if timed.iter().any(|r| {
            matches!(
                r.condition,
                ConditionKind::UserTaskOverdue | ConditionKind::UserTaskUnclaimed
            )
        }) {
            let tasks: Vec<UserTask> = self.inner.store.user_tasks_where(
                &TaskLookup::default(),
                &mut |_| Accept::Take,
                0,
                MAX_USER_TASK_SCAN,
            )?;
            for r in timed.iter().filter(|r| {
                matches!(
                    r.condition,
                    ConditionKind::UserTaskOverdue | ConditionKind::UserTaskUnclaimed
                )
            }) {
                user_tasks(r, &tasks, now, &mut truths);
            }
        }
        for r in timed
            .iter()
            .filter(|r| r.condition == ConditionKind::FailureRate)
        {
            self.failure_rate(r, now, &mut truths);
        }
        self.stage_transitions(&timed, truths, now)
    }

    /// Fire what became true, resolve what stopped being true.
    fn stage_transitions(
        &self,
        timed: &[&NotificationRule],
        truths: Vec<Fire>,
        now: i64,
    ) -> Result<usize> {
        let mut ws = WriteSet::new();
        let mut staged = 0;
        let Ok(mut w) = self.inner.notifications.watch.lock() else {
            return Ok(0);
        };
        let true_now: HashSet<(String, String)> = truths
            .iter()
            .map(|f| (f.rule.id.clone(), f.subject.clone()))
            .collect();
        for f in truths {
            let key = (f.rule.id.clone(), f.subject.clone());
            if w.active.insert(key) {
                super::stage(&self.inner.store, &mut ws, &f.event);
                staged += 1;
            }
        }
        let live: HashSet<&str> = timed.iter().map(|r| r.id.as_str()).collect();
        let ended: Vec<(String, String)> = w
            .active
            .iter()
            .filter(|k| !true_now.contains(*k) && live.contains(k.0.as_str()))
            .cloned()
            .collect();
        for key in ended {
            w.active.remove(&key);
            let Some(rule) = timed.iter().find(|r| r.id == key.0) else {
                continue;
            };
            let kind = match rule.condition {
                ConditionKind::TaskWaiting => EventKind::TaskWaitingResolved,
                ConditionKind::UserTaskOverdue => EventKind::UserTaskOverdueResolved,
                ConditionKind::UserTaskUnclaimed => EventKind::UserTaskUnclaimedResolved,
                _ => EventKind::FailureRateResolved,
            };
            let mut e = event(kind, now);
            e.rule_id = Some(rule.id.clone());
            match rule.condition {
                ConditionKind::TaskWaiting | ConditionKind::FailureRate => {
                    e.topic = Some(key.1.clone());
                    e.message = Some(format!("topic `{}` is back to normal", key.1));
                }
                _ => {
                    e.message = Some(format!("user task {} is no longer late", key.1));
                }
            }
            super::stage(&self.inner.store, &mut ws, &e);
            staged += 1;
        }
        // Forget rules that were deleted or disabled.
        w.active.retain(|k| live.contains(k.0.as_str()));
        drop(w);
        if staged > 0 {
            self.inner.store.commit(&ws)?;
        }
        Ok(staged)
    }

    /// Topic → (waiting count, oldest create time), from the fetchable-task queue.
    fn waiting_by_topic(&self) -> Result<HashMap<String, (u64, i64)>> {
        Ok(self.inner.store.waiting_by_topic(MAX_QUEUE_SCAN)?)
    }

    fn task_waiting(
        &self,
        rule: &NotificationRule,
        waiting: &HashMap<String, (u64, i64)>,
        now: i64,
        out: &mut Vec<Fire>,
    ) {
        let wait = rule.wait_ms.unwrap_or(600_000);
        let (last_fetch, opened) = match self.inner.notifications.watch.lock() {
            Ok(w) => (w.last_fetch.clone(), w.opened),
            Err(_) => return,
        };
        for (topic, (count, oldest)) in waiting {
            if rule.topic.as_ref().is_some_and(|t| t != topic) {
                continue;
            }
            let fetched = last_fetch.get(topic).copied().unwrap_or(opened).max(opened);
            if now - oldest > wait && now - fetched > wait {
                let mut e = event(EventKind::TaskWaiting, now);
                e.rule_id = Some(rule.id.clone());
                e.topic = Some(topic.clone());
                e.message = Some(format!(
                    "no worker on topic `{topic}` for {}, {count} task(s) waiting, oldest since {}",
                    minutes(now - fetched.max(*oldest)),
                    iso(*oldest)
                ));
                out.push(Fire {
                    rule: rule.clone(),
                    subject: topic.clone(),
                    event: e,
                });
            }
        }
    }

    /// Record a sample of every topic's counters and drop samples older than a day.
    fn sample_topics(&self, now: i64) {
        let completed = self
            .inner
            .metrics
            .tasks_completed_by_topic
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let Ok(mut w) = self.inner.notifications.watch.lock() else {
            return;
        };
        let failures = w.failures.clone();
        let topics: HashSet<&String> = completed.keys().chain(failures.keys()).collect();
        for topic in topics {
            let c = completed.get(topic).copied().unwrap_or(0);
            let f = failures.get(topic).copied().unwrap_or(0);
            let s = w.samples.entry(topic.clone()).or_default();
            s.push_back((now, c, f));
            while s.len() > MAX_SAMPLES
                || s.front().is_some_and(|(t, ..)| now - t > 24 * 3600 * 1000)
            {
                s.pop_front();
            }
        }
    }

    fn failure_rate(&self, rule: &NotificationRule, now: i64, out: &mut Vec<Fire>) {
        let threshold = rule.threshold.unwrap_or(0.5);
        let Ok(w) = self.inner.notifications.watch.lock() else {
            return;
        };
        for (topic, samples) in &w.samples {
            if rule.topic.as_ref().is_some_and(|t| t != topic) {
                continue;
            }
            let Some(&(_, c1, f1)) = samples.back() else {
                continue;
            };
            // The baseline is the newest sample taken before the window began; without one
            // the topic's counters started inside the window (engine start or first use).
            let (c0, f0) = samples
                .iter()
                .rev()
                .find(|(t, ..)| now - t >= rule.window_ms)
                .map(|&(_, c, f)| (c, f))
                .unwrap_or((0, 0));
            let failed = f1.saturating_sub(f0);
            let attempts = failed + c1.saturating_sub(c0);
            if attempts >= MIN_ATTEMPTS && failed as f64 / attempts as f64 > threshold {
                let mut e = event(EventKind::FailureRate, now);
                e.rule_id = Some(rule.id.clone());
                e.topic = Some(topic.clone());
                e.message = Some(format!(
                    "{failed} of {attempts} attempts of topic `{topic}` failed in the last {} ({:.0} % > {:.0} %)",
                    minutes(rule.window_ms),
                    100.0 * failed as f64 / attempts as f64,
                    100.0 * threshold
                ));
                out.push(Fire {
                    rule: rule.clone(),
                    subject: topic.clone(),
                    event: e,
                });
            }
        }
    }
}

fn user_tasks(rule: &NotificationRule, tasks: &[UserTask], now: i64, out: &mut Vec<Fire>) {
    for t in tasks {
        if rule
            .process_definition_key
            .as_ref()
            .is_some_and(|k| *k != t.process_definition_key)
            || rule
                .activity_id
                .as_ref()
                .is_some_and(|a| *a != t.task_definition_key)
        {
            continue;
        }
        let (kind, message) = match rule.condition {
            ConditionKind::UserTaskOverdue => match t.due {
                Some(due) if due < now => (
                    EventKind::UserTaskOverdue,
                    format!(
                        "user task '{}' is overdue since {}",
                        t.name.as_deref().unwrap_or(&t.task_definition_key),
                        iso(due)
                    ),
                ),
                _ => continue,
            },
            _ => {
                let wait = rule.wait_ms.unwrap_or(3_600_000);
                if t.assignee.is_some() || now - t.created <= wait {
                    continue;
                }
                (
                    EventKind::UserTaskUnclaimed,
                    format!(
                        "user task '{}' unclaimed for {} (since {})",
                        t.name.as_deref().unwrap_or(&t.task_definition_key),
                        minutes(now - t.created),
                        iso(t.created)
                    ),
                )
            }
        };
        let mut e = event(kind, now);
        e.rule_id = Some(rule.id.clone());
        e.process_instance_id = Some(t.process_instance_id.clone());
        e.process_definition_id = Some(t.process_definition_id.clone());
        e.process_definition_key = Some(t.process_definition_key.clone());
        e.activity_id = Some(t.task_definition_key.clone());
        e.message = Some(message);
        out.push(Fire {
            rule: rule.clone(),
            subject: t.id.clone(),
            event: e,
        });
    }
}
