//! Key layouts of every record and index, and the writers that keep a record and its index
//! entries consistent. Index entries are hints that readers verify against the record, so a
//! stale entry (e.g. after a concurrent lock) is skipped and cleaned, never trusted.

use super::keys::Key;
use super::{Tree, WriteSet};
use crate::records::{EventSubscription, EventType, ExternalTask, Job, UserTask, WASM_WORKER};

pub(crate) fn id_key(id: &str) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// An index entry `(field, record id)`: the record `id` has `field` (its instance, topic,
/// assignee, definition key, ...).
pub(crate) fn pair_key(field: &str, id: &str) -> Vec<u8> {
    Key::new().str(field).str(id).build()
}

/// The prefix of every `(field, id)` entry of one field value.
pub(crate) fn field_prefix(field: &str) -> Vec<u8> {
    Key::new().str(field).build()
}

pub(crate) fn queue_key(task: &ExternalTask) -> Vec<u8> {
    Key::new()
        .str(&task.topic_name)
        .i64_desc(task.priority)
        .i64(task.create_time)
        .str(&task.id)
        .build()
}

/// The task id inside a queue key (`topic\0`, priority, create time, `id\0`). The integers may
/// contain zero bytes, so the id is found by layout, not by searching for a separator.
pub(crate) fn queue_key_id(key: &[u8]) -> Option<String> {
    let topic_end = key.iter().position(|&b| b == 0)?;
    id_after(key, topic_end + 1 + 16)
}

/// The id inside a `(i64, id\0)` key (lock expiry and due-time indexes).
pub(crate) fn timed_key_id(key: &[u8]) -> Option<String> {
    id_after(key, 8)
}

fn id_after(key: &[u8], start: usize) -> Option<String> {
    let body = key.get(start..key.len().checked_sub(1)?)?;
    String::from_utf8(body.to_vec()).ok()
}

pub(crate) fn queue_prefix(topic: &str) -> Vec<u8> {
    Key::new().str(topic).build()
}

pub(crate) fn lock_key(expiry: i64, id: &str) -> Vec<u8> {
    Key::new().i64(expiry).str(id).build()
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn ids_are_read_back_by_layout_even_when_integers_contain_zero_bytes() {
        // 2026-01-01T01:00:00Z encodes with zero bytes in its big-endian form.
        let due = 1_767_229_200_000;
        assert_eq!(
            timed_key_id(&job_due_key(due, "job-1")).as_deref(),
            Some("job-1")
        );
        assert_eq!(timed_key_id(&lock_key(due, "t-9")).as_deref(), Some("t-9"));
        let task = crate::records::ExternalTask {
            id: "task-7".into(),
            topic_name: "check-stock".into(),
            worker_id: None,
            lock_expiration_time: None,
            retries: None,
            error_message: None,
            error_details: None,
            priority: 0,
            suspended: false,
            create_time: due,
            activity_id: "a".into(),
            activity_instance_id: "a:1".into(),
            execution_id: "e".into(),
            process_instance_id: "p".into(),
            process_definition_id: "d".into(),
            process_definition_key: "k".into(),
            process_definition_version_tag: None,
            business_key: None,
            tenant_id: None,
            retry_time_cycle: None,
            extension_properties: Default::default(),
            module_sha256: None,
        };
        assert_eq!(queue_key_id(&queue_key(&task)).as_deref(), Some("task-7"));
    }
}

pub(crate) fn job_due_key(due: i64, id: &str) -> Vec<u8> {
    Key::new().i64(due).str(id).build()
}

pub(crate) fn subscription_name_key(kind: EventType, name: &str, id: &str) -> Vec<u8> {
    Key::new()
        .str(event_type_str(kind))
        .str(name)
        .str(id)
        .build()
}

pub(crate) fn subscription_name_prefix(kind: EventType, name: &str) -> Vec<u8> {
    Key::new().str(event_type_str(kind)).str(name).build()
}

fn event_type_str(kind: EventType) -> &'static str {
    match kind {
        EventType::Message => "message",
        EventType::Signal => "signal",
    }
}

pub(crate) fn definition_version_key(key: &str, tenant: Option<&str>, version: i32) -> Vec<u8> {
    Key::new()
        .str(key)
        .str(tenant.unwrap_or(""))
        .i64(i64::from(version))
        .build()
}

pub(crate) fn definition_key_prefix(key: &str, tenant: Option<&str>) -> Vec<u8> {
    Key::new().str(key).str(tenant.unwrap_or("")).build()
}

pub(crate) fn historic_activity_key(instance_id: &str, activity_instance_id: &str) -> Vec<u8> {
    Key::new()
        .str(instance_id)
        .str(activity_instance_id)
        .build()
}

