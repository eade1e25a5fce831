//! Activity instances as variable scopes: lookup and creation of activity instances, variable
//! writes with Camunda's scoping rule, expression evaluation against an activity instance, and
//! input/output mappings.
//!
//! Camunda's rule: a non-local write goes to the nearest activity instance, walking up from the
//! given one, that already has the variable, else to the process instance; a local write goes
//! exactly where it is told.

use super::exec::{Ctx, K_HIST, K_MI_BODY, K_MI_INNER, K_OUTPUTS_DONE, K_SEQ, MI_BODY_SUFFIX};
use super::{ActivityInstance, Effect, EngineError, HistoryEvent};
use crate::expr::{Expression, Scope};
use crate::model::{FlowNode, IoValue, NodeIdx};
use crate::value::{Value, Variables};

/// Evaluation scope: variables visible from one activity instance, plus `execution` properties.
pub(super) struct EvalScope<'s> {
    st: &'s super::InstanceState,
    ai: &'s str,
    /// Extra variables that shadow the instance's (call-activity out-mappings read the child's).
    overlay: Option<&'s Variables>,
    /// The engine clock of this command (a script's `Date.now()`).
    now: i64,
    /// The host's side: definition id and the JavaScript runner.
    env: crate::script::Environment<'s>,
}

impl EvalScope<'_> {
    /// Run a JavaScript script at this activity instance; in listeners with the event name
    /// and, in task listeners, the task's properties.
    pub(super) fn run_script_with(
        &self,
        source: &str,
        event_name: Option<&str>,
        task: Option<serde_json::Value>,
    ) -> Result<crate::expr::Evaluated, crate::expr::ExprError> {
        let ai = self.st.activity_instances.get(self.ai);
        let (variables, local_variables) = match self.overlay {
            Some(o) => (o.clone(), o.clone()),
            None => (
                self.st.visible_variables(self.ai),
                ai.map(|a| a.variables.clone()).unwrap_or_default(),
            ),
        };
        let activity_id = ai
            .map(|a| {
                a.activity_id
                    .strip_suffix(MI_BODY_SUFFIX)
                    .unwrap_or(&a.activity_id)
                    .to_owned()
            })
            .unwrap_or_else(|| self.st.process_id.clone());
        let call = crate::script::ScriptCall {
            source,
            variables,
            local_variables,
            process_instance_id: &self.st.id,
            process_definition_id: self.env.process_definition_id,
            activity_id,
            activity_instance_id: self.ai,
            execution_id: ai
                .map(|a| a.execution_id.clone())
                .unwrap_or_else(|| self.st.id.clone()),
            business_key: self.st.business_key.as_deref(),
            event_name,
            task,
            now: self.now,
            seed: crate::script::seed_of(self.ai),
        };
        self.env
            .scripts
            .run(&call)
            .map_err(|message| crate::expr::ExprError { message })
    }
}

impl Scope for EvalScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        if let Some(o) = self.overlay {
            return o.get(name).cloned();
        }
        self.st.lookup_variable(self.ai, name).cloned()
    }

    fn variable_local(&self, name: &str) -> Option<Value> {
        if let Some(o) = self.overlay {
            return o.get(name).cloned();
        }
        self.st
            .activity_instances
            .get(self.ai)
            .and_then(|a| a.variables.get(name))
            .cloned()
    }

    fn execution_property(&self, name: &str) -> Option<Value> {
        let ai = self.st.activity_instances.get(self.ai);
        match name {
            "processInstanceId" => Some(Value::String(self.st.id.clone())),
            "processBusinessKey" | "businessKey" => self.st.business_key.clone().map(Value::String),
            "processDefinitionKey" => Some(Value::String(self.st.process_id.clone())),
            "activityInstanceId" => Some(Value::String(self.ai.to_owned())),
            "activityId" | "currentActivityId" => ai.map(|a| {
                Value::String(
                    a.activity_id
                        .strip_suffix(MI_BODY_SUFFIX)
                        .unwrap_or(&a.activity_id)
                        .to_owned(),
                )
            }),
            "id" => ai.map(|a| Value::String(a.execution_id.clone())),
            "processDefinitionId" => self
                .env
                .process_definition_id
                .map(|d| Value::String(d.to_owned())),
            _ => None,
        }
    }

    fn run_script(&self, source: &str) -> Result<crate::expr::Evaluated, crate::expr::ExprError> {
        self.run_script_with(source, None, None)
    }
}

