//! In-engine logic: `camunda:expression` tasks and expression listeners (execution listeners
//! on processes, activities and sequence flows; task listeners on user tasks), evaluated
//! synchronously inside `apply`.
//!
//! An expression only *asks* for changes ([`Write`]s from [`Expression::eval_mut`]); they are
//! applied here with the usual variable rules, in order, so history and conditional events
//! see them like any other variable change. A failing expression fails the command (Camunda
//! rolls the transaction back the same way), blaming the element and naming the listener.

use super::exec::{Ctx, Work};
use super::{EngineError, UserTaskSpec};
use crate::expr::{Expression, Scope, Write};
use crate::model::{
    ExecutionEvent, ExecutionListener, ExpressionImpl, TaskEvent, TaskListener, UserTaskDef,
};
use crate::value::Value;

/// Marks the listener entry (on a user task's activity instance) of a `timeout` task
/// listener's timer: `<activity id>#timeout:<index of the task listener>`.
pub(super) const TIMEOUT_MARK: &str = "#timeout:";

/// Internal key: end listeners of this activity instance have fired.
const K_END_DONE: &str = "endListenersDone";

/// A scope that adds `execution.eventName` and, in task listeners, the `task` object to the
/// activity instance's scope.
struct ListenerScope<'s> {
    inner: &'s super::scope::EvalScope<'s>,
    event: Option<&'static str>,
    task: Option<&'s UserTaskSpec>,
}

impl Scope for ListenerScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.inner.variable(name)
    }

    fn execution_property(&self, name: &str) -> Option<Value> {
        match (name, self.event) {
            ("eventName", Some(e)) => Some(Value::String(e.to_owned())),
            _ => self.inner.execution_property(name),
        }
    }

    fn variable_local(&self, name: &str) -> Option<Value> {
        self.inner.variable_local(name)
    }

    fn has_task(&self) -> bool {
        self.task.is_some()
    }

    fn task_property(&self, name: &str) -> Option<Value> {
        let t = self.task?;
        let text = |s: &Option<String>| s.clone().map(Value::String);
        match name {
            "id" => Some(Value::String(t.task_id.clone())),
            "name" => text(&t.name),
            "description" => text(&t.description),
            "assignee" => text(&t.assignee),
            "priority" => Some(Value::Integer(t.priority)),
            "dueDate" => t.due.map(Value::Date),
            "followUpDate" => t.follow_up.map(Value::Date),
            "taskDefinitionKey" => Some(Value::String(t.activity_id.clone())),
            "executionId" => Some(Value::String(t.execution_id.clone())),
            "formKey" => text(&t.form_key),
            "eventName" => self.event.map(|e| Value::String(e.to_owned())),
            "processInstanceId" => self.inner.execution_property("processInstanceId"),
            "processDefinitionId" => self.inner.execution_property("processDefinitionId"),
            _ => None,
        }
    }

    fn run_script(&self, source: &str) -> Result<crate::expr::Evaluated, crate::expr::ExprError> {
        let task = self.task.map(|t| {
            serde_json::json!({
                "id": t.task_id,
                "name": t.name,
                "description": t.description,
                "assignee": t.assignee,
                "priority": t.priority,
                "dueDate": t.due,
                "followUpDate": t.follow_up,
                "taskDefinitionKey": t.activity_id,
                "executionId": t.execution_id,
                "formKey": t.form_key,
                "eventName": self.event,
                "processInstanceId": self.inner.execution_property("processInstanceId")
                    .and_then(|v| v.as_str().map(str::to_owned)),
                "processDefinitionId": self.inner.execution_property("processDefinitionId")
                    .and_then(|v| v.as_str().map(str::to_owned)),
            })
        });
        self.inner.run_script_with(source, self.event, task)
    }
}

