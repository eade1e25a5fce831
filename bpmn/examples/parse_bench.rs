//! Parse-time benchmark on a generated 1,000-element model.
//!
//! `cargo run --release -p baton-bpmn --example parse_bench`
//!
//! The model is a chain of 330 external service tasks with an exclusive gateway (one
//! conditional and one default flow) after every tenth task, plus BPMNDI shapes and edges for
//! everything, as Camunda Modeler would write it. Prints the median of 21 parses.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

const TASKS: usize = 330;
const RUNS: usize = 21;

fn generate() -> String {
    let mut process = String::new();
    let mut di = String::new();
    let mut x = 100;
    let mut flow_no = 0;
    let shape = |di: &mut String, id: &str, x: i32, w: i32| {
        let _ = writeln!(
            di,
            r#"      <bpmndi:BPMNShape id="{id}_di" bpmnElement="{id}"><dc:Bounds x="{x}" y="100" width="{w}" height="80" /></bpmndi:BPMNShape>"#
        );
    };
    let mut flow = |process: &mut String,
                    di: &mut String,
                    from: &str,
                    to: &str,
                    cond: Option<&str>,
                    x: i32|
     -> String {
        flow_no += 1;
        let id = format!("Flow_{flow_no}");
        match cond {
            Some(c) => {
                let _ = writeln!(
                    process,
                    r#"    <bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{c}</bpmn:conditionExpression></bpmn:sequenceFlow>"#
                );
            }
            None => {
                let _ = writeln!(
                    process,
                    r#"    <bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}" />"#
                );
            }
        }
        let _ = writeln!(
            di,
            r#"      <bpmndi:BPMNEdge id="{id}_di" bpmnElement="{id}"><di:waypoint x="{x}" y="140" /><di:waypoint x="{}" y="140" /></bpmndi:BPMNEdge>"#,
            x + 50
        );
        id
    };
    process.push_str("    <bpmn:startEvent id=\"start\" />\n");
    shape(&mut di, "start", x, 36);
    let mut prev = "start".to_owned();
    let mut skip_flow = false;
    for i in 1..=TASKS {
        x += 150;
        let id = format!("Task_{i}");
        let _ = writeln!(
            process,
            r#"    <bpmn:serviceTask id="{id}" name="Task {i}" camunda:type="external" camunda:topic="topic-{i}" camunda:asyncBefore="true">
      <bpmn:extensionElements>
        <camunda:inputOutput><camunda:inputParameter name="n">${{n + {i}}}</camunda:inputParameter></camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>"#
        );
        shape(&mut di, &id, x, 100);
        if !std::mem::take(&mut skip_flow) {
            flow(&mut process, &mut di, &prev, &id, None, x - 50);
        }
        prev = id;
        if i % 10 == 0 && i < TASKS {
            x += 150;
            let gw = format!("Gateway_{i}");
            let next = format!("Task_{}", i + 1);
            flow(&mut process, &mut di, &prev, &gw, None, x - 50);
            flow(
                &mut process,
                &mut di,
                &gw,
                &next,
                Some("${n &gt; 10}"),
                x + 50,
            );
            let default = flow(&mut process, &mut di, &gw, &next, None, x + 50);
            let _ = writeln!(
                process,
                r#"    <bpmn:exclusiveGateway id="{gw}" default="{default}" />"#
            );
            shape(&mut di, &gw, x, 50);
            // The gateway's flows already enter the next task.
            skip_flow = true;
        }
    }
    process.push_str("    <bpmn:endEvent id=\"end\" />\n");
    shape(&mut di, "end", x + 150, 36);
    flow(&mut process, &mut di, &prev, "end", None, x + 100);
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_bench" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bench" isExecutable="true">
{process}  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="bench">
{di}    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"#
    );
    xml
}

fn main() {
    let xml = generate();
    // A generator bug must not be measured as a fast rejection.
    let parsed = match baton_bpmn::parse(xml.as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("generated model was rejected: {e}");
            std::process::exit(1);
        }
    };
    let process = &parsed.definitions.processes[0];
    let diagram = &parsed.definitions.diagrams[0];
    let elements =
        process.nodes.len() + process.flows.len() + diagram.shapes.len() + diagram.edges.len();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let r = baton_bpmn::parse(std::hint::black_box(xml.as_bytes()));
            let d = t.elapsed();
            std::hint::black_box(r.is_ok());
            d
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "{} elements ({} nodes, {} flows, {} shapes, {} edges), {} KiB: median parse {:.3} ms over {RUNS} runs (min {:.3} ms, max {:.3} ms)",
        elements,
        process.nodes.len(),
        process.flows.len(),
        diagram.shapes.len(),
        diagram.edges.len(),
        xml.len() / 1024,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3,
    );
}
