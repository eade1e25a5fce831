//! Semantic validation of a parsed model: the graph rules that can be checked on
//! [`Definitions`] alone (flow scopes, start/end events, gateway conditions and defaults,
//! implementations, literal timers, links, multi-instance).
//!
//! Reference resolution and expression syntax are checked by the reader, which has the XML;
//! this module must not assume the model is sound (the reader hands over partial models with
//! errors so that every problem is reported at once), so it never indexes without checking.
//!
//! Findings about execution are errors in executable processes and warnings in
//! `isExecutable="false"` ones; structural findings are always errors.

use super::{Problem, Severity};
use crate::expr::Language;
use crate::model::*;
use crate::timer;

pub(super) fn validate(defs: &Definitions) -> Vec<Problem> {
    let mut v = Validator {
        problems: Vec::new(),
        exec: Severity::Error,
    };
    for p in &defs.processes {
        v.process(p);
    }
    v.problems
}

struct Validator {
    problems: Vec<Problem>,
    exec: Severity,
}

fn label(n: &FlowNode) -> String {
    format!("{} '{}'", n.activity_type(), n.id)
}

fn is_activity(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::ServiceTask(_)
            | NodeKind::UserTask(_)
            | NodeKind::ReceiveTask { .. }
            | NodeKind::ManualTask
            | NodeKind::Task
            | NodeKind::SubProcess { .. }
            | NodeKind::CallActivity(_)
    )
}

impl Validator {
    fn at(&mut self, severity: Severity, id: &str, pos: Position, message: String) {
        self.problems.push(Problem {
            severity,
            message,
            element_id: Some(id.to_owned()),
            line: pos.line,
            column: pos.column,
        });
    }

    fn node_problem(&mut self, n: &FlowNode, message: String) {
        self.at(self.exec, &n.id, n.position, message);
    }

    fn process(&mut self, p: &Process) {
        self.exec = if p.is_executable {
            Severity::Error
        } else {
            Severity::Warning
        };
        self.flows(p);
        self.start_events(p, None, None);
        for (i, n) in p.nodes.iter().enumerate() {
            let idx = NodeIdx(i as u32);
            if let NodeKind::SubProcess { .. } = n.kind {
                self.start_events(p, Some(idx), Some(n));
            }
            self.node(p, n);
        }
        self.links(p);
    }

    /// Sequence flows must stay inside one scope.
    fn flows(&mut self, p: &Process) {
        for f in &p.flows {
            let (Some(s), Some(t)) = (
                p.nodes.get(f.source.0 as usize),
                p.nodes.get(f.target.0 as usize),
            ) else {
                continue;
            };
            if s.scope != t.scope {
                let scope_name =
                    |scope: Option<NodeIdx>| match scope.and_then(|i| p.nodes.get(i.0 as usize)) {
                        Some(sp) => format!("subprocess '{}'", sp.id),
                        None => format!("process '{}'", p.id),
                    };
                let message = format!(
                    "sequenceFlow '{}' crosses a scope boundary: source '{}' is in {}, target \
                     '{}' is in {}",
                    f.id,
                    s.id,
                    scope_name(s.scope),
                    t.id,
                    scope_name(t.scope)
                );
                self.at(Severity::Error, &f.id, f.position, message);
            }
        }
    }

    /// Start-event rules of a scope: the process (`owner: None`), an embedded subprocess or
    /// an event subprocess.
    fn start_events(&mut self, p: &Process, scope: Option<NodeIdx>, owner: Option<&FlowNode>) {
        let starts: Vec<&FlowNode> = p
            .nodes_in_scope(scope)
            .filter_map(|i| p.nodes.get(i.0 as usize))
            .filter(|n| matches!(n.kind, NodeKind::StartEvent { .. }))
            .collect();
        match owner {
            None => self.process_starts(p, &starts),
            Some(sp) => self.subprocess_starts(sp, &starts),
        }
        self.error_and_escalation_starts(owner, &starts);
    }

