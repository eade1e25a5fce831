//! The reader: BPMN 2.0 XML (as Camunda Modeler writes it, Camunda 7 `camunda:` and Camunda 8
//! `zeebe:` dialects) -> [`Definitions`].
//!
//! Two steps: [`xml`] turns bytes into an element tree with resolved namespaces and positions;
//! the [`Builder`] here maps that tree onto the model. The builder owns everything that needs
//! the XML to answer: references by id (sequence flow ends, `attachedToRef`, `default`,
//! `errorRef`/`messageRef`/`signalRef`/`escalationRef`), expression syntax (the model only holds
//! parsed expressions), and naming every unsupported construct. Graph rules that can be checked
//! on the finished model live in `validate.rs`.
//!
//! Severity: structural problems (unresolvable references, missing or duplicate ids) are always
//! errors. Execution-related ones (unsupported constructs, bad expressions) are errors in
//! executable processes and warnings in `isExecutable="false"` ones, which Camunda never runs.

pub(crate) mod xml;

use std::collections::HashMap;

use super::{Problem, Severity};
use crate::expr::Expression;
use crate::model::*;
use xml::{El, Ns};

const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

/// What to tell users whose service task is implemented in Java or by an expression.
const EXTERNAL_ADVICE: &str = "baton supports external tasks: set camunda:type=\"external\" with \
     camunda:topic (or zeebe:taskDefinition type), served by a worker or a wasm component";
const SCRIPT_ADVICE: &str = "baton runs no scripts; model the logic as a service task with a \
     topic, served by a worker or a wasm component";
const LISTENER_ADVICE: &str = "baton runs no code inside the engine; model the logic as a \
     service task with a topic, served by a worker or a wasm component";

pub(super) fn read(bytes: &[u8]) -> (Option<Definitions>, Vec<Problem>) {
    let root = match xml::parse_document(bytes) {
        Ok(root) => root,
        Err(e) => {
            return (
                None,
                vec![Problem {
                    severity: Severity::Error,
                    message: e.message,
                    element_id: None,
                    line: e.pos.line,
                    column: e.pos.column,
                }],
            );
        }
    };
    if !root.is(Ns::Bpmn, "definitions") {
        let problem = Problem {
            severity: Severity::Error,
            message: format!(
                "not a BPMN 2.0 document: the root element is <{}>, expected <definitions> in \
                 namespace {BPMN_NS}",
                root.qname
            ),
            element_id: None,
            line: root.pos.line,
            column: root.pos.column,
        };
        return (None, vec![problem]);
    }
    let mut b = Builder {
        problems: Vec::new(),
        exec: Severity::Error,
        messages: HashMap::new(),
        errors: HashMap::new(),
        signals: HashMap::new(),
        escalations: HashMap::new(),
        ids: HashMap::new(),
    };
    let defs = b.definitions(&root);
    (Some(defs), b.problems)
}

/// `kind 'id'` for messages.
fn describe(el: &El) -> String {
    match el.id() {
        Some(id) => format!("{} '{id}'", el.name),
        None => format!("{} (without id)", el.name),
    }
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// A bare variable name such as `camunda:collection="items"`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// Children of `extensionElements`.
fn ext(el: &El) -> impl Iterator<Item = &El> {
    el.children
        .iter()
        .filter(|c| c.is(Ns::Bpmn, "extensionElements"))
        .flat_map(|e| e.children.iter())
}

fn ext_named<'a>(el: &'a El, ns: Ns, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
    ext(el).filter(move |c| c.is(ns, name))
}

fn documentation(el: &El) -> Option<String> {
    let text: Vec<&str> = el
        .children_named(Ns::Bpmn, "documentation")
        .map(|d| d.text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}

fn split_list(v: Option<&str>) -> Vec<String> {
    v.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Script languages in `conditionExpression language=...`; JUEL/FEEL are expressions, the
/// rest would need a script engine.
fn is_expression_language(lang: &str) -> bool {
    let l = lang.trim().to_ascii_lowercase();
    l.is_empty()
        || l == "juel"
        || l == "feel"
        || l.contains("feel")
        || l.contains("juel")
        || l == "http://www.w3.org/1999/xpath"
        || l.starts_with("http://www.omg.org/spec/bpmn")
}

/// Look up a reference that may be written as a QName (`tns:newInvoice`, the prefix of the
/// target namespace, as the BPMN schema allows).
fn lookup<'a, T>(map: &'a HashMap<String, T>, r: &str) -> Option<&'a T> {
    map.get(r)
        .or_else(|| r.rsplit_once(':').and_then(|(_, local)| map.get(local)))
}

fn lookup_node<T: Copy>(by_id: &HashMap<&str, T>, r: &str) -> Option<T> {
    by_id
        .get(r)
        .or_else(|| r.rsplit_once(':').and_then(|(_, local)| by_id.get(local)))
        .copied()
}

/// A sequence flow before its ends are resolved to node indexes.
struct RawFlow {
    id: String,
    name: Option<String>,
    source: String,
    target: String,
    condition: Option<Expression>,
    position: Position,
}

/// Per-process state while reading.
#[derive(Default)]
struct ProcCtx {
    nodes: Vec<FlowNode>,
    flows: Vec<RawFlow>,
    /// (boundary node, attachedToRef, element position).
    boundaries: Vec<(NodeIdx, String, Position)>,
    /// (node, default flow id, element position).
    defaults: Vec<(NodeIdx, String, Position)>,
    lanes: Vec<Lane>,
    artifacts: Vec<Artifact>,
}

struct Builder {
    problems: Vec<Problem>,
    /// Severity of execution-related findings in the process being read.
    exec: Severity,
    messages: HashMap<String, MessageDef>,
    errors: HashMap<String, ErrorDef>,
    signals: HashMap<String, SignalDef>,
    escalations: HashMap<String, EscalationDef>,
    /// Every id seen in the document, for duplicate detection.
    ids: HashMap<String, Position>,
}

impl Builder {
    fn push(&mut self, severity: Severity, el: &El, message: String) {
        self.problems.push(Problem {
            severity,
            message,
            element_id: el.id().map(str::to_owned),
            line: el.pos.line,
            column: el.pos.column,
        });
    }

    /// A structural error: always an error.
    fn error(&mut self, el: &El, message: String) {
        self.push(Severity::Error, el, message);
    }

    /// An execution-related finding: an error in executable processes, else a warning.
    fn exec_problem(&mut self, el: &El, message: String) {
        self.push(self.exec, el, message);
    }

    fn unsupported(&mut self, el: &El, what: &str, advice: &str) {
        let message = format!("{}: {what} not supported: {advice}", describe(el));
        self.exec_problem(el, message);
    }

    fn expr(&mut self, el: &El, what: &str, text: &str) -> Expression {
        match Expression::parse(text) {
            Ok(e) => e,
            Err(e) => {
                self.exec_problem(
                    el,
                    format!(
                        "{}: invalid expression in {what} '{text}': {}",
                        describe(el),
                        e.message
                    ),
                );
                Expression::literal(text)
            }
        }
    }

    fn opt_expr(&mut self, el: &El, what: &str, text: Option<&str>) -> Option<Expression> {
        non_empty(text).map(|t| self.expr(el, what, t))
    }

    /// The element's id, registering it for duplicate detection. Flow elements must have one.
    fn require_id(&mut self, el: &El) -> String {
        match non_empty(el.id()) {
            Some(id) => {
                let id = id.to_owned();
                self.register_id(el, &id);
                id
            }
            None => {
                self.error(el, format!("<{}> has no id attribute", el.qname));
                format!("{}@{}:{}", el.name, el.pos.line, el.pos.column)
            }
        }
    }

    /// The id of an element Camunda accepts without one (sequence flows, artifacts): a
    /// position-based id stands in, which nothing can reference anyway.
    fn optional_id(&mut self, el: &El) -> String {
        match non_empty(el.id()) {
            Some(_) => self.require_id(el),
            None => format!("{}@{}:{}", el.name, el.pos.line, el.pos.column),
        }
    }

