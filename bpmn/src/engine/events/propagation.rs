//! BPMN error and escalation propagation, as Camunda 7 does it: from the throwing activity
//! instance outwards, each level looks first at the boundary events of the activity, then at
//! the event subprocesses of the enclosing scope, then at the boundary events of that scope's
//! activity, and so on; within one level an event with a matching code wins over a catch-all
//! one. Firing the catching event is the parent module's (`boundary_fire`, `esp_fire`).

use super::super::exec::{Ctx, Payload, Work};
use super::super::{Effect, EngineError, ThrownKind, UncaughtErrors, Wait};
use super::trigger_of;
use crate::model::{EventTrigger, NodeIdx, NodeKind};
use crate::value::Value;

/// What is being thrown.
#[derive(Debug, Clone, Copy)]
enum Thrown<'x> {
    /// A BPMN error with this code.
    Error(&'x str),
    /// An escalation with this code.
    Escalation(&'x str),
}

/// Where a thrown error or escalation is caught.
#[derive(Debug, Clone)]
struct Catch {
    /// The activity instance the boundary event is attached to, or the scope instance holding
    /// the event subprocess.
    pub owner: String,
    /// The boundary event or event-subprocess start event.
    pub event: NodeIdx,
    /// An event subprocess (else a boundary event).
    pub esp: bool,
}

impl Ctx<'_> {
    /// Whether an activity instance carries boundary events (not the root, not an inner
    /// multi-instance instance: those are attached to the body).
    fn is_carrier(&self, id: &str) -> Result<bool, EngineError> {
        if id == self.st.id || self.is_inner(id) {
            return Ok(false);
        }
        Ok(self
            .node_of(id)?
            .is_some_and(|n| !self.p.node(n).boundary_events.is_empty()))
    }

    /// Match a trigger against what was thrown: Some(true) = specific, Some(false) = catch-all.
    fn matches(trigger: &EventTrigger, thrown: Thrown<'_>) -> Option<bool> {
        match (trigger, thrown) {
            (EventTrigger::Error { code, .. }, Thrown::Error(c))
            | (EventTrigger::Escalation { code, .. }, Thrown::Escalation(c)) => match code {
                None => Some(false),
                Some(code) if code == c => Some(true),
                Some(_) => None,
            },
            _ => None,
        }
    }

    /// The best match among candidate event nodes: a specific code beats a catch-all.
    fn best(
        &self,
        candidates: impl Iterator<Item = NodeIdx>,
        thrown: Thrown<'_>,
    ) -> Option<NodeIdx> {
        let mut catch_all = None;
        for c in candidates {
            if let Some(t) = trigger_of(&self.p.node(c).kind) {
                match Self::matches(t, thrown) {
                    Some(true) => return Some(c),
                    Some(false) if catch_all.is_none() => catch_all = Some(c),
                    _ => {}
                }
            }
        }
        catch_all
    }

    /// Where an error or escalation thrown at `from` is caught.
    fn find_catch(&self, from: &str, thrown: Thrown<'_>) -> Result<Option<Catch>, EngineError> {
        let p = self.p;
        let boundary = |ctx: &Self, id: &str| -> Result<Option<Catch>, EngineError> {
            if !ctx.is_carrier(id)? {
                return Ok(None);
            }
            let node = ctx.node_req(id)?;
            Ok(ctx
                .best(p.node(node).boundary_events.iter().copied(), thrown)
                .map(|event| Catch {
                    owner: id.to_owned(),
                    event,
                    esp: false,
                }))
        };
        if let Some(c) = boundary(self, from)? {
            return Ok(Some(c));
        }
        let mut cur = from.to_owned();
        loop {
            let Some(parent) = self.ai(&cur)?.parent.clone() else {
                return Ok(None);
            };
            if !self.is_body(&parent) {
                let scope_node = self.node_of(&parent)?;
                let skip = self.node_of(&cur)?;
                let starts = p
                    .nodes_in_scope(scope_node)
                    .filter(|&n| {
                        Some(n) != skip
                            && matches!(
                                p.node(n).kind,
                                NodeKind::SubProcess {
                                    triggered_by_event: true
                                }
                            )
                    })
                    .flat_map(|esp| {
                        p.nodes_in_scope(Some(esp))
                            .filter(|&s| matches!(p.node(s).kind, NodeKind::StartEvent { .. }))
                    });
                if let Some(event) = self.best(starts, thrown) {
                    return Ok(Some(Catch {
                        owner: parent,
                        event,
                        esp: true,
                    }));
                }
            }
            if let Some(c) = boundary(self, &parent)? {
                return Ok(Some(c));
            }
            cur = parent;
        }
    }

    /// Route a caught error or escalation; returns the catching event's activity instance.
    fn fire_catch(&mut self, c: &Catch, interrupting: bool) -> Result<String, EngineError> {
        if c.esp {
            self.esp_fire(&c.owner, c.event, interrupting, None, Payload::default())
        } else {
            self.boundary_fire(&c.owner, c.event, interrupting, None, Payload::default())
        }
    }

    /// Set `camunda:errorCodeVariable` / `errorMessageVariable` from the catching event.
    fn set_error_vars(
        &mut self,
        event: NodeIdx,
        at: &str,
        code: &str,
        message: Option<String>,
    ) -> Result<(), EngineError> {
        let p = self.p;
        if let Some(EventTrigger::Error {
            code_variable,
            message_variable,
            ..
        }) = trigger_of(&p.node(event).kind)
        {
            if let Some(v) = code_variable {
                self.set_var(at, v, Value::String(code.to_owned()), false)?;
            }
            if let Some(v) = message_variable {
                let m = message.map(Value::String).unwrap_or(Value::Null);
                self.set_var(at, v, m, false)?;
            }
        }
        Ok(())
    }

    /// Propagate a BPMN error thrown at the activity instance `from`.
    pub fn propagate_error(
        &mut self,
        from: &str,
        code: &str,
        message: Option<String>,
    ) -> Result<(), EngineError> {
        let Some(c) = self.find_catch(from, Thrown::Error(code))? else {
            return self.uncaught_error(from, code, message);
        };
        let at = self.fire_catch(&c, true)?;
        self.set_error_vars(c.event, &at, code, message)
    }

    /// An error end event (or error throw) was reached: it ends, then the error propagates.
    pub fn throw_error_from_event(
        &mut self,
        id: &str,
        code: &str,
        message: Option<String>,
    ) -> Result<(), EngineError> {
        let Some(c) = self.find_catch(id, Thrown::Error(code))? else {
            return self.uncaught_error(id, code, message);
        };
        self.end_instance(id, false, false);
        let at = self.fire_catch(&c, true)?;
        self.set_error_vars(c.event, &at, code, message)
    }

    /// An error nothing in this instance catches, thrown at the activity instance `from`.
    ///
    /// Camunda (BpmnExceptionHandler.propagateError) walks on into the calling instance; when
    /// nothing catches it there either, the throwing execution ends with none end event
    /// semantics, unless `enableExceptionsAfterUnhandledBpmnError` makes it an exception.
    /// Here: in a called instance the error goes to the caller ([`Effect::ThrowToCaller`]) and
    /// the throwing execution ends; at a call activity whose child's error nobody catches the
    /// call activity keeps waiting (its child already ended that execution); elsewhere
    /// [`UncaughtErrors`] decides.
    fn uncaught_error(
        &mut self,
        from: &str,
        code: &str,
        message: Option<String>,
    ) -> Result<(), EngineError> {
        // A call activity relaying its child's error: the execution that threw it lives in
        // the child and has ended there already.
        let relayed = matches!(self.ai(from)?.wait, Some(Wait::CallActivity { .. }));
        if let Some(caller) = self.st.super_instance.clone() {
            self.fx.push(Effect::ThrowToCaller {
                caller,
                kind: ThrownKind::Error,
                code: code.to_owned(),
                message,
            });
        } else if self.options.uncaught_errors == UncaughtErrors::Fail {
            return Err(EngineError::UnhandledError {
                code: code.to_owned(),
                activity_id: self.blame(from),
            });
        } else if !relayed {
            self.fx.push(Effect::UncaughtError {
                activity_id: self.blame(from),
                code: code.to_owned(),
                message,
            });
        }
        if !relayed {
            self.end_execution(from);
        }
        Ok(())
    }

    /// End the activity instance `id` without taking its outgoing flows (none end event
    /// semantics); its scope completes when nothing else is left in it.
    fn end_execution(&mut self, id: &str) {
        if !self.exists(id) {
            return;
        }
        let parent = self
            .st
            .activity_instances
            .get(id)
            .and_then(|a| a.parent.clone())
            .unwrap_or_else(|| self.st.id.clone());
        self.drop_listeners(id, None);
        let complete_scope = self.children(&parent).len() == 1;
        self.end_instance(id, false, complete_scope);
        self.push(Work::ScopeCheck(parent));
    }

    /// `Command::ChildEscalation`: an escalation the child instance did not catch, thrown at
    /// the call activity waiting for it.
    pub fn child_escalation(
        &mut self,
        child_instance_id: &str,
        code: &str,
    ) -> Result<(), EngineError> {
        let from = self.call_activity_of(child_instance_id)?;
        self.throw_escalation(&from, code)
    }

    /// `Command::TaskEscalation`: an escalation thrown from the waiting user task `task_id`
    /// after `variables` are set from it. Unlike an escalation end or throw event, Camunda
    /// refuses one that nothing catches.
    pub fn task_escalation(
        &mut self,
        task_id: &str,
        code: &str,
        variables: crate::value::Variables,
    ) -> Result<(), EngineError> {
        let from = self
            .st
            .find_task(task_id)
            .filter(|ai| matches!(ai.wait, Some(Wait::UserTask { .. })))
            .map(|ai| ai.id.clone())
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "user task",
                id: task_id.to_owned(),
            })?;
        if self.find_catch(&from, Thrown::Escalation(code))?.is_none() {
            return Err(EngineError::InvalidCommand(format!(
                "ENGINE-02043 Execution with id '{from}' throws an escalation event with escalationCode '{code}', but no escalation handler was defined. "
            )));
        }
        for (k, v) in variables {
            self.set_var(&from, &k, v, false)?;
        }
        self.throw_escalation(&from, code)
    }

    /// The call activity instance waiting for the child instance `child_instance_id`.
    fn call_activity_of(&self, child_instance_id: &str) -> Result<String, EngineError> {
        self.st
            .activity_instances
            .values()
            .find(|a| {
                matches!(&a.wait, Some(Wait::CallActivity { child_instance_id: c })
                    if c == child_instance_id)
            })
            .map(|a| a.id.clone())
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "call activity for process instance",
                id: child_instance_id.to_owned(),
            })
    }

    /// `Command::ThrowError`: from a waiting external or user task, or (with the child instance
    /// id as `task_id`) from the child instance of a call activity, which then targets the call
    /// activity.
    pub fn throw_error_command(
        &mut self,
        task_id: &str,
        code: &str,
        message: Option<String>,
        variables: crate::value::Variables,
    ) -> Result<(), EngineError> {
        let from = if let Some(ai) = self.st.find_task(task_id) {
            let id = ai.id.clone();
            // The host has finished the task: no CancelTask for it.
            self.ai_mut(&id)?.wait = None;
            id
        } else {
            self.call_activity_of(task_id)
                .map_err(|_| EngineError::NotWaiting {
                    kind: "task",
                    id: task_id.to_owned(),
                })?
        };
        self.set_vars(&from, variables, false)?;
        self.propagate_error(&from, code, message)
    }

    /// Throw an escalation at `from`; uncaught escalations are ignored (Camunda continues).
    pub fn throw_escalation(&mut self, from: &str, code: &str) -> Result<(), EngineError> {
        let p = self.p;
        let Some(c) = self.find_catch(from, Thrown::Escalation(code))? else {
            // Uncaught here: a called instance hands it to its caller; otherwise Camunda
            // continues as if nothing was thrown.
            if let Some(caller) = self.st.super_instance.clone() {
                self.fx.push(Effect::ThrowToCaller {
                    caller,
                    kind: ThrownKind::Escalation,
                    code: code.to_owned(),
                    message: None,
                });
            }
            return Ok(());
        };
        let interrupting = match &p.node(c.event).kind {
            NodeKind::BoundaryEvent {
                cancel_activity, ..
            } => *cancel_activity,
            NodeKind::StartEvent { interrupting, .. } => *interrupting,
            _ => true,
        };
        let at = self.fire_catch(&c, interrupting)?;
        if let Some(EventTrigger::Escalation {
            code_variable: Some(v),
            ..
        }) = trigger_of(&p.node(c.event).kind)
        {
            self.set_var(&at, v, Value::String(code.to_owned()), false)?;
        }
        Ok(())
    }
}
