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

use serde::Serialize;

use crate::expr::Expression;

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

/// `bpmn:collaboration`: pools and the message flows between them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Collaboration {
    /// Element id.
    pub id: String,
    /// Pools.
    pub participants: Vec<Participant>,
    /// Message flows (drawn, not executed).
    pub message_flows: Vec<MessageFlow>,
}

/// `bpmn:participant` (a pool).
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    /// Element id.
    pub id: String,
    /// Pool label.
    pub name: Option<String>,
    /// The process this pool shows, if any.
    pub process_ref: Option<String>,
}

/// `bpmn:messageFlow`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageFlow {
    /// Element id.
    pub id: String,
    /// Label.
    pub name: Option<String>,
    /// Source element id.
    pub source_ref: String,
    /// Target element id.
    pub target_ref: String,
}

/// A BPMNDI diagram (one `bpmndi:BPMNDiagram`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagram {
    /// Element id.
    pub id: String,
    /// The element the plane shows (process or collaboration id).
    pub plane_element: Option<String>,
    /// `bpmndi:BPMNShape`s.
    pub shapes: Vec<Shape>,
    /// `bpmndi:BPMNEdge`s.
    pub edges: Vec<Edge>,
}

/// A rectangle in diagram coordinates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bounds {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// A point in diagram coordinates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Point {
    /// X.
    pub x: f64,
    /// Y.
    pub y: f64,
}

/// `bpmndi:BPMNShape`.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    /// Element id of the shape itself.
    pub id: String,
    /// The BPMN element drawn (`bpmnElement`).
    pub element_id: String,
    /// Where it is drawn.
    pub bounds: Bounds,
    /// `isExpanded` (subprocesses, pools).
    pub is_expanded: Option<bool>,
    /// `isHorizontal` (pools and lanes).
    pub is_horizontal: Option<bool>,
    /// Label bounds when given.
    pub label: Option<Bounds>,
}

/// `bpmndi:BPMNEdge`.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// Element id of the edge itself.
    pub id: String,
    /// The BPMN element drawn (`bpmnElement`): a sequence flow, message flow or association.
    pub element_id: String,
    /// The polyline.
    pub waypoints: Vec<Point>,
    /// Label bounds when given.
    pub label: Option<Bounds>,
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
    /// Where the process element starts.
    pub position: Position,
}

impl Process {
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
    /// `camunda:failedJobRetryTimeCycle` (e.g. `R3/PT10S`), kept as written.
    pub retry_time_cycle: Option<String>,
    /// `camunda:properties` (exposed to workers as `extensionProperties`).
    pub properties: Vec<(String, String)>,
    /// `bpmn:documentation`.
    pub documentation: Option<String>,
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

/// Input/output mappings of an activity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoMapping {
    /// Input parameters: evaluated in the parent scope, set as local variables of the activity.
    pub inputs: Vec<IoParameter>,
    /// Output parameters: evaluated in the activity scope, set in the parent scope.
    pub outputs: Vec<IoParameter>,
}

impl IoMapping {
    /// True when there are no mappings.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty() && self.outputs.is_empty()
    }
}

/// One `camunda:inputParameter` / `camunda:outputParameter` / zeebe input/output.
#[derive(Debug, Clone, Serialize)]
pub struct IoParameter {
    /// The variable it sets.
    pub name: String,
    /// How its value is produced.
    pub value: IoValue,
}

/// The value of an input/output parameter.
#[derive(Debug, Clone, Serialize)]
pub enum IoValue {
    /// No content: the variable is set to null.
    Null,
    /// Text or an expression (`${...}`, `=...` FEEL, or a literal).
    Expression(Expression),
    /// `camunda:list`.
    List(Vec<IoValue>),
    /// `camunda:map`.
    Map(Vec<(String, IoValue)>),
}

