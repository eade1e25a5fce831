//! Typed process variables: the one value type shared by the engine, the store, the REST API
//! and the wasm task interface.
//!
//! The variants mirror Camunda 7's value types so a variable written through the REST API
//! reads back with the same type name. `Date` is milliseconds since the Unix epoch (UTC);
//! formatting to Camunda's wire format is the REST layer's job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A map of variable name to typed value.
pub type Variables = BTreeMap<String, Value>;

/// One typed variable value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    /// The `Null` type.
    Null,
    /// A UTF-8 string (`String`).
    String(String),
    /// `Boolean`.
    Boolean(bool),
    /// `Short` (16-bit).
    Short(i16),
    /// `Integer` (32-bit).
    Integer(i32),
    /// `Long` (64-bit).
    Long(i64),
    /// `Double`.
    Double(f64),
    /// `Date`: milliseconds since the Unix epoch, UTC.
    Date(i64),
    /// `Json`: structured JSON (Camunda Spin's JSON type; sent as a string on the wire).
    Json(serde_json::Value),
    /// `Xml`: XML text (Camunda Spin's XML type).
    Xml(String),
    /// `Object`: a serialized object with its type name and serialization format.
    #[serde(serialize_with = "object_as_map")]
    Object {
        /// `valueInfo.objectTypeName`.
        type_name: Option<String>,
        /// `valueInfo.serializationDataFormat`, e.g. `application/json`.
        format: Option<String>,
        /// The serialized form, exactly as received.
        serialized: String,
    },
    /// `Bytes`: raw bytes.
    Bytes(Vec<u8>),
    /// `File`: bytes with a file name, mime type and encoding.
    #[serde(serialize_with = "file_as_map")]
    File {
        /// `valueInfo.filename`.
        filename: Option<String>,
        /// `valueInfo.mimeType`.
        mime_type: Option<String>,
        /// `valueInfo.encoding`.
        encoding: Option<String>,
        /// The file content.
        bytes: Vec<u8>,
    },
}

// The struct variants' contents are written as maps whatever the format: a positional format
// (the host's store writes structs as arrays) would write them as arrays, which serde's
// adjacently tagged enums cannot read back. In self-describing formats (JSON, MessagePack
// with field names) a map with these keys is exactly what the derived code writes.
fn object_as_map<S: serde::Serializer>(
    type_name: &Option<String>,
    format: &Option<String>,
    serialized: &String,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(3))?;
    map.serialize_entry("type_name", type_name)?;
    map.serialize_entry("format", format)?;
    map.serialize_entry("serialized", serialized)?;
    map.end()
}

fn file_as_map<S: serde::Serializer>(
    filename: &Option<String>,
    mime_type: &Option<String>,
    encoding: &Option<String>,
    bytes: &Vec<u8>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(4))?;
    map.serialize_entry("filename", filename)?;
    map.serialize_entry("mime_type", mime_type)?;
    map.serialize_entry("encoding", encoding)?;
    map.serialize_entry("bytes", bytes)?;
    map.end()
}

