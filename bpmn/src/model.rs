//! The in-memory BPMN model: what the parser produces and the execution core walks.
//!
//! Flow nodes of every scope of a process live in one arena (`Process::nodes`), addressed by
//! [`NodeIdx`]; sequence flows likewise by [`FlowIdx`]. A node's `scope` names the embedded
//! or event subprocess that contains it (`None` = the process itself). Adjacency
//! (incoming/outgoing flows, attached boundary events) is resolved once by the parser, so the
//! engine never looks anything up by string on the hot path except through `Process::node_by_id`.
//!
//! The model is immutable once parsed. Everything the engine evaluates at runtime is kept as an
//! [`Expression`] (already parsed, so malformed expressions are deploy-time errors).
//!
//! This file holds the graph (definitions, processes, flow nodes, sequence flows, node kinds);
//! the settings of its parts live beside it and are re-exported here, so every type is
//! `model::X`: `activities` (tasks, call activities, I/O mappings, multi-instance), `events`
//! (triggers, results, timers) and `diagram` (collaboration and BPMNDI, for drawing only).

use serde::Serialize;

use crate::expr::Expression;

mod activities;
mod diagram;
mod events;
mod listeners;

pub use activities::*;
pub use diagram::*;
pub use events::*;
pub use listeners::*;

/// Index of a flow node inside `Process::nodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeIdx(pub u32);

/// Index of a sequence flow inside `Process::flows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FlowIdx(pub u32);

/// Where an element starts in the source XML (1-based line and column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// A parsed `bpmn:definitions` document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Definitions {
    /// `id` attribute.
    pub id: Option<String>,
    /// `targetNamespace` (Camunda's definition `category`).
    pub target_namespace: Option<String>,
    /// Every process in the file, executable or not.
    pub processes: Vec<Process>,
    /// `bpmn:message` elements.
    pub messages: Vec<MessageDef>,
    /// `bpmn:error` elements.
    pub errors: Vec<ErrorDef>,
    /// `bpmn:signal` elements.
    pub signals: Vec<SignalDef>,
    /// `bpmn:escalation` elements.
    pub escalations: Vec<EscalationDef>,
    /// The collaboration (pools and message flows), when the file has one.
    pub collaboration: Option<Collaboration>,
    /// BPMNDI diagrams: shapes and edges to draw.
    pub diagrams: Vec<Diagram>,
}

impl Definitions {
    /// The executable processes (the ones a deployment turns into process definitions).
    pub fn executable_processes(&self) -> impl Iterator<Item = &Process> {
        self.processes.iter().filter(|p| p.is_executable)
    }

    /// A process by its id (the Camunda process definition key).
    pub fn process(&self, id: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.id == id)
    }
}

/// `bpmn:message`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageDef {
    /// Element id (what `messageRef` points at).
    pub id: String,
    /// Message name (what correlation matches). May contain an expression.
    pub name: String,
}

/// `bpmn:error`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorDef {
    /// Element id.
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `errorCode`: what a thrown BPMN error is matched by.
    pub error_code: Option<String>,
    /// `camunda:errorMessage`.
    pub error_message: Option<String>,
}

/// `bpmn:signal`.
#[derive(Debug, Clone, Serialize)]
pub struct SignalDef {
    /// Element id.
    pub id: String,
    /// Signal name (what a broadcast matches).
    pub name: String,
}

/// `bpmn:escalation`.
#[derive(Debug, Clone, Serialize)]
pub struct EscalationDef {
    /// Element id.
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `escalationCode`.
    pub escalation_code: Option<String>,
}

