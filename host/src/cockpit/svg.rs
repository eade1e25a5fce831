//! Server-side SVG rendering of a BPMN diagram from its BPMNDI (shapes with bounds, edges with
//! waypoints, label bounds), in the visual language of BPMN 2.0 (events as circles: start thin,
//! end thick, intermediate double; tasks as rounded rectangles with a type marker; gateways as
//! diamonds with their marker; pools and lanes with vertical titles; sequence flows with
//! arrowheads, message flows dashed, associations dotted).
//!
//! Every drawn DI element is one `<g class="el ..." data-element-id="...">` group, so the
//! cockpit can find an element by id to put badges on it or highlight it. Shapes also carry
//! `data-bounds="x,y,w,h"` (diagram coordinates). The view box is the bounding box of every
//! bound, waypoint and label plus a margin, so nothing is clipped.
//!
//! Pure: a function of the parsed model, no I/O. Text widths are estimated (no font metrics on
//! the server): ~6.2 px per character at the 12 px label size, which matches the system UI
//! fonts well enough for wrapping.

use std::collections::HashMap;
use std::fmt::Write as _;

use baton_bpmn::model::{
    ArtifactKind, Bounds, Definitions, Diagram, EventResult, EventTrigger, NodeKind, Point,
    ServiceKind,
};

/// Estimated width of one character of label text, px.
const CHAR_W: f64 = 6.2;
/// Line height of label text, px.
const LINE_H: f64 = 14.0;
/// Margin around the drawing, px.
const MARGIN: f64 = 20.0;
/// Width of an external label without DI label bounds (below an event or gateway).
const EXT_LABEL_W: f64 = 110.0;

/// Which marker an event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventMarker {
    None,
    Message,
    Timer,
    Signal,
    Error,
    Escalation,
    Conditional,
    Link,
    Terminate,
}

/// The role of an event for its border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventClass {
    Start,
    Intermediate,
    Boundary,
    End,
}

/// The marker of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskMarker {
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
enum GatewayMarker {
    Exclusive,
    Parallel,
    Inclusive,
    EventBased,
}

/// What to draw for one BPMN element.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
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
        /// `Some(sequential)` for multi-instance.
        multi: Option<bool>,
    },
    SubProcess {
        event: bool,
        multi: Option<bool>,
    },
    CallActivity {
        multi: Option<bool>,
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
    fn css(&self) -> &'static str {
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
    fn is_activity(&self) -> bool {
        matches!(
            self,
            Kind::Task { .. } | Kind::SubProcess { .. } | Kind::CallActivity { .. }
        )
    }
}

/// One element of the model, as the renderer needs it.
#[derive(Debug, Clone)]
struct Elem<'a> {
    kind: Kind,
    name: Option<&'a str>,
}

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
    }
}

/// Index every drawable element of the model by id.
fn index(defs: &Definitions) -> HashMap<&str, Elem<'_>> {
    let mut map: HashMap<&str, Elem<'_>> = HashMap::new();
    for p in &defs.processes {
        // Which flows are defaults, which are conditional out of activities.
        let mut default_flows = std::collections::HashSet::new();
        for n in &p.nodes {
            if let Some(d) = n.default_flow {
                default_flows.insert(d.0);
            }
        }
        for n in &p.nodes {
            let multi = n.multi_instance.as_ref().map(|m| m.sequential);
            let kind = match &n.kind {
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
                NodeKind::EndEvent { result } => Kind::Event {
                    class: EventClass::End,
                    marker: result_marker(result),
                    throwing: true,
                    non_interrupting: false,
                },
                NodeKind::IntermediateCatchEvent { trigger } => Kind::Event {
                    class: EventClass::Intermediate,
                    marker: trigger_marker(trigger),
                    throwing: false,
                    non_interrupting: false,
                },
                NodeKind::IntermediateThrowEvent { result } => Kind::Event {
                    class: EventClass::Intermediate,
                    marker: result_marker(result),
                    throwing: true,
                    non_interrupting: false,
                },
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
                    ServiceKind::Service => Kind::Task {
                        marker: TaskMarker::Service,
                        multi,
                    },
                    ServiceKind::Send => Kind::Task {
                        marker: TaskMarker::Send,
                        multi,
                    },
                    ServiceKind::BusinessRule => Kind::Task {
                        marker: TaskMarker::BusinessRule,
                        multi,
                    },
                    ServiceKind::MessageThrow => Kind::Event {
                        class: EventClass::Intermediate,
                        marker: EventMarker::Message,
                        throwing: true,
                        non_interrupting: false,
                    },
                },
                NodeKind::UserTask(_) => Kind::Task {
                    marker: TaskMarker::User,
                    multi,
                },
                NodeKind::ReceiveTask { .. } => Kind::Task {
                    marker: TaskMarker::Receive,
                    multi,
                },
                NodeKind::ManualTask => Kind::Task {
                    marker: TaskMarker::Manual,
                    multi,
                },
                NodeKind::Task => Kind::Task {
                    marker: TaskMarker::None,
                    multi,
                },
                NodeKind::SubProcess { triggered_by_event } => Kind::SubProcess {
                    event: *triggered_by_event,
                    multi,
                },
                NodeKind::CallActivity(_) => Kind::CallActivity { multi },
                NodeKind::ExclusiveGateway => Kind::Gateway(GatewayMarker::Exclusive),
                NodeKind::ParallelGateway => Kind::Gateway(GatewayMarker::Parallel),
                NodeKind::InclusiveGateway => Kind::Gateway(GatewayMarker::Inclusive),
                NodeKind::EventBasedGateway => Kind::Gateway(GatewayMarker::EventBased),
            };
            map.insert(
                &n.id,
                Elem {
                    kind,
                    name: n.name.as_deref(),
                },
            );
        }
        for (i, f) in p.flows.iter().enumerate() {
            let source_is_gateway = matches!(
                p.nodes.get(f.source.0 as usize).map(|n| &n.kind),
                Some(
                    NodeKind::ExclusiveGateway
                        | NodeKind::InclusiveGateway
                        | NodeKind::ParallelGateway
                        | NodeKind::EventBasedGateway
                )
            );
            map.insert(
                &f.id,
                Elem {
                    kind: Kind::SequenceFlow {
                        default: default_flows.contains(&(i as u32)),
                        conditional: f.condition.is_some() && !source_is_gateway,
                    },
                    name: f.name.as_deref(),
                },
            );
        }
        for a in &p.artifacts {
            let kind = match a.kind {
                ArtifactKind::TextAnnotation => Kind::TextAnnotation,
                ArtifactKind::Association => Kind::Association,
                ArtifactKind::Group => Kind::Group,
                ArtifactKind::DataObject | ArtifactKind::DataInputOutput => Kind::DataObject,
                ArtifactKind::DataStore => Kind::DataStore,
            };
            map.insert(
                &a.id,
                Elem {
                    kind,
                    name: a.text.as_deref(),
                },
            );
        }
        for l in &p.lanes {
            map.insert(
                &l.id,
                Elem {
                    kind: Kind::Lane,
                    name: l.name.as_deref(),
                },
            );
        }
    }
    if let Some(c) = &defs.collaboration {
        for p in &c.participants {
            map.insert(
                &p.id,
                Elem {
                    kind: Kind::Participant,
                    name: p.name.as_deref(),
                },
            );
        }
        for m in &c.message_flows {
            map.insert(
                &m.id,
                Elem {
                    kind: Kind::MessageFlow,
                    name: m.name.as_deref(),
                },
            );
        }
    }
    map
}

