//! The durable state of one process instance: its activity instances (the token tree), their
//! variables and what each waits for. Serialized by the host as one record per instance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::value::{Value, Variables};

/// Lifecycle of a process instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceStatus {
    /// Running (possibly waiting).
    Active,
    /// Reached its end.
    Completed,
    /// Cancelled from outside (`EXTERNALLY_TERMINATED`).
    Canceled,
    /// Ended by a terminate end event or an interrupting event at process level
    /// (`INTERNALLY_TERMINATED` where Camunda says so).
    Terminated,
}

/// The caller of a child instance started by a call activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuperInstance {
    /// The calling process instance.
    pub process_instance_id: String,
    /// The call activity's activity instance in it.
    pub activity_instance_id: String,
}

/// What a waiting activity instance waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// An external task (service, send, business rule task, message throw with topic).
    ExternalTask {
        /// Task id.
        task_id: String,
        /// Topic.
        topic: String,
    },
    /// A user task.
    UserTask {
        /// Task id.
        task_id: String,
    },
    /// A timer catch event.
    Timer {
        /// Timer id.
        timer_id: String,
    },
    /// A message catch event or receive task.
    Message {
        /// Subscription id.
        subscription_id: String,
    },
    /// A signal catch event.
    Signal {
        /// Subscription id.
        subscription_id: String,
    },
    /// A conditional catch event (re-evaluated on variable changes).
    Condition,
    /// An event-based gateway: waits on the events after it.
    EventGateway,
    /// A call activity: waits for its child instance.
    CallActivity {
        /// The child instance id.
        child_instance_id: String,
    },
    /// An async continuation job.
    Job {
        /// Job id.
        job_id: String,
    },
    /// A parallel or inclusive join: this token arrived and waits for the others.
    Join,
    /// A receive task without a message: waits for an explicit trigger
    /// ([`crate::engine::Command::Trigger`], Camunda's `POST /execution/{id}/signal`).
    Trigger,
    /// A compensation throw (or cancel end) event waits for its compensation handlers.
    Compensation,
}

/// Something attached to an activity instance while it is active: boundary events and event
/// subprocess start events listen through these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    /// Timer or subscription id.
    pub id: String,
    /// The boundary event or event-subprocess start event element id.
    pub event_activity_id: String,
}

/// One activity instance: a token at an element, or a scope (process, subprocess,
/// multi-instance body) holding child activity instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityInstance {
    /// Activity instance id (`activityId:uuid`; the root's is the process instance id).
    pub id: String,
    /// The element id (the process id for the root).
    pub activity_id: String,
    /// Parent activity instance (`None` for the root).
    pub parent: Option<String>,
    /// Execution id (the root's is the process instance id).
    pub execution_id: String,
    /// Local variables of this activity instance.
    pub variables: Variables,
    /// What it waits for, when it is a wait state.
    pub wait: Option<Wait>,
    /// Boundary timers, message/signal subscriptions and event-subprocess triggers it owns.
    pub listeners: Vec<Listener>,
    /// When it started.
    pub started_at: i64,
    /// Engine bookkeeping (creation order, multi-instance counters, async and timer-cycle
    /// state). Private to the engine: its keys may change between releases.
    #[serde(default)]
    pub internal: BTreeMap<String, i64>,
}

/// The whole state of one process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    /// Process instance id.
    pub id: String,
    /// The process (definition key) it runs.
    pub process_id: String,
    /// Business key.
    pub business_key: Option<String>,
    /// Lifecycle.
    pub status: InstanceStatus,
    /// The calling instance when started by a call activity.
    pub super_instance: Option<SuperInstance>,
    /// Every live activity instance, by id; the root has the process instance id. Once the
    /// instance has ended only the root remains, holding the final process variables.
    pub activity_instances: BTreeMap<String, ActivityInstance>,
    /// Counter from which every generated id is derived.
    pub next_seq: u64,
    /// When it started.
    pub started_at: i64,
    /// When it ended.
    pub ended_at: Option<i64>,
}