impl Value {
    /// The Camunda REST type name (`String`, `Integer`, `Json`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "Null",
            Value::String(_) => "String",
            Value::Boolean(_) => "Boolean",
            Value::Short(_) => "Short",
            Value::Integer(_) => "Integer",
            Value::Long(_) => "Long",
            Value::Double(_) => "Double",
            Value::Date(_) => "Date",
            Value::Json(_) => "Json",
            Value::Xml(_) => "Xml",
            Value::Object { .. } => "Object",
            Value::Bytes(_) => "Bytes",
            Value::File { .. } => "File",
        }
    }

    /// Truthiness as JUEL coerces to boolean: only `true` and the string `"true"` are true.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The value as a 64-bit float, for numeric comparison.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Short(n) => Some(f64::from(*n)),
            Value::Integer(n) => Some(f64::from(*n)),
            Value::Long(n) => Some(*n as f64),
            Value::Double(n) => Some(*n),
            Value::Json(serde_json::Value::Number(n)) => n.as_f64(),
            _ => None,
        }
    }

    /// The value as a 64-bit integer when it is an integral number.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Short(n) => Some(i64::from(*n)),
            Value::Integer(n) => Some(i64::from(*n)),
            Value::Long(n) => Some(*n),
            Value::Double(n) if n.fract() == 0.0 && n.is_finite() => Some(*n as i64),
            Value::Json(serde_json::Value::Number(n)) => n.as_i64(),
            _ => None,
        }
    }

    /// The value as a string slice when it is textual.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Xml(s) => Some(s),
            _ => None,
        }
    }

    /// A plain JSON view of the value (used by expressions over JSON variables, by wasm and by
    /// `Json` conversion). Bytes become base64 strings, dates milliseconds.
    pub fn to_json(&self) -> serde_json::Value {
        use base64::Engine as _;
        match self {
            Value::Null => serde_json::Value::Null,
            Value::String(s) | Value::Xml(s) => serde_json::Value::String(s.clone()),
            Value::Boolean(b) => serde_json::Value::Bool(*b),
            Value::Short(n) => serde_json::Value::from(*n),
            Value::Integer(n) => serde_json::Value::from(*n),
            Value::Long(n) => serde_json::Value::from(*n),
            Value::Double(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Date(ms) => serde_json::Value::from(*ms),
            Value::Json(v) => v.clone(),
            Value::Object { serialized, .. } => serde_json::from_str(serialized)
                .unwrap_or_else(|_| serde_json::Value::String(serialized.clone())),
            Value::Bytes(b) | Value::File { bytes: b, .. } => {
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
        }
    }

    /// The natural typed value of a plain JSON value: strings, booleans, numbers (Integer when
    /// it fits 32 bits, else Long, else Double), null; objects and arrays become `Json`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Boolean(*b),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    match i32::try_from(i) {
                        Ok(small) => Value::Integer(small),
                        Err(_) => Value::Long(i),
                    }
                } else {
                    Value::Double(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            other => Value::Json(other.clone()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Integer(n)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Long(n)
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Double(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_pick_the_narrowest_camunda_type() {
        assert_eq!(Value::from_json(&serde_json::json!(42)), Value::Integer(42));
        assert_eq!(
            Value::from_json(&serde_json::json!(5_000_000_000i64)),
            Value::Long(5_000_000_000)
        );
        assert_eq!(
            Value::from_json(&serde_json::json!(1.5)),
            Value::Double(1.5)
        );
        assert!(matches!(
            Value::from_json(&serde_json::json!({"a": 1})),
            Value::Json(_)
        ));
    }

    #[test]
    fn struct_variants_serialize_as_the_derived_code_did() {
        let object = Value::Object {
            type_name: Some("com.example.Order".into()),
            format: None,
            serialized: "{}".into(),
        };
        assert_eq!(
            serde_json::to_string(&object).expect("json"),
            r#"{"t":"Object","v":{"type_name":"com.example.Order","format":null,"serialized":"{}"}}"#
        );
        let file = Value::File {
            filename: Some("a.txt".into()),
            mime_type: None,
            encoding: Some("utf-8".into()),
            bytes: vec![104, 105],
        };
        let json = serde_json::to_string(&file).expect("json");
        assert_eq!(
            json,
            r#"{"t":"File","v":{"filename":"a.txt","mime_type":null,"encoding":"utf-8","bytes":[104,105]}}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&json).expect("read"), file);
    }

    #[test]
    fn stored_encoding_round_trips() {
        let v = Value::File {
            filename: Some("a.txt".into()),
            mime_type: Some("text/plain".into()),
            encoding: None,
            bytes: vec![1, 2, 3],
        };
        let s = serde_json::to_string(&v).expect("encode");
        assert_eq!(serde_json::from_str::<Value>(&s).expect("decode"), v);
    }
}
