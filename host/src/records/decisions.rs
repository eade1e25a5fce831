//! DMN records: deployed decision definitions and decision requirements definitions (one per
//! DMN resource), and historic decision instances (one per evaluated decision, required ones
//! included), shaped like Camunda 7's entities.

use baton_bpmn::dmn::call::{EvaluatedInput, EvaluatedOutput};
use serde::{Deserialize, Serialize};

/// A deployed decision definition (one version of one decision key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionDefinition {
    /// `key:version:uuid` (only the uuid when that is longer than 64 characters).
    pub id: String,
    /// The decision id in the DMN file.
    pub key: String,
    /// Its name.
    pub name: Option<String>,
    /// The DMN `namespace`.
    pub category: Option<String>,
    /// 1, 2, 3... per key and tenant.
    pub version: i32,
    /// `camunda:versionTag`.
    pub version_tag: Option<String>,
    /// `camunda:historyTimeToLive`, days.
    pub history_time_to_live: Option<u32>,
    /// The deployment it came from.
    pub deployment_id: String,
    /// The resource (file) name.
    pub resource_name: String,
    /// The resource id.
    pub resource_id: String,
    /// The decision requirements definition of its file.
    pub decision_requirements_definition_id: Option<String>,
    /// That definition's key.
    pub decision_requirements_definition_key: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// When it was deployed.
    pub deployed_at: i64,
}

/// A deployed decision requirements definition (a DMN file's `definitions`, one version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRequirementsDefinition {
    /// `key:version:uuid`.
    pub id: String,
    /// The DMN `definitions/@id`.
    pub key: String,
    /// Its name.
    pub name: Option<String>,
    /// The DMN `namespace`.
    pub category: Option<String>,
    /// 1, 2, 3... per key and tenant.
    pub version: i32,
    /// The deployment it came from.
    pub deployment_id: String,
    /// The resource (file) name.
    pub resource_name: String,
    /// The resource id.
    pub resource_id: String,
    /// Tenant.
    pub tenant_id: Option<String>,
}

/// One evaluation of one decision (Camunda's `HistoricDecisionInstance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricDecisionInstance {
    /// Id.
    pub id: String,
    /// The decision definition id.
    pub decision_definition_id: String,
    /// Its key.
    pub decision_definition_key: String,
    /// Its name.
    pub decision_definition_name: Option<String>,
    /// When.
    pub evaluation_time: i64,
    /// The calling process definition id (business rule tasks).
    pub process_definition_id: Option<String>,
    /// The calling process definition key.
    pub process_definition_key: Option<String>,
    /// The calling process instance.
    pub process_instance_id: Option<String>,
    /// The calling root process instance.
    pub root_process_instance_id: Option<String>,
    /// The business rule task's element id.
    pub activity_id: Option<String>,
    /// The business rule task's activity instance id.
    pub activity_instance_id: Option<String>,
    /// Tenant of the decision definition.
    pub tenant_id: Option<String>,
    /// The authenticated user (REST evaluate).
    pub user_id: Option<String>,
    /// The evaluation's root decision instance; `None` on the root itself.
    pub root_decision_instance_id: Option<String>,
    /// The decision requirements definition id.
    pub decision_requirements_definition_id: Option<String>,
    /// Its key.
    pub decision_requirements_definition_key: Option<String>,
    /// COLLECT's aggregated value.
    pub collect_result_value: Option<baton_bpmn::Value>,
    /// The input values.
    pub inputs: Vec<EvaluatedInput>,
    /// The output values of the rules the hit policy kept.
    pub outputs: Vec<EvaluatedOutput>,
    /// Every rule that matched (the cockpit marks them).
    pub matched_rule_ids: Vec<String>,
    /// A removal time set by `POST /history/decision-instance/set-removal-time` (absolute or
    /// cleared); `None`: calculated.
    #[serde(default)]
    pub removal_time: Option<crate::records::RemovalTimeOverride>,
}