/// The diagram that shows `process_id`: the one whose plane is the process, or the
/// collaboration holding it, else the first one.
pub fn diagram_for<'a>(defs: &'a Definitions, process_id: &str) -> Option<&'a Diagram> {
    let collab = defs.collaboration.as_ref().filter(|c| {
        c.participants
            .iter()
            .any(|p| p.process_ref.as_deref() == Some(process_id))
    });
    defs.diagrams
        .iter()
        .find(|d| d.plane_element.as_deref() == Some(process_id))
        .or_else(|| {
            collab.and_then(|c| {
                defs.diagrams
                    .iter()
                    .find(|d| d.plane_element.as_deref() == Some(c.id.as_str()))
            })
        })
        .or_else(|| defs.diagrams.first())
}

/// Escape text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Break `text` into lines of at most `width` px (estimated), honouring explicit newlines.
fn wrap(text: &str, width: f64) -> Vec<String> {
    let max = ((width / CHAR_W).floor() as usize).max(4);
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_owned();
            // Hard-break words longer than a line.
            while word.chars().count() > max {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(max).collect();
                word = word.chars().skip(max).collect();
                lines.push(head);
            }
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// A rectangle accumulator for the view box.
#[derive(Debug, Clone, Copy)]
struct BBox {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl BBox {
    fn empty() -> BBox {
        BBox {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        }
    }
    fn add_point(&mut self, x: f64, y: f64) {
        if x.is_finite() && y.is_finite() {
            self.min_x = self.min_x.min(x);
            self.min_y = self.min_y.min(y);
            self.max_x = self.max_x.max(x);
            self.max_y = self.max_y.max(y);
        }
    }
    fn add_bounds(&mut self, b: &Bounds) {
        self.add_point(b.x, b.y);
        self.add_point(b.x + b.width, b.y + b.height);
    }
    fn is_empty(&self) -> bool {
        self.min_x > self.max_x
    }
}

/// The area occupied by every bound, waypoint and label of a diagram (no margin).
pub fn content_bounds(defs: &Definitions, diagram: &Diagram) -> Bounds {
    let elems = index(defs);
    let bb = measure(diagram, &elems);
    if bb.is_empty() {
        return Bounds::default();
    }
    Bounds {
        x: bb.min_x,
        y: bb.min_y,
        width: bb.max_x - bb.min_x,
        height: bb.max_y - bb.min_y,
    }
}

fn measure(diagram: &Diagram, elems: &HashMap<&str, Elem<'_>>) -> BBox {
    let mut bb = BBox::empty();
    for s in &diagram.shapes {
        bb.add_bounds(&s.bounds);
        if let Some(l) = &s.label {
            bb.add_bounds(l);
        }
        if let Some(e) = elems.get(s.element_id.as_str())
            && let Some(b) = external_label_box(s.bounds, s.label, e)
        {
            bb.add_bounds(&b);
        }
    }
    for e in &diagram.edges {
        for p in &e.waypoints {
            bb.add_point(p.x, p.y);
        }
        if let Some(l) = &e.label {
            bb.add_bounds(l);
        }
    }
    bb
}

/// Whether an element's name is drawn outside its shape (events, gateways, data).
fn external_label(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::Event { .. } | Kind::Gateway(_) | Kind::DataObject | Kind::DataStore
    )
}

/// Where the external label of a shape is drawn: its DI label bounds (widened to fit the
/// wrapped text) or a box centred below the shape.
fn external_label_box(shape: Bounds, label: Option<Bounds>, e: &Elem<'_>) -> Option<Bounds> {
    if !external_label(&e.kind) {
        return None;
    }
    let name = e.name.filter(|n| !n.trim().is_empty())?;
    let (cx, top, width) = match label {
        Some(l) => (l.x + l.width / 2.0, l.y, l.width.max(EXT_LABEL_W * 0.8)),
        None => (
            shape.x + shape.width / 2.0,
            shape.y + shape.height + 6.0,
            EXT_LABEL_W,
        ),
    };
    let lines = wrap(name, width);
    let w = lines
        .iter()
        .map(|l| l.chars().count() as f64 * CHAR_W)
        .fold(0.0, f64::max);
    Some(Bounds {
        x: cx - w / 2.0,
        y: top,
        width: w,
        height: lines.len() as f64 * LINE_H,
    })
}

/// Render the diagram that shows `process_id` (see [`diagram_for`]); `None` when the model
/// has no BPMNDI.
pub fn render_process(defs: &Definitions, process_id: &str) -> Option<String> {
    diagram_for(defs, process_id).map(|d| render(defs, d))
}

const STYLE: &str = "\
.bpmn{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:12px}\
.bpmn .s{fill:#fff;stroke:#334155;stroke-width:1.5}\
.bpmn .m{fill:none;stroke:#334155;stroke-width:1.3}\
.bpmn .mf{fill:#334155;stroke:#334155;stroke-width:1}\
.bpmn text{fill:#1e293b}\
.bpmn .pool>.s,.bpmn .lane>.s{fill:none;stroke:#94a3b8}\
.bpmn .pool .title,.bpmn .lane .title{font-weight:600;fill:#334155}\
.bpmn .group>.s{fill:none;stroke:#94a3b8;stroke-dasharray:8 4 2 4}\
.bpmn .line{fill:none;stroke:#475569;stroke-width:1.4}\
.bpmn .message-flow .line{stroke-dasharray:7 5}\
.bpmn .association .line{stroke-dasharray:2 4;stroke:#64748b}\
.bpmn .annotation>.s{fill:none;stroke:#64748b}\
.bpmn .subprocess>.s{fill:#fff;fill-opacity:.6}\
.bpmn .unknown>.s{stroke-dasharray:3 3;stroke:#94a3b8}\
.bpmn .label{font-size:11.5px}";

/// Render one diagram as a standalone SVG document.
pub fn render(defs: &Definitions, diagram: &Diagram) -> String {
    let elems = index(defs);
    let bb = measure(diagram, &elems);
    let (vx, vy, vw, vh) = if bb.is_empty() {
        (0.0, 0.0, 100.0, 100.0)
    } else {
        (
            bb.min_x - MARGIN,
            bb.min_y - MARGIN,
            bb.max_x - bb.min_x + 2.0 * MARGIN,
            bb.max_y - bb.min_y + 2.0 * MARGIN,
        )
    };
    let mut out = String::with_capacity(4096 + 600 * (diagram.shapes.len() + diagram.edges.len()));
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"bpmn\" viewBox=\"{} {} {} {}\" width=\"{}\" height=\"{}\" data-diagram-id=\"{}\">",
        n(vx),
        n(vy),
        n(vw),
        n(vh),
        n(vw),
        n(vh),
        esc(&diagram.id)
    );
    out.push_str("<style>");
    out.push_str(STYLE);
    out.push_str("</style>");
    out.push_str(
        "<defs>\
<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto-start-reverse\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"#475569\"/></marker>\
<marker id=\"open-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
<marker id=\"msg-start\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
<marker id=\"cond-start\" viewBox=\"0 0 20 10\" refX=\"0\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"18\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,5 L10,0 L20,5 L10,10 z\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
</defs>",
    );

    // Paint order: pools and lanes, groups, then expanded subprocesses (largest first so
    // nested ones stay visible), other shapes, edges, and finally boundary events on top.
    let mut shapes: Vec<(usize, &baton_bpmn::model::Shape, Option<&Elem<'_>>)> = diagram
        .shapes
        .iter()
        .map(|s| {
            let e = elems.get(s.element_id.as_str());
            let layer = match e.map(|e| e.kind) {
                Some(Kind::Participant) => 0,
                Some(Kind::Lane) => 1,
                Some(Kind::Group) => 2,
                Some(Kind::SubProcess { .. }) if s.is_expanded != Some(false) => 3,
                Some(Kind::Event {
                    class: EventClass::Boundary,
                    ..
                }) => 6,
                _ => 4,
            };
            (layer, s, e)
        })
        .collect();
    shapes.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let aa = a.1.bounds.width * a.1.bounds.height;
            let ba = b.1.bounds.width * b.1.bounds.height;
            ba.partial_cmp(&aa).unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    for (layer, s, e) in shapes.iter().filter(|x| x.0 < 6) {
        let _ = layer;
        draw_shape(&mut out, s, *e);
    }
    for edge in &diagram.edges {
        draw_edge(&mut out, edge, elems.get(edge.element_id.as_str()));
    }
    for (_, s, e) in shapes.iter().filter(|x| x.0 >= 6) {
        draw_shape(&mut out, s, *e);
    }
    out.push_str("<g class=\"overlays\"></g></svg>");
    out
}

/// Format a coordinate compactly (at most two decimals, no trailing zeros).
fn n(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn text_lines(out: &mut String, lines: &[String], cx: f64, top: f64, class: &str) {
    if lines.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<text class=\"{class}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">",
        n(cx),
        n(top)
    );
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            out,
            "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
            n(cx),
            if i == 0 { n(LINE_H - 3.0) } else { n(LINE_H) },
            esc(l)
        );
    }
    out.push_str("</text>");
}

