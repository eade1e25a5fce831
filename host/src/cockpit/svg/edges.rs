//! Edges: sequence flows (arrowhead, default slash, conditional diamond), message flows
//! (dashed, circle to open arrow) and associations (dotted), each with its label, plus the
//! `<marker>` definitions they use.

use std::fmt::Write as _;

use baton_bpmn::model::{Edge, Point};

use super::kinds::{Elem, Kind};
use super::labels::{EXT_LABEL_W, LINE_H, esc, n, path_d, text_lines, wrap};

/// The arrowheads and start symbols of edges, referenced by `marker-start`/`marker-end`.
pub(super) const DEFS: &str = "<defs>\
<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto-start-reverse\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"#475569\"/></marker>\
<marker id=\"open-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"11\" markerHeight=\"11\" orient=\"auto\"><path d=\"M0,1 L10,5 L0,9 z\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
<marker id=\"msg-start\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
<marker id=\"cond-start\" viewBox=\"0 0 20 10\" refX=\"0\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"18\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,5 L10,0 L20,5 L10,10 z\" fill=\"#fff\" stroke=\"#475569\"/></marker>\
</defs>";

/// One DI edge as a `<g class="el edge ...">` group: the line, its markers, its label.
pub(super) fn draw_edge(out: &mut String, edge: &Edge, e: Option<&Elem<'_>>) {
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
    let d = path_d(&pts.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
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
        && let &[a, b, ..] = pts.as_slice()
    {
        default_slash(out, a, b);
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

/// The default-flow slash across the first segment `a`-`b`, a little after the source.
fn default_slash(out: &mut String, a: Point, b: Point) {
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
