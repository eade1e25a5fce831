//! baton-bpmn: the BPMN 2.0 model, its parser and validator, DMN decision tables, the expression languages (JUEL,
//! FEEL subset), ISO 8601 timers, and the pure execution state machine of baton.
//!
//! This crate is pure and deterministic: no async runtime, no storage, no clock, no I/O. The
//! host feeds it bytes, commands and the current time, and performs the effects it returns.

#![deny(missing_docs)]

pub mod dmn;
pub mod engine;
pub mod expr;
pub mod model;
pub mod parse;
pub mod script;
pub mod timer;
pub mod value;

pub use engine::{Command, Effect, EngineError, InstanceState, StateMachine};
pub use model::{Definitions, Process};
pub use parse::{ParseError, Parsed, Problem, parse};
pub use value::{Value, Variables};
