//! FEEL operator rules: three-valued logic, equality and ordering across types, and
//! arithmetic that falls back to Double on overflow. A type mismatch yields null, never an
//! error. FEEL's built-in functions (`feel::call_builtin`) reuse the same equality, ordering
//! and arithmetic, which is why these live here and not in the tree walker.

use super::ast::{BinaryOp, UnaryOp};
use super::juel::int_value;
use super::value_ops::{Num, is_empty, json_eq, num_of, structure};
use crate::value::Value;

pub(super) fn feel_unary(op: UnaryOp, v: &Value) -> Value {
    match (op, v) {
        (UnaryOp::Not, Value::Boolean(b)) => Value::Boolean(!b),
        (UnaryOp::Neg, v) => match num_of(v) {
            Some(Num::I(n)) => n
                .checked_neg()
                .map_or(Value::Double(-(n as f64)), int_value),
            Some(Num::F(f)) => Value::Double(-f),
            None => Value::Null,
        },
        (UnaryOp::Empty, v) => Value::Boolean(is_empty(v)),
        _ => Value::Null,
    }
}

pub(super) fn feel_and(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Boolean(false), _) | (_, Value::Boolean(false)) => Value::Boolean(false),
        (Value::Boolean(true), Value::Boolean(true)) => Value::Boolean(true),
        _ => Value::Null,
    }
}

pub(super) fn feel_or(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Boolean(true), _) | (_, Value::Boolean(true)) => Value::Boolean(true),
        (Value::Boolean(false), Value::Boolean(false)) => Value::Boolean(false),
        _ => Value::Null,
    }
}

/// FEEL equality: null only equals null; values of different kinds are not comparable (null).
pub(crate) fn feel_eq(a: &Value, b: &Value) -> Value {
    let eq = match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => match (num_of(a), num_of(b)) {
            (Some(Num::I(x)), Some(Num::I(y))) => x == y,
            (Some(x), Some(y)) => x.f() == y.f(),
            (None, None) => match (a, b) {
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Boolean(x), Value::Boolean(y)) => x == y,
                (Value::Date(x), Value::Date(y)) => x == y,
                _ => match (structure(a), structure(b)) {
                    (Some(x), Some(y)) => json_eq(&x, &y),
                    _ => return Value::Null,
                },
            },
            _ => return Value::Null,
        },
    };
    Value::Boolean(eq)
}

/// FEEL ordering of two values of the same kind, else `None`.
pub(crate) fn feel_order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (num_of(a), num_of(b)) {
        (Some(Num::I(x)), Some(Num::I(y))) => Some(x.cmp(&y)),
        (Some(x), Some(y)) => x.f().partial_cmp(&y.f()),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
            _ => None,
        },
    }
}

/// FEEL arithmetic on two numbers: exact on integers while it fits, else Double.
pub(crate) fn feel_arith(op: BinaryOp, x: Value, y: Value) -> Value {
    let (Some(a), Some(b)) = (num_of(&x), num_of(&y)) else {
        return Value::Null;
    };
    let exact = match (op, a, b) {
        (BinaryOp::Add, Num::I(a), Num::I(b)) => a.checked_add(b),
        (BinaryOp::Sub, Num::I(a), Num::I(b)) => a.checked_sub(b),
        (BinaryOp::Mul, Num::I(a), Num::I(b)) => a.checked_mul(b),
        (BinaryOp::Div, Num::I(a), Num::I(b)) if b != 0 && a.checked_rem(b) == Some(0) => {
            a.checked_div(b)
        }
        (BinaryOp::Pow, Num::I(a), Num::I(b)) => {
            u32::try_from(b).ok().and_then(|b| a.checked_pow(b))
        }
        _ => None,
    };
    if let Some(n) = exact {
        return int_value(n);
    }
    let (a, b) = (a.f(), b.f());
    let r = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div if b == 0.0 => return Value::Null,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
        _ => return Value::Null,
    };
    if r.is_finite() {
        Value::Double(r)
    } else {
        Value::Null
    }
}

pub(super) fn feel_binary(op: BinaryOp, a: &Value, b: &Value) -> Value {
    use BinaryOp::*;
    match op {
        Add => match (a, b) {
            (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
            _ => feel_arith(op, a.clone(), b.clone()),
        },
        Sub | Mul | Div | Pow => feel_arith(op, a.clone(), b.clone()),
        Mod => Value::Null,
        Eq => feel_eq(a, b),
        Ne => match feel_eq(a, b) {
            Value::Boolean(e) => Value::Boolean(!e),
            other => other,
        },
        Lt | Gt | Le | Ge => match feel_order(a, b) {
            None => Value::Null,
            Some(o) => Value::Boolean(match op {
                Lt => o.is_lt(),
                Gt => o.is_gt(),
                Le => o.is_le(),
                _ => o.is_ge(),
            }),
        },
        And => feel_and(a, b),
        Or => feel_or(a, b),
    }
}