fn draw_shape(out: &mut String, s: &baton_bpmn::model::Shape, e: Option<&Elem<'_>>) {
    let b = s.bounds;
    let kind = e.map_or(Kind::Unknown, |e| e.kind);
    let name = e.and_then(|e| e.name).filter(|n| !n.trim().is_empty());
    let mut class = format!("el {}", kind.css());
    if kind.is_activity() {
        class.push_str(" activity");
    }
    if let Kind::Event { class: ec, .. } = kind {
        class.push_str(match ec {
            EventClass::Start => " start",
            EventClass::End => " end",
            EventClass::Boundary => " boundary",
            EventClass::Intermediate => " intermediate",
        });
    }
    let _ = write!(
        out,
        "<g class=\"{class}\" data-element-id=\"{}\" data-bounds=\"{},{},{},{}\">",
        esc(&s.element_id),
        n(b.x),
        n(b.y),
        n(b.width),
        n(b.height)
    );
    if let Some(name) = name {
        let _ = write!(out, "<title>{}</title>", esc(name));
    }
    let (cx, cy) = (b.x + b.width / 2.0, b.y + b.height / 2.0);
    match kind {
        Kind::Event {
            class: ec,
            marker,
            throwing,
            non_interrupting,
        } => {
            let r = b.width.min(b.height) / 2.0;
            let dash = if non_interrupting {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            };
            match ec {
                EventClass::Start => {
                    let _ = write!(
                        out,
                        "<circle class=\"s\" cx=\"{}\" cy=\"{}\" r=\"{}\" style=\"stroke-width:1.6\"{dash}/>",
                        n(cx),
                        n(cy),
                        n(r)
                    );
                }
                EventClass::End => {
                    let _ = write!(
                        out,
                        "<circle class=\"s\" cx=\"{}\" cy=\"{}\" r=\"{}\" style=\"stroke-width:4\"/>",
                        n(cx),
                        n(cy),
                        n(r - 1.5)
                    );
                }
                EventClass::Intermediate | EventClass::Boundary => {
                    let _ = write!(
                        out,
                        "<circle class=\"s\" cx=\"{}\" cy=\"{}\" r=\"{}\"{dash}/><circle class=\"m\" cx=\"{}\" cy=\"{}\" r=\"{}\"{dash}/>",
                        n(cx),
                        n(cy),
                        n(r),
                        n(cx),
                        n(cy),
                        n(r - 3.0)
                    );
                }
            }
            event_marker(out, marker, throwing, cx, cy, r);
        }
        Kind::Task { marker, multi } => {
            rect(out, b, 10.0, "s", "");
            task_marker(out, marker, b.x + 6.0, b.y + 6.0);
            multi_marker(out, multi, cx, b.y + b.height - 14.0);
            if let Some(name) = name {
                let lines = wrap(name, b.width - 12.0);
                let top = cy - lines.len() as f64 * LINE_H / 2.0
                    + if marker == TaskMarker::None { 0.0 } else { 3.0 };
                text_lines(out, &lines, cx, top, "name");
            }
        }
        Kind::SubProcess { event, multi } => {
            let expanded = s.is_expanded.unwrap_or(true);
            let style = if event { "stroke-dasharray:2 3" } else { "" };
            rect_styled(out, b, 10.0, "s", style);
            multi_marker(
                out,
                multi,
                cx - if expanded { 0.0 } else { 16.0 },
                b.y + b.height - 14.0,
            );
            if !expanded {
                collapsed_marker(out, cx, b.y + b.height - 14.0);
            }
            if let Some(name) = name {
                if expanded {
                    let lines = wrap(name, b.width - 16.0);
                    let _ = write!(
                        out,
                        "<text class=\"name\" x=\"{}\" y=\"{}\" style=\"font-weight:600\">{}</text>",
                        n(b.x + 8.0),
                        n(b.y + 16.0),
                        esc(lines.first().map(String::as_str).unwrap_or(""))
                    );
                } else {
                    let lines = wrap(name, b.width - 12.0);
                    text_lines(
                        out,
                        &lines,
                        cx,
                        cy - lines.len() as f64 * LINE_H / 2.0 - 6.0,
                        "name",
                    );
                }
            }
        }
        Kind::CallActivity { multi } => {
            rect_styled(out, b, 10.0, "s", "stroke-width:4");
            multi_marker(out, multi, cx - 16.0, b.y + b.height - 14.0);
            collapsed_marker(out, cx, b.y + b.height - 14.0);
            if let Some(name) = name {
                let lines = wrap(name, b.width - 14.0);
                text_lines(
                    out,
                    &lines,
                    cx,
                    cy - lines.len() as f64 * LINE_H / 2.0 - 5.0,
                    "name",
                );
            }
        }
        Kind::Gateway(marker) => {
            let _ = write!(
                out,
                "<path class=\"s\" d=\"M{},{} L{},{} L{},{} L{},{} z\"/>",
                n(cx),
                n(b.y),
                n(b.x + b.width),
                n(cy),
                n(cx),
                n(b.y + b.height),
                n(b.x),
                n(cy)
            );
            gateway_marker(out, marker, cx, cy, b.width.min(b.height));
        }
        Kind::DataObject => {
            let f = 10.0_f64.min(b.width / 3.0);
            let _ = write!(
                out,
                "<path class=\"s\" d=\"M{x0},{y0} L{x1},{y0} L{x2},{y1} L{x2},{y2} L{x0},{y2} z\"/><path class=\"m\" d=\"M{x1},{y0} L{x1},{y1} L{x2},{y1}\"/>",
                x0 = n(b.x),
                y0 = n(b.y),
                x1 = n(b.x + b.width - f),
                x2 = n(b.x + b.width),
                y1 = n(b.y + f),
                y2 = n(b.y + b.height)
            );
        }
        Kind::DataStore => {
            let ry = (b.height / 8.0).min(8.0);
            let _ = write!(
                out,
                "<path class=\"s\" d=\"M{x0},{yt} L{x0},{yb} A{rx},{ry} 0 0 0 {x1},{yb} L{x1},{yt} A{rx},{ry} 0 0 0 {x0},{yt} A{rx},{ry} 0 0 0 {x1},{yt}\"/><path class=\"m\" d=\"M{x0},{y2} A{rx},{ry} 0 0 0 {x1},{y2} M{x0},{y3} A{rx},{ry} 0 0 0 {x1},{y3}\"/>",
                x0 = n(b.x),
                x1 = n(b.x + b.width),
                yt = n(b.y + ry),
                yb = n(b.y + b.height - ry),
                rx = n(b.width / 2.0),
                ry = n(ry),
                y2 = n(b.y + 2.0 * ry),
                y3 = n(b.y + 3.0 * ry)
            );
        }
        Kind::TextAnnotation => {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"transparent\"/><path class=\"s\" style=\"fill:none\" d=\"M{},{} L{},{} L{},{} L{},{}\"/>",
                n(b.x),
                n(b.y),
                n(b.width),
                n(b.height),
                n(b.x + 12.0),
                n(b.y),
                n(b.x),
                n(b.y),
                n(b.x),
                n(b.y + b.height),
                n(b.x + 12.0),
                n(b.y + b.height)
            );
            if let Some(name) = name {
                let lines = wrap(name, b.width - 10.0);
                let _ = write!(
                    out,
                    "<text class=\"name\" x=\"{}\" y=\"{}\">",
                    n(b.x + 6.0),
                    n(b.y + 4.0)
                );
                let max_lines = ((b.height - 4.0) / LINE_H).floor().max(1.0) as usize;
                for (i, l) in lines.iter().take(max_lines).enumerate() {
                    let _ = write!(
                        out,
                        "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                        n(b.x + 6.0),
                        if i == 0 { n(LINE_H - 2.0) } else { n(LINE_H) },
                        esc(l)
                    );
                }
                out.push_str("</text>");
            }
        }
        Kind::Group => {
            rect(out, b, 8.0, "s", "");
            if let Some(name) = name {
                let _ = write!(
                    out,
                    "<text class=\"name\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    n(cx),
                    n(b.y + 16.0),
                    esc(name)
                );
            }
        }
        Kind::Participant | Kind::Lane => {
            rect(out, b, 0.0, "s", "");
            let horizontal = s.is_horizontal.unwrap_or(true);
            let band = 30.0;
            if kind == Kind::Participant {
                if horizontal {
                    let _ = write!(
                        out,
                        "<path class=\"m\" style=\"stroke:#94a3b8\" d=\"M{},{} L{},{}\"/>",
                        n(b.x + band),
                        n(b.y),
                        n(b.x + band),
                        n(b.y + b.height)
                    );
                } else {
                    let _ = write!(
                        out,
                        "<path class=\"m\" style=\"stroke:#94a3b8\" d=\"M{},{} L{},{}\"/>",
                        n(b.x),
                        n(b.y + band),
                        n(b.x + b.width),
                        n(b.y + band)
                    );
                }
            }
            if let Some(name) = name {
                if horizontal {
                    let (tx, ty) = (b.x + band / 2.0, cy);
                    let lines = wrap(name, b.height - 10.0);
                    let _ = write!(
                        out,
                        "<text class=\"title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\" transform=\"rotate(-90 {} {})\">{}</text>",
                        n(tx),
                        n(ty),
                        n(tx),
                        n(ty),
                        esc(lines.first().map(String::as_str).unwrap_or(""))
                    );
                } else {
                    let lines = wrap(name, b.width - 10.0);
                    text_lines(out, &lines[..lines.len().min(1)], cx, b.y + 8.0, "title");
                }
            }
        }
        Kind::Unknown | Kind::SequenceFlow { .. } | Kind::MessageFlow | Kind::Association => {
            rect(out, b, 4.0, "s", "");
            let _ = write!(
                out,
                "<text class=\"name\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:#94a3b8\">{}</text>",
                n(cx),
                n(cy + 4.0),
                esc(name.unwrap_or(&s.element_id))
            );
        }
    }
    if let Some(e) = e
        && let Some(lb) = external_label_box(b, s.label, e)
    {
        let width = match s.label {
            Some(l) => l.width.max(EXT_LABEL_W * 0.8),
            None => EXT_LABEL_W,
        };
        let lines = wrap(e.name.unwrap_or(""), width);
        text_lines(out, &lines, lb.x + lb.width / 2.0, lb.y, "label");
    }
    out.push_str("</g>");
}

