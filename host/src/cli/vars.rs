//! Variables typed on the command line (`--var name=value`, `--var name:type=value`) and the
//! `--answers` file of `baton run`.
//!
//! Type inference for `--var` (the same guesses a person makes reading the text):
//! `true`/`false` → Boolean; an integer → Integer (32 bit) or Long; a decimal number →
//! Double; a JSON object or array → Json; anything else → String. `name:type=value` forces
//! the type: string, boolean, integer, long, short, double, json, date (ISO 8601 or ms), null.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use baton_bpmn::{Value, Variables};

/// Parse one `--var` argument.
pub fn parse_var(arg: &str) -> Result<(String, Value), String> {
    let Some((lhs, text)) = arg.split_once('=') else {
        return Err(format!(
            "--var `{arg}`: expected name=value (or name:type=value)"
        ));
    };
    let (name, ty) = match lhs.split_once(':') {
        Some((n, t)) => (n.trim(), Some(t.trim())),
        None => (lhs.trim(), None),
    };
    if name.is_empty() {
        return Err(format!("--var `{arg}`: the variable name is empty"));
    }
    let value = match ty {
        None => infer(text),
        Some(t) => typed(t, text).map_err(|e| format!("--var `{arg}`: {e}"))?,
    };
    Ok((name.to_owned(), value))
}

/// The natural type of a text value (see the module docs).
pub fn infer(text: &str) -> Value {
    let t = text.trim();
    match t {
        "true" => return Value::Boolean(true),
        "false" => return Value::Boolean(false),
        _ => {}
    }
    let numeric = !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        && t.chars().any(|c| c.is_ascii_digit());
    if numeric {
        if let Ok(i) = t.parse::<i64>() {
            return match i32::try_from(i) {
                Ok(small) => Value::Integer(small),
                Err(_) => Value::Long(i),
            };
        }
        if let Ok(f) = t.parse::<f64>()
            && f.is_finite()
        {
            return Value::Double(f);
        }
    }
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(t)
    {
        return Value::Json(json);
    }
    Value::String(text.to_owned())
}

/// A value of an explicit type.
pub fn typed(ty: &str, text: &str) -> Result<Value, String> {
    let t = text.trim();
    let bad = |what: &str| format!("`{text}` is not {what}");
    Ok(match ty.to_ascii_lowercase().as_str() {
        "string" => Value::String(text.to_owned()),
        "boolean" | "bool" => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Value::Boolean(true),
            "false" | "no" | "n" | "0" => Value::Boolean(false),
            _ => return Err(bad("a boolean (true/false)")),
        },
        "integer" | "int" => Value::Integer(t.parse().map_err(|_| bad("a 32-bit integer"))?),
        "long" => Value::Long(t.parse().map_err(|_| bad("a 64-bit integer"))?),
        "short" => Value::Short(t.parse().map_err(|_| bad("a 16-bit integer"))?),
        "double" | "float" => Value::Double(t.parse().map_err(|_| bad("a number"))?),
        "json" => Value::Json(serde_json::from_str(t).map_err(|e| format!("invalid JSON: {e}"))?),
        "date" => match t.parse::<i64>() {
            Ok(ms) => Value::Date(ms),
            Err(_) => Value::Date(
                baton_bpmn::timer::parse_date(t)
                    .map_err(|_| bad("an ISO 8601 date or epoch milliseconds"))?,
            ),
        },
        "null" => Value::Null,
        other => {
            return Err(format!(
                "unknown type `{other}` (string, boolean, integer, long, short, double, json, date, null)"
            ));
        }
    })
}

/// Variables of one answer: a JSON object, each value converted by [`Value::from_json`]
/// (objects and arrays become Json).
fn answer_variables(json: &serde_json::Value, context: &str) -> Result<Variables, String> {
    let obj = json
        .as_object()
        .ok_or_else(|| format!("{context}: an answer must be a JSON object of variables"))?;
    Ok(obj
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect())
}

