//! The converging complex gateway (BPMN 2.0 §13.3.5; Camunda 7 has no complex gateway, so
//! these are the specification's semantics, simplified where noted).
//!
//! Tokens arriving in one scope instance wait at the gateway. Each arrival evaluates the
//! `activationCondition`, which sees the variable `activationCount` (the tokens arrived in
//! this round, the arriving one included). When it holds, the gateway fires: the waiting
//! tokens are consumed and it leaves like a diverging inclusive gateway (every outgoing flow
//! whose condition is true, else the default flow). The round then waits for reset: the
//! tokens still expected (one per incoming flow in all) are absorbed when they arrive.
//! Simplification: the specification lets the reset phase fire outgoing flows a second time;
//! here it only absorbs. Without an activation condition the gateway waits for a token on
//! every incoming flow, as a parallel join.

use super::EngineError;
use super::Wait;
use super::exec::{Ctx, Work};
use crate::expr::Expression;
use crate::model::NodeIdx;
use crate::value::{Value, Variables};

/// The variable the activation condition sees.
const ACTIVATION_COUNT: &str = "activationCount";

impl Ctx<'_> {
    /// A token arrives at a converging complex gateway.
    pub fn arrive_at_complex(
        &mut self,
        id: &str,
        idx: NodeIdx,
        activation_condition: Option<&Expression>,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let parent = self
            .ai(id)?
            .parent
            .clone()
            .unwrap_or_else(|| self.st.id.clone());
        let reset_key = format!("complexReset:{}", node.id);
        if let Some(left) = self.internal(&parent, &reset_key).filter(|n| *n > 0) {
            // Waiting for reset: absorb a token of the round that already fired.
            if left == 1 {
                self.ai_mut(&parent)?.internal.remove(&reset_key);
            } else {
                self.set_internal(&parent, &reset_key, left - 1)?;
            }
            self.end_instance(id, false, false);
            self.push(Work::ScopeCheck(parent));
            return Ok(());
        }
        self.ai_mut(id)?.wait = Some(Wait::Join);
        let waiting = self.waiting_at_join(id)?;
        let arrived = i64::try_from(waiting.len() + 1).unwrap_or(i64::MAX);
        let expected = i64::try_from(node.incoming.len()).unwrap_or(i64::MAX);
        let fire = match activation_condition {
            None => arrived >= expected,
            Some(c) => {
                let mut seen: Variables = self.st.visible_variables(id);
                seen.insert(
                    ACTIVATION_COUNT.to_owned(),
                    i32::try_from(arrived)
                        .map(Value::Integer)
                        .unwrap_or(Value::Long(arrived)),
                );
                c.eval_bool(&self.scope_over(id, &seen))
                    .map_err(|e| EngineError::Expression {
                        activity_id: node.id.clone(),
                        message: e.message,
                    })?
            }
        };
        if !fire {
            return Ok(());
        }
        if arrived < expected {
            self.set_internal(&parent, &reset_key, expected - arrived)?;
        }
        self.fire_join(id, &waiting)
    }
}
