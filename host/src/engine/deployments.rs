//! Deployments: parsing resources, Camunda's duplicate filtering, definition ids
//! `key:version:uuid`, wasm modules bundled with a deployment, deleting deployments.

use super::Resource;
use super::core::{Deployed, new_id};
use super::events::EngineEvent;
use super::{DeployRequest, DeployResult, ProcessEngine, ProcessEngineError, Result};
use crate::digest::sha256_hex;
use crate::records::ModuleLimits;
use crate::records::{Deployment, Job, JobKind, ProcessDefinition, ResourceMeta, TaskModule};
use crate::store::{DeploymentStore, JobStore, ModuleStore, Store, WriteSet};
use crate::wasm::ModuleInfo;
use baton_bpmn::model::{EventTrigger, NodeKind};
use baton_bpmn::{Definitions, Process};
use std::sync::Arc;

fn is_bpmn(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".bpmn") || lower.ends_with(".bpmn20.xml") || lower.ends_with(".bpmn2")
}

fn is_wasm(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".wasm")
}

/// The topic a `.wasm` resource serves when no mapping says otherwise: its file stem.
fn topic_of(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    file.strip_suffix(".wasm")
        .or_else(|| file.strip_suffix(".WASM"))
        .unwrap_or(file)
        .to_owned()
}

impl DeployRequest {
    /// The topics the request's `.wasm` resources will serve (for authorization checks
    /// before anything is compiled).
    pub fn module_topics(&self) -> Vec<String> {
        self.resources
            .iter()
            .filter(|r| is_wasm(&r.name))
            .map(|r| {
                self.module_bindings
                    .iter()
                    .find(|(name, _)| name == &r.name)
                    .and_then(|(_, b)| b.topic.clone())
                    .unwrap_or_else(|| topic_of(&r.name))
            })
            .collect()
    }
}

/// The jobs that fire the timer start events of a new definition.
fn timer_start_jobs(definition: &ProcessDefinition, process: &Process, now: i64) -> Vec<Job> {
    let definition_id = definition.id.as_str();
    let mut jobs = Vec::new();
    for node in process.nodes.iter().filter(|n| n.scope.is_none()) {
        if let NodeKind::StartEvent {
            trigger: EventTrigger::Timer(def),
            ..
        } = &node.kind
            && let Some(due) = super::jobs::first_due(def, now)
        {
            jobs.push(Job {
                id: new_id(),
                kind: JobKind::TimerStart {
                    definition_id: definition_id.to_owned(),
                    activity_id: node.id.clone(),
                    fired: 0,
                },
                process_instance_id: None,
                activity_id: node.id.clone(),
                activity_instance_id: None,
                due,
                retries: 3,
                exception_message: None,
                retry_time_cycle: None,
                job_definition_id: Some(crate::records::job_definition_id(
                    definition_id,
                    &node.id,
                    crate::records::JOB_DEFINITION_TIMER,
                )),
                process_definition_id: Some(definition_id.to_owned()),
                tenant_id: definition.tenant_id.clone(),
                create_time: now,
                suspended: false,
                priority: 0,
            });
        }
    }
    jobs
}

