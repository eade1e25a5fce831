//! DMN decisions, the host's side: `.dmn` resources parsed at deploy (problems are deploy
//! errors at `file:line:column`), decision definitions and decision requirements definitions
//! versioned per key and tenant, the parsed-DMN cache, the resolver business rule tasks call
//! inside their step (binding latest / deployment / version / versionTag), evaluation over
//! REST, and the historic decision instances every evaluation leaves.
//!
//! The state machine evaluates a business rule task's decision inside the command (see
//! `baton_bpmn::dmn::call`), so its history rows are staged by the translation into the same
//! write set as the step; a REST evaluation commits its rows before it answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_bpmn::Value;
use baton_bpmn::dmn::call::evaluated_decisions;
use baton_bpmn::dmn::{
    DecisionDefinitions, DecisionMeta, DecisionRequest, DecisionResolver, DeployedDecision,
    EvaluatedDecision, RequestedBinding,
};
use baton_bpmn::expr::Scope;

use super::core::new_id;
use super::{DeployRequest, ProcessEngine, ProcessEngineError, Result};
use crate::records::{
    DecisionDefinition, DecisionRequirementsDefinition, HistoricDecisionInstance, ResourceMeta,
};
use crate::store::{DecisionStore, DeploymentStore, WriteSet};

/// A DMN resource name (`.dmn`, `.dmn11.xml`, `.dmn.xml`).
pub(crate) fn is_dmn(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".dmn") || lower.ends_with(".dmn11.xml") || lower.ends_with(".dmn.xml")
}

/// Parse every DMN resource of a deployment: the parsed documents with their resource index,
/// or every resource's problems as one `ParseException`.
pub(crate) fn parse_dmn_resources(
    request: &DeployRequest,
) -> Result<Vec<(usize, DecisionDefinitions)>> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in request.resources.iter().enumerate() {
        if is_dmn(&r.name) {
            match baton_bpmn::dmn::parse(&r.bytes) {
                Ok(d) => parsed.push((i, d)),
                Err(e) => problems.push((r.name.clone(), e.problems)),
            }
        }
    }
    // Camunda refuses one deployment holding the same decision key twice.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, d) in &parsed {
        for decision in &d.decisions {
            let name = request.resources[*i].name.as_str();
            if let Some(first) = seen.insert(&decision.id, name) {
                return Err(ProcessEngineError::BadRequest(format!(
                    "The deployment contains definitions with the same key '{}' (id attribute), \
                     this is not allowed ({first}, {name})",
                    decision.id
                )));
            }
        }
    }
    if problems.is_empty() {
        return Ok(parsed);
    }
    let message = problems
        .iter()
        .map(|(name, ps)| {
            let first = ps.first().map(|p| p.to_string()).unwrap_or_default();
            format!("{name}:{first}")
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ProcessEngineError::Parse {
        message: format!("ENGINE-22004 Unable to transform DMN resource: {message}"),
        details: problems,
    })
}

/// `key:version:uuid`, or the uuid alone when longer than 64 characters (Camunda's rule).
fn definition_id(key: &str, version: i32) -> String {
    let uuid = new_id();
    let id = format!("{key}:{version}:{uuid}");
    if id.len() > 64 { uuid } else { id }
}

fn meta_of(d: &DecisionDefinition) -> DecisionMeta {
    DecisionMeta {
        id: d.id.clone(),
        key: d.key.clone(),
        name: d.name.clone(),
        version: d.version,
        decision_requirements_definition_id: d.decision_requirements_definition_id.clone(),
        decision_requirements_definition_key: d.decision_requirements_definition_key.clone(),
        tenant_id: d.tenant_id.clone(),
    }
}

/// The decisions deployed with one deployment, as `deploy` reports them.
#[derive(Debug, Clone, Default)]
pub struct DeployedDecisions {
    /// Decision definitions.
    pub decisions: Vec<DecisionDefinition>,
    /// Decision requirements definitions (files with more than one decision).
    pub requirements: Vec<DecisionRequirementsDefinition>,
}

/// The variables of a REST evaluation.
struct VariablesScope<'a>(&'a BTreeMap<String, Value>);

