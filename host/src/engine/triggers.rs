//! Triggers Camunda offers besides messages and signals: `RuntimeService.signal` on an
//! execution waiting at a receive task (`POST /execution/{id}/signal`) and the evaluation of
//! conditional start events (`POST /condition`, Camunda's `ConditionEvaluationBuilder`).

use baton_bpmn::engine::Command;
use baton_bpmn::model::{EventTrigger, NodeKind};

use super::executor::AfterCommit;
use super::executor::StartId;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::ProcessInstance;
use crate::store::{InstanceStore, SubscriptionStore, WriteSet};
use baton_bpmn::Variables;

/// What `POST /condition` evaluates (Camunda's `EvaluationConditionDto`).
#[derive(Debug, Clone, Default)]
pub struct ConditionRequest {
    /// Variables the conditions see; also the started instances' variables.
    pub variables: Variables,
    /// Business key of the started instances.
    pub business_key: Option<String>,
    /// Only this definition (which must declare a conditional start event).
    pub process_definition_id: Option<String>,
    /// Only definitions of this tenant.
    pub tenant_id: Option<String>,
    /// Only definitions without a tenant.
    pub without_tenant_id: bool,
}

impl ProcessEngine {
    /// Signal the execution `execution_id` waiting at a receive task: set `variables`, then
    /// leave the task (Camunda's `RuntimeService.signal(executionId, variables)`).
    pub async fn signal_execution(&self, execution_id: &str, variables: Variables) -> Result<()> {
        let doesnt_exist = || {
            ProcessEngineError::Engine(format!(
                "Cannot signal execution {execution_id}: execution {execution_id} doesn't exist"
            ))
        };
        let instance = self
            .inner
            .store
            .running_instances()?
            .into_iter()
            .find(|pi| {
                pi.state
                    .activity_instances
                    .values()
                    .any(|ai| ai.execution_id == execution_id || ai.id == execution_id)
            })
            .ok_or_else(doesnt_exist)?;
        if instance.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot signal execution {execution_id}: ProcessInstance with id {} is suspended",
                instance.id()
            )));
        }
        self.run_command(
            instance.id(),
            Command::Trigger {
                execution_id: execution_id.to_owned(),
                variables,
            },
            WriteSet::new(),
            AfterCommit::default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            ProcessEngineError::NotFound(_) => doesnt_exist(),
            ProcessEngineError::Engine(m) => {
                ProcessEngineError::Engine(format!("Cannot signal execution {execution_id}: {m}"))
            }
            other => other,
        })
    }

    /// Evaluate the conditional start events of the latest version of every (active)
    /// definition and start an instance at each one whose condition holds
    /// (Camunda's DefaultConditionHandler). A condition reading a variable that is not given
    /// is false; with `camunda:variableName` it is only evaluated when that variable is given.
    pub async fn evaluate_conditions(
        &self,
        request: ConditionRequest,
    ) -> Result<Vec<ProcessInstance>> {
        if request.tenant_id.is_some() && request.without_tenant_id {
            return Err(ProcessEngineError::BadRequest(
                "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'."
                    .into(),
            ));
        }
        let candidates = match &request.process_definition_id {
            Some(id) => {
                let d = self.definition(id).await?;
                vec![d]
            }
            None => {
                let mut latest: std::collections::BTreeMap<
                    (String, Option<String>),
                    crate::records::ProcessDefinition,
                > = Default::default();
                for d in self.definitions_sync()? {
                    let slot = latest
                        .entry((d.key.clone(), d.tenant_id.clone()))
                        .or_insert_with(|| d.clone());
                    if d.version > slot.version {
                        *slot = d;
                    }
                }
                latest
                    .into_values()
                    .filter(|d| match (&request.tenant_id, request.without_tenant_id) {
                        (Some(t), _) => d.tenant_id.as_deref() == Some(t.as_str()),
                        (None, true) => d.tenant_id.is_none(),
                        (None, false) => true,
                    })
                    .collect()
            }
        };
        let mut declared = false;
        let mut to_start = Vec::new();
        for d in candidates {
            let deployed = self.deployed_sync(&d.id)?;
            let starts: Vec<_> = deployed
                .process
                .nodes
                .iter()
                .filter(|n| n.scope.is_none())
                .filter_map(|n| match &n.kind {
                    NodeKind::StartEvent {
                        trigger:
                            EventTrigger::Conditional {
                                condition,
                                variable_name,
                            },
                        ..
                    } => Some((n.id.clone(), condition, variable_name)),
                    _ => None,
                })
                .collect();
            if starts.is_empty() {
                if request.process_definition_id.is_some() {
                    return Err(ProcessEngineError::Engine(format!(
                        "ENGINE-13042 Process definition with id '{}' does not declare conditional start event.",
                        d.id
                    )));
                }
                continue;
            }
            declared = true;
            if d.suspended {
                continue;
            }
            for (start_id, condition, variable_name) in starts {
                let given = variable_name
                    .as_ref()
                    .is_none_or(|v| request.variables.contains_key(v));
                // Camunda's tryEvaluate: an unknown variable makes the condition false.
                if given && condition.eval_bool(&request.variables).unwrap_or(false) {
                    to_start.push((deployed.clone(), start_id));
                }
            }
        }
        if !declared {
            return Err(ProcessEngineError::Engine(
                "ENGINE-13043 No subscriptions were found during evaluation of the conditional start events."
                    .into(),
            ));
        }
        let mut started = Vec::with_capacity(to_start.len());
        for (deployed, start_id) in to_start {
            let outcome = self
                .start_new_instance(
                    deployed,
                    StartId::Fresh,
                    request.business_key.clone(),
                    None,
                    request.variables.clone(),
                    super::executor::InstanceStart::Event(Some(start_id)),
                    None,
                )
                .await?;
            started.push(outcome.instance);
        }
        Ok(started)
    }
}

