//! JSON request bodies carrying typed variables (`{"x": {"value": .., "type": "Long",
//! "valueInfo": {..}}}`), as start, complete, correlate and modify requests send them: the body
//! parser, the typed-variable decoder, and encoding what was decoded back for a response.
#![no_main]

use baton::api::json::parse_body;
use baton::api::variables::{decode_value, decode_variables, encode_variables, infer};
use libfuzzer_sys::fuzz_target;
use serde_json::Value as J;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = parse_body::<J>(data) else {
        return;
    };
    let _ = infer(&body);
    let _ = decode_value(&body);
    // Requests carry variables either as the body itself or under a `variables` field.
    for map in [Some(&body), body.get("variables")] {
        if let Ok(decoded) = decode_variables(map) {
            let _ = encode_variables(&decoded.variables, true);
            let _ = encode_variables(&decoded.variables, false);
        }
    }
});