impl Scope for VariablesScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.0.get(name).cloned()
    }
}

/// Resolves business rule tasks' references for one instance of one process definition.
pub(crate) struct HostDecisions<'a> {
    pub(crate) engine: &'a ProcessEngine,
    pub(crate) deployment_id: &'a str,
    pub(crate) tenant_id: Option<&'a str>,
}

impl DecisionResolver for HostDecisions<'_> {
    fn resolve(
        &self,
        request: &DecisionRequest<'_>,
    ) -> std::result::Result<Arc<DeployedDecision>, String> {
        let tenant = request.tenant_id.or(self.tenant_id);
        let store = &self.engine.inner.store;
        let key = request.key;
        let found = match &request.binding {
            RequestedBinding::Latest => store.decision_definition_version(key, tenant, None),
            RequestedBinding::Version(v) => {
                store.decision_definition_version(key, tenant, Some(*v))
            }
            RequestedBinding::Deployment => store.decision_definitions().map(|all| {
                all.into_iter()
                    .find(|d| d.key == key && d.deployment_id == self.deployment_id)
            }),
            RequestedBinding::VersionTag(tag) => store.decision_definitions().map(|all| {
                all.into_iter()
                    .filter(|d| {
                        d.key == key
                            && d.tenant_id.as_deref() == tenant
                            && d.version_tag.as_deref() == Some(tag.as_str())
                    })
                    .max_by_key(|d| d.version)
            }),
        }
        .map_err(|e| e.to_string())?;
        let Some(record) = found else {
            let what = match &request.binding {
                RequestedBinding::Latest => String::new(),
                RequestedBinding::Deployment => {
                    format!(" in deployment '{}'", self.deployment_id)
                }
                RequestedBinding::Version(v) => format!(" and version '{v}'"),
                RequestedBinding::VersionTag(t) => format!(" and version tag '{t}'"),
            };
            let tenant = tenant
                .map(|t| format!(" and tenant-id '{t}'"))
                .unwrap_or_default();
            return Err(format!(
                "no decision definition deployed with key '{key}'{what}{tenant}"
            ));
        };
        self.engine
            .deployed_decision(&record)
            .map_err(|e| e.to_string())
    }
}

impl ProcessEngine {
    /// Stage the decision definitions (and requirements definitions) of the parsed DMN
    /// resources: next version per key and tenant.
    pub(crate) fn stage_decisions(
        &self,
        ws: &mut WriteSet,
        request: &DeployRequest,
        parsed: &[(usize, DecisionDefinitions)],
        resources: &[ResourceMeta],
        deployment_id: &str,
        now: i64,
    ) -> Result<DeployedDecisions> {
        let store = &self.inner.store;
        let tenant = request.tenant_id.as_deref();
        let mut out = DeployedDecisions::default();
        for (i, defs) in parsed {
            let resource = &resources[*i];
            // Camunda makes a requirements definition only for a graph of several decisions.
            let requirements = if defs.decisions.len() > 1 {
                let version = store
                    .latest_decision_requirements_definition(&defs.id, tenant)?
                    .map_or(1, |d| d.version + 1);
                let drd = DecisionRequirementsDefinition {
                    id: definition_id(&defs.id, version),
                    key: defs.id.clone(),
                    name: defs.name.clone(),
                    category: defs.namespace.clone(),
                    version,
                    deployment_id: deployment_id.to_owned(),
                    resource_name: resource.name.clone(),
                    resource_id: resource.id.clone(),
                    tenant_id: request.tenant_id.clone(),
                };
                store.stage_decision_requirements_definition(ws, &drd);
                out.requirements.push(drd.clone());
                Some(drd)
            } else {
                None
            };
            for decision in &defs.decisions {
                let version = store
                    .decision_definition_version(&decision.id, tenant, None)?
                    .map_or(1, |d| d.version + 1);
                let record = DecisionDefinition {
                    id: definition_id(&decision.id, version),
                    key: decision.id.clone(),
                    name: decision.name.clone(),
                    category: defs.namespace.clone(),
                    version,
                    version_tag: decision.version_tag.clone(),
                    history_time_to_live: decision.history_time_to_live,
                    deployment_id: deployment_id.to_owned(),
                    resource_name: resource.name.clone(),
                    resource_id: resource.id.clone(),
                    decision_requirements_definition_id: requirements
                        .as_ref()
                        .map(|r| r.id.clone()),
                    decision_requirements_definition_key: requirements
                        .as_ref()
                        .map(|r| r.key.clone()),
                    tenant_id: request.tenant_id.clone(),
                    deployed_at: now,
                };
                store.stage_decision_definition(ws, &record);
                out.decisions.push(record);
            }
        }
        Ok(out)
    }