/// `multiInstanceLoopCharacteristics`.
#[derive(Debug, Clone, Serialize)]
pub struct MultiInstance {
    /// `isSequential`.
    pub sequential: bool,
    /// `loopCardinality`.
    pub loop_cardinality: Option<Expression>,
    /// `camunda:collection` (an expression, or a bare variable name turned into one) /
    /// zeebe `inputCollection`.
    pub collection: Option<Expression>,
    /// `camunda:elementVariable` / zeebe `inputElement`.
    pub element_variable: Option<String>,
    /// `completionCondition`.
    pub completion_condition: Option<Expression>,
    /// zeebe `outputCollection`.
    pub output_collection: Option<String>,
    /// zeebe `outputElement`.
    pub output_element: Option<Expression>,
}

/// What triggers a start, intermediate catch or boundary event.
#[derive(Debug, Clone, Serialize)]
pub enum EventTrigger {
    /// No event definition.
    None,
    /// `messageEventDefinition`; `name` is the referenced message's name.
    Message {
        /// Message name.
        name: String,
    },
    /// `timerEventDefinition`.
    Timer(TimerDefinition),
    /// `signalEventDefinition`; `name` is the referenced signal's name.
    Signal {
        /// Signal name.
        name: String,
    },
    /// `errorEventDefinition` on a catching event. `code: None` catches every error.
    Error {
        /// The error code to match, `None` for catch-all.
        code: Option<String>,
        /// `camunda:errorCodeVariable`.
        code_variable: Option<String>,
        /// `camunda:errorMessageVariable`.
        message_variable: Option<String>,
    },
    /// `escalationEventDefinition` on a catching event. `code: None` catches every escalation.
    Escalation {
        /// The escalation code to match, `None` for catch-all.
        code: Option<String>,
        /// `camunda:escalationCodeVariable`.
        code_variable: Option<String>,
    },
    /// `conditionalEventDefinition`.
    Conditional {
        /// The condition.
        condition: Expression,
        /// `camunda:variableName`: only changes to this variable re-evaluate it.
        variable_name: Option<String>,
    },
    /// `linkEventDefinition` on a catching event.
    Link {
        /// The link name.
        name: String,
    },
}

/// What an end event or intermediate throw event does.
// Variant sizes differ (a message throw can carry a whole task definition); the model is built
// once per deployment and read in place, so boxing would add indirection for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
pub enum EventResult {
    /// Plain end / pass-through.
    None,
    /// `terminateEventDefinition`.
    Terminate,
    /// `errorEventDefinition` on a throwing event.
    Error {
        /// Error code thrown.
        code: String,
        /// `camunda:errorMessage` of the referenced error.
        message: Option<String>,
    },
    /// `escalationEventDefinition` on a throwing event.
    Escalation {
        /// Escalation code thrown.
        code: String,
    },
    /// `signalEventDefinition` on a throwing event: broadcast.
    Signal {
        /// Signal name.
        name: String,
    },
    /// `messageEventDefinition` on a throwing event. With a topic it behaves like a service
    /// task (Camunda 7 runs message throw events through their implementation); without one
    /// it passes through.
    Message {
        /// Message name.
        name: Option<String>,
        /// External-task implementation, when given.
        task: Option<ServiceTaskDef>,
    },
    /// `linkEventDefinition` on a throwing event: jump to the catching link of that name.
    Link {
        /// The link name.
        name: String,
    },
}

/// `timerEventDefinition`: the raw text of its one child; it may contain `${...}`, so it is
/// parsed (and, when literal, validated) by [`crate::timer`].
#[derive(Debug, Clone, Serialize)]
pub enum TimerDefinition {
    /// `timeDate`.
    Date(Expression),
    /// `timeDuration`.
    Duration(Expression),
    /// `timeCycle`.
    Cycle(Expression),
}

/// Which kind of task routes through the external-task path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceKind {
    /// `serviceTask`.
    Service,
    /// `sendTask`.
    Send,
    /// `businessRuleTask`.
    BusinessRule,
    /// A message throw event with an implementation.
    MessageThrow,
}

