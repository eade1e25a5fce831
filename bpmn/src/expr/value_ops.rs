//! Value semantics shared by both expression languages and by FEEL's built-in functions: the
//! numeric view of a value, JSON structure and equality, type names for messages, and the text
//! form of a value (Java's number formatting). A leaf among the evaluator modules: the tree
//! walker (`eval`), the operator rules (`juel_ops`, `feel_ops`) and the FEEL built-ins (`feel`)
//! all depend on it, and it depends on none of them.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::ExprError;
use super::syntax::error;
use crate::value::Value;

/// Text form of a value: what a JUEL template or `eval_string` shows. Numbers print as Java
/// does (`1.0`, `1.0E10`), dates as ISO 8601 UTC, structures as compact JSON.
pub(crate) fn to_display_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::String(s) | Value::Xml(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Short(n) => n.to_string(),
        Value::Integer(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Double(f) => java_double(*f),
        Value::Date(ms) => chrono::DateTime::<chrono::Utc>::from_timestamp_millis(*ms)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_else(|| ms.to_string()),
        Value::Json(Json::String(s)) => s.clone(),
        Value::Object { serialized, .. } => serialized.clone(),
        other => other.to_json().to_string(),
    }
}

/// `Double.toString` as Java writes it.
pub(super) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = f.to_string();
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    // Scientific: Rust writes 1e10 / 1.5e-5, Java 1.0E10 / 1.5E-5.
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => format!("{m}E{e}"),
        Some((m, e)) => format!("{m}.0E{e}"),
        None => s,
    }
}

/// A number during arithmetic.
#[derive(Debug, Clone, Copy)]
pub(super) enum Num {
    I(i64),
    F(f64),
}

impl Num {
    pub(super) fn f(self) -> f64 {
        match self {
            Num::I(n) => n as f64,
            Num::F(f) => f,
        }
    }
}

/// The number in a numeric value.
pub(super) fn num_of(v: &Value) -> Option<Num> {
    match v {
        Value::Short(n) => Some(Num::I(i64::from(*n))),
        Value::Integer(n) => Some(Num::I(i64::from(*n))),
        Value::Long(n) => Some(Num::I(*n)),
        Value::Double(f) => Some(Num::F(*f)),
        Value::Json(Json::Number(n)) => n.as_i64().map(Num::I).or(n.as_f64().map(Num::F)),
        _ => None,
    }
}

pub(super) fn is_integral(v: &Value) -> bool {
    matches!(v, Value::Short(_) | Value::Integer(_) | Value::Long(_))
}

/// Plain JSON scalars stored as `Json` behave like the typed values they are.
pub(super) fn normalize(v: Value) -> Value {
    match v {
        Value::Json(j) if !j.is_array() && !j.is_object() => Value::from_json(&j),
        other => other,
    }
}

/// The JSON structure (object or array) inside a value, if any.
pub(super) fn structure(v: &Value) -> Option<Cow<'_, Json>> {
    match v {
        Value::Json(j) if j.is_array() || j.is_object() => Some(Cow::Borrowed(j)),
        Value::Object { serialized, .. } => serde_json::from_str::<Json>(serialized)
            .ok()
            .filter(|j| j.is_array() || j.is_object())
            .map(Cow::Owned),
        _ => None,
    }
}

/// Structural JSON equality with numbers compared by value (`1` equals `1.0`).
pub(super) fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Json(Json::Array(_)) => "list",
        Value::Json(Json::Object(_)) => "map",
        other => other.type_name(),
    }
}

/// EL's and FEEL's `empty`: null, the empty string, an empty list or map.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        other => match structure(other).as_deref() {
            Some(Json::Array(a)) => a.is_empty(),
            Some(Json::Object(m)) => m.is_empty(),
            _ => false,
        },
    }
}

/// The error for a call with the wrong number of arguments; `n` says how many it takes.
pub(crate) fn arity(name: &str, n: &str) -> ExprError {
    error(format!("function '{name}' takes {n} argument(s)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_formatting() {
        let rows: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.0, "-2.0"),
            (0.0, "0.0"),
            (1e10, "1.0E10"),
            (1.5e-5, "1.5E-5"),
            (1234567.0, "1234567.0"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (f, want) in rows {
            assert_eq!(java_double(*f), *want);
        }
    }
}