pub(crate) fn historic_variable_key(instance_id: &str, scope_id: &str, name: &str) -> Vec<u8> {
    Key::new().str(instance_id).str(scope_id).str(name).build()
}

/// `kind, id` of a history log entry (ids are UUID v7: key order is creation order).
pub(crate) fn history_log_key(kind: crate::records::HistoryLogKind, id: &str) -> Vec<u8> {
    Key::new().str(kind.as_str()).str(id).build()
}

/// The key range of one kind of history log entries.
pub(crate) fn history_log_prefix(kind: crate::records::HistoryLogKind) -> Vec<u8> {
    Key::new().str(kind.as_str()).build()
}

/// `instance id, kind, id`: the history log entries of a process instance.
pub(crate) fn history_log_instance_key(
    instance_id: &str,
    kind: crate::records::HistoryLogKind,
    id: &str,
) -> Vec<u8> {
    Key::new()
        .str(instance_id)
        .str(kind.as_str())
        .str(id)
        .build()
}

/// `interval start, name` (metrics, task workers): a time range is one range scan.
pub(crate) fn interval_key(interval: i64, name: &str) -> Vec<u8> {
    Key::new().i64(interval).str(name).build()
}

/// The first key of an interval (a range bound for [`interval_key`]s).
pub(crate) fn interval_bound(interval: i64) -> Vec<u8> {
    Key::new().i64(interval).build()
}

/// Decode an [`interval_key`]: the 8 interval bytes, then the name up to its separator.
pub(crate) fn split_interval_key(key: &[u8]) -> Option<(i64, String)> {
    let interval = super::keys::from_ord_i64(key)?;
    let name = key.get(8..)?.strip_suffix(&[0])?;
    Some((interval, String::from_utf8(name.to_vec()).ok()?))
}

pub(crate) fn deployment_module_key(deployment_id: &str, topic: &str) -> Vec<u8> {
    Key::new().str(deployment_id).str(topic).build()
}

/// Where an external task belongs in the fetch indexes at time `now`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Fetchable now.
    Queue,
    /// Locked until the given time; returns to the queue then.
    Locked(i64),
    /// Not fetchable by remote workers (wasm-owned, no retries left, suspended).
    Nowhere,
}

pub(crate) fn placement(task: &ExternalTask, now: i64) -> Placement {
    if task.is_wasm_owned() || task.retries == Some(0) || task.suspended {
        return Placement::Nowhere;
    }
    match task.lock_expiration_time {
        Some(exp) if exp > now => Placement::Locked(exp),
        _ => Placement::Queue,
    }
}

/// Write an external task and its index entries (replacing those of `old`).
pub(crate) fn put_external_task(
    ws: &mut WriteSet,
    new: &ExternalTask,
    old: Option<&ExternalTask>,
    now: i64,
) {
    if let Some(old) = old {
        remove_external_task_indexes(ws, old);
    }
    ws.put(Tree::ExternalTasks, id_key(&new.id), new);
    let wasm_owned = |t: &ExternalTask| t.worker_id.as_deref() == Some(WASM_WORKER);
    if wasm_owned(new) {
        ws.index(Tree::WasmTasks, id_key(&new.id));
    } else if old.is_some_and(wasm_owned) {
        ws.delete(Tree::WasmTasks, id_key(&new.id));
    }
    if old.is_none() {
        // The topic of a task never changes: indexed once, at creation. Its instance needs no
        // index: the instance record names the task ([`external_tasks_of_instance`]).
        ws.index(
            Tree::ExternalTasksByTopic,
            pair_key(&new.topic_name, &new.id),
        );
    }
    match placement(new, now) {
        Placement::Queue => ws.index(Tree::ExternalTaskQueue, queue_key(new)),
        Placement::Locked(exp) => ws.index(Tree::ExternalTaskLocks, lock_key(exp, &new.id)),
        Placement::Nowhere => {}
    }
}

fn remove_external_task_indexes(ws: &mut WriteSet, old: &ExternalTask) {
    ws.delete(Tree::ExternalTaskQueue, queue_key(old));
    if let Some(exp) = old.lock_expiration_time {
        ws.delete(Tree::ExternalTaskLocks, lock_key(exp, &old.id));
    }
}

/// Remove an external task and its index entries.
pub(crate) fn delete_external_task(ws: &mut WriteSet, old: &ExternalTask) {
    remove_external_task_indexes(ws, old);
    ws.delete(Tree::ExternalTasks, id_key(&old.id));
    ws.delete(
        Tree::ExternalTasksByTopic,
        pair_key(&old.topic_name, &old.id),
    );
    // Only a task the wasm runtime owns has an entry ([`put_external_task`] keeps it so): a
    // removal of a key nobody wrote still cost a log entry and a lookup in sled.
    if old.is_wasm_owned() {
        ws.delete(Tree::WasmTasks, id_key(&old.id));
    }
}