fn rect(out: &mut String, b: Bounds, r: f64, class: &str, extra: &str) {
    let _ = write!(
        out,
        "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"{extra}/>",
        n(b.x),
        n(b.y),
        n(b.width.max(0.0)),
        n(b.height.max(0.0)),
        n(r)
    );
}

fn rect_styled(out: &mut String, b: Bounds, r: f64, class: &str, style: &str) {
    if style.is_empty() {
        rect(out, b, r, class, "");
    } else {
        rect(out, b, r, class, &format!(" style=\"{style}\""));
    }
}

fn collapsed_marker(out: &mut String, cx: f64, top: f64) {
    let _ = write!(
        out,
        "<rect class=\"m\" x=\"{}\" y=\"{}\" width=\"12\" height=\"12\"/><path class=\"m\" d=\"M{},{} h8 M{},{} v8\"/>",
        n(cx - 6.0),
        n(top),
        n(cx - 4.0),
        n(top + 6.0),
        n(cx),
        n(top + 2.0)
    );
}

fn multi_marker(out: &mut String, multi: Option<bool>, cx: f64, top: f64) {
    let Some(sequential) = multi else { return };
    if sequential {
        let _ = write!(
            out,
            "<path class=\"m\" style=\"stroke-width:2\" d=\"M{x0},{y0} h12 M{x0},{y1} h12 M{x0},{y2} h12\"/>",
            x0 = n(cx - 6.0),
            y0 = n(top + 2.0),
            y1 = n(top + 6.0),
            y2 = n(top + 10.0)
        );
    } else {
        let _ = write!(
            out,
            "<path class=\"m\" style=\"stroke-width:2\" d=\"M{},{y0} v12 M{},{y0} v12 M{},{y0} v12\"/>",
            n(cx - 4.0),
            n(cx),
            n(cx + 4.0),
            y0 = n(top)
        );
    }
}

