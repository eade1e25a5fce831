//! Evaluation of [`super::Ast`] against a [`Scope`].
//!
//! One tree walker serves both languages; the [`Language`] picks the rules where they differ:
//!
//! | | JUEL (EL 2.2 coercions) | FEEL |
//! |---|---|---|
//! | unknown name | error "Cannot resolve identifier" | null |
//! | `+` on strings | strings are coerced to numbers | concatenation |
//! | type mismatch | coercion, else an error | null |
//! | `a[i]` on a list | 0-based | 1-based, negative from the end |
//! | `/` | always a Double (`1/0` is Infinity, as in EL) | exact when it divides, `x/0` is null |
//!
//! Evaluation is total: no panics, integer arithmetic is checked (JUEL reports overflow as an
//! error, FEEL falls back to a Double), and recursion is bounded by the tree depth limit.

use std::cell::RefCell;

use serde_json::Value as Json;

use super::ast::{Ast, BinaryOp, UnaryOp};
use super::feel_ops::{feel_and, feel_binary, feel_eq, feel_or, feel_unary};
use super::juel_ops::{juel_binary, juel_bool, juel_index, juel_method, juel_unary};
use super::objects::is_object;
use super::syntax::error;
use super::value_ops::{Num, arity, normalize, num_of, structure, to_display_string, type_name};
use super::{ExprError, Language, Scope, Write};
use crate::value::Value;

/// How an unknown-identifier error starts; [`super::Expression`] rewords it as Camunda does.
pub(super) const UNRESOLVED: &str = "Cannot resolve identifier";

/// Evaluate `ast`. `writes` collects what the expression asks to change; `None` makes any
/// write an error (conditions, assignees and other read-only places).
pub(crate) fn eval(
    ast: &Ast,
    lang: Language,
    scope: &dyn Scope,
    writes: Option<&RefCell<Vec<Write>>>,
) -> Result<Value, ExprError> {
    Ev {
        feel: lang == Language::Feel,
        scope,
        writes,
    }
    .eval(ast)
}

pub(super) struct Ev<'a> {
    pub(super) feel: bool,
    pub(super) scope: &'a dyn Scope,
    /// Where writes go; `None` when this evaluation may not change anything.
    pub(super) writes: Option<&'a RefCell<Vec<Write>>>,
}

