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
//! This module owns the document: which diagram shows a process, the view box and the paint
//! order. What each element is lives in `kinds`, shapes in `shapes`, their symbols in
//! `markers`, edges in `edges`, text and label placement in `labels`.
//!
//! Pure: a function of the parsed model, no I/O.

mod edges;
mod kinds;
mod labels;
mod markers;
mod shapes;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use baton_bpmn::model::{Bounds, Definitions, Diagram, Shape};

use kinds::{Elem, Elems, EventClass, Kind, index};
use labels::{esc, external_label_box, n};

/// Margin around the drawing, px.
const MARGIN: f64 = 20.0;

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

fn measure(diagram: &Diagram, elems: &Elems<'_>) -> BBox {
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

/// The paint layer of boundary events: above the edges, so they stay on their activity's rim.
const TOP_LAYER: u8 = 6;

/// Paint order: pools and lanes, groups, then expanded subprocesses (largest first so nested
/// ones stay visible), other shapes, and boundary events last ([`TOP_LAYER`]).
fn paint_order<'d, 'e, 'a>(
    diagram: &'d Diagram,
    elems: &'e Elems<'a>,
) -> Vec<(u8, &'d Shape, Option<&'e Elem<'a>>)> {
    let mut shapes: Vec<_> = diagram
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
                }) => TOP_LAYER,
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
    shapes
}

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
    out.push_str(edges::DEFS);
    let shapes = paint_order(diagram, &elems);
    for (_, s, e) in shapes.iter().filter(|x| x.0 < TOP_LAYER) {
        shapes::draw_shape(&mut out, s, *e);
    }
    for edge in &diagram.edges {
        edges::draw_edge(&mut out, edge, elems.get(edge.element_id.as_str()));
    }
    for (_, s, e) in shapes.iter().filter(|x| x.0 >= TOP_LAYER) {
        shapes::draw_shape(&mut out, s, *e);
    }
    out.push_str("<g class=\"overlays\"></g></svg>");
    out
}
