//! Query parameters of the list endpoints: a query string (`a=b&c=d`, not percent-decoded:
//! axum hands the decoded text on) or a POST query body, read the way the handlers read them
//! (dates, sorting, pagination, variable filters), then the filters applied to values.
#![no_main]

use baton::api::date;
use baton::api::query::{QueryInput, parse_variable_list};
use baton::like::like;
use baton_bpmn::Value;
use libfuzzer_sys::fuzz_target;

const SORTS: &[&str] = &["id", "startTime", "definitionKey", "businessKey"];

fn read(q: &QueryInput) {
    let _ = q.date("startedAfter");
    let _ = q.date("dueDate");
    let _ = q.pagination();
    let _ = q.sorting(SORTS);
    let _ = q.int("priority");
    let _ = q.bool("active");
    let _ = q.flag("withIncidents");
    let _ = q.list("processInstanceIds");
    let _ = q.deserialize_values();
    let candidates = [
        Value::Integer(5),
        Value::String("hello%_".into()),
        Value::Date(0),
        Value::Double(f64::NAN),
        Value::Boolean(false),
        Value::Null,
    ];
    if let Ok(filters) = q.variables("variables") {
        for f in &filters {
            for c in &candidates {
                let _ = f.matches(Some(c), false);
                let _ = f.matches(Some(c), true);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = date::parse(&text);
    let _ = parse_variable_list(&text);
    // `value_pattern`: split once more so LIKE sees fuzzed text on both sides.
    if let Some((value, pattern)) = text.split_once('\n') {
        let _ = like(value, pattern);
    }
    let pairs = text
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.to_owned(), String::new()),
        })
        .collect();
    let q = QueryInput::from_pairs(pairs);
    read(&q);
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        read(&QueryInput::from_body(&body, &q));
    }
});
