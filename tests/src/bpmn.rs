//! BPMN model builders shared by the engine tests and the benchmarks.
//!
//! The four benchmark models (issue 7) are generated here so baton and the peers run the very
//! same XML: `one`, `seq10`, `par10` and `loop100`, every service task an external task on
//! topic `work` (baton binds a wasm component to that topic for the in-process mode).

use std::fmt::Write as _;

/// Wrap process elements into a `<definitions>` document with the bpmn, camunda and xsi
/// namespaces; `body` uses the `bpmn:` prefix.
pub fn definitions(process_id: &str, body: &str) -> String {
    definitions_with(process_id, "", body)
}

/// Like [`definitions`], with root elements (`<bpmn:message>`, `<bpmn:signal>`, `<bpmn:error>`)
/// placed before the process.
pub fn definitions_with(process_id: &str, roots: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="defs_{process_id}" targetNamespace="http://baton.test">
{roots}
  <bpmn:process id="{process_id}" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
"#
    )
}

/// start -> one external task (`topic`) -> end.
pub fn one_task(process_id: &str, topic: &str) -> String {
    definitions(
        process_id,
        &format!(
            r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}

/// The benchmark models by name.
pub const MODELS: [&str; 4] = ["one", "seq10", "par10", "loop100"];

/// Service tasks one instance of a benchmark model executes.
pub fn tasks_per_instance(model: &str) -> usize {
    match model {
        "one" => 1,
        "seq10" | "par10" => 10,
        "loop100" => 100,
        _ => 0,
    }
}

/// A benchmark model (`one`, `seq10`, `par10`, `loop100`) with process id `model` and every
/// service task on `topic`. `loop100` must be started with the variable `count = 0`: an output
/// mapping on its task increments `count`, so workers (and the echo component) just complete.
pub fn model(model: &str, topic: &str) -> Option<String> {
    let mut body = String::new();
    match model {
        "one" => return Some(one_task("one", topic)),
        "seq10" => {
            body.push_str("    <bpmn:startEvent id=\"start\" />\n");
            let mut prev = "start".to_owned();
            for i in 1..=10 {
                let _ = writeln!(
                    body,
                    "    <bpmn:sequenceFlow id=\"f{i}\" sourceRef=\"{prev}\" targetRef=\"t{i}\" />\n    \
                     <bpmn:serviceTask id=\"t{i}\" camunda:type=\"external\" camunda:topic=\"{topic}\" />"
                );
                prev = format!("t{i}");
            }
            let _ = writeln!(
                body,
                "    <bpmn:sequenceFlow id=\"f_end\" sourceRef=\"{prev}\" targetRef=\"end\" />\n    \
                 <bpmn:endEvent id=\"end\" />"
            );
        }
        "par10" => {
            body.push_str(
                "    <bpmn:startEvent id=\"start\" />\n    \
                 <bpmn:sequenceFlow id=\"f0\" sourceRef=\"start\" targetRef=\"fork\" />\n    \
                 <bpmn:parallelGateway id=\"fork\" />\n    <bpmn:parallelGateway id=\"join\" />\n",
            );
            for i in 1..=10 {
                let _ = writeln!(
                    body,
                    "    <bpmn:sequenceFlow id=\"fa{i}\" sourceRef=\"fork\" targetRef=\"t{i}\" />\n    \
                     <bpmn:serviceTask id=\"t{i}\" camunda:type=\"external\" camunda:topic=\"{topic}\" />\n    \
                     <bpmn:sequenceFlow id=\"fb{i}\" sourceRef=\"t{i}\" targetRef=\"join\" />"
                );
            }
            body.push_str(
                "    <bpmn:sequenceFlow id=\"f_end\" sourceRef=\"join\" targetRef=\"end\" />\n    \
                 <bpmn:endEvent id=\"end\" />\n",
            );
        }
        "loop100" => {
            let _ = write!(
                body,
                r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:serviceTask id="task" camunda:type="external" camunda:topic="{topic}">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:outputParameter name="count">${{count + 1}}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_again" />
    <bpmn:sequenceFlow id="f_done" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{count &gt;= 100}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_again" sourceRef="gw" targetRef="task" />
    <bpmn:endEvent id="end" />"#
            );
        }
        _ => return None,
    }
    Some(definitions(model, &body))
}