fn task_marker(out: &mut String, marker: TaskMarker, x: f64, y: f64) {
    match marker {
        TaskMarker::None => {}
        TaskMarker::Service => {
            // A cog: a dashed thick ring reads as teeth at this size.
            let _ = write!(
                out,
                "<g class=\"icon\"><circle class=\"m\" cx=\"{cx}\" cy=\"{cy}\" r=\"6\" style=\"stroke-width:3.2;stroke-dasharray:2.6 2.1\"/><circle class=\"m\" cx=\"{cx}\" cy=\"{cy}\" r=\"4.3\"/><circle class=\"m\" cx=\"{cx}\" cy=\"{cy}\" r=\"1.8\"/></g>",
                cx = n(x + 8.0),
                cy = n(y + 8.0)
            );
        }
        TaskMarker::User => {
            let _ = write!(
                out,
                "<g class=\"icon\"><circle class=\"m\" cx=\"{}\" cy=\"{}\" r=\"3.6\"/><path class=\"m\" d=\"M{},{} c0,-5 3,-6.5 7,-6.5 c4,0 7,1.5 7,6.5 z\"/></g>",
                n(x + 8.0),
                n(y + 4.5),
                n(x + 1.0),
                n(y + 16.0)
            );
        }
        TaskMarker::Send | TaskMarker::Receive => {
            let filled = marker == TaskMarker::Send;
            envelope(out, x + 8.0, y + 7.0, 16.0, 11.0, filled);
        }
        TaskMarker::Manual => {
            let _ = write!(
                out,
                "<path class=\"m\" d=\"M{},{} h6 l2,-3 h6 M{},{} h8 M{},{} h7 M{},{} h6 l-1,3 h-7\"/>",
                n(x),
                n(y + 8.0),
                n(x + 6.0),
                n(y + 8.0),
                n(x + 8.0),
                n(y + 11.0),
                n(x + 8.0),
                n(y + 14.0)
            );
        }
        TaskMarker::BusinessRule => {
            let _ = write!(
                out,
                "<g class=\"icon\"><rect class=\"m\" x=\"{}\" y=\"{}\" width=\"16\" height=\"12\"/><rect class=\"mf\" x=\"{}\" y=\"{}\" width=\"16\" height=\"3\"/><path class=\"m\" d=\"M{},{} h16 M{},{} v9\"/></g>",
                n(x),
                n(y + 2.0),
                n(x),
                n(y + 2.0),
                n(x),
                n(y + 9.0),
                n(x + 5.0),
                n(y + 5.0)
            );
        }
    }
}

