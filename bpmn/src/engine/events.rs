//! Events: listeners (boundary events, event-subprocess start events, the targets of an
//! event-based gateway), their triggers, BPMN error and escalation propagation, conditional
//! re-evaluation, timers, and cancellation of activity-instance subtrees with their effects.
//!
//! How errors and escalations find their catching event is [`propagation`]'s; this module
//! fires what they find.

mod propagation;

use super::exec::{Ctx, Payload, Work};
use super::{Effect, EngineError, Listener, Wait};
use crate::model::{EventTrigger, NodeIdx, NodeKind, TaskEvent, TimerDefinition};
use crate::timer::{self, TimerKind};

/// What kind of effect a listener or wait holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenerKind {
    Timer,
    Subscription,
    Conditional,
    None,
}

/// The trigger of an event node (start, boundary, catch).
fn trigger_of(kind: &NodeKind) -> Option<&EventTrigger> {
    match kind {
        NodeKind::StartEvent { trigger, .. }
        | NodeKind::BoundaryEvent { trigger, .. }
        | NodeKind::IntermediateCatchEvent { trigger } => Some(trigger),
        _ => None,
    }
}

impl Ctx<'_> {
    fn listener_kind(&self, event_activity_id: &str) -> ListenerKind {
        if event_activity_id.contains(super::listeners::TIMEOUT_MARK) {
            return ListenerKind::Timer;
        }
        let Some(idx) = self.node_idx(event_activity_id) else {
            return ListenerKind::None;
        };
        let kind = &self.p.node(idx).kind;
        if matches!(kind, NodeKind::ReceiveTask { .. }) {
            return ListenerKind::Subscription;
        }
        match trigger_of(kind) {
            Some(EventTrigger::Timer(_)) => ListenerKind::Timer,
            Some(
                EventTrigger::Message { .. }
                | EventTrigger::Signal { .. }
                | EventTrigger::Multiple { .. },
            ) => ListenerKind::Subscription,
            Some(EventTrigger::Conditional { .. }) => ListenerKind::Conditional,
            _ => ListenerKind::None,
        }
    }

    fn listener_cancel_effect(&mut self, l: &Listener) {
        match self.listener_kind(&l.event_activity_id) {
            ListenerKind::Timer => self.fx.push(Effect::CancelTimer {
                timer_id: l.id.clone(),
            }),
            ListenerKind::Subscription => self.fx.push(Effect::Unsubscribe {
                subscription_id: l.id.clone(),
            }),
            ListenerKind::Conditional | ListenerKind::None => {}
        }
    }

    /// Remove every listener of `id`, emitting cancel effects except for `fired` (the host has
    /// consumed that one already).
    pub fn drop_listeners(&mut self, id: &str, fired: Option<&str>) {
        self.drop_listeners_where(id, fired, |_| true);
    }

    /// Remove the listeners of `id` whose event node satisfies `pred`.
    fn drop_listeners_where(
        &mut self,
        id: &str,
        fired: Option<&str>,
        pred: impl Fn(Option<NodeIdx>) -> bool,
    ) {
        let Some(ai) = self.st.activity_instances.get_mut(id) else {
            return;
        };
        let all = std::mem::take(&mut ai.listeners);
        let mut keep = Vec::new();
        let mut dropped = Vec::new();
        for l in all {
            if pred(self.node_idx(&l.event_activity_id)) {
                dropped.push(l);
            } else {
                keep.push(l);
            }
        }
        if let Some(ai) = self.st.activity_instances.get_mut(id) {
            ai.listeners = keep;
        }
        for l in dropped {
            if Some(l.id.as_str()) != fired {
                self.listener_cancel_effect(&l);
            }
        }
    }

    /// Remove one listener without an effect (it just fired).
    fn remove_listener(&mut self, owner: &str, listener_id: &str) {
        if let Some(ai) = self.st.activity_instances.get_mut(owner) {
            ai.listeners.retain(|l| l.id != listener_id);
        }
    }

    /// Emit the effect that undoes what `id` waits for, and clear the wait.
    fn cancel_wait(&mut self, id: &str) {
        let Some(wait) = self
            .st
            .activity_instances
            .get_mut(id)
            .and_then(|a| a.wait.take())
        else {
            return;
        };
        match wait {
            Wait::UserTask { task_id } => {
                if let Err(e) = self.fire_ending_task_listeners(id, &task_id, TaskEvent::Delete)
                    && self.pending.is_none()
                {
                    self.pending = Some(e);
                }
                self.fx.push(Effect::CancelTask { task_id })
            }
            Wait::ExternalTask { task_id, .. } => self.fx.push(Effect::CancelTask { task_id }),
            Wait::Timer { timer_id } => self.fx.push(Effect::CancelTimer { timer_id }),
            Wait::Message { subscription_id } | Wait::Signal { subscription_id } => {
                self.fx.push(Effect::Unsubscribe { subscription_id })
            }
            Wait::Job { job_id } => self.fx.push(Effect::CancelJob { job_id }),
            Wait::CallActivity { child_instance_id } => self
                .fx
                .push(Effect::CancelChildInstance { child_instance_id }),
            Wait::Condition
            | Wait::EventGateway
            | Wait::Join
            | Wait::Trigger
            | Wait::Compensation => {}
        }
    }

    /// Cancel `id` and everything below it, leaves first: cancel effects for tasks, timers,
    /// subscriptions, jobs and child instances, and `ActivityEnded{canceled: true}`.
    pub fn cancel_subtree(&mut self, id: &str) {
        let mut order = Vec::new();
        let mut stack = vec![(id.to_owned(), false)];
        while let Some((x, expanded)) = stack.pop() {
            if expanded {
                order.push(x);
            } else {
                let children = self.children(&x);
                stack.push((x, true));
                for c in children.into_iter().rev() {
                    stack.push((c, false));
                }
            }
        }
        for x in order {
            self.cancel_wait(&x);
            self.drop_listeners(&x, None);
            self.end_instance(&x, true, false);
        }
    }

    /// When a timer definition is due, evaluated at `ai` (expressions inside first). The rule
    /// itself is [`crate::timer::due_at`], shared with the host's scheduler and `baton run`.
    pub fn timer_due(
        &self,
        def: &TimerDefinition,
        ai: &str,
        event_id: &str,
    ) -> Result<i64, EngineError> {
        let (TimerDefinition::Date(e) | TimerDefinition::Duration(e) | TimerDefinition::Cycle(e)) =
            def;
        // Evaluated here, not by `timer::timer_due`: an expression error blames the activity
        // instance's element, the timer's own problems blame the event.
        let value = self.eval(e, ai)?;
        timer::due_at(TimerKind::of(def), &value, self.now).map_err(|err| EngineError::Expression {
            activity_id: event_id.to_owned(),
            message: err.to_string(),
        })
    }

    /// Subscribe `owner` to the message `name` for the catching element `event`.
    pub fn subscribe_message(
        &mut self,
        owner: &str,
        eval_at: &str,
        event: NodeIdx,
        name: &str,
    ) -> Result<String, EngineError> {
        let message_name = self.eval_text(name, eval_at)?;
        let id = self.st.next_id();
        self.fx.push(Effect::SubscribeMessage {
            subscription_id: id.clone(),
            message_name,
            activity_instance_id: owner.to_owned(),
            activity_id: self.p.node(event).id.clone(),
        });
        Ok(id)
    }

    /// Subscribe `owner` to the signal `name` for the catching element `event`.
    pub fn subscribe_signal(
        &mut self,
        owner: &str,
        event: NodeIdx,
        name: &str,
    ) -> Result<String, EngineError> {
        let signal_name = self.eval_text(name, owner)?;
        let id = self.st.next_id();
        self.fx.push(Effect::SubscribeSignal {
            subscription_id: id.clone(),
            signal_name,
            activity_instance_id: owner.to_owned(),
            activity_id: self.p.node(event).id.clone(),
        });
        Ok(id)
    }

    /// Arm a listener on `owner` for the event node `event` with trigger `trigger`.
    pub(super) fn arm_listener(
        &mut self,
        owner: &str,
        event: NodeIdx,
        trigger: &EventTrigger,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let event_id = p.node(event).id.clone();
        let id = match trigger {
            EventTrigger::Timer(def) => {
                let due = self.timer_due(def, owner, &event_id)?;
                let id = self.st.next_id();
                self.fx.push(Effect::ScheduleTimer {
                    timer_id: id.clone(),
                    activity_instance_id: owner.to_owned(),
                    activity_id: event_id.clone(),
                    due,
                });
                self.set_internal(owner, &format!("cycleDue:{event_id}"), due)?;
                self.set_internal(owner, &format!("cycleFired:{event_id}"), 0)?;
                id
            }
            EventTrigger::Message { name } => self.subscribe_message(owner, owner, event, name)?,
            EventTrigger::Signal { name } => self.subscribe_signal(owner, event, name)?,
            EventTrigger::Conditional { .. } => {
                self.dirty_all = true;
                self.st.next_id()
            }
            EventTrigger::Multiple { triggers, .. } => {
                for t in triggers {
                    self.arm_listener(owner, event, t)?;
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.ai_mut(owner)?.listeners.push(Listener {
            id,
            event_activity_id: event_id,
        });
        Ok(())
    }

    /// Arm the boundary events of the activity `node` on its instance `id`.
    pub fn arm_boundaries(&mut self, id: &str, node: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        for &b in &p.node(node).boundary_events {
            if let NodeKind::BoundaryEvent { trigger, .. } = &p.node(b).kind {
                self.arm_listener(id, b, trigger)?;
            }
        }
        Ok(())
    }

    /// Arm the start events of the event subprocesses directly inside `scope` on the scope
    /// instance `id` (`scope` None = the process).
    pub fn arm_event_subprocesses(
        &mut self,
        id: &str,
        scope: Option<NodeIdx>,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let esps: Vec<NodeIdx> = p
            .nodes_in_scope(scope)
            .filter(|&n| {
                matches!(
                    p.node(n).kind,
                    NodeKind::SubProcess {
                        triggered_by_event: true
                    }
                )
            })
            .collect();
        for esp in esps {
            let starts: Vec<NodeIdx> = p
                .nodes_in_scope(Some(esp))
                .filter(|&n| matches!(p.node(n).kind, NodeKind::StartEvent { .. }))
                .collect();
            for s in starts {
                if let NodeKind::StartEvent { trigger, .. } = &p.node(s).kind {
                    self.arm_listener(id, s, trigger)?;
                }
            }
        }
        Ok(())
    }

    /// Event-based gateway: listen for every event after it.
    pub fn arm_event_gateway(&mut self, id: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        for &f in &p.node(idx).outgoing {
            let t = p.flow(f).target;
            match &p.node(t).kind {
                NodeKind::IntermediateCatchEvent { trigger } => {
                    self.arm_listener(id, t, trigger)?
                }
                NodeKind::ReceiveTask {
                    message: Some(name),
                } => {
                    let sub = self.subscribe_message(id, id, t, name)?;
                    self.ai_mut(id)?.listeners.push(Listener {
                        id: sub,
                        event_activity_id: p.node(t).id.clone(),
                    });
                }
                _ => {
                    return Err(EngineError::Unsupported {
                        activity_id: p.node(idx).id.clone(),
                        message: format!(
                            "an event-based gateway must be followed by catch events, not '{}'",
                            p.node(t).id
                        ),
                    });
                }
            }
        }
        self.ai_mut(id)?.wait = Some(Wait::EventGateway);
        Ok(())
    }

    /// Find the listener with this id: (owner activity instance, listener).
    fn find_listener(&self, listener_id: &str) -> Option<(String, Listener)> {
        self.st.activity_instances.values().find_map(|ai| {
            ai.listeners
                .iter()
                .find(|l| l.id == listener_id)
                .map(|l| (ai.id.clone(), l.clone()))
        })
    }

    /// `Command::TimerFired`.
    pub fn timer_fired(&mut self, timer_id: &str) -> Result<(), EngineError> {
        if let Some(id) = self
            .st
            .activity_instances
            .values()
            .find(|a| matches!(&a.wait, Some(Wait::Timer { timer_id: t }) if t == timer_id))
            .map(|a| a.id.clone())
        {
            self.ai_mut(&id)?.wait = None;
            self.push(Work::Leave(id));
            return Ok(());
        }
        let (owner, l) = self
            .find_listener(timer_id)
            .filter(|(_, l)| self.listener_kind(&l.event_activity_id) == ListenerKind::Timer)
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "timer",
                id: timer_id.to_owned(),
            })?;
        if l.event_activity_id.contains(super::listeners::TIMEOUT_MARK) {
            return self.fire_timeout_listener(&owner, &l);
        }
        self.fire_listener(&owner, &l, Payload::default())
    }

    /// `Command::MessageReceived` / `Command::SignalReceived`.
    pub fn subscription_triggered(
        &mut self,
        sub_id: &str,
        payload: Payload,
        message: bool,
    ) -> Result<(), EngineError> {
        if let Some(id) = self
            .st
            .activity_instances
            .values()
            .find(|a| match &a.wait {
                Some(Wait::Message { subscription_id }) => message && subscription_id == sub_id,
                Some(Wait::Signal { subscription_id }) => !message && subscription_id == sub_id,
                _ => false,
            })
            .map(|a| a.id.clone())
        {
            // The subscription record goes with the wait: left behind, it would be listed and
            // would take (and fail) a later correlation.
            if let Some(Wait::Message { subscription_id } | Wait::Signal { subscription_id }) =
                self.ai_mut(&id)?.wait.take()
            {
                self.fx.push(Effect::Unsubscribe { subscription_id });
            }
            self.set_payload(&id, payload)?;
            self.push(Work::Leave(id));
            return Ok(());
        }
        let (owner, l) = self
            .find_listener(sub_id)
            .filter(|(_, l)| self.listener_kind(&l.event_activity_id) == ListenerKind::Subscription)
            .ok_or_else(|| EngineError::NotWaiting {
                kind: "subscription",
                id: sub_id.to_owned(),
            })?;
        self.fire_listener(&owner, &l, payload)
    }

    /// `Command::Trigger`: the execution waiting at a receive task moves on.
    pub fn trigger(
        &mut self,
        execution_id: &str,
        variables: crate::value::Variables,
    ) -> Result<(), EngineError> {
        let waiting = |a: &&super::ActivityInstance| {
            (a.execution_id == execution_id || a.id == execution_id)
                && matches!(a.wait, Some(Wait::Trigger) | Some(Wait::Message { .. }))
                && self
                    .node_idx(&a.activity_id)
                    .is_some_and(|i| matches!(self.p.node(i).kind, NodeKind::ReceiveTask { .. }))
        };
        let Some(ai) = self.st.activity_instances.values().find(waiting) else {
            return Err(EngineError::NotWaiting {
                kind: "receive task execution",
                id: execution_id.to_owned(),
            });
        };
        let id = ai.id.clone();
        if let Some(Wait::Message { subscription_id }) = self.ai_mut(&id)?.wait.take() {
            self.fx.push(Effect::Unsubscribe { subscription_id });
        }
        self.set_vars(&id, variables, false)?;
        self.push(Work::Leave(id));
        Ok(())
    }

    /// One trigger of the multiple catch event `owner` occurred: it leaves (a parallel
    /// multiple one once every trigger occurred), its other subscriptions dropped.
    fn multiple_fired(
        &mut self,
        owner: &str,
        listener: &str,
        parallel: bool,
        payload: Payload,
    ) -> Result<(), EngineError> {
        self.set_payload(owner, payload)?;
        self.remove_listener(owner, listener);
        if parallel && !self.ai(owner)?.listeners.is_empty() {
            return Ok(());
        }
        self.drop_listeners(owner, None);
        self.ai_mut(owner)?.wait = None;
        self.push(Work::Leave(owner.to_owned()));
        Ok(())
    }

    fn set_payload(&mut self, id: &str, payload: Payload) -> Result<(), EngineError> {
        self.set_vars(id, payload.variables, false)?;
        self.set_vars(id, payload.local_variables, true)
    }

    /// A listener fired.
    fn fire_listener(
        &mut self,
        owner: &str,
        l: &Listener,
        payload: Payload,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let event = self.node_idx(&l.event_activity_id).ok_or_else(|| {
            EngineError::InvalidCommand(format!(
                "listener {} points at unknown element '{}'",
                l.id, l.event_activity_id
            ))
        })?;
        match &p.node(event).kind {
            NodeKind::BoundaryEvent {
                cancel_activity, ..
            } => {
                self.boundary_fire(owner, event, *cancel_activity, Some(&l.id), payload)?;
            }
            NodeKind::StartEvent { interrupting, .. } => {
                self.esp_fire(owner, event, *interrupting, Some(&l.id), payload)?;
            }
            NodeKind::IntermediateCatchEvent {
                trigger: EventTrigger::Multiple { parallel, .. },
            } if self.node_of(owner)? == Some(event) => {
                self.multiple_fired(owner, &l.id, *parallel, payload)?;
            }
            _ => self.gateway_fire(owner, event, &l.id, payload)?,
        }
        Ok(())
    }

    /// After a non-interrupting listener fired: a timer is used up, a timer cycle re-arms;
    /// message, signal and conditional listeners stay.
    fn after_non_interrupting_fire(
        &mut self,
        owner: &str,
        event: NodeIdx,
        listener_id: &str,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let Some(EventTrigger::Timer(def)) = trigger_of(&p.node(event).kind) else {
            return Ok(());
        };
        self.remove_listener(owner, listener_id);
        if let TimerDefinition::Cycle(e) = def {
            let event_id = p.node(event).id.clone();
            let text = self.eval_string(e, owner)?.unwrap_or_default();
            let cycle =
                crate::timer::parse_cycle(text.trim()).map_err(|err| EngineError::Expression {
                    activity_id: event_id.clone(),
                    message: err.to_string(),
                })?;
            let due_key = format!("cycleDue:{event_id}");
            let fired_key = format!("cycleFired:{event_id}");
            let prev = self.internal(owner, &due_key).unwrap_or(self.now);
            let fired = self.internal(owner, &fired_key).unwrap_or(0) + 1;
            self.set_internal(owner, &fired_key, fired)?;
            if let Some(due) = cycle.next_due(prev, u32::try_from(fired).unwrap_or(u32::MAX)) {
                let id = self.st.next_id();
                self.fx.push(Effect::ScheduleTimer {
                    timer_id: id.clone(),
                    activity_instance_id: owner.to_owned(),
                    activity_id: event_id.clone(),
                    due,
                });
                self.set_internal(owner, &due_key, due)?;
                self.ai_mut(owner)?.listeners.push(Listener {
                    id,
                    event_activity_id: event_id,
                });
            }
        }
        Ok(())
    }

    /// A boundary event of the activity instance `carrier` fires. Returns the boundary event's
    /// activity instance (its Leave is queued).
    pub(super) fn boundary_fire(
        &mut self,
        carrier: &str,
        event: NodeIdx,
        interrupting: bool,
        listener_id: Option<&str>,
        payload: Payload,
    ) -> Result<String, EngineError> {
        let ai = self.ai(carrier)?;
        let parent = ai.parent.clone().unwrap_or_else(|| self.st.id.clone());
        let exec = ai.execution_id.clone();
        let exec = if interrupting {
            if let Some(l) = listener_id {
                self.remove_listener(carrier, l);
            }
            self.cancel_subtree(carrier);
            exec
        } else {
            if let Some(l) = listener_id {
                self.after_non_interrupting_fire(carrier, event, l)?;
            }
            self.st.next_id()
        };
        let b = self.create_instance(event, &parent, exec);
        self.start_history(&b)?;
        self.set_payload(&b, payload)?;
        self.push(Work::Leave(b.clone()));
        Ok(b)
    }

    /// An event subprocess of the scope instance `scope` starts through `start`. Returns the
    /// start event's activity instance (its Leave is queued).
    pub(super) fn esp_fire(
        &mut self,
        scope: &str,
        start: NodeIdx,
        interrupting: bool,
        listener_id: Option<&str>,
        payload: Payload,
    ) -> Result<String, EngineError> {
        let p = self.p;
        let esp = p
            .node(start)
            .scope
            .ok_or_else(|| EngineError::Unsupported {
                activity_id: p.node(start).id.clone(),
                message: "an event subprocess start event outside an event subprocess".into(),
            })?;
        if interrupting {
            self.drop_listeners_where(scope, listener_id, |n| {
                n.is_some_and(|n| matches!(p.node(n).kind, NodeKind::StartEvent { .. }))
            });
            for c in self.children(scope) {
                self.cancel_subtree(&c);
            }
        } else if let Some(l) = listener_id {
            self.after_non_interrupting_fire(scope, start, l)?;
        }
        let sp = self.create_instance(esp, scope, String::new());
        self.start_history(&sp)?;
        self.arm_event_subprocesses(&sp, Some(esp))?;
        let exec = self.ai(&sp)?.execution_id.clone();
        let s = self.create_instance(start, &sp, exec);
        self.start_history(&s)?;
        self.set_payload(&s, payload)?;
        self.push(Work::Leave(s.clone()));
        Ok(s)
    }

    /// One of the events after an event-based gateway fired: the others are cancelled.
    fn gateway_fire(
        &mut self,
        gateway: &str,
        event: NodeIdx,
        listener_id: &str,
        payload: Payload,
    ) -> Result<(), EngineError> {
        self.remove_listener(gateway, listener_id);
        self.drop_listeners(gateway, None);
        let ai = self.ai_mut(gateway)?;
        ai.wait = None;
        let parent = ai.parent.clone().unwrap_or_default();
        let exec = ai.execution_id.clone();
        self.end_instance(gateway, false, false);
        let e = self.create_instance(event, &parent, exec);
        self.start_history(&e)?;
        self.set_payload(&e, payload)?;
        self.push(Work::Leave(e));
        Ok(())
    }

    /// Evaluate a conditional event's condition; an evaluation failure (typically a variable
    /// that does not exist yet) counts as false.
    pub fn condition_holds(&self, condition: &crate::expr::Expression, at: &str) -> bool {
        condition.eval_bool(&self.scope_at(at)).unwrap_or(false)
    }

    /// At quiescence: evaluate conditional events affected by variable changes and fire the ones
    /// whose condition holds. Returns whether any fired.
    pub fn check_conditionals(&mut self) -> Result<bool, EngineError> {
        if !self.dirty_all && self.dirty.is_empty() {
            return Ok(false);
        }
        let all = std::mem::take(&mut self.dirty_all);
        let names = std::mem::take(&mut self.dirty);
        let p = self.p;
        // (creation order, owner, listener id (None = a waiting catch event), event node)
        let mut candidates: Vec<(i64, String, Option<Listener>, NodeIdx)> = Vec::new();
        for ai in self.st.activity_instances.values() {
            let seq = ai.internal.get(super::exec::K_SEQ).copied().unwrap_or(0);
            if matches!(ai.wait, Some(Wait::Condition))
                && let Some(n) = self.node_idx(&ai.activity_id)
            {
                candidates.push((seq, ai.id.clone(), None, n));
            }
            for l in &ai.listeners {
                if let Some(n) = self.node_idx(&l.event_activity_id)
                    && matches!(
                        trigger_of(&p.node(n).kind),
                        Some(EventTrigger::Conditional { .. })
                    )
                {
                    candidates.push((seq, ai.id.clone(), Some(l.clone()), n));
                }
            }
        }
        candidates.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut fired = false;
        for (_, owner, listener, n) in candidates {
            let Some(ai) = self.st.activity_instances.get(&owner) else {
                continue;
            };
            let still = match &listener {
                None => matches!(ai.wait, Some(Wait::Condition)),
                Some(l) => ai.listeners.iter().any(|x| x.id == l.id),
            };
            if !still {
                continue;
            }
            let Some(EventTrigger::Conditional {
                condition,
                variable_name,
            }) = trigger_of(&p.node(n).kind)
            else {
                continue;
            };
            if !all
                && let Some(v) = variable_name
                && !names.contains(v)
            {
                continue;
            }
            if !self.condition_holds(condition, &owner) {
                continue;
            }
            fired = true;
            match listener {
                None => {
                    self.ai_mut(&owner)?.wait = None;
                    self.push(Work::Leave(owner));
                }
                Some(l) => self.fire_listener(&owner, &l, Payload::default())?,
            }
        }
        Ok(fired)
    }
}
