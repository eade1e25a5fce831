//! Process instance modification ([`super::Command::Modify`], Camunda's
//! `RuntimeService.createProcessInstanceModification`): start tokens before an activity, after
//! it or on a sequence flow, and cancel activity instances, in the order given, in one command.
//!
//! Camunda's semantics kept here:
//! - Each instruction runs to quiescence before the next (a started token moves on until it
//!   waits, exactly as if it had arrived by a sequence flow).
//! - Starting inside a subprocess that has no instance yet creates the missing scope activity
//!   instances (start listeners, input mappings, boundary events, event subprocesses), from the
//!   innermost flow scope that has exactly one instance (or the ancestor activity instance
//!   named); two instances of that scope make the instruction ambiguous.
//! - Cancelling an activity instance cancels its topmost ancestor that holds nothing else (a
//!   subprocess whose last token is cancelled goes with it), but never the process instance
//!   during the instructions (Camunda's `preserveScope`): only when every instruction ran and
//!   the instance holds no token does it end, cancelled when a cancellation emptied it,
//!   completed when a token ended regularly.
//!
//! Not supported, and refused with [`EngineError::Unsupported`]: creating a multi-instance
//! body or an event subprocess as a missing scope, starting before a boundary event or inside
//! an event subprocess, and cancelling one of several parallel multi-instance instances.

use serde::{Deserialize, Serialize};

use super::exec::{Ctx, MI_BODY_SUFFIX, Work};
use super::{EngineError, InstanceStatus, Wait};
use crate::model::{EventTrigger, NodeIdx, NodeKind};
use crate::value::Variables;

/// One instruction of a modification, as Camunda's REST `instructions` name them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModificationInstruction {
    /// `startBeforeActivity`, `startAfterActivity` or `startTransition`.
    Start {
        /// Where the new token starts.
        target: StartTarget,
        /// The scope activity instance to start under (`ancestorActivityInstanceId`).
        ancestor_activity_instance_id: Option<String>,
        /// Set from the new token upwards (nearest scope that has them, else the instance).
        variables: Variables,
        /// Set on the new activity instance itself.
        local_variables: Variables,
    },
    /// `cancel` by `activityId`, `activityInstanceId` or `transitionInstanceId`.
    Cancel(CancelTarget),
}

/// Where a start instruction puts the new token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StartTarget {
    /// Before the activity: it is entered and runs.
    BeforeActivity(String),
    /// After the activity: its single outgoing sequence flow is taken.
    AfterActivity(String),
    /// On the sequence flow: its target is entered.
    Transition(String),
}

/// What a cancel instruction removes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CancelTarget {
    /// Every activity and transition instance of the activity.
    Activity(String),
    /// One activity instance (and everything in it).
    ActivityInstance(String),
    /// One transition instance (a token waiting for an async continuation job).
    TransitionInstance(String),
}

impl ModificationInstruction {
    /// Camunda's description of the instruction, the start of its failure messages.
    pub fn describe(&self) -> String {
        match self {
            ModificationInstruction::Start {
                target,
                ancestor_activity_instance_id,
                ..
            } => {
                let head = match target {
                    StartTarget::BeforeActivity(a) => format!("Start before activity '{a}'"),
                    StartTarget::AfterActivity(a) => format!("Start after activity '{a}'"),
                    StartTarget::Transition(t) => format!("Start transition '{t}'"),
                };
                match ancestor_activity_instance_id {
                    Some(anc) => format!("{head} with ancestor activity instance '{anc}'"),
                    None => head,
                }
            }
            ModificationInstruction::Cancel(CancelTarget::Activity(a)) => {
                format!("Cancel all instances of activity '{a}'")
            }
            ModificationInstruction::Cancel(CancelTarget::ActivityInstance(a)) => {
                format!("Cancel activity instance '{a}'")
            }
            ModificationInstruction::Cancel(CancelTarget::TransitionInstance(t)) => {
                format!("Cancel transition instance '{t}'")
            }
        }
    }

    /// Camunda's `NotValidException` text for this instruction.
    fn not_valid(&self, detail: &str) -> EngineError {
        EngineError::NotValid(format!(
            "Cannot perform instruction: {}; {detail}",
            self.describe()
        ))
    }
}

