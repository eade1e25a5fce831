//! The DMN TCK (github.com/dmn-tck/tck) cases kept in `tests/dmn-tck/` run against baton's DMN
//! evaluator: every `<testCase>` of every `*-test-*.xml` sets its `<inputNode>`s as variables,
//! evaluates each `<resultNode>`'s decision by name and compares the value with `<expected>`
//! (numbers numerically, lists in order, contexts as maps). The runner prints one line per
//! folder with passed/total and the first failures' reasons, and asserts a floor on the total
//! pass count, so a regression fails while unsupported cases stay visible, not fatal.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use baton_bpmn::dmn::{self, Partial};
use baton_bpmn::{Value, Variables};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value as Json};

/// Test cases passing today; raise it when more pass (never lower it to hide a regression).
const PASS_FLOOR: usize = 521;

/// A minimal XML tree: local names, attributes by qualified name, concatenated text.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn attr(&self, qname: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == qname)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(qname: &[u8]) -> String {
    let s = String::from_utf8_lossy(qname);
    s.rsplit(':').next().unwrap_or_default().to_owned()
}

fn start(e: &BytesStart<'_>) -> Result<El, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        let v = a
            .unescape_value()
            .map_err(|e| format!("bad attribute value: {e}"))?;
        attrs.push((
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            v.into_owned(),
        ));
    }
    Ok(El {
        name: local(e.name().as_ref()),
        attrs,
        ..El::default()
    })
}

