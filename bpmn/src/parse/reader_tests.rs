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

/// Each unsupported construct is named with its element id and position, as an error in an
/// executable process.
#[test]
fn standard_loops_and_complex_gateways_parse() {
    let xml = r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="l"/>
    <bpmn:task id="l"><bpmn:standardLoopCharacteristics testBefore="true" loopMaximum="5"><bpmn:loopCondition>${x}</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>
    <bpmn:sequenceFlow id="f2" sourceRef="l" targetRef="c"/>
    <bpmn:complexGateway id="c"><bpmn:activationCondition>${activationCount == 1}</bpmn:activationCondition></bpmn:complexGateway>
    <bpmn:sequenceFlow id="f3" sourceRef="c" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let parsed = crate::parse(xml.as_bytes()).expect("parses");
    let p = parsed
        .definitions
        .executable_processes()
        .next()
        .expect("process");
    let l = p.node(p.node_by_id("l").expect("l"));
    let sl = l.standard_loop.as_ref().expect("standard loop");
    assert!(sl.test_before);
    assert_eq!(sl.loop_maximum, Some(5));
    assert!(sl.loop_condition.is_some());
    let c = p.node(p.node_by_id("c").expect("c"));
    assert!(matches!(
        &c.kind,
        crate::model::NodeKind::ComplexGateway {
            activation_condition: Some(_)
        }
    ));
    let bad = xml.replace(r#"loopMaximum="5""#, r#"loopMaximum="-1""#);
    let err = crate::parse(bad.as_bytes()).expect_err("negative loopMaximum");
    assert!(err.to_string().contains("loopMaximum '-1'"), "{err}");
}

#[test]
fn unsupported_constructs_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"<bpmn:scriptTask id="s" scriptFormat="groovy"><bpmn:script>x</bpmn:script></bpmn:scriptTask>"#,
            "s",
            "is written in 'groovy', which baton does not run: supported script languages are javascript (or ecmascript, js), juel, feel",
        ),
        (
            r#"<bpmn:intermediateThrowEvent id="c"><bpmn:cancelEventDefinition /></bpmn:intermediateThrowEvent>"#,
            "c",
            "cancel events are not supported",
        ),
        (
            r#"<bpmn:intermediateCatchEvent id="c"><bpmn:compensateEventDefinition /></bpmn:intermediateCatchEvent>"#,
            "c",
            "compensation events are not supported",
        ),
        (
            r#"<bpmn:adHocSubProcess id="a" />"#,
            "a",
            "ad-hoc subprocesses are not supported",
        ),
        (
            r#"<bpmn:serviceTask id="j"><bpmn:extensionElements><camunda:connector><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>"#,
            "j",
            "connectors (camunda:connector) are not supported: baton supports external tasks",
        ),
        (
            r#"<bpmn:businessRuleTask id="j" camunda:decisionRef="dish" camunda:mapDecisionResult="firstOne" />"#,
            "j",
            "No decision result mapper found for name 'firstOne'. Supported mappers are 'singleEntry', 'singleResult', 'collectEntries' and 'resultList'.",
        ),
        (
            r#"<bpmn:businessRuleTask id="j" camunda:decisionRef="dish" camunda:decisionRefBinding="version" />"#,
            "j",
            "Missing attribute 'decisionRefVersion' when 'decisionRefBinding' has value 'version'",
        ),
        (
            r#"<bpmn:serviceTask id="j" camunda:type="mail" />"#,
            "j",
            "camunda:type=\"mail\" is not supported",
        ),
        (
            r#"<bpmn:startEvent id="m"><bpmn:signalEventDefinition signalRef="s" /><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>"#,
            "m",
            "timerEventDefinition in a multiple event is not supported",
        ),
        (
            r#"<bpmn:choreographyTask id="q" />"#,
            "q",
            "unknown BPMN element <bpmn:choreographyTask> is not supported",
        ),
    ];
    for (body, id, needle) in cases {
        expect(&doc(body), Severity::Error, needle, Some(id), 4, 1);
    }
}

