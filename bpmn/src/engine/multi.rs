//! Multi-instance activities (parallel and sequential), shaped as in Camunda 7: a body activity
//! instance (`<activityId>#multiInstanceBody`) carrying the boundary events and the local
//! variables `nrOfInstances`, `nrOfCompletedInstances`, `nrOfActiveInstances`, with one inner
//! activity instance per iteration carrying `loopCounter` and the element variable.
//!
//! A sequential body re-evaluates its collection for each iteration (as Camunda 7 does); a
//! completion condition that becomes true cancels the remaining inner instances.

use super::EngineError;
use super::exec::{Ctx, K_MI_INNER, K_MI_LOOP, K_MI_N, K_MI_NEXT, Work};
use crate::model::NodeIdx;
use crate::value::Value;

const NR_OF_INSTANCES: &str = "nrOfInstances";
const NR_COMPLETED: &str = "nrOfCompletedInstances";
const NR_ACTIVE: &str = "nrOfActiveInstances";

fn int(v: i64) -> Value {
    i32::try_from(v)
        .map(Value::Integer)
        .unwrap_or(Value::Long(v))
}

impl Ctx<'_> {
    /// Evaluate the number of instances and, with a collection, its elements.
    fn mi_items(
        &self,
        body: &str,
        idx: NodeIdx,
    ) -> Result<(i64, Option<Vec<serde_json::Value>>), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let unsupported = |m: String| EngineError::Expression {
            activity_id: node.id.clone(),
            message: m,
        };
        let Some(mi) = &node.multi_instance else {
            return Ok((0, None));
        };
        if let Some(c) = &mi.collection {
            let v = self.eval(c, body)?;
            return match v.to_json() {
                serde_json::Value::Array(items) => Ok((items.len() as i64, Some(items))),
                _ => Err(unsupported(format!(
                    "the multi-instance collection '{}' evaluated to a {} value, not a list",
                    c.source(),
                    v.type_name()
                ))),
            };
        }
        if let Some(c) = &mi.loop_cardinality {
            let v = self.eval(c, body)?;
            let n = match &v {
                Value::String(s) => s.trim().parse::<i64>().ok(),
                other => other.as_i64(),
            }
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                unsupported(format!(
                    "loopCardinality '{}' must be a non-negative integer",
                    c.source()
                ))
            })?;
            return Ok((n, None));
        }
        Err(EngineError::Unsupported {
            activity_id: node.id.clone(),
            message: "a multi-instance activity needs loopCardinality or a collection".into(),
        })
    }

    /// Start a multi-instance body: counters, then the first (sequential) or every (parallel)
    /// inner instance.
    pub fn mi_start(&mut self, body: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        let Some(mi) = &p.node(idx).multi_instance else {
            return Ok(());
        };
        let (n, items) = self.mi_items(body, idx)?;
        self.set_internal(body, K_MI_N, n)?;
        self.set_var(body, NR_OF_INSTANCES, int(n), true)?;
        self.set_var(body, NR_COMPLETED, int(0), true)?;
        let active = if mi.sequential { n.min(1) } else { n };
        self.set_var(body, NR_ACTIVE, int(active), true)?;
        if let Some(oc) = &mi.output_collection {
            let nulls = vec![serde_json::Value::Null; usize::try_from(n).unwrap_or(0)];
            self.set_var(body, oc, Value::Json(serde_json::Value::Array(nulls)), true)?;
        }
        if n == 0 {
            self.push(Work::Leave(body.to_owned()));
            return Ok(());
        }
        let element = |i: i64| {
            items
                .as_ref()
                .and_then(|v| v.get(usize::try_from(i).ok()?))
                .map(Value::from_json)
        };
        if mi.sequential {
            self.set_internal(body, K_MI_NEXT, 1)?;
            let inner = self.mi_create_inner(body, idx, 0, element(0))?;
            self.push(Work::Execute(inner));
        } else {
            self.set_internal(body, K_MI_NEXT, n)?;
            let mut created = Vec::new();
            for i in 0..n {
                created.push(self.mi_create_inner(body, idx, i, element(i))?);
            }
            for c in created.into_iter().rev() {
                self.push(Work::Execute(c));
            }
        }
        Ok(())
    }

    fn mi_create_inner(
        &mut self,
        body: &str,
        idx: NodeIdx,
        i: i64,
        element: Option<Value>,
    ) -> Result<String, EngineError> {
        let p = self.p;
        let node = p.node(idx);
        let exec = self.st.next_id();
        let inner = self.create_raw(node.id.clone(), body, exec);
        self.set_internal(&inner, K_MI_INNER, 1)?;
        self.set_internal(&inner, K_MI_LOOP, i)?;
        self.set_var(&inner, "loopCounter", int(i), true)?;
        if let Some(var) = node
            .multi_instance
            .as_ref()
            .and_then(|m| m.element_variable.as_ref())
        {
            self.set_var(&inner, var, element.unwrap_or(Value::Null), true)?;
        }
        Ok(inner)
    }

    /// An inner instance completed.
    pub fn mi_inner_done(&mut self, inner: &str) -> Result<(), EngineError> {
        let p = self.p;
        let body = self
            .ai(inner)?
            .parent
            .clone()
            .ok_or_else(|| EngineError::InvalidCommand("inner instance without body".into()))?;
        let idx = self.node_req(inner)?;
        let Some(mi) = &p.node(idx).multi_instance else {
            return Ok(());
        };
        let loop_counter = self.internal(inner, K_MI_LOOP).unwrap_or(0);
        if let (Some(oc), Some(oe)) = (&mi.output_collection, &mi.output_element) {
            let v = self.eval(oe, inner)?.to_json();
            let mut coll = match self.ai(&body)?.variables.get(oc) {
                Some(Value::Json(serde_json::Value::Array(a))) => a.clone(),
                _ => Vec::new(),
            };
            let i = usize::try_from(loop_counter).unwrap_or(0);
            if coll.len() <= i {
                coll.resize(i + 1, serde_json::Value::Null);
            }
            coll[i] = v;
            self.set_var(&body, oc, Value::Json(serde_json::Value::Array(coll)), true)?;
        }
        let get = |ctx: &Self, name: &str| {
            ctx.ai(&body)
                .ok()
                .and_then(|b| b.variables.get(name))
                .and_then(|v| v.as_i64())
                .unwrap_or(0)
        };
        let n = self.internal(&body, K_MI_N).unwrap_or(0);
        let next = self.internal(&body, K_MI_NEXT).unwrap_or(n);
        let completed = get(self, NR_COMPLETED) + 1;
        let more_sequential = mi.sequential && next < n;
        let active = if more_sequential {
            1
        } else {
            (get(self, NR_ACTIVE) - 1).max(0)
        };
        self.set_var(&body, NR_COMPLETED, int(completed), true)?;
        self.set_var(&body, NR_ACTIVE, int(active), true)?;
        let done = match &mi.completion_condition {
            Some(c) => self.eval_bool(c, inner)?,
            None => false,
        };
        self.drop_listeners(inner, None);
        self.end_instance(inner, false, false);
        if done {
            for c in self.children(&body) {
                self.cancel_subtree(&c);
            }
            self.push(Work::Leave(body));
        } else if more_sequential {
            self.set_internal(&body, K_MI_NEXT, next + 1)?;
            let (_, items) = self.mi_items(&body, idx)?;
            let element = items
                .as_ref()
                .and_then(|v| v.get(usize::try_from(next).ok()?))
                .map(Value::from_json);
            let c = self.mi_create_inner(&body, idx, next, element)?;
            self.push(Work::Execute(c));
        } else if self.children(&body).is_empty() {
            self.push(Work::Leave(body));
        }
        Ok(())
    }

    /// The body completes: publish zeebe's `outputCollection` to the enclosing scope.
    pub fn mi_publish_output(&mut self, body: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        if let Some(oc) = p
            .node(idx)
            .multi_instance
            .as_ref()
            .and_then(|m| m.output_collection.as_ref())
        {
            let v = self.ai(body)?.variables.get(oc).cloned();
            let parent = self
                .ai(body)?
                .parent
                .clone()
                .unwrap_or_else(|| self.st.id.clone());
            if let Some(v) = v {
                self.set_var(&parent, oc, v, false)?;
            }
        }
        Ok(())
    }
}
