//! What the REST API asks of a process definition besides its model: the diagram image
//! deployed next to it, its history time to live, the definitions its call activities name
//! statically, and its start form (key, deployed form resource, form fields).

use std::collections::BTreeMap;

use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::ProcessDefinition;
use crate::store::{DeploymentStore, WriteSet};
use baton_bpmn::model::{CalledElementBinding, FormField, NodeKind};

/// The image suffixes Camunda looks for next to a BPMN resource, in its order.
const DIAGRAM_SUFFIXES: [&str; 4] = ["png", "jpg", "gif", "svg"];

/// A definition's start form as Camunda's `StartFormData` sees it.
#[derive(Debug, Clone, Default)]
pub struct StartForm {
    /// `camunda:formKey` of the none start event.
    pub form_key: Option<String>,
    /// `camunda:formData` fields of the none start event.
    pub fields: Vec<FormField>,
}

impl ProcessEngine {
    /// The diagram image deployed with a definition: a resource of the same deployment named
    /// `<bpmn name without suffix>.<process key>.<png|jpg|gif|svg>` or
    /// `<bpmn name without suffix>.<suffix>` (Camunda's lookup). `None` when there is none.
    pub async fn definition_diagram(
        &self,
        d: &ProcessDefinition,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let deployment = self.deployment(&d.deployment_id).await?;
        let base = d
            .resource_name
            .strip_suffix(".bpmn20.xml")
            .or_else(|| d.resource_name.strip_suffix(".bpmn"))
            .unwrap_or(&d.resource_name);
        let mut wanted = Vec::new();
        for suffix in DIAGRAM_SUFFIXES {
            wanted.push(format!("{base}.{}.{suffix}", d.key));
        }
        for suffix in DIAGRAM_SUFFIXES {
            wanted.push(format!("{base}.{suffix}"));
        }
        for name in wanted {
            if let Some(r) = deployment.resources.iter().find(|r| r.name == name)
                && let Some(bytes) = self.inner.store.resource(&r.id)?
            {
                return Ok(Some((name, bytes)));
            }
        }
        Ok(None)
    }

    /// Set (or clear) a definition's history time to live, in days.
    pub async fn set_definition_history_time_to_live(
        &self,
        id: &str,
        days: Option<i32>,
    ) -> Result<()> {
        let mut d = self.definition(id).await?;
        d.history_time_to_live = days;
        let mut ws = WriteSet::new();
        self.inner.store.stage_definition(&mut ws, &d);
        self.user_operation(
            &mut ws,
            "UpdateHistoryTimeToLive",
            "ProcessDefinition",
            id,
            None,
            Some(format!(
                "historyTimeToLive={}",
                days.map_or("null".to_owned(), |n| n.to_string())
            )),
        );
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.deployed.lock() {
            cache.remove(id);
        }
        Ok(())
    }

    /// The definitions a definition's call activities name with a constant `calledElement`
    /// and a constant binding (latest, deployment, version, version tag), resolved as they
    /// would be now: called definition → the calling activity ids. Expressions are skipped,
    /// as in Camunda (they are only known at run time).
    pub async fn static_called_definitions(
        &self,
        definition_id: &str,
    ) -> Result<Vec<(ProcessDefinition, Vec<String>)>> {
        let caller = self.definition(definition_id).await?;
        let deployed = self.deployed_sync(definition_id)?;
        let all = self.definitions_sync()?;
        let mut out: BTreeMap<String, (ProcessDefinition, Vec<String>)> = BTreeMap::new();
        for node in &deployed.process.nodes {
            let NodeKind::CallActivity(call) = &node.kind else {
                continue;
            };
            let Some(key) = call.called_element.literal_text() else {
                continue;
            };
            let candidates = all
                .iter()
                .filter(|d| d.key == key && d.tenant_id == caller.tenant_id);
            let chosen = match &call.binding {
                CalledElementBinding::Latest => candidates.max_by_key(|d| d.version),
                CalledElementBinding::Deployment => candidates
                    .filter(|d| d.deployment_id == caller.deployment_id)
                    .max_by_key(|d| d.version),
                CalledElementBinding::Version(v) => {
                    let Some(v) = v.literal_text().and_then(|t| t.trim().parse::<i32>().ok())
                    else {
                        continue;
                    };
                    candidates
                        .filter(|d| d.version == v)
                        .max_by_key(|d| d.version)
                }
                CalledElementBinding::VersionTag(t) => {
                    let Some(t) = t.literal_text() else {
                        continue;
                    };
                    candidates
                        .filter(|d| d.version_tag.as_deref() == Some(t))
                        .max_by_key(|d| d.version)
                }
            };
            if let Some(d) = chosen {
                out.entry(d.id.clone())
                    .or_insert_with(|| (d.clone(), Vec::new()))
                    .1
                    .push(node.id.clone());
            }
        }
        Ok(out.into_values().collect())
    }

    /// The start form of a definition (its none start event's form key and fields).
    pub async fn start_form(&self, definition_id: &str) -> Result<StartForm> {
        let deployed = self.deployed_sync(definition_id)?;
        let process = &deployed.process;
        let form = process
            .none_start_events(None)
            .next()
            .and_then(|idx| match &process.node(idx).kind {
                NodeKind::StartEvent {
                    form_key,
                    form_fields,
                    ..
                } => Some(StartForm {
                    form_key: form_key.clone(),
                    fields: form_fields.clone(),
                }),
                _ => None,
            })
            .unwrap_or_default();
        Ok(form)
    }

    /// The deployed form a start form key references (`deployment:<resource>`, optionally
    /// behind `embedded:` or `camunda-forms:`), from the definition's deployment: its resource
    /// name and bytes. Camunda's errors: no key → `BadUserRequest`, a key that references no
    /// deployed resource → `BadUserRequest`, a missing resource → `NotFound`.
    pub async fn deployed_start_form(&self, definition_id: &str) -> Result<(String, Vec<u8>)> {
        let d = self.definition(definition_id).await?;
        let form = self.start_form(definition_id).await?;
        let Some(key) = form.form_key else {
            return Err(ProcessEngineError::BadUserRequest(
                "The form key is not set.".into(),
            ));
        };
        let rest = key
            .strip_prefix("embedded:")
            .or_else(|| key.strip_prefix("camunda-forms:"))
            .unwrap_or(&key);
        let Some(name) = rest.strip_prefix("deployment:") else {
            return Err(ProcessEngineError::BadUserRequest(format!(
                "The form key '{key}' does not reference a deployed form."
            )));
        };
        let deployment = self.deployment(&d.deployment_id).await?;
        let missing = || {
            ProcessEngineError::NotFound(format!(
                "The form with the resource name '{name}' cannot be found in deployment."
            ))
        };
        let resource = deployment
            .resources
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(missing)?;
        let bytes = self
            .inner
            .store
            .resource(&resource.id)?
            .ok_or_else(missing)?;
        Ok((name.to_owned(), bytes))
    }
}
