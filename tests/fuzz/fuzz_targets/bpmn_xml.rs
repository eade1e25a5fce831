//! BPMN XML as a deployment carries it: `baton_bpmn::parse` must answer every input with a
//! model or a `ParseError`, never a panic, a stack overflow or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = baton_bpmn::parse(data) {
        // Walk what was built so lazily computed parts (adjacency, ids) are exercised too.
        for process in &parsed.definitions.processes {
            let _ = format!("{process:?}").len();
        }
    }
});
