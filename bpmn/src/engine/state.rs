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

/// Format `(instance id, seq)` as a UUID-shaped id, the same on every call (ids of an
/// instance's activity instances, tasks and variables are derived, not drawn).
///
/// For an instance id shaped like a UUID (baton's are v7: the first 48 bits are its creation
/// time in milliseconds) the derived id keeps those 48 bits and is itself a UUID v7; the other
/// 74 bits come from a 128-bit FNV-1a over instance id and counter. Derived ids therefore sort
/// with their instance, after older instances' ids: the store's trees keyed by them (external
/// and user tasks, tasks by topic, history's by-id indexes) take each new entry near where the
/// last ones went instead of anywhere in the tree, so a checkpoint touches few of sled's leaves
/// instead of one per entry. Other instance ids (tests name them `pi-1`) get all 128 bits of
/// the hash.
pub fn derive_id(instance_id: &str, seq: u64) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    for b in instance_id.bytes().chain(seq.to_be_bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    // Written into a buffer, not with `format!`: ids are derived several times per command,
    // and the two formatting passes cost ten times the hash (callgrind, issue 15).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hash = [0u8; 32];
    for (i, digit) in hash.iter_mut().enumerate() {
        *digit = HEX[((h >> (124 - 4 * i)) & 0xf) as usize];
    }
    let mut id = [b'-'; 36];
    match time_prefix(instance_id) {
        Some(time) => {
            // `time` is `xxxxxxxx-xxxx`; version 7 in the 13th digit, the RFC 9562 variant
            // (8-b) in the 17th.
            id[0..13].copy_from_slice(time.as_bytes());
            id[14] = b'7';
            id[15..18].copy_from_slice(&hash[0..3]);
            id[19] = b"89ab"[(h & 3) as usize];
            id[20..23].copy_from_slice(&hash[3..6]);
            id[24..36].copy_from_slice(&hash[6..18]);
        }
        None => {
            id[0..8].copy_from_slice(&hash[0..8]);
            id[9..13].copy_from_slice(&hash[8..12]);
            id[14..18].copy_from_slice(&hash[12..16]);
            id[19..23].copy_from_slice(&hash[16..20]);
            id[24..36].copy_from_slice(&hash[20..32]);
        }
    }
    // Only ASCII went in (hex digits, dashes, and a prefix `time_prefix` checked).
    String::from_utf8(id.to_vec()).unwrap_or_default()
}

/// The prefix `id` shares with `instance_id` when both are UUID-shaped and `id` begins with
/// the instance's first 48 bits, as every id [`derive_id`] derives from such an instance id
/// does. Whoever holds only `id` can then find its instance among the few whose ids begin the
/// same way (for baton's v7 ids: the instances created in the same millisecond); the store
/// looks up history rows by id that way instead of keeping an index entry per row.
pub fn shared_time_prefix<'a>(id: &'a str, instance_id: &str) -> Option<&'a str> {
    let prefix = id_time_prefix(id)?;
    (time_prefix(instance_id)? == prefix).then_some(prefix)
}

/// `drawn` (a fresh UUID-shaped id) given the first 48 bits of `instance_id` when that is
/// UUID-shaped too, so that [`shared_time_prefix`] holds for it as for a derived id; `drawn`
/// as it is otherwise. For records of an instance that its state does not derive (historic
/// variables).
pub fn in_time_prefix_of(drawn: String, instance_id: &str) -> String {
    match (time_prefix(instance_id), time_prefix(&drawn)) {
        (Some(prefix), Some(_)) => format!("{prefix}{}", &drawn[prefix.len()..]),
        _ => drawn,
    }
}

/// The first 48 bits of an id that is a UUID or ends in one after a colon (activity instance
/// ids are `activity:uuid`, as in Camunda), if it is or does.
pub fn id_time_prefix(id: &str) -> Option<&str> {
    let uuid = id.rsplit_once(':').map_or(id, |(_, uuid)| uuid);
    time_prefix(uuid)
}

