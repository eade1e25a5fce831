//! What the model keeps for drawing: collaborations (pools and message flows) and the BPMNDI
//! diagram (shapes, edges, bounds). The engine never reads these; the cockpit draws them.

use serde::Serialize;

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
