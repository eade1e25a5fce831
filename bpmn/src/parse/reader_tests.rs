//! Tests of the reader: fixtures and inline snippets -> exact model fields or exact problems.

use crate::expr::Expression;
use crate::model::*;
use crate::parse::{Parsed, Problem, Severity, parse};

pub(crate) const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">"#;

/// Wrap process content (starting on line 3) into a document.
pub(crate) fn doc(process_body: &str) -> String {
    format!(
        "{HEAD}\n<bpmn:process id=\"p\" isExecutable=\"true\">\n{process_body}\n</bpmn:process>\n</bpmn:definitions>"
    )
}

/// Wrap root elements (starting on line 2) into a document.
pub(crate) fn doc_root(root_body: &str) -> String {
    format!("{HEAD}\n{root_body}\n</bpmn:definitions>")
}

pub(crate) fn ok(xml: &str) -> Parsed {
    match parse(xml.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("rejected: {e}\n{xml}"),
    }
}

pub(crate) fn problems(xml: &str) -> Vec<Problem> {
    match parse(xml.as_bytes()) {
        Ok(p) => p.warnings,
        Err(e) => e.problems,
    }
}

/// Assert some problem has this severity, message fragment, element and position.
#[track_caller]
pub(crate) fn expect(
    xml: &str,
    severity: Severity,
    needle: &str,
    element: Option<&str>,
    line: u32,
    column: u32,
) {
    let all = problems(xml);
    let found = all.iter().any(|p| {
        p.severity == severity
            && p.message.contains(needle)
            && p.element_id.as_deref() == element
            && p.line == line
            && p.column == column
    });
    assert!(
        found,
        "no {severity:?} '{needle}' on {element:?} at {line}:{column}; got {all:#?}"
    );
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/parse/{name}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => panic!("{path}: {e}"),
    }
}

fn node<'a>(p: &'a Process, id: &str) -> &'a FlowNode {
    match p.node_by_id(id) {
        Some(i) => p.node(i),
        None => panic!("no node {id}"),
    }
}

fn src(e: &Option<Expression>) -> Option<&str> {
    e.as_ref().map(|e| e.source())
}

fn first_process(parsed: &Parsed) -> &Process {
    match parsed.definitions.processes.first() {
        Some(p) => p,
        None => panic!("no process"),
    }
}