/// Write a user task and its index entries (replacing those of `old`, the task as it was).
pub(crate) fn put_user_task(ws: &mut WriteSet, task: &UserTask, old: Option<&UserTask>) {
    if let Some(old) = old {
        remove_user_task_people(ws, old);
    }
    ws.put(Tree::UserTasks, id_key(&task.id), task);
    ws.index(
        Tree::UserTasksByInstance,
        pair_key(&task.process_instance_id, &task.id),
    );
    if let Some(a) = &task.assignee {
        ws.index(Tree::UserTasksByAssignee, pair_key(a, &task.id));
    }
    // A candidate group query means "unassigned tasks offered to the group" (Camunda's
    // semantics without includeAssignedTasks), so only unassigned tasks are listed.
    if task.assignee.is_none() {
        for g in &task.candidate_groups {
            ws.index(Tree::UserTasksByCandidateGroup, pair_key(g, &task.id));
        }
    }
}

fn remove_user_task_people(ws: &mut WriteSet, task: &UserTask) {
    if let Some(a) = &task.assignee {
        ws.delete(Tree::UserTasksByAssignee, pair_key(a, &task.id));
    }
    for g in &task.candidate_groups {
        ws.delete(Tree::UserTasksByCandidateGroup, pair_key(g, &task.id));
    }
}

/// Remove a user task.
pub(crate) fn delete_user_task(ws: &mut WriteSet, task: &UserTask) {
    ws.delete(Tree::UserTasks, id_key(&task.id));
    ws.delete(
        Tree::UserTasksByInstance,
        pair_key(&task.process_instance_id, &task.id),
    );
    remove_user_task_people(ws, task);
}

/// Write a job and its due index (replacing `old`'s).
pub(crate) fn put_job(ws: &mut WriteSet, job: &Job, old: Option<&Job>) {
    if let Some(old) = old {
        ws.delete(Tree::JobsDue, job_due_key(old.due, &old.id));
    }
    ws.put(Tree::Jobs, id_key(&job.id), job);
    // A suspended job has no due entry, so the scheduler never meets it.
    if !job.suspended {
        ws.index(Tree::JobsDue, job_due_key(job.due, &job.id));
    }
    if let Some(pi) = &job.process_instance_id {
        ws.index(Tree::JobsByInstance, pair_key(pi, &job.id));
    }
}

/// Remove a job.
pub(crate) fn delete_job(ws: &mut WriteSet, job: &Job) {
    ws.delete(Tree::Jobs, id_key(&job.id));
    ws.delete(Tree::JobsDue, job_due_key(job.due, &job.id));
    if let Some(pi) = &job.process_instance_id {
        ws.delete(Tree::JobsByInstance, pair_key(pi, &job.id));
    }
}

/// Write a subscription and its indexes.
pub(crate) fn put_subscription(ws: &mut WriteSet, sub: &EventSubscription) {
    ws.put(Tree::Subscriptions, id_key(&sub.id), sub);
    ws.index(
        Tree::SubscriptionsByName,
        subscription_name_key(sub.event_type, &sub.event_name, &sub.id),
    );
    ws.index(
        Tree::SubscriptionsByInstance,
        pair_key(&sub.process_instance_id, &sub.id),
    );
}

/// Remove a subscription.
pub(crate) fn delete_subscription(ws: &mut WriteSet, sub: &EventSubscription) {
    ws.delete(Tree::Subscriptions, id_key(&sub.id));
    ws.delete(
        Tree::SubscriptionsByName,
        subscription_name_key(sub.event_type, &sub.event_name, &sub.id),
    );
    ws.delete(
        Tree::SubscriptionsByInstance,
        pair_key(&sub.process_instance_id, &sub.id),
    );
}

/// The records of one kind an instance owns, found through their by-instance index
/// (`by_instance`: instance id, record id) and read from `records`. Stale index entries (no
/// record) are passed over.
pub(crate) fn owned_by_instance<T: serde::de::DeserializeOwned>(
    store: &super::Store,
    by_instance: Tree,
    records: Tree,
    instance_id: &str,
) -> super::Result<Vec<T>> {
    let mut out = Vec::new();
    for key in store.scan_keys(by_instance, &field_prefix(instance_id), usize::MAX)? {
        if let Some(id) = super::keys::last_str(&key)
            && let Some(record) = store.get::<T>(records, &id_key(&id))?
        {
            out.push(record);
        }
    }
    Ok(out)
}