impl Ev<'_> {
    // Debug builds give a function one stack slot per temporary of every match arm, so a
    // single big `match` here cost ~12 KB of stack per tree level. The dispatcher stays tiny
    // and each node kind has its own function: only the frames on the path are paid for.
    fn eval(&self, ast: &Ast) -> Result<Value, ExprError> {
        match ast {
            Ast::Literal(v) => Ok(v.clone()),
            Ast::Ident(name) => self.ident(name),
            Ast::Template(parts) => self.template(parts),
            Ast::Unary(op, x) => self.unary(*op, x),
            Ast::Binary(op, l, r) => self.binary(*op, l, r),
            Ast::Conditional(c, t, e) => self.conditional(c, t, e),
            Ast::Property(base, name) => self.property_access(base, name),
            Ast::Index(base, key) => self.index(base, key),
            Ast::Method(base, name, args) => self.method(base, name, args),
            Ast::Call(name, args) => self.call(name, args),
            Ast::List(items) => self.list(items),
            Ast::Context(entries) => self.context(entries),
            Ast::Between(x, lo, hi) => self.between(x, lo, hi),
            Ast::In(x, set) => self.in_set(x, set),
        }
    }

    fn template(&self, parts: &[Ast]) -> Result<Value, ExprError> {
        let mut out = String::new();
        for p in parts {
            match self.eval(p)? {
                Value::Null => {}
                v => out.push_str(&to_display_string(&v)),
            }
        }
        Ok(Value::String(out))
    }

    fn unary(&self, op: UnaryOp, x: &Ast) -> Result<Value, ExprError> {
        let v = self.eval(x)?;
        if self.feel {
            Ok(feel_unary(op, &v))
        } else {
            juel_unary(op, &v)
        }
    }

    fn binary(&self, op: BinaryOp, l: &Ast, r: &Ast) -> Result<Value, ExprError> {
        match op {
            BinaryOp::And => self.and_or(true, l, r),
            BinaryOp::Or => self.and_or(false, l, r),
            _ => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                if self.feel {
                    Ok(feel_binary(op, &a, &b))
                } else {
                    juel_binary(op, &a, &b)
                }
            }
        }
    }

    fn conditional(&self, c: &Ast, t: &Ast, e: &Ast) -> Result<Value, ExprError> {
        let c = self.eval(c)?;
        let yes = if self.feel {
            c == Value::Boolean(true)
        } else {
            juel_bool(&c)?
        };
        self.eval(if yes { t } else { e })
    }

    fn property_access(&self, base: &Ast, name: &str) -> Result<Value, ExprError> {
        if !self.feel && is_object(base, self.scope) {
            return self.object_property(base, name);
        }
        let b = self.eval(base)?;
        self.property(&b, name)
    }

    fn index(&self, base: &Ast, key: &Ast) -> Result<Value, ExprError> {
        if !self.feel && is_object(base, self.scope) {
            return match self.eval(key)? {
                Value::String(name) => self.object_property(base, &name),
                other => Err(error(format!(
                    "Cannot resolve property {} of execution",
                    to_display_string(&other)
                ))),
            };
        }
        let b = self.eval(base)?;
        if self.feel {
            self.feel_index(&b, key)
        } else {
            let k = self.eval(key)?;
            juel_index(&b, &k)
        }
    }

    fn method(&self, base: &Ast, name: &str, args: &[Ast]) -> Result<Value, ExprError> {
        if self.feel {
            return Err(error(format!("FEEL has no method calls ('{name}')")));
        }
        let args = args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Result<Vec<_>, _>>()?;
        if is_object(base, self.scope) {
            return self.object_method(base, name, &args);
        }
        let b = self.eval(base)?;
        juel_method(&b, name, &args)
    }

    fn list(&self, items: &[Ast]) -> Result<Value, ExprError> {
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            out.push(self.eval(i)?.to_json());
        }
        Ok(Value::Json(Json::Array(out)))
    }

    fn context(&self, entries: &[(String, Ast)]) -> Result<Value, ExprError> {
        let mut out = serde_json::Map::new();
        for (k, v) in entries {
            out.insert(k.clone(), self.eval(v)?.to_json());
        }
        Ok(Value::Json(Json::Object(out)))
    }

    fn between(&self, x: &Ast, lo: &Ast, hi: &Ast) -> Result<Value, ExprError> {
        let (x, lo, hi) = (self.eval(x)?, self.eval(lo)?, self.eval(hi)?);
        let low = feel_binary(BinaryOp::Ge, &x, &lo);
        let high = feel_binary(BinaryOp::Le, &x, &hi);
        Ok(feel_and(&low, &high))
    }

    fn in_set(&self, x: &Ast, set: &Ast) -> Result<Value, ExprError> {
        let x = self.eval(x)?;
        if let Ast::List(items) = set {
            let mut any_null = false;
            for i in items {
                match feel_eq(&x, &self.eval(i)?) {
                    Value::Boolean(true) => return Ok(Value::Boolean(true)),
                    Value::Null => any_null = true,
                    _ => {}
                }
            }
            return Ok(if any_null {
                Value::Null
            } else {
                Value::Boolean(false)
            });
        }
        let set = self.eval(set)?;
        Ok(match structure(&set).as_deref() {
            Some(Json::Array(items)) => Value::Boolean(
                items
                    .iter()
                    .any(|i| feel_eq(&x, &Value::from_json(i)) == Value::Boolean(true)),
            ),
            _ => feel_eq(&x, &set),
        })
    }

    fn ident(&self, name: &str) -> Result<Value, ExprError> {
        if self.feel {
            return Ok(self.variable(name, false).map_or(Value::Null, normalize));
        }
        if name == "execution" || (name == "task" && self.scope.has_task()) {
            return Err(error(format!(
                "'{name}' is the {name} object, not a value; use {name}.getVariable('x') \
                 or a property like {name}.id"
            )));
        }
        self.variable(name, false)
            .map(normalize)
            .ok_or_else(|| error(format!("{UNRESOLVED} '{name}'")))
    }

    /// A variable as this evaluation sees it: its own latest write, else the scope's value.
    pub(super) fn variable(&self, name: &str, local: bool) -> Option<Value> {
        if let Some(writes) = self.writes {
            for w in writes.borrow().iter().rev() {
                match w {
                    Write::SetVariable { name: n, value, .. } if n == name => {
                        return Some(value.clone());
                    }
                    Write::RemoveVariable { name: n, .. } if n == name => return None,
                    _ => {}
                }
            }
        }
        if local {
            self.scope.variable_local(name)
        } else {
            self.scope.variable(name)
        }
    }

    fn and_or(&self, is_and: bool, l: &Ast, r: &Ast) -> Result<Value, ExprError> {
        let a = self.eval(l)?;
        if self.feel {
            // Three-valued: false and x = false, true or x = true, otherwise null unless both
            // sides are booleans.
            if a == Value::Boolean(!is_and) {
                return Ok(a);
            }
            let b = self.eval(r)?;
            return Ok(if is_and {
                feel_and(&a, &b)
            } else {
                feel_or(&a, &b)
            });
        }
        let a = juel_bool(&a)?;
        if a != is_and {
            return Ok(Value::Boolean(a));
        }
        Ok(Value::Boolean(juel_bool(&self.eval(r)?)?))
    }

    fn property(&self, base: &Value, name: &str) -> Result<Value, ExprError> {
        if self.feel {
            return Ok(match structure(base).as_deref() {
                Some(Json::Object(m)) => m.get(name).map_or(Value::Null, Value::from_json),
                // A path on a list projects it: [{a:1},{a:2}].a = [1, 2].
                Some(Json::Array(items)) => Value::Json(Json::Array(
                    items
                        .iter()
                        .map(|i| i.get(name).cloned().unwrap_or(Json::Null))
                        .collect(),
                )),
                _ => Value::Null,
            });
        }
        match (base, structure(base).as_deref()) {
            (Value::Null, _) => Ok(Value::Null),
            (_, Some(Json::Object(m))) => Ok(m.get(name).map_or(Value::Null, Value::from_json)),
            _ => Err(error(format!(
                "Cannot resolve property '{name}' of a {} value",
                type_name(base)
            ))),
        }
    }

    fn feel_index(&self, base: &Value, key: &Ast) -> Result<Value, ExprError> {
        let Some(s) = structure(base) else {
            return Ok(Value::Null);
        };
        let k = self.eval(key)?;
        match (s.as_ref(), num_of(&k)) {
            (Json::Array(items), Some(n)) => {
                let Num::I(i) = n else {
                    return Ok(Value::Null);
                };
                let len = items.len() as i64;
                let at = if i > 0 { i - 1 } else { len + i };
                Ok(usize::try_from(at)
                    .ok()
                    .filter(|_| i != 0)
                    .and_then(|at| items.get(at))
                    .map_or(Value::Null, Value::from_json))
            }
            (Json::Object(m), _) => Ok(match &k {
                Value::String(name) => m.get(name).map_or(Value::Null, Value::from_json),
                _ => Value::Null,
            }),
            (Json::Array(items), None) => {
                // A filter: keep the items for which the condition is true, with `item` (and
                // the item's own keys) in scope.
                let mut out = Vec::new();
                for item in items {
                    let scope = ItemScope {
                        item,
                        parent: self.scope,
                    };
                    let ev = Ev {
                        feel: true,
                        scope: &scope,
                        writes: None,
                    };
                    if ev.eval(key)? == Value::Boolean(true) {
                        out.push(item.clone());
                    }
                }
                Ok(Value::Json(Json::Array(out)))
            }
            _ => Ok(Value::Null),
        }
    }

    fn call(&self, name: &str, args: &[Ast]) -> Result<Value, ExprError> {
        if name == "is defined" {
            let [arg] = args else {
                return Err(arity(name, "1"));
            };
            return Ok(Value::Boolean(match arg {
                Ast::Ident(n) => self.variable(n, false).is_some(),
                Ast::Property(base, key) => match structure(&self.eval(base)?).as_deref() {
                    Some(Json::Object(m)) => m.contains_key(key),
                    _ => false,
                },
                other => self.eval(other).is_ok(),
            }));
        }
        let args = args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Result<Vec<_>, _>>()?;
        if self.feel {
            super::feel::call_builtin(name, &args)
        } else {
            spin_json(name, &args)
        }
    }
}