/// One `bpmn:process`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Process {
    /// Process id: the process definition key.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// `isExecutable`; only executable processes become process definitions.
    pub is_executable: bool,
    /// `camunda:versionTag`.
    pub version_tag: Option<String>,
    /// `camunda:historyTimeToLive` in days, when given as a number.
    pub history_time_to_live: Option<i32>,
    /// `camunda:taskPriority` on the process: default external task priority.
    pub task_priority: Option<Expression>,
    /// `camunda:candidateStarterGroups`, comma separated in the source.
    pub candidate_starter_groups: Vec<String>,
    /// `camunda:candidateStarterUsers`.
    pub candidate_starter_users: Vec<String>,
    /// `camunda:isStartableInTasklist` (default true).
    pub startable_in_tasklist: bool,
    /// `bpmn:documentation`.
    pub documentation: Option<String>,
    /// Lanes (flattened, with their parent lane if nested).
    pub lanes: Vec<Lane>,
    /// Every flow node of every scope.
    pub nodes: Vec<FlowNode>,
    /// Every sequence flow of every scope.
    pub flows: Vec<SequenceFlow>,
    /// Non-executing artifacts kept for drawing (text annotations, data objects, groups, associations).
    pub artifacts: Vec<Artifact>,
    /// `camunda:executionListener`s on the process (`start` / `end` of the instance).
    pub listeners: Vec<ExecutionListener>,
    /// Where the process element starts.
    pub position: Position,
    /// The index of each node by element id, built once by `Process::index_nodes` when the
    /// model is read (the reader rejects duplicate ids). Every command looks nodes up by id;
    /// the state machine used to build this map for each command, a hash and an insert per
    /// node of the model on every step (a start on a 200-node model took 8.3 µs instead of
    /// 3.9).
    #[serde(skip)]
    pub(crate) node_index: foldhash::HashMap<String, NodeIdx>,
}

impl Process {
    /// Index [`Process::nodes`] by element id, once they are final (the reader does). A
    /// process that was never indexed is scanned by [`Process::node_by_id`] instead.
    pub(crate) fn index_nodes(&mut self) {
        let mut index = foldhash::HashMap::with_capacity_and_hasher(
            self.nodes.len(),
            foldhash::fast::RandomState::default(),
        );
        for (i, node) in self.nodes.iter().enumerate() {
            index.entry(node.id.clone()).or_insert(NodeIdx(i as u32));
        }
        self.node_index = index;
    }

    /// The node at `idx`.
    pub fn node(&self, idx: NodeIdx) -> &FlowNode {
        &self.nodes[idx.0 as usize]
    }

    /// The flow at `idx`.
    pub fn flow(&self, idx: FlowIdx) -> &SequenceFlow {
        &self.flows[idx.0 as usize]
    }

    /// A node by its element id.
    pub fn node_by_id(&self, id: &str) -> Option<NodeIdx> {
        if !self.node_index.is_empty() || self.nodes.is_empty() {
            return self.node_index.get(id).copied();
        }
        // A process built by hand, not by the reader.
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .map(|i| NodeIdx(i as u32))
    }