    fn register_id(&mut self, el: &El, id: &str) {
        if let Some(first) = self.ids.get(id) {
            let message = format!(
                "{}: duplicate id (first used at {}:{})",
                describe(el),
                first.line,
                first.column
            );
            self.error(el, message);
        } else {
            self.ids.insert(id.to_owned(), el.pos);
        }
    }

    fn definitions(&mut self, root: &El) -> Definitions {
        let mut defs = Definitions {
            id: root.id().map(str::to_owned),
            target_namespace: root.attr("targetNamespace").map(str::to_owned),
            ..Definitions::default()
        };
        // Root elements first: processes refer to them by id, in any order.
        for c in root.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            match c.name.as_str() {
                "message" => {
                    let id = self.require_id(c);
                    let name = match non_empty(c.attr("name")) {
                        Some(n) => n.to_owned(),
                        None => id.clone(),
                    };
                    let m = MessageDef { id, name };
                    self.messages.insert(m.id.clone(), m.clone());
                    defs.messages.push(m);
                }
                "error" => {
                    let id = self.require_id(c);
                    let e = ErrorDef {
                        id,
                        name: c.attr("name").map(str::to_owned),
                        error_code: non_empty(c.attr("errorCode")).map(str::to_owned),
                        error_message: c.attr_ns(Ns::Camunda, "errorMessage").map(str::to_owned),
                    };
                    self.errors.insert(e.id.clone(), e.clone());
                    defs.errors.push(e);
                }
                "signal" => {
                    let id = self.require_id(c);
                    let name = match non_empty(c.attr("name")) {
                        Some(n) => n.to_owned(),
                        None => id.clone(),
                    };
                    let s = SignalDef { id, name };
                    self.signals.insert(s.id.clone(), s.clone());
                    defs.signals.push(s);
                }
                "escalation" => {
                    let id = self.require_id(c);
                    let e = EscalationDef {
                        id,
                        name: c.attr("name").map(str::to_owned),
                        escalation_code: non_empty(c.attr("escalationCode")).map(str::to_owned),
                    };
                    self.escalations.insert(e.id.clone(), e.clone());
                    defs.escalations.push(e);
                }
                _ => {}
            }
        }
        for c in &root.children {
            match (c.ns, c.name.as_str()) {
                (Ns::Bpmn, "process") => {
                    let p = self.process(c);
                    defs.processes.push(p);
                }
                (Ns::Bpmn, "collaboration") => {
                    self.exec = Severity::Error;
                    let collab = self.collaboration(c);
                    if defs.collaboration.is_none() {
                        defs.collaboration = Some(collab);
                    }
                }
                (Ns::BpmnDi, "BPMNDiagram") => {
                    let d = self.diagram(c);
                    defs.diagrams.push(d);
                }
                _ => {}
            }
        }
        defs
    }

    fn collaboration(&mut self, el: &El) -> Collaboration {
        let mut collab = Collaboration {
            id: self.require_id(el),
            ..Collaboration::default()
        };
        for c in el.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            match c.name.as_str() {
                "participant" => {
                    let id = self.require_id(c);
                    collab.participants.push(Participant {
                        id,
                        name: c.attr("name").map(str::to_owned),
                        process_ref: non_empty(c.attr("processRef")).map(str::to_owned),
                    });
                }
                "messageFlow" => {
                    let id = self.require_id(c);
                    collab.message_flows.push(MessageFlow {
                        id,
                        name: c.attr("name").map(str::to_owned),
                        source_ref: c.attr("sourceRef").unwrap_or_default().trim().to_owned(),
                        target_ref: c.attr("targetRef").unwrap_or_default().trim().to_owned(),
                    });
                }
                "textAnnotation" | "association" | "group" => {
                    if let Some(id) = non_empty(c.id()) {
                        self.register_id(c, id);
                    }
                }
                _ => {}
            }
        }
        collab
    }

    fn diagram(&mut self, el: &El) -> Diagram {
        let mut d = Diagram {
            id: el.id().unwrap_or_default().to_owned(),
            ..Diagram::default()
        };
        for plane in el.children_named(Ns::BpmnDi, "BPMNPlane") {
            if d.plane_element.is_none() {
                d.plane_element = plane.attr("bpmnElement").map(str::to_owned);
            }
            for c in &plane.children {
                match (c.ns, c.name.as_str()) {
                    (Ns::BpmnDi, "BPMNShape") => d.shapes.push(Shape {
                        id: c.id().unwrap_or_default().to_owned(),
                        element_id: c.attr("bpmnElement").unwrap_or_default().to_owned(),
                        bounds: bounds(c.child(Ns::Dc, "Bounds")),
                        is_expanded: c.attr("isExpanded").map(|v| is_true(Some(v))),
                        is_horizontal: c.attr("isHorizontal").map(|v| is_true(Some(v))),
                        label: label_bounds(c),
                    }),
                    (Ns::BpmnDi, "BPMNEdge") => d.edges.push(Edge {
                        id: c.id().unwrap_or_default().to_owned(),
                        element_id: c.attr("bpmnElement").unwrap_or_default().to_owned(),
                        waypoints: c
                            .children_named(Ns::Di, "waypoint")
                            .map(|w| Point {
                                x: num(w.attr("x")),
                                y: num(w.attr("y")),
                            })
                            .collect(),
                        label: label_bounds(c),
                    }),
                    _ => {}
                }
            }
        }
        d
    }

    fn process(&mut self, el: &El) -> Process {
        // Camunda 7 reads a process without isExecutable as executable.
        let executable = el
            .attr("isExecutable")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
        self.exec = if executable {
            Severity::Error
        } else {
            Severity::Warning
        };
        let id = self.require_id(el);
        let history_time_to_live = el.attr_ns(Ns::Camunda, "historyTimeToLive").and_then(|v| {
            let v = v.trim();
            // Camunda accepts days as a number or as an ISO period of days (`P30D`).
            let days = v
                .strip_prefix('P')
                .and_then(|d| d.strip_suffix('D'))
                .unwrap_or(v);
            days.parse::<i32>().ok()
        });
        let task_priority = self.opt_expr(
            el,
            "camunda:taskPriority",
            el.attr_ns(Ns::Camunda, "taskPriority"),
        );
        let mut p = Process {
            id,
            name: el.attr("name").map(str::to_owned),
            is_executable: executable,
            version_tag: el
                .attr_ns(Ns::Camunda, "versionTag")
                .or_else(|| ext_named(el, Ns::Zeebe, "versionTag").find_map(|v| v.attr("value")))
                .map(str::to_owned),
            history_time_to_live,
            task_priority,
            candidate_starter_groups: split_list(el.attr_ns(Ns::Camunda, "candidateStarterGroups")),
            candidate_starter_users: split_list(el.attr_ns(Ns::Camunda, "candidateStarterUsers")),
            startable_in_tasklist: el
                .attr_ns(Ns::Camunda, "isStartableInTasklist")
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
            documentation: documentation(el),
            position: el.pos,
            ..Process::default()
        };
        self.listeners(el);
        let mut ctx = ProcCtx::default();
        self.scope(&mut ctx, el, None);
        self.resolve(&mut ctx);
        p.lanes = ctx.lanes;
        p.artifacts = ctx.artifacts;
        p.nodes = ctx.nodes;
        let by_id: HashMap<&str, u32> = p
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i as u32))
            .collect();
        let flows: Vec<SequenceFlow> = ctx
            .flows
            .into_iter()
            .filter_map(|f| {
                // Flows with an unresolved end were reported in `resolve`; the model cannot
                // hold them.
                let source = lookup_node(&by_id, &f.source)?;
                let target = lookup_node(&by_id, &f.target)?;
                Some(SequenceFlow {
                    id: f.id,
                    name: f.name,
                    source: NodeIdx(source),
                    target: NodeIdx(target),
                    condition: f.condition,
                    position: f.position,
                })
            })
            .collect();
        drop(by_id);
        p.flows = flows;
        for (i, f) in p.flows.iter().enumerate() {
            let fi = FlowIdx(i as u32);
            if let Some(n) = p.nodes.get_mut(f.source.0 as usize) {
                n.outgoing.push(fi);
            }
            if let Some(n) = p.nodes.get_mut(f.target.0 as usize) {
                n.incoming.push(fi);
            }
        }
        for (node, flow_id, pos) in std::mem::take(&mut ctx.defaults) {
            match p.flows.iter().position(|f| f.id == flow_id) {
                Some(fi) => {
                    if let Some(n) = p.nodes.get_mut(node.0 as usize) {
                        n.default_flow = Some(FlowIdx(fi as u32));
                    }
                }
                None => {
                    let node_id = p
                        .nodes
                        .get(node.0 as usize)
                        .map(|n| n.id.clone())
                        .unwrap_or_default();
                    self.problems.push(Problem {
                        severity: Severity::Error,
                        message: format!(
                            "'{node_id}': default flow '{flow_id}' is not a sequence flow of \
                             this process"
                        ),
                        element_id: Some(node_id),
                        line: pos.line,
                        column: pos.column,
                    });
                }
            }
        }
        p
    }

    /// Resolve sequence flow ends and boundary attachments (reporting the dangling ones).
    fn resolve(&mut self, ctx: &mut ProcCtx) {
        let by_id: HashMap<&str, usize> = ctx
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut problems = Vec::new();
        for f in &ctx.flows {
            for (end, what) in [(&f.source, "sourceRef"), (&f.target, "targetRef")] {
                if lookup_node(&by_id, end).is_none() {
                    let message = if end.is_empty() {
                        format!("sequenceFlow '{}' has no {what}", f.id)
                    } else {
                        format!(
                            "sequenceFlow '{}': {what} '{end}' is not a flow node of this process",
                            f.id
                        )
                    };
                    problems.push(Problem {
                        severity: Severity::Error,
                        message,
                        element_id: Some(f.id.clone()),
                        line: f.position.line,
                        column: f.position.column,
                    });
                }
            }
        }
        let mut attach = Vec::new();
        for (b, target, pos) in &ctx.boundaries {
            let b_id = ctx
                .nodes
                .get(b.0 as usize)
                .map(|n| n.id.clone())
                .unwrap_or_default();
            match lookup_node(&by_id, target) {
                Some(t) => attach.push((*b, t)),
                None => problems.push(Problem {
                    severity: Severity::Error,
                    message: if target.is_empty() {
                        format!("boundaryEvent '{b_id}' has no attachedToRef")
                    } else {
                        format!(
                            "boundaryEvent '{b_id}': attachedToRef '{target}' is not an \
                             activity of this process"
                        )
                    },
                    element_id: Some(b_id),
                    line: pos.line,
                    column: pos.column,
                }),
            }
        }
        drop(by_id);
        for (b, t) in attach {
            if let Some(NodeKind::BoundaryEvent { attached_to, .. }) =
                ctx.nodes.get_mut(b.0 as usize).map(|n| &mut n.kind)
            {
                *attached_to = NodeIdx(t as u32);
            }
            if let Some(n) = ctx.nodes.get_mut(t) {
                n.boundary_events.push(b);
            }
        }
        self.problems.extend(problems);
    }

    /// Read the children of a process or subprocess into `ctx`.
    fn scope(&mut self, ctx: &mut ProcCtx, el: &El, scope: Option<NodeIdx>) {
        for c in el.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            match c.name.as_str() {
                "sequenceFlow" => self.sequence_flow(ctx, c),
                "startEvent"
                | "endEvent"
                | "intermediateCatchEvent"
                | "intermediateThrowEvent"
                | "boundaryEvent"
                | "task"
                | "serviceTask"
                | "sendTask"
                | "businessRuleTask"
                | "userTask"
                | "receiveTask"
                | "manualTask"
                | "scriptTask"
                | "subProcess"
                | "transaction"
                | "adHocSubProcess"
                | "callActivity"
                | "exclusiveGateway"
                | "parallelGateway"
                | "inclusiveGateway"
                | "eventBasedGateway"
                | "complexGateway" => self.flow_node(ctx, c, scope),
                "laneSet" => self.lane_set(ctx, c, None),
                "textAnnotation" => {
                    let text = c.child(Ns::Bpmn, "text").map(|t| t.text.trim().to_owned());
                    self.artifact(ctx, c, ArtifactKind::TextAnnotation, text);
                }
                "association" => {
                    let id = self.optional_id(c);
                    ctx.artifacts.push(Artifact {
                        id,
                        kind: ArtifactKind::Association,
                        text: None,
                        source_ref: c.attr("sourceRef").map(str::to_owned),
                        target_ref: c.attr("targetRef").map(str::to_owned),
                    });
                }
                "group" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::Group, text);
                }
                "dataObject" | "dataObjectReference" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::DataObject, text);
                }
                "dataStoreReference" => {
                    let text = c.attr("name").map(str::to_owned);
                    self.artifact(ctx, c, ArtifactKind::DataStore, text);
                }
                "ioSpecification" => {
                    for d in c
                        .children
                        .iter()
                        .filter(|d| d.is(Ns::Bpmn, "dataInput") || d.is(Ns::Bpmn, "dataOutput"))
                    {
                        let text = d.attr("name").map(str::to_owned);
                        self.artifact(ctx, d, ArtifactKind::DataInputOutput, text);
                    }
                }
                // Known BPMN elements with no execution meaning in baton (or read elsewhere).
                "documentation"
                | "extensionElements"
                | "property"
                | "auditing"
                | "monitoring"
                | "incoming"
                | "outgoing"
                | "dataInputAssociation"
                | "dataOutputAssociation"
                | "multiInstanceLoopCharacteristics"
                | "standardLoopCharacteristics"
                | "correlationSubscription" => {}
                _ => {
                    let message = format!(
                        "{}: unknown BPMN element <{}> is not supported",
                        describe(c),
                        c.qname
                    );
                    self.exec_problem(c, message);
                }
            }
        }
    }

    fn artifact(&mut self, ctx: &mut ProcCtx, el: &El, kind: ArtifactKind, text: Option<String>) {
        let id = self.optional_id(el);
        ctx.artifacts.push(Artifact {
            id,
            kind,
            text,
            source_ref: None,
            target_ref: None,
        });
    }

    fn lane_set(&mut self, ctx: &mut ProcCtx, el: &El, parent: Option<&str>) {
        for lane in el.children_named(Ns::Bpmn, "lane") {
            let id = self.require_id(lane);
            ctx.lanes.push(Lane {
                id: id.clone(),
                name: lane.attr("name").map(str::to_owned),
                parent_lane: parent.map(str::to_owned),
                flow_node_refs: lane
                    .children_named(Ns::Bpmn, "flowNodeRef")
                    .map(|r| r.text.trim().to_owned())
                    .filter(|r| !r.is_empty())
                    .collect(),
            });
            for child in lane.children_named(Ns::Bpmn, "childLaneSet") {
                self.lane_set(ctx, child, Some(&id));
            }
        }
    }

    fn sequence_flow(&mut self, ctx: &mut ProcCtx, el: &El) {
        // Camunda 7 accepts sequence flows without id (its own test models have them); they
        // get a position-based id, which nothing can reference anyway.
        let id = self.optional_id(el);
        let mut condition = None;
        if let Some(c) = el.child(Ns::Bpmn, "conditionExpression") {
            condition = self.condition(el, c, "conditionExpression");
        }
        self.listeners(el);
        ctx.flows.push(RawFlow {
            id,
            name: el.attr("name").map(str::to_owned),
            source: el.attr("sourceRef").unwrap_or_default().trim().to_owned(),
            target: el.attr("targetRef").unwrap_or_default().trim().to_owned(),
            condition,
            position: el.pos,
        });
    }

    /// A `tFormalExpression` child (`conditionExpression`, `condition`, `completionCondition`).
    fn condition(&mut self, owner: &El, c: &El, what: &str) -> Option<Expression> {
        if let Some(lang) = c.attr("language")
            && !is_expression_language(lang)
        {
            self.unsupported(
                owner,
                &format!("a {what} in script language '{lang}' is"),
                "baton runs no scripts; write the condition as a JUEL ${...} or FEEL =... \
                 expression",
            );
            return None;
        }
        if c.attr_ns(Ns::Camunda, "resource").is_some() {
            self.unsupported(
                owner,
                &format!("an external script resource in {what} is"),
                "baton runs no scripts; write the condition as an expression",
            );
            return None;
        }
        let text = c.text.trim();
        if text.is_empty() {
            self.exec_problem(owner, format!("{}: empty {what}", describe(owner)));
            return None;
        }
        Some(self.expr(owner, what, text))
    }

    /// Listeners on any element are rejected: they would run code in the engine.
    fn listeners(&mut self, el: &El) {
        for l in ext(el) {
            let named = matches!(
                (l.ns, l.name.as_str()),
                (Ns::Camunda, "executionListener")
                    | (Ns::Camunda, "taskListener")
                    | (Ns::Zeebe, "executionListeners")
                    | (Ns::Zeebe, "taskListeners")
            );
            if named {
                self.unsupported(
                    el,
                    &format!("{} is", l.qname),
                    &format!("listeners are not supported; {LISTENER_ADVICE}"),
                );
            }
        }
    }

    fn flow_node(&mut self, ctx: &mut ProcCtx, el: &El, scope: Option<NodeIdx>) {
        let id = self.require_id(el);
        let idx = NodeIdx(ctx.nodes.len() as u32);
        // Pushed before its kind is known so a subprocess's children can name it as scope.
        ctx.nodes.push(FlowNode {
            id,
            name: el.attr("name").map(str::to_owned),
            kind: NodeKind::Task,
            scope,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            boundary_events: Vec::new(),
            default_flow: None,
            async_before: is_true(el.attr_ns(Ns::Camunda, "asyncBefore"))
                || is_true(el.attr_ns(Ns::Camunda, "async")),
            async_after: is_true(el.attr_ns(Ns::Camunda, "asyncAfter")),
            io: IoMapping::default(),
            multi_instance: None,
            retry_time_cycle: None,
            properties: Vec::new(),
            documentation: documentation(el),
            position: el.pos,
        });
        let kind = self.node_kind(ctx, el, idx);
        let io = self.io_mapping(el);
        let multi_instance = self.loop_characteristics(el);
        let properties = properties(el);
        let retry_time_cycle = ext_named(el, Ns::Camunda, "failedJobRetryTimeCycle")
            .map(|r| r.text.trim().to_owned())
            .find(|t| !t.is_empty());
        if is_true(el.attr("isForCompensation")) {
            self.unsupported(
                el,
                "compensation (isForCompensation) is",
                "baton does not run compensation handlers; model the undo path explicitly",
            );
        }
        self.listeners(el);
        if !matches!(
            el.name.as_str(),
            "subProcess" | "transaction" | "adHocSubProcess"
        ) {
            self.unknown_children(el);
        }
        if let Some(d) = non_empty(el.attr("default")) {
            ctx.defaults.push((idx, d.to_owned(), el.pos));
        }
        if let Some(n) = ctx.nodes.get_mut(idx.0 as usize) {
            n.kind = kind;
            n.io = io;
            n.multi_instance = multi_instance;
            n.properties = properties;
            n.retry_time_cycle = retry_time_cycle;
        }
    }

    /// BPMN-namespace children of a (non-subprocess) flow node that baton does not know.
    fn unknown_children(&mut self, el: &El) {
        for c in el.children.iter().filter(|c| c.ns == Ns::Bpmn) {
            let known = c.name.ends_with("EventDefinition")
                || matches!(
                    c.name.as_str(),
                    "incoming"
                        | "outgoing"
                        | "documentation"
                        | "extensionElements"
                        | "ioSpecification"
                        | "property"
                        | "dataInputAssociation"
                        | "dataOutputAssociation"
                        | "dataInput"
                        | "dataOutput"
                        | "inputSet"
                        | "outputSet"
                        | "multiInstanceLoopCharacteristics"
                        | "standardLoopCharacteristics"
                        | "eventDefinitionRef"
                        | "auditing"
                        | "monitoring"
                        | "script"
                        | "rendering"
                        | "humanPerformer"
                        | "potentialOwner"
                        | "performer"
                        | "resourceRole"
                        | "conditionExpression"
                );
            if !known {
                let message = format!(
                    "{}: unknown BPMN element <{}> is not supported",
                    describe(el),
                    c.qname
                );
                self.exec_problem(c, message);
            }
        }
    }

    fn node_kind(&mut self, ctx: &mut ProcCtx, el: &El, idx: NodeIdx) -> NodeKind {
        match el.name.as_str() {
            "startEvent" => {
                let trigger = self.trigger(el);
                let form_fields = self.form_fields(el);
                NodeKind::StartEvent {
                    trigger,
                    interrupting: el
                        .attr("isInterrupting")
                        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
                    form_key: form_key(el),
                    form_fields,
                    initiator: non_empty(el.attr_ns(Ns::Camunda, "initiator")).map(str::to_owned),
                }
            }
            "endEvent" => NodeKind::EndEvent {
                result: self.result(el),
            },
            "intermediateThrowEvent" => NodeKind::IntermediateThrowEvent {
                result: self.result(el),
            },
            "intermediateCatchEvent" => NodeKind::IntermediateCatchEvent {
                trigger: self.trigger(el),
            },
            "boundaryEvent" => {
                let trigger = self.trigger(el);
                let target = el
                    .attr("attachedToRef")
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                ctx.boundaries.push((idx, target, el.pos));
                NodeKind::BoundaryEvent {
                    // Patched in `resolve`; left pointing at itself when the ref dangles.
                    attached_to: idx,
                    trigger,
                    cancel_activity: el
                        .attr("cancelActivity")
                        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
                }
            }
            "serviceTask" => self.service_task(el, ServiceKind::Service),
            "sendTask" => self.service_task(el, ServiceKind::Send),
            "businessRuleTask" => self.service_task(el, ServiceKind::BusinessRule),
            "userTask" => {
                let mut ut = self.user_task(el);
                self.resource_assignment(el, &mut ut);
                NodeKind::UserTask(ut)
            }
            "receiveTask" => {
                let message = match non_empty(el.attr("messageRef")) {
                    Some(r) => self.message_name(el, r),
                    None => None,
                };
                NodeKind::ReceiveTask { message }
            }
            "manualTask" => NodeKind::ManualTask,
            "task" => NodeKind::Task,
            "scriptTask" => {
                self.unsupported(el, "script tasks are", SCRIPT_ADVICE);
                NodeKind::Task
            }
            "subProcess" | "transaction" | "adHocSubProcess" => {
                if el.name == "transaction" {
                    self.unsupported(
                        el,
                        "transaction subprocesses are",
                        "baton has no transactions or compensation; use an embedded subprocess \
                         with error boundary events",
                    );
                } else if el.name == "adHocSubProcess" {
                    self.unsupported(
                        el,
                        "ad-hoc subprocesses are",
                        "model the activities with explicit sequence flows in an embedded \
                         subprocess",
                    );
                }
                self.scope(ctx, el, Some(idx));
                NodeKind::SubProcess {
                    triggered_by_event: is_true(el.attr("triggeredByEvent")),
                }
            }
            "callActivity" => NodeKind::CallActivity(self.call_activity(el)),
            "exclusiveGateway" => NodeKind::ExclusiveGateway,
            "parallelGateway" => NodeKind::ParallelGateway,
            "inclusiveGateway" => NodeKind::InclusiveGateway,
            "eventBasedGateway" => NodeKind::EventBasedGateway,
            _ => {
                // complexGateway (the only other name `scope` routes here).
                self.unsupported(
                    el,
                    "complex gateways are",
                    "use exclusive, inclusive or parallel gateways",
                );
                NodeKind::ParallelGateway
            }
        }
    }

    fn event_definitions<'a>(&mut self, el: &'a El) -> Option<&'a El> {
        let defs: Vec<&El> = el
            .children
            .iter()
            .filter(|c| c.ns == Ns::Bpmn && c.name.ends_with("EventDefinition"))
            .collect();
        if el.child(Ns::Bpmn, "eventDefinitionRef").is_some() {
            self.unsupported(
                el,
                "eventDefinitionRef is",
                "declare the event definition inside the event",
            );
        }
        match defs.as_slice() {
            [] => None,
            [one] => Some(one),
            _ => {
                self.unsupported(
                    el,
                    "events with several event definitions (multiple / parallel multiple) are",
                    "use one event definition per event",
                );
                None
            }
        }
    }

    fn trigger(&mut self, el: &El) -> EventTrigger {
        let Some(def) = self.event_definitions(el) else {
            return EventTrigger::None;
        };
        match def.name.as_str() {
            "messageEventDefinition" => match non_empty(def.attr("messageRef")) {
                Some(r) => EventTrigger::Message {
                    name: self.message_name(el, r).unwrap_or_default(),
                },
                None => {
                    self.exec_problem(
                        el,
                        format!("{}: messageEventDefinition has no messageRef", describe(el)),
                    );
                    EventTrigger::Message {
                        name: String::new(),
                    }
                }
            },
            "timerEventDefinition" => match self.timer(el, def) {
                Some(t) => EventTrigger::Timer(t),
                None => EventTrigger::None,
            },
            "signalEventDefinition" => EventTrigger::Signal {
                name: self.signal_name(el, def).unwrap_or_default(),
            },
            "errorEventDefinition" => {
                let code = match non_empty(def.attr("errorRef")) {
                    Some(r) => self.error_ref(el, r).and_then(|e| e.error_code),
                    None => None,
                };
                EventTrigger::Error {
                    code,
                    code_variable: non_empty(def.attr_ns(Ns::Camunda, "errorCodeVariable"))
                        .map(str::to_owned),
                    message_variable: non_empty(def.attr_ns(Ns::Camunda, "errorMessageVariable"))
                        .map(str::to_owned),
                }
            }
            "escalationEventDefinition" => {
                let code = match non_empty(def.attr("escalationRef")) {
                    Some(r) => self.escalation_ref(el, r).and_then(|e| e.escalation_code),
                    None => None,
                };
                EventTrigger::Escalation {
                    code,
                    code_variable: non_empty(def.attr_ns(Ns::Camunda, "escalationCodeVariable"))
                        .map(str::to_owned),
                }
            }
            "conditionalEventDefinition" => {
                let condition = match def.child(Ns::Bpmn, "condition") {
                    Some(c) => self.condition(el, c, "condition"),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: conditionalEventDefinition has no condition",
                                describe(el)
                            ),
                        );
                        None
                    }
                };
                match condition {
                    Some(condition) => EventTrigger::Conditional {
                        condition,
                        variable_name: non_empty(def.attr_ns(Ns::Camunda, "variableName"))
                            .map(str::to_owned),
                    },
                    None => EventTrigger::None,
                }
            }
            "linkEventDefinition" => EventTrigger::Link {
                name: self.link_name(el, def),
            },
            other => {
                self.unsupported_definition(el, other);
                EventTrigger::None
            }
        }
    }

    fn unsupported_definition(&mut self, el: &El, def: &str) {
        match def {
            "compensateEventDefinition" => self.unsupported(
                el,
                "compensation events are",
                "baton does not run compensation; model the undo path explicitly",
            ),
            "cancelEventDefinition" => self.unsupported(
                el,
                "cancel events are",
                "baton has no transaction subprocesses; use error events",
            ),
            _ => self.unsupported(
                el,
                &format!("{def} here is"),
                "this event definition cannot be used on this kind of event",
            ),
        }
    }

    fn result(&mut self, el: &El) -> EventResult {
        let Some(def) = self.event_definitions(el) else {
            return EventResult::None;
        };
        match def.name.as_str() {
            "terminateEventDefinition" if el.name == "endEvent" => EventResult::Terminate,
            "errorEventDefinition" if el.name == "endEvent" => {
                match non_empty(def.attr("errorRef")) {
                    Some(r) => match self.error_ref(el, r) {
                        Some(e) => {
                            let code = match e.error_code {
                                Some(c) => c,
                                None => {
                                    self.exec_problem(
                                        el,
                                        format!(
                                            "{}: error '{}' has no errorCode",
                                            describe(el),
                                            e.id
                                        ),
                                    );
                                    e.id.clone()
                                }
                            };
                            EventResult::Error {
                                code,
                                message: e.error_message,
                            }
                        }
                        None => EventResult::None,
                    },
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: an error end event needs an errorRef naming the error to throw",
                                describe(el)
                            ),
                        );
                        EventResult::None
                    }
                }
            }
            "escalationEventDefinition" => match non_empty(def.attr("escalationRef")) {
                Some(r) => match self.escalation_ref(el, r) {
                    Some(e) => EventResult::Escalation {
                        code: e.escalation_code.unwrap_or(e.id),
                    },
                    None => EventResult::None,
                },
                None => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: an escalation throw event needs an escalationRef",
                            describe(el)
                        ),
                    );
                    EventResult::None
                }
            },
            "signalEventDefinition" => match self.signal_name(el, def) {
                Some(name) => EventResult::Signal { name },
                None => EventResult::None,
            },
            "messageEventDefinition" => {
                let name = match non_empty(def.attr("messageRef")) {
                    Some(r) => self.message_name(el, r),
                    None => None,
                };
                // Camunda 7 puts the implementation on the event definition, Camunda 8 on the
                // event: look at both.
                let task = match self.implementation(el, Some(def), ServiceKind::MessageThrow) {
                    Impl::External(t) => Some(*t),
                    Impl::None | Impl::Unsupported => None,
                };
                EventResult::Message { name, task }
            }
            "linkEventDefinition" if el.name == "intermediateThrowEvent" => EventResult::Link {
                name: self.link_name(el, def),
            },
            other => {
                self.unsupported_definition(el, other);
                EventResult::None
            }
        }
    }

    fn link_name(&mut self, el: &El, def: &El) -> String {
        match non_empty(def.attr("name")) {
            Some(n) => n.to_owned(),
            None => {
                self.exec_problem(
                    el,
                    format!("{}: linkEventDefinition has no name", describe(el)),
                );
                String::new()
            }
        }
    }

    fn timer(&mut self, el: &El, def: &El) -> Option<TimerDefinition> {
        let parts: Vec<&El> = def.children.iter().filter(|c| c.ns == Ns::Bpmn).collect();
        let found = parts.iter().find_map(|c| match c.name.as_str() {
            "timeDate" | "timeDuration" | "timeCycle" => Some(*c),
            _ => None,
        });
        let Some(part) = found else {
            self.exec_problem(
                el,
                format!(
                    "{}: timerEventDefinition needs a timeDate, timeDuration or timeCycle",
                    describe(el)
                ),
            );
            return None;
        };
        let text = part.text.trim();
        if text.is_empty() {
            self.exec_problem(
                el,
                format!(
                    "{}: empty {} in timerEventDefinition",
                    describe(el),
                    part.name
                ),
            );
            return None;
        }
        let e = self.expr(el, &part.name, text);
        Some(match part.name.as_str() {
            "timeDate" => TimerDefinition::Date(e),
            "timeDuration" => TimerDefinition::Duration(e),
            _ => TimerDefinition::Cycle(e),
        })
    }

    fn message_name(&mut self, el: &El, r: &str) -> Option<String> {
        match lookup(&self.messages, r) {
            Some(m) => Some(m.name.clone()),
            None => {
                self.error(
                    el,
                    format!(
                        "{}: messageRef '{r}' names no <message> in this file",
                        describe(el)
                    ),
                );
                None
            }
        }
    }

    fn signal_name(&mut self, el: &El, def: &El) -> Option<String> {
        let Some(r) = non_empty(def.attr("signalRef")) else {
            self.exec_problem(
                el,
                format!("{}: signalEventDefinition has no signalRef", describe(el)),
            );
            return None;
        };
        match lookup(&self.signals, r) {
            Some(s) => Some(s.name.clone()),
            None => {
                self.error(
                    el,
                    format!(
                        "{}: signalRef '{r}' names no <signal> in this file",
                        describe(el)
                    ),
                );
                None
            }
        }
    }

    fn error_ref(&mut self, el: &El, r: &str) -> Option<ErrorDef> {
        let found = lookup(&self.errors, r).cloned();
        if found.is_none() {
            self.error(
                el,
                format!(
                    "{}: errorRef '{r}' names no <error> in this file",
                    describe(el)
                ),
            );
        }
        found
    }

    fn escalation_ref(&mut self, el: &El, r: &str) -> Option<EscalationDef> {
        let found = lookup(&self.escalations, r).cloned();
        if found.is_none() {
            self.error(
                el,
                format!(
                    "{}: escalationRef '{r}' names no <escalation> in this file",
                    describe(el)
                ),
            );
        }
        found
    }

    fn service_task(&mut self, el: &El, kind: ServiceKind) -> NodeKind {
        match self.implementation(el, None, kind) {
            Impl::External(def) => NodeKind::ServiceTask(*def),
            // Validation reports the missing topic.
            Impl::None => NodeKind::ServiceTask(ServiceTaskDef {
                kind,
                topic: Expression::literal(""),
                priority: None,
                retries: None,
                error_event_definitions: Vec::new(),
            }),
            Impl::Unsupported => NodeKind::Task,
        }
    }

    /// How a service-like element is implemented. `def` is the message event definition of a
    /// message throw event (where Camunda 7 puts the attributes).
    fn implementation(&mut self, el: &El, def: Option<&El>, kind: ServiceKind) -> Impl {
        let holder = def.unwrap_or(el);
        let cam = |name: &str| {
            holder
                .attr_ns(Ns::Camunda, name)
                .or_else(|| el.attr_ns(Ns::Camunda, name))
        };
        for (attr, what) in [
            ("class", "Java delegates (camunda:class) are"),
            (
                "delegateExpression",
                "delegate expressions (camunda:delegateExpression) are",
            ),
            (
                "expression",
                "expression implementations (camunda:expression) are",
            ),
        ] {
            if cam(attr).is_some() {
                self.unsupported(el, what, EXTERNAL_ADVICE);
                return Impl::Unsupported;
            }
        }
        if cam("decisionRef").is_some()
            || ext_named(el, Ns::Zeebe, "calledDecision").next().is_some()
        {
            self.unsupported(
                el,
                "DMN decisions (camunda:decisionRef / zeebe:calledDecision) are",
                EXTERNAL_ADVICE,
            );
            return Impl::Unsupported;
        }
        let ext_holders = [Some(el), def];
        for h in ext_holders.into_iter().flatten() {
            if ext_named(h, Ns::Camunda, "connector").next().is_some() {
                self.unsupported(el, "connectors (camunda:connector) are", EXTERNAL_ADVICE);
                return Impl::Unsupported;
            }
            if ext_named(h, Ns::Zeebe, "script").next().is_some() {
                self.unsupported(el, "scripts (zeebe:script) are", SCRIPT_ADVICE);
                return Impl::Unsupported;
            }
        }
        let error_event_definitions = self.external_error_definitions(el, def);
        let priority = self.opt_expr(el, "camunda:taskPriority", cam("taskPriority"));
        match cam("type").map(str::trim) {
            Some("external") => {
                let topic = match non_empty(cam("topic")) {
                    Some(t) => self.expr(el, "camunda:topic", t),
                    None => Expression::literal(""),
                };
                return Impl::External(Box::new(ServiceTaskDef {
                    kind,
                    topic,
                    priority,
                    retries: None,
                    error_event_definitions,
                }));
            }
            Some(other) => {
                self.unsupported(el, &format!("camunda:type=\"{other}\" is"), EXTERNAL_ADVICE);
                return Impl::Unsupported;
            }
            None => {}
        }
        let zeebe = ext_holders
            .into_iter()
            .flatten()
            .find_map(|h| ext_named(h, Ns::Zeebe, "taskDefinition").next());
        if let Some(td) = zeebe {
            let topic = match non_empty(td.attr("type")) {
                Some(t) => self.expr(el, "zeebe:taskDefinition type", t),
                None => Expression::literal(""),
            };
            let retries = self.opt_expr(el, "zeebe:taskDefinition retries", td.attr("retries"));
            return Impl::External(Box::new(ServiceTaskDef {
                kind,
                topic,
                priority,
                retries,
                error_event_definitions,
            }));
        }
        Impl::None
    }

    fn external_error_definitions(
        &mut self,
        el: &El,
        def: Option<&El>,
    ) -> Vec<ErrorEventDefinition> {
        let mut out = Vec::new();
        for h in [Some(el), def].into_iter().flatten() {
            for d in ext_named(h, Ns::Camunda, "errorEventDefinition") {
                let id = d.id().unwrap_or_default().to_owned();
                let error = match non_empty(d.attr("errorRef")) {
                    Some(r) => self.error_ref(el, r),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: camunda:errorEventDefinition '{id}' has no errorRef",
                                describe(el)
                            ),
                        );
                        None
                    }
                };
                let expression = match non_empty(d.attr("expression")) {
                    Some(x) => self.expr(el, "camunda:errorEventDefinition expression", x),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: camunda:errorEventDefinition '{id}' has no expression",
                                describe(el)
                            ),
                        );
                        continue;
                    }
                };
                if let Some(e) = error {
                    out.push(ErrorEventDefinition {
                        id,
                        error_code: e.error_code.unwrap_or(e.id),
                        error_message: e.error_message,
                        expression,
                    });
                }
            }
        }
        out
    }

    fn user_task(&mut self, el: &El) -> UserTaskDef {
        let zeebe = ext_named(el, Ns::Zeebe, "assignmentDefinition").next();
        let cam_or_zeebe = |cam: &str, zb: &str| {
            el.attr_ns(Ns::Camunda, cam)
                .or_else(|| zeebe.and_then(|z| z.attr(zb)))
        };
        UserTaskDef {
            assignee: self.opt_expr(el, "assignee", cam_or_zeebe("assignee", "assignee")),
            candidate_users: self.opt_expr(
                el,
                "candidateUsers",
                cam_or_zeebe("candidateUsers", "candidateUsers"),
            ),
            candidate_groups: self.opt_expr(
                el,
                "candidateGroups",
                cam_or_zeebe("candidateGroups", "candidateGroups"),
            ),
            due_date: self.opt_expr(
                el,
                "dueDate",
                el.attr_ns(Ns::Camunda, "dueDate").or_else(|| {
                    ext_named(el, Ns::Zeebe, "taskSchedule").find_map(|s| s.attr("dueDate"))
                }),
            ),
            follow_up_date: self.opt_expr(
                el,
                "followUpDate",
                el.attr_ns(Ns::Camunda, "followUpDate").or_else(|| {
                    ext_named(el, Ns::Zeebe, "taskSchedule").find_map(|s| s.attr("followUpDate"))
                }),
            ),
            priority: self.opt_expr(
                el,
                "priority",
                el.attr_ns(Ns::Camunda, "priority").or_else(|| {
                    ext_named(el, Ns::Zeebe, "priorityDefinition").find_map(|s| s.attr("priority"))
                }),
            ),
            form_key: form_key(el),
            form_fields: self.form_fields(el),
        }
    }

    /// Plain BPMN resource assignment, as Camunda 7 reads it: `humanPerformer` is the assignee,
    /// `potentialOwner` lists `user(x)` / `group(y)` (bare names are groups).
    fn resource_assignment(&mut self, el: &El, ut: &mut UserTaskDef) {
        let formal = |r: &El| {
            r.child(Ns::Bpmn, "resourceAssignmentExpression")
                .and_then(|a| a.child(Ns::Bpmn, "formalExpression"))
                .map(|f| f.text.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        if ut.assignee.is_none()
            && let Some(text) = el.child(Ns::Bpmn, "humanPerformer").and_then(formal)
        {
            ut.assignee = Some(self.expr(el, "humanPerformer", &text));
        }
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        for owner in el.children_named(Ns::Bpmn, "potentialOwner") {
            let Some(text) = formal(owner) else { continue };
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(u) = part.strip_prefix("user(").and_then(|u| u.strip_suffix(')')) {
                    users.push(u.trim().to_owned());
                } else if let Some(g) = part
                    .strip_prefix("group(")
                    .and_then(|g| g.strip_suffix(')'))
                {
                    groups.push(g.trim().to_owned());
                } else {
                    groups.push(part.to_owned());
                }
            }
        }
        if ut.candidate_users.is_none() && !users.is_empty() {
            ut.candidate_users = Some(self.expr(el, "potentialOwner", &users.join(",")));
        }
        if ut.candidate_groups.is_none() && !groups.is_empty() {
            ut.candidate_groups = Some(self.expr(el, "potentialOwner", &groups.join(",")));
        }
    }

    fn form_fields(&mut self, el: &El) -> Vec<FormField> {
        let mut out = Vec::new();
        for data in ext_named(el, Ns::Camunda, "formData") {
            for f in data.children_named(Ns::Camunda, "formField") {
                let Some(id) = non_empty(f.attr("id")) else {
                    self.exec_problem(
                        el,
                        format!("{}: camunda:formField without id", describe(el)),
                    );
                    continue;
                };
                let mut field = FormField {
                    id: id.to_owned(),
                    label: f.attr("label").map(str::to_owned),
                    type_name: non_empty(f.attr("type")).unwrap_or("string").to_owned(),
                    default_value: None,
                    required: false,
                    readonly: false,
                    constraints: Vec::new(),
                    enum_values: Vec::new(),
                };
                field.default_value = self.opt_expr(el, "defaultValue", f.attr("defaultValue"));
                for v in f.children_named(Ns::Camunda, "validation") {
                    for c in v.children_named(Ns::Camunda, "constraint") {
                        let name = c.attr("name").unwrap_or_default().trim();
                        let config = c.attr("config").map(str::to_owned);
                        match name {
                            "required" => field.required = true,
                            "readonly" => field.readonly = true,
                            "" => {}
                            other => field.constraints.push((other.to_owned(), config)),
                        }
                    }
                }
                for v in f.children_named(Ns::Camunda, "value") {
                    if let Some(vid) = non_empty(v.attr("id")) {
                        field
                            .enum_values
                            .push((vid.to_owned(), v.attr("name").map(str::to_owned)));
                    }
                }
                out.push(field);
            }
        }
        out
    }

    fn call_activity(&mut self, el: &El) -> CallActivityDef {
        if el.attr_ns(Ns::Camunda, "caseRef").is_some() {
            self.unsupported(
                el,
                "calling CMMN cases (camunda:caseRef) is",
                "call a BPMN process with calledElement",
            );
        }
        for attr in ["variableMappingClass", "variableMappingDelegateExpression"] {
            if el.attr_ns(Ns::Camunda, attr).is_some() {
                self.unsupported(
                    el,
                    &format!("camunda:{attr} is"),
                    "use camunda:in / camunda:out mappings",
                );
            }
        }
        let called = non_empty(el.attr("calledElement")).or_else(|| {
            ext_named(el, Ns::Zeebe, "calledElement").find_map(|z| non_empty(z.attr("processId")))
        });
        let called_element = match called {
            Some(c) => self.expr(el, "calledElement", c),
            None => Expression::literal(""),
        };
        let binding = match el
            .attr_ns(Ns::Camunda, "calledElementBinding")
            .map(str::trim)
        {
            None | Some("latest") => CalledElementBinding::Latest,
            Some("deployment") => CalledElementBinding::Deployment,
            Some("version") => match non_empty(el.attr_ns(Ns::Camunda, "calledElementVersion")) {
                Some(v) => CalledElementBinding::Version(self.expr(el, "calledElementVersion", v)),
                None => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: calledElementBinding=\"version\" needs camunda:calledElementVersion",
                            describe(el)
                        ),
                    );
                    CalledElementBinding::Latest
                }
            },
            Some("versionTag") => {
                match non_empty(el.attr_ns(Ns::Camunda, "calledElementVersionTag")) {
                    Some(v) => CalledElementBinding::VersionTag(self.expr(
                        el,
                        "calledElementVersionTag",
                        v,
                    )),
                    None => {
                        self.exec_problem(
                            el,
                            format!(
                                "{}: calledElementBinding=\"versionTag\" needs \
                                 camunda:calledElementVersionTag",
                                describe(el)
                            ),
                        );
                        CalledElementBinding::Latest
                    }
                }
            }
            Some(other) => {
                self.exec_problem(
                    el,
                    format!(
                        "{}: unknown camunda:calledElementBinding '{other}' (expected latest, \
                         deployment, version or versionTag)",
                        describe(el)
                    ),
                );
                CalledElementBinding::Latest
            }
        };
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for c in ext(el).filter(|c| c.ns == Ns::Camunda) {
            let list = match c.name.as_str() {
                "in" => &mut inputs,
                "out" => &mut outputs,
                _ => continue,
            };
            if let Some(m) = self.call_mapping(el, c) {
                list.push(m);
            }
        }
        if ext_named(el, Ns::Zeebe, "calledElement")
            .any(|z| is_true(z.attr("propagateAllChildVariables")))
        {
            outputs.push(CallMapping::All { local: false });
        }
        CallActivityDef {
            called_element,
            binding,
            inputs,
            outputs,
        }
    }

    fn call_mapping(&mut self, el: &El, c: &El) -> Option<CallMapping> {
        if c.attr("variables").map(str::trim) == Some("all") {
            return Some(CallMapping::All {
                local: is_true(c.attr("local")),
            });
        }
        if c.name == "in"
            && let Some(bk) = non_empty(c.attr("businessKey"))
        {
            return Some(CallMapping::BusinessKey(self.expr(
                el,
                "camunda:in businessKey",
                bk,
            )));
        }
        let Some(target) = non_empty(c.attr("target")).map(str::to_owned) else {
            self.exec_problem(el, format!("{}: {} without target", describe(el), c.qname));
            return None;
        };
        if let Some(src) = non_empty(c.attr("sourceExpression")) {
            let source = self.expr(el, &format!("{} sourceExpression", c.qname), src);
            return Some(CallMapping::Expression { source, target });
        }
        if let Some(src) = non_empty(c.attr("source")) {
            return Some(CallMapping::Source {
                source: src.to_owned(),
                target,
            });
        }
        self.exec_problem(
            el,
            format!(
                "{}: {} needs source, sourceExpression, variables=\"all\" or businessKey",
                describe(el),
                c.qname
            ),
        );
        None
    }

    fn io_mapping(&mut self, el: &El) -> IoMapping {
        let mut io = IoMapping::default();
        for block in ext_named(el, Ns::Camunda, "inputOutput") {
            for p in block.children.iter().filter(|c| c.ns == Ns::Camunda) {
                let list = match p.name.as_str() {
                    "inputParameter" => &mut io.inputs,
                    "outputParameter" => &mut io.outputs,
                    _ => continue,
                };
                let Some(name) = non_empty(p.attr("name")).map(str::to_owned) else {
                    self.exec_problem(el, format!("{}: {} without name", describe(el), p.qname));
                    continue;
                };
                let value = self.io_value(el, p);
                list.push(IoParameter { name, value });
            }
        }
        for block in ext_named(el, Ns::Zeebe, "ioMapping") {
            for p in block.children.iter().filter(|c| c.ns == Ns::Zeebe) {
                let list = match p.name.as_str() {
                    "input" => &mut io.inputs,
                    "output" => &mut io.outputs,
                    _ => continue,
                };
                let Some(target) = non_empty(p.attr("target")).map(str::to_owned) else {
                    self.exec_problem(el, format!("{}: {} without target", describe(el), p.qname));
                    continue;
                };
                let value = match non_empty(p.attr("source")) {
                    Some(s) => IoValue::Expression(self.expr(el, &p.qname, s)),
                    None => IoValue::Null,
                };
                list.push(IoParameter {
                    name: target,
                    value,
                });
            }
        }
        io
    }

    /// The value of a parameter, list item, or map entry: nested list/map, text, or nothing.
    fn io_value(&mut self, el: &El, p: &El) -> IoValue {
        if let Some(c) = p.children.iter().find(|c| c.ns == Ns::Camunda) {
            return match c.name.as_str() {
                "list" => IoValue::List(
                    c.children
                        .iter()
                        .filter(|v| v.ns == Ns::Camunda)
                        .map(|v| match v.name.as_str() {
                            "value" => self.io_text(el, v),
                            _ => self.io_value(el, &wrap(v)),
                        })
                        .collect(),
                ),
                "map" => IoValue::Map(
                    c.children_named(Ns::Camunda, "entry")
                        .map(|e| {
                            let key = e.attr("key").unwrap_or_default().to_owned();
                            (key, self.io_value(el, e))
                        })
                        .collect(),
                ),
                "script" => {
                    self.unsupported(
                        el,
                        &format!("camunda:script in {} is", p.qname),
                        SCRIPT_ADVICE,
                    );
                    IoValue::Null
                }
                other => {
                    self.exec_problem(
                        el,
                        format!(
                            "{}: unexpected camunda:{other} in {}",
                            describe(el),
                            p.qname
                        ),
                    );
                    IoValue::Null
                }
            };
        }
        self.io_text(el, p)
    }

    fn io_text(&mut self, el: &El, p: &El) -> IoValue {
        match non_empty(Some(&p.text)) {
            Some(t) => IoValue::Expression(self.expr(el, &p.qname, t)),
            None => IoValue::Null,
        }
    }

    fn loop_characteristics(&mut self, el: &El) -> Option<MultiInstance> {
        if el.child(Ns::Bpmn, "standardLoopCharacteristics").is_some() {
            self.unsupported(
                el,
                "standard loops (standardLoopCharacteristics) are",
                "use a multi-instance activity or a gateway loop",
            );
        }
        let mi = el.child(Ns::Bpmn, "multiInstanceLoopCharacteristics")?;
        let loop_cardinality = match mi.child(Ns::Bpmn, "loopCardinality") {
            Some(c) => self.opt_expr(el, "loopCardinality", Some(&c.text)),
            None => None,
        };
        let completion_condition = match mi.child(Ns::Bpmn, "completionCondition") {
            Some(c) => self.condition(el, c, "completionCondition"),
            None => None,
        };
        let mut collection = match non_empty(mi.attr_ns(Ns::Camunda, "collection")) {
            Some(c) if is_identifier(c) => Some(Expression::variable(c)),
            Some(c) => Some(self.expr(el, "camunda:collection", c)),
            None => None,
        };
        if collection.is_none()
            && let Some(r) = mi.child(Ns::Bpmn, "loopDataInputRef")
            && let Some(name) = non_empty(Some(&r.text))
        {
            // Plain BPMN: the collection is a variable (data item) named by the reference.
            collection = Some(if is_identifier(name) {
                Expression::variable(name)
            } else {
                self.expr(el, "loopDataInputRef", name)
            });
        }
        let mut element_variable = non_empty(mi.attr_ns(Ns::Camunda, "elementVariable"))
            .or_else(|| {
                mi.child(Ns::Bpmn, "inputDataItem")
                    .and_then(|d| non_empty(d.attr("name")))
            })
            .map(str::to_owned);
        let mut output_collection = None;
        let mut output_element = None;
        if let Some(z) = ext_named(mi, Ns::Zeebe, "loopCharacteristics").next() {
            if let Some(c) = non_empty(z.attr("inputCollection")) {
                collection = Some(self.expr(el, "zeebe inputCollection", c));
            }
            if let Some(v) = non_empty(z.attr("inputElement")) {
                element_variable = Some(v.to_owned());
            }
            output_collection = non_empty(z.attr("outputCollection")).map(str::to_owned);
            output_element = self.opt_expr(el, "zeebe outputElement", z.attr("outputElement"));
        }
        Some(MultiInstance {
            sequential: is_true(mi.attr("isSequential")),
            loop_cardinality,
            collection,
            element_variable,
            completion_condition,
            output_collection,
            output_element,
        })
    }
}

