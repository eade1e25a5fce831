//! Tests of the validator: one table row per rule, asserting the exact problem.

use crate::parse::Severity;
use crate::parse::reader::tests::{HEAD, doc, expect, ok, problems};

/// Process content: line 3 is `<bpmn:process>`, so the first body line is line 4.
#[test]
fn graph_rules() {
    let cases: &[(&str, &str, Option<&str>, u32)] = &[
        // (body, message fragment, element, line)
        (
            r#"<bpmn:task id="t" />"#,
            "process 'p' has no start event",
            Some("p"),
            3,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />
<bpmn:exclusiveGateway id="g" />"#,
            "exclusiveGateway 'g' has no outgoing sequence flow",
            Some("g"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />
<bpmn:inclusiveGateway id="g" />
<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${x}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e" />
<bpmn:endEvent id="e" />"#,
            "sequenceFlow 'b' leaves inclusiveGateway 'g' which has several outgoing flows, but has no condition and is not the gateway's default flow",
            Some("b"),
            8,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />
<bpmn:exclusiveGateway id="g" default="other" />
<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e" />
<bpmn:sequenceFlow id="other" sourceRef="s" targetRef="e" />
<bpmn:endEvent id="e" />"#,
            "exclusiveGateway 'g': default flow 'other' is not one of its outgoing sequence flows",
            Some("g"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:serviceTask id="t" />"#,
            "serviceTask 't' has no implementation: set camunda:type=\"external\" with camunda:topic",
            Some("t"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:sendTask id="t" camunda:type="external" />"#,
            "sendTask 't' has no implementation",
            Some("t"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:callActivity id="t" />"#,
            "call activity 't' has no calledElement",
            Some("t"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:task id="t"><bpmn:multiInstanceLoopCharacteristics /></bpmn:task>"#,
            "task 't': multi-instance needs a loopCardinality or a collection",
            Some("t"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
<bpmn:endEvent id="e" />
<bpmn:sequenceFlow id="g" sourceRef="e" targetRef="s2" />
<bpmn:task id="s2" />"#,
            "end event 'e' must not have outgoing sequence flows",
            Some("e"),
            6,
        ),
        (
            r#"<bpmn:task id="t" />
<bpmn:sequenceFlow id="f" sourceRef="t" targetRef="s" />
<bpmn:startEvent id="s" />"#,
            "start event 's' must not have incoming sequence flows",
            Some("s"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:intermediateThrowEvent id="t"><bpmn:linkEventDefinition name="nowhere" /></bpmn:intermediateThrowEvent>"#,
            "link throw event 't' jumps to link 'nowhere', but no link catch event of that name is in the same scope",
            Some("t"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="inner" />
<bpmn:subProcess id="sp">
<bpmn:startEvent id="ss" />
<bpmn:task id="inner" />
</bpmn:subProcess>"#,
            "sequenceFlow 'f' crosses a scope boundary: source 's' is in process 'p', target 'inner' is in subprocess 'sp'",
            Some("f"),
            5,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:subProcess id="sp" />"#,
            "subprocess 'sp' needs exactly one start event without a trigger; it has 0 start event(s)",
            Some("sp"),
            5,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:subProcess id="ev" triggeredByEvent="true"><bpmn:startEvent id="es" /></bpmn:subProcess>"#,
            "event subprocess 'ev' needs exactly one start event with a trigger",
            Some("ev"),
            5,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />
<bpmn:eventBasedGateway id="g" />
<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="t" />
<bpmn:task id="t" />"#,
            "its targets must be intermediate catch events or receive tasks, but 't' is a task",
            Some("g"),
            6,
        ),
        (
            r#"<bpmn:startEvent id="s"><bpmn:errorEventDefinition /></bpmn:startEvent>"#,
            "error and escalation start events are only allowed in event subprocesses",
            Some("s"),
            4,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:userTask id="t" />
<bpmn:boundaryEvent id="b" attachedToRef="s" />"#,
            "boundary event 'b' is attached to startEvent 's', which is not an activity",
            Some("b"),
            7,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="sp" />
<bpmn:subProcess id="sp">
<bpmn:startEvent id="ss" />
<bpmn:sequenceFlow id="g" sourceRef="ss" targetRef="t" />
<bpmn:userTask id="t" />
</bpmn:subProcess>
<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#,
            "boundary event 'b' must be declared next to the activity it is attached to ('t')",
            Some("b"),
            11,
        ),
        (
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="c" />
<bpmn:intermediateCatchEvent id="c"><bpmn:errorEventDefinition /></bpmn:intermediateCatchEvent>"#,
            "intermediateCatchEvent 'c': an error event definition is not allowed here",
            Some("c"),
            6,
        ),
    ];
    for (body, needle, element, line) in cases {
        let xml = doc(body);
        expect(&xml, Severity::Error, needle, *element, *line, 1);
        // The same finding in a non-executable process is a warning, except structural ones.
        let structural = needle.contains("crosses a scope")
            || needle.contains("default flow 'other'")
            || needle.contains("must be declared next to");
        let non_exec = xml.replace("isExecutable=\"true\"", "isExecutable=\"false\"");
        let severity = if structural {
            Severity::Error
        } else {
            Severity::Warning
        };
        expect(&non_exec, severity, needle, *element, *line, 1);
    }
}

#[test]
fn malformed_literal_timers_are_reported() {
    let cases: &[(&str, &str, &str)] = &[
        ("timeDuration", "5 minutes", "timeDuration '5 minutes'"),
        ("timeDate", "tomorrow", "timeDate 'tomorrow'"),
        ("timeCycle", "R3/PTX", "timeCycle 'R3/PTX'"),
    ];
    for (kind, text, needle) in cases {
        let xml = doc(&format!(
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e" />
<bpmn:endEvent id="e" />"#
        ));
        expect(&xml, Severity::Error, needle, Some("t"), 6, 1);
    }
    // Valid literals and expressions pass.
    for (kind, text) in [
        ("timeDuration", "PT5M"),
        ("timeDate", "2026-01-01T10:00:00Z"),
        ("timeCycle", "R3/PT10S"),
        ("timeDuration", "${delay}"),
        ("timeCycle", "#{cycle}"),
    ] {
        ok(&doc(&format!(
            r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e" />
<bpmn:endEvent id="e" />"#
        )));
    }
}

#[test]
fn malformed_retry_cycle_is_reported() {
    let xml = doc(r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t" />
<bpmn:serviceTask id="t" camunda:type="external" camunda:topic="x"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>three times</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:sequenceFlow id="g" sourceRef="t" targetRef="e" />
<bpmn:endEvent id="e" />"#);
    expect(
        &xml,
        Severity::Error,
        "camunda:failedJobRetryTimeCycle",
        Some("t"),
        6,
        1,
    );
}

#[test]
fn valid_models_have_no_findings() {
    let xml = doc(r#"<bpmn:startEvent id="s" />
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />
<bpmn:exclusiveGateway id="g" default="b" />
<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="l"><bpmn:conditionExpression>${x}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e" />
<bpmn:intermediateThrowEvent id="l"><bpmn:linkEventDefinition name="L" /></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="lc"><bpmn:linkEventDefinition name="L" /></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="c" sourceRef="lc" targetRef="e" />
<bpmn:endEvent id="e" />
<bpmn:subProcess id="ev" triggeredByEvent="true">
<bpmn:startEvent id="es"><bpmn:errorEventDefinition /></bpmn:startEvent>
<bpmn:sequenceFlow id="d" sourceRef="es" targetRef="ee" />
<bpmn:endEvent id="ee" />
</bpmn:subProcess>"#);
    assert!(problems(&xml).is_empty(), "{:#?}", problems(&xml));
}

#[test]
fn empty_non_executable_process_is_fine() {
    let xml =
        format!("{HEAD}\n<bpmn:process id=\"p\" isExecutable=\"false\" />\n</bpmn:definitions>");
    assert!(problems(&xml).is_empty());
}