#[test]
fn camunda7_fixture_reads_every_field() {
    let parsed = ok(&fixture("camunda7-order.bpmn"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let d = &parsed.definitions;
    assert_eq!(d.id.as_deref(), Some("Definitions_order"));
    assert_eq!(
        d.target_namespace.as_deref(),
        Some("http://bpmn.io/schema/bpmn")
    );
    let p = first_process(&parsed);
    assert_eq!(p.id, "order");
    assert_eq!(p.name.as_deref(), Some("Order"));
    assert!(p.is_executable);
    assert_eq!(p.version_tag.as_deref(), Some("1.2"));
    assert_eq!(p.history_time_to_live, Some(30));
    assert_eq!(p.candidate_starter_groups, vec!["sales", "management"]);
    assert!(p.startable_in_tasklist);
    assert_eq!(p.documentation.as_deref(), Some("Handles an order."));
    assert_eq!(p.position, Position { line: 3, column: 3 });

    let start = node(p, "start");
    assert_eq!(start.position, Position { line: 5, column: 5 });
    assert_eq!(start.activity_type(), "startEvent");
    let NodeKind::StartEvent { initiator, .. } = &start.kind else {
        panic!("{:?}", start.kind)
    };
    assert_eq!(initiator.as_deref(), Some("starter"));

    let charge = node(p, "charge");
    let NodeKind::ServiceTask(def) = &charge.kind else {
        panic!("{:?}", charge.kind)
    };
    assert_eq!(def.kind, ServiceKind::Service);
    assert_eq!(def.topic.source(), "charge-card");
    assert_eq!(src(&def.priority), Some("10"));
    assert!(charge.async_before);
    assert!(!charge.async_after);
    assert_eq!(charge.retry_time_cycle.as_deref(), Some("R3/PT10S"));
    assert_eq!(charge.properties, vec![("team".into(), "payments".into())]);
    assert_eq!(charge.io.inputs.len(), 1);
    assert_eq!(charge.io.inputs[0].name, "amount");
    assert!(
        matches!(&charge.io.inputs[0].value, IoValue::Expression(e) if e.source() == "${order.total}")
    );
    assert_eq!(charge.io.outputs[0].name, "receipt");
    assert_eq!(charge.boundary_events.len(), 2);
    assert_eq!(charge.incoming.len(), 1);
    assert_eq!(charge.outgoing.len(), 1);

    let declined = node(p, "card_declined");
    match &declined.kind {
        NodeKind::BoundaryEvent {
            attached_to,
            trigger:
                EventTrigger::Error {
                    code,
                    code_variable,
                    message_variable,
                },
            cancel_activity,
        } => {
            assert_eq!(p.node(*attached_to).id, "charge");
            assert_eq!(code.as_deref(), Some("CARD_DECLINED"));
            assert_eq!(code_variable.as_deref(), Some("code"));
            assert_eq!(message_variable.as_deref(), Some("msg"));
            assert!(*cancel_activity);
        }
        other => panic!("{other:?}"),
    }
    match &node(p, "charge_timeout").kind {
        NodeKind::BoundaryEvent {
            trigger: EventTrigger::Timer(TimerDefinition::Duration(e)),
            cancel_activity: false,
            ..
        } => assert_eq!(e.source(), "PT5M"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &node(p, "notify").kind,
        NodeKind::ServiceTask(ServiceTaskDef {
            kind: ServiceKind::Send,
            ..
        })
    ));
    assert!(matches!(
        node(p, "end_declined").kind,
        NodeKind::EndEvent {
            result: EventResult::Terminate
        }
    ));

    let gw = node(p, "big_order");
    let default = gw.default_flow.map(|f| p.flow(f).id.as_str());
    assert_eq!(default, Some("f_small"));
    assert_eq!(gw.outgoing.len(), 2);
    let big = p.flows.iter().find(|f| f.id == "f_big");
    assert_eq!(
        big.and_then(|f| src(&f.condition)),
        Some("${order.total > 1000}")
    );
    assert_eq!(big.map(|f| f.name.as_deref()), Some(Some("yes")));

    let NodeKind::UserTask(ut) = &node(p, "approve").kind else {
        panic!()
    };
    assert_eq!(src(&ut.assignee), Some("${manager}"));
    assert_eq!(src(&ut.candidate_groups), Some("managers"));
    assert_eq!(src(&ut.due_date), Some("${due}"));
    assert_eq!(src(&ut.priority), Some("70"));
    assert_eq!(
        ut.form_key.as_deref(),
        Some("embedded:app:forms/approve.html")
    );
    assert_eq!(ut.form_fields.len(), 1);
    let ff = &ut.form_fields[0];
    assert_eq!(ff.id, "approved");
    assert_eq!(ff.label.as_deref(), Some("Approved?"));
    assert_eq!(ff.type_name, "boolean");
    assert_eq!(src(&ff.default_value), Some("false"));
    assert!(ff.required);

    let ship = p.node_by_id("ship");
    let pack = node(p, "pack");
    assert_eq!(pack.scope, ship);
    let mi = match &pack.multi_instance {
        Some(mi) => mi,
        None => panic!("no multi-instance"),
    };
    assert!(!mi.sequential);
    assert_eq!(src(&mi.collection), Some("${items}"));
    assert_eq!(mi.element_variable.as_deref(), Some("item"));
    match &node(p, "wait_pickup").kind {
        NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Message { name },
        } => assert_eq!(name, "pickup"),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.none_start_events(ship).count(), 1);
    assert_eq!(p.none_start_events(None).count(), 1);

    let diagram = &d.diagrams[0];
    assert_eq!(diagram.plane_element.as_deref(), Some("order"));
    assert_eq!(diagram.shapes.len(), 2);
    assert_eq!(
        diagram.shapes[0].bounds,
        Bounds {
            x: 152.0,
            y: 102.0,
            width: 36.0,
            height: 36.0
        }
    );
    assert_eq!(diagram.shapes[0].label.map(|b| b.width), Some(78.0));
    assert_eq!(diagram.shapes[1].is_expanded, Some(true));
    assert_eq!(
        diagram.edges[0].waypoints,
        vec![Point { x: 188.0, y: 120.0 }, Point { x: 240.0, y: 120.0 }]
    );
    assert_eq!(
        d.errors[0].error_message.as_deref(),
        Some("card was declined")
    );
    assert_eq!(d.messages[0].name, "pickup");
}

#[test]
fn camunda8_fixture_reads_zeebe_extensions() {
    let parsed = ok(&fixture("camunda8-zeebe.bpmn"));
    let p = first_process(&parsed);
    let fetch = node(p, "fetch");
    let NodeKind::ServiceTask(def) = &fetch.kind else {
        panic!("{:?}", fetch.kind)
    };
    assert_eq!(def.topic.source(), "fetch-items");
    assert_eq!(src(&def.retries), Some("5"));
    assert_eq!(fetch.io.inputs[0].name, "orderId");
    assert!(
        matches!(&fetch.io.inputs[0].value, IoValue::Expression(e) if e.source() == "=order.id")
    );
    assert_eq!(fetch.io.outputs[0].name, "items");
    assert_eq!(
        fetch.properties,
        vec![("endpoint".into(), "https://example.invalid".into())]
    );
    let check = node(p, "check");
    let NodeKind::UserTask(ut) = &check.kind else {
        panic!()
    };
    assert_eq!(src(&ut.assignee), Some("=owner"));
    assert_eq!(src(&ut.candidate_groups), Some("clerks"));
    assert_eq!(
        ut.form_key.as_deref(),
        Some("camunda-forms:bpmn:check-form")
    );
    let mi = match &check.multi_instance {
        Some(mi) => mi,
        None => panic!(),
    };
    assert_eq!(src(&mi.collection), Some("=items"));
    assert_eq!(mi.element_variable.as_deref(), Some("item"));
    assert_eq!(mi.output_collection.as_deref(), Some("results"));
    assert_eq!(src(&mi.output_element), Some("=checked"));
    let cond = p
        .flows
        .iter()
        .find(|f| f.id == "f_big")
        .and_then(|f| src(&f.condition));
    assert_eq!(cond, Some("=count(items) > 10"));
    let NodeKind::CallActivity(ca) = &node(p, "sub").kind else {
        panic!()
    };
    assert_eq!(ca.called_element.source(), "child_process");
    assert!(matches!(ca.binding, CalledElementBinding::Latest));
}
