//! JUEL operator rules (EL 2.2 coercions): boolean and numeric coercion, unary and binary
//! operators, equality and ordering, indexing, and the Java `String` methods a JUEL expression
//! may call on a value. An operand of the wrong type is an error, as in Camunda 7.

use serde_json::Value as Json;

use super::ExprError;
use super::ast::{BinaryOp, UnaryOp};
use super::juel::int_value;
use super::syntax::error;
use super::value_ops::{
    Num, is_empty, is_integral, json_eq, num_of, structure, to_display_string, type_name,
};
use crate::value::Value;

/// EL's coercion to Boolean: null and "" are false, strings are `"true"` or not.
pub(super) fn juel_bool(v: &Value) -> Result<bool, ExprError> {
    match v {
        Value::Null => Ok(false),
        Value::Boolean(b) => Ok(*b),
        Value::String(s) => Ok(s.eq_ignore_ascii_case("true")),
        other => Err(error(format!(
            "Cannot coerce a {} value to Boolean",
            type_name(other)
        ))),
    }
}

/// Doubles, and strings that look like decimals, make EL arithmetic use Double.
pub(super) fn float_like(v: &Value) -> bool {
    match v {
        Value::Double(_) => true,
        Value::String(s) => s.contains(['.', 'e', 'E']),
        _ => false,
    }
}

/// EL's coercion to a number (Long when `float` is false, Double when true).
pub(super) fn juel_num(v: &Value, float: bool) -> Result<Num, ExprError> {
    let n = match v {
        Value::Null => Num::I(0),
        Value::String(s) if s.trim().is_empty() => Num::I(0),
        Value::String(s) => {
            let t = s.trim();
            let parsed = if float {
                t.parse::<f64>()
                    .ok()
                    .filter(|_| looks_numeric(t))
                    .map(Num::F)
            } else {
                t.parse::<i64>().ok().map(Num::I)
            };
            parsed.ok_or_else(|| error(format!("Cannot coerce '{s}' to a number")))?
        }
        other => num_of(other).ok_or_else(|| {
            error(format!(
                "Cannot coerce a {} value to a number",
                type_name(other)
            ))
        })?,
    };
    Ok(match (n, float) {
        (Num::I(i), true) => Num::F(i as f64),
        // Java's (long) cast truncates and saturates, like Rust's `as`.
        (Num::F(f), false) => Num::I(f as i64),
        (n, _) => n,
    })
}

