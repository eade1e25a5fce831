//! Scripts in models, the host's side: which runner the state machine gets (the embedded
//! JavaScript interpreter of the wasm runtime), the process definition id it reports, and the
//! parse options of a deployment (its other resources for `camunda:resource` scripts, and the
//! interpreter's syntax check, so a syntax error is a deploy-time error with its position).
//!
//! Scripts run inside the command that reaches them (see `baton_bpmn::script`): their writes
//! are part of that command's one commit, so crash safety is the executor's as for any step.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_bpmn::parse::ParseOptions;
use baton_bpmn::script::{Environment, NoScripts, ScriptRunner};

use super::ProcessEngine;
use super::types::Resource;
use crate::store::DeploymentStore;

/// Resources larger than this are not offered to scripts (a script is text, and every parse
/// of the deployment's models copies the map).
const MAX_SCRIPT_RESOURCE: usize = 1 << 20;

impl ProcessEngine {
    /// The state machine's environment for an instance of `definition_id`.
    pub(crate) fn script_env<'a>(
        &'a self,
        definition_id: &'a str,
        decisions: &'a dyn baton_bpmn::dmn::DecisionResolver,
    ) -> Environment<'a> {
        let scripts: &dyn ScriptRunner = match &self.inner.wasm {
            Some(wasm) => wasm.scripts().as_ref(),
            None => &NoScripts,
        };
        Environment {
            process_definition_id: Some(definition_id),
            scripts,
            decisions,
        }
    }

    /// Parse options for models deployed with `resources`.
    pub(crate) fn parse_options(&self, resources: &[Resource]) -> ParseOptions {
        let mut options = ParseOptions {
            resources: script_resources(resources.iter().map(|r| (&r.name, &r.bytes[..]))),
            check_javascript: None,
        };
        if let Some(wasm) = &self.inner.wasm {
            let scripts = Arc::clone(wasm.scripts());
            options.check_javascript = Some(Arc::new(move |src: &str| scripts.check(src)));
        }
        options
    }

    /// Parse options for re-reading a stored model of `deployment_id` (after a restart): its
    /// deployment's resources, without the syntax check (it passed at deploy).
    pub(crate) fn stored_parse_options(&self, deployment_id: &str) -> ParseOptions {
        let mut resources = Vec::new();
        if let Ok(Some(d)) = self.inner.store.deployment(deployment_id) {
            for meta in d.resources {
                if let Ok(Some(bytes)) = self.inner.store.resource(&meta.id) {
                    resources.push((meta.name, bytes));
                }
            }
        }
        ParseOptions {
            resources: script_resources(resources.iter().map(|(n, b)| (n, &b[..]))),
            check_javascript: None,
        }
    }
}

/// The text resources a script may name (`camunda:resource`), by name; BPMN/DMN models and
/// binary files are left out.
fn script_resources<'a>(
    resources: impl Iterator<Item = (&'a String, &'a [u8])>,
) -> BTreeMap<String, String> {
    resources
        .filter(|(name, bytes)| {
            let lower = name.to_ascii_lowercase();
            bytes.len() <= MAX_SCRIPT_RESOURCE
                && !lower.ends_with(".bpmn")
                && !lower.ends_with(".bpmn20.xml")
                && !lower.ends_with(".dmn")
                && !lower.ends_with(".wasm")
        })
        .filter_map(|(name, bytes)| {
            std::str::from_utf8(bytes)
                .ok()
                .map(|text| (name.clone(), text.to_owned()))
        })
        .collect()
}

impl ProcessEngine {
    /// The state-machine command for a REST change of a user task (claim, assignee), when the
    /// task's definition has `update` or `assignment` listeners; `None` when it has none (the
    /// room then writes the change directly). `raw` is the record before the change.
    pub(crate) fn task_update_command(
        &self,
        task: &crate::records::UserTask,
        before: &crate::records::UserTask,
    ) -> super::Result<Option<baton_bpmn::engine::Command>> {
        use baton_bpmn::model::{NodeKind, TaskEvent};
        // A standalone task has no model, so no listeners.
        if super::standalone_tasks::is_standalone(task) {
            return Ok(None);
        }
        let deployed = self.deployed_sync(&task.process_definition_id)?;
        let process = &deployed.process;
        let listens = process
            .node_by_id(&task.task_definition_key)
            .map(|idx| &process.node(idx).kind)
            .is_some_and(|kind| match kind {
                NodeKind::UserTask(def) => def
                    .task_listeners
                    .iter()
                    .any(|l| matches!(l.event, TaskEvent::Update | TaskEvent::Assignment)),
                _ => false,
            });
        if !listens {
            return Ok(None);
        }
        // The REST changes routed here only touch the assignee: no change, no event (Camunda
        // fires `update` for changed properties only).
        if before.assignee == task.assignee {
            return Ok(None);
        }
        Ok(Some(baton_bpmn::engine::Command::UpdateTask {
            task: Box::new(baton_bpmn::engine::UserTaskSpec {
                task_id: task.id.clone(),
                activity_instance_id: task.activity_instance_id.clone(),
                execution_id: task.execution_id.clone(),
                activity_id: task.task_definition_key.clone(),
                name: task.name.clone(),
                description: task.description.clone(),
                assignee: task.assignee.clone(),
                candidate_users: task.candidate_users.clone(),
                candidate_groups: task.candidate_groups.clone(),
                due: task.due,
                follow_up: task.follow_up,
                priority: task.priority,
                form_key: task.form_key.clone(),
            }),
            assignee_changed: true,
        }))
    }
}
