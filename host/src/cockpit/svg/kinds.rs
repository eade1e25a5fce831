//! What to draw for each BPMN element: the closed [`Kind`] of a DI element (with its event,
//! task or gateway marker) and [`index`], which reads it off the parsed model once per render.
//! Knows nothing about coordinates or SVG.

use std::collections::{HashMap, HashSet};

use baton_bpmn::model::{
    ArtifactKind, Definitions, EventResult, EventTrigger, FlowNode, NodeKind, Process, ServiceKind,
};

/// Which marker an event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventMarker {
    None,
    Message,
    Timer,
    Signal,
    Error,
    Escalation,
    Conditional,
    Link,
    Terminate,
    Compensation,
    Cancel,
    Multiple,
    ParallelMultiple,
}

/// The role of an event for its border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventClass {
    Start,
    Intermediate,
    Boundary,
    End,
}

/// The marker of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TaskMarker {
    None,
    Service,
    User,
    Send,
    Receive,
    Manual,
    BusinessRule,
}

/// The marker of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GatewayMarker {
    Exclusive,
    Parallel,
    Inclusive,
    EventBased,
    Complex,
}

/// The markers at the bottom centre of an activity, and the transaction border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ActivityMarkers {
    /// `Some(sequential)` for multi-instance.
    pub(super) multi: Option<bool>,
    /// `standardLoopCharacteristics`: the loop arrow.
    pub(super) standard_loop: bool,
    /// `isForCompensation`: the compensation (rewind) marker.
    pub(super) compensation: bool,
    /// A `transaction` subprocess: double border.
    pub(super) transaction: bool,
}

/// What to draw for one BPMN element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Event {
        class: EventClass,
        marker: EventMarker,
        /// Filled marker (throwing).
        throwing: bool,
        /// Dashed border (non-interrupting boundary / event-subprocess start).
        non_interrupting: bool,
    },
    Task {
        marker: TaskMarker,
        /// Loop and compensation markers.
        multi: ActivityMarkers,
    },
    SubProcess {
        event: bool,
        multi: ActivityMarkers,
    },
    CallActivity {
        multi: ActivityMarkers,
    },
    Gateway(GatewayMarker),
    DataObject,
    DataStore,
    TextAnnotation,
    Group,
    Participant,
    Lane,
    SequenceFlow {
        default: bool,
        /// A conditional flow out of an activity (mini diamond at its start).
        conditional: bool,
    },
    MessageFlow,
    Association,
    /// An element the model does not know (drawn neutrally so it is still visible).
    Unknown,
}

impl Kind {
    /// The CSS class of the element's group.
    pub(super) fn css(&self) -> &'static str {
        match self {
            Kind::Event { .. } => "event",
            Kind::Task { .. } => "task",
            Kind::SubProcess { .. } => "subprocess",
            Kind::CallActivity { .. } => "call-activity",
            Kind::Gateway(_) => "gateway",
            Kind::DataObject => "data-object",
            Kind::DataStore => "data-store",
            Kind::TextAnnotation => "annotation",
            Kind::Group => "group",
            Kind::Participant => "pool",
            Kind::Lane => "lane",
            Kind::SequenceFlow { .. } => "flow",
            Kind::MessageFlow => "message-flow",
            Kind::Association => "association",
            Kind::Unknown => "unknown",
        }
    }

    /// Activities (what gets token badges in the cockpit).
    pub(super) fn is_activity(&self) -> bool {
        matches!(
            self,
            Kind::Task { .. } | Kind::SubProcess { .. } | Kind::CallActivity { .. }
        )
    }

    /// Whether the element's name is drawn outside its shape (events, gateways, data).
    pub(super) fn has_external_label(&self) -> bool {
        matches!(
            self,
            Kind::Event { .. } | Kind::Gateway(_) | Kind::DataObject | Kind::DataStore
        )
    }

    fn event(class: EventClass, marker: EventMarker, throwing: bool) -> Kind {
        Kind::Event {
            class,
            marker,
            throwing,
            non_interrupting: false,
        }
    }
}

/// One element of the model, as the renderer needs it.
#[derive(Debug, Clone)]
pub(super) struct Elem<'a> {
    pub(super) kind: Kind,
    pub(super) name: Option<&'a str>,
}

/// The elements of a model by id: what is drawn for each DI shape and edge.
pub(super) type Elems<'a> = HashMap<&'a str, Elem<'a>>;

fn trigger_marker(t: &EventTrigger) -> EventMarker {
    match t {
        EventTrigger::None => EventMarker::None,
        EventTrigger::Message { .. } => EventMarker::Message,
        EventTrigger::Timer(_) => EventMarker::Timer,
        EventTrigger::Signal { .. } => EventMarker::Signal,
        EventTrigger::Error { .. } => EventMarker::Error,
        EventTrigger::Escalation { .. } => EventMarker::Escalation,
        EventTrigger::Conditional { .. } => EventMarker::Conditional,
        EventTrigger::Link { .. } => EventMarker::Link,
        EventTrigger::Compensation => EventMarker::Compensation,
        EventTrigger::Cancel => EventMarker::Cancel,
        EventTrigger::Multiple {
            parallel: false, ..
        } => EventMarker::Multiple,
        EventTrigger::Multiple { parallel: true, .. } => EventMarker::ParallelMultiple,
    }
}

fn result_marker(r: &EventResult) -> EventMarker {
    match r {
        EventResult::None => EventMarker::None,
        EventResult::Terminate => EventMarker::Terminate,
        EventResult::Error { .. } => EventMarker::Error,
        EventResult::Escalation { .. } => EventMarker::Escalation,
        EventResult::Signal { .. } => EventMarker::Signal,
        EventResult::Message { .. } => EventMarker::Message,
        EventResult::Link { .. } => EventMarker::Link,
        EventResult::Compensate { .. } => EventMarker::Compensation,
        EventResult::Cancel => EventMarker::Cancel,
        EventResult::Multiple(_) => EventMarker::Multiple,
    }
}

