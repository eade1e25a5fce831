//! The embedded JavaScript interpreter alone (`baton::wasm::ScriptEngine`): syntax checks
//! with positions, values and changes crossing the boundary with their types, the
//! deterministic world (clock from the engine, `Math.random` from the seed), the `task`
//! object, and the limits (fuel, memory) a script cannot escape.

use std::time::Instant;

use baton::wasm::{WasmConfig, WasmRuntime};
use baton_bpmn::expr::Write;
use baton_bpmn::script::{ScriptCall, ScriptRunner};
use baton_bpmn::{Value, Variables};

const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn call<'a>(source: &'a str, variables: Variables, seed: u64) -> ScriptCall<'a> {
    ScriptCall {
        source,
        variables,
        local_variables: Variables::new(),
        process_instance_id: "pi-1",
        process_definition_id: Some("order:1:abc"),
        activity_id: "compute".into(),
        activity_instance_id: "ai-1",
        execution_id: "ex-1".into(),
        business_key: Some("bk-7"),
        event_name: None,
        task: None,
        now: NOW,
        seed,
    }
}

fn runtime() -> WasmRuntime {
    WasmRuntime::new(WasmConfig::default()).expect("runtime")
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let rt = runtime();
    let scripts = rt.scripts();
    assert_eq!(scripts.check("var a = 1;\na + 2"), Ok(()));
    let e = scripts
        .check("var a = 1;\nvar b = ;")
        .expect_err("syntax error");
    assert_eq!((e.line, e.column), (2, 9), "{e:?}");
    assert!(e.message.starts_with("SyntaxError"), "{e:?}");
    let e = scripts.check("function f( {").expect_err("syntax error");
    assert!(e.line >= 1 && e.column >= 1, "{e:?}");
}

#[test]
fn values_changes_and_the_execution_object() {
    let rt = runtime();
    let scripts = rt.scripts();
    let mut vars = Variables::new();
    vars.insert("amount".into(), Value::Long(40));
    vars.insert("when".into(), Value::Date(NOW - 1000));
    vars.insert(
        "order".into(),
        Value::Json(serde_json::json!({"lines": [1, 2, 3]})),
    );
    let src = "execution.setVariable('sum', amount + 2);\n\
               execution.setVariable('ratio', 1 / 4);\n\
               execution.setVariable('later', new Date(when.getTime() + 1000));\n\
               execution.setVariable('ids', [execution.getProcessInstanceId(), execution.getBusinessKey(), execution.getActivityId(), execution.getProcessDefinitionId()]);\n\
               execution.removeVariable('amount');\n\
               [execution.hasVariable('amount'), order.lines.length, Date.now()]";
    let out = scripts.run(&call(src, vars, 1)).expect("runs");
    assert_eq!(
        out.value,
        Value::Json(serde_json::json!([false, 3, NOW])),
        "Date.now() is the engine clock"
    );
    let set = |name: &str, value: Value| Write::SetVariable {
        name: name.into(),
        value,
        local: false,
    };
    assert_eq!(
        out.writes,
        vec![
            set("sum", Value::Integer(42)),
            set("ratio", Value::Double(0.25)),
            set("later", Value::Date(NOW)),
            set(
                "ids",
                Value::Json(serde_json::json!([
                    "pi-1",
                    "bk-7",
                    "compute",
                    "order:1:abc"
                ]))
            ),
            Write::RemoveVariable {
                name: "amount".into(),
                local: false
            },
        ]
    );
}

#[test]
fn random_numbers_follow_the_seed() {
    let rt = runtime();
    let scripts = rt.scripts();
    let run = |seed| {
        scripts
            .run(&call(
                "[Math.random(), Math.random()]",
                Variables::new(),
                seed,
            ))
            .expect("runs")
            .value
    };
    assert_eq!(
        run(7),
        run(7),
        "the same activity instance sees the same numbers"
    );
    assert_ne!(run(7), run(8));
}

#[test]
fn task_listeners_see_and_shape_the_task() {
    let rt = runtime();
    let scripts = rt.scripts();
    let mut c = call(
        "task.setAssignee(task.getName() + '-owner'); task.setPriority(80); task.getId()",
        Variables::new(),
        1,
    );
    c.event_name = Some("create");
    c.task = Some(serde_json::json!({"id": "t-1", "name": "Approve", "priority": 50}));
    let out = scripts.run(&c).expect("runs");
    assert_eq!(out.value, Value::String("t-1".into()));
    assert_eq!(
        out.writes,
        vec![
            Write::SetTaskProperty {
                property: "assignee".into(),
                value: Value::String("Approve-owner".into())
            },
            Write::SetTaskProperty {
                property: "priority".into(),
                value: Value::Integer(80)
            },
        ]
    );
}

#[test]
fn runtime_errors_and_limits_are_messages_not_panics() {
    let rt = runtime();
    let scripts = rt.scripts();
    let e = scripts
        .run(&call("null.x", Variables::new(), 1))
        .expect_err("type error");
    assert!(e.starts_with("TypeError"), "{e}");
    let e = scripts
        .run(&call("throw 'out of stock'", Variables::new(), 1))
        .expect_err("thrown");
    assert_eq!(e, "Uncaught out of stock");

    let started = Instant::now();
    let e = scripts
        .run(&call("while (true) {}", Variables::new(), 1))
        .expect_err("endless");
    assert_eq!(e, "fuel exhausted after 100,000,000 units");
    eprintln!("endless loop stopped after {:?}", started.elapsed());

    let e = scripts
        .run(&call(
            "var a = []; var s = 'x'; while (true) { s = s + s; a.push(s); }",
            Variables::new(),
            1,
        ))
        .expect_err("allocation bomb");
    assert_eq!(e, "memory limit of 64 MiB exceeded");
    // The interpreter still works after every failure (a fresh instance per run).
    assert_eq!(
        scripts
            .run(&call("1 + 1", Variables::new(), 1))
            .expect("runs")
            .value,
        Value::Integer(2)
    );
}

/// Latency of one script run once the interpreter is compiled (printed; measured for the
/// README), and a bound that catches a regression to compiling per run.
#[test]
fn warm_runs_are_fast() {
    let rt = runtime();
    let scripts = rt.scripts();
    scripts
        .run(&call("0", Variables::new(), 1))
        .expect("warm-up");
    let n = 10;
    let started = Instant::now();
    for i in 0..n {
        let out = scripts
            .run(&call(
                "execution.setVariable('x', 1); 6 * 7",
                Variables::new(),
                i,
            ))
            .expect("runs");
        assert_eq!(out.value, Value::Integer(42));
    }
    let per_run = started.elapsed() / n as u32;
    eprintln!("script run (warm, debug build of the host): {per_run:?}");
    assert!(per_run.as_secs() < 2, "{per_run:?} per run");
}