/// The first 48 bits of a UUID-shaped id as written (`xxxxxxxx-xxxx`, lowercase hex), if it
/// is one.
fn time_prefix(id: &str) -> Option<&str> {
    let b = id.as_bytes();
    let shaped = b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) || matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    shaped.then(|| &id[0..13])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derived ids are stored (task ids, history rows): the values must never change. These
    /// were computed outside baton (FNV-1a 128 over the id's bytes and the big-endian counter).
    #[test]
    fn derived_ids_keep_their_values() {
        assert_eq!(derive_id("pi-1", 1), "65914de6-24b2-5e3f-92ff-39414f286e07");
        assert_eq!(derive_id("pi-1", 2), "65914de6-25b2-5e3f-92ff-39414f286f42");
        let v7 = "0190f5a1-2b3c-7def-8123-456789abcdef";
        assert_eq!(derive_id(v7, 1), "0190f5a1-2b3c-747d-9073-e1f7e9f504bd");
        assert_eq!(derive_id(v7, 77), "0190f5a1-2b3c-747d-9073-e1bbe9f504bd");
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derive_id("pi-1", 1);
        assert_eq!(a, derive_id("pi-1", 1));
        assert_ne!(a, derive_id("pi-1", 2));
        assert_ne!(a, derive_id("pi-2", 1));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn ids_derived_from_a_uuid_sort_with_their_instance_and_are_uuid_v7() {
        let older = "0190f5a1-2b3c-7def-8123-456789abcdef";
        let newer = "0190f5a1-2b3d-7000-9000-000000000000";
        let mut of_older: Vec<String> = (1..=200).map(|n| derive_id(older, n)).collect();
        let of_newer: Vec<String> = (1..=200).map(|n| derive_id(newer, n)).collect();
        for id in of_older.iter().chain(&of_newer) {
            let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        assert!(of_older.iter().all(|id| id.starts_with("0190f5a1-2b3c-7")));
        assert!(of_older.iter().max() < of_newer.iter().min());
        of_older.sort();
        of_older.dedup();
        assert_eq!(of_older.len(), 200, "distinct");
        // Stable: stored ids and ids computed again later (compensation) agree.
        assert_eq!(derive_id(older, 7), derive_id(older, 7));
        assert_ne!(derive_id(older, 7), derive_id(newer, 7));
    }

    #[test]
    fn a_derived_id_shares_its_instances_time_prefix_and_no_other_id_does() {
        let instance = "0190f5a1-2b3c-7def-8123-456789abcdef";
        let derived = derive_id(instance, 3);
        assert_eq!(
            shared_time_prefix(&derived, instance),
            Some("0190f5a1-2b3c")
        );
        let activity_instance = format!("task:{derived}");
        assert_eq!(
            shared_time_prefix(&activity_instance, instance),
            Some("0190f5a1-2b3c")
        );
        assert_eq!(shared_time_prefix("task:x", instance), None);
        let drawn = in_time_prefix_of("0190f5a2-0000-7123-8456-789abcdef012".into(), instance);
        assert_eq!(drawn, "0190f5a1-2b3c-7123-8456-789abcdef012");
        assert_eq!(shared_time_prefix(&drawn, instance), Some("0190f5a1-2b3c"));
        assert_eq!(in_time_prefix_of("x".into(), instance), "x");
        // A drawn id, an id of another millisecond's instance, ids of instances not shaped
        // like a UUID: their rows keep an index entry.
        assert_eq!(
            shared_time_prefix("0190f5a1-2b3d-7000-9000-000000000000", instance),
            None
        );
        assert_eq!(
            shared_time_prefix(
                &derive_id("0190f5a1-2b3d-7000-9000-000000000000", 3),
                instance
            ),
            None
        );
        assert_eq!(shared_time_prefix(&derive_id("pi-1", 3), "pi-1"), None);
        assert_eq!(shared_time_prefix("0190f5a1-2b3c", "0190f5a1-2b3c"), None);
    }

    #[test]
    fn other_instance_ids_get_the_whole_hash() {
        assert_eq!(derive_id("pi-1", 1), derive_id("pi-1", 1));
        // Uppercase or short ids are not taken for UUIDs.
        let upper = derive_id("0190F5A1-2B3C-7DEF-8123-456789ABCDEF", 1);
        assert!(!upper.starts_with("0190f5a1"));
        assert!(!derive_id("0190f5a1-2b3c", 1).starts_with("0190f5a1"));
    }
}