impl Ctx<'_> {
    /// Evaluate `e` at `ai` where it may change things, and apply its writes. `what` names the
    /// construct in an error; `task` is the user task a task listener sees (and shapes).
    fn run_expression(
        &mut self,
        ai: &str,
        e: &Expression,
        what: &str,
        event: Option<&'static str>,
        mut task: Option<&mut UserTaskSpec>,
    ) -> Result<Value, EngineError> {
        let result = {
            let base = self.scope_at(ai);
            let scope = ListenerScope {
                inner: &base,
                event,
                task: task.as_deref(),
            };
            e.eval_mut(&scope)
        };
        let evaluated = result.map_err(|err| EngineError::Expression {
            activity_id: self.blame(ai),
            message: format!("{what}: {}", err.message),
        })?;
        for w in evaluated.writes {
            match w {
                Write::SetVariable { name, value, local } => {
                    self.set_var(ai, &name, value, local)?
                }
                Write::RemoveVariable { name, local } => self.delete_var(ai, &name, local),
                Write::SetTaskProperty { property, value } => match task.as_deref_mut() {
                    Some(spec) => set_task_property(spec, &property, value).map_err(|message| {
                        EngineError::Expression {
                            activity_id: self.blame(ai),
                            message: format!("{what}: {message}"),
                        }
                    })?,
                    None => {
                        return Err(EngineError::Expression {
                            activity_id: self.blame(ai),
                            message: format!("{what}: there is no task here"),
                        });
                    }
                },
            }
        }
        Ok(evaluated.value)
    }

    /// A `camunda:expression` task or a script task: evaluate, store `resultVariable`, and
    /// leave.
    pub fn run_expression_task(
        &mut self,
        id: &str,
        imp: &ExpressionImpl,
    ) -> Result<(), EngineError> {
        let is_script = self.node_req(id).is_ok_and(|idx| {
            matches!(&self.p.node(idx).kind, crate::model::NodeKind::ServiceTask(d)
                if d.kind == crate::model::ServiceKind::Script)
        });
        let what = if is_script {
            "script"
        } else {
            "camunda:expression"
        };
        let value = self.run_expression(id, &imp.expression, what, None, None)?;
        if let Some(var) = &imp.result_variable {
            // Camunda: execution.setVariable(resultVariable, value), a non-local write.
            self.set_var(id, var, value, false)?;
        }
        self.push(Work::Leave(id.to_owned()));
        Ok(())
    }

    /// Fire the execution listeners for `event` at `ai`, in document order.
    pub fn fire_execution_listeners(
        &mut self,
        ai: &str,
        listeners: &[ExecutionListener],
        event: ExecutionEvent,
    ) -> Result<(), EngineError> {
        if self.modify_flags.skip_listeners {
            return Ok(());
        }
        let name = match event {
            ExecutionEvent::Start => "start",
            ExecutionEvent::End => "end",
            ExecutionEvent::Take => "take",
        };
        for l in listeners.iter().filter(|l| l.event == event) {
            let what = format!("execution listener ({name}) '{}'", l.expression.source());
            self.run_expression(ai, &l.expression, &what, Some(name), None)?;
        }
        Ok(())
    }

    /// Fire an activity's end listeners once (leaving may be resumed after an async-after job).
    pub fn fire_end_listeners(
        &mut self,
        ai: &str,
        listeners: &[ExecutionListener],
    ) -> Result<(), EngineError> {
        if listeners.is_empty() || self.internal(ai, K_END_DONE).is_some() {
            return Ok(());
        }
        self.set_internal(ai, K_END_DONE, 1)?;
        self.fire_execution_listeners(ai, listeners, ExecutionEvent::End)
    }

    /// Fire the task listeners of `def` for `event` at `ai`; they may change `spec`.
    pub fn fire_task_listeners(
        &mut self,
        ai: &str,
        def: &UserTaskDef,
        event: TaskEvent,
        spec: &mut UserTaskSpec,
    ) -> Result<(), EngineError> {
        let listeners: Vec<&TaskListener> = def
            .task_listeners
            .iter()
            .filter(|l| l.event == event)
            .collect();
        for l in listeners {
            let what = format!(
                "task listener ({}) '{}'",
                event.name(),
                l.expression.source()
            );
            self.run_expression(ai, &l.expression, &what, Some(event.name()), Some(spec))?;
        }
        Ok(())
    }

    /// Fire task listeners where the host holds the task (complete, delete): the listener sees
    /// the task's id, name and definition key; what it sets on the task is moot, the task ends.
    pub fn fire_ending_task_listeners(
        &mut self,
        ai: &str,
        task_id: &str,
        event: TaskEvent,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let idx = self.node_req(ai)?;
        let node = p.node(idx);
        let crate::model::NodeKind::UserTask(def) = &node.kind else {
            return Ok(());
        };
        if def.task_listeners.iter().all(|l| l.event != event) {
            return Ok(());
        }
        let mut spec = UserTaskSpec {
            task_id: task_id.to_owned(),
            activity_instance_id: ai.to_owned(),
            execution_id: self.ai(ai)?.execution_id.clone(),
            activity_id: node.id.clone(),
            name: node.name.clone(),
            description: node.documentation.clone(),
            assignee: None,
            candidate_users: Vec::new(),
            candidate_groups: Vec::new(),
            due: None,
            follow_up: None,
            priority: 50,
            form_key: def.form_key.clone(),
        };
        self.fire_task_listeners(ai, def, event, &mut spec)
    }
}

impl Ctx<'_> {
    /// `Command::UpdateTask`: fire `update`, then (when the assignee changed) `assignment`
    /// listeners of the waiting user task, and hand the host the task they shaped.
    pub fn update_task(
        &mut self,
        mut spec: UserTaskSpec,
        assignee_changed: bool,
    ) -> Result<(), EngineError> {
        let ai = self
            .st
            .find_task(&spec.task_id)
            .filter(|a| matches!(a.wait, Some(super::Wait::UserTask { .. })))
            .map(|a| a.id.clone())
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "task",
                id: spec.task_id.clone(),
            })?;
        let p = self.p;
        let idx = self.node_req(&ai)?;
        let crate::model::NodeKind::UserTask(def) = &p.node(idx).kind else {
            return Err(EngineError::InvalidCommand(format!(
                "task {} is not a user task",
                spec.task_id
            )));
        };
        self.fire_task_listeners(&ai, def, TaskEvent::Update, &mut spec)?;
        if assignee_changed {
            self.fire_task_listeners(&ai, def, TaskEvent::Assignment, &mut spec)?;
        }
        self.fx.push(super::Effect::UpdateUserTask(spec));
        Ok(())
    }
}