    /// The nodes directly inside `scope` (`None` = the process level).
    pub fn nodes_in_scope(&self, scope: Option<NodeIdx>) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.scope == scope)
            .map(|(i, _)| NodeIdx(i as u32))
    }

    /// The compensation handler of the compensation boundary event `boundary`: the activity
    /// its association points to.
    pub fn compensation_handler(&self, boundary: NodeIdx) -> Option<NodeIdx> {
        let id = &self.node(boundary).id;
        self.artifacts
            .iter()
            .filter(|a| matches!(a.kind, ArtifactKind::Association))
            .filter(|a| a.source_ref.as_deref() == Some(id.as_str()))
            .find_map(|a| a.target_ref.as_deref().and_then(|t| self.node_by_id(t)))
            .filter(|&h| self.node(h).for_compensation)
    }

    /// The compensation boundary event attached to `activity`, when it has one.
    pub fn compensation_boundary(&self, activity: NodeIdx) -> Option<NodeIdx> {
        self.node(activity)
            .boundary_events
            .iter()
            .copied()
            .find(|&b| {
                matches!(
                    self.node(b).kind,
                    NodeKind::BoundaryEvent {
                        trigger: EventTrigger::Compensation,
                        ..
                    }
                )
            })
    }

    /// The start event a plain "start instance" enters, Camunda's `selectInitial`: the none
    /// (or timer) start event at process level, else the only start event whatever its type
    /// (a process with one message start event starts there too).
    pub fn initial_start_event(&self) -> Option<NodeIdx> {
        let starts: Vec<NodeIdx> = self
            .nodes_in_scope(None)
            .filter(|&i| matches!(self.node(i).kind, NodeKind::StartEvent { .. }))
            .collect();
        let exclusive = starts.iter().copied().find(|&i| {
            matches!(
                self.node(i).kind,
                NodeKind::StartEvent {
                    trigger: EventTrigger::None | EventTrigger::Timer(_),
                    ..
                }
            )
        });
        match (exclusive, starts.as_slice()) {
            (Some(i), _) => Some(i),
            (None, [only]) => Some(*only),
            _ => None,
        }
    }

    /// The start events of a scope that a plain "start" enters: none start events, not
    /// the message/timer/signal ones (those are entered by their trigger).
    pub fn none_start_events(&self, scope: Option<NodeIdx>) -> impl Iterator<Item = NodeIdx> + '_ {
        self.nodes_in_scope(scope).filter(|&i| {
            matches!(
                self.node(i).kind,
                NodeKind::StartEvent {
                    trigger: EventTrigger::None,
                    ..
                }
            )
        })
    }
}

/// `bpmn:lane`.
#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    /// Element id.
    pub id: String,
    /// Label.
    pub name: Option<String>,
    /// The enclosing lane for nested lane sets.
    pub parent_lane: Option<String>,
    /// The flow nodes in the lane (`flowNodeRef`).
    pub flow_node_refs: Vec<String>,
}

/// A non-executing element kept for drawing.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    /// Element id.
    pub id: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// Label or text.
    pub text: Option<String>,
    /// For associations: source element id.
    pub source_ref: Option<String>,
    /// For associations: target element id.
    pub target_ref: Option<String>,
}

/// The kinds of drawing-only elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ArtifactKind {
    /// `bpmn:textAnnotation`.
    TextAnnotation,
    /// `bpmn:association`.
    Association,
    /// `bpmn:group`.
    Group,
    /// `bpmn:dataObject` / `bpmn:dataObjectReference`.
    DataObject,
    /// `bpmn:dataStoreReference`.
    DataStore,
    /// `bpmn:dataInput` / `bpmn:dataOutput` at process level.
    DataInputOutput,
}

/// `bpmn:sequenceFlow`.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceFlow {
    /// Element id.
    pub id: String,
    /// Label.
    pub name: Option<String>,
    /// Source node.
    pub source: NodeIdx,
    /// Target node.
    pub target: NodeIdx,
    /// `conditionExpression`, when present.
    pub condition: Option<Expression>,
    /// `camunda:executionListener`s (`take`).
    pub listeners: Vec<ExecutionListener>,
    /// Where it starts in the source.
    pub position: Position,
}