impl Ctx<'_> {
    /// The activity instance `id`.
    pub fn ai(&self, id: &str) -> Result<&ActivityInstance, EngineError> {
        self.st
            .activity_instances
            .get(id)
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "activity instance",
                id: id.to_owned(),
            })
    }

    /// The activity instance `id`, mutable.
    pub fn ai_mut(&mut self, id: &str) -> Result<&mut ActivityInstance, EngineError> {
        self.st
            .activity_instances
            .get_mut(id)
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "activity instance",
                id: id.to_owned(),
            })
    }

    /// Whether the activity instance exists.
    pub fn exists(&self, id: &str) -> bool {
        self.st.activity_instances.contains_key(id)
    }

    /// Children of an activity instance in creation order.
    pub fn children(&self, id: &str) -> Vec<String> {
        let mut v: Vec<(i64, String)> = self
            .st
            .children_of(id)
            .map(|c| (c.internal.get(K_SEQ).copied().unwrap_or(0), c.id.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// The model node of an activity instance (`None` for the root).
    pub fn node_of(&self, id: &str) -> Result<Option<NodeIdx>, EngineError> {
        if id == self.st.id {
            return Ok(None);
        }
        let ai = self.ai(id)?;
        let aid = ai
            .activity_id
            .strip_suffix(MI_BODY_SUFFIX)
            .unwrap_or(&ai.activity_id);
        self.node_idx(aid).map(Some).ok_or_else(|| {
            EngineError::InvalidCommand(format!(
                "activity instance {id} points at '{aid}', which is not in process '{}'",
                self.p.id
            ))
        })
    }

    /// The model node of a non-root activity instance.
    pub fn node_req(&self, id: &str) -> Result<NodeIdx, EngineError> {
        self.node_of(id)?.ok_or_else(|| {
            EngineError::InvalidCommand("the process instance itself is not an activity".into())
        })
    }

    /// An internal counter of an activity instance.
    pub fn internal(&self, id: &str, key: &str) -> Option<i64> {
        self.st
            .activity_instances
            .get(id)
            .and_then(|a| a.internal.get(key).copied())
    }

    /// Set an internal counter.
    pub fn set_internal(&mut self, id: &str, key: &str, v: i64) -> Result<(), EngineError> {
        self.ai_mut(id)?.internal.insert(key.to_owned(), v);
        Ok(())
    }

    /// Whether the activity instance is a multi-instance body.
    pub fn is_body(&self, id: &str) -> bool {
        self.internal(id, K_MI_BODY).is_some()
    }

    /// Whether the activity instance is an inner instance of a multi-instance body.
    pub fn is_inner(&self, id: &str) -> bool {
        self.internal(id, K_MI_INNER).is_some()
    }

    /// Create an activity instance for `node` under `parent` (an MI body when the node is a
    /// multi-instance activity and `inner` is false). No history yet: that comes when its
    /// behaviour runs (after an async-before job, as in Camunda).
    pub fn create_instance(&mut self, node: NodeIdx, parent: &str, execution_id: String) -> String {
        let n = self.p.node(node);
        let body = n.multi_instance.is_some();
        // Scopes (subprocesses, multi-instance bodies) get an execution of their own, as in
        // Camunda; everything else runs on the execution of the token that entered it.
        let execution_id = if body || n.is_subprocess() {
            self.st.next_id()
        } else {
            execution_id
        };
        let activity_id = if body {
            format!("{}{MI_BODY_SUFFIX}", n.id)
        } else {
            n.id.clone()
        };
        let id = self.create_raw(activity_id, parent, execution_id);
        if body && let Some(ai) = self.st.activity_instances.get_mut(&id) {
            ai.internal.insert(K_MI_BODY.into(), 1);
        }
        id
    }

    /// Create an activity instance with the given activity id.
    pub fn create_raw(
        &mut self,
        activity_id: String,
        parent: &str,
        execution_id: String,
    ) -> String {
        let seq = self.st.next_id();
        let id = format!("{activity_id}:{seq}");
        let mut ai = ActivityInstance {
            id: id.clone(),
            activity_id,
            parent: Some(parent.to_owned()),
            execution_id,
            variables: Variables::new(),
            wait: None,
            listeners: Vec::new(),
            started_at: self.now,
            internal: Default::default(),
        };
        ai.internal.insert(K_SEQ.into(), self.st.next_seq as i64);
        self.st.activity_instances.insert(id.clone(), ai);
        id
    }

    /// Emit `ActivityStarted` for `id` once.
    pub fn start_history(&mut self, id: &str) -> Result<(), EngineError> {
        if self.internal(id, K_HIST).is_some() {
            return Ok(());
        }
        let activity_type = match self.node_of(id)? {
            Some(_) if self.is_body(id) => "multiInstanceBody",
            Some(n) => self.p.node(n).activity_type(),
            None => "processDefinition",
        };
        let ai = self.ai_mut(id)?;
        ai.internal.insert(K_HIST.into(), 1);
        let ev = HistoryEvent::ActivityStarted {
            activity_instance_id: ai.id.clone(),
            parent_activity_instance_id: ai.parent.clone().unwrap_or_default(),
            activity_id: ai.activity_id.clone(),
            activity_type: activity_type.to_owned(),
            execution_id: ai.execution_id.clone(),
            task_id: None,
            called_process_instance_id: None,
            at: self.now,
        };
        self.started_idx.insert(id.to_owned(), self.fx.len());
        self.fx.push(Effect::History(ev));
        Ok(())
    }

    /// Fill in the task id / called instance id of the `ActivityStarted` emitted in this apply.
    pub fn patch_started(&mut self, id: &str, task: Option<String>, called: Option<String>) {
        if let Some(&i) = self.started_idx.get(id)
            && let Some(Effect::History(HistoryEvent::ActivityStarted {
                task_id,
                called_process_instance_id,
                ..
            })) = self.fx.get_mut(i)
        {
            if task.is_some() {
                *task_id = task;
            }
            if called.is_some() {
                *called_process_instance_id = called;
            }
        }
    }

    /// Remove an activity instance that ended (its listeners and wait must be gone already),
    /// emitting `ActivityEnded`.
    pub fn end_instance(&mut self, id: &str, canceled: bool, complete_scope: bool) {
        if let Some(ai) = self.st.activity_instances.remove(id)
            && ai.internal.contains_key(K_HIST)
        {
            self.fx.push(Effect::History(HistoryEvent::ActivityEnded {
                activity_instance_id: ai.id,
                activity_id: ai.activity_id,
                canceled,
                complete_scope,
                at: self.now,
            }));
        }
    }

    /// An expression-evaluation scope at `ai`.
    pub fn scope_at<'s>(&'s self, ai: &'s str) -> EvalScope<'s> {
        EvalScope {
            st: self.st,
            ai,
            overlay: None,
            now: self.now,
            env: self.env,
        }
    }

    /// An evaluation scope over a plain variable map (call-activity out-mappings).
    pub fn scope_over<'s>(&'s self, ai: &'s str, vars: &'s Variables) -> EvalScope<'s> {
        EvalScope {
            st: self.st,
            ai,
            overlay: Some(vars),
            now: self.now,
            env: self.env,
        }
    }

    /// The element id to blame for an expression failure at `ai`.
    pub fn blame(&self, ai: &str) -> String {
        self.st
            .activity_instances
            .get(ai)
            .map(|a| {
                a.activity_id
                    .strip_suffix(MI_BODY_SUFFIX)
                    .unwrap_or(&a.activity_id)
                    .to_owned()
            })
            .unwrap_or_else(|| self.p.id.clone())
    }

    /// Evaluate `e` in the scope of `ai`.
    pub fn eval(&self, e: &Expression, ai: &str) -> Result<Value, EngineError> {
        e.eval(&self.scope_at(ai))
            .map_err(|err| EngineError::Expression {
                activity_id: self.blame(ai),
                message: err.message,
            })
    }

    /// Evaluate a condition in the scope of `ai`.
    pub fn eval_bool(&self, e: &Expression, ai: &str) -> Result<bool, EngineError> {
        e.eval_bool(&self.scope_at(ai))
            .map_err(|err| EngineError::Expression {
                activity_id: self.blame(ai),
                message: err.message,
            })
    }

    /// Evaluate to text in the scope of `ai`.
    pub fn eval_string(&self, e: &Expression, ai: &str) -> Result<Option<String>, EngineError> {
        e.eval_string(&self.scope_at(ai))
            .map_err(|err| EngineError::Expression {
                activity_id: self.blame(ai),
                message: err.message,
            })
    }

    /// Evaluate text that may hold an expression (message names) in the scope of `ai`.
    pub fn eval_text(&self, text: &str, ai: &str) -> Result<String, EngineError> {
        if !text.contains("${") && !text.contains("#{") && !text.trim_start().starts_with('=') {
            return Ok(text.to_owned());
        }
        let e = Expression::parse(text).map_err(|err| EngineError::Expression {
            activity_id: self.blame(ai),
            message: err.message,
        })?;
        Ok(self.eval_string(&e, ai)?.unwrap_or_default())
    }

    /// Set a variable from `ai`: locally, or on the nearest scope that has it, else the process
    /// instance.
    pub fn set_var(
        &mut self,
        ai: &str,
        name: &str,
        value: Value,
        local: bool,
    ) -> Result<(), EngineError> {
        let target = if local {
            ai.to_owned()
        } else {
            self.owner_of(ai, name)
                .unwrap_or_else(|| self.st.id.clone())
        };
        let scope = self.ai_mut(&target)?;
        scope.variables.insert(name.to_owned(), value.clone());
        self.fx.push(Effect::History(HistoryEvent::VariableSet {
            scope_id: target,
            name: name.to_owned(),
            value,
            at: self.now,
        }));
        self.dirty.insert(name.to_owned());
        Ok(())
    }

    /// Set every variable of `vars` from `ai`.
    pub fn set_vars(&mut self, ai: &str, vars: Variables, local: bool) -> Result<(), EngineError> {
        for (k, v) in vars {
            self.set_var(ai, &k, v, local)?;
        }
        Ok(())
    }

    /// Remove a variable (local: only on `ai`; else on the nearest scope that has it).
    pub fn delete_var(&mut self, ai: &str, name: &str, local: bool) {
        let target = if local {
            Some(ai.to_owned())
        } else {
            self.owner_of(ai, name)
        };
        if let Some(t) = target
            && let Some(scope) = self.st.activity_instances.get_mut(&t)
            && scope.variables.remove(name).is_some()
        {
            self.fx.push(Effect::History(HistoryEvent::VariableDeleted {
                scope_id: t,
                name: name.to_owned(),
                at: self.now,
            }));
            self.dirty.insert(name.to_owned());
        }
    }

    /// The nearest activity instance, from `ai` upwards, that holds `name`.
    fn owner_of(&self, ai: &str, name: &str) -> Option<String> {
        let mut cursor = self.st.activity_instances.get(ai);
        while let Some(a) = cursor {
            if a.variables.contains_key(name) {
                return Some(a.id.clone());
            }
            cursor = a
                .parent
                .as_ref()
                .and_then(|p| self.st.activity_instances.get(p));
        }
        None
    }

    /// Build the value of an input/output parameter in the scope of `ai`.
    pub fn io_value(&self, v: &IoValue, ai: &str) -> Result<Value, EngineError> {
        // Explicit stack: nested lists/maps are shallow in practice, but stay iterative anyway.
        Ok(match v {
            IoValue::Null => Value::Null,
            IoValue::Expression(e) => self.eval(e, ai)?,
            IoValue::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.io_value(i, ai)?.to_json());
                }
                Value::Json(serde_json::Value::Array(out))
            }
            IoValue::Map(entries) => {
                let mut out = serde_json::Map::new();
                for (k, i) in entries {
                    out.insert(k.clone(), self.io_value(i, ai)?.to_json());
                }
                Value::Json(serde_json::Value::Object(out))
            }
        })
    }

    /// Input mappings: evaluated at `ai` before it has locals of its own (so, in the parent
    /// scope, plus multi-instance loop variables), then set locally on `ai`.
    pub fn apply_inputs(&mut self, ai: &str, node: &FlowNode) -> Result<(), EngineError> {
        if node.io.inputs.is_empty() || self.modify_flags.skip_io {
            return Ok(());
        }
        let mut values = Vec::with_capacity(node.io.inputs.len());
        for param in &node.io.inputs {
            values.push((param.name.clone(), self.io_value(&param.value, ai)?));
        }
        for (k, v) in values {
            self.set_var(ai, &k, v, true)?;
        }
        Ok(())
    }

    /// Output mappings: evaluated at `ai`, set from its parent scope (non-local). Once.
    pub fn apply_outputs(&mut self, ai: &str, node: &FlowNode) -> Result<(), EngineError> {
        if node.io.outputs.is_empty()
            || self.modify_flags.skip_io
            || self.internal(ai, K_OUTPUTS_DONE).is_some()
        {
            return Ok(());
        }
        self.set_internal(ai, K_OUTPUTS_DONE, 1)?;
        let parent = self
            .ai(ai)?
            .parent
            .clone()
            .unwrap_or_else(|| self.st.id.clone());
        for param in &node.io.outputs {
            let v = self.io_value(&param.value, ai)?;
            self.set_var(&parent, &param.name, v, false)?;
        }
        Ok(())
    }
}
