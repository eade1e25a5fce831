//! Expression syntax tree shared by the JUEL and FEEL front ends.
use crate::value::Value;

/// An expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// A constant.
    Literal(Value),
    /// A variable reference.
    Ident(String),
}