/// What implements a service-like element.
enum Impl {
    /// An external task (Camunda 7 topic or Camunda 8 job type).
    External(Box<ServiceTaskDef>),
    /// Nothing declared.
    None,
    /// Something baton cannot run (already reported).
    Unsupported,
}

/// A `camunda:list`/`camunda:map` nested directly in a list, seen as a parameter holding it.
fn wrap(v: &El) -> El {
    El {
        ns: Ns::Camunda,
        name: "value".to_owned(),
        qname: v.qname.clone(),
        attrs: Vec::new(),
        children: vec![v.clone()],
        text: String::new(),
        pos: v.pos,
    }
}

fn form_key(el: &El) -> Option<String> {
    el.attr_ns(Ns::Camunda, "formKey")
        .or_else(|| {
            ext_named(el, Ns::Zeebe, "formDefinition")
                .find_map(|f| f.attr("formKey").or_else(|| f.attr("formId")))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

fn properties(el: &El) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for block in ext(el) {
        match (block.ns, block.name.as_str()) {
            (Ns::Camunda, "properties") | (Ns::Zeebe, "properties") => {
                for p in block.children_named(block.ns, "property") {
                    out.push((
                        p.attr("name").unwrap_or_default().to_owned(),
                        p.attr("value").unwrap_or_default().to_owned(),
                    ));
                }
            }
            (Ns::Zeebe, "taskHeaders") => {
                for h in block.children_named(Ns::Zeebe, "header") {
                    out.push((
                        h.attr("key").unwrap_or_default().to_owned(),
                        h.attr("value").unwrap_or_default().to_owned(),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

fn num(v: Option<&str>) -> f64 {
    v.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite())
        .unwrap_or(0.0)
}

fn bounds(b: Option<&El>) -> Bounds {
    match b {
        Some(b) => Bounds {
            x: num(b.attr("x")),
            y: num(b.attr("y")),
            width: num(b.attr("width")),
            height: num(b.attr("height")),
        },
        None => Bounds::default(),
    }
}

fn label_bounds(el: &El) -> Option<Bounds> {
    el.child(Ns::BpmnDi, "BPMNLabel")
        .and_then(|l| l.child(Ns::Dc, "Bounds"))
        .map(|b| bounds(Some(b)))
}

#[cfg(test)]
#[path = "reader_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
#[path = "proptests.rs"]
mod proptests;