/// One flow node: an event, activity or gateway.
#[derive(Debug, Clone, Serialize)]
pub struct FlowNode {
    /// Element id (the Camunda activity id).
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// What it is and how it behaves.
    pub kind: NodeKind,
    /// Enclosing subprocess (`None` = process level).
    pub scope: Option<NodeIdx>,
    /// Incoming sequence flows.
    pub incoming: Vec<FlowIdx>,
    /// Outgoing sequence flows.
    pub outgoing: Vec<FlowIdx>,
    /// Boundary events attached to this activity.
    pub boundary_events: Vec<NodeIdx>,
    /// `default` flow (exclusive/inclusive gateways, and activities with conditional flows).
    pub default_flow: Option<FlowIdx>,
    /// `camunda:asyncBefore` (or `camunda:async`).
    pub async_before: bool,
    /// `camunda:asyncAfter`.
    pub async_after: bool,
    /// `camunda:inputOutput` / `zeebe:ioMapping`.
    pub io: IoMapping,
    /// `multiInstanceLoopCharacteristics`.
    pub multi_instance: Option<MultiInstance>,
    /// `standardLoopCharacteristics`.
    pub standard_loop: Option<StandardLoop>,
    /// `isForCompensation`: a compensation handler, entered only by compensation.
    pub for_compensation: bool,
    /// A `transaction` subprocess (cancel end events and cancel boundary events apply).
    pub transaction: bool,
    /// `camunda:failedJobRetryTimeCycle` (e.g. `R3/PT10S`), kept as written.
    pub retry_time_cycle: Option<String>,
    /// `camunda:properties` (exposed to workers as `extensionProperties`).
    pub properties: Vec<(String, String)>,
    /// `bpmn:documentation`.
    pub documentation: Option<String>,
    /// `camunda:executionListener`s (`start` / `end`).
    pub listeners: Vec<ExecutionListener>,
    /// Where the element starts in the source.
    pub position: Position,
}

impl FlowNode {
    /// Camunda's `activityType` name for this node (`serviceTask`, `noneEndEvent`, ...).
    pub fn activity_type(&self) -> &'static str {
        self.kind.activity_type()
    }

    /// Whether the node is a subprocess scope (embedded or event subprocess).
    pub fn is_subprocess(&self) -> bool {
        matches!(self.kind, NodeKind::SubProcess { .. })
    }
}

/// Every kind of flow node baton knows, with its settings.
// See `EventResult`: built once per deployment, so variant size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
pub enum NodeKind {
    /// `startEvent`. `interrupting` only matters inside event subprocesses.
    StartEvent {
        /// What starts it.
        trigger: EventTrigger,
        /// `isInterrupting` (event subprocess start events; default true).
        interrupting: bool,
        /// `camunda:formKey`.
        form_key: Option<String>,
        /// `camunda:formData` fields of the start form.
        form_fields: Vec<FormField>,
        /// `camunda:initiator`: variable that receives the starting user id.
        initiator: Option<String>,
    },
    /// `endEvent`.
    EndEvent {
        /// What it does when reached.
        result: EventResult,
    },
    /// `intermediateCatchEvent`.
    IntermediateCatchEvent {
        /// What it waits for.
        trigger: EventTrigger,
    },
    /// `intermediateThrowEvent`.
    IntermediateThrowEvent {
        /// What it throws.
        result: EventResult,
    },
    /// `boundaryEvent`.
    BoundaryEvent {
        /// The activity it is attached to.
        attached_to: NodeIdx,
        /// What triggers it.
        trigger: EventTrigger,
        /// `cancelActivity` (default true): interrupting.
        cancel_activity: bool,
    },
    /// `serviceTask`, `sendTask`, `businessRuleTask` with an external implementation.
    ServiceTask(ServiceTaskDef),
    /// `userTask`.
    UserTask(UserTaskDef),
    /// `receiveTask`; waits for `message`.
    ReceiveTask {
        /// Message name it waits for.
        message: Option<String>,
    },
    /// `manualTask`: passes through.
    ManualTask,
    /// `task` (abstract task): passes through.
    Task,
    /// `subProcess` (embedded) or event subprocess (`triggeredByEvent`).
    SubProcess {
        /// Event subprocess.
        triggered_by_event: bool,
    },
    /// `callActivity`.
    CallActivity(CallActivityDef),
    /// `exclusiveGateway`.
    ExclusiveGateway,
    /// `parallelGateway`.
    ParallelGateway,
    /// `inclusiveGateway`.
    InclusiveGateway,
    /// `eventBasedGateway`.
    EventBasedGateway,
    /// `complexGateway` (BPMN 2.0 §13.3.5; Camunda 7 has none): forks like an inclusive
    /// gateway; joins when `activation_condition` (which sees `activationCount`, the tokens
    /// arrived) holds.
    ComplexGateway {
        /// `activationCondition`; none: wait for a token on every incoming flow.
        activation_condition: Option<Expression>,
    },
}

