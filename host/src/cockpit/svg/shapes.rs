//! Shapes: one `<g class="el ..." data-element-id data-bounds>` group per DI shape, with the
//! outline of its kind (event circles, rounded activity rectangles, gateway diamonds, data
//! objects and stores, annotations, groups, pools and lanes), its markers ([`super::markers`])
//! and its name, inside or below it ([`super::labels`]).

use std::fmt::Write as _;

use baton_bpmn::model::{Bounds, Shape};

use super::kinds::{
    ActivityMarkers, Elem, EventClass, EventMarker, GatewayMarker, Kind, TaskMarker,
};
use super::labels::{LINE_H, esc, external_label, n, polygon, text_lines, wrap};
use super::markers::{collapsed_marker, event_marker, gateway_marker, multi_marker, task_marker};

/// Space left for the multi-instance or (+) marker at the bottom of an activity, px.
const BOTTOM_MARKER: f64 = 14.0;

/// One DI shape.
pub(super) fn draw_shape(out: &mut String, s: &Shape, e: Option<&Elem<'_>>) {
    let b = s.bounds;
    let kind = e.map_or(Kind::Unknown, |e| e.kind);
    let name = e.and_then(|e| e.name).filter(|n| !n.trim().is_empty());
    open_group(out, s, kind, name);
    match kind {
        Kind::Event {
            class,
            marker,
            throwing,
            non_interrupting,
        } => draw_event(out, b, class, marker, throwing, non_interrupting),
        Kind::Task { marker, multi } => draw_task(out, b, marker, multi, name),
        Kind::SubProcess { event, multi } => {
            draw_subprocess(out, b, s.is_expanded.unwrap_or(true), event, multi, name)
        }
        Kind::CallActivity { multi } => draw_call_activity(out, b, multi, name),
        Kind::Gateway(marker) => draw_gateway(out, b, marker),
        Kind::DataObject => draw_data_object(out, b),
        Kind::DataStore => draw_data_store(out, b),
        Kind::TextAnnotation => draw_annotation(out, b, name),
        Kind::Group => draw_group(out, b, name),
        Kind::Participant | Kind::Lane => draw_pool_or_lane(
            out,
            b,
            kind == Kind::Participant,
            s.is_horizontal.unwrap_or(true),
            name,
        ),
        Kind::Unknown | Kind::SequenceFlow { .. } | Kind::MessageFlow | Kind::Association => {
            draw_unknown(out, b, name.unwrap_or(&s.element_id))
        }
    }
    if let Some(e) = e {
        external_label(out, b, s.label, e);
    }
    out.push_str("</g>");
}

/// The element's group: classes the cockpit styles and selects on, its id, its bounds and a
/// `<title>` tooltip.
fn open_group(out: &mut String, s: &Shape, kind: Kind, name: Option<&str>) {
    let b = s.bounds;
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
}

fn center(b: Bounds) -> (f64, f64) {
    (b.x + b.width / 2.0, b.y + b.height / 2.0)
}

/// A rounded rectangle; `extra` is appended to the element's attributes verbatim.
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

/// A rounded rectangle with an inline style (none when `style` is empty).
fn rect_styled(out: &mut String, b: Bounds, r: f64, class: &str, style: &str) {
    if style.is_empty() {
        rect(out, b, r, class, "");
    } else {
        rect(out, b, r, class, &format!(" style=\"{style}\""));
    }
}

/// The name centred in an activity, wrapped to `pad` px less than its width, its block
/// moved by `shift` px from the vertical centre (room for markers).
fn centred_name(out: &mut String, b: Bounds, name: &str, pad: f64, shift: f64) {
    let (cx, cy) = center(b);
    let lines = wrap(name, b.width - pad);
    let top = cy - lines.len() as f64 * LINE_H / 2.0 + shift;
    text_lines(out, &lines, cx, top, "name");
}

/// Circle borders by role (start thin, end thick, intermediate and boundary double; dashed
/// when non-interrupting), then the marker.
fn draw_event(
    out: &mut String,
    b: Bounds,
    class: EventClass,
    marker: EventMarker,
    throwing: bool,
    non_interrupting: bool,
) {
    let (cx, cy) = center(b);
    let r = b.width.min(b.height) / 2.0;
    let dash = if non_interrupting {
        " stroke-dasharray=\"4 3\""
    } else {
        ""
    };
    let circle = |out: &mut String, class: &str, r: f64, extra: &str| {
        let _ = write!(
            out,
            "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{}\"{extra}/>",
            n(cx),
            n(cy),
            n(r)
        );
    };
    match class {
        EventClass::Start => circle(out, "s", r, &format!(" style=\"stroke-width:1.6\"{dash}")),
        EventClass::End => circle(out, "s", r - 1.5, " style=\"stroke-width:4\""),
        EventClass::Intermediate | EventClass::Boundary => {
            circle(out, "s", r, dash);
            circle(out, "m", r - 3.0, dash);
        }
    }
    event_marker(out, marker, throwing, cx, cy, r);
}

