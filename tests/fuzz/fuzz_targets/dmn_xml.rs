//! DMN XML: parse, then evaluate every decision that parsed against a small variable map, as
//! a business rule task or `POST /decision-definition/key/{key}/evaluate` would.
#![no_main]

use baton_bpmn::{Value, Variables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(defs) = baton_bpmn::dmn::parse(data) else {
        let _ = baton_bpmn::dmn::parse_lenient(data);
        return;
    };
    let mut vars = Variables::new();
    vars.insert("amount".into(), Value::Integer(1200));
    vars.insert("category".into(), Value::String("Travel".into()));
    vars.insert("approved".into(), Value::Boolean(true));
    vars.insert("score".into(), Value::Double(0.5));
    vars.insert("nothing".into(), Value::Null);
    // Bound the work per input: a document with thousands of decisions is the parser's
    // business, evaluating each is not more coverage.
    for decision in defs.decisions.iter().take(16) {
        let _ = defs.evaluate(&decision.id, &vars);
    }
});
