//! Wait states handed to the outside world: external tasks (service, send, business-rule task,
//! message throw with a topic), user tasks and call activities, and their completion.

use std::collections::BTreeMap;

use super::exec::{Ctx, Work};
use super::{CallBinding, Effect, EngineError, ExternalTaskSpec, UserTaskSpec, Wait};
use crate::expr::Expression;
use crate::model::{
    CallActivityDef, CallMapping, CalledElementBinding, EventResult, NodeIdx, NodeKind,
    ServiceTaskDef, TaskEvent, UserTaskDef,
};
use crate::value::{Value, Variables};

impl Ctx<'_> {
    fn expr_err(&self, id: &str, message: String) -> EngineError {
        EngineError::Expression {
            activity_id: self.blame(id),
            message,
        }
    }

    /// Evaluate to an integer (numbers, or text holding one).
    fn eval_int(&self, e: &Expression, id: &str, what: &str) -> Result<Option<i64>, EngineError> {
        match self.eval(e, id)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.expr_err(id, format!("{what} '{s}' is not an integer"))),
            v => v.as_i64().map(Some).ok_or_else(|| {
                self.expr_err(
                    id,
                    format!(
                        "{what} evaluated to a {} value, not an integer",
                        v.type_name()
                    ),
                )
            }),
        }
    }

    /// Create an external task for the activity instance `id`.
    pub fn create_external_task(
        &mut self,
        id: &str,
        idx: NodeIdx,
        def: &ServiceTaskDef,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let topic = self
            .eval_string(&def.topic, id)?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.expr_err(id, "the topic evaluated to null or empty".into()))?;
        let priority = match def.priority.as_ref().or(p.task_priority.as_ref()) {
            Some(e) => self.eval_int(e, id, "taskPriority")?.unwrap_or(0),
            None => 0,
        };
        let retries = match &def.retries {
            Some(e) => self
                .eval_int(e, id, "retries")?
                .map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            None => None,
        };
        let task_id = self.st.next_id();
        let ai = self.ai_mut(id)?;
        ai.wait = Some(Wait::ExternalTask {
            task_id: task_id.clone(),
            topic: topic.clone(),
        });
        let execution_id = ai.execution_id.clone();
        self.fx.push(Effect::CreateExternalTask(ExternalTaskSpec {
            task_id: task_id.clone(),
            activity_instance_id: id.to_owned(),
            execution_id,
            activity_id: node.id.clone(),
            topic,
            priority,
            retries,
            retry_time_cycle: node.retry_time_cycle.clone(),
            extension_properties: node.properties.iter().cloned().collect::<BTreeMap<_, _>>(),
        }));
        self.patch_started(id, Some(task_id), None);
        Ok(())
    }

    /// Candidate users/groups: comma-separated text, or a list.
    fn eval_list(&self, e: &Expression, id: &str) -> Result<Vec<String>, EngineError> {
        let split = |s: &str| {
            s.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
        };
        if let Some(text) = e.literal_text() {
            return Ok(split(text));
        }
        Ok(match self.eval(e, id)? {
            Value::Null => Vec::new(),
            Value::String(s) => split(&s),
            other => match other.to_json() {
                serde_json::Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| match v {
                        serde_json::Value::String(s) => Some(s),
                        serde_json::Value::Null => None,
                        other => Some(other.to_string()),
                    })
                    .collect(),
                serde_json::Value::String(s) => split(&s),
                v => vec![v.to_string()],
            },
        })
    }

    /// A due / follow-up date: a Date, or an ISO 8601 date text.
    fn eval_date(&self, e: &Expression, id: &str) -> Result<Option<i64>, EngineError> {
        match self.eval(e, id)? {
            Value::Null => Ok(None),
            Value::Date(ms) => Ok(Some(ms)),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => crate::timer::parse_date(s.trim())
                .map(Some)
                .map_err(|err| self.expr_err(id, err.to_string())),
            v => v.as_i64().map(Some).ok_or_else(|| {
                self.expr_err(id, format!("a {} value is not a date", v.type_name()))
            }),
        }
    }

    /// Create a user task for the activity instance `id`.
    pub fn create_user_task(
        &mut self,
        id: &str,
        idx: NodeIdx,
        def: &UserTaskDef,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let assignee = match &def.assignee {
            Some(e) => self.eval_string(e, id)?.filter(|s| !s.is_empty()),
            None => None,
        };
        let candidate_users = match &def.candidate_users {
            Some(e) => self.eval_list(e, id)?,
            None => Vec::new(),
        };
        let candidate_groups = match &def.candidate_groups {
            Some(e) => self.eval_list(e, id)?,
            None => Vec::new(),
        };
        let due = match &def.due_date {
            Some(e) => self.eval_date(e, id)?,
            None => None,
        };
        let follow_up = match &def.follow_up_date {
            Some(e) => self.eval_date(e, id)?,
            None => None,
        };
        let priority = match &def.priority {
            Some(e) => self
                .eval_int(e, id, "priority")?
                .map(|v| i32::try_from(v).unwrap_or(i32::MAX))
                .unwrap_or(50),
            None => 50,
        };
        let task_id = self.st.next_id();
        let execution_id = self.ai(id)?.execution_id.clone();
        let mut spec = UserTaskSpec {
            task_id: task_id.clone(),
            activity_instance_id: id.to_owned(),
            execution_id,
            activity_id: node.id.clone(),
            name: node.name.clone(),
            description: node.documentation.clone(),
            assignee,
            candidate_users,
            candidate_groups,
            due,
            follow_up,
            priority,
            form_key: def.form_key.clone(),
        };
        // Camunda fires `create`, then `assignment` when the task has an assignee; both run
        // before the host sees the task, so what they set is what gets created.
        self.fire_task_listeners(id, def, TaskEvent::Create, &mut spec)?;
        if spec.assignee.is_some() {
            self.fire_task_listeners(id, def, TaskEvent::Assignment, &mut spec)?;
        }
        self.ai_mut(id)?.wait = Some(Wait::UserTask {
            task_id: task_id.clone(),
        });
        self.fx.push(Effect::CreateUserTask(spec));
        self.arm_timeout_listeners(id, def, &node.id)?;
        self.patch_started(id, Some(task_id), None);
        Ok(())
    }

    /// `Command::CompleteTask`.
    pub fn complete_task(
        &mut self,
        task_id: &str,
        variables: Variables,
        local_variables: Variables,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let (id, external) = self
            .st
            .find_task(task_id)
            .map(|a| {
                (
                    a.id.clone(),
                    matches!(a.wait, Some(Wait::ExternalTask { .. })),
                )
            })
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "task",
                id: task_id.to_owned(),
            })?;
        let idx = self.node_req(&id)?;
        let node = p.node(idx);
        // Camunda: with output mappings, completion variables stay local to the activity and
        // the outputs map them out.
        let has_outputs = !node.io.outputs.is_empty();
        self.ai_mut(&id)?.wait = None;
        self.set_vars(&id, variables, has_outputs)?;
        self.set_vars(&id, local_variables, true)?;
        if !external {
            self.fire_ending_task_listeners(&id, task_id, TaskEvent::Complete)?;
        }
        if external {
            let def = match &node.kind {
                NodeKind::ServiceTask(def) => Some(def),
                NodeKind::EndEvent {
                    result:
                        EventResult::Message {
                            task: Some(def), ..
                        },
                }
                | NodeKind::IntermediateThrowEvent {
                    result:
                        EventResult::Message {
                            task: Some(def), ..
                        },
                } => Some(def),
                _ => None,
            };
            if let Some(def) = def {
                for eed in &def.error_event_definitions {
                    if self.eval_bool(&eed.expression, &id)? {
                        return self.propagate_error(
                            &id,
                            &eed.error_code,
                            eed.error_message.clone(),
                        );
                    }
                }
            }
        }
        self.push(Work::Leave(id));
        Ok(())
    }

    /// Start the child instance of a call activity.
    pub fn start_call_activity(
        &mut self,
        id: &str,
        _idx: NodeIdx,
        def: &CallActivityDef,
    ) -> Result<(), EngineError> {
        let process_key = self
            .eval_string(&def.called_element, id)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.expr_err(id, "calledElement evaluated to null or empty".into()))?;
        let binding = match &def.binding {
            CalledElementBinding::Latest => CallBinding::Latest,
            CalledElementBinding::Deployment => CallBinding::Deployment,
            CalledElementBinding::Version(e) => {
                let v = self
                    .eval_int(e, id, "calledElementVersion")?
                    .ok_or_else(|| self.expr_err(id, "calledElementVersion is null".into()))?;
                CallBinding::Version(i32::try_from(v).map_err(|_| {
                    self.expr_err(id, format!("calledElementVersion {v} is out of range"))
                })?)
            }
            CalledElementBinding::VersionTag(e) => CallBinding::VersionTag(
                self.eval_string(e, id)?
                    .ok_or_else(|| self.expr_err(id, "calledElementVersionTag is null".into()))?,
            ),
        };
        let mut variables = Variables::new();
        let mut business_key = None;
        for m in &def.inputs {
            match m {
                CallMapping::All { local } => {
                    let vars = if *local {
                        self.ai(id)?.variables.clone()
                    } else {
                        self.st.visible_variables(id)
                    };
                    variables.extend(vars);
                }
                CallMapping::Source { source, target } => {
                    let v = self
                        .st
                        .lookup_variable(id, source)
                        .cloned()
                        .unwrap_or(Value::Null);
                    variables.insert(target.clone(), v);
                }
                CallMapping::Expression { source, target } => {
                    variables.insert(target.clone(), self.eval(source, id)?);
                }
                CallMapping::BusinessKey(e) => business_key = self.eval_string(e, id)?,
            }
        }
        let child_instance_id = self.st.next_id();
        self.ai_mut(id)?.wait = Some(Wait::CallActivity {
            child_instance_id: child_instance_id.clone(),
        });
        self.fx.push(Effect::StartCallActivity {
            activity_instance_id: id.to_owned(),
            child_instance_id: child_instance_id.clone(),
            process_key,
            binding,
            business_key,
            variables,
        });
        self.patch_started(id, None, Some(child_instance_id));
        Ok(())
    }

    /// `Command::ChildCompleted`: apply the out-mappings and continue after the call activity.
    pub fn child_completed(&mut self, id: &str, child_vars: Variables) -> Result<(), EngineError> {
        let p = self.p;
        let waiting = self
            .st
            .activity_instances
            .get(id)
            .is_some_and(|a| matches!(a.wait, Some(Wait::CallActivity { .. })));
        if !waiting {
            return Err(EngineError::NotWaiting {
                kind: "activity instance",
                id: id.to_owned(),
            });
        }
        let idx = self.node_req(id)?;
        let node = p.node(idx);
        let NodeKind::CallActivity(def) = &node.kind else {
            return Err(EngineError::NotWaiting {
                kind: "activity instance",
                id: id.to_owned(),
            });
        };
        let has_outputs = !node.io.outputs.is_empty();
        self.ai_mut(id)?.wait = None;
        for m in &def.outputs {
            match m {
                CallMapping::All { local } => {
                    for (k, v) in &child_vars {
                        self.set_var(id, k, v.clone(), *local || has_outputs)?;
                    }
                }
                CallMapping::Source { source, target } => {
                    let v = child_vars.get(source).cloned().unwrap_or(Value::Null);
                    self.set_var(id, target, v, has_outputs)?;
                }
                CallMapping::Expression { source, target } => {
                    let v = source
                        .eval(&self.scope_over(id, &child_vars))
                        .map_err(|e| self.expr_err(id, e.message))?;
                    self.set_var(id, target, v, has_outputs)?;
                }
                CallMapping::BusinessKey(_) => {}
            }
        }
        self.push(Work::Leave(id.to_owned()));
        Ok(())
    }
}