fn envelope(out: &mut String, cx: f64, cy: f64, w: f64, h: f64, filled: bool) {
    let (x0, y0) = (cx - w / 2.0, cy - h / 2.0);
    let (class, flap) = if filled {
        ("mf", "stroke:#fff")
    } else {
        ("m", "")
    };
    let _ = write!(
        out,
        "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/><path class=\"m\" style=\"{flap}\" d=\"M{},{} L{},{} L{},{}\"/>",
        n(x0),
        n(y0),
        n(w),
        n(h),
        n(x0),
        n(y0),
        n(cx),
        n(cy + 1.0),
        n(x0 + w),
        n(y0)
    );
}

fn event_marker(out: &mut String, marker: EventMarker, throwing: bool, cx: f64, cy: f64, r: f64) {
    let class = if throwing { "mf" } else { "m" };
    let k = r / 18.0;
    match marker {
        EventMarker::None => {}
        EventMarker::Message => envelope(out, cx, cy, 18.0 * k, 12.0 * k, throwing),
        EventMarker::Timer => {
            let _ = write!(
                out,
                "<circle class=\"m\" cx=\"{}\" cy=\"{}\" r=\"{}\" style=\"stroke-width:1.6\"/><path class=\"m\" d=\"M{},{} L{},{} L{},{}\"/>",
                n(cx),
                n(cy),
                n(10.0 * k),
                n(cx),
                n(cy - 7.0 * k),
                n(cx),
                n(cy),
                n(cx + 5.0 * k),
                n(cy + 2.0 * k)
            );
        }
        EventMarker::Signal => {
            let _ = write!(
                out,
                "<path class=\"{class}\" d=\"M{},{} L{},{} L{},{} z\"/>",
                n(cx),
                n(cy - 9.0 * k),
                n(cx + 9.0 * k),
                n(cy + 6.0 * k),
                n(cx - 9.0 * k),
                n(cy + 6.0 * k)
            );
        }
        EventMarker::Error => {
            let _ = write!(
                out,
                "<path class=\"{class}\" d=\"M{},{} L{},{} L{},{} L{},{} L{},{} L{},{} z\"/>",
                n(cx - 8.0 * k),
                n(cy + 8.0 * k),
                n(cx - 3.0 * k),
                n(cy - 8.0 * k),
                n(cx + 2.0 * k),
                n(cy + 1.0 * k),
                n(cx + 8.0 * k),
                n(cy - 8.0 * k),
                n(cx + 3.0 * k),
                n(cy + 8.0 * k),
                n(cx - 2.0 * k),
                n(cy - 1.0 * k)
            );
        }
        EventMarker::Escalation => {
            let _ = write!(
                out,
                "<path class=\"{class}\" d=\"M{},{} L{},{} L{},{} L{},{} z\"/>",
                n(cx),
                n(cy - 9.0 * k),
                n(cx + 7.0 * k),
                n(cy + 8.0 * k),
                n(cx),
                n(cy + 2.0 * k),
                n(cx - 7.0 * k),
                n(cy + 8.0 * k)
            );
        }
        EventMarker::Conditional => {
            let _ = write!(
                out,
                "<rect class=\"m\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/><path class=\"m\" d=\"M{x0},{} h{w} M{x0},{} h{w} M{x0},{} h{w}\"/>",
                n(cx - 7.0 * k),
                n(cy - 9.0 * k),
                n(14.0 * k),
                n(18.0 * k),
                n(cy - 5.0 * k),
                n(cy),
                n(cy + 5.0 * k),
                x0 = n(cx - 4.5 * k),
                w = n(9.0 * k)
            );
        }
        EventMarker::Link => {
            let _ = write!(
                out,
                "<path class=\"{class}\" d=\"M{},{} h{} v-{} l{},{} l-{},{} v-{} h-{} z\"/>",
                n(cx - 8.0 * k),
                n(cy - 3.0 * k),
                n(9.0 * k),
                n(4.0 * k),
                n(8.0 * k),
                n(7.0 * k),
                n(8.0 * k),
                n(7.0 * k),
                n(4.0 * k),
                n(9.0 * k)
            );
        }
        EventMarker::Terminate => {
            let _ = write!(
                out,
                "<circle class=\"mf\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                n(cx),
                n(cy),
                n(r * 0.55)
            );
        }
    }
}

fn gateway_marker(out: &mut String, marker: GatewayMarker, cx: f64, cy: f64, size: f64) {
    let k = size / 50.0;
    match marker {
        GatewayMarker::Exclusive => {
            let d = 8.0 * k;
            let _ = write!(
                out,
                "<path class=\"m\" style=\"stroke-width:3.5;stroke-linecap:round\" d=\"M{},{} L{},{} M{},{} L{},{}\"/>",
                n(cx - d),
                n(cy - d),
                n(cx + d),
                n(cy + d),
                n(cx + d),
                n(cy - d),
                n(cx - d),
                n(cy + d)
            );
        }
        GatewayMarker::Parallel => {
            let d = 11.0 * k;
            let _ = write!(
                out,
                "<path class=\"m\" style=\"stroke-width:3.5\" d=\"M{},{} L{},{} M{},{} L{},{}\"/>",
                n(cx - d),
                n(cy),
                n(cx + d),
                n(cy),
                n(cx),
                n(cy - d),
                n(cx),
                n(cy + d)
            );
        }
        GatewayMarker::Inclusive => {
            let _ = write!(
                out,
                "<circle class=\"m\" style=\"stroke-width:3\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                n(cx),
                n(cy),
                n(10.0 * k)
            );
        }
        GatewayMarker::EventBased => {
            let r = 11.0 * k;
            let _ = write!(
                out,
                "<circle class=\"m\" cx=\"{}\" cy=\"{}\" r=\"{}\"/><circle class=\"m\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                n(cx),
                n(cy),
                n(r),
                n(cx),
                n(cy),
                n(r - 2.5 * k)
            );
            // Pentagon.
            let pr = 5.5 * k;
            let mut d = String::new();
            for i in 0..5 {
                let a = -std::f64::consts::FRAC_PI_2 + i as f64 * 2.0 * std::f64::consts::PI / 5.0;
                let _ = write!(
                    d,
                    "{}{},{} ",
                    if i == 0 { "M" } else { "L" },
                    n(cx + pr * a.cos()),
                    n(cy + pr * a.sin())
                );
            }
            let _ = write!(out, "<path class=\"m\" d=\"{d}z\"/>");
        }
    }
}