/// An external-task implementation (service, send, business-rule task).
#[derive(Debug, Clone, Serialize)]
pub struct ServiceTaskDef {
    /// Which element kind it came from.
    pub kind: ServiceKind,
    /// `camunda:topic` / `zeebe:taskDefinition type`.
    pub topic: Expression,
    /// `camunda:taskPriority` on the activity.
    pub priority: Option<Expression>,
    /// zeebe `retries` (Camunda 8 default retries).
    pub retries: Option<Expression>,
    /// `camunda:errorEventDefinition` children: a completed task whose expression is true
    /// throws that error instead.
    pub error_event_definitions: Vec<ErrorEventDefinition>,
}

/// `camunda:errorEventDefinition` on an external task.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEventDefinition {
    /// Element id.
    pub id: String,
    /// Code of the referenced error.
    pub error_code: String,
    /// Message of the referenced error.
    pub error_message: Option<String>,
    /// `expression`: when true on complete, the error is thrown.
    pub expression: Expression,
}

/// A `camunda:formData` field.
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    /// `id`: the variable it sets.
    pub id: String,
    /// `label`.
    pub label: Option<String>,
    /// `type`: string, long, boolean, date, enum, or a custom type name.
    pub type_name: String,
    /// `defaultValue` (may be an expression).
    pub default_value: Option<Expression>,
    /// `camunda:constraint name="required"`.
    pub required: bool,
    /// `camunda:constraint name="readonly"`.
    pub readonly: bool,
    /// Other constraints by name (minlength, maxlength, min, max, ...).
    pub constraints: Vec<(String, Option<String>)>,
    /// `camunda:value` children of an enum field: (id, name).
    pub enum_values: Vec<(String, Option<String>)>,
}

/// `userTask` settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserTaskDef {
    /// `camunda:assignee` / zeebe `assignee`.
    pub assignee: Option<Expression>,
    /// `camunda:candidateUsers` (comma separated, or an expression giving a list).
    pub candidate_users: Option<Expression>,
    /// `camunda:candidateGroups`.
    pub candidate_groups: Option<Expression>,
    /// `camunda:dueDate`.
    pub due_date: Option<Expression>,
    /// `camunda:followUpDate`.
    pub follow_up_date: Option<Expression>,
    /// `camunda:priority`.
    pub priority: Option<Expression>,
    /// `camunda:formKey` / zeebe `formKey`.
    pub form_key: Option<String>,
    /// `camunda:formData` fields.
    pub form_fields: Vec<FormField>,
}

/// How a call activity picks the version of the called process.
#[derive(Debug, Clone, Serialize)]
pub enum CalledElementBinding {
    /// `latest` (default).
    Latest,
    /// `deployment`: the version deployed in the same deployment as the caller.
    Deployment,
    /// `version`: `camunda:calledElementVersion`.
    Version(Expression),
    /// `versionTag`: `camunda:calledElementVersionTag`.
    VersionTag(Expression),
}

/// A `camunda:in` / `camunda:out` mapping of a call activity.
#[derive(Debug, Clone, Serialize)]
pub enum CallMapping {
    /// `variables="all"`: copy every variable (`local` restricts to local ones).
    All {
        /// `local="true"`.
        local: bool,
    },
    /// `source="x" target="y"`.
    Source {
        /// Source variable.
        source: String,
        /// Target variable.
        target: String,
    },
    /// `sourceExpression="${...}" target="y"`.
    Expression {
        /// Expression evaluated in the source scope.
        source: Expression,
        /// Target variable.
        target: String,
    },
    /// `businessKey="${...}"` on `camunda:in`: the child's business key.
    BusinessKey(Expression),
}

/// `callActivity` settings.
#[derive(Debug, Clone, Serialize)]
pub struct CallActivityDef {
    /// `calledElement` / zeebe `processId` (may be an expression).
    pub called_element: Expression,
    /// `camunda:calledElementBinding`.
    pub binding: CalledElementBinding,
    /// `camunda:in` mappings.
    pub inputs: Vec<CallMapping>,
    /// `camunda:out` mappings.
    pub outputs: Vec<CallMapping>,
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
        }
    }
}