/// What a flow node looks like.
fn node_kind(n: &FlowNode) -> Kind {
    let multi = ActivityMarkers {
        multi: n.multi_instance.as_ref().map(|m| m.sequential),
        standard_loop: n.standard_loop.is_some(),
        compensation: n.for_compensation,
        transaction: n.transaction,
    };
    let task = |marker| Kind::Task { marker, multi };
    match &n.kind {
        NodeKind::StartEvent {
            trigger,
            interrupting,
            ..
        } => Kind::Event {
            class: EventClass::Start,
            marker: trigger_marker(trigger),
            throwing: false,
            non_interrupting: !interrupting,
        },
        NodeKind::EndEvent { result } => Kind::event(EventClass::End, result_marker(result), true),
        NodeKind::IntermediateCatchEvent { trigger } => {
            Kind::event(EventClass::Intermediate, trigger_marker(trigger), false)
        }
        NodeKind::IntermediateThrowEvent { result } => {
            Kind::event(EventClass::Intermediate, result_marker(result), true)
        }
        NodeKind::BoundaryEvent {
            trigger,
            cancel_activity,
            ..
        } => Kind::Event {
            class: EventClass::Boundary,
            marker: trigger_marker(trigger),
            throwing: false,
            non_interrupting: !cancel_activity,
        },
        NodeKind::ServiceTask(def) => match def.kind {
            ServiceKind::Service => task(TaskMarker::Service),
            ServiceKind::Send => task(TaskMarker::Send),
            ServiceKind::BusinessRule => task(TaskMarker::BusinessRule),
            // No script marker is drawn yet; the task's name and type say it.
            ServiceKind::Script => task(TaskMarker::None),
            ServiceKind::MessageThrow => {
                Kind::event(EventClass::Intermediate, EventMarker::Message, true)
            }
        },
        NodeKind::UserTask(_) => task(TaskMarker::User),
        NodeKind::ReceiveTask { .. } => task(TaskMarker::Receive),
        NodeKind::ManualTask => task(TaskMarker::Manual),
        NodeKind::Task => task(TaskMarker::None),
        NodeKind::SubProcess { triggered_by_event } => Kind::SubProcess {
            event: *triggered_by_event,
            multi,
        },
        NodeKind::CallActivity(_) => Kind::CallActivity { multi },
        NodeKind::ExclusiveGateway => Kind::Gateway(GatewayMarker::Exclusive),
        NodeKind::ParallelGateway => Kind::Gateway(GatewayMarker::Parallel),
        NodeKind::InclusiveGateway => Kind::Gateway(GatewayMarker::Inclusive),
        NodeKind::EventBasedGateway => Kind::Gateway(GatewayMarker::EventBased),
        NodeKind::ComplexGateway { .. } => Kind::Gateway(GatewayMarker::Complex),
    }
}

/// Index the nodes, flows, artifacts and lanes of one process.
fn index_process<'a>(p: &'a Process, map: &mut Elems<'a>) {
    let mut put = |id: &'a str, kind: Kind, name: Option<&'a str>| {
        map.insert(id, Elem { kind, name });
    };
    // Which flows are defaults (a slash at their start).
    let default_flows: HashSet<u32> = p
        .nodes
        .iter()
        .filter_map(|n| n.default_flow.map(|d| d.0))
        .collect();
    for n in &p.nodes {
        put(&n.id, node_kind(n), n.name.as_deref());
    }
    for (i, f) in p.flows.iter().enumerate() {
        // Only a condition out of an activity gets the mini diamond; out of a gateway it is
        // the gateway's own decision.
        let source_is_gateway = matches!(
            p.nodes.get(f.source.0 as usize).map(|n| &n.kind),
            Some(
                NodeKind::ExclusiveGateway
                    | NodeKind::InclusiveGateway
                    | NodeKind::ParallelGateway
                    | NodeKind::EventBasedGateway
                    | NodeKind::ComplexGateway { .. }
            )
        );
        let kind = Kind::SequenceFlow {
            default: default_flows.contains(&(i as u32)),
            conditional: f.condition.is_some() && !source_is_gateway,
        };
        put(&f.id, kind, f.name.as_deref());
    }
    for a in &p.artifacts {
        let kind = match a.kind {
            ArtifactKind::TextAnnotation => Kind::TextAnnotation,
            ArtifactKind::Association => Kind::Association,
            ArtifactKind::Group => Kind::Group,
            ArtifactKind::DataObject | ArtifactKind::DataInputOutput => Kind::DataObject,
            ArtifactKind::DataStore => Kind::DataStore,
        };
        put(&a.id, kind, a.text.as_deref());
    }
    for l in &p.lanes {
        put(&l.id, Kind::Lane, l.name.as_deref());
    }
}

/// Index every drawable element of the model by id.
pub(super) fn index(defs: &Definitions) -> Elems<'_> {
    let mut map = Elems::new();
    for p in &defs.processes {
        index_process(p, &mut map);
    }
    if let Some(c) = &defs.collaboration {
        for p in &c.participants {
            let elem = Elem {
                kind: Kind::Participant,
                name: p.name.as_deref(),
            };
            map.insert(&p.id, elem);
        }
        for m in &c.message_flows {
            let elem = Elem {
                kind: Kind::MessageFlow,
                name: m.name.as_deref(),
            };
            map.insert(&m.id, elem);
        }
    }
    map
}