fn draw_edge(out: &mut String, edge: &baton_bpmn::model::Edge, e: Option<&Elem<'_>>) {
    let kind = e.map_or(Kind::Unknown, |e| e.kind);
    let class = match kind {
        Kind::SequenceFlow { .. } => "flow",
        Kind::MessageFlow => "message-flow",
        Kind::Association => "association",
        _ => "unknown-edge",
    };
    let _ = write!(
        out,
        "<g class=\"el edge {class}\" data-element-id=\"{}\">",
        esc(&edge.element_id)
    );
    let pts: Vec<Point> = edge
        .waypoints
        .iter()
        .copied()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let mut d = String::new();
    for (i, p) in pts.iter().enumerate() {
        let _ = write!(
            d,
            "{}{},{} ",
            if i == 0 { "M" } else { "L" },
            n(p.x),
            n(p.y)
        );
    }
    let markers = match kind {
        Kind::SequenceFlow { conditional, .. } => {
            if conditional {
                " marker-start=\"url(#cond-start)\" marker-end=\"url(#arrow)\""
            } else {
                " marker-end=\"url(#arrow)\""
            }
        }
        Kind::MessageFlow => " marker-start=\"url(#msg-start)\" marker-end=\"url(#open-arrow)\"",
        _ => "",
    };
    if !d.is_empty() {
        // A wide transparent twin makes thin lines easy to hover.
        let _ = write!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"transparent\" stroke-width=\"10\"/><path class=\"line\" d=\"{d}\"{markers}/>"
        );
    }
    if let Kind::SequenceFlow { default: true, .. } = kind
        && pts.len() >= 2
    {
        // The default-flow slash, a little after the source.
        let (a, b) = (pts[0], pts[1]);
        let len = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt();
        if len > 0.0 {
            let (ux, uy) = ((b.x - a.x) / len, (b.y - a.y) / len);
            let t = 10.0_f64.min(len / 2.0);
            let (mx, my) = (a.x + ux * t, a.y + uy * t);
            // Perpendicular rotated 45° towards the direction of flow.
            let (px, py) = (-uy, ux);
            let (sx, sy) = (
                (px + ux) * std::f64::consts::FRAC_1_SQRT_2 * 6.0,
                (py + uy) * std::f64::consts::FRAC_1_SQRT_2 * 6.0,
            );
            let _ = write!(
                out,
                "<path class=\"line\" d=\"M{},{} L{},{}\"/>",
                n(mx - sx),
                n(my - sy),
                n(mx + sx),
                n(my + sy)
            );
        }
    }
    if let Some(name) = e.and_then(|e| e.name).filter(|s| !s.trim().is_empty()) {
        let (cx, top, width) = match edge.label {
            Some(l) => (l.x + l.width / 2.0, l.y, l.width.max(60.0)),
            None => {
                let mid = pts.get(pts.len() / 2).copied().unwrap_or_default();
                (mid.x, mid.y - LINE_H - 2.0, EXT_LABEL_W)
            }
        };
        let lines = wrap(name, width);
        text_lines(out, &lines, cx, top, "label");
    }
    out.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse the numbers of the root `viewBox`.
    fn view_box(svg: &str) -> (f64, f64, f64, f64) {
        let start = svg.find("viewBox=\"").map(|i| i + 9).unwrap_or(0);
        let end = svg[start..].find('"').map(|i| start + i).unwrap_or(start);
        let v: Vec<f64> = svg[start..end]
            .split(' ')
            .filter_map(|s| s.parse().ok())
            .collect();
        assert_eq!(v.len(), 4, "viewBox of {svg:.200}");
        (v[0], v[1], v[2], v[3])
    }

    /// Check one diagram: one group per DI element, everything inside the view box, and the
    /// document well formed enough for a browser (balanced groups).
    pub(crate) fn check(defs: &Definitions, diagram: &Diagram) -> Result<(), String> {
        let svg = render(defs, diagram);
        let groups = svg.matches("data-element-id=\"").count();
        let expected = diagram.shapes.len() + diagram.edges.len();
        if groups != expected {
            return Err(format!(
                "{} groups drawn for {expected} DI elements",
                groups
            ));
        }
        for s in &diagram.shapes {
            let needle = format!("data-element-id=\"{}\"", esc(&s.element_id));
            if !svg.contains(&needle) {
                return Err(format!("shape {} not drawn", s.element_id));
            }
        }
        for e in &diagram.edges {
            let needle = format!("data-element-id=\"{}\"", esc(&e.element_id));
            if !svg.contains(&needle) {
                return Err(format!("edge {} not drawn", e.element_id));
            }
        }
        let (vx, vy, vw, vh) = view_box(&svg);
        let c = content_bounds(defs, diagram);
        // Independent recomputation of the raw DI extent (bounds, labels, waypoints).
        let mut raw = BBox::empty();
        for s in &diagram.shapes {
            raw.add_bounds(&s.bounds);
            if let Some(l) = &s.label {
                raw.add_bounds(l);
            }
        }
        for e in &diagram.edges {
            for p in &e.waypoints {
                raw.add_point(p.x, p.y);
            }
            if let Some(l) = &e.label {
                raw.add_bounds(l);
            }
        }
        let eps = 0.01;
        for (x0, y0, x1, y1) in [
            (c.x, c.y, c.x + c.width, c.y + c.height),
            (raw.min_x, raw.min_y, raw.max_x, raw.max_y),
        ] {
            if raw.is_empty() {
                break;
            }
            if x0 < vx - eps || y0 < vy - eps || x1 > vx + vw + eps || y1 > vy + vh + eps {
                return Err(format!(
                    "content {x0},{y0}..{x1},{y1} outside viewBox {vx} {vy} {vw} {vh}"
                ));
            }
        }
        if svg.matches("<g").count() != svg.matches("</g>").count() {
            return Err("unbalanced groups".into());
        }
        Ok(())
    }

    fn parse(xml: &str) -> Definitions {
        match baton_bpmn::parse(xml.as_bytes()) {
            Ok(p) => p.definitions,
            Err(e) => panic!("fixture does not parse: {e}"),
        }
    }

    #[test]
    fn cockpit_fixture_order_draws_every_element() {
        let defs = parse(include_str!("../../../tests/cockpit/fixtures/order.bpmn"));
        let d = diagram_for(&defs, "order").expect("diagram");
        check(&defs, d).expect("order fixture");
        let svg = render(&defs, d);
        // Element-specific drawing: service gear, user icon, diamond markers, default slash.
        assert!(svg.contains("class=\"el task activity\" data-element-id=\"charge\""));
        assert!(svg.contains("stroke-dasharray:2.6 2.1"), "service gear");
        assert!(svg.contains("data-element-id=\"approve\""));
        assert!(svg.contains("marker-end=\"url(#arrow)\""));
        assert!(svg.contains(">Charge card<") || svg.contains(">Charge<"));
    }

    #[test]
    fn order_example_draws_every_element() {
        let defs = parse(include_str!("../../../examples/order/order.bpmn"));
        let d = diagram_for(&defs, "order").expect("diagram");
        check(&defs, d).expect("examples/order");
        let svg = render(&defs, d);
        assert!(svg.contains("data-element-id=\"ApproveOrder\""));
        assert!(svg.contains("data-element-id=\"Flow_Small\""));
    }

    #[test]
    fn parse_fixtures_with_di_are_drawn() {
        let defs = parse(include_str!(
            "../../../bpmn/tests/fixtures/parse/camunda7-order.bpmn"
        ));
        for d in &defs.diagrams {
            check(&defs, d).expect("camunda7-order");
        }
    }

    #[test]
    fn pools_lanes_message_flows_and_artifacts() {
        let xml = r##"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="t">
  <bpmn:collaboration id="c">
    <bpmn:participant id="pool" name="Shop &amp; Co" processRef="p" />
    <bpmn:participant id="cust" name="Customer" />
    <bpmn:messageFlow id="mf" sourceRef="cust" targetRef="s" />
  </bpmn:collaboration>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="Sales"><bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s" name="A very long start event name that wraps"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
    <bpmn:endEvent id="e" />
    <bpmn:textAnnotation id="ta"><bpmn:text>Note &lt;here&gt;</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="as" sourceRef="s" targetRef="ta" />
  </bpmn:process>
  <bpmn:message id="m" name="go" />
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="pl" bpmnElement="c">
    <bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true"><dc:Bounds x="0" y="0" width="600" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="lane_di" bpmnElement="lane1" isHorizontal="true"><dc:Bounds x="30" y="0" width="570" height="200" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="cust_di" bpmnElement="cust" isHorizontal="true"><dc:Bounds x="0" y="250" width="600" height="60" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="172" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="e_di" bpmnElement="e"><dc:Bounds x="300" y="82" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="ta_di" bpmnElement="ta"><dc:Bounds x="400" y="-40" width="100" height="30" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f_di" bpmnElement="f"><di:waypoint x="136" y="190" /><di:waypoint x="300" y="100" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="mf_di" bpmnElement="mf"><di:waypoint x="118" y="250" /><di:waypoint x="118" y="208" /></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="as_di" bpmnElement="as"><di:waypoint x="130" y="175" /><di:waypoint x="400" y="-25" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"##;
        let defs = parse(xml);
        let d = diagram_for(&defs, "p").expect("diagram");
        check(&defs, d).expect("collaboration");
        let svg = render(&defs, d);
        assert!(svg.contains("Shop &amp; Co"));
        assert!(svg.contains("rotate(-90"), "vertical pool title");
        assert!(svg.contains("Note &lt;here&gt;"));
        assert!(svg.contains("class=\"el edge message-flow\""));
        assert!(svg.contains("class=\"el edge association\""));
        // The start event's label sits below the shape (no DI label) and is inside the box:
        // the box starts above the annotation at y=-40.
        let (_, vy, _, _) = view_box(&svg);
        assert!(vy <= -40.0);
    }

    #[test]
    fn wrapping_breaks_on_words_and_long_tokens() {
        assert_eq!(
            wrap("Charge credit card", 60.0),
            vec!["Charge", "credit", "card"]
        );
        assert_eq!(wrap("Approve order", 200.0), vec!["Approve order"]);
        let long = wrap("abcdefghijklmnopqrstuvwxyz", 31.0);
        assert!(long.iter().all(|l| l.chars().count() <= 5));
        assert!(wrap("", 100.0).is_empty());
    }

    /// The shared BPMN corpus (beside the clone in CI): every model with DI that parses is
    /// drawn completely inside its view box. The directory comes from `BATON_BPMN_CORPUS`;
    /// unset = not run here (a clone without ../shared), set but missing = failure.
    #[test]
    fn corpus_models_with_di() {
        let Ok(dir) = std::env::var("BATON_BPMN_CORPUS") else {
            return;
        };
        let root = std::path::PathBuf::from(&dir);
        assert!(
            root.is_dir(),
            "BATON_BPMN_CORPUS={dir} is set but is not a directory"
        );
        let mut files = Vec::new();
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in rd.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.ends_with(".bpmn") || f.ends_with(".bpmn20.xml"))
                {
                    files.push(p);
                }
            }
        }
        files.sort();
        let (mut drawn, mut failures) = (0, Vec::new());
        for f in &files {
            let Ok(bytes) = std::fs::read(f) else {
                continue;
            };
            if !String::from_utf8_lossy(&bytes).contains("BPMNShape") {
                continue;
            }
            // Models that do not parse can never be deployed, so never drawn.
            let Ok(parsed) = baton_bpmn::parse(&bytes) else {
                continue;
            };
            for d in &parsed.definitions.diagrams {
                drawn += 1;
                if let Err(e) = check(&parsed.definitions, d) {
                    failures.push(format!("{}: {e}", f.display()));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(drawn > 0, "no diagram with DI found under {dir}");
        eprintln!("corpus: {drawn} diagrams drawn from {} files", files.len());
    }
}
