//! Token movement.
use super::{Command, Effect, EngineError, InstanceState};
use crate::model::Process;

pub(super) fn apply(
    _process: &Process,
    _state: &mut InstanceState,
    _command: Command,
    _now: i64,
) -> Result<Vec<Effect>, EngineError> {
    Err(EngineError::InvalidCommand("engine not implemented yet".into()))
}