/// Java and script listeners are refused at the listener's own line:column, naming it and
/// saying why; so are task listener events the state machine never sees.
#[test]
fn unsupported_listeners_point_at_the_listener() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"<bpmn:task id="x"><bpmn:extensionElements><camunda:executionListener class="a.B" event="start" /></bpmn:extensionElements></bpmn:task>"#,
            "x",
            "task 'x' camunda:executionListener (event \"start\") calls a Java class ('a.B'), which is not supported: a listener runs inside the step that fires it and cannot wait for a remote worker",
        ),
        (
            r#"<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener event="create" delegateExpression="${b}" /></bpmn:extensionElements></bpmn:userTask>"#,
            "x",
            "calls a Java delegate expression ('${b}')",
        ),
        (
            r#"<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener event="create"><camunda:script scriptFormat="groovy">x</camunda:script></camunda:taskListener></bpmn:extensionElements></bpmn:userTask>"#,
            "x",
            "is written in 'groovy', which baton does not run",
        ),
        (
            r#"<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener event="timeout" expression="${a}" /></bpmn:extensionElements></bpmn:userTask>"#,
            "x",
            "(event \"timeout\") needs a timerEventDefinition",
        ),
        (
            r#"<bpmn:task id="x"><bpmn:extensionElements><camunda:executionListener event="take" expression="${a}" /></bpmn:extensionElements></bpmn:task>"#,
            "x",
            "event \"take\" is not valid here (use \"start\" or \"end\")",
        ),
        (
            r#"<bpmn:task id="x"><bpmn:extensionElements><camunda:executionListener event="start" expression="${a +}" /></bpmn:extensionElements></bpmn:task>"#,
            "x",
            "invalid expression '${a +}'",
        ),
    ];
    for (body, id, needle) in cases {
        // Script problems point at the camunda:script element inside the listener.
        let at = if needle.contains("groovy") {
            "<camunda:script"
        } else {
            "<camunda:"
        };
        let column = body.find(at).map_or(1, |c| c as u32 + 1);
        expect(&doc(body), Severity::Error, needle, Some(id), 4, column);
    }
}

