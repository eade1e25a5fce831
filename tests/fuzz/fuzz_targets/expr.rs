//! JUEL (`${...}`) and FEEL (`=...`) expressions from BPMN attributes and DMN cells: parse
//! any text, then evaluate it on a small variable map of every value type.
#![no_main]

use baton_bpmn::expr::Expression;
use baton_bpmn::{Value, Variables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = Expression::parse(text) else {
        return;
    };
    let mut vars = Variables::new();
    vars.insert("a".into(), Value::Integer(3));
    vars.insert("b".into(), Value::Long(i64::MAX));
    vars.insert("s".into(), Value::String("hello".into()));
    vars.insert("d".into(), Value::Double(-0.5));
    vars.insert("t".into(), Value::Boolean(true));
    vars.insert("n".into(), Value::Null);
    vars.insert("date".into(), Value::Date(1_700_000_000_000));
    vars.insert(
        "j".into(),
        Value::Json(serde_json::json!({"x": [1, 2, {"y": "z"}], "k": null})),
    );
    vars.insert("short".into(), Value::Short(i16::MIN));
    let _ = expr.eval(&vars);
    let _ = expr.eval_bool(&vars);
    let _ = expr.eval_string(&vars);
});