    /// A process needs a start event (when it is executable or has nodes) and may have at
    /// most one none start event.
    fn process_starts(&mut self, p: &Process, starts: &[&FlowNode]) {
        let has_nodes = p.nodes.iter().any(|n| n.scope.is_none());
        if starts.is_empty() && (p.is_executable || has_nodes) {
            let message = format!("process '{}' has no start event", p.id);
            self.at(self.exec, &p.id, p.position, message);
        }
        let none_starts = starts
            .iter()
            .filter(|n| {
                matches!(
                    n.kind,
                    NodeKind::StartEvent {
                        trigger: EventTrigger::None,
                        ..
                    }
                )
            })
            .count();
        if none_starts > 1 {
            let message = format!(
                "process '{}' has {none_starts} none start events; it may have at most one",
                p.id
            );
            self.at(self.exec, &p.id, p.position, message);
        }
    }

    /// An event subprocess needs exactly one start event with a trigger and no sequence flows
    /// of its own; an embedded subprocess exactly one none start event.
    fn subprocess_starts(&mut self, sp: &FlowNode, starts: &[&FlowNode]) {
        let event_sub = matches!(
            sp.kind,
            NodeKind::SubProcess {
                triggered_by_event: true
            }
        );
        if event_sub {
            let triggered = starts
                .iter()
                .filter(|n| {
                    !matches!(
                        n.kind,
                        NodeKind::StartEvent {
                            trigger: EventTrigger::None,
                            ..
                        }
                    )
                })
                .count();
            if starts.len() != 1 || triggered != 1 {
                self.node_problem(
                    sp,
                    format!(
                        "event subprocess '{}' needs exactly one start event with a \
                         trigger (message, timer, signal, error, escalation or \
                         conditional); it has {} start event(s), {triggered} with a \
                         trigger",
                        sp.id,
                        starts.len()
                    ),
                );
            }
            if !sp.incoming.is_empty() || !sp.outgoing.is_empty() {
                self.node_problem(
                    sp,
                    format!(
                        "event subprocess '{}' must not have incoming or outgoing \
                         sequence flows",
                        sp.id
                    ),
                );
            }
        } else {
            let ok = starts.len() == 1
                && matches!(
                    starts.first().map(|n| &n.kind),
                    Some(NodeKind::StartEvent {
                        trigger: EventTrigger::None,
                        ..
                    })
                );
            if !ok {
                self.node_problem(
                    sp,
                    format!(
                        "subprocess '{}' needs exactly one start event without a \
                         trigger; it has {} start event(s)",
                        sp.id,
                        starts.len()
                    ),
                );
            }
        }
    }

    /// Error and escalation start events only make sense in an event subprocess.
    fn error_and_escalation_starts(&mut self, owner: Option<&FlowNode>, starts: &[&FlowNode]) {
        for s in starts {
            if let NodeKind::StartEvent {
                trigger: EventTrigger::Error { .. } | EventTrigger::Escalation { .. },
                ..
            } = s.kind
            {
                let in_event_sub = matches!(
                    owner.map(|o| &o.kind),
                    Some(NodeKind::SubProcess {
                        triggered_by_event: true
                    })
                );
                if !in_event_sub {
                    self.node_problem(
                        s,
                        format!(
                            "{}: error and escalation start events are only allowed in event \
                             subprocesses",
                            label(s)
                        ),
                    );
                }
            }
        }
    }

