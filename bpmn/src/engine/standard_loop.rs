//! Standard loops (`standardLoopCharacteristics`, BPMN 2.0 §10.2.8 and §13.3.6). Camunda 7
//! refuses them, so these are the specification's semantics:
//!
//! - each iteration is a fresh activity instance of the looping activity in the same scope
//!   (listeners, boundary events and input/output mappings per iteration), carrying the local
//!   variable `loopCounter`: 0 for the first iteration, then 1, 2, ...;
//! - `testBefore="false"` (default, do-while): after an iteration completes, its
//!   `loopCondition` is evaluated in that iteration's scope (so it sees the `loopCounter` of
//!   the iteration just done); true → another iteration;
//! - `testBefore="true"` (while): the condition is evaluated before each iteration, with
//!   `loopCounter` being the counter of the iteration about to start; false before the first
//!   iteration → the activity completes without running its behaviour;
//! - `loopMaximum` caps the number of iterations; no condition loops until the cap (or runs
//!   once without one).

use super::EngineError;
use super::exec::{Ctx, Work};
use crate::model::{NodeIdx, StandardLoop};
use crate::value::{Value, Variables};

/// Iteration number of a standard-loop activity instance.
const K_LOOP: &str = "loop";
/// A `testBefore` loop whose condition was false before the first iteration.
const K_LOOP_SKIPPED: &str = "loopSkipped";
/// The loop counter variable.
const LOOP_COUNTER: &str = "loopCounter";

fn counter(n: i64) -> Value {
    i32::try_from(n)
        .map(Value::Integer)
        .unwrap_or(Value::Long(n))
}

impl Ctx<'_> {
    /// Entering a standard-loop activity instance, before its behaviour runs. The first
    /// iteration gets `loopCounter = 0`. Returns true when a `testBefore` condition is false
    /// before the first iteration: the behaviour is skipped and the instance leaves.
    pub fn loop_enter(&mut self, id: &str, lp: &StandardLoop) -> Result<bool, EngineError> {
        if self.internal(id, K_LOOP).is_some() {
            return Ok(false);
        }
        self.set_internal(id, K_LOOP, 0)?;
        self.set_var(id, LOOP_COUNTER, counter(0), true)?;
        let run = lp.loop_maximum.is_none_or(|m| m > 0)
            && (!lp.test_before || self.loop_condition(id, lp, None)?);
        if run {
            return Ok(false);
        }
        self.set_internal(id, K_LOOP_SKIPPED, 1)?;
        self.push(Work::Leave(id.to_owned()));
        Ok(true)
    }

    /// An iteration completed: start the next one (and return true) when the loop goes on.
    pub fn loop_again(
        &mut self,
        id: &str,
        idx: NodeIdx,
        lp: &StandardLoop,
    ) -> Result<bool, EngineError> {
        if self.internal(id, K_LOOP_SKIPPED).is_some() {
            return Ok(false);
        }
        let next = self.internal(id, K_LOOP).unwrap_or(0).saturating_add(1);
        if lp.loop_maximum.is_some_and(|m| next >= m) {
            return Ok(false);
        }
        if lp.loop_condition.is_none() && lp.loop_maximum.is_none() {
            return Ok(false);
        }
        let go_on = if lp.test_before {
            self.loop_condition(id, lp, Some(next))?
        } else {
            self.loop_condition(id, lp, None)?
        };
        if !go_on {
            return Ok(false);
        }
        let ai = self.ai(id)?;
        let parent = ai.parent.clone().unwrap_or_else(|| self.st.id.clone());
        let execution = ai.execution_id.clone();
        self.drop_listeners(id, None);
        self.end_instance(id, false, false);
        let again = self.create_instance(idx, &parent, execution);
        self.set_internal(&again, K_LOOP, next)?;
        self.set_var(&again, LOOP_COUNTER, counter(next), true)?;
        self.push(Work::Execute(again));
        Ok(true)
    }

    /// The loop condition at `id` (true when there is none), seeing `loopCounter = next` when
    /// given.
    fn loop_condition(
        &self,
        id: &str,
        lp: &StandardLoop,
        next: Option<i64>,
    ) -> Result<bool, EngineError> {
        let Some(c) = &lp.loop_condition else {
            return Ok(true);
        };
        let result = match next {
            None => c.eval_bool(&self.scope_at(id)),
            Some(n) => {
                let mut seen: Variables = self.st.visible_variables(id);
                seen.insert(LOOP_COUNTER.to_owned(), counter(n));
                c.eval_bool(&self.scope_over(id, &seen))
            }
        };
        result.map_err(|e| EngineError::Expression {
            activity_id: self.blame(id),
            message: e.message,
        })
    }
}
