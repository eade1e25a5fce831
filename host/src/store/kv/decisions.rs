//! [`DecisionStore`] on sled: `DecisionDefinitions` by id with `DecisionDefinitionsByKey`
//! (key, tenant, version → id), the same pair for decision requirements definitions, and
//! `HistoricDecisions` by id.

use super::index;
use super::{Result, Store, Tree, WriteSet};
use crate::records::{
    DecisionDefinition, DecisionRequirementsDefinition, HistoricDecisionInstance,
};
use crate::store::DecisionStore;

impl Store {
    /// The id the (key, tenant, version) index of `by_key` holds: that version, or the
    /// highest with `None` (big-endian versions sort in order).
    fn id_by_version(
        &self,
        by_key: Tree,
        key: &str,
        tenant: Option<&str>,
        version: Option<i32>,
    ) -> Result<Option<String>> {
        let k = match version {
            Some(v) => Some(index::definition_version_key(key, tenant, v)),
            None => {
                let prefix = index::definition_key_prefix(key, tenant);
                self.last_key_with_prefix(by_key, &prefix)?
            }
        };
        let Some(k) = k else { return Ok(None) };
        Ok(self
            .get_raw(by_key, &k)?
            .map(|id| String::from_utf8_lossy(&id).into_owned()))
    }
}

impl DecisionStore for Store {
    fn decision_definition(&self, id: &str) -> Result<Option<DecisionDefinition>> {
        self.get(Tree::DecisionDefinitions, &index::id_key(id))
    }

    fn decision_definitions(&self) -> Result<Vec<DecisionDefinition>> {
        self.scan(Tree::DecisionDefinitions, b"")
    }

    fn decision_definition_version(
        &self,
        key: &str,
        tenant: Option<&str>,
        version: Option<i32>,
    ) -> Result<Option<DecisionDefinition>> {
        match self.id_by_version(Tree::DecisionDefinitionsByKey, key, tenant, version)? {
            Some(id) => self.decision_definition(&id),
            None => Ok(None),
        }
    }

    fn stage_decision_definition(&self, ws: &mut WriteSet, d: &DecisionDefinition) {
        ws.put(Tree::DecisionDefinitions, index::id_key(&d.id), d);
        ws.put_raw(
            Tree::DecisionDefinitionsByKey,
            index::definition_version_key(&d.key, d.tenant_id.as_deref(), d.version),
            d.id.as_bytes().to_vec(),
        );
    }

    fn stage_decision_definition_removal(&self, ws: &mut WriteSet, d: &DecisionDefinition) {
        ws.delete(Tree::DecisionDefinitions, index::id_key(&d.id));
        ws.delete(
            Tree::DecisionDefinitionsByKey,
            index::definition_version_key(&d.key, d.tenant_id.as_deref(), d.version),
        );
    }

    fn decision_requirements_definition(
        &self,
        id: &str,
    ) -> Result<Option<DecisionRequirementsDefinition>> {
        self.get(Tree::DecisionRequirements, &index::id_key(id))
    }

    fn decision_requirements_definitions(&self) -> Result<Vec<DecisionRequirementsDefinition>> {
        self.scan(Tree::DecisionRequirements, b"")
    }

    fn latest_decision_requirements_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<Option<DecisionRequirementsDefinition>> {
        match self.id_by_version(Tree::DecisionRequirementsByKey, key, tenant, None)? {
            Some(id) => self.decision_requirements_definition(&id),
            None => Ok(None),
        }
    }

    fn stage_decision_requirements_definition(
        &self,
        ws: &mut WriteSet,
        d: &DecisionRequirementsDefinition,
    ) {
        ws.put(Tree::DecisionRequirements, index::id_key(&d.id), d);
        ws.put_raw(
            Tree::DecisionRequirementsByKey,
            index::definition_version_key(&d.key, d.tenant_id.as_deref(), d.version),
            d.id.as_bytes().to_vec(),
        );
    }

    fn stage_decision_requirements_definition_removal(
        &self,
        ws: &mut WriteSet,
        d: &DecisionRequirementsDefinition,
    ) {
        ws.delete(Tree::DecisionRequirements, index::id_key(&d.id));
        ws.delete(
            Tree::DecisionRequirementsByKey,
            index::definition_version_key(&d.key, d.tenant_id.as_deref(), d.version),
        );
    }

    fn historic_decision_instance(&self, id: &str) -> Result<Option<HistoricDecisionInstance>> {
        self.get(Tree::HistoricDecisions, &index::id_key(id))
    }

    fn historic_decision_instances(&self) -> Result<Vec<HistoricDecisionInstance>> {
        let mut all: Vec<HistoricDecisionInstance> = self.scan(Tree::HistoricDecisions, b"")?;
        all.sort_by(|a, b| {
            a.evaluation_time
                .cmp(&b.evaluation_time)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(all)
    }

    fn stage_historic_decision_instance(&self, ws: &mut WriteSet, row: &HistoricDecisionInstance) {
        ws.put(Tree::HistoricDecisions, index::id_key(&row.id), row);
    }

    fn stage_historic_decision_instance_removal(&self, ws: &mut WriteSet, id: &str) {
        ws.delete(Tree::HistoricDecisions, index::id_key(id));
    }
}
