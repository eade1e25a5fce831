//! Evaluation of [`super::Ast`].
use super::{Ast, ExprError, Language, Scope};
use crate::value::Value;

pub(crate) fn eval(ast: &Ast, _lang: Language, scope: &dyn Scope) -> Result<Value, ExprError> {
    match ast {
        Ast::Literal(v) => Ok(v.clone()),
        Ast::Ident(name) => scope.variable(name).ok_or_else(|| ExprError {
            message: format!("Cannot resolve identifier '{name}'"),
        }),
    }
}

pub(crate) fn to_display_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}