/// Camunda Spin's `S(x)` / `JSON(x)`: a JSON text or JSON value as a JSON value, so that
/// `S(customer).prop('vip').boolValue()` works on string and JSON variables alike.
fn spin_json(name: &str, args: &[Value]) -> Result<Value, ExprError> {
    let [arg] = args else {
        return Err(arity(name, "1"));
    };
    match arg {
        Value::String(text) => serde_json::from_str::<Json>(text)
            .map(Value::Json)
            .map_err(|e| error(format!("{name}(): the text is not JSON: {e}"))),
        Value::Json(_) | Value::Object { .. } => match structure(arg) {
            Some(j) => Ok(Value::Json(j.into_owned())),
            None => Ok(arg.clone()),
        },
        other => Err(error(format!(
            "{name}() needs JSON text or a JSON value, not a {}",
            type_name(other)
        ))),
    }
}

/// A filter's scope: `item`, the item's keys, then the enclosing scope.
struct ItemScope<'a> {
    item: &'a Json,
    parent: &'a dyn Scope,
}

impl Scope for ItemScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        if name == "item" {
            return Some(Value::from_json(self.item));
        }
        if let Some(v) = self.item.get(name) {
            return Some(Value::from_json(v));
        }
        self.parent.variable(name)
    }

    fn execution_property(&self, name: &str) -> Option<Value> {
        self.parent.execution_property(name)
    }
}