impl Ctx<'_> {
    /// Arm the timers of the `timeout` task listeners of a user task just created at `ai`.
    /// They are listener entries of `ai`, so leaving the task cancels them like boundary
    /// timers.
    pub fn arm_timeout_listeners(
        &mut self,
        ai: &str,
        def: &UserTaskDef,
        activity_id: &str,
    ) -> Result<(), EngineError> {
        for (i, l) in def.task_listeners.iter().enumerate() {
            let Some(timer) = &l.timer else {
                continue;
            };
            let due = self.timer_due(timer, ai, activity_id)?;
            let timer_id = self.st.next_id();
            self.fx.push(super::Effect::ScheduleTimer {
                timer_id: timer_id.clone(),
                activity_instance_id: ai.to_owned(),
                activity_id: activity_id.to_owned(),
                due,
            });
            self.ai_mut(ai)?.listeners.push(super::Listener {
                id: timer_id,
                event_activity_id: format!("{activity_id}{TIMEOUT_MARK}{i}"),
            });
        }
        Ok(())
    }

    /// A `timeout` listener's timer fired at the user task `owner`: run the listener once
    /// (the task stays) and hand the host what it changed on the task. The listener sees the
    /// task's id, name and definition key; properties changed through REST since creation are
    /// the host's, so it sees the model's values for those.
    pub fn fire_timeout_listener(
        &mut self,
        owner: &str,
        l: &super::Listener,
    ) -> Result<(), EngineError> {
        if let Some(ai) = self.st.activity_instances.get_mut(owner) {
            ai.listeners.retain(|x| x.id != l.id);
        }
        let index: Option<usize> = l
            .event_activity_id
            .rsplit(TIMEOUT_MARK)
            .next()
            .and_then(|i| i.parse().ok());
        let p = self.p;
        let idx = self.node_req(owner)?;
        let node = p.node(idx);
        let crate::model::NodeKind::UserTask(def) = &node.kind else {
            return Ok(());
        };
        let Some(listener) = index.and_then(|i| def.task_listeners.get(i)) else {
            return Ok(());
        };
        let Some(super::Wait::UserTask { task_id }) = self.ai(owner)?.wait.clone() else {
            return Err(EngineError::NotWaiting {
                kind: "task",
                id: owner.to_owned(),
            });
        };
        let mut spec = UserTaskSpec {
            task_id,
            activity_instance_id: owner.to_owned(),
            execution_id: self.ai(owner)?.execution_id.clone(),
            activity_id: node.id.clone(),
            name: node.name.clone(),
            description: node.documentation.clone(),
            assignee: None,
            candidate_users: Vec::new(),
            candidate_groups: Vec::new(),
            due: None,
            follow_up: None,
            priority: 50,
            form_key: def.form_key.clone(),
        };
        let before = spec.clone();
        let what = format!("task listener (timeout) '{}'", listener.expression.source());
        self.run_expression(
            owner,
            &listener.expression,
            &what,
            Some(TaskEvent::Timeout.name()),
            Some(&mut spec),
        )?;
        let patch = super::UserTaskPatch::between(&before, &spec);
        if !patch.is_empty() {
            self.fx.push(super::Effect::PatchUserTask(patch));
        }
        Ok(())
    }
}

/// Apply `task.setX(value)` to the task about to be created.
fn set_task_property(spec: &mut UserTaskSpec, property: &str, value: Value) -> Result<(), String> {
    let text = |v: &Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(crate::expr::to_display_string(other)),
    };
    let date = |v: &Value| match v {
        Value::Null => Ok(None),
        Value::Date(ms) => Ok(Some(*ms)),
        Value::String(s) => crate::timer::parse_date(s.trim())
            .map(Some)
            .map_err(|e| e.to_string()),
        other => Err(format!("a {} value is not a date", other.type_name())),
    };
    match property {
        "assignee" => spec.assignee = text(&value),
        "name" => spec.name = text(&value),
        "description" => spec.description = text(&value),
        "priority" => {
            let p = match &value {
                Value::String(s) => s.trim().parse::<i64>().ok(),
                v => v.as_i64(),
            };
            spec.priority = p.and_then(|p| i32::try_from(p).ok()).ok_or_else(|| {
                format!(
                    "task priority must be an integer, not '{}'",
                    text(&value).unwrap_or_default()
                )
            })?;
        }
        "dueDate" => spec.due = date(&value)?,
        "followUpDate" => spec.follow_up = date(&value)?,
        // The owner is not part of what the state machine hands the host.
        "owner" => {
            return Err("task.setOwner() is not supported: baton user tasks have no owner".into());
        }
        other => return Err(format!("task.{other} cannot be set")),
    }
    Ok(())
}
