//! Text and numbers: XML escaping, compact number and path formatting, word wrapping by estimated width, centred
//! multi-line `<text>`, and where an element's external label (below an event, gateway or
//! data element) goes. Text widths are estimated: there are no font metrics on the server.

use std::fmt::Write as _;

use baton_bpmn::model::Bounds;

use super::kinds::Elem;

/// Estimated width of one character of label text, px (~6.2 px at the 12 px label size
/// matches the system UI fonts well enough for wrapping).
pub(super) const CHAR_W: f64 = 6.2;
/// Line height of label text, px.
pub(super) const LINE_H: f64 = 14.0;
/// Width of an external label without DI label bounds (below an event or gateway).
pub(super) const EXT_LABEL_W: f64 = 110.0;

/// Escape text for XML content and attribute values.
pub(super) fn esc(s: &str) -> String {
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

/// Format a coordinate compactly (at most two decimals, no trailing zeros).
pub(super) fn n(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// Path data through `points`: `M x,y L x,y ...` (close it with `z` for a polygon).
pub(super) fn path_d(points: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{},{}", if i == 0 { "M" } else { " L" }, n(*x), n(*y));
    }
    d
}

/// A closed polygon through `points`.
pub(super) fn polygon(out: &mut String, class: &str, points: &[(f64, f64)]) {
    let _ = write!(out, "<path class=\"{class}\" d=\"{} z\"/>", path_d(points));
}

/// Break `text` into lines of at most `width` px (estimated), honouring explicit newlines.
pub(super) fn wrap(text: &str, width: f64) -> Vec<String> {
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

/// Lines of text centred on `cx`, the first line's top at `top`.
pub(super) fn text_lines(out: &mut String, lines: &[String], cx: f64, top: f64, class: &str) {
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

/// The width an external label wraps at: its DI label bounds (widened so short bounds do not
/// break every word) or the default below the shape.
fn external_label_width(label: Option<Bounds>) -> f64 {
    match label {
        Some(l) => l.width.max(EXT_LABEL_W * 0.8),
        None => EXT_LABEL_W,
    }
}

/// Where the external label of a shape is drawn: its DI label bounds (widened to fit the
/// wrapped text) or a box centred below the shape.
pub(super) fn external_label_box(
    shape: Bounds,
    label: Option<Bounds>,
    e: &Elem<'_>,
) -> Option<Bounds> {
    if !e.kind.has_external_label() {
        return None;
    }
    let name = e.name.filter(|n| !n.trim().is_empty())?;
    let (cx, top) = match label {
        Some(l) => (l.x + l.width / 2.0, l.y),
        None => (shape.x + shape.width / 2.0, shape.y + shape.height + 6.0),
    };
    let lines = wrap(name, external_label_width(label));
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

/// Draw the external label of a shape, if it has one.
pub(super) fn external_label(out: &mut String, shape: Bounds, label: Option<Bounds>, e: &Elem<'_>) {
    if let Some(lb) = external_label_box(shape, label, e) {
        let lines = wrap(e.name.unwrap_or(""), external_label_width(label));
        text_lines(out, &lines, lb.x + lb.width / 2.0, lb.y, "label");
    }
}