    /// Stage removing the decisions of a deployment (it is being deleted).
    pub(crate) fn stage_decisions_removal(
        &self,
        ws: &mut WriteSet,
        deployment_id: &str,
    ) -> Result<()> {
        let store = &self.inner.store;
        for d in store.decision_definitions()? {
            if d.deployment_id == deployment_id {
                store.stage_decision_definition_removal(ws, &d);
            }
        }
        for d in store.decision_requirements_definitions()? {
            if d.deployment_id == deployment_id {
                store.stage_decision_requirements_definition_removal(ws, &d);
            }
        }
        Ok(())
    }

    /// A deployed decision with its parsed file and its siblings (cached by definition id).
    pub(crate) fn deployed_decision(
        &self,
        record: &DecisionDefinition,
    ) -> Result<Arc<DeployedDecision>> {
        if let Ok(cache) = self.inner.decisions.lock()
            && let Some(d) = cache.get(&record.id)
        {
            return Ok(Arc::clone(d));
        }
        let bytes = self
            .inner
            .store
            .resource(&record.resource_id)?
            .ok_or_else(|| {
                ProcessEngineError::Internal(format!("resource {} is missing", record.resource_id))
            })?;
        // It parsed at deploy; a failure now means the stored bytes changed.
        let definitions = baton_bpmn::dmn::parse(&bytes)
            .map_err(|e| ProcessEngineError::Internal(format!("{}: {e}", record.resource_name)))?;
        let siblings = self
            .inner
            .store
            .decision_definitions()?
            .iter()
            .filter(|d| d.resource_id == record.resource_id)
            .map(meta_of)
            .collect();
        let deployed = Arc::new(DeployedDecision {
            meta: meta_of(record),
            siblings: Arc::new(siblings),
            definitions: Arc::new(definitions),
        });
        if let Ok(mut cache) = self.inner.decisions.lock() {
            cache.insert(record.id.clone(), Arc::clone(&deployed));
        }
        Ok(deployed)
    }

    /// Every decision definition.
    pub async fn decision_definitions(&self) -> Result<Vec<DecisionDefinition>> {
        Ok(self.inner.store.decision_definitions()?)
    }