/// Rust's float parser also accepts "inf" and "NaN"; Java's only digits and exponents here.
pub(super) fn looks_numeric(t: &str) -> bool {
    t.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

pub(super) fn overflow(op: &str) -> ExprError {
    error(format!("integer overflow in '{op}'"))
}

pub(super) fn juel_unary(op: UnaryOp, v: &Value) -> Result<Value, ExprError> {
    match op {
        UnaryOp::Not => Ok(Value::Boolean(!juel_bool(v)?)),
        UnaryOp::Empty => Ok(Value::Boolean(is_empty(v))),
        // EL keeps the operand's type for `-`: -Integer is an Integer, -Long a Long.
        UnaryOp::Neg => match juel_num(v, float_like(v))? {
            Num::I(n) if matches!(v, Value::Integer(_) | Value::Short(_)) => {
                n.checked_neg().map(int_value).ok_or_else(|| overflow("-"))
            }
            Num::I(n) => n
                .checked_neg()
                .map(Value::Long)
                .ok_or_else(|| overflow("-")),
            Num::F(f) => Ok(Value::Double(-f)),
        },
    }
}

/// EL 1.7 arithmetic as de.odysseus juel does it: integral operands are coerced to Long, so
/// `${x + 5}` with an Integer `x` is a Long (Camunda stores it as a Long variable); a Double or
/// a decimal-looking string makes it Double; `/` is always Double.
pub(super) fn juel_binary(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, ExprError> {
    use BinaryOp::*;
    match op {
        Add | Sub | Mul => {
            if a == &Value::Null && b == &Value::Null {
                return Ok(Value::Long(0));
            }
            let float = float_like(a) || float_like(b);
            let (x, y) = (juel_num(a, float)?, juel_num(b, float)?);
            match (x, y) {
                (Num::I(x), Num::I(y)) => {
                    let (r, sym) = match op {
                        Add => (x.checked_add(y), "+"),
                        Sub => (x.checked_sub(y), "-"),
                        _ => (x.checked_mul(y), "*"),
                    };
                    r.map(Value::Long).ok_or_else(|| overflow(sym))
                }
                (x, y) => Ok(Value::Double(match op {
                    Add => x.f() + y.f(),
                    Sub => x.f() - y.f(),
                    _ => x.f() * y.f(),
                })),
            }
        }
        Div | Pow => {
            if a == &Value::Null && b == &Value::Null {
                return Ok(Value::Integer(0));
            }
            let (x, y) = (juel_num(a, true)?.f(), juel_num(b, true)?.f());
            Ok(Value::Double(if op == Div { x / y } else { x.powf(y) }))
        }
        Mod => {
            if a == &Value::Null && b == &Value::Null {
                return Ok(Value::Long(0));
            }
            let float = float_like(a) || float_like(b);
            match (juel_num(a, float)?, juel_num(b, float)?) {
                (Num::I(_), Num::I(0)) => Err(error("division by zero in '%'")),
                (Num::I(x), Num::I(y)) => Ok(Value::Long(x.wrapping_rem(y))),
                (x, y) => Ok(Value::Double(x.f() % y.f())),
            }
        }
        Eq => juel_eq(a, b).map(Value::Boolean),
        Ne => juel_eq(a, b).map(|e| Value::Boolean(!e)),
        Lt | Gt | Le | Ge => juel_cmp(op, a, b).map(Value::Boolean),
        And | Or => {
            let (x, y) = (juel_bool(a)?, juel_bool(b)?);
            Ok(Value::Boolean(if op == And { x && y } else { x || y }))
        }
    }
}

/// EL 1.8.2 equality.
pub(super) fn juel_eq(a: &Value, b: &Value) -> Result<bool, ExprError> {
    match (a, b) {
        (Value::Null, Value::Null) => return Ok(true),
        (Value::Null, _) | (_, Value::Null) => return Ok(false),
        _ => {}
    }
    if matches!(a, Value::Double(_)) || matches!(b, Value::Double(_)) {
        return Ok(juel_num(a, true)?.f() == juel_num(b, true)?.f());
    }
    if is_integral(a) || is_integral(b) {
        return match (juel_num(a, false)?, juel_num(b, false)?) {
            (Num::I(x), Num::I(y)) => Ok(x == y),
            (x, y) => Ok(x.f() == y.f()),
        };
    }
    if matches!(a, Value::Boolean(_)) || matches!(b, Value::Boolean(_)) {
        return Ok(juel_bool(a)? == juel_bool(b)?);
    }
    if matches!(a, Value::String(_)) || matches!(b, Value::String(_)) {
        return Ok(to_display_string(a) == to_display_string(b));
    }
    Ok(match (structure(a), structure(b)) {
        (Some(x), Some(y)) => json_eq(&x, &y),
        _ => a == b,
    })
}

/// EL 1.8.1 ordering.
pub(super) fn juel_cmp(op: BinaryOp, a: &Value, b: &Value) -> Result<bool, ExprError> {
    use std::cmp::Ordering;
    if a == &Value::Null || b == &Value::Null {
        return Ok(false);
    }
    let ord: Option<Ordering> = if matches!(a, Value::Double(_)) || matches!(b, Value::Double(_)) {
        juel_num(a, true)?.f().partial_cmp(&juel_num(b, true)?.f())
    } else if is_integral(a) || is_integral(b) {
        match (juel_num(a, false)?, juel_num(b, false)?) {
            (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
            (x, y) => x.f().partial_cmp(&y.f()),
        }
    } else {
        match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            (Value::Boolean(x), Value::Boolean(y)) => Some(x.cmp(y)),
            (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
            _ => {
                return Err(error(format!(
                    "Cannot compare a {} value with a {} value",
                    type_name(a),
                    type_name(b)
                )));
            }
        }
    };
    Ok(ord.is_some_and(|o| match op {
        BinaryOp::Lt => o == Ordering::Less,
        BinaryOp::Gt => o == Ordering::Greater,
        BinaryOp::Le => o != Ordering::Greater,
        _ => o != Ordering::Less,
    }))
}

pub(super) fn juel_index(base: &Value, key: &Value) -> Result<Value, ExprError> {
    if base == &Value::Null || key == &Value::Null {
        return Ok(Value::Null);
    }
    match structure(base).as_deref() {
        Some(Json::Array(items)) => {
            let i = match juel_num(key, false) {
                Ok(Num::I(i)) => i,
                _ => {
                    return Err(error(format!(
                        "Cannot use {} as a list index",
                        to_display_string(key)
                    )));
                }
            };
            Ok(usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .map_or(Value::Null, Value::from_json))
        }
        Some(Json::Object(m)) => Ok(m
            .get(&to_display_string(key))
            .map_or(Value::Null, Value::from_json)),
        _ => Err(error(format!(
            "Cannot resolve property '{}' of a {} value",
            to_display_string(key),
            type_name(base)
        ))),
    }
}

pub(super) fn str_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a str, ExprError> {
    match args {
        [Value::String(s)] => Ok(s),
        [other] => Ok(match other {
            Value::Xml(s) => s,
            _ => {
                return Err(error(format!(
                    "{name}() needs a string argument, not a {}",
                    type_name(other)
                )));
            }
        }),
        _ => Err(error(format!("{name}() takes one argument"))),
    }
}

/// The methods Camunda models call on values: a few of `java.lang.String`, `java.util.List`
/// and `Map`, and Camunda Spin's JSON accessors (`prop`, `stringValue`, ...).
pub(super) fn juel_method(base: &Value, name: &str, args: &[Value]) -> Result<Value, ExprError> {
    if base == &Value::Null {
        return Err(error(format!("Cannot call {name}() on null")));
    }
    let no_args = || {
        if args.is_empty() {
            Ok(())
        } else {
            Err(error(format!("{name}() takes no arguments")))
        }
    };
    let text = base.as_str();
    let st = structure(base);
    let unsupported = || {
        error(format!(
            "method '{name}' with {} argument(s) is not supported on a {} value",
            args.len(),
            type_name(base)
        ))
    };
    match (name, text, st.as_deref()) {
        ("size", _, Some(Json::Array(a))) => no_args().map(|_| int_value(a.len() as i64)),
        ("size", _, Some(Json::Object(m))) => no_args().map(|_| int_value(m.len() as i64)),
        ("isEmpty", Some(s), _) => no_args().map(|_| Value::Boolean(s.is_empty())),
        ("isEmpty", _, Some(_)) => no_args().map(|_| Value::Boolean(is_empty(base))),
        ("length", Some(s), _) => no_args().map(|_| int_value(s.encode_utf16().count() as i64)),
        ("contains", Some(s), _) => {
            let t = str_arg(name, args)?;
            Ok(Value::Boolean(s.contains(t)))
        }
        ("contains", _, Some(Json::Array(items))) => match args {
            [x] => {
                Ok(Value::Boolean(items.iter().any(|i| {
                    juel_eq(&Value::from_json(i), x).unwrap_or(false)
                })))
            }
            _ => Err(unsupported()),
        },
        ("containsKey" | "hasProp", _, Some(Json::Object(m))) => {
            let k = str_arg(name, args)?;
            Ok(Value::Boolean(m.contains_key(k)))
        }
        ("get", _, Some(Json::Object(m))) => match args {
            [k] => Ok(m
                .get(&to_display_string(k))
                .map_or(Value::Null, Value::from_json)),
            _ => Err(unsupported()),
        },
        ("get", _, Some(Json::Array(items))) => match args {
            [k] => {
                let i = juel_num(k, false)?;
                match i {
                    Num::I(i) => usize::try_from(i)
                        .ok()
                        .and_then(|i| items.get(i))
                        .map(Value::from_json)
                        .ok_or_else(|| {
                            error(format!(
                                "index {i} is out of bounds for a list of {}",
                                items.len()
                            ))
                        }),
                    Num::F(_) => Err(unsupported()),
                }
            }
            _ => Err(unsupported()),
        },
        ("prop", _, Some(Json::Object(m))) => {
            let k = str_arg(name, args)?;
            m.get(k)
                .map(Value::from_json)
                .ok_or_else(|| error(format!("JSON property '{k}' not found")))
        }
        ("elements", _, Some(Json::Array(_))) | ("value", _, _) => no_args().map(|_| base.clone()),
        ("startsWith", Some(s), _) => Ok(Value::Boolean(s.starts_with(str_arg(name, args)?))),
        ("endsWith", Some(s), _) => Ok(Value::Boolean(s.ends_with(str_arg(name, args)?))),
        ("equalsIgnoreCase", Some(s), _) => Ok(Value::Boolean(
            s.to_lowercase() == str_arg(name, args)?.to_lowercase(),
        )),
        ("indexOf", Some(s), _) => {
            let t = str_arg(name, args)?;
            Ok(int_value(
                s.find(t)
                    .map_or(-1, |b| s[..b].encode_utf16().count() as i64),
            ))
        }
        ("concat", Some(s), _) => Ok(Value::String(format!("{s}{}", str_arg(name, args)?))),
        ("toUpperCase", Some(s), _) => no_args().map(|_| Value::String(s.to_uppercase())),
        ("toLowerCase", Some(s), _) => no_args().map(|_| Value::String(s.to_lowercase())),
        ("trim", Some(s), _) => no_args().map(|_| Value::String(s.trim().to_owned())),
        ("substring", Some(s), _) => substring(s, args),
        ("equals", _, _) => match args {
            [x] => Ok(Value::Boolean(match (base, x) {
                (Value::String(a), Value::String(b)) => a == b,
                (Value::String(_), _) | (_, Value::String(_)) => false,
                _ => juel_eq(base, x).unwrap_or(false),
            })),
            _ => Err(unsupported()),
        },
        ("toString" | "stringValue", _, _) => {
            no_args().map(|_| Value::String(to_display_string(base)))
        }
        ("numberValue", _, _) if num_of(base).is_some() => no_args().map(|_| base.clone()),
        ("boolValue", _, _) if matches!(base, Value::Boolean(_)) => no_args().map(|_| base.clone()),
        _ => Err(unsupported()),
    }
}

/// Java's `substring(begin[, end])` over characters, with its bounds errors.
pub(super) fn substring(s: &str, args: &[Value]) -> Result<Value, ExprError> {
    let chars: Vec<char> = s.chars().collect();
    let idx = |v: &Value| match juel_num(v, false) {
        Ok(Num::I(i)) => usize::try_from(i).ok().filter(|i| *i <= chars.len()),
        _ => None,
    };
    let (begin, end) = match args {
        [b] => (idx(b), Some(chars.len())),
        [b, e] => (idx(b), idx(e)),
        _ => return Err(error("substring() takes one or two arguments")),
    };
    match (begin, end) {
        (Some(b), Some(e)) if b <= e => Ok(Value::String(chars[b..e].iter().collect())),
        _ => Err(error(format!(
            "substring index out of range for a string of length {}",
            chars.len()
        ))),
    }
}