/// One event subscription as Camunda's `GET /event-subscription` shows it: message and signal
/// subscriptions of waiting activities, and `compensate` subscriptions of completed
/// activities with a compensation handler.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSubscriptionView {
    /// Subscription id.
    pub id: String,
    /// `message`, `signal` or `compensate`.
    pub event_type: &'static str,
    /// Message or signal name (none for compensation).
    pub event_name: Option<String>,
    /// The execution holding it.
    pub execution_id: String,
    /// The process instance.
    pub process_instance_id: String,
    /// The catching element (for compensation: the handler).
    pub activity_id: String,
    /// Created (ms); compensation subscriptions carry their instance's start.
    pub created: i64,
    /// The instance's process definition key (what authorizations name).
    pub process_definition_key: String,
    /// Tenant of the instance.
    pub tenant_id: Option<String>,
}

impl ProcessEngine {
    /// Every event subscription of the running instances; one pass over the instances and
    /// one over the subscription records.
    pub async fn event_subscriptions(&self) -> Result<Vec<EventSubscriptionView>> {
        let instances: std::collections::HashMap<String, ProcessInstance> = self
            .inner
            .store
            .running_instances()?
            .into_iter()
            .map(|pi| (pi.id().to_owned(), pi))
            .collect();
        let mut out = Vec::new();
        let subs = SubscriptionStore::subscriptions(&self.inner.store)?;
        for sub in subs {
            let Some(pi) = instances.get(&sub.process_instance_id) else {
                continue;
            };
            let execution_id = pi
                .state
                .activity_instances
                .get(&sub.activity_instance_id)
                .map_or_else(|| pi.id().to_owned(), |a| a.execution_id.clone());
            out.push(EventSubscriptionView {
                id: sub.id,
                event_type: match sub.event_type {
                    crate::records::EventType::Message => "message",
                    crate::records::EventType::Signal => "signal",
                },
                event_name: Some(sub.event_name),
                execution_id,
                process_instance_id: sub.process_instance_id,
                activity_id: sub.activity_id,
                created: sub.created,
                process_definition_key: pi.definition_key.clone(),
                tenant_id: pi.tenant_id.clone(),
            });
        }
        for pi in instances.values() {
            let Ok(deployed) = self.deployed_sync(&pi.definition_id) else {
                continue;
            };
            for c in baton_bpmn::engine::compensation_subscriptions(&deployed.process, &pi.state) {
                out.push(EventSubscriptionView {
                    id: c.id,
                    event_type: "compensate",
                    event_name: None,
                    execution_id: c.execution_id,
                    process_instance_id: pi.id().to_owned(),
                    activity_id: c.handler_activity_id,
                    created: pi.state.started_at,
                    process_definition_key: pi.definition_key.clone(),
                    tenant_id: pi.tenant_id.clone(),
                });
            }
        }
        Ok(out)
    }
}

impl ProcessEngine {
    /// The message subscription named `message_name` an execution holds (Camunda's
    /// `/execution/{id}/messageSubscriptions/{name}`); read through the by-name index.
    pub async fn message_subscription(
        &self,
        execution_id: &str,
        message_name: &str,
    ) -> Result<EventSubscriptionView> {
        let store = &self.inner.store;
        let subs = store.subscriptions_named(crate::records::EventType::Message, message_name)?;
        for sub in subs {
            let Some(pi) = store.running_instance(&sub.process_instance_id)? else {
                continue;
            };
            let execution = pi
                .state
                .activity_instances
                .get(&sub.activity_instance_id)
                .map_or_else(|| pi.id().to_owned(), |a| a.execution_id.clone());
            if execution == execution_id {
                return Ok(EventSubscriptionView {
                    id: sub.id,
                    event_type: "message",
                    event_name: Some(sub.event_name),
                    execution_id: execution,
                    process_instance_id: sub.process_instance_id,
                    process_definition_key: pi.definition_key.clone(),
                    activity_id: sub.activity_id,
                    created: sub.created,
                    tenant_id: pi.tenant_id.clone(),
                });
            }
        }
        Err(ProcessEngineError::NotFound(format!(
            "Message event subscription for execution {execution_id} named {message_name} does not exist"
        )))
    }

    /// Deliver a message to one execution's subscription (`messageEventReceived`).
    pub async fn trigger_message_subscription(
        &self,
        execution_id: &str,
        message_name: &str,
        variables: Variables,
    ) -> Result<()> {
        let sub = self
            .message_subscription(execution_id, message_name)
            .await
            .map_err(|e| match e {
                // Camunda: the execution does not wait for that message (500).
                ProcessEngineError::NotFound(_) => ProcessEngineError::Engine(format!(
                    "Execution with id '{execution_id}' does not have a subscription to a message event with name '{message_name}'"
                )),
                other => other,
            })?;
        self.run_command(
            &sub.process_instance_id,
            Command::MessageReceived {
                subscription_id: sub.id,
                variables,
                local_variables: Variables::new(),
            },
            WriteSet::new(),
            AfterCommit::default(),
        )
        .await
        .map(|_| ())
    }
}