fn draw_task(
    out: &mut String,
    b: Bounds,
    marker: TaskMarker,
    multi: ActivityMarkers,
    name: Option<&str>,
) {
    let (cx, _) = center(b);
    rect(out, b, 10.0, "s", "");
    task_marker(out, marker, b.x + 6.0, b.y + 6.0);
    multi_marker(out, multi, cx, b.y + b.height - BOTTOM_MARKER);
    if let Some(name) = name {
        // A type icon takes the top-left corner: nudge the text down a little.
        let shift = if marker == TaskMarker::None { 0.0 } else { 3.0 };
        centred_name(out, b, name, 12.0, shift);
    }
}

fn draw_subprocess(
    out: &mut String,
    b: Bounds,
    expanded: bool,
    event: bool,
    multi: ActivityMarkers,
    name: Option<&str>,
) {
    let (cx, _) = center(b);
    let style = if event { "stroke-dasharray:2 3" } else { "" };
    rect_styled(out, b, 10.0, "s", style);
    if multi.transaction && b.width > 8.0 && b.height > 8.0 {
        // A transaction's double border: a second outline 3px inside.
        let inner = Bounds {
            x: b.x + 3.0,
            y: b.y + 3.0,
            width: b.width - 6.0,
            height: b.height - 6.0,
        };
        rect_styled(out, inner, 7.0, "m", "");
    }
    // Collapsed: the multi-instance marker moves left to make room for the (+).
    let multi_x = cx - if expanded { 0.0 } else { 16.0 };
    multi_marker(out, multi, multi_x, b.y + b.height - BOTTOM_MARKER);
    if !expanded {
        collapsed_marker(out, cx, b.y + b.height - BOTTOM_MARKER);
    }
    let Some(name) = name else { return };
    if expanded {
        // The title of an expanded subprocess sits in its top-left corner, one line.
        let lines = wrap(name, b.width - 16.0);
        let _ = write!(
            out,
            "<text class=\"name\" x=\"{}\" y=\"{}\" style=\"font-weight:600\">{}</text>",
            n(b.x + 8.0),
            n(b.y + 16.0),
            esc(lines.first().map(String::as_str).unwrap_or(""))
        );
    } else {
        centred_name(out, b, name, 12.0, -6.0);
    }
}

fn draw_call_activity(out: &mut String, b: Bounds, multi: ActivityMarkers, name: Option<&str>) {
    let (cx, _) = center(b);
    rect_styled(out, b, 10.0, "s", "stroke-width:4");
    multi_marker(out, multi, cx - 16.0, b.y + b.height - BOTTOM_MARKER);
    collapsed_marker(out, cx, b.y + b.height - BOTTOM_MARKER);
    if let Some(name) = name {
        centred_name(out, b, name, 14.0, -5.0);
    }
}

fn draw_gateway(out: &mut String, b: Bounds, marker: GatewayMarker) {
    let (cx, cy) = center(b);
    polygon(
        out,
        "s",
        &[
            (cx, b.y),
            (b.x + b.width, cy),
            (cx, b.y + b.height),
            (b.x, cy),
        ],
    );
    gateway_marker(out, marker, cx, cy, b.width.min(b.height));
}

/// A page with a folded corner.
fn draw_data_object(out: &mut String, b: Bounds) {
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

/// A cylinder with two rings.
fn draw_data_store(out: &mut String, b: Bounds) {
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

/// An open bracket with left-aligned text, cut to the lines that fit its height.
fn draw_annotation(out: &mut String, b: Bounds, name: Option<&str>) {
    // The transparent rect makes the whole box hoverable, not just the bracket.
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
    let Some(name) = name else { return };
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

fn draw_group(out: &mut String, b: Bounds, name: Option<&str>) {
    let (cx, _) = center(b);
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

/// A pool (with the band separating its title) or a lane; the title runs vertically when
/// the shape is horizontal.
fn draw_pool_or_lane(
    out: &mut String,
    b: Bounds,
    pool: bool,
    horizontal: bool,
    name: Option<&str>,
) {
    let (cx, cy) = center(b);
    rect(out, b, 0.0, "s", "");
    // Width of a pool's title band, px.
    let band = 30.0;
    if pool {
        let (x0, y0, x1, y1) = if horizontal {
            (b.x + band, b.y, b.x + band, b.y + b.height)
        } else {
            (b.x, b.y + band, b.x + b.width, b.y + band)
        };
        let _ = write!(
            out,
            "<path class=\"m\" style=\"stroke:#94a3b8\" d=\"M{},{} L{},{}\"/>",
            n(x0),
            n(y0),
            n(x1),
            n(y1)
        );
    }
    let Some(name) = name else { return };
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

/// A shape whose element the model does not know: a neutral box with its name or id.
fn draw_unknown(out: &mut String, b: Bounds, text: &str) {
    let (cx, cy) = center(b);
    rect(out, b, 4.0, "s", "");
    let _ = write!(
        out,
        "<text class=\"name\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:#94a3b8\">{}</text>",
        n(cx),
        n(cy + 4.0),
        esc(text)
    );
}