    fn node(&mut self, p: &Process, n: &FlowNode) {
        match &n.kind {
            NodeKind::StartEvent { .. } if !n.incoming.is_empty() => {
                self.node_problem(
                    n,
                    format!(
                        "start event '{}' must not have incoming sequence flows",
                        n.id
                    ),
                );
            }
            NodeKind::EndEvent { .. } if !n.outgoing.is_empty() => {
                self.node_problem(
                    n,
                    format!("end event '{}' must not have outgoing sequence flows", n.id),
                );
            }
            NodeKind::BoundaryEvent { attached_to, .. } => self.boundary_event(p, n, *attached_to),
            NodeKind::ExclusiveGateway
            | NodeKind::InclusiveGateway
            | NodeKind::ParallelGateway
            | NodeKind::EventBasedGateway => self.gateway(p, n),
            NodeKind::IntermediateCatchEvent {
                trigger: trigger @ (EventTrigger::Error { .. } | EventTrigger::Escalation { .. }),
            } => {
                let what = match trigger {
                    EventTrigger::Error { .. } => "an error",
                    _ => "an escalation",
                };
                self.node_problem(
                    n,
                    format!("{}: {what} event definition is not allowed here", label(n)),
                );
            }
            NodeKind::ServiceTask(def)
                if def.expression.is_none()
                    && def.decision.is_none()
                    && def.topic.source().trim().is_empty() =>
            {
                self.node_problem(
                    n,
                    format!(
                        "{} has no implementation: set camunda:type=\"external\" with \
                         camunda:topic (Camunda 7) or zeebe:taskDefinition type (Camunda 8)",
                        label(n)
                    ),
                );
            }
            NodeKind::CallActivity(def) if def.called_element.source().trim().is_empty() => {
                self.node_problem(
                    n,
                    format!(
                        "call activity '{}' has no calledElement (or zeebe:calledElement processId)",
                        n.id
                    ),
                );
            }
            _ => {}
        }
        self.default_flow(p, n);
        self.multi_instance(n);
        self.timers(n);
        self.retry_time_cycle(n);
    }

    /// A boundary event has no incoming flows and sits next to the activity it is attached to.
    fn boundary_event(&mut self, p: &Process, n: &FlowNode, attached_to: NodeIdx) {
        if !n.incoming.is_empty() {
            self.node_problem(
                n,
                format!(
                    "boundary event '{}' must not have incoming sequence flows",
                    n.id
                ),
            );
        }
        match p.nodes.get(attached_to.0 as usize) {
            Some(host) if host.id != n.id && host.scope != n.scope => {
                self.at(
                    Severity::Error,
                    &n.id,
                    n.position,
                    format!(
                        "boundary event '{}' must be declared next to the activity it \
                         is attached to ('{}'), in the same (sub)process",
                        n.id, host.id
                    ),
                );
            }
            Some(host) if host.id != n.id && !is_activity(&host.kind) => {
                self.node_problem(
                    n,
                    format!(
                        "boundary event '{}' is attached to {}, which is not an activity",
                        n.id,
                        label(host)
                    ),
                );
            }
            _ => {}
        }
    }

    /// A default flow is one of the node's outgoing flows and has no condition.
    fn default_flow(&mut self, p: &Process, n: &FlowNode) {
        let flow = |f: &FlowIdx| p.flows.get(f.0 as usize);
        if let Some(d) = n.default_flow {
            if !n.outgoing.contains(&d) {
                let fid = flow(&d).map(|f| f.id.clone()).unwrap_or_default();
                self.at(
                    Severity::Error,
                    &n.id,
                    n.position,
                    format!(
                        "{}: default flow '{fid}' is not one of its outgoing sequence flows",
                        label(n)
                    ),
                );
            } else if flow(&d).is_some_and(|f| f.condition.is_some()) {
                let fid = flow(&d).map(|f| f.id.clone()).unwrap_or_default();
                self.node_problem(
                    n,
                    format!(
                        "{}: default flow '{fid}' must not have a condition",
                        label(n)
                    ),
                );
            }
        }
    }

    /// Multi-instance needs something to count: a cardinality or a collection.
    fn multi_instance(&mut self, n: &FlowNode) {
        if let Some(mi) = &n.multi_instance
            && mi.loop_cardinality.is_none()
            && mi.collection.is_none()
        {
            self.node_problem(
                n,
                format!(
                    "{}: multi-instance needs a loopCardinality or a collection \
                     (camunda:collection / zeebe inputCollection)",
                    label(n)
                ),
            );
        }
    }

    /// A literal `camunda:failedJobRetryTimeCycle` must parse; one holding an expression can
    /// only be checked once it is evaluated.
    fn retry_time_cycle(&mut self, n: &FlowNode) {
        if let Some(cycle) = &n.retry_time_cycle
            && !cycle.contains("${")
            && !cycle.contains("#{")
            && let Err(e) = timer::RetrySchedule::parse(cycle)
        {
            self.node_problem(
                n,
                format!("{}: camunda:failedJobRetryTimeCycle: {e}", label(n)),
            );
        }
    }