/// How the process instance's last token went during a modification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RootEmptied {
    /// A token reached its end (the instance completes).
    Completed,
    /// A cancel instruction removed it (the instance is cancelled).
    Canceled,
}

/// Modification flags of one command; default off (every other command).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ModifyFlags {
    /// The process instance is kept while instructions run (Camunda's `preserveScope`).
    pub preserve_root: bool,
    /// How the root lost its last token while preserved.
    pub root_emptied: Option<RootEmptied>,
    /// `skipCustomListeners`: execution listeners do not fire.
    pub skip_listeners: bool,
    /// `skipIoMappings`: input and output mappings are not applied.
    pub skip_io: bool,
}

impl Ctx<'_> {
    /// `Command::Modify`: run the instructions in order, then end the instance if it holds
    /// no token any more.
    pub(super) fn modify(
        &mut self,
        instructions: Vec<ModificationInstruction>,
        skip_custom_listeners: bool,
        skip_io_mappings: bool,
    ) -> Result<(), EngineError> {
        self.modify_flags = ModifyFlags {
            preserve_root: true,
            root_emptied: None,
            skip_listeners: skip_custom_listeners,
            skip_io: skip_io_mappings,
        };
        for ins in &instructions {
            if !self.st.is_active() {
                break;
            }
            match ins {
                ModificationInstruction::Start {
                    target,
                    ancestor_activity_instance_id,
                    variables,
                    local_variables,
                } => self.start_token(
                    ins,
                    target,
                    ancestor_activity_instance_id.as_deref(),
                    variables,
                    local_variables,
                )?,
                ModificationInstruction::Cancel(target) => self.cancel_target(ins, target)?,
            }
            self.run()?;
        }
        self.modify_flags.preserve_root = false;
        let root = self.st.id.clone();
        if self.st.is_active() && self.children(&root).is_empty() {
            match self.modify_flags.root_emptied {
                Some(RootEmptied::Completed) => self.complete_instance(),
                Some(RootEmptied::Canceled) | None => {
                    self.drop_listeners(&root, None);
                    self.st.status = InstanceStatus::Canceled;
                    self.st.ended_at = Some(self.now);
                    self.fx
                        .push(super::Effect::InstanceCanceled { reason: None });
                }
            }
        }
        Ok(())
    }

    /// A start instruction: resolve the element, create the missing scopes, enter it.
    fn start_token(
        &mut self,
        ins: &ModificationInstruction,
        target: &StartTarget,
        ancestor: Option<&str>,
        variables: &Variables,
        local_variables: &Variables,
    ) -> Result<(), EngineError> {
        let p = self.p;
        let definition = self.env.process_definition_id.unwrap_or(&p.id).to_owned();
        let element_missing = |id: &str| {
            ins.not_valid(&format!(
                "Element '{id}' does not exist in process '{definition}'"
            ))
        };
        let (enter, element_id) = match target {
            StartTarget::BeforeActivity(id) => {
                let plain = id.strip_suffix(MI_BODY_SUFFIX).unwrap_or(id);
                let idx = self.node_idx(plain).ok_or_else(|| element_missing(id))?;
                self.check_startable(idx)?;
                (idx, id.clone())
            }
            StartTarget::AfterActivity(id) => {
                let idx = self
                    .node_idx(id)
                    .ok_or_else(|| ins.not_valid(&format!("Activity '{id}' does not exist")))?;
                let out = &p.node(idx).outgoing;
                match out.len() {
                    0 => {
                        return Err(EngineError::InvalidCommand(format!(
                            "Cannot start after activity {id}; activity has no outgoing sequence flow to take"
                        )));
                    }
                    1 => (p.flow(out[0]).target, p.flow(out[0]).id.clone()),
                    _ => {
                        return Err(EngineError::InvalidCommand(format!(
                            "Cannot start after activity {id}; activity has more than one outgoing sequence flow"
                        )));
                    }
                }
            }
            StartTarget::Transition(id) => {
                let flow = p
                    .flows
                    .iter()
                    .find(|f| &f.id == id)
                    .ok_or_else(|| element_missing(id))?;
                (flow.target, id.clone())
            }
        };
        let scopes = self.flow_scopes(enter);
        let (parent, missing) = self.modification_ancestor(ins, &scopes, ancestor, &element_id)?;
        let parent = self.create_scopes(&scopes[..missing], parent)?;
        let exec = if self.children(&parent).is_empty() {
            self.ai(&parent)?.execution_id.clone()
        } else {
            self.st.next_id()
        };
        let ai = self.create_instance(enter, &parent, exec);
        for (k, v) in local_variables {
            self.set_var(&ai, k, v.clone(), true)?;
        }
        for (k, v) in variables {
            self.set_var(&ai, k, v.clone(), false)?;
        }
        self.push(Work::Execute(ai));
        Ok(())
    }

    /// Refuse targets baton cannot start a token before.
    fn check_startable(&self, idx: NodeIdx) -> Result<(), EngineError> {
        let p = self.p;
        let node = p.node(idx);
        if let NodeKind::BoundaryEvent { trigger, .. } = &node.kind {
            if matches!(trigger, EventTrigger::Compensation) {
                return Err(EngineError::InvalidCommand(format!(
                    "Cannot start before activity {}; activity is a compensation boundary event.",
                    node.id
                )));
            }
            return Err(EngineError::Unsupported {
                activity_id: node.id.clone(),
                message: "starting a token before a boundary event is not supported".into(),
            });
        }
        let in_event_subprocess = std::iter::once(idx).chain(self.flow_scopes(idx)).any(|s| {
            matches!(
                p.node(s).kind,
                NodeKind::SubProcess {
                    triggered_by_event: true
                }
            )
        });
        if in_event_subprocess {
            return Err(EngineError::Unsupported {
                activity_id: node.id.clone(),
                message: "starting a token in an event subprocess is not supported".into(),
            });
        }
        Ok(())
    }

    /// The subprocesses enclosing `idx`, innermost first (bounded by the model's nesting).
    fn flow_scopes(&self, idx: NodeIdx) -> Vec<NodeIdx> {
        let mut out = Vec::new();
        let mut cursor = self.p.node(idx).scope;
        while let Some(s) = cursor {
            out.push(s);
            cursor = self.p.node(s).scope;
        }
        out
    }

    /// The activity instance to create the missing scopes under, and how many of `scopes`
    /// (innermost first) are missing.
    fn modification_ancestor(
        &self,
        ins: &ModificationInstruction,
        scopes: &[NodeIdx],
        ancestor: Option<&str>,
        element_id: &str,
    ) -> Result<(String, usize), EngineError> {
        let p = self.p;
        if let Some(anc) = ancestor {
            let ai = self
                .st
                .activity_instances
                .get(anc)
                .filter(|a| !matches!(a.wait, Some(Wait::Job { .. })))
                .ok_or_else(|| {
                    ins.not_valid(&format!(
                        "Ancestor activity instance '{anc}' does not exist"
                    ))
                })?;
            if ai.id == self.st.id {
                return Ok((ai.id.clone(), scopes.len()));
            }
            let position = scopes
                .iter()
                .position(|&s| p.node(s).id == ai.activity_id && !self.is_body(&ai.id));
            return match position {
                Some(k) => Ok((ai.id.clone(), k)),
                None => Err(ins.not_valid(&format!(
                    "Scope execution for '{anc}' cannot be found in parent hierarchy of flow element '{element_id}'"
                ))),
            };
        }
        for (k, &s) in scopes.iter().enumerate() {
            let scope_id = &p.node(s).id;
            let found: Vec<&str> = self
                .st
                .activity_instances
                .values()
                .filter(|a| &a.activity_id == scope_id && a.wait.is_none())
                .map(|a| a.id.as_str())
                .take(2)
                .collect();
            match found.as_slice() {
                [] => continue,
                [one] => return Ok(((*one).to_owned(), k)),
                _ => {
                    return Err(EngineError::InvalidCommand(format!(
                        "Ancestor activity execution is ambiguous for activity Activity({})",
                        p.node(scopes[0]).id
                    )));
                }
            }
        }
        Ok((self.st.id.clone(), scopes.len()))
    }

    /// Create the scope activity instances `missing` (innermost first) under `parent`, as a
    /// token entering them would (without starting their start events); the innermost new
    /// one is returned.
    fn create_scopes(
        &mut self,
        missing: &[NodeIdx],
        parent: String,
    ) -> Result<String, EngineError> {
        let p = self.p;
        let mut parent = parent;
        for &s in missing.iter().rev() {
            let node = p.node(s);
            if matches!(
                node.kind,
                NodeKind::SubProcess {
                    triggered_by_event: true
                }
            ) {
                return Err(EngineError::Unsupported {
                    activity_id: node.id.clone(),
                    message: "starting a token in an event subprocess is not supported".into(),
                });
            }
            if node.multi_instance.is_some() || node.standard_loop.is_some() {
                return Err(EngineError::Unsupported {
                    activity_id: node.id.clone(),
                    message: "creating a multi-instance or looping subprocess to start a token \
                              in it is not supported; start before the subprocess instead"
                        .into(),
                });
            }
            let exec = self.ai(&parent)?.execution_id.clone();
            let ai = self.create_instance(s, &parent, exec);
            self.start_history(&ai)?;
            self.apply_inputs(&ai, node)?;
            self.fire_execution_listeners(
                &ai,
                &node.listeners,
                crate::model::ExecutionEvent::Start,
            )?;
            self.arm_boundaries(&ai, s)?;
            self.arm_event_subprocesses(&ai, Some(s))?;
            parent = ai;
        }
        Ok(parent)
    }

    /// A cancel instruction.
    fn cancel_target(
        &mut self,
        ins: &ModificationInstruction,
        target: &CancelTarget,
    ) -> Result<(), EngineError> {
        match target {
            CancelTarget::Activity(activity_id) => {
                let body = format!("{activity_id}{MI_BODY_SUFFIX}");
                let mut ids: Vec<(i64, String)> = self
                    .st
                    .activity_instances
                    .values()
                    .filter(|a| a.activity_id == *activity_id || a.activity_id == body)
                    .map(|a| {
                        (
                            a.internal.get(super::exec::K_SEQ).copied().unwrap_or(0),
                            a.id.clone(),
                        )
                    })
                    .collect();
                ids.sort();
                for (_, id) in ids {
                    // An earlier cancellation may have taken this one with its scope.
                    if self.exists(&id) {
                        self.cancel_activity_instance(&id)?;
                    }
                }
                Ok(())
            }
            CancelTarget::ActivityInstance(id) => {
                let known = self
                    .st
                    .activity_instances
                    .get(id)
                    .is_some_and(|a| !matches!(a.wait, Some(Wait::Job { .. })));
                if !known {
                    return Err(ins.not_valid(&format!("Activity instance '{id}' does not exist")));
                }
                self.cancel_activity_instance(id)
            }
            CancelTarget::TransitionInstance(id) => {
                let known = self
                    .st
                    .activity_instances
                    .get(id)
                    .is_some_and(|a| matches!(a.wait, Some(Wait::Job { .. })));
                if !known {
                    return Err(
                        ins.not_valid(&format!("Transition instance '{id}' does not exist"))
                    );
                }
                self.cancel_activity_instance(id)
            }
        }
    }

    /// Cancel `id` with its topmost ancestor that holds nothing else (never the process
    /// instance itself, which the modification preserves).
    fn cancel_activity_instance(&mut self, id: &str) -> Result<(), EngineError> {
        let root = self.st.id.clone();
        if id == root {
            for c in self.children(&root) {
                self.cancel_subtree(&c);
            }
            self.modify_flags.root_emptied = Some(RootEmptied::Canceled);
            return Ok(());
        }
        if self.is_inner(id) {
            let body = self.ai(id)?.parent.clone().unwrap_or_default();
            if self.children(&body).len() > 1 {
                return Err(EngineError::Unsupported {
                    activity_id: self.blame(id),
                    message: "cancelling one of several instances of a parallel multi-instance \
                              activity is not supported; cancel the multi-instance body"
                        .into(),
                });
            }
        }
        let mut topmost = id.to_owned();
        loop {
            let parent = self
                .ai(&topmost)?
                .parent
                .clone()
                .unwrap_or_else(|| root.clone());
            if parent == root || self.children(&parent).len() != 1 {
                break;
            }
            topmost = parent;
        }
        self.cancel_subtree(&topmost);
        if self.children(&root).is_empty() {
            self.modify_flags.root_emptied = Some(RootEmptied::Canceled);
        }
        Ok(())
    }
}
