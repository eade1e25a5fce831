//! [`DeploymentStore`] and [`ModuleStore`] on sled: `Deployments`, `Resources` (raw bytes) and
//! `Definitions` by id, `DefinitionsByKey` (key, tenant, version → id) for "latest version";
//! `Modules` by topic, `DeploymentModules` (deployment, topic), `ModuleBlobs` by sha256.

use super::index;
use super::keys::Key;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{Deployment, ProcessDefinition, TaskModule};
use crate::store::{DeploymentStore, ModuleStore};

impl DeploymentStore for Store {
    fn deployment(&self, id: &str) -> Result<Option<Deployment>> {
        self.get(Tree::Deployments, &index::id_key(id))
    }

    fn deployments(&self) -> Result<Vec<Deployment>> {
        self.scan(Tree::Deployments, b"")
    }

    fn resource(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.get_raw(Tree::Resources, &index::id_key(id))
    }

    fn stage_deployment(&self, ws: &mut WriteSet, deployment: &Deployment) {
        ws.put(Tree::Deployments, index::id_key(&deployment.id), deployment);
    }

    fn stage_resource(&self, ws: &mut WriteSet, id: &str, bytes: &[u8]) {
        ws.put_raw(Tree::Resources, index::id_key(id), bytes.to_vec());
    }

    fn stage_deployment_removal(&self, ws: &mut WriteSet, deployment: &Deployment) {
        for r in &deployment.resources {
            ws.delete(Tree::Resources, index::id_key(&r.id));
        }
        ws.delete(Tree::Deployments, index::id_key(&deployment.id));
    }

    fn definition(&self, id: &str) -> Result<Option<ProcessDefinition>> {
        let Some(cache) = self.definition_cache() else {
            return self.get(Tree::Definitions, &index::id_key(id));
        };
        if let Some(hit) = cache.by_id(id) {
            return Ok(Some(hit));
        }
        let epoch = cache.epoch();
        let found: Option<ProcessDefinition> = self.get(Tree::Definitions, &index::id_key(id))?;
        if let Some(definition) = &found {
            cache.fill(epoch, definition, None);
        }
        Ok(found)
    }

    fn definitions(&self) -> Result<Vec<ProcessDefinition>> {
        self.scan(Tree::Definitions, b"")
    }

    fn latest_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<Option<ProcessDefinition>> {
        let cache = self.definition_cache();
        if let Some(hit) = cache.and_then(|c| c.latest(key, tenant)) {
            return Ok(Some(hit));
        }
        let epoch = cache.map(|c| c.epoch());
        let prefix = index::definition_key_prefix(key, tenant);
        let Some(k) = self.last_key_with_prefix(Tree::DefinitionsByKey, &prefix)? else {
            return Ok(None);
        };
        let Some(id) = self.get_raw(Tree::DefinitionsByKey, &k)? else {
            return Ok(None);
        };
        let found = self.definition(&String::from_utf8_lossy(&id))?;
        if let (Some(cache), Some(epoch), Some(definition)) = (cache, epoch, &found) {
            cache.fill(epoch, definition, Some(tenant));
        }
        Ok(found)
    }

    fn stage_definition(&self, ws: &mut WriteSet, definition: &ProcessDefinition) {
        ws.put(Tree::Definitions, index::id_key(&definition.id), definition);
        ws.put_raw(
            Tree::DefinitionsByKey,
            index::definition_version_key(
                &definition.key,
                definition.tenant_id.as_deref(),
                definition.version,
            ),
            definition.id.as_bytes().to_vec(),
        );
    }

    fn stage_definition_removal(&self, ws: &mut WriteSet, definition: &ProcessDefinition) {
        ws.delete(Tree::Definitions, index::id_key(&definition.id));
        ws.delete(
            Tree::DefinitionsByKey,
            index::definition_version_key(
                &definition.key,
                definition.tenant_id.as_deref(),
                definition.version,
            ),
        );
    }
}

impl ModuleStore for Store {
    fn module(&self, topic: &str) -> Result<Option<TaskModule>> {
        self.cached_module(Tree::Modules, topic.as_bytes())
    }

    fn modules(&self) -> Result<Vec<TaskModule>> {
        self.scan(Tree::Modules, b"")
    }

    fn deployment_module(&self, deployment_id: &str, topic: &str) -> Result<Option<TaskModule>> {
        self.cached_module(
            Tree::DeploymentModules,
            &index::deployment_module_key(deployment_id, topic),
        )
    }

    fn deployment_modules(&self, deployment_id: &str) -> Result<Vec<(String, TaskModule)>> {
        let prefix = Key::new().str(deployment_id).build();
        let mut out = Vec::new();
        for (key, raw) in self.scan_raw(Tree::DeploymentModules, &prefix)? {
            if let Some(topic) = super::keys::last_str(&key) {
                out.push((topic, super::codec::decode("deployment_modules", &raw)?));
            }
        }
        Ok(out)
    }

    fn module_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.get_raw(Tree::ModuleBlobs, sha256.as_bytes())
    }

    fn stage_module(&self, ws: &mut WriteSet, topic: &str, module: &TaskModule) {
        ws.put(Tree::Modules, topic.as_bytes().to_vec(), module);
    }

    fn stage_module_removal(&self, ws: &mut WriteSet, topic: &str) {
        ws.delete(Tree::Modules, topic.as_bytes().to_vec());
    }

    fn stage_module_blob(&self, ws: &mut WriteSet, sha256: &str, bytes: &[u8]) {
        ws.put_raw(
            Tree::ModuleBlobs,
            sha256.as_bytes().to_vec(),
            bytes.to_vec(),
        );
    }

    fn stage_deployment_module(
        &self,
        ws: &mut WriteSet,
        deployment_id: &str,
        topic: &str,
        module: &TaskModule,
    ) {
        ws.put(
            Tree::DeploymentModules,
            index::deployment_module_key(deployment_id, topic),
            module,
        );
    }

    fn stage_deployment_module_removal(&self, ws: &mut WriteSet, deployment_id: &str, topic: &str) {
        ws.delete(
            Tree::DeploymentModules,
            index::deployment_module_key(deployment_id, topic),
        );
    }
}

impl Store {
    /// The module `tree` holds at `key`, through the module cache where the store has one.
    fn cached_module(&self, tree: Tree, key: &[u8]) -> Result<Option<TaskModule>> {
        let Some(cache) = self.module_cache() else {
            return self.get(tree, key);
        };
        if let Some(hit) = cache.module(tree, key) {
            return Ok(hit);
        }
        let epoch = cache.epoch();
        let found: Option<TaskModule> = self.get(tree, key)?;
        cache.fill(epoch, tree, key, found.as_ref());
        Ok(found)
    }
}
