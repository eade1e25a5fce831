//! The executor: apply a command to one instance through the pure state machine, turn the
//! effects into records (tasks, jobs, subscriptions, history, outbox) in the same write set as
//! the new instance state, commit, and only then perform what lies outside the store (wake
//! workers and the scheduler, run wasm tasks, start/notify other instances, emit events).

use super::core::Deployed;
use super::events::EngineEvent;
use super::translation::Translation;
use super::types::conflict;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{HistoricProcessInstance, ProcessInstance};
use crate::store::{HistoryStore, InstanceStore, OutboxStore, WriteSet};
use baton_bpmn::engine::{
    ApplyOptions, CallBinding, Command, Effect, EngineError, HistoryEvent, InstanceState,
    SuperInstance, ThrownKind, UncaughtErrors,
};
use baton_bpmn::{StateMachine, Variables};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a command did.
pub(crate) struct Outcome {
    /// The instance after the command (also when it ended).
    pub(crate) instance: ProcessInstance,
    /// Whether the instance ended.
    pub(crate) ended: bool,
}

/// Work to perform once a command's writes are committed.
#[derive(Default)]
pub(crate) struct AfterCommit {
    pub(crate) events: Vec<EngineEvent>,
    pub(crate) tasks_available: bool,
    pub(crate) wake_scheduler: bool,
    pub(crate) wasm_tasks: Vec<String>,
    pub(crate) outbox: Vec<u64>,
    /// A notification event was staged: wake the notification loop.
    pub(crate) notify: bool,
    /// Usage metrics the command produced beyond its events (see `usage_metrics`).
    pub(crate) meters: Vec<(&'static str, u64)>,
    /// New tasks locked for parked polls, handed over once the command is durable.
    pub(crate) hand_offs: Vec<super::parked::Promise>,
}

/// A cross-instance effect, stored in the same write set as the command that caused it and
/// performed after commit (again after a restart if the engine died before).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OutboxEntry {
    StartChild {
        parent_instance_id: String,
        parent_definition_id: String,
        activity_instance_id: String,
        activity_id: String,
        child_instance_id: String,
        process_key: String,
        binding: CallBinding,
        business_key: Option<String>,
        variables: Variables,
        tenant_id: Option<String>,
    },
    ChildCompleted {
        parent_instance_id: String,
        activity_instance_id: String,
        variables: Variables,
    },
    CancelChild {
        child_instance_id: String,
    },
    Signal {
        name: String,
        variables: Variables,
    },
    /// An error or escalation a child instance did not catch, for its caller (appended, so
    /// entries stored by older releases still decode).
    ThrowToCaller {
        parent_instance_id: String,
        activity_instance_id: String,
        child_instance_id: String,
        kind: ThrownKind,
        code: String,
        message: Option<String>,
    },
}

/// Map a state-machine refusal to the service error Camunda would give.
pub(crate) fn engine_error(e: EngineError) -> ProcessEngineError {
    match e {
        EngineError::InstanceEnded(id) => {
            ProcessEngineError::NotFound(format!("Process instance with id {id} does not exist"))
        }
        EngineError::NotValid(m) => ProcessEngineError::NotValid(m),
        e @ EngineError::UnhandledError { .. } => {
            ProcessEngineError::UnhandledBpmnError(e.to_string())
        }
        other => ProcessEngineError::Engine(other.to_string()),
    }
}

/// The id a new instance starts under.
#[derive(Debug, Clone)]
pub(crate) enum StartId {
    /// A new one ([`super::core::new_id`]): no instance has it, so the start does not look
    /// for one (two store lookups that miss, on every start request).
    Fresh,
    /// One worked out before (a call activity's child, a restart of a batch): the start may
    /// be a retry, so an instance that has it or had it is not started again.
    Given(String),
}

/// Where a new instance starts.
#[derive(Debug, Clone)]
pub(crate) enum InstanceStart {
    /// At a start event (`None`: the process's none start event).
    Event(Option<String>),
    /// At activities (Camunda's restart): the instance scope, then these start
    /// instructions ([`Command::StartAt`]).
    Activities {
        /// Where tokens start.
        instructions: Vec<baton_bpmn::engine::ModificationInstruction>,
        /// `skipCustomListeners`.
        skip_custom_listeners: bool,
        /// `skipIoMappings`.
        skip_io_mappings: bool,
    },
}