impl NodeKind {
    /// Camunda's `activityType` string.
    pub fn activity_type(&self) -> &'static str {
        match self {
            NodeKind::StartEvent { trigger, .. } => match trigger {
                EventTrigger::Message { .. } => "messageStartEvent",
                EventTrigger::Timer(_) => "startTimerEvent",
                EventTrigger::Signal { .. } => "signalStartEvent",
                EventTrigger::Error { .. } => "errorStartEvent",
                EventTrigger::Escalation { .. } => "escalationStartEvent",
                EventTrigger::Conditional { .. } => "conditionalStartEvent",
                _ => "startEvent",
            },
            NodeKind::EndEvent { result } => match result {
                EventResult::Terminate => "terminateEndEvent",
                EventResult::Error { .. } => "errorEndEvent",
                EventResult::Escalation { .. } => "escalationEndEvent",
                EventResult::Signal { .. } => "signalEndEvent",
                EventResult::Message { .. } => "messageEndEvent",
                _ => "noneEndEvent",
            },
            NodeKind::IntermediateCatchEvent { trigger } => match trigger {
                EventTrigger::Message { .. } => "intermediateMessageCatch",
                EventTrigger::Timer(_) => "intermediateTimer",
                EventTrigger::Signal { .. } => "intermediateSignalCatch",
                EventTrigger::Conditional { .. } => "intermediateConditional",
                EventTrigger::Link { .. } => "intermediateLinkCatch",
                _ => "intermediateCatchEvent",
            },
            NodeKind::IntermediateThrowEvent { result } => match result {
                EventResult::Signal { .. } => "intermediateSignalThrow",
                EventResult::Message { .. } => "intermediateMessageThrowEvent",
                EventResult::Escalation { .. } => "intermediateEscalationThrowEvent",
                EventResult::Link { .. } => "intermediateLinkThrow",
                _ => "intermediateNoneThrowEvent",
            },
            NodeKind::BoundaryEvent { trigger, .. } => match trigger {
                EventTrigger::Message { .. } => "boundaryMessage",
                EventTrigger::Timer(_) => "boundaryTimer",
                EventTrigger::Signal { .. } => "boundarySignal",
                EventTrigger::Error { .. } => "boundaryError",
                EventTrigger::Escalation { .. } => "boundaryEscalation",
                EventTrigger::Conditional { .. } => "boundaryConditional",
                _ => "boundaryEvent",
            },
            NodeKind::ServiceTask(def) => match def.kind {
                ServiceKind::Service => "serviceTask",
                ServiceKind::Send => "sendTask",
                ServiceKind::BusinessRule => "businessRuleTask",
                ServiceKind::MessageThrow => "intermediateMessageThrowEvent",
                ServiceKind::Script => "scriptTask",
            },
            NodeKind::UserTask(_) => "userTask",
            NodeKind::ReceiveTask { .. } => "receiveTask",
            NodeKind::ManualTask => "manualTask",
            NodeKind::Task => "task",
            NodeKind::SubProcess {
                triggered_by_event: false,
            } => "subProcess",
            NodeKind::SubProcess {
                triggered_by_event: true,
            } => "eventSubProcess",
            NodeKind::CallActivity(_) => "callActivity",
            NodeKind::ExclusiveGateway => "exclusiveGateway",
            NodeKind::ParallelGateway => "parallelGateway",
            NodeKind::InclusiveGateway => "inclusiveGateway",
            NodeKind::EventBasedGateway => "eventBasedGateway",
            NodeKind::ComplexGateway { .. } => "complexGateway",
        }
    }
}