/// Answers for user tasks, from `--answers answers.json`. Two shapes:
///
/// - an object keyed by task definition key (the user task's element id): the value is the
///   variables to complete it with, or a list of such objects used one after the other when the
///   task comes up several times (loops): `{"ApproveOrder": {"approved": true}}`;
/// - a list of variable objects consumed in order by whichever user tasks come up:
///   `[{"approved": true}, {"approved": false}]`.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    by_key: BTreeMap<String, VecDeque<Variables>>,
    in_order: VecDeque<Variables>,
}

impl Answers {
    /// Parse the file's JSON text.
    pub fn parse(text: &str) -> Result<Answers, String> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let mut answers = Answers::default();
        match &json {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let list = match v {
                        serde_json::Value::Array(items) => items
                            .iter()
                            .map(|item| answer_variables(item, key))
                            .collect::<Result<VecDeque<_>, _>>()?,
                        other => VecDeque::from([answer_variables(other, key)?]),
                    };
                    answers.by_key.insert(key.clone(), list);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    answers
                        .in_order
                        .push_back(answer_variables(item, &format!("answer #{}", i + 1))?);
                }
            }
            _ => {
                return Err(
                    "expected an object keyed by task definition key, or a list of answers".into(),
                );
            }
        }
        Ok(answers)
    }

    /// Read and parse a file.
    pub fn read(path: &Path) -> Result<Answers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read answers file {}: {e}", path.display()))?;
        Answers::parse(&text).map_err(|e| format!("answers file {}: {e}", path.display()))
    }

    /// The next answer for a task with this definition key, if any (removed from the file's
    /// answers).
    pub fn take(&mut self, task_definition_key: &str) -> Option<Variables> {
        if let Some(list) = self.by_key.get_mut(task_definition_key)
            && let Some(v) = list.pop_front()
        {
            return Some(v);
        }
        self.in_order.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference() {
        assert_eq!(infer("true"), Value::Boolean(true));
        assert_eq!(infer("42"), Value::Integer(42));
        assert_eq!(infer("5000000000"), Value::Long(5_000_000_000));
        assert_eq!(infer("2.5"), Value::Double(2.5));
        assert_eq!(infer("NaN"), Value::String("NaN".into()));
        assert_eq!(infer("1-2"), Value::String("1-2".into()));
        assert_eq!(infer("[1,2]"), Value::Json(serde_json::json!([1, 2])));
        assert_eq!(infer("{oops"), Value::String("{oops".into()));
        assert_eq!(infer("hello"), Value::String("hello".into()));
    }

    #[test]
    fn forced_types() {
        assert_eq!(
            parse_var("id:string=42").ok(),
            Some(("id".into(), Value::String("42".into())))
        );
        assert_eq!(
            parse_var("n:long=7").ok(),
            Some(("n".into(), Value::Long(7)))
        );
        assert!(parse_var("n:integer=x").is_err());
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=1").is_err());
        assert!(parse_var("x:weird=1").is_err());
    }

    #[test]
    fn answers_by_key_and_in_order() {
        let mut a =
            Answers::parse(r#"{"A": {"ok": true}, "B": [{"n": 1}, {"n": 2}]}"#).expect("parse");
        assert_eq!(
            a.take("A").and_then(|v| v.get("ok").cloned()),
            Some(Value::Boolean(true))
        );
        assert!(a.take("A").is_none());
        assert_eq!(
            a.take("B").and_then(|v| v.get("n").cloned()),
            Some(Value::Integer(1))
        );
        assert_eq!(
            a.take("B").and_then(|v| v.get("n").cloned()),
            Some(Value::Integer(2))
        );
        let mut l = Answers::parse(r#"[{"x": "y"}]"#).expect("parse");
        assert!(l.take("anything").is_some());
        assert!(l.take("anything").is_none());
        assert!(Answers::parse("3").is_err());
        assert!(Answers::parse(r#"{"A": 3}"#).is_err());
    }
}