/// The external tasks of a running instance, in task id order, found through its record: every
/// external task is created and removed in the write set that sets or clears the wait of its
/// activity instance, so the stored record names every stored task of its instance. (Before
/// store format 5 a by-instance index did this, one more key per task on every step.) A task
/// the record names that is gone (a concurrent completion) is passed over.
pub(crate) fn external_tasks_of_instance(
    store: &super::Store,
    instance_id: &str,
) -> super::Result<Vec<ExternalTask>> {
    match store.get::<crate::records::ProcessInstance>(Tree::Instances, &id_key(instance_id))? {
        Some(instance) => external_tasks_waited_for(store, &instance.state, &|_| false),
        None => Ok(Vec::new()),
    }
}

/// The stored external tasks `state`'s waits name, in id order, except those `skip` names
/// (not read at all).
fn external_tasks_waited_for(
    store: &super::Store,
    state: &baton_bpmn::engine::InstanceState,
    skip: &dyn Fn(&str) -> bool,
) -> super::Result<Vec<ExternalTask>> {
    use baton_bpmn::engine::Wait;
    let instance_id = state.id.as_str();
    let mut ids: Vec<&str> = state
        .activity_instances
        .values()
        .filter_map(|ai| match &ai.wait {
            Some(Wait::ExternalTask { task_id, .. }) => Some(task_id.as_str()),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.into_iter().filter(|id| !skip(id)) {
        if let Some(task) = store.get::<ExternalTask>(Tree::ExternalTasks, &id_key(id))?
            && task.process_instance_id == instance_id
        {
            out.push(task);
        }
    }
    Ok(out)
}

/// Stage the deletion of every task, job and subscription an instance still owns in the store
/// (with their index entries); external tasks `skip_external` names are left to the caller.
pub(crate) fn delete_instance_records(
    store: &super::Store,
    ws: &mut WriteSet,
    instance_id: &str,
    stored: &baton_bpmn::engine::InstanceState,
    skip_external: &dyn Fn(&str) -> bool,
) -> super::Result<()> {
    use Tree::*;
    let id = instance_id;
    let skip = |task_id: &str| {
        skip_external(task_id) || ws.deletes(ExternalTasks, id_key(task_id).as_slice())
    };
    for t in external_tasks_waited_for(store, stored, &skip)? {
        delete_external_task(ws, &t);
    }
    for t in owned_by_instance(store, UserTasksByInstance, UserTasks, id)? {
        delete_user_task(ws, &t);
    }
    for j in owned_by_instance(store, JobsByInstance, Jobs, id)? {
        delete_job(ws, &j);
    }
    for s in owned_by_instance(store, SubscriptionsByInstance, Subscriptions, id)? {
        delete_subscription(ws, &s);
    }
    Ok(())
}

/// Meta key marking that the secondary indexes added after the first release (instances by
/// definition and business key, historic instances by definition key, historic activities
/// and variables by id, external tasks by topic, the wasm tasks in flight, user tasks by
/// assignee and candidate group)
/// cover every record. Building them again is harmless (index writes are idempotent).
pub(super) const INDEXES_BUILT: &[u8] = b"indexes_v4";

impl super::Store {
    /// Build the newer secondary indexes once, for a store written before they existed.
    pub(super) fn ensure_indexes(&self) -> super::Result<()> {
        use crate::records::{HistoricProcessInstance, ProcessInstance};
        if self.contains(Tree::Meta, INDEXES_BUILT)? {
            return Ok(());
        }
        let mut ws = WriteSet::new();
        for pi in self.scan::<ProcessInstance>(Tree::Instances, b"")? {
            super::instances::stage_index_entries(&mut ws, &pi);
        }
        for h in self.scan::<HistoricProcessInstance>(Tree::HistoricInstances, b"")? {
            ws.index(
                Tree::HistoricInstancesByDefinitionKey,
                pair_key(&h.process_definition_key, &h.id),
            );
        }
        for key in self.scan_keys(Tree::HistoricActivities, b"", usize::MAX)? {
            if let Some(id) = super::keys::last_str(&key) {
                ws.put_raw(Tree::HistoricActivitiesById, id_key(&id), key);
            }
        }
        for (key, raw) in self.scan_raw(Tree::HistoricVariables, b"")? {
            let v: crate::records::HistoricVariableInstance =
                super::codec::decode("historic_variables", &raw)?;
            ws.put_raw(Tree::HistoricVariablesById, id_key(&v.id), key);
        }
        for t in self.scan::<ExternalTask>(Tree::ExternalTasks, b"")? {
            ws.index(Tree::ExternalTasksByTopic, pair_key(&t.topic_name, &t.id));
            if t.worker_id.as_deref() == Some(WASM_WORKER) {
                ws.index(Tree::WasmTasks, id_key(&t.id));
            }
        }
        for t in self.scan::<UserTask>(Tree::UserTasks, b"")? {
            put_user_task(&mut ws, &t, None);
        }
        ws.put_raw(Tree::Meta, INDEXES_BUILT.to_vec(), Vec::new());
        self.commit(&ws)
    }
}
