//! Camunda's typed-variable JSON codec: [`Value`] <-> `{"value", "type", "valueInfo"}`.
//!
//! Input rules (camunda-rest.md §2):
//! - Type names: only the first letter is case-insensitive (`String`/`string` work, `STRING`
//!   is `Unsupported value type 'STRING'`).
//! - Untyped values are inferred as Camunda does: string → String, integer → Integer when it
//!   fits 32 bits else Long, decimal → Double, bool → Boolean, null → Null. **Choice:** JSON
//!   objects and arrays become `Json` (stock Camunda rejects them because Java serialization is
//!   prohibited; storing them as Json is what a Python worker sending a dict wants).
//! - Primitive types convert from strings (`{"type":"Integer","value":"42"}`) and from other
//!   JSON numbers when lossless; failures are 400 `Cannot convert value 'x' of type 'Integer'
//!   to java type java.lang.Integer`.
//! - `Object`, `Json` and `Xml` need a string (or null) value, else `Must provide 'null' or
//!   String value for value of SerializableValue type 'Json'.`
//! - `Bytes` and `File` values are base64; `File` takes `filename`, `mimetype`/`mimeType` and
//!   `encoding` from `valueInfo`.
//! - `valueInfo.transient: true` is accepted on any value. The engine has no transient
//!   variables yet, so they are reported by [`decode_variables`] and stored like others.
//!
//! Output: `valueInfo` always present, type names capitalized, dates in Camunda's format,
//! Json/Xml as strings, File values `null` (content via `/data`), Object values deserialized
//! only when asked (`deserializeValues`) and when their format is JSON.

use base64::Engine as _;
use baton_bpmn::{Value, Variables};
use serde_json::{Map, Value as J, json};

use super::date;

/// A variables map as received: `{"name": {"value", "type", "valueInfo"}, ...}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// The variables.
    pub variables: Variables,
    /// Names marked `valueInfo.transient: true`.
    pub transient: Vec<String>,
}

/// The size of a value as sent: a string's UTF-8 length, else its JSON text's length (counted
/// without building the text; scalars are small).
fn sent_size(value: &J) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match value {
        J::String(s) => s.len(),
        J::Null | J::Bool(_) | J::Number(_) => 0,
        other => {
            let mut count = Count(0);
            let _ = serde_json::to_writer(&mut count, other);
            count.0
        }
    }
}

/// Refuse a value larger than the request's `max_variable_bytes` (see `guard::ClientLimits`).
fn check_size(value: &J) -> Result<(), String> {
    let limit = super::guard::client_limits().max_variable_bytes;
    let size = sent_size(value);
    if size > limit {
        return Err(format!(
            "the value is {size} bytes, more than the limit of {limit} bytes per variable"
        ));
    }
    Ok(())
}

/// Decode one typed value; the error is Camunda's message (callers add their prefix).
pub fn decode_value(dto: &J) -> Result<Value, String> {
    let Some(obj) = dto.as_object() else {
        // A bare value where a typed object was expected: treat it as untyped.
        check_size(dto)?;
        return Ok(infer(dto));
    };
    let value = obj.get("value").unwrap_or(&J::Null);
    check_size(value)?;
    let info = obj.get("valueInfo").and_then(J::as_object);
    let type_name = match obj.get("type") {
        None | Some(J::Null) => return Ok(infer(value)),
        Some(J::String(t)) => t.as_str(),
        Some(other) => return Err(format!("Unsupported value type '{other}'")),
    };
    decode_typed(type_name, value, info)
}