/// Expression implementations run in the engine; Java delegates become external tasks on the
/// topic named after them.
#[test]
fn expression_tasks_and_java_delegates_deploy() {
    let xml = doc(
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e1" />
<bpmn:serviceTask id="e1" camunda:expression="${a + 1}" camunda:resultVariable="r"><bpmn:extensionElements><camunda:executionListener event="end" expression="${execution.setVariable('x', 1)}" /></bpmn:extensionElements></bpmn:serviceTask><bpmn:sequenceFlow id="f2" sourceRef="e1" targetRef="j1" />
<bpmn:serviceTask id="j1" camunda:class="com.acme.CheckStockDelegate" /><bpmn:sequenceFlow id="f3" sourceRef="j1" targetRef="j2" />
<bpmn:sendTask id="j2" camunda:delegateExpression="${mailer}" /><bpmn:sequenceFlow id="f4" sourceRef="j2" targetRef="u" />
<bpmn:userTask id="u"><bpmn:extensionElements><camunda:taskListener event="create" expression="${task.setAssignee('kermit')}" /></bpmn:extensionElements></bpmn:userTask><bpmn:sequenceFlow id="f5" sourceRef="u" targetRef="end" />
<bpmn:endEvent id="end" />"#,
    );
    let parsed = match crate::parse(xml.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let p = first_process(&parsed);
    let NodeKind::ServiceTask(e1) = &node(p, "e1").kind else {
        panic!("e1")
    };
    let imp = e1.expression.as_ref().expect("expression");
    assert_eq!(imp.expression.source(), "${a + 1}");
    assert_eq!(imp.result_variable.as_deref(), Some("r"));
    assert_eq!(node(p, "e1").listeners.len(), 1);
    for (id, topic) in [("j1", "com.acme.CheckStockDelegate"), ("j2", "mailer")] {
        let NodeKind::ServiceTask(d) = &node(p, id).kind else {
            panic!("{id}")
        };
        assert_eq!(d.topic.source(), topic);
        assert!(d.expression.is_none());
    }
    let NodeKind::UserTask(u) = &node(p, "u").kind else {
        panic!("u")
    };
    assert_eq!(u.task_listeners.len(), 1);
}

#[test]
fn script_conditions_in_unsupported_languages_are_rejected() {
    let xml = doc(r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="python">x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:endEvent id="e" />"#);
    let column = xml
        .lines()
        .nth(4)
        .and_then(|l| l.find("<bpmn:conditionExpression"))
        .map_or(1, |c| c as u32 + 1);
    expect(
        &xml,
        Severity::Error,
        "conditionExpression is written in 'python', which baton does not run",
        Some("f"),
        5,
        column,
    );
}

/// Script tasks, script listeners, camunda:script values and script conditions deploy: JavaScript
/// as script expressions (run by the host), juel/feel as expressions, resources from the
/// deployment.
#[test]
fn scripts_deploy_in_every_place() {
    let xml = doc(
        r#"<bpmn:startEvent id="s" /><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="js" />
<bpmn:scriptTask id="js" scriptFormat="JavaScript" camunda:resultVariable="sum"><bpmn:script>a + b</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f2" sourceRef="js" targetRef="ju" />
<bpmn:scriptTask id="ju" scriptFormat="juel" camunda:resultVariable="j"><bpmn:script>a * 2</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f3" sourceRef="ju" targetRef="fe" />
<bpmn:scriptTask id="fe" scriptFormat="feel"><bpmn:script>a + 1</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f4" sourceRef="fe" targetRef="res" />
<bpmn:scriptTask id="res" scriptFormat="js" camunda:resource="deployment://calc.js" /><bpmn:sequenceFlow id="f5" sourceRef="res" targetRef="u" />
<bpmn:userTask id="u"><bpmn:extensionElements><camunda:taskListener event="create"><camunda:script scriptFormat="javascript">task.setAssignee('kermit')</camunda:script></camunda:taskListener>
<camunda:executionListener event="start"><camunda:script scriptFormat="js" resource="calc.js" /></camunda:executionListener>
<camunda:inputOutput><camunda:inputParameter name="v"><camunda:script scriptFormat="ecmascript">a * 3</camunda:script></camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f6" sourceRef="u" targetRef="end"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">a &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:endEvent id="end" />"#,
    );
    let mut options = crate::parse::ParseOptions::default();
    options
        .resources
        .insert("calc.js".into(), "execution.setVariable('c', 1)".into());
    let parsed = match crate::parse::parse_with(xml.as_bytes(), &options) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let p = first_process(&parsed);
    let imp = |id: &str| match &node(p, id).kind {
        NodeKind::ServiceTask(d) => {
            assert_eq!(d.kind, ServiceKind::Script, "{id}");
            d.expression.clone().expect("script")
        }
        other => panic!("{id}: {other:?}"),
    };
    let js = imp("js");
    assert_eq!(js.expression.language(), crate::expr::Language::JavaScript);
    assert_eq!(js.expression.source(), "a + b");
    assert_eq!(js.result_variable.as_deref(), Some("sum"));
    assert_eq!(imp("ju").expression.language(), crate::expr::Language::Juel);
    assert_eq!(imp("ju").expression.source(), "${a * 2}");
    assert_eq!(imp("fe").expression.language(), crate::expr::Language::Feel);
    assert_eq!(
        imp("res").expression.source(),
        "execution.setVariable('c', 1)"
    );
    assert_eq!(node(p, "js").activity_type(), "scriptTask");
    let NodeKind::UserTask(u) = &node(p, "u").kind else {
        panic!("u")
    };
    assert_eq!(
        u.task_listeners[0].expression.source(),
        "task.setAssignee('kermit')"
    );
    assert_eq!(
        node(p, "u").listeners[0].expression.source(),
        "execution.setVariable('c', 1)"
    );
    // Without the resource, the deployment is refused naming it.
    let e = crate::parse::parse(xml.as_bytes()).expect_err("missing resource");
    assert!(
        e.to_string().contains(
            "camunda:resource 'deployment://calc.js' is not a resource of this deployment"
        ),
        "{e}"
    );
}

/// A JavaScript syntax error is a deploy error at the script's own line:column in the file.
#[test]
fn javascript_syntax_errors_point_into_the_file() {
    let xml = doc(
        "<bpmn:startEvent id=\"s\" /><bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"js\" />\n<bpmn:scriptTask id=\"js\" scriptFormat=\"javascript\"><bpmn:script><![CDATA[var a = 1;\nvar b = ;]]></bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id=\"f2\" sourceRef=\"js\" targetRef=\"end\" />\n<bpmn:endEvent id=\"end\" />",
    );
    // A stand-in for the host's interpreter: the error is at script line 2, column 9.
    let options = crate::parse::ParseOptions {
        check_javascript: Some(std::sync::Arc::new(|src: &str| {
            if src.contains("= ;") {
                Err(crate::parse::ScriptSyntaxError {
                    message: "SyntaxError: unexpected token ';'".into(),
                    line: 2,
                    column: 9,
                })
            } else {
                Ok(())
            }
        })),
        ..Default::default()
    };
    let e = crate::parse::parse_with(xml.as_bytes(), &options).expect_err("syntax error");
    let p = &e.problems[0];
    assert!(
        p.message.contains(
            "JavaScript syntax error at script line 2, column 9: SyntaxError: unexpected token ';'"
        ),
        "{}",
        p.message
    );
    assert_eq!((p.line, p.column), (6, 9), "{p:?}");
    assert_eq!(p.element_id.as_deref(), Some("js"));
}

/// Vendor extensions in other namespaces are ignored; unsupported constructs in a
/// non-executable process are only warnings.
#[test]
fn foreign_extensions_ignored_and_non_executable_warns() {
    let xml = format!(
        "{HEAD}\n<bpmn:process id=\"p\" isExecutable=\"false\" xmlns:v=\"urn:vendor\">\n<v:thing id=\"v1\"/>\n<bpmn:scriptTask id=\"s\" />\n</bpmn:process>\n</bpmn:definitions>"
    );
    let parsed = ok(&xml);
    assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
    expect(
        &xml,
        Severity::Warning,
        "scriptTask 's' script has no scriptFormat",
        Some("s"),
        5,
        1,
    );
    expect(
        &xml,
        Severity::Warning,
        "has no start event",
        Some("p"),
        3,
        1,
    );
}

#[test]
fn namespaces_resolve_by_uri_and_by_default_namespace() {
    // Odd prefixes, BPMN as default namespace, camunda bound to `c`.
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:c="http://camunda.org/schema/1.0/bpmn" xmlns:q="http://camunda.org/schema/zeebe/1.0">
  <process id="p" isExecutable="true">
    <startEvent id="s" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="a" />
    <serviceTask id="a" c:type="external" c:topic="t1" />
    <sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <serviceTask id="b"><extensionElements><q:taskDefinition type="t2" /></extensionElements></serviceTask>
    <sequenceFlow id="f3" sourceRef="b" targetRef="e" />
    <endEvent id="e" />
  </process>
</definitions>"#;
    let parsed = ok(xml);
    let p = first_process(&parsed);
    for (id, topic) in [("a", "t1"), ("b", "t2")] {
        match &node(p, id).kind {
            NodeKind::ServiceTask(def) => assert_eq!(def.topic.source(), topic),
            other => panic!("{other:?}"),
        }
    }
    // bpmn2: prefix and an undeclared camunda: prefix.
    let xml2 = r#"<bpmn2:definitions xmlns:bpmn2="http://www.omg.org/spec/BPMN/20100524/MODEL">
<bpmn2:process id="p"><bpmn2:startEvent id="s"/><bpmn2:sequenceFlow id="f" sourceRef="s" targetRef="a"/><bpmn2:serviceTask id="a" camunda:type="external" camunda:topic="x"/><bpmn2:sequenceFlow id="g" sourceRef="a" targetRef="e"/><bpmn2:endEvent id="e"/></bpmn2:process></bpmn2:definitions>"#;
    let parsed = ok(xml2);
    assert!(matches!(
        node(first_process(&parsed), "a").kind,
        NodeKind::ServiceTask(_)
    ));
}

#[test]
fn not_bpmn_documents_are_rejected_with_position() {
    let cases: &[(&str, &str, u32, u32)] = &[
        ("", "empty", 1, 1),
        (
            "<html><body/></html>",
            "not a BPMN 2.0 document: the root element is <html>",
            1,
            1,
        ),
        (
            "<?xml version=\"1.0\"?>\n<definitions xmlns=\"urn:other\"/>",
            "not a BPMN 2.0 document",
            2,
            1,
        ),
        (
            "<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <bpmn:process id=\"p\">\n",
            "truncated",
            2,
            3,
        ),
        ("<a>\n  <b>\n</a>", "not well-formed", 3, 1),
    ];
    for (xml, needle, line, column) in cases {
        let Err(e) = parse(xml.as_bytes()) else {
            panic!("accepted {xml}")
        };
        let p = &e.problems[0];
        assert!(p.message.contains(needle), "{needle}: {p}");
        assert_eq!((p.line, p.column), (*line, *column), "{needle}: {p}");
        assert_eq!(p.element_id, None);
    }
    let Err(e) = parse(b"<?xml version=\"1.0\"?>\xc3\x28") else {
        panic!("accepted bad UTF-8")
    };
    assert!(e.problems[0].message.contains("not valid UTF-8"));
}

#[test]
fn references_resolve_or_are_reported() {
    let root = r#"<bpmn:message id="M" name="order-placed" />
<bpmn:signal id="S" name="alarm" />
<bpmn:error id="E" errorCode="E1" />
<bpmn:escalation id="X" escalationCode="X1" />
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="tns:M" /></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sig" />
<bpmn:intermediateThrowEvent id="sig"><bpmn:signalEventDefinition signalRef="S" /></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="f2" sourceRef="sig" targetRef="esc" />
<bpmn:intermediateThrowEvent id="esc"><bpmn:escalationEventDefinition escalationRef="X" /></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="f3" sourceRef="esc" targetRef="e" />
<bpmn:endEvent id="e"><bpmn:errorEventDefinition errorRef="E" /></bpmn:endEvent>
</bpmn:process>"#;
    let parsed = ok(&doc_root(root));
    let p = first_process(&parsed);
    assert!(
        matches!(&node(p, "s").kind, NodeKind::StartEvent { trigger: EventTrigger::Message { name }, .. } if name == "order-placed")
    );
    assert!(
        matches!(&node(p, "sig").kind, NodeKind::IntermediateThrowEvent { result: EventResult::Signal { name } } if name == "alarm")
    );
    assert!(
        matches!(&node(p, "esc").kind, NodeKind::IntermediateThrowEvent { result: EventResult::Escalation { code } } if code == "X1")
    );
    assert!(
        matches!(&node(p, "e").kind, NodeKind::EndEvent { result: EventResult::Error { code, .. } } if code == "E1")
    );
    assert_eq!(node(p, "e").activity_type(), "errorEndEvent");

    let cases: &[(&str, &str, &str)] = &[
        (
            r#"<bpmn:startEvent id="x"><bpmn:messageEventDefinition messageRef="nope" /></bpmn:startEvent>"#,
            "x",
            "messageRef 'nope' names no <message>",
        ),
        (
            r#"<bpmn:intermediateThrowEvent id="x"><bpmn:signalEventDefinition signalRef="nope" /></bpmn:intermediateThrowEvent>"#,
            "x",
            "signalRef 'nope' names no <signal>",
        ),
        (
            r#"<bpmn:endEvent id="x"><bpmn:errorEventDefinition errorRef="nope" /></bpmn:endEvent>"#,
            "x",
            "errorRef 'nope' names no <error>",
        ),
        (
            r#"<bpmn:endEvent id="x"><bpmn:escalationEventDefinition escalationRef="nope" /></bpmn:endEvent>"#,
            "x",
            "escalationRef 'nope' names no <escalation>",
        ),
        (
            r#"<bpmn:boundaryEvent id="x" attachedToRef="nope" />"#,
            "x",
            "attachedToRef 'nope' is not an activity of this process",
        ),
        (
            r#"<bpmn:sequenceFlow id="x" sourceRef="nope" targetRef="e" />"#,
            "x",
            "sourceRef 'nope' is not a flow node of this process",
        ),
        (
            r#"<bpmn:exclusiveGateway id="x" default="nope" />"#,
            "x",
            "default flow 'nope' is not a sequence flow of this process",
        ),
        (
            r#"<bpmn:task id="s" />"#,
            "s",
            "duplicate id (first used at 4:1)",
        ),
        (r#"<bpmn:task />"#, "", "<bpmn:task> has no id attribute"),
    ];
    for (body, id, needle) in cases {
        let xml = doc(&format!("<bpmn:startEvent id=\"s\" />\n{body}"));
        let element = (!id.is_empty()).then_some(*id);
        expect(&xml, Severity::Error, needle, element, 5, 1);
    }
}

#[test]
fn event_definitions_map_to_triggers() {
    let root = r#"<bpmn:signal id="S" name="alarm" />
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="t1"><bpmn:timerEventDefinition><bpmn:timeDate>2026-01-01T10:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:startEvent>
<bpmn:startEvent id="t2"><bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R3/PT10S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
<bpmn:startEvent id="sg"><bpmn:signalEventDefinition signalRef="S" /></bpmn:startEvent>
<bpmn:intermediateCatchEvent id="c"><bpmn:conditionalEventDefinition camunda:variableName="x"><bpmn:condition xsi:type="bpmn:tFormalExpression">${x &gt; 5}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="lc"><bpmn:linkEventDefinition name="L" /></bpmn:intermediateCatchEvent>
<bpmn:intermediateThrowEvent id="lt"><bpmn:linkEventDefinition name="L" /></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="f" sourceRef="c" targetRef="lt" />
<bpmn:sequenceFlow id="g" sourceRef="lc" targetRef="e" />
<bpmn:sequenceFlow id="h" sourceRef="t1" targetRef="e" />
<bpmn:sequenceFlow id="i" sourceRef="t2" targetRef="e" />
<bpmn:sequenceFlow id="j" sourceRef="sg" targetRef="c" />
<bpmn:endEvent id="e" />
</bpmn:process>"#;
    let parsed = ok(&doc_root(root));
    let p = first_process(&parsed);
    assert!(
        matches!(&node(p, "t1").kind, NodeKind::StartEvent { trigger: EventTrigger::Timer(TimerDefinition::Date(e)), .. } if e.source() == "2026-01-01T10:00:00Z")
    );
    assert!(
        matches!(&node(p, "t2").kind, NodeKind::StartEvent { trigger: EventTrigger::Timer(TimerDefinition::Cycle(e)), .. } if e.source() == "R3/PT10S")
    );
    assert_eq!(node(p, "t2").activity_type(), "startTimerEvent");
    assert_eq!(node(p, "sg").activity_type(), "signalStartEvent");
    match &node(p, "c").kind {
        NodeKind::IntermediateCatchEvent {
            trigger:
                EventTrigger::Conditional {
                    condition,
                    variable_name,
                },
        } => {
            assert_eq!(condition.source(), "${x > 5}");
            assert_eq!(variable_name.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&node(p, "lc").kind, NodeKind::IntermediateCatchEvent { trigger: EventTrigger::Link { name } } if name == "L")
    );
    assert!(
        matches!(&node(p, "lt").kind, NodeKind::IntermediateThrowEvent { result: EventResult::Link { name } } if name == "L")
    );
}

#[test]
fn message_throw_with_topic_is_an_external_task() {
    let root = r#"<bpmn:message id="M" name="shipped" />
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:intermediateThrowEvent id="t"><bpmn:messageEventDefinition messageRef="M" camunda:type="external" camunda:topic="send-mail" /></bpmn:intermediateThrowEvent>
<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e" />
<bpmn:endEvent id="e"><bpmn:messageEventDefinition /></bpmn:endEvent>
</bpmn:process>"#;
    let parsed = ok(&doc_root(root));
    let p = first_process(&parsed);
    match &node(p, "t").kind {
        NodeKind::IntermediateThrowEvent {
            result:
                EventResult::Message {
                    name,
                    task: Some(task),
                },
        } => {
            assert_eq!(name.as_deref(), Some("shipped"));
            assert_eq!(task.kind, ServiceKind::MessageThrow);
            assert_eq!(task.topic.source(), "send-mail");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &node(p, "e").kind,
        NodeKind::EndEvent {
            result: EventResult::Message {
                name: None,
                task: None
            }
        }
    ));
}

fn one_task(body: &str) -> FlowNode {
    let xml = doc(&format!(
        "<bpmn:startEvent id=\"s\" />\n<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"x\" />\n{body}\n<bpmn:sequenceFlow id=\"g\" sourceRef=\"x\" targetRef=\"e\" />\n<bpmn:endEvent id=\"e\" />"
    ));
    let parsed = ok(&xml);
    node(first_process(&parsed), "x").clone()
}

#[test]
fn input_output_mappings() {
    let n = one_task(
        r#"<bpmn:task id="x"><bpmn:extensionElements><camunda:inputOutput>
<camunda:inputParameter name="empty" />
<camunda:inputParameter name="text">  hello  </camunda:inputParameter>
<camunda:inputParameter name="list"><camunda:list><camunda:value>a</camunda:value><camunda:value>${b}</camunda:value><camunda:list><camunda:value>n</camunda:value></camunda:list></camunda:list></camunda:inputParameter>
<camunda:inputParameter name="map"><camunda:map><camunda:entry key="k1">v1</camunda:entry><camunda:entry key="k2" /></camunda:map></camunda:inputParameter>
<camunda:outputParameter name="out">${result}</camunda:outputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:task>"#,
    );
    let ins = &n.io.inputs;
    assert_eq!(ins.len(), 4);
    assert!(matches!(ins[0].value, IoValue::Null));
    assert!(matches!(&ins[1].value, IoValue::Expression(e) if e.source() == "hello"));
    match &ins[2].value {
        IoValue::List(items) => {
            assert_eq!(items.len(), 3);
            assert!(matches!(&items[1], IoValue::Expression(e) if e.source() == "${b}"));
            assert!(matches!(&items[2], IoValue::List(inner) if inner.len() == 1));
        }
        other => panic!("{other:?}"),
    }
    match &ins[3].value {
        IoValue::Map(entries) => {
            assert_eq!(entries[0].0, "k1");
            assert!(matches!(&entries[0].1, IoValue::Expression(e) if e.source() == "v1"));
            assert!(matches!(entries[1].1, IoValue::Null));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(n.io.outputs[0].name, "out");
}

#[test]
fn async_flags_and_properties() {
    let n = one_task(
        r#"<bpmn:task id="x" camunda:async="true" camunda:asyncAfter="true"><bpmn:documentation>doc</bpmn:documentation><bpmn:extensionElements><camunda:properties><camunda:property name="a" value="1" /></camunda:properties><zeebe:properties><zeebe:property name="b" value="2" /></zeebe:properties></bpmn:extensionElements></bpmn:task>"#,
    );
    assert!(n.async_before && n.async_after);
    assert_eq!(
        n.properties,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    assert_eq!(n.documentation.as_deref(), Some("doc"));
}

#[test]
fn external_task_error_event_definitions() {
    let xml = doc_root(
        r#"<bpmn:error id="E" errorCode="BAD" camunda:errorMessage="bad thing" />
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="x" />
<bpmn:serviceTask id="x" camunda:type="external" camunda:topic="t"><bpmn:extensionElements><camunda:errorEventDefinition id="d1" errorRef="E" expression="${result == 'bad'}" /></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:sequenceFlow id="g" sourceRef="x" targetRef="e" />
<bpmn:endEvent id="e" />
</bpmn:process>"#,
    );
    let parsed = ok(&xml);
    let NodeKind::ServiceTask(def) = &node(first_process(&parsed), "x").kind else {
        panic!()
    };
    let d = &def.error_event_definitions[0];
    assert_eq!(d.id, "d1");
    assert_eq!(d.error_code, "BAD");
    assert_eq!(d.error_message.as_deref(), Some("bad thing"));
    assert_eq!(d.expression.source(), "${result == 'bad'}");
}

#[test]
fn form_fields_constraints_and_enums() {
    let n = one_task(
        r#"<bpmn:userTask id="x" camunda:candidateUsers="a,b" camunda:followUpDate="${f}"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="size" label="Size" type="enum" defaultValue="m"><camunda:value id="s" name="Small" /><camunda:value id="m" name="Medium" /></camunda:formField>
<camunda:formField id="name"><camunda:validation><camunda:constraint name="readonly" /><camunda:constraint name="maxlength" config="25" /></camunda:validation></camunda:formField>
</camunda:formData></bpmn:extensionElements></bpmn:userTask>"#,
    );
    let NodeKind::UserTask(ut) = &n.kind else {
        panic!()
    };
    assert_eq!(src(&ut.candidate_users), Some("a,b"));
    assert_eq!(src(&ut.follow_up_date), Some("${f}"));
    let size = &ut.form_fields[0];
    assert_eq!(size.type_name, "enum");
    assert_eq!(
        size.enum_values,
        vec![
            ("s".into(), Some("Small".into())),
            ("m".into(), Some("Medium".into()))
        ]
    );
    let name = &ut.form_fields[1];
    assert_eq!(name.type_name, "string");
    assert!(name.readonly && !name.required);
    assert_eq!(
        name.constraints,
        vec![("maxlength".into(), Some("25".into()))]
    );
}

#[test]
fn call_activity_bindings_and_mappings() {
    let n = one_task(
        r##"<bpmn:callActivity id="x" calledElement="child" camunda:calledElementBinding="version" camunda:calledElementVersion="3"><bpmn:extensionElements>
<camunda:in businessKey="#{execution.processBusinessKey}" />
<camunda:in variables="all" local="true" />
<camunda:in source="a" target="b" />
<camunda:out sourceExpression="${x + 1}" target="y" />
</bpmn:extensionElements></bpmn:callActivity>"##,
    );
    let NodeKind::CallActivity(ca) = &n.kind else {
        panic!()
    };
    assert_eq!(ca.called_element.source(), "child");
    assert!(matches!(&ca.binding, CalledElementBinding::Version(e) if e.source() == "3"));
    assert!(
        matches!(&ca.inputs[0], CallMapping::BusinessKey(e) if e.source() == "#{execution.processBusinessKey}")
    );
    assert!(matches!(ca.inputs[1], CallMapping::All { local: true }));
    assert!(
        matches!(&ca.inputs[2], CallMapping::Source { source, target } if source == "a" && target == "b")
    );
    assert!(
        matches!(&ca.outputs[0], CallMapping::Expression { source, target } if source.source() == "${x + 1}" && target == "y")
    );
    for (binding, check) in [
        ("deployment", "Deployment"),
        (
            "versionTag\" camunda:calledElementVersionTag=\"v2",
            "VersionTag",
        ),
    ] {
        let n = one_task(&format!(
            r#"<bpmn:callActivity id="x" calledElement="child" camunda:calledElementBinding="{binding}" />"#
        ));
        let NodeKind::CallActivity(ca) = &n.kind else {
            panic!()
        };
        assert!(
            format!("{:?}", ca.binding).starts_with(check),
            "{:?}",
            ca.binding
        );
    }
}

#[test]
fn multi_instance_variants() {
    let n = one_task(
        r#"<bpmn:task id="x"><bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${svc.list()}"><bpmn:loopCardinality>5</bpmn:loopCardinality><bpmn:completionCondition>${done}</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics></bpmn:task>"#,
    );
    let mi = n.multi_instance.as_ref();
    assert_eq!(mi.map(|m| m.sequential), Some(true));
    assert_eq!(mi.and_then(|m| src(&m.collection)), Some("${svc.list()}"));
    assert_eq!(mi.and_then(|m| src(&m.loop_cardinality)), Some("5"));
    assert_eq!(
        mi.and_then(|m| src(&m.completion_condition)),
        Some("${done}")
    );
    let n = one_task(
        r#"<bpmn:task id="x"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>users</bpmn:loopDataInputRef><bpmn:inputDataItem name="user" /></bpmn:multiInstanceLoopCharacteristics></bpmn:task>"#,
    );
    let mi = n.multi_instance.as_ref();
    assert_eq!(mi.and_then(|m| src(&m.collection)), Some("${users}"));
    assert_eq!(mi.and_then(|m| m.element_variable.as_deref()), Some("user"));
}

#[test]
fn process_attributes_lanes_artifacts_collaboration() {
    let xml = doc_root(
        r#"<bpmn:collaboration id="c"><bpmn:participant id="pool" name="Pool" processRef="p" /><bpmn:participant id="ext" name="Customer" /><bpmn:messageFlow id="mf" sourceRef="ext" targetRef="s" /></bpmn:collaboration>
<bpmn:process id="p" isExecutable="true" camunda:historyTimeToLive="P7D" camunda:candidateStarterUsers="u1" camunda:isStartableInTasklist="false" camunda:taskPriority="${prio}">
<bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Lane 1"><bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:childLaneSet id="cls"><bpmn:lane id="l2"><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
<bpmn:endEvent id="e" />
<bpmn:textAnnotation id="ta"><bpmn:text>Note</bpmn:text></bpmn:textAnnotation>
<bpmn:association id="as" sourceRef="s" targetRef="ta" />
<bpmn:dataObjectReference id="dor" name="Order" dataObjectRef="do" />
<bpmn:dataObject id="do" />
<bpmn:dataStoreReference id="ds" name="DB" />
<bpmn:group id="g" />
</bpmn:process>"#,
    );
    let parsed = ok(&xml);
    let p = first_process(&parsed);
    assert_eq!(p.history_time_to_live, Some(7));
    assert_eq!(p.candidate_starter_users, vec!["u1"]);
    assert!(!p.startable_in_tasklist);
    assert_eq!(src(&p.task_priority), Some("${prio}"));
    assert_eq!(p.lanes.len(), 2);
    assert_eq!(p.lanes[0].flow_node_refs, vec!["s"]);
    assert_eq!(p.lanes[1].parent_lane.as_deref(), Some("l1"));
    let kinds: Vec<_> = p
        .artifacts
        .iter()
        .map(|a| (a.id.as_str(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ta", ArtifactKind::TextAnnotation),
            ("as", ArtifactKind::Association),
            ("dor", ArtifactKind::DataObject),
            ("do", ArtifactKind::DataObject),
            ("ds", ArtifactKind::DataStore),
            ("g", ArtifactKind::Group),
        ]
    );
    assert_eq!(p.artifacts[0].text.as_deref(), Some("Note"));
    assert_eq!(p.artifacts[1].target_ref.as_deref(), Some("ta"));
    let c = parsed.definitions.collaboration.as_ref();
    assert_eq!(c.map(|c| c.participants.len()), Some(2));
    assert_eq!(
        c.and_then(|c| c.participants[0].process_ref.as_deref()),
        Some("p")
    );
    assert_eq!(c.map(|c| c.message_flows[0].target_ref.as_str()), Some("s"));
}

#[test]
fn malformed_expressions_are_reported_where_they_are_written() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"<bpmn:userTask id="x" camunda:assignee="${a +}" />"#,
            "x",
            "userTask 'x': invalid expression in assignee '${a +}'",
        ),
        (
            r#"<bpmn:serviceTask id="x" camunda:type="external" camunda:topic="${(}" />"#,
            "x",
            "invalid expression in camunda:topic",
        ),
        (
            r#"<bpmn:task id="x"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${1 +* 2}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>"#,
            "x",
            "invalid expression in loopCardinality",
        ),
        (
            r#"<bpmn:task id="x"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=a +" target="b" /></zeebe:ioMapping></bpmn:extensionElements></bpmn:task>"#,
            "x",
            "invalid expression in zeebe:input",
        ),
    ];
    for (body, id, needle) in cases {
        expect(&doc(body), Severity::Error, needle, Some(id), 4, 1);
    }
    let flow = doc(r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"><bpmn:conditionExpression>${a &lt;}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:endEvent id="e" />"#);
    expect(
        &flow,
        Severity::Error,
        "sequenceFlow 'f': invalid expression in conditionExpression '${a <}'",
        Some("f"),
        5,
        1,
    );
}

#[test]
fn plain_bpmn_resource_assignment_and_unknown_children() {
    let n = one_task(
        r#"<bpmn:userTask id="x"><bpmn:humanPerformer><bpmn:resourceAssignmentExpression><bpmn:formalExpression>kermit</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:humanPerformer>
<bpmn:potentialOwner><bpmn:resourceAssignmentExpression><bpmn:formalExpression>user(fozzie), group(management), sales</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner></bpmn:userTask>"#,
    );
    let NodeKind::UserTask(ut) = &n.kind else {
        panic!()
    };
    assert_eq!(src(&ut.assignee), Some("kermit"));
    assert_eq!(src(&ut.candidate_users), Some("fozzie"));
    assert_eq!(src(&ut.candidate_groups), Some("management,sales"));
    expect(
        &doc(r#"<bpmn:task id="x">
<bpmn:bogus /></bpmn:task>"#),
        Severity::Error,
        "task 'x': unknown BPMN element <bpmn:bogus> is not supported",
        None,
        5,
        1,
    );
}
