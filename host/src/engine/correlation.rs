//! Correlation: messages to waiting executions or message start events, and signals.

use super::executor::AfterCommit;
use super::executor::StartId;
use super::{CorrelateRequest, CorrelationResult, ProcessEngine, ProcessEngineError, Result};
use crate::records::{EventSubscription, EventType, ProcessDefinition, ProcessInstance};
use crate::store::{InstanceStore, SubscriptionStore, WriteSet};
use baton_bpmn::Variables;
use baton_bpmn::engine::Command;
use baton_bpmn::model::{EventTrigger, NodeKind};

/// Without `all`, a message must reach exactly one target: one waiting execution, or else one
/// message start event (Camunda's MismatchingMessageCorrelationException otherwise).
fn single_target(
    name: &str,
    matching: &[(EventSubscription, ProcessInstance)],
    start_events: &[(ProcessDefinition, String)],
) -> Result<()> {
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
    Ok(())
}

impl ProcessEngine {
    fn subscriptions_named(&self, kind: EventType, name: &str) -> Result<Vec<EventSubscription>> {
        Ok(self.inner.store.subscriptions_named(kind, name)?)
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
                    // A multiple start event starts on any one of its triggers.
                    (
                        NodeKind::StartEvent {
                            trigger: EventTrigger::Multiple { triggers, .. },
                            ..
                        },
                        _,
                    ) => triggers.iter().any(|t| match (t, kind) {
                        (EventTrigger::Message { name: n }, EventType::Message)
                        | (EventTrigger::Signal { name: n }, EventType::Signal) => n == name,
                        _ => false,
                    }),
                    _ => false,
                };
                if matches {
                    out.push((d.clone(), node.id.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Correlate a message to waiting executions or message start events.
    pub async fn correlate_message(
        &self,
        request: CorrelateRequest,
    ) -> Result<Vec<CorrelationResult>> {
        if request.message_name.is_empty() {
            return Err(ProcessEngineError::BadRequest(
                "No message name supplied".into(),
            ));
        }
        let matching = self.waiting_executions(&request)?;
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
        if !request.all {
            single_target(&request.message_name, &matching, &start_events)?;
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
                        StartId::Fresh,
                        request.business_key.clone(),
                        None,
                        request.process_variables.clone(),
                        super::executor::InstanceStart::Event(Some(start_id)),
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

    /// One invocation of a `message-async` batch: every execution of `instance_id` waiting
    /// for `message_name` receives it with `variables` (Camunda correlates all of the
    /// instance's). The batch's `progress` is committed with the first delivery; it is handed
    /// back when nothing waits (an instance that ended or never waited for it is not an
    /// error, as with Camunda's `correlateAll`). The subscriptions are found through the
    /// instance's own state, so the cost does not grow with other instances' subscriptions.
    pub(crate) async fn correlate_to_instance(
        &self,
        instance_id: &str,
        message_name: &str,
        variables: &Variables,
        progress: WriteSet,
    ) -> Result<Option<WriteSet>> {
        let Some(instance) = self.inner.store.running_instance(instance_id)? else {
            return Ok(Some(progress));
        };
        if instance.suspended {
            return Ok(Some(progress));
        }
        let mut subscriptions = Vec::new();
        for ai in instance.state.activity_instances.values() {
            let waiting = match &ai.wait {
                Some(baton_bpmn::engine::Wait::Message { subscription_id }) => {
                    Some(subscription_id.as_str())
                }
                _ => None,
            };
            let ids = waiting
                .into_iter()
                .chain(ai.listeners.iter().map(|l| l.id.as_str()));
            for id in ids {
                if let Some(sub) = self.inner.store.subscription(id)?
                    && sub.event_type == EventType::Message
                    && sub.event_name == message_name
                {
                    subscriptions.push(sub);
                }
            }
        }
        subscriptions.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        let mut progress = Some(progress);
        for sub in subscriptions {
            self.run_command(
                instance_id,
                Command::MessageReceived {
                    subscription_id: sub.id.clone(),
                    variables: variables.clone(),
                    local_variables: Variables::new(),
                },
                progress.take().unwrap_or_default(),
                AfterCommit::default(),
            )
            .await?;
        }
        Ok(progress)
    }

    /// The executions waiting for the request's message that match its instance, business
    /// key, tenant and correlation keys (suspended instances do not receive messages).
    fn waiting_executions(
        &self,
        request: &CorrelateRequest,
    ) -> Result<Vec<(EventSubscription, ProcessInstance)>> {
        let mut matching = Vec::new();
        for sub in self.subscriptions_named(EventType::Message, &request.message_name)? {
            if let Some(pi) = &request.process_instance_id
                && &sub.process_instance_id != pi
            {
                continue;
            }
            let Some(instance) = self
                .inner
                .store
                .running_instance(&sub.process_instance_id)?
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
        Ok(matching)
    }

    /// Broadcast a signal (or deliver it to one execution).
    pub async fn signal(
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
                let instance = self
                    .inner
                    .store
                    .running_instance(&sub.process_instance_id)?;
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
                StartId::Fresh,
                None,
                None,
                variables.clone(),
                super::executor::InstanceStart::Event(Some(start_id)),
                None,
            )
            .await?;
        }
        Ok(())
    }
}
