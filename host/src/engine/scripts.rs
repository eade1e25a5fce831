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
use crate::records::Deployment;
use crate::store::{Tree, index};

/// Resources larger than this are not offered to scripts (a script is text, and every parse
/// of the deployment's models copies the map).
const MAX_SCRIPT_RESOURCE: usize = 1 << 20;

impl ProcessEngine {
    /// The state machine's environment for an instance of `definition_id`.
    pub(crate) fn script_env<'a>(&'a self, definition_id: &'a str) -> Environment<'a> {
        let scripts: &dyn ScriptRunner = match &self.inner.wasm {
            Some(wasm) => wasm.scripts().as_ref(),
            None => &NoScripts,
        };
        Environment {
            process_definition_id: Some(definition_id),
            scripts,
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
        if let Ok(Some(d)) = self
            .inner
            .store
            .get::<Deployment>(Tree::Deployments, &index::id_key(deployment_id))
        {
            for meta in d.resources {
                if let Ok(Some(bytes)) = self
                    .inner
                    .store
                    .get_raw(Tree::Resources, &index::id_key(&meta.id))
                {
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
