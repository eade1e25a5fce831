//! Tests of the SVG renderer: every DI element drawn once, everything inside the view box.

use super::labels::wrap;
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
    let defs = parse(include_str!(
        "../../../../tests/cockpit/fixtures/order.bpmn"
    ));
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
    let defs = parse(include_str!("../../../../examples/order/order.bpmn"));
    let d = diagram_for(&defs, "order").expect("diagram");
    check(&defs, d).expect("examples/order");
    let svg = render(&defs, d);
    assert!(svg.contains("data-element-id=\"ApproveOrder\""));
    assert!(svg.contains("data-element-id=\"Flow_Small\""));
}

#[test]
fn parse_fixtures_with_di_are_drawn() {
    let defs = parse(include_str!(
        "../../../../bpmn/tests/fixtures/parse/camunda7-order.bpmn"
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

/// The drawing of one element's group.
fn group<'s>(svg: &'s str, id: &str) -> &'s str {
    let needle = format!("data-element-id=\"{id}\"");
    let start = svg
        .find(&needle)
        .unwrap_or_else(|| panic!("{id} not drawn"));
    // Up to the next element's group (groups may nest icons of their own).
    let end = svg[start + needle.len()..]
        .find("data-element-id=\"")
        .map_or(svg.len(), |e| start + needle.len() + e);
    &svg[start..end]
}

#[test]
fn loop_compensation_transaction_and_complex_markers() {
    let xml = r##"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tx"/>
    <bpmn:transaction id="tx">
      <bpmn:startEvent id="ts"/>
      <bpmn:sequenceFlow id="f2" sourceRef="ts" targetRef="loopTask"/>
      <bpmn:userTask id="loopTask"><bpmn:standardLoopCharacteristics loopMaximum="3"/></bpmn:userTask>
      <bpmn:boundaryEvent id="comp" attachedToRef="loopTask"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
      <bpmn:task id="undo" isForCompensation="true"/>
      <bpmn:association id="a1" sourceRef="comp" targetRef="undo"/>
      <bpmn:sequenceFlow id="f3" sourceRef="loopTask" targetRef="cancel"/>
      <bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>
    </bpmn:transaction>
    <bpmn:boundaryEvent id="cancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="tx" targetRef="cx"/>
    <bpmn:complexGateway id="cx"/>
    <bpmn:sequenceFlow id="f5" sourceRef="cx" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:compensateEventDefinition/></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="pl" bpmnElement="p">
      <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="0" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="tx_di" bpmnElement="tx" isExpanded="true"><dc:Bounds x="80" y="20" width="400" height="250"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="ts_di" bpmnElement="ts"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="loopTask_di" bpmnElement="loopTask"><dc:Bounds x="180" y="78" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="comp_di" bpmnElement="comp"><dc:Bounds x="212" y="140" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="undo_di" bpmnElement="undo"><dc:Bounds x="300" y="170" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="cancel_di" bpmnElement="cancel"><dc:Bounds x="420" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="cancelled_di" bpmnElement="cancelled"><dc:Bounds x="300" y="252" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="cx_di" bpmnElement="cx"><dc:Bounds x="520" y="93" width="50" height="50"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="e_di" bpmnElement="e"><dc:Bounds x="620" y="100" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint xmlns:di="http://www.omg.org/spec/DD/20100524/DI" x="36" y="118"/><di:waypoint xmlns:di="http://www.omg.org/spec/DD/20100524/DI" x="80" y="118"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="a1_di" bpmnElement="a1"><di:waypoint xmlns:di="http://www.omg.org/spec/DD/20100524/DI" x="230" y="176"/><di:waypoint xmlns:di="http://www.omg.org/spec/DD/20100524/DI" x="300" y="210"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>"##;
    let defs = parse(xml);
    let d = diagram_for(&defs, "p").expect("diagram");
    check(&defs, d).expect("markers model");
    let svg = render(&defs, d);
    // Standard loop: the loop arrow (an arc plus its head).
    assert!(
        group(&svg, "loopTask").contains(" A6,6 "),
        "loop marker: {}",
        group(&svg, "loopTask")
    );
    // Compensation handler: two rewind triangles.
    assert_eq!(
        group(&svg, "undo").matches(" z\"").count(),
        2,
        "compensation marker"
    );
    // Transaction: two outlines.
    assert_eq!(
        group(&svg, "tx").matches("<rect").count(),
        2,
        "double border"
    );
    // Compensation events (boundary, end): the rewind marker, filled when throwing.
    assert_eq!(group(&svg, "comp").matches(" z\"").count(), 2);
    assert!(group(&svg, "e").contains("<path class=\"mf\""));
    // Cancel events and the complex gateway's asterisk.
    assert!(group(&svg, "cancel").contains("stroke-width:3"));
    assert_eq!(group(&svg, "cx").matches(" M").count(), 3, "four strokes");
}
