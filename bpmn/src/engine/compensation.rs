//! Compensation and transaction cancellation, as Camunda 7 does them (CompensationUtil,
//! CompensationEventActivityBehavior, CancelEndEventActivityBehavior):
//!
//! - an activity with a compensation boundary event becomes compensable when it completes:
//!   its scope instance records it (`comp:<order>:<activity>` in the scope's bookkeeping);
//! - a compensation throw (intermediate or end event) compensates the compensable
//!   activities of its scope instance, only those of `activityRef` when given, latest first
//!   (reverse completion order): one instance of each handler (`isForCompensation`, joined
//!   by an association to the boundary event) is started in the scope; each completion is
//!   compensated once;
//! - with `waitForCompletion` (the default, and all Camunda 7 supports) the throw event waits
//!   until every handler it started completed, then continues (an end event ends);
//! - a cancel end event in a transaction subprocess compensates the transaction's completed
//!   activities the same way, then fires the transaction's cancel boundary event, which
//!   interrupts the transaction.
//!
//! - a completed subprocess without a compensation boundary event is compensated by
//!   re-entering it as an event scope instance: its compensation event subprocess runs when
//!   it has one (a compensation throw inside that compensates the subprocess's completed
//!   activities), else its own completed activities are compensated; the event scope ends
//!   when that is done.

use super::exec::{Ctx, Work};
use super::{EngineError, InstanceState, Wait};
use crate::model::{EventTrigger, NodeIdx, NodeKind, Process};

/// A completed activity waiting to be compensated (Camunda's `compensate` event
/// subscription): what `GET /event-subscription?eventType=compensate` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompensationSubscription {
    /// A stable id: unique within the instance, the same on every read.
    pub id: String,
    /// The scope activity instance holding it (its execution is the subscription's).
    pub scope_activity_instance_id: String,
    /// The scope's execution id.
    pub execution_id: String,
    /// The compensation handler's activity id (Camunda's `activityId` of the subscription).
    pub handler_activity_id: String,
    /// The activity that completed.
    pub completed_activity_id: String,
}

/// The completion order encoded in a `comp:` key.
fn order_of(key: &str) -> u64 {
    key.strip_prefix(K_COMP)
        .and_then(|r| r.split_once(':'))
        .and_then(|(o, _)| o.parse().ok())
        .unwrap_or(0)
}

