//! Deployments and versions: parsing resources, Camunda's duplicate filtering, definition ids
//! `key:version:uuid`, timer start events, wasm modules bundled with a deployment or bound to
//! a topic, and the in-memory cache of parsed definitions.

use std::sync::Arc;

use baton_bpmn::engine::CallBinding;
use baton_bpmn::model::{EventTrigger, NodeKind};
use baton_bpmn::{Definitions, Process};
use sha2::{Digest, Sha256};

use super::core::{Deployed, EngineEvent, Inner, new_id};
use super::index;
use super::{DeployRequest, DeployResult, ProcessEngineError, Result};
use crate::records::{
    Deployment, Job, JobKind, ModuleLimits, ProcessDefinition, ProcessInstance, ResourceMeta,
    TaskModule,
};
use crate::store::{Tree, WriteSet};
use crate::wasm::{AllowedHost, ModuleInfo};

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

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

impl Inner {
    /// The parsed definition, from the cache or the store.
    pub(crate) fn deployed_sync(&self, definition_id: &str) -> Result<Arc<Deployed>> {
        if let Ok(cache) = self.deployed.lock()
            && let Some(d) = cache.get(definition_id)
        {
            return Ok(d.clone());
        }
        let record: ProcessDefinition = self
            .store
            .get(Tree::Definitions, &index::id_key(definition_id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!(
                    "No matching definition with id {definition_id}"
                ))
            })?;
        let bytes = self
            .store
            .get_raw(Tree::Resources, &index::id_key(&record.resource_id))?
            .ok_or_else(|| {
                ProcessEngineError::Internal(format!(
                    "resource {} of definition {definition_id} is missing",
                    record.resource_id
                ))
            })?;
        let parsed = baton_bpmn::parse(&bytes).map_err(|e| {
            ProcessEngineError::Internal(format!(
                "stored resource of {definition_id} no longer parses: {e}"
            ))
        })?;
        let definitions = Arc::new(parsed.definitions);
        let process = definitions
            .process(&record.key)
            .cloned()
            .map(Arc::new)
            .ok_or_else(|| {
                ProcessEngineError::Internal(format!(
                    "process {} not found in its resource",
                    record.key
                ))
            })?;
        let deployed = Arc::new(Deployed {
            record,
            definitions,
            process,
        });
        if let Ok(mut cache) = self.deployed.lock() {
            cache.insert(definition_id.to_owned(), deployed.clone());
        }
        Ok(deployed)
    }

    pub(super) async fn deploy(&self, request: DeployRequest) -> Result<DeployResult> {
        if request.resources.is_empty() {
            return Err(ProcessEngineError::BadRequest(
                "No deployment resources contained in the form upload.".into(),
            ));
        }
        // Validate everything before writing anything: a bad resource changes nothing.
        let mut parse_problems = Vec::new();
        let mut parsed: Vec<(usize, Definitions)> = Vec::new();
        for (i, r) in request.resources.iter().enumerate() {
            if is_bpmn(&r.name) {
                match baton_bpmn::parse(&r.bytes) {
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

        let _guard = self.deploy_lock.lock().await;
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
            ws.put_raw(Tree::Resources, index::id_key(&meta.id), r.bytes.clone());
            resources.push(meta);
        }
        let mut deployed_definitions = Vec::new();
        let mut to_cache = Vec::new();
        for (i, defs) in &parsed {
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
                    deployment_id: deployment_id.clone(),
                    resource_name: resource.name.clone(),
                    resource_id: resource.id.clone(),
                    suspended: false,
                    tenant_id: request.tenant_id.clone(),
                    history_time_to_live: process.history_time_to_live,
                    startable_in_tasklist: process.startable_in_tasklist,
                    deployed_at: now,
                };
                ws.put(Tree::Definitions, index::id_key(&id), &record);
                ws.put_raw(
                    Tree::DefinitionsByKey,
                    index::definition_version_key(&process.id, tenant, version),
                    id.as_bytes().to_vec(),
                );
                // A new version replaces the timer start events of the previous one.
                if let Some(prev) = &latest {
                    for job in self.timer_start_jobs_of(&prev.id)? {
                        index::delete_job(&mut ws, &job);
                    }
                }
                for job in timer_start_jobs(&id, process, now) {
                    index::put_job(&mut ws, &job, None);
                }
                to_cache.push(Arc::new(Deployed {
                    record: record.clone(),
                    definitions: defs.clone(),
                    process: Arc::new(process.clone()),
                }));
                deployed_definitions.push(record);
            }
        }
        let mut deployed_modules = Vec::new();
        for (topic, r, info, limits) in &modules {
            let module = TaskModule {
                topic: topic.clone(),
                sha256: info.sha256.clone(),
                size: r.bytes.len() as u64,
                deployment_id: Some(deployment_id.clone()),
                created: now,
                limits: limits.clone(),
                world_check: Some(info.world_check.clone()),
            };
            ws.put_raw(
                Tree::ModuleBlobs,
                info.sha256.as_bytes().to_vec(),
                r.bytes.clone(),
            );
            ws.put(
                Tree::DeploymentModules,
                index::deployment_module_key(&deployment_id, topic),
                &module,
            );
            ws.put(Tree::Modules, topic.as_bytes().to_vec(), &module);
            deployed_modules.push(module);
        }
        let deployment = Deployment {
            id: deployment_id.clone(),
            name: request.name.clone(),
            source: request.source.clone(),
            tenant_id: request.tenant_id.clone(),
            deployment_time: now,
            resources,
        };
        ws.put(
            Tree::Deployments,
            index::id_key(&deployment_id),
            &deployment,
        );
        self.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.deployed.lock() {
            for d in to_cache {
                cache.insert(d.record.id.clone(), d);
            }
        }
        self.scheduler_wake.notify_one();
        self.emit(EngineEvent::DeploymentCreated { deployment_id });
        Ok(DeployResult {
            deployment,
            deployed_process_definitions: Some(deployed_definitions),
            deployed_modules,
        })
    }

    fn timer_start_jobs_of(&self, definition_id: &str) -> Result<Vec<Job>> {
        let jobs: Vec<Job> = self.store.scan(Tree::Jobs, b"")?;
        Ok(jobs
            .into_iter()
            .filter(|j| matches!(&j.kind, JobKind::TimerStart { definition_id: d, .. } if d == definition_id))
            .collect())
    }

    fn latest_version(&self, key: &str, tenant: Option<&str>) -> Result<Option<ProcessDefinition>> {
        let prefix = index::definition_key_prefix(key, tenant);
        let Some(k) = self
            .store
            .last_key_with_prefix(Tree::DefinitionsByKey, &prefix)?
        else {
            return Ok(None);
        };
        let Some(id) = self.store.get_raw(Tree::DefinitionsByKey, &k)? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&id).into_owned();
        Ok(self.store.get(Tree::Definitions, &index::id_key(&id))?)
    }

    fn deployments_sync(&self) -> Result<Vec<Deployment>> {
        let mut all: Vec<Deployment> = self.store.scan(Tree::Deployments, b"")?;
        all.sort_by(|a, b| {
            a.deployment_time
                .cmp(&b.deployment_time)
                .then(a.id.cmp(&b.id))
        });
        Ok(all)
    }

    pub(super) async fn deployments(&self) -> Result<Vec<Deployment>> {
        self.deployments_sync()
    }

    pub(super) async fn deployment(&self, id: &str) -> Result<Deployment> {
        self.store
            .get(Tree::Deployments, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("Deployment with id '{id}' does not exist"))
            })
    }

    pub(super) async fn resource_data(
        &self,
        deployment_id: &str,
        resource_id: &str,
    ) -> Result<Vec<u8>> {
        let deployment = self.deployment(deployment_id).await?;
        if !deployment.resources.iter().any(|r| r.id == resource_id) {
            return Err(ProcessEngineError::NotFound(format!(
                "Deployment resource with resource id '{resource_id}' for deployment id '{deployment_id}' does not exist."
            )));
        }
        self.store
            .get_raw(Tree::Resources, &index::id_key(resource_id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("resource {resource_id} does not exist"))
            })
    }

    pub(super) async fn delete_deployment(&self, id: &str, cascade: bool) -> Result<()> {
        let deployment: Deployment = self
            .store
            .get(Tree::Deployments, &index::id_key(id))?
            .ok_or_else(|| {
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
        for r in &deployment.resources {
            ws.delete(Tree::Resources, index::id_key(&r.id));
        }
        let module_keys = self.store.scan_keys(
            Tree::DeploymentModules,
            &crate::store::keys::Key::new().str(id).build(),
            usize::MAX,
        )?;
        for k in module_keys {
            if let Some(topic) = crate::store::keys::last_str(&k)
                && let Some(m) = self
                    .store
                    .get::<TaskModule>(Tree::Modules, topic.as_bytes())?
                && m.deployment_id.as_deref() == Some(id)
            {
                ws.delete(Tree::Modules, topic.as_bytes().to_vec());
            }
            ws.delete(Tree::DeploymentModules, k);
        }
        ws.delete(Tree::Deployments, index::id_key(id));
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    async fn delete_definition_inner(&self, d: &ProcessDefinition, cascade: bool) -> Result<()> {
        let instances: Vec<ProcessInstance> = self
            .store
            .scan::<ProcessInstance>(Tree::Instances, b"")?
            .into_iter()
            .filter(|i| i.definition_id == d.id)
            .collect();
        if !instances.is_empty() && !cascade {
            return Err(ProcessEngineError::Engine(format!(
                "Deletion of process definition without cascading failed. There are {} running instances of {}.",
                instances.len(),
                d.id
            )));
        }
        for i in instances {
            match self
                .cancel_instance(i.id(), Some("deployment deleted".into()))
                .await
            {
                Ok(()) | Err(ProcessEngineError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut ws = WriteSet::new();
        for job in self.timer_start_jobs_of(&d.id)? {
            index::delete_job(&mut ws, &job);
        }
        ws.delete(Tree::Definitions, index::id_key(&d.id));
        ws.delete(
            Tree::DefinitionsByKey,
            index::definition_version_key(&d.key, d.tenant_id.as_deref(), d.version),
        );
        self.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.deployed.lock() {
            cache.remove(&d.id);
        }
        Ok(())
    }

    pub(crate) fn definitions_sync(&self) -> Result<Vec<ProcessDefinition>> {
        Ok(self.store.scan(Tree::Definitions, b"")?)
    }

    pub(super) async fn definitions(&self) -> Result<Vec<ProcessDefinition>> {
        let mut all = self.definitions_sync()?;
        all.sort_by(|a, b| a.key.cmp(&b.key).then(a.version.cmp(&b.version)));
        Ok(all)
    }

    pub(super) async fn definition(&self, id: &str) -> Result<ProcessDefinition> {
        self.store
            .get(Tree::Definitions, &index::id_key(id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("No matching definition with id {id}"))
            })
    }

    pub(super) async fn latest_definition(
        &self,
        key: &str,
        tenant_id: Option<&str>,
    ) -> Result<ProcessDefinition> {
        self.latest_version(key, tenant_id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(match tenant_id {
                None => format!("No matching process definition with key: {key} and no tenant-id"),
                Some(t) => {
                    format!("No matching process definition with key: {key} and tenant-id: {t}")
                }
            })
        })
    }

    pub(super) async fn definition_xml(&self, id: &str) -> Result<String> {
        let d = self.definition(id).await?;
        let bytes = self
            .store
            .get_raw(Tree::Resources, &index::id_key(&d.resource_id))?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("resource of {id} does not exist"))
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub(super) async fn definition_model(
        &self,
        id: &str,
    ) -> Result<(Arc<Definitions>, Arc<Process>)> {
        let d = self.deployed_sync(id)?;
        Ok((d.definitions.clone(), d.process.clone()))
    }

    pub(super) async fn set_definition_suspended(
        &self,
        id: &str,
        suspended: bool,
        include_instances: bool,
    ) -> Result<()> {
        let mut d = self.definition(id).await?;
        d.suspended = suspended;
        let mut ws = WriteSet::new();
        ws.put(Tree::Definitions, index::id_key(id), &d);
        self.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.deployed.lock() {
            cache.remove(id);
        }
        if include_instances {
            let instances: Vec<ProcessInstance> = self.store.scan(Tree::Instances, b"")?;
            for i in instances.into_iter().filter(|i| i.definition_id == id) {
                self.set_instance_suspended(i.id(), suspended).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn delete_definition(&self, id: &str, cascade: bool) -> Result<()> {
        let d = self.definition(id).await?;
        self.delete_definition_inner(&d, cascade).await
    }

    /// The definition a call activity starts.
    pub(crate) async fn resolve_called_definition(
        &self,
        key: &str,
        binding: &CallBinding,
        caller_definition_id: &str,
        tenant: Option<&str>,
    ) -> Result<Arc<Deployed>> {
        let all = self.definitions_sync()?;
        let candidates = all
            .iter()
            .filter(|d| d.key == key && d.tenant_id.as_deref() == tenant);
        let chosen = match binding {
            CallBinding::Latest => candidates.max_by_key(|d| d.version).cloned(),
            CallBinding::Deployment => {
                let caller = self.definition(caller_definition_id).await?;
                candidates
                    .filter(|d| d.deployment_id == caller.deployment_id)
                    .max_by_key(|d| d.version)
                    .cloned()
            }
            CallBinding::Version(v) => candidates
                .filter(|d| d.version == *v)
                .max_by_key(|d| d.version)
                .cloned(),
            CallBinding::VersionTag(tag) => candidates
                .filter(|d| d.version_tag.as_deref() == Some(tag.as_str()))
                .max_by_key(|d| d.version)
                .cloned(),
        };
        let chosen = chosen.ok_or_else(|| {
            ProcessEngineError::NotFound(format!(
                "no process definition with key '{key}' matches binding {binding:?}"
            ))
        })?;
        if chosen.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Process definition {} is suspended",
                chosen.id
            )));
        }
        self.deployed_sync(&chosen.id)
    }

    // ------------------------------------------------------------------ modules

    /// Validate and compile a component; returns its sha256.
    /// Loads (compiles, world-checks) a component about to be bound with `limits`, and checks
    /// the grant: every allowed host must parse, and a component that imports
    /// `wasi:http/outgoing-handler` must be granted at least one host, so a module that could
    /// never reach anything is refused at upload rather than failing at its first task.
    async fn validate_module(&self, bytes: &[u8], limits: &ModuleLimits) -> Result<ModuleInfo> {
        let Some(wasm) = &self.wasm else {
            return Err(ProcessEngineError::InvalidModule(
                "in-engine wasm tasks are disabled in this server's configuration".into(),
            ));
        };
        for host in &limits.allowed_hosts {
            AllowedHost::parse(host).map_err(ProcessEngineError::BadRequest)?;
        }
        let info = wasm
            .load(bytes)
            .await
            .map_err(|e| ProcessEngineError::InvalidModule(e.to_string()))?;
        if info.outbound_http && limits.allowed_hosts.is_empty() {
            return Err(ProcessEngineError::InvalidModule(
                "the component imports wasi:http/outgoing-handler (outbound HTTP), but no host \
                 is granted: list the hosts it may call with allowedHosts (a query parameter of \
                 PUT /task-module/{topic}, or per resource in the deployment's task-modules \
                 field)"
                    .into(),
            ));
        }
        Ok(info)
    }

    /// The module serving `topic` for instances of `deployment_id`: the one bundled with that
    /// deployment (instances keep the component they started with), else the topic binding.
    pub(crate) fn module_for(
        &self,
        deployment_id: &str,
        topic: &str,
    ) -> Result<Option<TaskModule>> {
        if self.wasm.is_none() {
            return Ok(None);
        }
        if let Some(m) = self.store.get::<TaskModule>(
            Tree::DeploymentModules,
            &index::deployment_module_key(deployment_id, topic),
        )? {
            return Ok(Some(m));
        }
        Ok(self
            .store
            .get::<TaskModule>(Tree::Modules, topic.as_bytes())?)
    }

    pub(super) async fn put_module(
        &self,
        topic: &str,
        bytes: Vec<u8>,
        limits: ModuleLimits,
        deployment_id: Option<String>,
    ) -> Result<TaskModule> {
        if topic.is_empty() || topic.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "topic must be a non-empty name".into(),
            ));
        }
        let info = self.validate_module(&bytes, &limits).await?;
        let module = TaskModule {
            topic: topic.to_owned(),
            sha256: info.sha256.clone(),
            size: bytes.len() as u64,
            deployment_id,
            created: self.now(),
            limits,
            world_check: Some(info.world_check),
        };
        let mut ws = WriteSet::new();
        ws.put_raw(Tree::ModuleBlobs, info.sha256.into_bytes(), bytes);
        ws.put(Tree::Modules, topic.as_bytes().to_vec(), &module);
        self.store.commit_durable(&ws).await?;
        Ok(module)
    }

    pub(super) async fn module(&self, topic: &str) -> Result<TaskModule> {
        self.store
            .get(Tree::Modules, topic.as_bytes())?
            .ok_or_else(|| {
                ProcessEngineError::NotFound(format!("No task module is bound to topic '{topic}'"))
            })
    }

    pub(super) async fn module_bytes(&self, topic: &str) -> Result<Vec<u8>> {
        let m = self.module(topic).await?;
        self.store
            .get_raw(Tree::ModuleBlobs, m.sha256.as_bytes())?
            .ok_or_else(|| {
                ProcessEngineError::Internal(format!("module blob {} missing", m.sha256))
            })
    }

    pub(super) async fn modules(&self) -> Result<Vec<TaskModule>> {
        Ok(self.store.scan(Tree::Modules, b"")?)
    }

    pub(super) async fn delete_module(&self, topic: &str) -> Result<()> {
        self.module(topic).await?;
        let mut ws = WriteSet::new();
        ws.delete(Tree::Modules, topic.as_bytes().to_vec());
        self.store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Start an instance for a timer start event (called by the scheduler).
    pub(crate) async fn fire_timer_start(
        &self,
        definition_id: &str,
        activity_id: &str,
    ) -> Result<()> {
        let deployed = self.deployed_sync(definition_id)?;
        if deployed.record.suspended {
            return Ok(());
        }
        self.start_new_instance(
            deployed,
            new_id(),
            None,
            None,
            Default::default(),
            Some(activity_id.to_owned()),
            None,
        )
        .await
        .map(|_| ())
    }
}

/// The jobs that fire the timer start events of a new definition.
fn timer_start_jobs(definition_id: &str, process: &Process, now: i64) -> Vec<Job> {
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
            });
        }
    }
    jobs
}