impl InstanceState {
    /// A fresh state for `Command::Start`.
    pub fn new(
        id: impl Into<String>,
        process_id: impl Into<String>,
        business_key: Option<String>,
        super_instance: Option<SuperInstance>,
    ) -> InstanceState {
        InstanceState {
            id: id.into(),
            process_id: process_id.into(),
            business_key,
            status: InstanceStatus::Active,
            super_instance,
            activity_instances: BTreeMap::new(),
            next_seq: 0,
            started_at: 0,
            ended_at: None,
        }
    }

    /// A new id derived from the instance id and the counter: unique within the instance,
    /// UUID-shaped (clients treat ids as opaque strings), and the same on every replay.
    pub fn next_id(&mut self) -> String {
        self.next_seq += 1;
        derive_id(&self.id, self.next_seq)
    }

    /// The root activity instance (the process instance scope).
    pub fn root(&self) -> Option<&ActivityInstance> {
        self.activity_instances.get(&self.id)
    }

    /// True while the instance has not ended.
    pub fn is_active(&self) -> bool {
        self.status == InstanceStatus::Active
    }

    /// The process variables (the root scope's).
    pub fn process_variables(&self) -> Variables {
        self.root().map(|r| r.variables.clone()).unwrap_or_default()
    }

    /// Every variable visible from `activity_instance_id`: its own, then each parent's, the
    /// innermost winning on a name clash.
    pub fn visible_variables(&self, activity_instance_id: &str) -> Variables {
        let mut out = Variables::new();
        let mut cursor = self.activity_instances.get(activity_instance_id);
        while let Some(ai) = cursor {
            for (k, v) in &ai.variables {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
            cursor = ai
                .parent
                .as_ref()
                .and_then(|p| self.activity_instances.get(p));
        }
        out
    }

    /// One variable as seen from `activity_instance_id`.
    pub fn lookup_variable(&self, activity_instance_id: &str, name: &str) -> Option<&Value> {
        let mut cursor = self.activity_instances.get(activity_instance_id);
        while let Some(ai) = cursor {
            if let Some(v) = ai.variables.get(name) {
                return Some(v);
            }
            cursor = ai
                .parent
                .as_ref()
                .and_then(|p| self.activity_instances.get(p));
        }
        None
    }

    /// The children of an activity instance, in id order.
    pub fn children_of<'a>(
        &'a self,
        activity_instance_id: &'a str,
    ) -> impl Iterator<Item = &'a ActivityInstance> + 'a {
        self.activity_instances
            .values()
            .filter(move |ai| ai.parent.as_deref() == Some(activity_instance_id))
    }

    /// The element ids where tokens currently are (waiting leaves), sorted. Inner instances of
    /// a multi-instance activity appear under the activity's own id; the body
    /// (`<id>#multiInstanceBody`) only while it waits for an async continuation job.
    pub fn active_activity_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .activity_instances
            .values()
            .filter(|ai| ai.wait.is_some())
            .map(|ai| ai.activity_id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// The activity instance waiting on a task id.
    pub fn find_task(&self, task_id: &str) -> Option<&ActivityInstance> {
        self.activity_instances.values().find(|ai| {
            matches!(&ai.wait, Some(Wait::ExternalTask { task_id: t, .. }) | Some(Wait::UserTask { task_id: t }) if t == task_id)
        })
    }
}

/// Format `(instance id, seq)` as a UUID-shaped id. Mixing is a 128-bit FNV-1a over the
/// instance id and counter: stable across releases, so stored ids keep their meaning.
pub fn derive_id(instance_id: &str, seq: u64) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    for b in instance_id.bytes().chain(seq.to_be_bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derive_id("pi-1", 1);
        assert_eq!(a, derive_id("pi-1", 1));
        assert_ne!(a, derive_id("pi-1", 2));
        assert_ne!(a, derive_id("pi-2", 1));
        assert_eq!(a.len(), 36);
    }
}
