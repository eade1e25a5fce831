//! Token movement: running an activity's behaviour, leaving it through its outgoing sequence
//! flows, gateways (exclusive, inclusive, parallel with Camunda's counting join, event-based),
//! embedded subprocesses, link events, terminate end events and scope completion.

use std::collections::BTreeSet;

use super::exec::{Ctx, K_ASYNC_AFTER, K_ASYNC_BEFORE_DONE, K_HIST, Work};
use super::{Effect, EngineError, HistoryEvent, InstanceStatus, JobKind, Wait};
use crate::model::{
    EventResult, EventTrigger, ExecutionEvent, FlowIdx, FlowNode, NodeIdx, NodeKind,
};

/// Whether `node` is a joining gateway (more than one incoming flow on a parallel or inclusive
/// gateway).
fn is_join(node: &FlowNode) -> bool {
    matches!(
        node.kind,
        NodeKind::ParallelGateway | NodeKind::InclusiveGateway
    ) && node.incoming.len() > 1
}

impl Ctx<'_> {
    /// Run the behaviour of a freshly created activity instance.
    pub fn execute(&mut self, id: &str) -> Result<(), EngineError> {
        if !self.exists(id) {
            return Ok(());
        }
        let p = self.p;
        let idx = self.node_req(id)?;
        let node = p.node(idx);
        let inner = self.is_inner(id);
        if !inner && node.async_before && self.internal(id, K_ASYNC_BEFORE_DONE).is_none() {
            let job_id = self.st.next_id();
            self.ai_mut(id)?.wait = Some(Wait::Job {
                job_id: job_id.clone(),
            });
            self.fx.push(Effect::ScheduleJob {
                job_id,
                activity_instance_id: id.to_owned(),
                activity_id: node.id.clone(),
                kind: JobKind::AsyncBefore,
                due: self.now,
                retry_time_cycle: node.retry_time_cycle.clone(),
            });
            return Ok(());
        }
        self.start_history(id)?;
        if let Some(lp) = &node.standard_loop
            && self.loop_enter(id, lp)?
        {
            return Ok(());
        }
        if self.is_body(id) {
            self.arm_boundaries(id, idx)?;
            return self.mi_start(id, idx);
        }
        if is_join(node) {
            return self.arrive_at_join(id, idx);
        }
        if let NodeKind::ComplexGateway {
            activation_condition,
        } = &node.kind
            && node.incoming.len() > 1
        {
            return self.arrive_at_complex(id, idx, activation_condition.as_ref());
        }
        self.apply_inputs(id, node)?;
        self.fire_execution_listeners(id, &node.listeners, ExecutionEvent::Start)?;
        if !inner {
            self.arm_boundaries(id, idx)?;
        }
        match &node.kind {
            NodeKind::StartEvent { .. }
            | NodeKind::BoundaryEvent { .. }
            | NodeKind::ManualTask
            | NodeKind::Task
            | NodeKind::ExclusiveGateway
            | NodeKind::InclusiveGateway
            | NodeKind::ParallelGateway
            | NodeKind::ComplexGateway { .. } => {
                self.push(Work::Leave(id.to_owned()));
                Ok(())
            }
            NodeKind::EndEvent { result } | NodeKind::IntermediateThrowEvent { result } => {
                self.throw_result(id, idx, result)
            }
            NodeKind::IntermediateCatchEvent { trigger } => self.catch_event(id, idx, trigger),
            NodeKind::ServiceTask(def) => match (&def.expression, &def.decision) {
                (Some(imp), _) => self.run_expression_task(id, imp),
                (None, Some(call)) => self.run_decision_task(id, call),
                (None, None) => self.create_external_task(id, idx, def),
            },
            NodeKind::UserTask(def) => self.create_user_task(id, idx, def),
            NodeKind::ReceiveTask { message } => match message {
                Some(name) => {
                    let sub = self.subscribe_message(id, id, idx, name)?;
                    self.ai_mut(id)?.wait = Some(Wait::Message {
                        subscription_id: sub,
                    });
                    Ok(())
                }
                None => {
                    // Camunda: a plain wait state, left by RuntimeService.signal.
                    self.ai_mut(id)?.wait = Some(Wait::Trigger);
                    Ok(())
                }
            },
            NodeKind::SubProcess {
                triggered_by_event: false,
            } => self.start_subprocess(id, idx),
            NodeKind::SubProcess {
                triggered_by_event: true,
            } => Err(EngineError::Unsupported {
                activity_id: node.id.clone(),
                message: "an event subprocess is only entered through its start event".into(),
            }),
            NodeKind::CallActivity(def) => self.start_call_activity(id, idx, def),
            NodeKind::EventBasedGateway => self.arm_event_gateway(id, idx),
        }
    }

    /// End events and intermediate throw events.
    fn throw_result(
        &mut self,
        id: &str,
        idx: NodeIdx,
        result: &EventResult,
    ) -> Result<(), EngineError> {
        match result {
            EventResult::None | EventResult::Message { task: None, .. } => {
                self.push(Work::Leave(id.to_owned()));
                Ok(())
            }
            EventResult::Link { name } => {
                if matches!(self.p.node(idx).kind, NodeKind::EndEvent { .. }) {
                    self.push(Work::Leave(id.to_owned()));
                    Ok(())
                } else {
                    self.link_jump(id, idx, name)
                }
            }
            EventResult::Message {
                task: Some(def), ..
            } => match &def.expression {
                Some(imp) => self.run_expression_task(id, imp),
                None => self.create_external_task(id, idx, def),
            },
            EventResult::Signal { name } => {
                let signal_name = self.eval_text(name, id)?;
                self.fx.push(Effect::BroadcastSignal {
                    signal_name,
                    variables: Default::default(),
                });
                self.push(Work::Leave(id.to_owned()));
                Ok(())
            }
            EventResult::Escalation { code } => {
                // Queued below the catching path, which runs first (as in Camunda); an
                // interrupting catch removes the thrower and this Leave becomes a no-op.
                self.push(Work::Leave(id.to_owned()));
                self.throw_escalation(id, code)
            }
            EventResult::Error { code, message } => {
                self.throw_error_from_event(id, code, message.clone())
            }
            EventResult::Terminate => self.terminate(id),
            EventResult::Compensate {
                activity_ref,
                wait_for_completion,
            } => self.throw_compensation(id, activity_ref.as_deref(), *wait_for_completion),
            EventResult::Cancel => self.cancel_transaction(id),
            EventResult::Multiple(results) => {
                // Queued first, as for a single escalation: an interrupting catch of one of
                // the escalations removes the thrower and this Leave becomes a no-op.
                self.push(Work::Leave(id.to_owned()));
                for r in results {
                    match r {
                        EventResult::Signal { name } => {
                            let signal_name = self.eval_text(name, id)?;
                            self.fx.push(Effect::BroadcastSignal {
                                signal_name,
                                variables: Default::default(),
                            });
                        }
                        EventResult::Escalation { code } => self.throw_escalation(id, code)?,
                        // A message without implementation passes through, as on its own.
                        _ => {}
                    }
                }
                Ok(())
            }
        }
    }

    /// Intermediate catch events.
    fn catch_event(
        &mut self,
        id: &str,
        idx: NodeIdx,
        trigger: &EventTrigger,
    ) -> Result<(), EngineError> {
        let node = self.p.node(idx);
        match trigger {
            EventTrigger::None | EventTrigger::Link { .. } => {
                self.push(Work::Leave(id.to_owned()));
            }
            EventTrigger::Message { name } => {
                let sub = self.subscribe_message(id, id, idx, name)?;
                self.ai_mut(id)?.wait = Some(Wait::Message {
                    subscription_id: sub,
                });
            }
            EventTrigger::Signal { name } => {
                let sub = self.subscribe_signal(id, idx, name)?;
                self.ai_mut(id)?.wait = Some(Wait::Signal {
                    subscription_id: sub,
                });
            }
            EventTrigger::Timer(def) => {
                let due = self.timer_due(def, id, &node.id)?;
                let timer_id = self.st.next_id();
                self.fx.push(Effect::ScheduleTimer {
                    timer_id: timer_id.clone(),
                    activity_instance_id: id.to_owned(),
                    activity_id: node.id.clone(),
                    due,
                });
                self.ai_mut(id)?.wait = Some(Wait::Timer { timer_id });
            }
            EventTrigger::Conditional { condition, .. } => {
                if self.condition_holds(condition, id) {
                    self.push(Work::Leave(id.to_owned()));
                } else {
                    self.ai_mut(id)?.wait = Some(Wait::Condition);
                }
            }
            EventTrigger::Multiple { .. } => {
                self.arm_listener(id, idx, trigger)?;
                self.ai_mut(id)?.wait = Some(Wait::EventGateway);
            }
            EventTrigger::Error { .. }
            | EventTrigger::Escalation { .. }
            | EventTrigger::Compensation
            | EventTrigger::Cancel => {
                return Err(EngineError::Unsupported {
                    activity_id: node.id.clone(),
                    message: "error, escalation, compensation and cancel events cannot be \
                              intermediate catch events"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// An activity instance completed its behaviour: apply outputs, then (unless an async-after
    /// job or a multi-instance body takes over) leave through the outgoing flows.
    pub fn leave(&mut self, id: &str) -> Result<(), EngineError> {
        if !self.exists(id) {
            return Ok(());
        }
        let p = self.p;
        let idx = self.node_req(id)?;
        let node = p.node(idx);
        let body = self.is_body(id);
        self.ai_mut(id)?.wait = None;
        if !body {
            self.apply_outputs(id, node)?;
            self.fire_end_listeners(id, &node.listeners)?;
        }
        // The throw event a compensation handler runs for continues once the handler has
        // ended (a cancel end event then interrupts the whole transaction).
        let thrower = match self.compensation_thrower(id) {
            Some(t) => Some(t),
            None if node.for_compensation => None,
            None => {
                self.record_compensable(id, idx)?;
                None
            }
        };
        if self.is_inner(id) {
            return self.mi_inner_done(id);
        }
        if let Some(lp) = &node.standard_loop
            && self.loop_again(id, idx, lp)?
        {
            return Ok(());
        }
        if node.async_after && self.internal(id, K_ASYNC_AFTER).is_none() {
            self.drop_listeners(id, None);
            self.set_internal(id, K_ASYNC_AFTER, 1)?;
            // Camunda ends the activity instance before the async-after boundary (its history
            // gets its end time now); the job only takes the outgoing flows.
            if self.ai_mut(id)?.internal.remove(K_HIST).is_some() {
                self.fx.push(Effect::History(HistoryEvent::ActivityEnded {
                    activity_instance_id: id.to_owned(),
                    activity_id: node.id.clone(),
                    canceled: false,
                    complete_scope: false,
                    at: self.now,
                }));
            }
            let job_id = self.st.next_id();
            self.ai_mut(id)?.wait = Some(Wait::Job {
                job_id: job_id.clone(),
            });
            self.fx.push(Effect::ScheduleJob {
                job_id,
                activity_instance_id: id.to_owned(),
                activity_id: node.id.clone(),
                kind: JobKind::AsyncAfter,
                due: self.now,
                retry_time_cycle: node.retry_time_cycle.clone(),
            });
            return Ok(());
        }
        let flows = self.select_flows(id, idx)?;
        if body {
            self.mi_publish_output(id, idx)?;
        }
        self.drop_listeners(id, None);
        self.take_flows(id, idx, &flows)?;
        match thrower {
            Some(t) => self.compensation_handler_done(&t),
            None => Ok(()),
        }
    }

    /// End `id` and start one activity instance per flow (none: the token ends here).
    fn take_flows(&mut self, id: &str, idx: NodeIdx, flows: &[FlowIdx]) -> Result<(), EngineError> {
        let p = self.p;
        let ai = self.ai(id)?;
        let parent = ai.parent.clone().unwrap_or_else(|| self.st.id.clone());
        let exec = ai.execution_id.clone();
        let complete_scope = flows.is_empty()
            && matches!(p.node(idx).kind, NodeKind::EndEvent { .. })
            && self.children(&parent).len() == 1;
        // Camunda: the source's end listeners, then each flow's take listeners, then the
        // targets' start listeners. Take listeners see the source's scope.
        for f in flows {
            self.fire_execution_listeners(id, &p.flow(*f).listeners, ExecutionEvent::Take)?;
        }
        self.end_instance(id, false, complete_scope);
        if flows.is_empty() {
            self.push(Work::ScopeCheck(parent));
            return Ok(());
        }
        let mut created = Vec::with_capacity(flows.len());
        for f in flows {
            let target = p.flow(*f).target;
            let e = if flows.len() == 1 {
                exec.clone()
            } else {
                self.st.next_id()
            };
            created.push(self.create_instance(target, &parent, e));
        }
        for c in created.into_iter().rev() {
            self.push(Work::Execute(c));
        }
        Ok(())
    }

    /// Which outgoing flows a completing activity instance takes.
    fn select_flows(&self, id: &str, idx: NodeIdx) -> Result<Vec<FlowIdx>, EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let out = &node.outgoing;
        if out.is_empty() {
            return Ok(Vec::new());
        }
        let no_flow = || EngineError::NoOutgoingFlow {
            activity_id: node.id.clone(),
        };
        match node.kind {
            NodeKind::ParallelGateway => Ok(out.clone()),
            NodeKind::ExclusiveGateway => {
                for &f in out {
                    if Some(f) == node.default_flow {
                        continue;
                    }
                    if self.flow_condition(f, id)? {
                        return Ok(vec![f]);
                    }
                }
                node.default_flow.map(|d| vec![d]).ok_or_else(no_flow)
            }
            _ => {
                let conditional =
                    node.kind_is_inclusive() || out.iter().any(|&f| p.flow(f).condition.is_some());
                if !conditional {
                    return Ok(out.clone());
                }
                let mut taken = Vec::new();
                for &f in out {
                    if Some(f) == node.default_flow {
                        continue;
                    }
                    if self.flow_condition(f, id)? {
                        taken.push(f);
                    }
                }
                if taken.is_empty() {
                    if node.kind_is_inclusive() {
                        return node.default_flow.map(|d| vec![d]).ok_or_else(no_flow);
                    }
                    return node.default_flow.map(|d| vec![d]).ok_or_else(|| {
                        EngineError::NoConditionalFlow {
                            activity_id: node.id.clone(),
                        }
                    });
                }
                Ok(taken)
            }
        }
    }

    /// A flow's condition (no condition = true), evaluated at `id`.
    fn flow_condition(&self, f: FlowIdx, id: &str) -> Result<bool, EngineError> {
        match &self.p.flow(f).condition {
            None => Ok(true),
            Some(c) => c
                .eval_bool(&self.scope_at(id))
                .map_err(|e| EngineError::Expression {
                    activity_id: self.p.flow(f).id.clone(),
                    message: e.message,
                }),
        }
    }

    /// A token arrives at a joining gateway.
    fn arrive_at_join(&mut self, id: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        self.ai_mut(id)?.wait = Some(Wait::Join);
        if matches!(node.kind, NodeKind::ParallelGateway) {
            let waiting = self.waiting_at_join(id)?;
            if waiting.len() + 1 >= node.incoming.len() {
                let consumed: Vec<String> =
                    waiting.into_iter().take(node.incoming.len() - 1).collect();
                self.fire_join(id, &consumed)?;
            }
        } else if !self.inclusive_blocked(id)? {
            let waiting = self.waiting_at_join(id)?;
            self.fire_join(id, &waiting)?;
        }
        Ok(())
    }

    /// Other tokens waiting at the same join in the same scope instance, oldest first.
    pub(super) fn waiting_at_join(&self, id: &str) -> Result<Vec<String>, EngineError> {
        let ai = self.ai(id)?;
        let parent = ai.parent.clone().unwrap_or_default();
        let activity_id = ai.activity_id.clone();
        Ok(self
            .children(&parent)
            .into_iter()
            .filter(|c| {
                c != id
                    && self.st.activity_instances.get(c).is_some_and(|a| {
                        a.activity_id == activity_id && matches!(a.wait, Some(Wait::Join))
                    })
            })
            .collect())
    }

    /// The join fires: the consumed tokens end, `id` leaves.
    pub(super) fn fire_join(&mut self, id: &str, consumed: &[String]) -> Result<(), EngineError> {
        for c in consumed {
            self.end_instance(c, false, false);
        }
        let parent = self.ai(id)?.parent.clone().unwrap_or_default();
        if self.children(&parent).len() == 1 {
            let exec = self.ai(&parent)?.execution_id.clone();
            self.ai_mut(id)?.execution_id = exec;
        }
        self.ai_mut(id)?.wait = None;
        self.push(Work::Leave(id.to_owned()));
        Ok(())
    }

    /// Whether some other token in the same scope instance can still reach the inclusive join
    /// `id` waits at (without passing through the join).
    fn inclusive_blocked(&self, id: &str) -> Result<bool, EngineError> {
        let join = self.node_req(id)?;
        let ai = self.ai(id)?;
        let parent = ai.parent.clone().unwrap_or_default();
        for s in self.children(&parent) {
            if s == id {
                continue;
            }
            let Some(sib) = self.st.activity_instances.get(&s) else {
                continue;
            };
            if sib.activity_id == ai.activity_id && matches!(sib.wait, Some(Wait::Join)) {
                continue;
            }
            if let Some(from) = self.node_of(&s)?
                && self.can_reach(from, join)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Breadth-first search over sequence flows (and boundary events) from `from` to `target`,
    /// stopping at `target`.
    fn can_reach(&self, from: NodeIdx, target: NodeIdx) -> bool {
        let p = self.p;
        let mut seen = BTreeSet::new();
        let mut queue = vec![from];
        while let Some(n) = queue.pop() {
            if n == target {
                return true;
            }
            if !seen.insert(n) {
                continue;
            }
            let node = p.node(n);
            for &f in &node.outgoing {
                queue.push(p.flow(f).target);
            }
            queue.extend(node.boundary_events.iter().copied());
        }
        false
    }

    /// At quiescence: fire one inclusive join that no token can reach any more.
    pub fn fire_ready_inclusive_joins(&mut self) -> Result<bool, EngineError> {
        let p = self.p;
        let mut seen = BTreeSet::new();
        let candidates: Vec<String> = self
            .st
            .activity_instances
            .values()
            .filter(|a| matches!(a.wait, Some(Wait::Join)))
            .map(|a| a.id.clone())
            .collect();
        for id in candidates {
            let Some(idx) = self.node_of(&id)? else {
                continue;
            };
            if !matches!(p.node(idx).kind, NodeKind::InclusiveGateway) {
                continue;
            }
            let ai = self.ai(&id)?;
            if !seen.insert((ai.parent.clone(), ai.activity_id.clone())) {
                continue;
            }
            if !self.inclusive_blocked(&id)? {
                let waiting = self.waiting_at_join(&id)?;
                self.fire_join(&id, &waiting)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A token ended inside scope `id`: complete the scope when it is empty.
    pub fn scope_check(&mut self, id: &str) -> Result<(), EngineError> {
        if !self.exists(id) || !self.children(id).is_empty() || self.is_body(id) {
            return Ok(());
        }
        // A completed subprocess re-entered to be compensated ends when its compensation
        // does (see `compensation`), not when it runs empty.
        if self.is_event_scope(id) {
            return Ok(());
        }
        if id == self.st.id {
            if self.modify_flags.preserve_root {
                // A modification keeps the instance until its last instruction ran.
                self.modify_flags.root_emptied = Some(super::modification::RootEmptied::Completed);
                return Ok(());
            }
            self.complete_instance();
            return Ok(());
        }
        if let Some(idx) = self.node_of(id)?
            && self.p.node(idx).is_subprocess()
        {
            self.push(Work::Leave(id.to_owned()));
        }
        Ok(())
    }

    /// The process instance reached its end.
    pub fn complete_instance(&mut self) {
        let root = self.st.id.clone();
        let p = self.p;
        if let Err(e) = self.fire_end_listeners(&root, &p.listeners)
            && self.pending.is_none()
        {
            self.pending = Some(e);
        }
        self.drop_listeners(&root, None);
        self.st.status = InstanceStatus::Completed;
        self.st.ended_at = Some(self.now);
        self.fx.push(Effect::InstanceCompleted);
    }

    /// Enter an embedded subprocess: arm its event subprocesses and start its none start events.
    fn start_subprocess(&mut self, id: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        self.arm_event_subprocesses(id, Some(idx))?;
        let starts: Vec<NodeIdx> = p.none_start_events(Some(idx)).collect();
        if starts.is_empty() {
            return Err(EngineError::Unsupported {
                activity_id: p.node(idx).id.clone(),
                message: "an embedded subprocess needs a none start event".into(),
            });
        }
        let exec = self.ai(id)?.execution_id.clone();
        let mut created = Vec::new();
        for s in starts {
            created.push(self.create_instance(s, id, exec.clone()));
        }
        for c in created.into_iter().rev() {
            self.push(Work::Execute(c));
        }
        Ok(())
    }

    /// Terminate end event: end every other token in the scope, then complete the scope.
    fn terminate(&mut self, id: &str) -> Result<(), EngineError> {
        let parent = self
            .ai(id)?
            .parent
            .clone()
            .unwrap_or_else(|| self.st.id.clone());
        for c in self.children(&parent) {
            if c != id {
                self.cancel_subtree(&c);
            }
        }
        self.end_instance(id, false, true);
        if parent == self.st.id {
            self.complete_instance();
        } else {
            self.push(Work::Leave(parent));
        }
        Ok(())
    }

    /// Link throw: continue at the link catch event of the same name in the same scope.
    fn link_jump(&mut self, id: &str, idx: NodeIdx, name: &str) -> Result<(), EngineError> {
        let p = self.p;
        let scope = p.node(idx).scope;
        let target = p
            .nodes_in_scope(scope)
            .find(|&n| {
                matches!(&p.node(n).kind, NodeKind::IntermediateCatchEvent {
                trigger: EventTrigger::Link { name: l } } if l == name)
            })
            .ok_or_else(|| EngineError::Unsupported {
                activity_id: p.node(idx).id.clone(),
                message: format!("no link catch event named '{name}' in the same scope"),
            })?;
        let ai = self.ai(id)?;
        let parent = ai.parent.clone().unwrap_or_default();
        let exec = ai.execution_id.clone();
        self.end_instance(id, false, false);
        let c = self.create_instance(target, &parent, exec);
        self.push(Work::Execute(c));
        Ok(())
    }
}

trait KindExt {
    fn kind_is_inclusive(&self) -> bool;
}

impl KindExt for FlowNode {
    fn kind_is_inclusive(&self) -> bool {
        // A diverging complex gateway forks like an inclusive one (BPMN 2.0 §13.3.5).
        matches!(
            self.kind,
            NodeKind::InclusiveGateway | NodeKind::ComplexGateway { .. }
        )
    }
}
