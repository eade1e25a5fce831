//! The expression syntax tree shared by the JUEL and FEEL front ends.
//!
//! Both languages parse into this one tree; where their semantics differ (unknown names,
//! `+` on strings, 0- vs 1-based indexes, null propagation) the evaluator looks at the
//! [`super::Language`]. Trees are at most [`MAX_DEPTH`] deep, so evaluating and dropping
//! them cannot exhaust the stack.

use crate::value::Value;

/// The deepest tree the parsers build; deeper input is rejected with an [`super::ExprError`].
pub const MAX_DEPTH: usize = 256;

/// An expression tree.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Ast {
    /// A constant.
    Literal(Value),
    /// A variable reference (JUEL: an unknown name is an error; FEEL: it is null).
    Ident(String),
    /// A JUEL composite (`Hello ${name}!`): the parts' string forms, concatenated.
    Template(Vec<Ast>),
    /// A prefix operator.
    Unary(UnaryOp, Box<Ast>),
    /// A binary operator (`and`/`or` short-circuit).
    Binary(BinaryOp, Box<Ast>, Box<Ast>),
    /// `cond ? then : else` (JUEL) or `if cond then a else b` (FEEL).
    Conditional(Box<Ast>, Box<Ast>, Box<Ast>),
    /// Property access `a.b`.
    Property(Box<Ast>, String),
    /// Index or key access `a[i]` / `a['k']`; in FEEL also a filter `list[item > 1]`.
    Index(Box<Ast>, Box<Ast>),
    /// A JUEL method call `a.m(args)` (a fixed allow-list of methods).
    Method(Box<Ast>, String, Vec<Ast>),
    /// A FEEL built-in function call `f(args)`.
    Call(String, Vec<Ast>),
    /// A FEEL list literal `[1, 2]`.
    List(Vec<Ast>),
    /// A FEEL context literal `{a: 1, "b": 2}`.
    Context(Vec<(String, Ast)>),
    /// FEEL `x between low and high`.
    Between(Box<Ast>, Box<Ast>, Box<Ast>),
    /// FEEL `x in [1, 2]` / `x in list`.
    In(Box<Ast>, Box<Ast>),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `!x`, `not x` (JUEL); `not(x)` is a function in FEEL.
    Not,
    /// JUEL `empty x`.
    Empty,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+` (numeric in JUEL; numeric or string concatenation in FEEL).
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`, `div`.
    Div,
    /// `%`, `mod` (JUEL).
    Mod,
    /// `**` (FEEL).
    Pow,
    /// `==`, `eq` (JUEL); `=` (FEEL).
    Eq,
    /// `!=`, `ne`.
    Ne,
    /// `<`, `lt`.
    Lt,
    /// `>`, `gt`.
    Gt,
    /// `<=`, `le`.
    Le,
    /// `>=`, `ge`.
    Ge,
    /// `&&`, `and`.
    And,
    /// `||`, `or`.
    Or,
}
