//! [`DecisionStore`]: deployed DMN decisions and their history, as the engine asks for them.

use super::{Result, WriteSet};
use crate::records::{
    DecisionDefinition, DecisionRequirementsDefinition, HistoricDecisionInstance,
};

/// Decision definitions (by id; latest or exact version by key and tenant), decision
/// requirements definitions, and historic decision instances.
pub trait DecisionStore {
    /// One decision definition, or `None`.
    fn decision_definition(&self, id: &str) -> Result<Option<DecisionDefinition>>;

    /// Every decision definition.
    fn decision_definitions(&self) -> Result<Vec<DecisionDefinition>>;

    /// Version `version` of `key` (and tenant), or the latest with `None`.
    fn decision_definition_version(
        &self,
        key: &str,
        tenant: Option<&str>,
        version: Option<i32>,
    ) -> Result<Option<DecisionDefinition>>;

    /// Stage writing a decision definition with its (key, tenant, version) index.
    fn stage_decision_definition(&self, ws: &mut WriteSet, definition: &DecisionDefinition);

    /// Stage removing a decision definition with its index.
    fn stage_decision_definition_removal(&self, ws: &mut WriteSet, definition: &DecisionDefinition);

    /// One decision requirements definition, or `None`.
    fn decision_requirements_definition(
        &self,
        id: &str,
    ) -> Result<Option<DecisionRequirementsDefinition>>;

    /// Every decision requirements definition.
    fn decision_requirements_definitions(&self) -> Result<Vec<DecisionRequirementsDefinition>>;

    /// The latest version of a decision requirements definition key (and tenant).
    fn latest_decision_requirements_definition(
        &self,
        key: &str,
        tenant: Option<&str>,
    ) -> Result<Option<DecisionRequirementsDefinition>>;

    /// Stage writing a decision requirements definition with its index.
    fn stage_decision_requirements_definition(
        &self,
        ws: &mut WriteSet,
        definition: &DecisionRequirementsDefinition,
    );

    /// Stage removing a decision requirements definition with its index.
    fn stage_decision_requirements_definition_removal(
        &self,
        ws: &mut WriteSet,
        definition: &DecisionRequirementsDefinition,
    );

    /// One historic decision instance, or `None`.
    fn historic_decision_instance(&self, id: &str) -> Result<Option<HistoricDecisionInstance>>;

    /// Every historic decision instance, oldest first.
    fn historic_decision_instances(&self) -> Result<Vec<HistoricDecisionInstance>>;

    /// Stage writing a historic decision instance.
    fn stage_historic_decision_instance(&self, ws: &mut WriteSet, row: &HistoricDecisionInstance);

    /// Stage removing a historic decision instance.
    fn stage_historic_decision_instance_removal(&self, ws: &mut WriteSet, id: &str);
}
