//! Business rule tasks: a DMN decision evaluated inside the step that reaches the task, like
//! an expression. The decision reference is evaluated and resolved (through the host's
//! [`crate::dmn::DecisionResolver`]) at that moment, the decision runs against the variables
//! visible from the task, the mapped result is written to `camunda:resultVariable`, and one
//! history event carries every evaluated decision, so all of it commits with the step.

use super::exec::{Ctx, Work};
use super::{Effect, EngineError, HistoryEvent};
use crate::dmn::{DecisionRequest, RequestedBinding};
use crate::model::{DecisionBinding, DecisionImpl};
use crate::value::Value;

impl Ctx<'_> {
    fn decision_err(&self, id: &str, message: String) -> EngineError {
        EngineError::Expression {
            activity_id: self.blame(id),
            message,
        }
    }

    /// Evaluate the task's decision, store the mapped result, record history, and leave.
    pub fn run_decision_task(&mut self, id: &str, call: &DecisionImpl) -> Result<(), EngineError> {
        let key = self
            .eval_string(&call.decision_ref, id)?
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                self.decision_err(id, "camunda:decisionRef evaluated to null or empty".into())
            })?;
        let binding = match &call.binding {
            DecisionBinding::Latest => RequestedBinding::Latest,
            DecisionBinding::Deployment => RequestedBinding::Deployment,
            DecisionBinding::Version(e) => {
                let v = self.eval(e, id)?;
                let n = match &v {
                    Value::String(s) => s.trim().parse::<i32>().ok(),
                    other => other.as_i64().and_then(|n| i32::try_from(n).ok()),
                };
                RequestedBinding::Version(n.ok_or_else(|| {
                    self.decision_err(
                        id,
                        format!(
                            "camunda:decisionRefVersion evaluated to {}, not a version number",
                            v.to_json()
                        ),
                    )
                })?)
            }
            DecisionBinding::VersionTag(e) => {
                RequestedBinding::VersionTag(self.eval_string(e, id)?.unwrap_or_default())
            }
        };
        let tenant = match &call.tenant_id {
            Some(e) => self.eval_string(e, id)?,
            None => None,
        };
        let request = DecisionRequest {
            key: &key,
            binding,
            tenant_id: tenant.as_deref(),
        };
        let deployed = self
            .env
            .decisions
            .resolve(&request)
            .map_err(|m| self.decision_err(id, m))?;
        let result = deployed
            .definitions
            .evaluate(&deployed.meta.key, &self.scope_at(id))
            .map_err(|e| self.decision_err(id, e.message))?;
        let mapped = call
            .map_result
            .map(&result)
            .map_err(|m| self.decision_err(id, m))?;
        if let Some(var) = &call.result_variable {
            // Camunda: execution.setVariable(resultVariable, mapped), a non-local write.
            self.set_var(id, var, mapped, false)?;
        }
        let activity_id = self.blame(id);
        self.fx
            .push(Effect::History(HistoryEvent::DecisionEvaluated {
                activity_instance_id: id.to_owned(),
                activity_id,
                decisions: crate::dmn::call::evaluated_decisions(&deployed, &result),
                at: self.now,
            }));
        self.push(Work::Leave(id.to_owned()));
        Ok(())
    }
}
