//! The document level: `<definitions>` with its root elements (messages, errors, signals,
//! escalations, processes), `<collaboration>` (pools and message flows) and the diagram
//! interchange (`bpmndi`) shapes and edges the cockpit draws.

use super::*;

impl Builder {
    pub(super) fn definitions(&mut self, root: &El) -> Definitions {
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

    pub(super) fn collaboration(&mut self, el: &El) -> Collaboration {
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

    pub(super) fn diagram(&mut self, el: &El) -> Diagram {
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
}

pub(super) fn num(v: Option<&str>) -> f64 {
    v.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|f| f.is_finite())
        .unwrap_or(0.0)
}

pub(super) fn bounds(b: Option<&El>) -> Bounds {
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

pub(super) fn label_bounds(el: &El) -> Option<Bounds> {
    el.child(Ns::BpmnDi, "BPMNLabel")
        .and_then(|l| l.child(Ns::Dc, "Bounds"))
        .map(|b| bounds(Some(b)))
}
