//! Record → Camunda DTO conversions shared by several resources. Every DTO field is emitted,
//! `null` when absent (pycamunda indexes keys directly).

use serde::Serialize;
use serde_json::{Value as J, json};

use super::date::{format, format_opt};
use super::variables::encode_variables;
use super::{BaseUrl, SelfLink};
use crate::engine::LockedTask;
use crate::records::{
    Deployment, ExternalTask, Incident, ProcessDefinition, ProcessInstance, UserTask,
};

/// `ProcessDefinitionDto`.
pub fn definition(d: &ProcessDefinition) -> J {
    json!({
        "id": d.id,
        "key": d.key,
        "category": d.category,
        "description": d.description,
        "name": d.name,
        "version": d.version,
        "resource": d.resource_name,
        "deploymentId": d.deployment_id,
        "diagram": null,
        "suspended": d.suspended,
        "tenantId": d.tenant_id,
        "versionTag": d.version_tag,
        "historyTimeToLive": d.history_time_to_live,
        "startableInTasklist": d.startable_in_tasklist,
    })
}

/// `ProcessInstanceDto` (`ended` is only true in a start response).
pub fn instance(pi: &ProcessInstance, ended: bool, base: &BaseUrl) -> J {
    // Cannot fail: every field is a string, a bool, null or the links array.
    serde_json::to_value(InstanceDto::new(pi, ended, base, None)).unwrap_or_default()
}

/// `ProcessInstanceDto` serialized as it stands. A start answers with it on every call, and
/// building a `serde_json::Value` map first (a `String` and a `Value` per field, then the
/// map's teardown) cost about 2% of a REST start's CPU (`perf`, issue 15). Fields are
/// declared in the alphabetical order the map writes them in, so both give the same bytes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDto {
    business_key: Option<String>,
    case_instance_id: Option<String>,
    definition_id: String,
    definition_key: String,
    ended: bool,
    id: String,
    links: [SelfLink; 1],
    suspended: bool,
    tenant_id: Option<String>,
    /// Only with `withVariablesInReturn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    variables: Option<J>,
}

impl InstanceDto {
    /// The DTO of `pi`, with `variables` when the client asked for them.
    pub fn new(
        pi: &ProcessInstance,
        ended: bool,
        base: &BaseUrl,
        variables: Option<J>,
    ) -> InstanceDto {
        InstanceDto {
            business_key: pi.state.business_key.clone(),
            case_instance_id: None,
            definition_id: pi.definition_id.clone(),
            definition_key: pi.definition_key.clone(),
            ended,
            id: pi.id().to_owned(),
            links: [base.link(&format!("/process-instance/{}", pi.id()))],
            suspended: pi.suspended,
            tenant_id: pi.tenant_id.clone(),
            variables,
        }
    }
}

/// `DeploymentDto`.
pub fn deployment(d: &Deployment, base: &BaseUrl) -> J {
    json!({
        "links": base.self_link(&format!("/deployment/{}", d.id)),
        "id": d.id,
        "name": d.name,
        "source": d.source,
        "deploymentTime": format(d.deployment_time),
        "tenantId": d.tenant_id,
    })
}

/// `ExternalTaskDto` (`GET /external-task[/{id}]`).
pub fn external_task(t: &ExternalTask) -> J {
    json!({
        "activityId": t.activity_id,
        "activityInstanceId": t.activity_instance_id,
        "errorMessage": t.error_message,
        "executionId": t.execution_id,
        "id": t.id,
        "lockExpirationTime": format_opt(t.lock_expiration_time),
        "createTime": format(t.create_time),
        "processDefinitionId": t.process_definition_id,
        "processDefinitionKey": t.process_definition_key,
        "processDefinitionVersionTag": t.process_definition_version_tag,
        "processInstanceId": t.process_instance_id,
        "retries": t.retries,
        "suspended": t.suspended,
        "workerId": t.worker_id,
        "topicName": t.topic_name,
        "tenantId": t.tenant_id,
        "priority": t.priority,
        "businessKey": t.business_key,
    })
}

/// `LockedExternalTaskDto` (fetchAndLock). `deserialize` is the topic's `deserializeValues`.
pub fn locked_task(l: &LockedTask, deserialize: bool) -> J {
    let mut dto = external_task(&l.task);
    if let Some(o) = dto.as_object_mut() {
        o.insert("suspended".into(), J::Bool(false));
        o.insert("errorDetails".into(), json!(l.task.error_details));
        o.insert(
            "variables".into(),
            encode_variables(&l.variables, deserialize),
        );
        o.insert("extensionProperties".into(), json!(l.extension_properties));
    }
    dto
}

/// `TaskDto`.
pub fn user_task(t: &UserTask) -> J {
    json!({
        "id": t.id,
        "name": t.name,
        "assignee": t.assignee,
        "created": format(t.created),
        "due": format_opt(t.due),
        "followUp": format_opt(t.follow_up),
        "lastUpdated": format_opt(t.last_updated),
        "delegationState": t.delegation_state,
        "description": t.description,
        // A standalone task (no process) shows `null` where its process fields are empty.
        "executionId": Some(&t.execution_id).filter(|s| !s.is_empty()),
        "owner": t.owner,
        "parentTaskId": null,
        "priority": t.priority,
        "processDefinitionId": Some(&t.process_definition_id).filter(|s| !s.is_empty()),
        "processInstanceId": Some(&t.process_instance_id).filter(|s| !s.is_empty()),
        "taskDefinitionKey": Some(&t.task_definition_key).filter(|s| !s.is_empty()),
        "caseExecutionId": null,
        "caseInstanceId": null,
        "caseDefinitionId": null,
        "suspended": t.suspended,
        "formKey": t.form_key,
        "camundaFormRef": null,
        "tenantId": t.tenant_id,
        "taskState": if t.last_updated.is_some() { "Updated" } else { "Created" },
    })
}

/// `IncidentDto`.
pub fn incident(i: &Incident) -> J {
    json!({
        "id": i.id,
        "processDefinitionId": i.process_definition_id,
        "processInstanceId": i.process_instance_id,
        "executionId": i.execution_id,
        "incidentTimestamp": format(i.timestamp),
        "incidentType": i.incident_type.as_str(),
        "activityId": i.activity_id,
        "failedActivityId": i.activity_id,
        "causeIncidentId": i.id,
        "rootCauseIncidentId": i.id,
        "configuration": i.configuration,
        "incidentMessage": i.message,
        "tenantId": i.tenant_id,
        "jobDefinitionId": null,
        "annotation": i.annotation,
    })
}

/// `{"count": n}`.
pub fn count(n: usize) -> J {
    json!({"count": n})
}