/// Decode a value of an explicit type name.
pub fn decode_typed(
    type_name: &str,
    value: &J,
    info: Option<&Map<String, J>>,
) -> Result<Value, String> {
    let lowered = lower_first(type_name);
    let info_str = |k: &str| {
        info.and_then(|i| i.get(k))
            .and_then(J::as_str)
            .map(str::to_owned)
    };
    match lowered.as_str() {
        "null" => Ok(Value::Null),
        "string" => match value {
            J::Null => Ok(Value::Null),
            J::String(s) => Ok(Value::String(s.clone())),
            J::Number(n) => Ok(Value::String(n.to_string())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(cannot_convert(other, "String", "java.lang.String")),
        },
        "boolean" => match value {
            J::Null => Ok(Value::Null),
            J::Bool(b) => Ok(Value::Boolean(*b)),
            J::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Boolean(true)),
            J::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Boolean(false)),
            other => Err(cannot_convert(other, "Boolean", "java.lang.Boolean")),
        },
        "short" => integral(value)
            .and_then(|n| i16::try_from(n).ok())
            .map(Value::Short)
            .or_else(|| value.is_null().then_some(Value::Null))
            .ok_or_else(|| cannot_convert(value, "Short", "java.lang.Short")),
        "integer" => integral(value)
            .and_then(|n| i32::try_from(n).ok())
            .map(Value::Integer)
            .or_else(|| value.is_null().then_some(Value::Null))
            .ok_or_else(|| cannot_convert(value, "Integer", "java.lang.Integer")),
        "long" => integral(value)
            .map(Value::Long)
            .or_else(|| value.is_null().then_some(Value::Null))
            .ok_or_else(|| cannot_convert(value, "Long", "java.lang.Long")),
        "double" => match value {
            J::Null => Ok(Value::Null),
            J::Number(n) => n
                .as_f64()
                .map(Value::Double)
                .ok_or_else(|| cannot_convert(value, "Double", "java.lang.Double")),
            J::String(s) => s
                .trim()
                .parse::<f64>()
                .map(Value::Double)
                .map_err(|_| cannot_convert(value, "Double", "java.lang.Double")),
            other => Err(cannot_convert(other, "Double", "java.lang.Double")),
        },
        "date" => match value {
            J::Null => Ok(Value::Null),
            J::String(s) => date::parse(s)
                .map(Value::Date)
                .ok_or_else(|| cannot_convert(value, "Date", "java.util.Date")),
            other => Err(cannot_convert(other, "Date", "java.util.Date")),
        },
        "bytes" => match value {
            J::Null => Ok(Value::Null),
            J::String(s) => base64_decode(s)
                .map(Value::Bytes)
                .ok_or_else(|| cannot_convert(value, "Bytes", "byte[]")),
            other => Err(cannot_convert(other, "Bytes", "byte[]")),
        },
        "file" => {
            let bytes = match value {
                J::Null => Vec::new(),
                J::String(s) => {
                    base64_decode(s).ok_or_else(|| cannot_convert(value, "File", "byte[]"))?
                }
                other => return Err(cannot_convert(other, "File", "byte[]")),
            };
            Ok(Value::File {
                filename: info_str("filename"),
                mime_type: info_str("mimeType").or_else(|| info_str("mimetype")),
                encoding: info_str("encoding"),
                bytes,
            })
        }
        "object" => match value {
            J::Null => Ok(Value::Null),
            J::String(s) => Ok(Value::Object {
                type_name: info_str("objectTypeName"),
                format: info_str("serializationDataFormat"),
                serialized: s.clone(),
            }),
            _ => Err(serializable_error("Object")),
        },
        "json" => match value {
            J::Null => Ok(Value::Json(J::Null)),
            J::String(s) => serde_json::from_str(s).map(Value::Json).map_err(|_| {
                format!("Cannot convert value '{s}' of type 'Json': it is not valid JSON")
            }),
            _ => Err(serializable_error("Json")),
        },
        "xml" => match value {
            J::Null => Ok(Value::Null),
            J::String(s) => Ok(Value::Xml(s.clone())),
            _ => Err(serializable_error("Xml")),
        },
        _ => Err(format!("Unsupported value type '{type_name}'")),
    }
}

/// Decode a request's typed variables; a bad one answers 400 `InvalidRequestException` with
/// Camunda's message after `prefix` (e.g. "Cannot complete task 42: ").
pub fn decode_or_invalid(map: Option<&J>, prefix: &str) -> super::ApiResult<Variables> {
    decode_variables(map)
        .map(|d| d.variables)
        .map_err(|m| super::ApiError::invalid(format!("{prefix}{m}")))
}