    /// One decision definition (404 text as Camunda's).
    pub async fn decision_definition(&self, id: &str) -> Result<DecisionDefinition> {
        self.inner.store.decision_definition(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("No matching decision definition with id: {id}"))
        })
    }

    /// The latest version of a decision key for a tenant (or without one).
    pub async fn latest_decision_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<DecisionDefinition> {
        self.inner
            .store
            .decision_definition_version(key, tenant, None)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(match tenant {
                    None => {
                        format!("No matching decision definition with key: {key} and no tenant-id")
                    }
                    Some(t) => format!(
                        "No matching decision definition with key: {key} and tenant-id: {t}"
                    ),
                })
            })
    }

    /// Every decision requirements definition.
    pub async fn decision_requirements_definitions(
        &self,
    ) -> Result<Vec<DecisionRequirementsDefinition>> {
        Ok(self.inner.store.decision_requirements_definitions()?)
    }

    /// One decision requirements definition.
    pub async fn decision_requirements_definition(
        &self,
        id: &str,
    ) -> Result<DecisionRequirementsDefinition> {
        self.inner
            .store
            .decision_requirements_definition(id)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "No matching decision requirements definition with id: {id}"
                ))
            })
    }

    /// The latest decision requirements definition of a key.
    pub async fn latest_decision_requirements_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<DecisionRequirementsDefinition> {
        self.inner
            .store
            .latest_decision_requirements_definition(key, tenant)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "No matching decision requirements definition with key: {key}"
                ))
            })
    }

    /// Set (or clear) a decision definition's history time to live, in days.
    pub async fn set_decision_history_time_to_live(
        &self,
        id: &str,
        days: Option<u32>,
    ) -> Result<()> {
        let mut record = self.decision_definition(id).await?;
        record.history_time_to_live = days;
        let mut ws = WriteSet::new();
        self.inner.store.stage_decision_definition(&mut ws, &record);
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.decisions.lock() {
            cache.remove(id);
        }
        Ok(())
    }

    /// The DMN XML of a decision (requirements) definition's resource.
    pub async fn decision_resource_xml(&self, resource_id: &str) -> Result<String> {
        let bytes = self.inner.store.resource(resource_id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("resource {resource_id} does not exist"))
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every historic decision instance, oldest first.
    pub async fn historic_decision_instances(&self) -> Result<Vec<HistoricDecisionInstance>> {
        Ok(self.inner.store.historic_decision_instances()?)
    }

    /// One historic decision instance.
    pub async fn historic_decision_instance(&self, id: &str) -> Result<HistoricDecisionInstance> {
        self.inner
            .store
            .historic_decision_instance(id)?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "Historic decision instance with id '{id}' does not exist"
                ))
            })
    }

    /// Evaluate a decision definition against `variables` (REST evaluate): the result list
    /// (one map of output name to value per rule the hit policy kept), with its history
    /// committed before it returns. An evaluation failure is `Engine` (Camunda: 500).
    pub async fn evaluate_decision(
        &self,
        definition: &DecisionDefinition,
        variables: &BTreeMap<String, Value>,
        user_id: Option<String>,
    ) -> Result<Vec<Vec<(String, Value)>>> {
        let deployed = self.deployed_decision(definition)?;
        let result = deployed
            .definitions
            .evaluate(&definition.key, &VariablesScope(variables))
            .map_err(|e| ProcessEngineError::Engine(e.message))?;
        let now = self.now();
        let rows = historic_rows(&evaluated_decisions(&deployed, &result), now, |row| {
            row.user_id = user_id.clone();
        });
        if self.history_level().keeps_details() {
            let mut ws = WriteSet::new();
            for row in &rows {
                self.inner
                    .store
                    .stage_historic_decision_instance(&mut ws, row);
            }
            self.inner.store.commit_durable(&ws).await?;
        }
        Ok(result.results.into_iter().map(|r| r.entries).collect())
    }
}

/// Historic decision instance rows for one evaluation (root first); `fill` adds the caller's
/// context (process instance and task, or the REST user).
pub(crate) fn historic_rows(
    evaluated: &[EvaluatedDecision],
    at: i64,
    mut fill: impl FnMut(&mut HistoricDecisionInstance),
) -> Vec<HistoricDecisionInstance> {
    let ids: Vec<String> = evaluated.iter().map(|_| new_id()).collect();
    let mut rows = Vec::with_capacity(evaluated.len());
    for (i, e) in evaluated.iter().enumerate() {
        let mut row = HistoricDecisionInstance {
            id: ids[i].clone(),
            decision_definition_id: e.decision.id.clone(),
            decision_definition_key: e.decision.key.clone(),
            decision_definition_name: e.decision.name.clone(),
            evaluation_time: at,
            process_definition_id: None,
            process_definition_key: None,
            process_instance_id: None,
            root_process_instance_id: None,
            activity_id: None,
            activity_instance_id: None,
            tenant_id: e.decision.tenant_id.clone(),
            user_id: None,
            root_decision_instance_id: e.required_by.map(|_| ids[0].clone()),
            decision_requirements_definition_id: e
                .decision
                .decision_requirements_definition_id
                .clone(),
            decision_requirements_definition_key: e
                .decision
                .decision_requirements_definition_key
                .clone(),
            collect_result_value: e.collect_result_value.clone(),
            inputs: e.inputs.clone(),
            outputs: e.outputs.clone(),
            matched_rule_ids: e.matched_rule_ids.clone(),
            removal_time: None,
        };
        fill(&mut row);
        rows.push(row);
    }
    rows
}
