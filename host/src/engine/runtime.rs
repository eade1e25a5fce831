//! Instances, variables, user tasks, message correlation and signals, incidents, history and
//! identity: the service operations that are not deployments or external tasks.

use baton_bpmn::Variables;
use baton_bpmn::engine::Command;
use baton_bpmn::model::{EventTrigger, NodeKind};
use sha2::{Digest, Sha256};

use super::core::{EngineEvent, Inner, new_id};
use super::executor::AfterCommit;
use super::index;
use super::{
    CorrelateRequest, CorrelationResult, DefinitionRef, ProcessEngineError, Result, StartRequest,
    StartResult,
};
use crate::records::{
    EventSubscription, EventType, ExternalTask, Group, HistoricActivityInstance,
    HistoricProcessInstance, HistoricVariableInstance, Incident, IncidentType, ProcessDefinition,
    ProcessInstance, User, UserOperation, UserTask,
};
use crate::store::keys::last_str;
use crate::store::{StoreError, Tree, WriteSet};

fn hash_password(salt: &str, password: &str) -> String {
    let digest = Sha256::digest(format!("{salt}:{password}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{salt}:{hex}")
}

fn conflict(e: StoreError, what: &str) -> ProcessEngineError {
    match e {
        StoreError::Conflict => {
            ProcessEngineError::Engine(format!("{what} was changed concurrently; try again"))
        }
        other => other.into(),
    }
}

impl Inner {
    // -------------------------------------------------------------- starting

    pub(super) async fn start_instance(
        &self,
        definition: DefinitionRef,
        request: StartRequest,
    ) -> Result<StartResult> {
        let record: ProcessDefinition = match &definition {
            DefinitionRef::Id(id) => self.definition(id).await?,
            DefinitionRef::Key { key, tenant_id } => {
                self.latest_definition(key, tenant_id.as_deref()).await?
            }
        };
        if record.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot instantiate process definition {}: Process definition {} is suspended",
                record.id, record.id
            )));
        }
        let deployed = self.deployed_sync(&record.id)?;
        if let Some(business_key) = &request.business_key
            && business_key.contains('\0')
        {
            return Err(ProcessEngineError::BadRequest(
                "businessKey must not contain NUL".into(),
            ));
        }
        let outcome = self
            .start_new_instance(
                deployed,
                new_id(),
                request.business_key,
                None,
                request.variables,
                request.start_activity_id,
                request.initiator,
            )
            .await
            .map_err(|e| match e {
                ProcessEngineError::Engine(m) => ProcessEngineError::Engine(format!(
                    "Cannot instantiate process definition {}: {m}",
                    record.id
                )),
                ProcessEngineError::UnhandledBpmnError(m) => ProcessEngineError::Engine(format!(
                    "Cannot instantiate process definition {}: {m}",
                    record.id
                )),
                other => other,
            })?;
        Ok(StartResult {
            ended: outcome.ended,
            instance: outcome.instance,
        })
    }

    // -------------------------------------------------------------- instances

    pub(super) async fn instances(&self) -> Result<Vec<ProcessInstance>> {
        Ok(self.store.scan(Tree::Instances, b"")?)
    }

    pub(super) async fn instance(&self, id: &str) -> Result<ProcessInstance> {
        self.store
            .get(Tree::Instances, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Process instance with id {id} does not exist"
                ))
            })
    }

    pub(super) async fn delete_instance(&self, id: &str, reason: Option<String>) -> Result<()> {
        let mut log = WriteSet::new();
        self.user_operation(&mut log, "Delete", "ProcessInstance", id, Some(id), None);
        self.run_command(id, Command::Cancel { reason }, log, AfterCommit::default())
            .await
            .map(|_| ())
    }

    pub(super) async fn set_instance_suspended(&self, id: &str, suspended: bool) -> Result<()> {
        let guard = self.lock_instance(id).await;
        let mut record = self.instance(id).await?;
        if record.suspended == suspended {
            return Ok(());
        }
        record.suspended = suspended;
        let now = self.now();
        let mut ws = WriteSet::new();
        ws.put(Tree::Instances, index::id_key(id), &record);
        // The history shows SUSPENDED as Camunda's does, written with the suspension so that
        // history reads never have to consult the running instances.
        if let Some(mut h) = self
            .store
            .get::<HistoricProcessInstance>(Tree::HistoricInstances, &index::id_key(id))?
            && h.end_time.is_none()
        {
            h.state = if suspended { "SUSPENDED" } else { "ACTIVE" }.to_owned();
            ws.put(Tree::HistoricInstances, index::id_key(id), &h);
        }
        let mut wasm_to_run = Vec::new();
        for key in self.store.scan_keys(
            Tree::ExternalTasksByInstance,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            if let Some(tid) = last_str(&key)
                && let Some(task) = self
                    .store
                    .get::<ExternalTask>(Tree::ExternalTasks, &index::id_key(&tid))?
            {
                let mut new = task.clone();
                new.suspended = suspended;
                index::put_external_task(&mut ws, &new, Some(&task), now);
                if !suspended && new.module_sha256.is_some() {
                    wasm_to_run.push(new.id.clone());
                }
            }
        }
        for key in self.store.scan_keys(
            Tree::UserTasksByInstance,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            if let Some(tid) = last_str(&key)
                && let Some(mut task) = self
                    .store
                    .get::<UserTask>(Tree::UserTasks, &index::id_key(&tid))?
            {
                task.suspended = suspended;
                index::put_user_task(&mut ws, &task);
            }
        }
        self.store.commit(&ws)?;
        drop(guard);
        self.store.sync().await?;
        let after = AfterCommit {
            tasks_available: !suspended,
            wasm_tasks: wasm_to_run,
            ..AfterCommit::default()
        };
        self.after_commit(after).await;
        Ok(())
    }

    pub(super) async fn modify_variables(
        &self,
        instance_id: &str,
        scope: Option<&str>,
        modifications: Variables,
        deletions: Vec<String>,
        local: bool,
    ) -> Result<()> {
        let record = self.instance(instance_id).await?;
        let scope_id = match scope {
            None => None,
            Some(s) if s == instance_id => None,
            Some(s) => Some(
                record
                    .state
                    .activity_instances
                    .values()
                    .find(|ai| ai.id == s || ai.execution_id == s)
                    .map(|ai| ai.id.clone())
                    .ok_or_else(|| {
                        ProcessEngineError::NotFound(format!("execution {s} does not exist"))
                    })?,
            ),
        };
        self.run_command(
            instance_id,
            Command::SetVariables {
                activity_instance_id: scope_id,
                variables: modifications,
                local,
                deletions,
            },
            WriteSet::new(),
            AfterCommit::default(),
        )
        .await
        .map(|_| ())
    }

    // -------------------------------------------------------------- user tasks

    pub(super) async fn user_tasks(&self) -> Result<Vec<UserTask>> {
        let mut all: Vec<UserTask> = self.store.scan(Tree::UserTasks, b"")?;
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    fn load_user_task(&self, id: &str) -> Result<(UserTask, Vec<u8>)> {
        let raw = self
            .store
            .get_raw(Tree::UserTasks, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("No matching task with id {id}"))
            })?;
        Ok((crate::store::codec::decode("user_tasks", &raw)?, raw))
    }

    pub(super) async fn user_task(&self, id: &str) -> Result<UserTask> {
        Ok(self.load_user_task(id)?.0)
    }

    async fn update_user_task(
        &self,
        task: UserTask,
        raw: Vec<u8>,
        operation: &str,
        details: Option<String>,
    ) -> Result<()> {
        let mut ws = WriteSet::new();
        ws.expect(Tree::UserTasks, index::id_key(&task.id), Some(raw));
        index::put_user_task(&mut ws, &task);
        // Keep the assignee visible in the activity's history.
        let hkey =
            index::historic_activity_key(&task.process_instance_id, &task.activity_instance_id);
        if let Some(mut h) = self
            .store
            .get::<HistoricActivityInstance>(Tree::HistoricActivities, &hkey)?
        {
            h.assignee = task.assignee.clone();
            ws.put(Tree::HistoricActivities, hkey, &h);
        }
        self.user_operation(
            &mut ws,
            operation,
            "Task",
            &task.id,
            Some(&task.process_instance_id),
            details,
        );
        self.store
            .commit(&ws)
            .map_err(|e| conflict(e, "the task"))?;
        self.store.sync().await?;
        Ok(())
    }

    pub(super) async fn claim_task(&self, id: &str, user_id: &str) -> Result<()> {
        let (mut task, raw) = self.load_user_task(id)?;
        if let Some(current) = &task.assignee
            && current != user_id
        {
            return Err(ProcessEngineError::AlreadyClaimed(format!(
                "Task '{id}' is already claimed by someone else."
            )));
        }
        task.assignee = Some(user_id.to_owned());
        task.last_updated = Some(self.now());
        self.update_user_task(task, raw, "Claim", Some(format!("assignee={user_id}")))
            .await
    }

    pub(super) async fn set_assignee(&self, id: &str, user_id: Option<String>) -> Result<()> {
        let (mut task, raw) = self.load_user_task(id)?;
        let details = Some(format!("assignee={}", user_id.as_deref().unwrap_or("null")));
        task.assignee = user_id;
        task.last_updated = Some(self.now());
        self.update_user_task(task, raw, "Assign", details).await
    }

    pub(super) async fn complete_user_task(
        &self,
        id: &str,
        variables: Variables,
    ) -> Result<Variables> {
        let (task, raw) = self.load_user_task(id)?;
        if task.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot complete task {id}: task is suspended"
            )));
        }
        let mut extra = WriteSet::new();
        extra.expect(Tree::UserTasks, index::id_key(id), Some(raw));
        index::delete_user_task(&mut extra, &task);
        self.user_operation(
            &mut extra,
            "Complete",
            "Task",
            id,
            Some(&task.process_instance_id),
            None,
        );
        let mut after = AfterCommit::default();
        after.events.push(EngineEvent::TaskCompleted {
            task_id: id.to_owned(),
            task_type: "user".into(),
            process_instance_id: task.process_instance_id.clone(),
        });
        let outcome = self
            .run_command(
                &task.process_instance_id,
                Command::CompleteTask {
                    task_id: id.to_owned(),
                    variables,
                    local_variables: Variables::new(),
                },
                extra,
                after,
            )
            .await
            .map_err(|e| match e {
                ProcessEngineError::Engine(m) => {
                    ProcessEngineError::Engine(format!("Cannot complete task {id}: {m}"))
                }
                other => other,
            })?;
        Ok(outcome.instance.state.process_variables())
    }

    pub(super) async fn task_variables(&self, id: &str) -> Result<Variables> {
        let task = self.user_task(id).await?;
        let instance = self.instance(&task.process_instance_id).await?;
        Ok(instance.state.visible_variables(&task.activity_instance_id))
    }

    // -------------------------------------------------------------- messages and signals

    fn subscriptions_named(&self, kind: EventType, name: &str) -> Result<Vec<EventSubscription>> {
        let mut out = Vec::new();
        for key in self.store.scan_keys(
            Tree::SubscriptionsByName,
            &index::subscription_name_prefix(kind, name),
            usize::MAX,
        )? {
            if let Some(id) = last_str(&key)
                && let Some(sub) = self
                    .store
                    .get::<EventSubscription>(Tree::Subscriptions, &index::id_key(&id))?
            {
                out.push(sub);
            }
        }
        Ok(out)
    }

    /// Latest definitions (per key and tenant) with a start event of this trigger kind and name.
    fn start_events_for(
        &self,
        kind: EventType,
        name: &str,
        tenant: Option<Option<&str>>,
    ) -> Result<Vec<(ProcessDefinition, String)>> {
        let mut latest: std::collections::BTreeMap<(String, Option<String>), ProcessDefinition> =
            Default::default();
        for d in self.definitions_sync()? {
            let slot = latest
                .entry((d.key.clone(), d.tenant_id.clone()))
                .or_insert_with(|| d.clone());
            if d.version > slot.version {
                *slot = d;
            }
        }
        let mut out = Vec::new();
        for d in latest.into_values() {
            if d.suspended {
                continue;
            }
            if let Some(t) = tenant
                && d.tenant_id.as_deref() != t
            {
                continue;
            }
            let deployed = self.deployed_sync(&d.id)?;
            for node in deployed.process.nodes.iter().filter(|n| n.scope.is_none()) {
                let matches = match (&node.kind, kind) {
                    (
                        NodeKind::StartEvent {
                            trigger: EventTrigger::Message { name: n },
                            ..
                        },
                        EventType::Message,
                    ) => n == name,
                    (
                        NodeKind::StartEvent {
                            trigger: EventTrigger::Signal { name: n },
                            ..
                        },
                        EventType::Signal,
                    ) => n == name,
                    _ => false,
                };
                if matches {
                    out.push((d.clone(), node.id.clone()));
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn correlate_message(
        &self,
        request: CorrelateRequest,
    ) -> Result<Vec<CorrelationResult>> {
        if request.message_name.is_empty() {
            return Err(ProcessEngineError::BadRequest(
                "No message name supplied".into(),
            ));
        }
        let mut matching = Vec::new();
        for sub in self.subscriptions_named(EventType::Message, &request.message_name)? {
            if let Some(pi) = &request.process_instance_id
                && &sub.process_instance_id != pi
            {
                continue;
            }
            let Some(instance) = self.store.get::<ProcessInstance>(
                Tree::Instances,
                &index::id_key(&sub.process_instance_id),
            )?
            else {
                continue;
            };
            if instance.suspended {
                continue;
            }
            if let Some(bk) = &request.business_key
                && instance.state.business_key.as_ref() != Some(bk)
            {
                continue;
            }
            if let Some(t) = &request.tenant_id
                && instance.tenant_id.as_ref() != Some(t)
            {
                continue;
            }
            if request.without_tenant_id
                && request.tenant_id.is_none()
                && instance.tenant_id.is_some()
            {
                continue;
            }
            let keys_match = request.correlation_keys.iter().all(|(k, v)| {
                instance
                    .state
                    .process_variables()
                    .get(k)
                    .is_some_and(|actual| actual == v || actual.to_json() == v.to_json())
            }) && request.local_correlation_keys.iter().all(|(k, v)| {
                instance
                    .state
                    .activity_instances
                    .get(&sub.activity_instance_id)
                    .and_then(|ai| ai.variables.get(k))
                    .is_some_and(|actual| actual == v)
            });
            if keys_match {
                matching.push((sub, instance));
            }
        }
        let start_events = if request.process_instance_id.is_none() {
            let tenant = if request.tenant_id.is_some() {
                Some(request.tenant_id.as_deref())
            } else if request.without_tenant_id {
                Some(None)
            } else {
                None
            };
            self.start_events_for(EventType::Message, &request.message_name, tenant)?
        } else {
            Vec::new()
        };
        let name = &request.message_name;
        if !request.all {
            if matching.len() > 1 {
                let ids: Vec<String> = matching
                    .iter()
                    .map(|(s, _)| s.activity_instance_id.clone())
                    .collect();
                return Err(ProcessEngineError::MismatchingCorrelation(format!(
                    "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate a message with name '{name}' to a single execution. {} executions match the correlation keys: {}",
                    matching.len(),
                    ids.join(", ")
                )));
            }
            if matching.is_empty() && start_events.len() > 1 {
                return Err(ProcessEngineError::MismatchingCorrelation(format!(
                    "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate a message with name '{name}' to a single process definition. {} process definitions match the parameters.",
                    start_events.len()
                )));
            }
            if matching.is_empty() && start_events.is_empty() {
                return Err(ProcessEngineError::MismatchingCorrelation(format!(
                    "org.camunda.bpm.engine.MismatchingMessageCorrelationException: Cannot correlate message '{name}': No process definition or execution matches the parameters"
                )));
            }
        }
        let mut results = Vec::new();
        let deliver_to_executions = request.all || !matching.is_empty();
        if deliver_to_executions {
            for (sub, _) in matching {
                let outcome = self
                    .run_command(
                        &sub.process_instance_id,
                        Command::MessageReceived {
                            subscription_id: sub.id.clone(),
                            variables: request.process_variables.clone(),
                            local_variables: request.process_variables_local.clone(),
                        },
                        WriteSet::new(),
                        AfterCommit::default(),
                    )
                    .await?;
                let execution_id = outcome
                    .instance
                    .state
                    .activity_instances
                    .get(&sub.activity_instance_id)
                    .map(|ai| ai.execution_id.clone())
                    .unwrap_or_else(|| sub.activity_instance_id.clone());
                results.push(CorrelationResult::Execution {
                    process_instance_id: sub.process_instance_id.clone(),
                    execution_id,
                    ended: outcome.ended,
                    variables: outcome.instance.state.process_variables(),
                });
                if !request.all {
                    return Ok(results);
                }
            }
        }
        if request.all || results.is_empty() {
            for (definition, start_id) in start_events {
                let outcome = self
                    .start_new_instance(
                        self.deployed_sync(&definition.id)?,
                        new_id(),
                        request.business_key.clone(),
                        None,
                        request.process_variables.clone(),
                        Some(start_id),
                        None,
                    )
                    .await?;
                results.push(CorrelationResult::ProcessDefinition {
                    ended: outcome.ended,
                    instance: outcome.instance,
                });
                if !request.all {
                    break;
                }
            }
        }
        Ok(results)
    }

    pub(super) async fn signal(
        &self,
        name: &str,
        variables: Variables,
        execution_id: Option<&str>,
    ) -> Result<()> {
        if name.is_empty() {
            return Err(ProcessEngineError::BadRequest(
                "No signal name given".into(),
            ));
        }
        self.deliver_signal(name, variables, execution_id).await
    }

    pub(crate) async fn deliver_signal(
        &self,
        name: &str,
        variables: Variables,
        execution_id: Option<&str>,
    ) -> Result<()> {
        let subs = self.subscriptions_named(EventType::Signal, name)?;
        let mut delivered = false;
        for sub in subs {
            if let Some(exec) = execution_id {
                let instance = self.store.get::<ProcessInstance>(
                    Tree::Instances,
                    &index::id_key(&sub.process_instance_id),
                )?;
                let owns = instance.is_some_and(|i| {
                    i.state
                        .activity_instances
                        .get(&sub.activity_instance_id)
                        .is_some_and(|ai| ai.execution_id == exec || ai.id == exec)
                });
                if !owns {
                    continue;
                }
            }
            delivered = true;
            let result = self
                .run_command(
                    &sub.process_instance_id,
                    Command::SignalReceived {
                        subscription_id: sub.id.clone(),
                        variables: variables.clone(),
                    },
                    WriteSet::new(),
                    AfterCommit::default(),
                )
                .await;
            match result {
                Ok(_) | Err(ProcessEngineError::NotFound(_)) => {}
                Err(e) => tracing::warn!("signal '{name}' to {}: {e}", sub.process_instance_id),
            }
        }
        if let Some(exec) = execution_id {
            if !delivered {
                return Err(ProcessEngineError::Engine(format!(
                    "Cannot find execution with id '{exec}' subscribed to signal '{name}'"
                )));
            }
            return Ok(());
        }
        for (definition, start_id) in self.start_events_for(EventType::Signal, name, None)? {
            self.start_new_instance(
                self.deployed_sync(&definition.id)?,
                new_id(),
                None,
                None,
                variables.clone(),
                Some(start_id),
                None,
            )
            .await?;
        }
        Ok(())
    }

    // -------------------------------------------------------------- incidents

    pub(super) async fn incidents(&self) -> Result<Vec<Incident>> {
        let mut all: Vec<Incident> = self.store.scan(Tree::Incidents, b"")?;
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub(super) async fn incident(&self, id: &str) -> Result<Incident> {
        self.store
            .get(Tree::Incidents, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("Incident with id {id} does not exist"))
            })
    }

    pub(super) async fn resolve_incident(&self, id: &str) -> Result<()> {
        let incident = self.incident(id).await?;
        match (incident.incident_type, &incident.configuration) {
            (
                IncidentType::FailedExternalTask | IncidentType::UnhandledBpmnError,
                Some(task_id),
            ) => self.set_external_task_retries(task_id, 1).await,
            (IncidentType::FailedJob, Some(job_id)) => {
                let job = self
                    .store
                    .get::<crate::records::Job>(Tree::Jobs, &index::id_key(job_id))?;
                let mut ws = WriteSet::new();
                let mut after = AfterCommit::default();
                if let Some(mut job) = job {
                    job.retries = 1;
                    job.due = self.now();
                    index::put_job(&mut ws, &job, None);
                    after.wake_scheduler = true;
                }
                super::executor::close_incident(&mut ws, incident, self.now(), &mut after);
                self.store.commit_durable(&ws).await?;
                self.after_commit(after).await;
                Ok(())
            }
            _ => {
                let mut ws = WriteSet::new();
                let mut after = AfterCommit::default();
                super::executor::close_incident(&mut ws, incident, self.now(), &mut after);
                self.store.commit_durable(&ws).await?;
                self.after_commit(after).await;
                Ok(())
            }
        }
    }

    pub(super) async fn set_incident_annotation(
        &self,
        id: &str,
        annotation: Option<String>,
    ) -> Result<()> {
        let mut incident = self.incident(id).await?;
        incident.annotation = annotation;
        let mut ws = WriteSet::new();
        ws.put(Tree::Incidents, index::id_key(id), &incident);
        ws.put(Tree::HistoricIncidents, index::id_key(id), &incident);
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    // -------------------------------------------------------------- history

    pub(super) async fn historic_process_instances(&self) -> Result<Vec<HistoricProcessInstance>> {
        let mut all: Vec<HistoricProcessInstance> =
            self.store.scan(Tree::HistoricInstances, b"")?;
        all.sort_by(|a, b| a.start_time.cmp(&b.start_time).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// One historic process instance, read by key (no scan).
    pub(super) async fn historic_process_instance(
        &self,
        id: &str,
    ) -> Result<HistoricProcessInstance> {
        self.store
            .get(Tree::HistoricInstances, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Historic process instance with id {id} does not exist"
                ))
            })
    }

    pub(super) async fn historic_activity_instances(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricActivityInstance>> {
        let prefix = process_instance_id
            .map(index::instance_prefix)
            .unwrap_or_default();
        let mut all: Vec<HistoricActivityInstance> =
            self.store.scan(Tree::HistoricActivities, &prefix)?;
        all.sort_by_key(|h| h.sequence);
        Ok(all)
    }

    pub(super) async fn historic_variables(
        &self,
        process_instance_id: Option<&str>,
    ) -> Result<Vec<HistoricVariableInstance>> {
        let prefix = process_instance_id
            .map(index::instance_prefix)
            .unwrap_or_default();
        Ok(self.store.scan(Tree::HistoricVariables, &prefix)?)
    }

    pub(super) async fn historic_incidents(&self) -> Result<Vec<Incident>> {
        let mut all: Vec<Incident> = self.store.scan(Tree::HistoricIncidents, b"")?;
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub(super) async fn user_operations(&self) -> Result<Vec<UserOperation>> {
        Ok(self.store.scan(Tree::UserOperations, b"")?)
    }

    pub(super) async fn delete_historic_process_instance(&self, id: &str) -> Result<()> {
        let h: HistoricProcessInstance = self
            .store
            .get(Tree::HistoricInstances, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "No historic process instance found with id: {id}"
                ))
            })?;
        if h.end_time.is_none() {
            return Err(ProcessEngineError::BadRequest(format!(
                "Process instance {id} is still running"
            )));
        }
        let mut ws = WriteSet::new();
        ws.delete(Tree::HistoricInstances, index::id_key(id));
        for k in self.store.scan_keys(
            Tree::HistoricActivities,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            ws.delete(Tree::HistoricActivities, k);
        }
        for k in self.store.scan_keys(
            Tree::HistoricVariables,
            &index::instance_prefix(id),
            usize::MAX,
        )? {
            ws.delete(Tree::HistoricVariables, k);
        }
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Add a user operation (who did what) to `ws`, so the log entry lands in the same commit
    /// as the change it records.
    pub(crate) fn user_operation(
        &self,
        ws: &mut WriteSet,
        operation: &str,
        entity: &str,
        entity_id: &str,
        instance_id: Option<&str>,
        details: Option<String>,
    ) {
        let now = self.now();
        let op = UserOperation {
            id: new_id(),
            user_id: None,
            timestamp: now,
            operation_type: operation.to_owned(),
            entity_type: entity.to_owned(),
            entity_id: entity_id.to_owned(),
            process_instance_id: instance_id.map(str::to_owned),
            details,
        };
        ws.put(
            Tree::UserOperations,
            crate::store::keys::Key::new().i64(now).str(&op.id).build(),
            &op,
        );
    }

    // -------------------------------------------------------------- identity

    pub(super) async fn create_user(&self, mut user: User, password: Option<String>) -> Result<()> {
        if user.id.is_empty() || user.id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "user id must be a non-empty name".into(),
            ));
        }
        if let Some(pw) = password {
            user.password_hash = Some(hash_password(&new_id(), &pw));
        } else if let Some(existing) = self.store.get::<User>(Tree::Users, user.id.as_bytes())? {
            user.password_hash = existing.password_hash;
        }
        let mut ws = WriteSet::new();
        ws.put(Tree::Users, user.id.as_bytes().to_vec(), &user);
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    pub(super) async fn users(&self) -> Result<Vec<User>> {
        let mut users: Vec<User> = self.store.scan(Tree::Users, b"")?;
        for u in users.iter_mut() {
            u.password_hash = None;
        }
        Ok(users)
    }

    pub(super) async fn delete_user(&self, id: &str) -> Result<()> {
        if !self.store.contains(Tree::Users, id.as_bytes())? {
            return Err(ProcessEngineError::NotFound(format!(
                "User with id {id} does not exist"
            )));
        }
        let mut ws = WriteSet::new();
        ws.delete(Tree::Users, id.as_bytes().to_vec());
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    pub(super) async fn create_group(&self, group: Group) -> Result<()> {
        if group.id.is_empty() || group.id.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "group id must be a non-empty name".into(),
            ));
        }
        let mut ws = WriteSet::new();
        ws.put(Tree::Groups, group.id.as_bytes().to_vec(), &group);
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    pub(super) async fn groups(&self) -> Result<Vec<Group>> {
        Ok(self.store.scan(Tree::Groups, b"")?)
    }

    pub(super) async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        if !self.store.contains(Tree::Groups, group_id.as_bytes())? {
            return Err(ProcessEngineError::NotFound(format!(
                "Group with id {group_id} does not exist"
            )));
        }
        let mut user: User = self
            .store
            .get(Tree::Users, user_id.as_bytes())?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("User with id {user_id} does not exist"))
            })?;
        if !user.groups.iter().any(|g| g == group_id) {
            user.groups.push(group_id.to_owned());
        }
        let mut ws = WriteSet::new();
        ws.put(Tree::Users, user_id.as_bytes().to_vec(), &user);
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    pub(super) async fn authenticate(&self, user_id: &str, password: &str) -> Result<Option<User>> {
        let Some(mut user) = self.store.get::<User>(Tree::Users, user_id.as_bytes())? else {
            return Ok(None);
        };
        let Some(stored) = user.password_hash.clone() else {
            return Ok(None);
        };
        let mut parts = stored.splitn(3, ':');
        let (Some("sha256"), Some(salt)) = (parts.next(), parts.next()) else {
            return Ok(None);
        };
        if hash_password(salt, password) != stored {
            return Ok(None);
        }
        user.password_hash = None;
        Ok(Some(user))
    }

    pub(super) async fn has_users(&self) -> Result<bool> {
        Ok(self.store.count(Tree::Users) > 0)
    }
}