impl ProcessEngine {
    /// Apply `command` to a running instance, committing `extra` writes with it.
    pub(crate) async fn run_command(
        &self,
        instance_id: &str,
        command: Command,
        extra: WriteSet,
        mut after: AfterCommit,
    ) -> Result<Outcome> {
        let guard = self.lock_instance(instance_id).await?;
        let record: ProcessInstance =
            self.inner
                .store
                .running_instance(instance_id)?
                .ok_or_else(|| {
                    ProcessEngineError::NotFound(format!(
                        "Process instance with id {instance_id} does not exist"
                    ))
                })?;
        let outcome = self
            .apply_and_commit(record, command, extra, &mut after, false)
            .await?;
        drop(guard);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(outcome)
    }

    /// Create and start a new instance under `id` (idempotent for a given id: an id that
    /// exists or existed is not started again).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_new_instance(
        &self,
        deployed: Arc<Deployed>,
        id: StartId,
        business_key: Option<String>,
        super_instance: Option<SuperInstance>,
        variables: Variables,
        start: InstanceStart,
        initiator: Option<String>,
    ) -> Result<Outcome> {
        let (instance_id, fresh) = match id {
            StartId::Fresh => (super::core::new_id(), true),
            StartId::Given(id) => (id, false),
        };
        let guard = self.lock_instance(&instance_id).await?;
        if !fresh {
            if let Some(existing) = self.inner.store.running_instance(&instance_id)? {
                return Ok(Outcome {
                    instance: existing,
                    ended: false,
                });
            }
            if self.inner.store.historic_instance_exists(&instance_id)? {
                return Err(ProcessEngineError::Engine(format!(
                    "process instance {instance_id} already existed"
                )));
            }
        }
        let state = InstanceState::new(
            instance_id.clone(),
            deployed.record.key.clone(),
            business_key.clone(),
            super_instance,
        );
        let record = ProcessInstance {
            definition_id: deployed.record.id.clone(),
            definition_key: deployed.record.key.clone(),
            suspended: false,
            tenant_id: deployed.record.tenant_id.clone(),
            state,
        };
        let mut after = AfterCommit::default();
        if record.state.super_instance.is_none() {
            after
                .meters
                .push((super::usage_metrics::names::ROOT_PROCESS_INSTANCE_START, 1));
        }
        after.events.push(EngineEvent::InstanceStarted {
            process_instance_id: instance_id.clone(),
            process_definition_id: deployed.record.id.clone(),
            business_key,
        });
        let outcome = self
            .apply_and_commit(
                record,
                match start {
                    InstanceStart::Event(start_activity_id) => Command::Start {
                        variables,
                        start_activity_id,
                        initiator: initiator.clone(),
                    },
                    InstanceStart::Activities {
                        instructions,
                        skip_custom_listeners,
                        skip_io_mappings,
                    } => Command::StartAt {
                        variables,
                        instructions,
                        skip_custom_listeners,
                        skip_io_mappings,
                    },
                },
                WriteSet::new(),
                &mut after,
                true,
            )
            .await?;
        drop(guard);
        self.inner
            .metrics
            .instances_started
            .fetch_add(1, Ordering::Relaxed);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(outcome)
    }

    /// Apply `command` to `record` and commit the new state with everything its effects
    /// write, in the committer's next batch. The caller holds the instance lock until this
    /// returns, so the next command on the instance reads this one's state.
    async fn apply_and_commit(
        &self,
        mut record: ProcessInstance,
        command: Command,
        extra: WriteSet,
        after: &mut AfterCommit,
        is_new: bool,
    ) -> Result<Outcome> {
        let deployed = self.deployed_sync(&record.definition_id)?;
        let now = self.now();
        let initiator = match &command {
            Command::Start { initiator, .. } => initiator.clone(),
            _ => None,
        };
        let mut state = record.state.clone();
        let decisions = super::decisions::HostDecisions {
            engine: self,
            deployment_id: &deployed.record.deployment_id,
            tenant_id: deployed.record.tenant_id.as_deref(),
        };
        let mut effects = StateMachine::apply_in(
            &deployed.process,
            &mut state,
            command,
            now,
            self.apply_options(),
            self.script_env(&record.definition_id, &decisions),
        )
        .map_err(engine_error)?;
        let inline = self
            .run_tasks_inline(
                &deployed,
                &decisions,
                record.suspended,
                &mut state,
                &mut effects,
                now,
            )
            .await;
        // The state as stored before this command (nothing is stored for a new instance):
        // at the instance's end it names the tasks the store still holds.
        let stored = std::mem::replace(&mut record.state, state);
        let stored = (!is_new).then_some(&stored);
        let mut ws = extra;
        let mut tx = Translation::new(self, &deployed, &record, now, is_new);
        tx.inline = inline;
        if is_new && self.history_level().keeps_activities() {
            let started = |start_events_only: bool| {
                effects.iter().find_map(|e| match e {
                    Effect::History(HistoryEvent::ActivityStarted {
                        activity_id,
                        activity_type,
                        ..
                    }) if !start_events_only
                        || activity_type.to_ascii_lowercase().contains("start") =>
                    {
                        Some(activity_id.clone())
                    }
                    _ => None,
                })
            };
            // An instance started at activities (a restart) has no start event: Camunda
            // names the first activity it started.
            let start_activity_id = started(true).or_else(|| started(false));
            tx.historic_instance = Some(HistoricProcessInstance {
                id: record.state.id.clone(),
                business_key: record.state.business_key.clone(),
                process_definition_id: deployed.record.id.clone(),
                process_definition_key: deployed.record.key.clone(),
                process_definition_name: deployed.record.name.clone(),
                process_definition_version: deployed.record.version,
                start_time: now,
                end_time: None,
                start_user_id: initiator,
                start_activity_id,
                delete_reason: None,
                super_process_instance_id: record
                    .state
                    .super_instance
                    .as_ref()
                    .map(|s| s.process_instance_id.clone()),
                root_process_instance_id: self.root_instance_id(&record),
                tenant_id: record.tenant_id.clone(),
                state: "ACTIVE".to_owned(),
                removal_time: None,
            });
        }
        for effect in &effects {
            tx.apply(effect, &mut ws, after)?;
        }
        let ended = !record.state.is_active();
        if ended {
            tx.end_instance(&mut ws, stored, after)?;
            // An instance that ends in the command that started it was never written: its
            // removal would only log deletions of keys nobody wrote.
            if stored.is_some() {
                self.inner.store.stage_instance_end(&mut ws, &record);
            }
        } else {
            self.inner.store.stage_instance(&mut ws, &record, is_new);
        }
        tx.finish(&mut ws, after);
        // Both callers sync before they release the outcome to anyone.
        ws.awaits_sync();
        let committed = if self.inner.config.batched_commits {
            self.inner.store.commit_batched(ws).await
        } else {
            self.inner.store.commit(&ws)
        };
        committed.map_err(|e| conflict(e, &format!("Process instance {}", record.state.id)))?;
        Ok(Outcome {
            instance: record,
            ended,
        })
    }

    /// The engine settings the state machine runs under.
    pub(crate) fn apply_options(&self) -> ApplyOptions {
        ApplyOptions {
            uncaught_errors: if self.inner.config.incident_on_unhandled_bpmn_error {
                UncaughtErrors::Fail
            } else {
                UncaughtErrors::EndExecution
            },
        }
    }

    /// Deliver an error or escalation a child instance did not catch to the call activity
    /// waiting for it. An error nobody catches there either: under Camunda's default the
    /// child already ended the throwing execution and the call activity keeps waiting; with
    /// `incident_on_unhandled_bpmn_error` the call activity gets an incident.
    async fn throw_to_caller(
        &self,
        parent_instance_id: &str,
        activity_instance_id: &str,
        child_instance_id: String,
        kind: ThrownKind,
        code: String,
        message: Option<String>,
    ) -> Result<()> {
        let command = match kind {
            ThrownKind::Error => Command::ThrowError {
                task_id: child_instance_id,
                code,
                message,
                variables: Variables::new(),
            },
            ThrownKind::Escalation => Command::ChildEscalation {
                child_instance_id,
                code,
            },
        };
        let result = self
            .run_command(
                parent_instance_id,
                command,
                WriteSet::new(),
                AfterCommit::default(),
            )
            .await;
        match result {
            Ok(_) | Err(ProcessEngineError::NotFound(_)) => Ok(()),
            Err(ProcessEngineError::UnhandledBpmnError(text)) => {
                let activity_id = self
                    .inner
                    .store
                    .running_instance(parent_instance_id)?
                    .and_then(|p| {
                        p.state
                            .activity_instances
                            .get(activity_instance_id)
                            .map(|a| a.activity_id.clone())
                    })
                    .unwrap_or_default();
                self.raise_instance_incident(
                    parent_instance_id,
                    activity_instance_id,
                    &activity_id,
                    crate::records::IncidentType::UnhandledBpmnError,
                    text,
                    None,
                )
                .await
            }
            Err(e) => Err(e),
        }
    }

    fn root_instance_id(&self, record: &ProcessInstance) -> String {
        let mut current = record.state.super_instance.clone();
        let mut root = record.state.id.clone();
        // Bounded walk: a call hierarchy deeper than this is a modelling loop.
        for _ in 0..64 {
            let Some(sup) = current else { break };
            root = sup.process_instance_id.clone();
            current = self
                .inner
                .store
                .running_instance(&sup.process_instance_id)
                .ok()
                .flatten()
                .and_then(|p| p.state.super_instance);
        }
        root
    }

    /// Perform what lies outside the store, after the commit.
    pub(crate) fn after_commit(
        &self,
        after: AfterCommit,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            for promise in after.hand_offs {
                if let Some(task) = promise.deliver() {
                    self.release_lost_lock(task);
                }
            }
            for (name, n) in after.meters {
                self.meter(name, n);
            }
            for event in after.events {
                self.emit(event);
            }
            // Written by the first commit a minute after the last write, off this request.
            if self.claim_metrics_flush() {
                let me = self.clone();
                tokio::spawn(async move { me.flush_metrics_logged().await });
            }
            if after.tasks_available {
                self.inner.task_available.notify_waiters();
            }
            if after.wake_scheduler {
                self.inner.scheduler_wake.notify_one();
            }
            if !after.wasm_tasks.is_empty() {
                for task_id in after.wasm_tasks {
                    let me = self.clone();
                    tokio::spawn(async move { me.run_wasm_task(task_id).await });
                }
            }
            if after.notify {
                self.wake_notifications();
            }
            for seq in after.outbox {
                self.process_outbox_entry(seq).await;
            }
        })
    }

    /// Perform one outbox entry and remove it.
    pub(crate) fn process_outbox_entry(
        &self,
        seq: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let entry: OutboxEntry = match self.inner.store.outbox_entry(seq) {
                Ok(Some(e)) => e,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!("outbox entry {seq} unreadable: {e}");
                    return;
                }
            };
            if let Err(e) = self.perform_outbox_entry(entry).await {
                tracing::warn!("outbox entry {seq} failed: {e}");
            }
            let mut ws = WriteSet::new();
            self.inner.store.stage_outbox_done(&mut ws, seq);
            if let Err(e) = self.inner.store.commit(&ws) {
                tracing::error!("cannot remove outbox entry {seq}: {e}");
            }
        })
    }

    async fn perform_outbox_entry(&self, entry: OutboxEntry) -> Result<()> {
        match entry {
            OutboxEntry::StartChild {
                parent_instance_id,
                parent_definition_id,
                activity_instance_id,
                activity_id,
                child_instance_id,
                process_key,
                binding,
                business_key,
                variables,
                tenant_id,
            } => {
                let resolved = self
                    .resolve_called_definition(
                        &process_key,
                        &binding,
                        &parent_definition_id,
                        tenant_id.as_deref(),
                    )
                    .await;
                // A child that cannot start (no such definition, an expression, a gateway
                // with no flow, ...) stored nothing, so the caller must not wait for it in
                // silence: the call activity gets an incident.
                let started = match resolved {
                    Ok(deployed) => self
                        .start_new_instance(
                            deployed,
                            StartId::Given(child_instance_id),
                            business_key,
                            Some(SuperInstance {
                                process_instance_id: parent_instance_id.clone(),
                                activity_instance_id: activity_instance_id.clone(),
                            }),
                            variables,
                            InstanceStart::Event(None),
                            None,
                        )
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = started {
                    self.raise_instance_incident(
                        &parent_instance_id,
                        &activity_instance_id,
                        &activity_id,
                        crate::records::IncidentType::FailedJob,
                        format!("call activity cannot start process '{process_key}': {e}"),
                        None,
                    )
                    .await?;
                }
                Ok(())
            }
            OutboxEntry::ChildCompleted {
                parent_instance_id,
                activity_instance_id,
                variables,
            } => {
                let result = self
                    .run_command(
                        &parent_instance_id,
                        Command::ChildCompleted {
                            activity_instance_id,
                            variables,
                        },
                        WriteSet::new(),
                        AfterCommit::default(),
                    )
                    .await;
                match result {
                    Ok(_) | Err(ProcessEngineError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            OutboxEntry::CancelChild { child_instance_id } => {
                match self
                    .cancel_instance(&child_instance_id, Some("call activity canceled".into()))
                    .await
                {
                    Ok(()) | Err(ProcessEngineError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            OutboxEntry::Signal { name, variables } => {
                self.deliver_signal(&name, variables, None).await
            }
            OutboxEntry::ThrowToCaller {
                parent_instance_id,
                activity_instance_id,
                child_instance_id,
                kind,
                code,
                message,
            } => {
                self.throw_to_caller(
                    &parent_instance_id,
                    &activity_instance_id,
                    child_instance_id,
                    kind,
                    code,
                    message,
                )
                .await
            }
        }
    }
}
