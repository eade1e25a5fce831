//! Process definitions: reading versions, the in-memory cache of parsed definitions, suspension,
//! deletion and the resolution of call activities' called definitions.

use super::core::Deployed;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{ProcessDefinition, ProcessInstance};
use crate::store::{DeploymentStore, InstanceStore, JobStore, WriteSet};
use baton_bpmn::engine::CallBinding;
use baton_bpmn::{Definitions, Process};
use std::sync::Arc;

impl ProcessEngine {
    /// The parsed definition, from the cache or the store.
    ///
    /// On a store other nodes share, the record is read each time (as Camunda refreshes a
    /// cached definition's modifiable fields from its row): another node may have suspended
    /// it, changed its job definitions or deleted it. The parsed model never changes and
    /// stays cached.
    pub(crate) fn deployed_sync(&self, definition_id: &str) -> Result<Arc<Deployed>> {
        let cached = match self.inner.deployed.lock() {
            Ok(cache) => cache.get(definition_id).cloned(),
            Err(_) => None,
        };
        let shared = self.inner.store.is_shared();
        if let Some(d) = &cached
            && !shared
        {
            return Ok(d.clone());
        }
        let not_found = || {
            ProcessEngineError::NotFound(format!("No matching definition with id {definition_id}"))
        };
        let Some(record) = self.inner.store.definition(definition_id)? else {
            if let Ok(mut cache) = self.inner.deployed.lock() {
                cache.remove(definition_id);
            }
            return Err(not_found());
        };
        if let Some(d) = cached {
            if d.record == record {
                return Ok(d);
            }
            let fresh = Arc::new(Deployed {
                record,
                definitions: d.definitions.clone(),
                process: d.process.clone(),
            });
            if let Ok(mut cache) = self.inner.deployed.lock() {
                cache.insert(definition_id.to_owned(), fresh.clone());
            }
            return Ok(fresh);
        }
        let bytes = self
            .inner
            .store
            .resource(&record.resource_id)?
            .ok_or_else(|| {
                ProcessEngineError::Internal(format!(
                    "resource {} of definition {definition_id} is missing",
                    record.resource_id
                ))
            })?;
        let options = self.stored_parse_options(&record.deployment_id);
        let parsed = baton_bpmn::parse::parse_with(&bytes, &options).map_err(|e| {
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
        if let Ok(mut cache) = self.inner.deployed.lock() {
            cache.insert(definition_id.to_owned(), deployed.clone());
        }
        Ok(deployed)
    }

    pub(super) fn latest_version(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<Option<ProcessDefinition>> {
        Ok(self.inner.store.latest_definition(key, tenant)?)
    }

    pub(super) async fn delete_definition_inner(
        &self,
        d: &ProcessDefinition,
        cascade: bool,
    ) -> Result<()> {
        let instances: Vec<ProcessInstance> = self
            .inner
            .store
            .running_instances()?
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
            self.inner.store.stage_job_removal(&mut ws, &job, None);
        }
        self.inner.store.stage_definition_removal(&mut ws, d);
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.deployed.lock() {
            cache.remove(&d.id);
        }
        Ok(())
    }

    pub(crate) fn definitions_sync(&self) -> Result<Vec<ProcessDefinition>> {
        Ok(DeploymentStore::definitions(&self.inner.store)?)
    }

    /// All process definitions, every version.
    pub async fn definitions(&self) -> Result<Vec<ProcessDefinition>> {
        let mut all = self.definitions_sync()?;
        all.sort_by(|a, b| a.key.cmp(&b.key).then(a.version.cmp(&b.version)));
        Ok(all)
    }

    /// One definition by id.
    pub async fn definition(&self, id: &str) -> Result<ProcessDefinition> {
        self.inner.store.definition(id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("No matching definition with id {id}"))
        })
    }

    /// The latest version of a key (for the tenant given, or without tenant).
    pub async fn latest_definition(
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

    /// The BPMN XML a definition was deployed from.
    pub async fn definition_xml(&self, id: &str) -> Result<String> {
        let d = self.definition(id).await?;
        let bytes = self.inner.store.resource(&d.resource_id)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("resource of {id} does not exist"))
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The parsed model of a definition's resource (diagram, form fields, element names).
    pub async fn definition_model(&self, id: &str) -> Result<(Arc<Definitions>, Arc<Process>)> {
        let d = self.deployed_sync(id)?;
        Ok((d.definitions.clone(), d.process.clone()))
    }

    /// Suspend or activate a definition (and optionally its instances).
    pub async fn set_definition_suspended(
        &self,
        id: &str,
        suspended: bool,
        include_instances: bool,
    ) -> Result<()> {
        let mut d = self.definition(id).await?;
        d.suspended = suspended;
        let mut ws = WriteSet::new();
        self.inner.store.stage_definition(&mut ws, &d);
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.deployed.lock() {
            cache.remove(id);
        }
        if include_instances {
            let instances: Vec<ProcessInstance> = self.inner.store.running_instances()?;
            for i in instances.into_iter().filter(|i| i.definition_id == id) {
                self.set_instance_suspended(i.id(), suspended).await?;
            }
        }
        Ok(())
    }

    /// Delete a definition; with `cascade`, its instances too.
    pub async fn delete_definition(&self, id: &str, cascade: bool) -> Result<()> {
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
}