    fn gateway(&mut self, p: &Process, n: &FlowNode) {
        if n.outgoing.is_empty() {
            self.node_problem(n, format!("{} has no outgoing sequence flow", label(n)));
            return;
        }
        match n.kind {
            NodeKind::ExclusiveGateway | NodeKind::InclusiveGateway if n.outgoing.len() > 1 => {
                for f in &n.outgoing {
                    let Some(flow) = p.flows.get(f.0 as usize) else {
                        continue;
                    };
                    if flow.condition.is_none() && n.default_flow != Some(*f) {
                        self.at(
                            self.exec,
                            &flow.id,
                            flow.position,
                            format!(
                                "sequenceFlow '{}' leaves {} which has several outgoing flows, \
                                 but has no condition and is not the gateway's default flow",
                                flow.id,
                                label(n)
                            ),
                        );
                    }
                }
            }
            NodeKind::EventBasedGateway => {
                for f in &n.outgoing {
                    let Some(t) = p
                        .flows
                        .get(f.0 as usize)
                        .and_then(|f| p.nodes.get(f.target.0 as usize))
                    else {
                        continue;
                    };
                    let ok = matches!(
                        t.kind,
                        NodeKind::IntermediateCatchEvent { .. } | NodeKind::ReceiveTask { .. }
                    );
                    if !ok {
                        self.node_problem(
                            n,
                            format!(
                                "{}: its targets must be intermediate catch events or receive \
                                 tasks, but '{}' is a {}",
                                label(n),
                                t.id,
                                t.activity_type()
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Literal timer texts must be valid ISO 8601 now; expressions are checked when evaluated.
    fn timers(&mut self, n: &FlowNode) {
        let def = match &n.kind {
            NodeKind::StartEvent {
                trigger: EventTrigger::Timer(t),
                ..
            }
            | NodeKind::IntermediateCatchEvent {
                trigger: EventTrigger::Timer(t),
            }
            | NodeKind::BoundaryEvent {
                trigger: EventTrigger::Timer(t),
                ..
            } => t,
            _ => return,
        };
        let (e, result) = match def {
            TimerDefinition::Date(e) => (e, literal(e).map(|t| timer::parse_date(t).map(drop))),
            TimerDefinition::Duration(e) => {
                (e, literal(e).map(|t| timer::parse_duration(t).map(drop)))
            }
            TimerDefinition::Cycle(e) => (e, literal(e).map(|t| timer::parse_cycle(t).map(drop))),
        };
        if let Some(Err(err)) = result {
            let kind = match def {
                TimerDefinition::Date(_) => "timeDate",
                TimerDefinition::Duration(_) => "timeDuration",
                TimerDefinition::Cycle(_) => "timeCycle",
            };
            self.node_problem(
                n,
                format!("{}: {kind} '{}': {err}", label(n), e.source().trim()),
            );
        }
    }

    /// Every link throw needs a link catch of the same name in its scope.
    fn links(&mut self, p: &Process) {
        for n in &p.nodes {
            let NodeKind::IntermediateThrowEvent {
                result: EventResult::Link { name },
            } = &n.kind
            else {
                continue;
            };
            let caught = p.nodes.iter().any(|c| {
                c.scope == n.scope
                    && matches!(&c.kind, NodeKind::IntermediateCatchEvent {
                        trigger: EventTrigger::Link { name: other },
                    } if other == name)
            });
            if !caught {
                self.node_problem(
                    n,
                    format!(
                        "link throw event '{}' jumps to link '{name}', but no link catch event \
                         of that name is in the same scope",
                        n.id
                    ),
                );
            }
        }
    }
}

fn literal(e: &crate::expr::Expression) -> Option<&str> {
    match e.language() {
        Language::Literal => Some(e.source().trim()),
        Language::Juel | Language::Feel | Language::JavaScript => None,
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
