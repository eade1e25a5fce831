//! `bench-dmn`: issue 19's decision benchmark, in process: evaluations per second of a
//! 100-rule decision table on the pure evaluator the engine runs inside a business rule
//! task's step (`baton_bpmn::dmn`), for the hit policies UNIQUE, FIRST, COLLECT with SUM, and
//! RULE ORDER. Each rule tests an integer range and a string list; the inputs cycle so every
//! rule is hit in turn (a UNIQUE table matches exactly one rule per evaluation).
//!
//! It is built as an example of `baton-bpmn` so a release build compiles only that crate:
//! `cargo run --release -p baton-bpmn --example bench-dmn` (`BENCH_EVALUATIONS`, default
//! 200000 per policy). Prints a markdown table.

use std::time::Instant;

use baton_bpmn::Value;
use baton_bpmn::dmn::{DecisionDefinitions, parse};
use baton_bpmn::value::Variables;

const RULES: usize = 100;
const CATEGORIES: [&str; 4] = ["retail", "wholesale", "online", "partner"];

/// A table of `RULES` rules: rule i matches amounts in [100*(i/4), 100*(i/4)+100) and the
/// category i%4, and outputs a discount i and a label.
fn table(hit_policy: &str) -> String {
    let mut rules = String::new();
    let one_output = hit_policy == "COLLECT SUM";
    for i in 0..RULES {
        let low = 100 * (i / 4);
        rules.push_str(&format!(
            r#"<rule id="r{i}"><inputEntry id="a{i}"><text>[{low}..{high})</text></inputEntry><inputEntry id="c{i}"><text>"{cat}","other"</text></inputEntry><outputEntry id="d{i}"><text>{i}</text></outputEntry>{label}</rule>"#,
            high = low + 100,
            cat = CATEGORIES[i % 4],
            label = if one_output {
                String::new()
            } else {
                format!(r#"<outputEntry id="l{i}"><text>"rule {i}"</text></outputEntry>"#)
            },
        ));
    }
    let (policy, outputs) = match hit_policy {
        // An aggregation takes one output (Camunda's rule): the label entries are dropped.
        "COLLECT SUM" => (
            r#"hitPolicy="COLLECT" aggregation="SUM""#,
            r#"<output id="o1" name="discount" typeRef="integer"/>"#,
        ),
        other => (
            if other == "RULE ORDER" {
                r#"hitPolicy="RULE ORDER""#
            } else if other == "FIRST" {
                r#"hitPolicy="FIRST""#
            } else {
                r#"hitPolicy="UNIQUE""#
            },
            r#"<output id="o1" name="discount" typeRef="integer"/><output id="o2" name="label" typeRef="string"/>"#,
        ),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="bench" namespace="b">
<decision id="discount" name="Discount"><decisionTable id="t" {policy}>
<input id="i1" label="Amount"><inputExpression typeRef="integer"><text>amount</text></inputExpression></input>
<input id="i2" label="Category"><inputExpression typeRef="string"><text>category</text></inputExpression></input>
{outputs}{rules}
</decisionTable></decision></definitions>"#
    )
}

fn run(defs: &DecisionDefinitions, n: usize) -> (f64, usize) {
    let inputs: Vec<Variables> = (0..RULES)
        .map(|i| {
            let mut v = Variables::new();
            v.insert("amount".into(), Value::Integer((100 * (i / 4) + 50) as i32));
            v.insert("category".into(), Value::String(CATEGORIES[i % 4].into()));
            v
        })
        .collect();
    let mut matched = 0;
    let started = Instant::now();
    for k in 0..n {
        let vars = &inputs[k % inputs.len()];
        match defs.evaluate("discount", vars) {
            Ok(r) => matched += r.matched_rule_ids.len(),
            Err(e) => panic!("evaluation failed: {e}"),
        }
    }
    (n as f64 / started.elapsed().as_secs_f64(), matched)
}

fn main() {
    let n: usize = std::env::var("BENCH_EVALUATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    println!("| hit policy | rules | evaluations | evaluations/s | matched rules/evaluation |");
    println!("| --- | --- | --- | --- | --- |");
    for policy in ["UNIQUE", "FIRST", "COLLECT SUM", "RULE ORDER"] {
        let xml = table(policy);
        let defs = match parse(xml.as_bytes()) {
            Ok(d) => d,
            Err(e) => panic!("the generated table does not parse: {e}"),
        };
        // Warm-up, then the measured run.
        run(&defs, n / 10 + 1);
        let (per_s, matched) = run(&defs, n);
        println!(
            "| {policy} | {RULES} | {n} | {per_s:.0} | {:.2} |",
            matched as f64 / n as f64
        );
    }
}