fn parse_xml(text: &str) -> Result<El, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error at {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => stack.push(start(&e)?),
            Event::Empty(e) => {
                let el = start(&e)?;
                match stack.last_mut() {
                    Some(top) => top.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| format!("bad text: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::CData(c) => {
                let s = c.xml_content().map_err(|e| format!("bad CDATA: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err("bad character reference".into()),
                    }
                } else {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_owned()
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "no root element".to_owned())
}

/// A TCK value element (`<value>`, or the element holding `<component>`s / `<list>`) as JSON.
/// Numbers stay JSON numbers; temporal values their lexical form (compared as text).
fn tck_value(el: &El) -> Result<Json, String> {
    if let Some(list) = el.child("list") {
        return list
            .all("item")
            .map(tck_value)
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array);
    }
    let components: Vec<&El> = el.all("component").collect();
    if !components.is_empty() {
        let mut map = Map::new();
        for c in components {
            let name = c.attr("name").ok_or("a <component> without a name")?;
            map.insert(name.to_owned(), tck_value(c)?);
        }
        return Ok(Json::Object(map));
    }
    if let Some(value) = el.child("value") {
        return scalar(value);
    }
    if el.name == "value" {
        return scalar(el);
    }
    // An <item>/<component>/<expected> with nothing inside.
    Ok(Json::Null)
}

fn scalar(value: &El) -> Result<Json, String> {
    if value.attr("xsi:nil") == Some("true") {
        return Ok(Json::Null);
    }
    if !value.children.is_empty() {
        return tck_value(value);
    }
    let text = value.text.as_str();
    Ok(match value.attr("xsi:type").unwrap_or("xsd:string") {
        "xsd:decimal" | "xsd:double" | "xsd:integer" | "xsd:int" | "xsd:long" => {
            let t = text.trim();
            if let Ok(n) = t.parse::<i64>() {
                Json::from(n)
            } else {
                match t.parse::<f64>() {
                    Ok(f) => serde_json::Number::from_f64(f)
                        .map(Json::Number)
                        .ok_or_else(|| format!("number '{t}' is not finite"))?,
                    Err(_) => return Err(format!("'{t}' is not a number")),
                }
            }
        }
        "xsd:boolean" => Json::Bool(text.trim() == "true"),
        _ => Json::String(text.to_owned()),
    })
}

/// A JSON input as a baton value: scalars as their value types, lists and contexts as JSON.
fn to_value(json: &Json) -> Value {
    match json {
        Json::Array(_) | Json::Object(_) => Value::Json(json.clone()),
        other => Value::from_json(other),
    }
}

/// Equal as the TCK means it: numbers numerically (relative 1e-9, for binary floating
/// point against decimal expectations), lists in order, contexts by key.
fn same(expected: &Json, actual: &Json) -> bool {
    match (expected, actual) {
        (Json::Number(a), Json::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
            _ => false,
        },
        // A date result (JSON: UTC milliseconds) against the TCK's xsd:date text.
        (Json::String(e), Json::Number(a)) => date_ms(e).is_some_and(|ms| a.as_i64() == Some(ms)),
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (a, b) => a == b,
    }
}

/// `2018-07-31` (UTC midnight) or `2018-07-31T10:30:00` (UTC unless it has an offset) as
/// milliseconds since the epoch.
fn date_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(dt.and_utc().timestamp_millis());
    }
    let day = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

fn short(json: &Json) -> String {
    let s = json.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// One folder's outcome.
struct Outcome {
    folder: String,
    passed: usize,
    total: usize,
    failures: Vec<String>,
}

/// Run one test case element; `Err` says why it failed.
fn run_case(partial: &Partial, case: &El) -> Result<(), String> {
    let mut vars = Variables::new();
    for input in case.all("inputNode") {
        let name = input.attr("name").ok_or("an <inputNode> without a name")?;
        // A date input is a date value (baton's `Date`: UTC milliseconds), not its text.
        let date = input
            .child("value")
            .filter(|v| matches!(v.attr("xsi:type"), Some("xsd:date" | "xsd:dateTime")))
            .and_then(|v| date_ms(&v.text));
        let value = match date {
            Some(ms) => Value::Date(ms),
            None => to_value(&tck_value(input)?),
        };
        vars.insert(name.to_owned(), value);
    }
    let mut checked = 0;
    for result in case.all("resultNode") {
        let name = result.attr("name").ok_or("a <resultNode> without a name")?;
        let expected = match result.child("expected") {
            Some(e) => tck_value(e)?,
            None => continue,
        };
        // A decision baton could not read fails, whatever the expectation.
        if let Some((_, p)) = partial.skipped.iter().find(|(n, _)| n == name) {
            return Err(format!(
                "'{name}' not read: {}:{}: {}",
                p.line, p.column, p.message
            ));
        }
        let error_expected = result.attr("errorResult") == Some("true");
        match partial.definitions.evaluate_by_name(name, &vars) {
            Ok(r) => {
                let actual = r.value.to_json();
                // FEEL answers most errors with null (and a notification); the TCK expects
                // null there too, so an error result with a null value passes.
                if error_expected && !(expected.is_null() && actual.is_null()) {
                    return Err(format!(
                        "'{name}': expected an error, got {}",
                        short(&actual)
                    ));
                }
                if !same(&expected, &actual) {
                    return Err(format!(
                        "'{name}': expected {}, got {}",
                        short(&expected),
                        short(&actual)
                    ));
                }
            }
            // The TCK expects null (or an error) where evaluation fails.
            Err(_) if error_expected || expected.is_null() => {}
            Err(e) => return Err(format!("'{name}': {}", e.message)),
        }
        checked += 1;
    }
    if checked == 0 {
        return Err("no result node to check".into());
    }
    Ok(())
}

fn run_folder(dir: &Path) -> Outcome {
    let folder = format!(
        "{}/{}",
        dir.parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut outcome = Outcome {
        folder,
        passed: 0,
        total: 0,
        failures: Vec::new(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read a TCK folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for test_file in files.iter().filter(|p| {
        p.to_string_lossy().contains("-test-") && p.extension().is_some_and(|e| e == "xml")
    }) {
        let text = std::fs::read_to_string(test_file).expect("read a TCK test file");
        let tests = match parse_xml(&text) {
            Ok(t) => t,
            Err(e) => {
                outcome.total += 1;
                outcome.failures.push(format!("test file: {e}"));
                continue;
            }
        };
        let cases: Vec<&El> = tests.all("testCase").collect();
        let model = tests
            .child("modelName")
            .map(|m| m.text.trim().to_owned())
            .unwrap_or_default();
        let defs = std::fs::read(dir.join(&model))
            .map_err(|e| format!("model '{model}': {e}"))
            .and_then(|xml| {
                dmn::parse_lenient(&xml).map_err(|e| {
                    let first = e
                        .problems
                        .first()
                        .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
                        .unwrap_or_default();
                    format!("parse: {first}")
                })
            });
        for case in cases {
            outcome.total += 1;
            let id = case.attr("id").unwrap_or("?");
            let result = match &defs {
                Ok(defs) => {
                    // A panic is a failure of the case, reported like any other.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(defs, case)))
                        .unwrap_or_else(|_| Err("panicked".into()))
                }
                Err(e) => Err(e.clone()),
            };
            match result {
                Ok(()) => outcome.passed += 1,
                Err(reason) => outcome.failures.push(format!("{id}: {reason}")),
            }
        }
    }
    outcome
}

#[test]
fn dmn_tck() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dmn-tck");
    let mut dirs = Vec::new();
    for level in ["compliance-level-2", "compliance-level-3"] {
        let mut level_dirs: Vec<PathBuf> = std::fs::read_dir(root.join(level))
            .expect("read a TCK level")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        level_dirs.sort();
        dirs.extend(level_dirs);
    }
    let mut report = String::new();
    let (mut passed, mut total) = (0, 0);
    for dir in &dirs {
        let o = run_folder(dir);
        passed += o.passed;
        total += o.total;
        let reason = o.failures.first().cloned().unwrap_or_default();
        let more = if o.failures.len() > 1 {
            format!(" (+{} more)", o.failures.len() - 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            report,
            "{:<62} {:>3}/{:<3} {}{}",
            o.folder, o.passed, o.total, reason, more
        );
        // DMN_TCK_VERBOSE=1 lists every failure, not only the first per folder.
        if std::env::var_os("DMN_TCK_VERBOSE").is_some() {
            for f in o.failures.iter().skip(1) {
                let _ = writeln!(report, "    {f}");
            }
        }
    }
    let _ = writeln!(report, "{:<62} {passed:>3}/{total:<3}", "TOTAL");
    println!("{report}");
    assert!(
        passed >= PASS_FLOOR,
        "DMN TCK: {passed}/{total} passed, below the floor of {PASS_FLOOR}\n{report}"
    );
}