/// Decode a variables map (`null`/absent → empty).
pub fn decode_variables(map: Option<&J>) -> Result<Decoded, String> {
    let mut out = Decoded::default();
    let Some(map) = map else { return Ok(out) };
    let obj = match map {
        J::Null => return Ok(out),
        J::Object(o) => o,
        _ => return Err("variables must be a JSON object".to_owned()),
    };
    let limit = super::guard::client_limits().max_variables;
    if obj.len() > limit {
        return Err(format!(
            "Too many variables: {} in one request, the limit is {limit}",
            obj.len()
        ));
    }
    for (name, dto) in obj {
        let value = decode_value(dto).map_err(|e| {
            if e.starts_with("Cannot") || e.starts_with("Must") || e.starts_with("Unsupported") {
                e
            } else {
                format!("Cannot set variable '{name}': {e}")
            }
        })?;
        let transient = dto
            .get("valueInfo")
            .and_then(|i| i.get("transient"))
            .and_then(J::as_bool)
            .unwrap_or(false);
        if transient {
            out.transient.push(name.clone());
        }
        out.variables.insert(name.clone(), value);
    }
    Ok(out)
}

/// Untyped inference (see the module docs for the Json choice).
pub fn infer(value: &J) -> Value {
    Value::from_json(value)
}

/// Encode one value. `deserialize` controls Object values (Camunda's `deserializeValues`).
pub fn encode_value(v: &Value, deserialize: bool) -> J {
    let (value, info) = match v {
        Value::Null => (J::Null, json!({})),
        Value::String(s) => (J::String(s.clone()), json!({})),
        Value::Boolean(b) => (J::Bool(*b), json!({})),
        Value::Short(n) => (json!(n), json!({})),
        Value::Integer(n) => (json!(n), json!({})),
        Value::Long(n) => (json!(n), json!({})),
        Value::Double(n) => (
            serde_json::Number::from_f64(*n)
                .map(J::Number)
                .unwrap_or(J::Null),
            json!({}),
        ),
        Value::Date(ms) => (J::String(date::format(*ms)), json!({})),
        Value::Json(j) => (
            if j.is_null() {
                J::Null
            } else {
                J::String(j.to_string())
            },
            json!({}),
        ),
        Value::Xml(s) => (J::String(s.clone()), json!({})),
        Value::Object {
            type_name,
            format,
            serialized,
        } => {
            let is_json = format.as_deref().is_some_and(|f| f.contains("json"));
            let value = if deserialize && is_json {
                serde_json::from_str(serialized).unwrap_or_else(|_| J::String(serialized.clone()))
            } else {
                J::String(serialized.clone())
            };
            (
                value,
                json!({"objectTypeName": type_name, "serializationDataFormat": format}),
            )
        }
        Value::Bytes(b) => (
            J::String(base64::engine::general_purpose::STANDARD.encode(b)),
            json!({}),
        ),
        Value::File {
            filename,
            mime_type,
            encoding,
            ..
        } => (
            J::Null,
            json!({"filename": filename, "mimeType": mime_type, "encoding": encoding}),
        ),
    };
    json!({"type": v.type_name(), "value": value, "valueInfo": info})
}

/// Encode a variables map.
pub fn encode_variables(vars: &Variables, deserialize: bool) -> J {
    J::Object(
        vars.iter()
            .map(|(k, v)| (k.clone(), encode_value(v, deserialize)))
            .collect(),
    )
}

/// Whether a value is binary (served by the `/data` endpoints).
pub fn binary_content(v: &Value) -> Option<(&[u8], String, Option<String>)> {
    match v {
        Value::Bytes(b) => Some((b, "application/octet-stream".to_owned(), None)),
        Value::File {
            bytes,
            mime_type,
            encoding,
            filename,
        } => {
            let mut ct = mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            if let Some(enc) = encoding {
                ct = format!("{ct}; charset={enc}");
            }
            Some((bytes, ct, filename.clone()))
        }
        _ => None,
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A lossless integer from a JSON number or a numeric string.
fn integral(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        J::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('='))
        })
        .ok()
}

fn cannot_convert(v: &J, type_name: &str, java: &str) -> String {
    let shown = match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("Cannot convert value '{shown}' of type '{type_name}' to java type {java}")
}

