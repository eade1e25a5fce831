//! Lossless conversion between [`baton_bpmn::Value`] and the WIT `value` variant.
//!
//! Every `Value` variant has its own WIT case, so host → guest → host is the identity. The one
//! conversion that can fail is `json(string)` coming back from a guest: its text must parse.

use baton_bpmn::{Value, Variables};

use super::bindings::baton::task::types as wit;

/// Host variables → WIT `variables`, moving names and payloads (a task's input is built for
/// one execution, so nothing is copied).
pub(crate) fn variables_to_wit(variables: Variables) -> wit::Variables {
    variables
        .into_iter()
        .map(|(name, value)| (name, value_to_wit(value)))
        .collect()
}

/// WIT `variables` → host variables. A later pair with the same name wins.
pub(crate) fn variables_from_wit(variables: wit::Variables) -> Result<Variables, String> {
    let mut out = Variables::new();
    for (name, value) in variables {
        let value = value_from_wit(value).map_err(|e| format!("output variable `{name}`: {e}"))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// Bytes of payload in output variables (names, strings, bytes; 8 per scalar): what the host
/// would store. Linear in the output, which the guest's memory limit already bounds.
pub(crate) fn wit_variables_size(variables: &wit::Variables) -> usize {
    variables
        .iter()
        .map(|(name, value)| name.len() + wit_value_size(value))
        .fold(0, usize::saturating_add)
}

fn wit_value_size(value: &wit::Value) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    match value {
        wit::Value::String(s) | wit::Value::Json(s) | wit::Value::Xml(s) => s.len(),
        wit::Value::Bytes(b) => b.len(),
        wit::Value::Object(o) => o.serialized.len() + opt(&o.type_name) + opt(&o.format),
        wit::Value::File(f) => {
            f.bytes.len() + opt(&f.filename) + opt(&f.mime_type) + opt(&f.encoding)
        }
        _ => 8,
    }
}

fn value_to_wit(value: Value) -> wit::Value {
    match value {
        Value::Null => wit::Value::Null,
        Value::String(s) => wit::Value::String(s),
        Value::Boolean(b) => wit::Value::Boolean(b),
        Value::Short(n) => wit::Value::Short(n),
        Value::Integer(n) => wit::Value::Integer(n),
        Value::Long(n) => wit::Value::Long(n),
        Value::Double(n) => wit::Value::Double(n),
        Value::Date(ms) => wit::Value::Date(ms),
        Value::Json(json) => wit::Value::Json(json.to_string()),
        Value::Xml(s) => wit::Value::Xml(s),
        Value::Object {
            type_name,
            format,
            serialized,
        } => wit::Value::Object(wit::ObjectValue {
            type_name,
            format,
            serialized,
        }),
        Value::Bytes(b) => wit::Value::Bytes(b),
        Value::File {
            filename,
            mime_type,
            encoding,
            bytes,
        } => wit::Value::File(wit::FileValue {
            filename,
            mime_type,
            encoding,
            bytes,
        }),
    }
}

fn value_from_wit(value: wit::Value) -> Result<Value, String> {
    Ok(match value {
        wit::Value::Null => Value::Null,
        wit::Value::String(s) => Value::String(s),
        wit::Value::Boolean(b) => Value::Boolean(b),
        wit::Value::Short(n) => Value::Short(n),
        wit::Value::Integer(n) => Value::Integer(n),
        wit::Value::Long(n) => Value::Long(n),
        wit::Value::Double(n) => Value::Double(n),
        wit::Value::Date(ms) => Value::Date(ms),
        wit::Value::Json(text) => {
            Value::Json(serde_json::from_str(&text).map_err(|e| format!("invalid Json text: {e}"))?)
        }
        wit::Value::Xml(s) => Value::Xml(s),
        wit::Value::Object(o) => Value::Object {
            type_name: o.type_name,
            format: o.format,
            serialized: o.serialized,
        },
        wit::Value::Bytes(b) => Value::Bytes(b),
        wit::Value::File(f) => Value::File {
            filename: f.filename,
            mime_type: f.mime_type,
            encoding: f.encoding,
            bytes: f.bytes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips() {
        let mut vars = Variables::new();
        vars.insert("null".into(), Value::Null);
        vars.insert("s".into(), Value::String("ü€".into()));
        vars.insert("b".into(), Value::Boolean(true));
        vars.insert("short".into(), Value::Short(i16::MIN));
        vars.insert("int".into(), Value::Integer(i32::MAX));
        vars.insert("long".into(), Value::Long(i64::MIN));
        vars.insert("double".into(), Value::Double(0.1 + 0.2));
        vars.insert("date".into(), Value::Date(-1));
        vars.insert(
            "json".into(),
            Value::Json(serde_json::json!({"a": [1, 2.5, null, "x"], "big": 9007199254740993u64})),
        );
        vars.insert("xml".into(), Value::Xml("<a/>".into()));
        vars.insert(
            "obj".into(),
            Value::Object {
                type_name: Some("java.util.ArrayList".into()),
                format: None,
                serialized: "[]".into(),
            },
        );
        vars.insert("bytes".into(), Value::Bytes(vec![0, 255]));
        vars.insert(
            "file".into(),
            Value::File {
                filename: None,
                mime_type: Some("text/plain".into()),
                encoding: Some("utf-8".into()),
                bytes: b"hi".to_vec(),
            },
        );
        let back = variables_from_wit(variables_to_wit(vars.clone())).expect("round trip");
        assert_eq!(back, vars);
    }

    #[test]
    fn invalid_json_output_is_an_error_naming_the_variable() {
        let err = variables_from_wit(vec![("x".into(), wit::Value::Json("{".into()))])
            .expect_err("invalid json");
        assert!(err.contains("`x`"), "{err}");
    }
}