/// The compensation subscriptions of an instance, oldest first.
pub fn compensation_subscriptions(
    process: &Process,
    state: &InstanceState,
) -> Vec<CompensationSubscription> {
    let mut out = Vec::new();
    for ai in state.activity_instances.values() {
        for key in ai.internal.keys() {
            let Some((_, activity)) = key.strip_prefix(K_COMP).and_then(|r| r.split_once(':'))
            else {
                continue;
            };
            let handler = process
                .node_by_id(activity)
                .and_then(|a| process.compensation_boundary(a))
                .and_then(|b| process.compensation_handler(b));
            if let Some(h) = handler {
                out.push((
                    key.clone(),
                    CompensationSubscription {
                        id: super::derive_id(&ai.id, order_of(key)),
                        scope_activity_instance_id: ai.id.clone(),
                        execution_id: ai.execution_id.clone(),
                        handler_activity_id: process.node(h).id.clone(),
                        completed_activity_id: activity.to_owned(),
                    },
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, s)| s).collect()
}

/// Prefix of a compensable completion in the scope instance's bookkeeping.
const K_COMP: &str = "comp:";
/// On a handler instance: the throw event instance waiting for it is `compOf:<id>`.
const K_COMP_OF: &str = "compOf:";
/// On a throw event instance: handlers still running.
const K_COMP_PENDING: &str = "compPending";
/// On a cancel end event instance: fire the transaction's cancel boundary afterwards.
const K_CANCEL_TX: &str = "cancelTx";
/// Inner records of a completed subprocess, kept by its scope: `compIn:<order>:<record>`.
const K_COMP_IN: &str = "compIn:";
/// A completed subprocess re-entered to be compensated.
const K_EVENT_SCOPE: &str = "eventScope";

/// The compensation start event of an event subprocess directly inside `sub`.
fn compensation_esp_start(p: &Process, sub: NodeIdx) -> Option<NodeIdx> {
    p.nodes_in_scope(Some(sub))
        .filter(|&n| {
            matches!(
                p.node(n).kind,
                NodeKind::SubProcess {
                    triggered_by_event: true
                }
            )
        })
        .find_map(|esp| compensation_esp_start_in(p, esp))
}

/// The compensation start event of the event subprocess `esp`.
fn compensation_esp_start_in(p: &Process, esp: NodeIdx) -> Option<NodeIdx> {
    p.nodes_in_scope(Some(esp)).find(|&s| {
        matches!(
            p.node(s).kind,
            NodeKind::StartEvent {
                trigger: EventTrigger::Compensation,
                ..
            }
        )
    })
}

impl Ctx<'_> {
    /// An activity instance completed: record it in its scope when it has a compensation
    /// handler.
    pub fn record_compensable(&mut self, id: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        // A multi-instance activity is compensated per inner instance (as Camunda does),
        // recorded in the scope around its body.
        if self.is_body(id) {
            return Ok(());
        }
        if p.compensation_boundary(idx).is_none() {
            return self.record_compensable_subprocess(id, idx);
        }
        let Some(mut parent) = self.ai(id)?.parent.clone() else {
            return Ok(());
        };
        if self.is_inner(id) {
            match self.ai(&parent)?.parent.clone() {
                Some(scope) => parent = scope,
                None => return Ok(()),
            }
        }
        let order = self.st.next_seq;
        self.st.next_seq += 1;
        let key = format!("{K_COMP}{order:020}:{}", p.node(idx).id);
        self.set_internal(&parent, &key, 1)
    }

    /// A subprocess without a compensation boundary event completed: when something inside
    /// it can be compensated (completed activities with handlers, or a compensation event
    /// subprocess), its scope records it, keeping its inner records (`compIn:<order>:...`)
    /// for when it is compensated.
    fn record_compensable_subprocess(&mut self, id: &str, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        if !p.node(idx).is_subprocess() || self.is_inner(id) {
            return Ok(());
        }
        let inner: Vec<String> = self
            .ai(id)?
            .internal
            .keys()
            .filter_map(|k| k.strip_prefix(K_COMP).map(str::to_owned))
            .collect();
        if inner.is_empty() && compensation_esp_start(p, idx).is_none() {
            return Ok(());
        }
        let Some(parent) = self.ai(id)?.parent.clone() else {
            return Ok(());
        };
        let order = self.st.next_seq;
        self.st.next_seq += 1;
        self.set_internal(
            &parent,
            &format!("{K_COMP}{order:020}:{}", p.node(idx).id),
            1,
        )?;
        for rest in inner {
            self.set_internal(&parent, &format!("{K_COMP_IN}{order:020}:{rest}"), 1)?;
        }
        Ok(())
    }

    /// The scope instance whose completed activities a compensation thrown at `thrower`
    /// compensates: its parent, or, inside a compensation event subprocess, the subprocess
    /// being compensated around it.
    fn compensation_scope(&self, thrower: &str) -> Result<String, EngineError> {
        let p = self.p;
        let parent = self
            .ai(thrower)?
            .parent
            .clone()
            .unwrap_or_else(|| self.st.id.clone());
        if let Some(esp) = self.node_of(&parent)?
            && matches!(
                p.node(esp).kind,
                NodeKind::SubProcess {
                    triggered_by_event: true
                }
            )
            && compensation_esp_start_in(p, esp).is_some()
            && let Some(outer) = self.ai(&parent)?.parent.clone()
        {
            return Ok(outer);
        }
        Ok(parent)
    }

    /// Start the handlers for the compensable completions in the scope of `thrower`; returns
    /// how many were started.
    fn compensate_scope(
        &mut self,
        thrower: &str,
        activity_ref: Option<&str>,
        wait: bool,
    ) -> Result<usize, EngineError> {
        let scope = self.compensation_scope(thrower)?;
        self.compensate_in(thrower, &scope, activity_ref, wait)
    }

    /// Start the handlers for the compensable completions recorded on `scope`, for `thrower`.
    fn compensate_in(
        &mut self,
        thrower: &str,
        scope: &str,
        activity_ref: Option<&str>,
        wait: bool,
    ) -> Result<usize, EngineError> {
        let p = self.p;
        let scope = scope.to_owned();
        let mut done: Vec<(String, String)> = self
            .ai(&scope)?
            .internal
            .keys()
            .filter_map(|k| {
                let rest = k.strip_prefix(K_COMP)?;
                let (_, activity) = rest.split_once(':')?;
                Some((k.clone(), activity.to_owned()))
            })
            .filter(|(_, a)| activity_ref.is_none_or(|r| r == a))
            .collect();
        // Latest completion first.
        done.reverse();
        let mut started = Vec::with_capacity(done.len());
        let mut scopes = 0;
        for (key, activity) in done {
            self.ai_mut(&scope)?.internal.remove(&key);
            let Some(node) = p.node_by_id(&activity) else {
                continue;
            };
            let handler = p
                .compensation_boundary(node)
                .and_then(|b| p.compensation_handler(b));
            let Some(handler) = handler else {
                if self.compensate_subprocess(thrower, &scope, &key, node, wait)? {
                    scopes += 1;
                }
                continue;
            };
            let exec = self.st.next_id();
            let h = self.create_instance(handler, &scope, exec);
            if wait {
                self.set_internal(&h, &format!("{K_COMP_OF}{thrower}"), 1)?;
            }
            started.push(h);
        }
        // Created latest-first; run in that order (the work stack is LIFO).
        for h in started.iter().rev() {
            self.push(Work::Execute(h.clone()));
        }
        Ok(started.len() + scopes)
    }

    /// Compensate a completed subprocess without a boundary event (recorded under `key` in
    /// `scope`): re-enter it as an event scope instance and run its compensation event
    /// subprocess, or else compensate its completed activities. Returns whether something
    /// runs (the event scope ends, and `thrower` hears of it, when that is done).
    fn compensate_subprocess(
        &mut self,
        thrower: &str,
        scope: &str,
        key: &str,
        sub: NodeIdx,
        wait: bool,
    ) -> Result<bool, EngineError> {
        let p = self.p;
        let order = key
            .strip_prefix(K_COMP)
            .and_then(|r| r.split_once(':'))
            .map(|(o, _)| o.to_owned())
            .unwrap_or_default();
        let inner_prefix = format!("{K_COMP_IN}{order}:");
        let inner: Vec<String> = self
            .ai(scope)?
            .internal
            .keys()
            .filter(|k| k.starts_with(&inner_prefix))
            .cloned()
            .collect();
        let exec = self.st.next_id();
        let event_scope = self.create_instance(sub, scope, exec);
        self.set_internal(&event_scope, K_EVENT_SCOPE, 1)?;
        if wait {
            self.set_internal(&event_scope, &format!("{K_COMP_OF}{thrower}"), 1)?;
        }
        for k in inner {
            self.ai_mut(scope)?.internal.remove(&k);
            if let Some(rest) = k.strip_prefix(&inner_prefix) {
                self.set_internal(&event_scope, &format!("{K_COMP}{rest}"), 1)?;
            }
        }
        let pending = match compensation_esp_start(p, sub) {
            Some(start) => {
                let start_ai =
                    self.esp_fire(&event_scope, start, true, None, Default::default())?;
                if let Some(esp) = self.ai(&start_ai)?.parent.clone() {
                    self.set_internal(&esp, &format!("{K_COMP_OF}{event_scope}"), 1)?;
                }
                1
            }
            None => self.compensate_in(&event_scope, &event_scope.clone(), None, true)?,
        };
        if pending == 0 {
            self.end_instance(&event_scope, false, false);
            return Ok(false);
        }
        self.set_internal(
            &event_scope,
            K_COMP_PENDING,
            i64::try_from(pending).unwrap_or(i64::MAX),
        )?;
        Ok(wait)
    }

    /// A compensation intermediate throw or end event is reached.
    pub fn throw_compensation(
        &mut self,
        id: &str,
        activity_ref: Option<&str>,
        wait: bool,
    ) -> Result<(), EngineError> {
        let n = self.compensate_scope(id, activity_ref, wait)?;
        if n == 0 || !wait {
            self.push(Work::Leave(id.to_owned()));
            return Ok(());
        }
        self.set_internal(id, K_COMP_PENDING, i64::try_from(n).unwrap_or(i64::MAX))?;
        self.ai_mut(id)?.wait = Some(Wait::Compensation);
        Ok(())
    }

    /// A cancel end event is reached inside a transaction subprocess.
    pub fn cancel_transaction(&mut self, id: &str) -> Result<(), EngineError> {
        let tx = self.ai(id)?.parent.clone().unwrap_or_default();
        let is_tx = self
            .node_of(&tx)?
            .is_some_and(|t| self.p.node(t).transaction);
        if !is_tx {
            return Err(EngineError::Unsupported {
                activity_id: self.blame(id),
                message: "a cancel end event must be directly inside a transaction subprocess"
                    .into(),
            });
        }
        self.set_internal(id, K_CANCEL_TX, 1)?;
        let n = self.compensate_scope(id, None, true)?;
        if n == 0 {
            return self.fire_cancel_boundary(id);
        }
        self.set_internal(id, K_COMP_PENDING, i64::try_from(n).unwrap_or(i64::MAX))?;
        self.ai_mut(id)?.wait = Some(Wait::Compensation);
        Ok(())
    }

    /// The cancel end event `id` finished compensating: the transaction's cancel boundary
    /// event fires (interrupting the transaction).
    fn fire_cancel_boundary(&mut self, id: &str) -> Result<(), EngineError> {
        let p = self.p;
        let tx = self.ai(id)?.parent.clone().unwrap_or_default();
        let Some(tx_node) = self.node_of(&tx)? else {
            return Ok(());
        };
        let boundary = p.node(tx_node).boundary_events.iter().copied().find(|&b| {
            matches!(
                p.node(b).kind,
                NodeKind::BoundaryEvent {
                    trigger: EventTrigger::Cancel,
                    ..
                }
            )
        });
        match boundary {
            Some(b) => {
                self.boundary_fire(&tx, b, true, None, Default::default())?;
                Ok(())
            }
            // No cancel boundary event: the cancel end event just ends.
            None => {
                self.push(Work::Leave(id.to_owned()));
                Ok(())
            }
        }
    }

    /// Whether `id` is a completed subprocess re-entered to be compensated: it ends when its
    /// compensation does, not when it runs empty.
    pub fn is_event_scope(&self, id: &str) -> bool {
        self.internal(id, K_EVENT_SCOPE).is_some()
    }

    /// The throw event instance the compensation handler instance `handler` runs for.
    pub fn compensation_thrower(&self, handler: &str) -> Option<String> {
        self.st
            .activity_instances
            .get(handler)?
            .internal
            .keys()
            .find_map(|k| k.strip_prefix(K_COMP_OF).map(str::to_owned))
    }

    /// A compensation handler of the throw event instance `thrower` ended: the throw event
    /// continues once its last handler is done.
    pub fn compensation_handler_done(&mut self, thrower: &str) -> Result<(), EngineError> {
        let mut thrower = thrower.to_owned();
        // Event scopes of compensated subprocesses nest; each level ends when its last
        // handler did, then tells its own thrower. Bounded by the model's nesting depth.
        loop {
            if !self.exists(&thrower) {
                return Ok(());
            }
            let left = self.internal(&thrower, K_COMP_PENDING).unwrap_or(1) - 1;
            if left > 0 {
                return self.set_internal(&thrower, K_COMP_PENDING, left);
            }
            if self.internal(&thrower, K_EVENT_SCOPE).is_none() {
                break;
            }
            let outer = self.compensation_thrower(&thrower);
            self.end_instance(&thrower, false, false);
            match outer {
                Some(o) => thrower = o,
                None => return Ok(()),
            }
        }
        self.ai_mut(&thrower)?.internal.remove(K_COMP_PENDING);
        self.ai_mut(&thrower)?.wait = None;
        if self.internal(&thrower, K_CANCEL_TX).is_some() {
            return self.fire_cancel_boundary(&thrower);
        }
        self.push(Work::Leave(thrower));
        Ok(())
    }
}