fn serializable_error(type_name: &str) -> String {
    format!(
        "Must provide 'null' or String value for value of SerializableValue type '{type_name}'."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(j: J) -> Result<Value, String> {
        decode_value(&j)
    }

    #[test]
    fn typed_inputs_table() {
        let ok: Vec<(J, Value)> = vec![
            (
                json!({"type":"String","value":"a"}),
                Value::String("a".into()),
            ),
            (
                json!({"type":"string","value":"a"}),
                Value::String("a".into()),
            ),
            (
                json!({"type":"String","value":5}),
                Value::String("5".into()),
            ),
            (json!({"type":"Boolean","value":true}), Value::Boolean(true)),
            (
                json!({"type":"boolean","value":"false"}),
                Value::Boolean(false),
            ),
            (json!({"type":"Short","value":7}), Value::Short(7)),
            (json!({"type":"Integer","value":"42"}), Value::Integer(42)),
            (json!({"type":"integer","value":42}), Value::Integer(42)),
            (json!({"type":"Long","value":42}), Value::Long(42)),
            (
                json!({"type":"long","value":"5000000000"}),
                Value::Long(5_000_000_000),
            ),
            (json!({"type":"Double","value":1.5}), Value::Double(1.5)),
            (json!({"type":"Double","value":2}), Value::Double(2.0)),
            (json!({"type":"double","value":"2.5"}), Value::Double(2.5)),
            (json!({"type":"Null","value":null}), Value::Null),
            (json!({"type":"Integer","value":null}), Value::Null),
            (
                json!({"type":"Date","value":"2016-01-25T13:33:42.165+0000"}),
                Value::Date(1_453_728_822_165),
            ),
            (
                json!({"type":"date","value":"2016-01-25T13:33:42.165Z"}),
                Value::Date(1_453_728_822_165),
            ),
            (
                json!({"type":"Json","value":"{\"a\":1}"}),
                Value::Json(json!({"a":1})),
            ),
            (
                json!({"type":"json","value":"[1,2]"}),
                Value::Json(json!([1, 2])),
            ),
            (
                json!({"type":"Xml","value":"<a/>"}),
                Value::Xml("<a/>".into()),
            ),
            (
                json!({"type":"Bytes","value":"AQID"}),
                Value::Bytes(vec![1, 2, 3]),
            ),
            (
                json!({"type":"Object","value":"{\"k\":\"v\"}","valueInfo":{"objectTypeName":"com.x.Cls","serializationDataFormat":"application/json"}}),
                Value::Object {
                    type_name: Some("com.x.Cls".into()),
                    format: Some("application/json".into()),
                    serialized: "{\"k\":\"v\"}".into(),
                },
            ),
            (
                json!({"type":"file","value":"aGk=","valueInfo":{"filename":"a.txt","mimetype":"text/plain","encoding":"utf-8"}}),
                Value::File {
                    filename: Some("a.txt".into()),
                    mime_type: Some("text/plain".into()),
                    encoding: Some("utf-8".into()),
                    bytes: b"hi".to_vec(),
                },
            ),
        ];
        for (input, expected) in ok {
            assert_eq!(dec(input.clone()), Ok(expected), "{input}");
        }
    }

    #[test]
    fn untyped_inference() {
        assert_eq!(dec(json!({"value":"x"})), Ok(Value::String("x".into())));
        assert_eq!(dec(json!({"value":1})), Ok(Value::Integer(1)));
        assert_eq!(
            dec(json!({"value":5_000_000_000i64})),
            Ok(Value::Long(5_000_000_000))
        );
        assert_eq!(dec(json!({"value":1.25})), Ok(Value::Double(1.25)));
        assert_eq!(dec(json!({"value":true})), Ok(Value::Boolean(true)));
        assert_eq!(dec(json!({"value":null})), Ok(Value::Null));
        assert_eq!(dec(json!({})), Ok(Value::Null));
        assert_eq!(
            dec(json!({"value":{"a":[1]}})),
            Ok(Value::Json(json!({"a":[1]})))
        );
        assert_eq!(dec(json!({"value":[1]})), Ok(Value::Json(json!([1]))));
    }

    #[test]
    fn errors_use_camunda_messages() {
        assert_eq!(
            dec(json!({"type":"STRING","value":"a"})),
            Err("Unsupported value type 'STRING'".into())
        );
        assert_eq!(
            dec(json!({"type":"Integer","value":"x"})),
            Err("Cannot convert value 'x' of type 'Integer' to java type java.lang.Integer".into())
        );
        assert_eq!(
            dec(json!({"type":"Integer","value":5_000_000_000i64})),
            Err("Cannot convert value '5000000000' of type 'Integer' to java type java.lang.Integer".into())
        );
        assert!(dec(json!({"type":"Integer","value":1.5})).is_err());
        assert!(dec(json!({"type":"Boolean","value":"yes"})).is_err());
        assert!(dec(json!({"type":"Date","value":"tomorrow"})).is_err());
        assert!(dec(json!({"type":"Bytes","value":"!!"})).is_err());
        assert_eq!(
            dec(json!({"type":"Json","value":{"a":1}})),
            Err(
                "Must provide 'null' or String value for value of SerializableValue type 'Json'."
                    .into()
            )
        );
        assert!(dec(json!({"type":"Object","value":1})).is_err());
        assert!(dec(json!({"type":"Json","value":"{not json"})).is_err());
    }

    #[test]
    fn output_table() {
        let cases: Vec<(Value, J)> = vec![
            (
                Value::Null,
                json!({"type":"Null","value":null,"valueInfo":{}}),
            ),
            (
                Value::String("a".into()),
                json!({"type":"String","value":"a","valueInfo":{}}),
            ),
            (
                Value::Boolean(true),
                json!({"type":"Boolean","value":true,"valueInfo":{}}),
            ),
            (
                Value::Short(1),
                json!({"type":"Short","value":1,"valueInfo":{}}),
            ),
            (
                Value::Integer(2),
                json!({"type":"Integer","value":2,"valueInfo":{}}),
            ),
            (
                Value::Long(3),
                json!({"type":"Long","value":3,"valueInfo":{}}),
            ),
            (
                Value::Double(1.5),
                json!({"type":"Double","value":1.5,"valueInfo":{}}),
            ),
            (
                Value::Date(1_453_728_822_165),
                json!({"type":"Date","value":"2016-01-25T13:33:42.165+0000","valueInfo":{}}),
            ),
            (
                Value::Json(json!({"a":1})),
                json!({"type":"Json","value":"{\"a\":1}","valueInfo":{}}),
            ),
            (
                Value::Xml("<a/>".into()),
                json!({"type":"Xml","value":"<a/>","valueInfo":{}}),
            ),
            (
                Value::Bytes(vec![1, 2, 3]),
                json!({"type":"Bytes","value":"AQID","valueInfo":{}}),
            ),
            (
                Value::File {
                    filename: Some("a.txt".into()),
                    mime_type: Some("text/plain".into()),
                    encoding: None,
                    bytes: b"hi".to_vec(),
                },
                json!({"type":"File","value":null,"valueInfo":{"filename":"a.txt","mimeType":"text/plain","encoding":null}}),
            ),
        ];
        for (v, expected) in cases {
            assert_eq!(encode_value(&v, true), expected, "{v:?}");
        }
    }

    #[test]
    fn object_deserialization_is_optional() {
        let v = Value::Object {
            type_name: Some("C".into()),
            format: Some("application/json".into()),
            serialized: "{\"k\":1}".into(),
        };
        assert_eq!(encode_value(&v, true)["value"], json!({"k":1}));
        assert_eq!(encode_value(&v, false)["value"], json!("{\"k\":1}"));
        assert_eq!(
            encode_value(&v, false)["valueInfo"]["objectTypeName"],
            json!("C")
        );
    }

    #[test]
    fn round_trip_every_type() {
        let values = vec![
            Value::Null,
            Value::String("s".into()),
            Value::Boolean(false),
            Value::Short(-3),
            Value::Integer(i32::MAX),
            Value::Long(i64::MIN),
            Value::Double(-0.5),
            Value::Date(1_000),
            Value::Json(json!({"x":[true,null]})),
            Value::Xml("<x/>".into()),
            Value::Bytes(vec![0, 255]),
            Value::Object {
                type_name: None,
                format: Some("application/xml".into()),
                serialized: "<o/>".into(),
            },
        ];
        for v in values {
            assert_eq!(
                decode_value(&encode_value(&v, false)),
                Ok(v.clone()),
                "{v:?}"
            );
        }
    }

    #[test]
    fn transient_flag_is_reported() {
        let d = decode_variables(Some(&json!({
            "a": {"value": 1, "valueInfo": {"transient": true}},
            "b": {"value": 2, "type": "Long"}
        })))
        .expect("decode");
        assert_eq!(d.transient, vec!["a".to_owned()]);
        assert_eq!(d.variables.get("b"), Some(&Value::Long(2)));
        assert_eq!(decode_variables(Some(&J::Null)), Ok(Decoded::default()));
        assert_eq!(decode_variables(None), Ok(Decoded::default()));
    }
}