/// Parse every BPMN resource of a deployment; all parse problems or the parsed models, with
/// the index of the resource each came from.
fn parse_bpmn_resources(
    request: &DeployRequest,
    options: &baton_bpmn::parse::ParseOptions,
) -> Result<Vec<(usize, Definitions)>> {
    let mut parse_problems = Vec::new();
    let mut parsed: Vec<(usize, Definitions)> = Vec::new();
    for (i, r) in request.resources.iter().enumerate() {
        if is_bpmn(&r.name) {
            match baton_bpmn::parse::parse_with(&r.bytes, options) {
                Ok(p) => parsed.push((i, p.definitions)),
                Err(e) => parse_problems.push((r.name.clone(), e.problems)),
            }
        }
    }
    if !parse_problems.is_empty() {
        let message = parse_problems
            .iter()
            .map(|(name, problems)| {
                let first = problems
                    .iter()
                    .find(|p| p.severity == baton_bpmn::parse::Severity::Error)
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                format!("{name}: {first}")
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ProcessEngineError::Parse {
            message: format!("ENGINE-09005 Could not parse BPMN process. Errors: {message}"),
            details: parse_problems,
        });
    }
    Ok(parsed)
}

/// Stage the task modules a deployment brings: the component bytes (content-addressed), the
/// deployment's binding and the topic's current binding.
fn stage_modules(
    store: &Store,
    ws: &mut WriteSet,
    modules: &[(String, &Resource, ModuleInfo, ModuleLimits)],
    deployment_id: &str,
    now: i64,
) -> Vec<TaskModule> {
    let mut deployed_modules = Vec::new();
    for (topic, r, info, limits) in modules {
        let module = TaskModule {
            topic: topic.clone(),
            sha256: info.sha256.clone(),
            size: r.bytes.len() as u64,
            deployment_id: Some(deployment_id.to_owned()),
            created: now,
            limits: limits.clone(),
            world_check: Some(info.world_check.clone()),
        };
        store.stage_module_blob(ws, &info.sha256, &r.bytes);
        store.stage_deployment_module(ws, deployment_id, topic, &module);
        store.stage_module(ws, topic, &module);
        deployed_modules.push(module);
    }
    deployed_modules
}

impl ProcessEngine {
    /// Deploy resources (with Camunda's duplicate filtering rules).
    pub async fn deploy(&self, request: DeployRequest) -> Result<DeployResult> {
        if request.resources.is_empty() {
            return Err(ProcessEngineError::BadRequest(
                "No deployment resources contained in the form upload.".into(),
            ));
        }
        // Validate everything before writing anything: a bad resource changes nothing.
        let options = self.parse_options(&request.resources);
        let mut parsed = parse_bpmn_resources(&request, &options)?;
        let mut parsed_dmn = super::decisions::parse_dmn_resources(&request)?;
        let mut modules = self.validate_deployed_modules(&request).await?;

        let _guard = self.inner.deploy_lock.lock().await;
        let now = self.now();

        // Duplicate filtering against the latest deployment with the same name/source/tenant.
        if request.enable_duplicate_filtering || request.deploy_changed_only {
            let previous = self
                .deployments_sync()?
                .into_iter()
                .filter(|d| {
                    d.name == request.name
                        && d.source.as_deref().unwrap_or("process application")
                            == request.source.as_deref().unwrap_or("process application")
                        && d.tenant_id == request.tenant_id
                })
                .max_by_key(|d| d.deployment_time);
            if let Some(previous) = previous {
                let changed = request.resources.iter().any(|r| {
                    !previous
                        .resources
                        .iter()
                        .any(|p| p.name == r.name && p.sha256 == sha256_hex(&r.bytes))
                });
                if !changed {
                    return Ok(DeployResult {
                        deployment: previous,
                        deployed_process_definitions: None,
                        deployed_modules: Vec::new(),
                        deployed_decisions: None,
                    });
                }
                if request.deploy_changed_only {
                    let unchanged: Vec<String> = request
                        .resources
                        .iter()
                        .filter(|r| {
                            previous
                                .resources
                                .iter()
                                .any(|p| p.name == r.name && p.sha256 == sha256_hex(&r.bytes))
                        })
                        .map(|r| r.name.clone())
                        .collect();
                    parsed.retain(|(i, _)| !unchanged.contains(&request.resources[*i].name));
                    parsed_dmn.retain(|(i, _)| !unchanged.contains(&request.resources[*i].name));
                    modules.retain(|(_, r, _, _)| !unchanged.contains(&r.name));
                }
            }
        }

        let deployment_id = new_id();
        let mut ws = WriteSet::new();
        let mut resources = Vec::new();
        for r in &request.resources {
            let meta = ResourceMeta {
                id: new_id(),
                name: r.name.clone(),
                deployment_id: deployment_id.clone(),
                sha256: sha256_hex(&r.bytes),
                size: r.bytes.len() as u64,
            };
            self.inner.store.stage_resource(&mut ws, &meta.id, &r.bytes);
            resources.push(meta);
        }
        let (deployed_definitions, to_cache) =
            self.stage_definitions(&mut ws, &request, &parsed, &resources, &deployment_id, now)?;
        let deployed_decisions = self.stage_decisions(
            &mut ws,
            &request,
            &parsed_dmn,
            &resources,
            &deployment_id,
            now,
        )?;
        let deployed_modules =
            stage_modules(&self.inner.store, &mut ws, &modules, &deployment_id, now);
        let deployment = Deployment {
            id: deployment_id.clone(),
            name: request.name.clone(),
            source: request.source.clone(),
            tenant_id: request.tenant_id.clone(),
            deployment_time: now,
            resources,
        };
        self.inner.store.stage_deployment(&mut ws, &deployment);
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.deployed.lock() {
            for d in to_cache {
                cache.insert(d.record.id.clone(), d);
            }
        }
        self.inner.scheduler_wake.notify_one();
        self.emit(EngineEvent::DeploymentCreated { deployment_id });
        Ok(DeployResult {
            deployment,
            deployed_process_definitions: Some(deployed_definitions),
            deployed_modules,
            deployed_decisions: Some(deployed_decisions),
        })
    }

    /// Check the module bindings name `.wasm` resources, and validate and compile every
    /// `.wasm` resource: (topic, resource, what the runtime found, limits).
    async fn validate_deployed_modules<'r>(
        &self,
        request: &'r DeployRequest,
    ) -> Result<Vec<(String, &'r Resource, ModuleInfo, ModuleLimits)>> {
        if let Some((name, _)) = request.module_bindings.iter().find(|(name, _)| {
            !request
                .resources
                .iter()
                .any(|r| &r.name == name && is_wasm(name))
        }) {
            return Err(ProcessEngineError::BadRequest(format!(
                "task-modules names '{name}', which is not a .wasm resource of this deployment"
            )));
        }
        let mut modules = Vec::new();
        for r in request.resources.iter().filter(|r| is_wasm(&r.name)) {
            let binding = request
                .module_bindings
                .iter()
                .find(|(name, _)| name == &r.name)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            let topic = binding.topic.unwrap_or_else(|| topic_of(&r.name));
            let info = self
                .validate_module(&r.bytes, &binding.limits)
                .await
                .map_err(|e| match e {
                    ProcessEngineError::InvalidModule(m) => {
                        ProcessEngineError::InvalidModule(format!("{}: {m}", r.name))
                    }
                    other => other,
                })?;
            modules.push((topic, r, info, binding.limits));
        }
        Ok(modules)
    }

    /// Stage the process definitions of the parsed resources (next version per key, timer
    /// start jobs replacing the previous version's); returns the records and what to cache.
    #[allow(clippy::too_many_arguments)]
    fn stage_definitions(
        &self,
        ws: &mut WriteSet,
        request: &DeployRequest,
        parsed: &[(usize, Definitions)],
        resources: &[ResourceMeta],
        deployment_id: &str,
        now: i64,
    ) -> Result<(Vec<ProcessDefinition>, Vec<Arc<Deployed>>)> {
        let mut deployed_definitions = Vec::new();
        let mut to_cache = Vec::new();
        for (i, defs) in parsed {
            let resource = &resources[*i];
            let defs = Arc::new(defs.clone());
            for process in defs.executable_processes() {
                let tenant = request.tenant_id.as_deref();
                let latest = self.latest_version(&process.id, tenant)?;
                let version = latest.as_ref().map(|d| d.version + 1).unwrap_or(1);
                let uuid = new_id();
                let mut id = format!("{}:{}:{}", process.id, version, uuid);
                if id.len() > 64 {
                    id = uuid;
                }
                let record = ProcessDefinition {
                    id: id.clone(),
                    key: process.id.clone(),
                    name: process.name.clone(),
                    version,
                    version_tag: process.version_tag.clone(),
                    category: defs.target_namespace.clone(),
                    description: process.documentation.clone(),
                    deployment_id: deployment_id.to_owned(),
                    resource_name: resource.name.clone(),
                    resource_id: resource.id.clone(),
                    suspended: false,
                    tenant_id: request.tenant_id.clone(),
                    history_time_to_live: process.history_time_to_live,
                    startable_in_tasklist: process.startable_in_tasklist,
                    deployed_at: now,
                    job_definitions: Default::default(),
                };
                self.inner.store.stage_definition(ws, &record);
                // A new version replaces the timer start events of the previous one.
                if let Some(prev) = &latest {
                    for job in self.timer_start_jobs_of(&prev.id)? {
                        self.inner.store.stage_job_removal(ws, &job, None);
                    }
                }
                for job in timer_start_jobs(&record, process, now) {
                    self.inner.store.stage_job(ws, &job, None, None);
                }
                to_cache.push(Arc::new(Deployed {
                    record: record.clone(),
                    definitions: defs.clone(),
                    process: Arc::new(process.clone()),
                }));
                deployed_definitions.push(record);
            }
        }
        Ok((deployed_definitions, to_cache))
    }

    pub(super) fn timer_start_jobs_of(&self, definition_id: &str) -> Result<Vec<Job>> {
        let jobs = self.inner.store.jobs()?;
        Ok(jobs
            .into_iter()
            .filter(|j| matches!(&j.kind, JobKind::TimerStart { definition_id: d, .. } if d == definition_id))
            .collect())
    }

    fn deployments_sync(&self) -> Result<Vec<Deployment>> {
        let mut all = DeploymentStore::deployments(&self.inner.store)?;
        all.sort_by(|a, b| {
            a.deployment_time
                .cmp(&b.deployment_time)
                .then(a.id.cmp(&b.id))
        });
        Ok(all)
    }

    /// All deployments, oldest first.
    pub async fn deployments(&self) -> Result<Vec<Deployment>> {
        self.deployments_sync()
    }

    /// One deployment.
    pub async fn deployment(&self, id: &str) -> Result<Deployment> {
        self.inner.store.deployment(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Deployment with id '{id}' does not exist"))
        })
    }

    /// The bytes of one resource of a deployment.
    pub async fn resource_data(&self, deployment_id: &str, resource_id: &str) -> Result<Vec<u8>> {
        let deployment = self.deployment(deployment_id).await?;
        if !deployment.resources.iter().any(|r| r.id == resource_id) {
            return Err(ProcessEngineError::NotFound(format!(
                "Deployment resource with resource id '{resource_id}' for deployment id '{deployment_id}' does not exist."
            )));
        }
        self.inner.store.resource(resource_id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("resource {resource_id} does not exist"))
        })
    }

    /// Delete a deployment; with `cascade`, its running instances too (else refuse if any).
    pub async fn delete_deployment(&self, id: &str, cascade: bool) -> Result<()> {
        let deployment = self.inner.store.deployment(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("Deployment with id '{id}' do not exist"))
        })?;
        let definitions: Vec<ProcessDefinition> = self
            .definitions_sync()?
            .into_iter()
            .filter(|d| d.deployment_id == id)
            .collect();
        for d in &definitions {
            self.delete_definition_inner(d, cascade).await?;
        }
        let mut ws = WriteSet::new();
        let store = &self.inner.store;
        for (topic, _) in store.deployment_modules(id)? {
            // The topic binding goes with the deployment only if it still points at it.
            if store
                .module(&topic)?
                .is_some_and(|m| m.deployment_id.as_deref() == Some(id))
            {
                store.stage_module_removal(&mut ws, &topic);
            }
            store.stage_deployment_module_removal(&mut ws, id, &topic);
        }
        self.stage_decisions_removal(&mut ws, id)?;
        store.stage_deployment_removal(&mut ws, &deployment);
        self.inner.store.commit_durable(&ws).await?;
        // Its parsed decisions are no longer reachable; deleting is rare, so the cache
        // starts over (entries are parsed again on their next use).
        if let Ok(mut cache) = self.inner.decisions.lock() {
            cache.clear();
        }
        Ok(())
    }
}
