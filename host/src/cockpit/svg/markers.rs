//! The small symbols inside shapes: event markers (message, timer, signal, error ...; filled
//! when throwing), task type icons, gateway markers, and the multi-instance and collapsed
//! (+) markers of activities. Each is drawn around a given point, scaled to its shape.

use std::fmt::Write as _;

use super::kinds::{ActivityMarkers, EventMarker, GatewayMarker, TaskMarker};
use super::labels::{n, polygon};

/// The (+) of a collapsed subprocess or a call activity, centred on `cx`, top at `top`.
pub(super) fn collapsed_marker(out: &mut String, cx: f64, top: f64) {
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

/// The bottom markers of an activity centred on `cx`: multi-instance bars or the loop arrow,
/// and beside them the compensation marker.
pub(super) fn multi_marker(out: &mut String, markers: ActivityMarkers, cx: f64, top: f64) {
    let looped = markers.multi.is_some() || markers.standard_loop;
    let (loop_x, comp_x) = match (looped, markers.compensation) {
        (true, true) => (cx - 9.0, cx + 9.0),
        _ => (cx, cx),
    };
    if markers.standard_loop {
        loop_marker(out, loop_x, top);
    } else {
        instance_marker(out, markers.multi, loop_x, top);
    }
    if markers.compensation {
        compensation_marker(out, "m", comp_x, top + 6.0, 7.0);
    }
}

/// The standard loop marker: an open circle with an arrow head, 12px high.
fn loop_marker(out: &mut String, cx: f64, top: f64) {
    let r = 6.0;
    let cy = top + r;
    // An arc from the bottom-left round to the bottom, leaving a gap for the arrow head.
    let _ = write!(
        out,
        "<path class=\"m\" style=\"stroke-width:1.6\" d=\"M{},{} A{r},{r} 0 1 1 {},{}\"/>",
        n(cx - 4.2),
        n(cy + 4.2),
        n(cx + 1.0),
        n(cy + r)
    );
    polygon(
        out,
        "mf",
        &[
            (cx - 4.2, cy + 4.2),
            (cx - 6.5, cy + 1.0),
            (cx - 1.5, cy + 1.8),
        ],
    );
}

/// The multi-instance marker: three bars, horizontal when sequential, vertical when parallel.
fn instance_marker(out: &mut String, multi: Option<bool>, cx: f64, top: f64) {
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

/// The task type icon in the top-left corner at (`x`, `y`).
pub(super) fn task_marker(out: &mut String, marker: TaskMarker, x: f64, y: f64) {
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

/// A message envelope centred on (`cx`, `cy`), filled when sent.
pub(super) fn envelope(out: &mut String, cx: f64, cy: f64, w: f64, h: f64, filled: bool) {
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

/// The marker inside an event circle of radius `r`, filled when throwing.
pub(super) fn event_marker(
    out: &mut String,
    marker: EventMarker,
    throwing: bool,
    cx: f64,
    cy: f64,
    r: f64,
) {
    let class = if throwing { "mf" } else { "m" };
    let k = r / 18.0;
    if let Some((points, filled)) = polygon_marker(marker, cx, cy, k) {
        polygon(out, if filled { class } else { "m" }, &points);
        return;
    }
    match marker {
        EventMarker::None
        | EventMarker::Signal
        | EventMarker::Error
        | EventMarker::Escalation
        | EventMarker::Link
        | EventMarker::Multiple
        | EventMarker::ParallelMultiple => {}
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
        EventMarker::Terminate => {
            let _ = write!(
                out,
                "<circle class=\"mf\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                n(cx),
                n(cy),
                n(r * 0.55)
            );
        }
        EventMarker::Compensation => compensation_marker(out, class, cx, cy, 9.0 * k),
        EventMarker::Cancel => {
            // A bold X.
            let d = 7.0 * k;
            let _ = write!(
                out,
                "<path class=\"m\" style=\"stroke-width:3\" d=\"M{},{} L{},{} M{},{} L{},{}\"/>",
                n(cx - d),
                n(cy - d),
                n(cx + d),
                n(cy + d),
                n(cx - d),
                n(cy + d),
                n(cx + d),
                n(cy - d)
            );
        }
    }
}

/// The markers drawn as one polygon: their points around (`cx`, `cy`) at scale `k`, and
/// whether a throwing event fills them (the parallel-multiple plus stays outlined).
fn polygon_marker(
    marker: EventMarker,
    cx: f64,
    cy: f64,
    k: f64,
) -> Option<(Vec<(f64, f64)>, bool)> {
    let points = match marker {
        EventMarker::Signal => vec![
            (cx, cy - 9.0 * k),
            (cx + 9.0 * k, cy + 6.0 * k),
            (cx - 9.0 * k, cy + 6.0 * k),
        ],
        EventMarker::Error => vec![
            (cx - 8.0 * k, cy + 8.0 * k),
            (cx - 3.0 * k, cy - 8.0 * k),
            (cx + 2.0 * k, cy + 1.0 * k),
            (cx + 8.0 * k, cy - 8.0 * k),
            (cx + 3.0 * k, cy + 8.0 * k),
            (cx - 2.0 * k, cy - 1.0 * k),
        ],
        EventMarker::Escalation => vec![
            (cx, cy - 9.0 * k),
            (cx + 7.0 * k, cy + 8.0 * k),
            (cx, cy + 2.0 * k),
            (cx - 7.0 * k, cy + 8.0 * k),
        ],
        // An arrow pointing right.
        EventMarker::Link => vec![
            (cx - 8.0 * k, cy - 3.0 * k),
            (cx + k, cy - 3.0 * k),
            (cx + k, cy - 7.0 * k),
            (cx + 9.0 * k, cy),
            (cx + k, cy + 7.0 * k),
            (cx + k, cy + 3.0 * k),
            (cx - 8.0 * k, cy + 3.0 * k),
        ],
        EventMarker::Multiple => {
            // A pentagon.
            let pr = 9.0 * k;
            (0..5)
                .map(|i| {
                    let a =
                        -std::f64::consts::FRAC_PI_2 + i as f64 * 2.0 * std::f64::consts::PI / 5.0;
                    (cx + pr * a.cos(), cy + pr * a.sin())
                })
                .collect()
        }
        EventMarker::ParallelMultiple => {
            // An outlined plus.
            let (a, b) = (2.5 * k, 9.0 * k);
            let plus = vec![
                (cx - a, cy - b),
                (cx + a, cy - b),
                (cx + a, cy - a),
                (cx + b, cy - a),
                (cx + b, cy + a),
                (cx + a, cy + a),
                (cx + a, cy + b),
                (cx - a, cy + b),
                (cx - a, cy + a),
                (cx - b, cy + a),
                (cx - b, cy - a),
                (cx - a, cy - a),
            ];
            return Some((plus, false));
        }
        _ => return None,
    };
    Some((points, true))
}

/// The compensation marker (two "rewind" triangles) of width `2 * half` centred on
/// (`cx`, `cy`), drawn with `class` (`m` outline, `mf` filled).
pub(super) fn compensation_marker(out: &mut String, class: &str, cx: f64, cy: f64, half: f64) {
    let h = half * 0.7;
    polygon(out, class, &[(cx, cy - h), (cx, cy + h), (cx - half, cy)]);
    polygon(
        out,
        class,
        &[(cx + half, cy - h), (cx + half, cy + h), (cx, cy)],
    );
}

/// The marker inside a gateway diamond of the given size.
pub(super) fn gateway_marker(out: &mut String, marker: GatewayMarker, cx: f64, cy: f64, size: f64) {
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
            let points: Vec<(f64, f64)> = (0..5)
                .map(|i| {
                    let a =
                        -std::f64::consts::FRAC_PI_2 + i as f64 * 2.0 * std::f64::consts::PI / 5.0;
                    (cx + pr * a.cos(), cy + pr * a.sin())
                })
                .collect();
            polygon(out, "m", &points);
        }
        GatewayMarker::Complex => {
            // An asterisk: the parallel cross plus both diagonals.
            let d = 11.0 * k;
            let e = d * std::f64::consts::FRAC_1_SQRT_2;
            let _ = write!(
                out,
                "<path class=\"m\" style=\"stroke-width:3.5\" d=\"M{},{} L{},{} M{},{} L{},{} M{},{} L{},{} M{},{} L{},{}\"/>",
                n(cx - d),
                n(cy),
                n(cx + d),
                n(cy),
                n(cx),
                n(cy - d),
                n(cx),
                n(cy + d),
                n(cx - e),
                n(cy - e),
                n(cx + e),
                n(cy + e),
                n(cx - e),
                n(cy + e),
                n(cx + e),
                n(cy - e)
            );
        }
    }
}
