//! `/history/task` (list and count, GET and POST): user task history, read from the historic
//! activity instances of user tasks (which carry the task id and assignee). Fields baton
//! keeps only while a task is open (owner, description, priority, due and follow-up dates)
//! come from the open task; for a finished task they are `null`.

use std::cmp::Ordering;

use axum::extract::State;
use serde_json::{Value as J, json};

use super::super::date::{format, format_opt};
use super::super::error::ApiResult;
use super::super::json::Json;
use super::super::query::{QueryInput, Search, eq_opt, in_opt, like_opt, sort_and_page};
use super::super::{ApiState, dto};
use crate::records::{HistoricActivityInstance, UserTask};

/// A historic user task: its activity's history and, while open, the task.
pub(super) struct HistoricTask {
    h: HistoricActivityInstance,
    open: Option<UserTask>,
}

impl HistoricTask {
    fn id(&self) -> &str {
        self.h.task_id.as_deref().unwrap_or(&self.h.id)
    }

    fn delete_reason(&self) -> Option<&'static str> {
        match (self.h.end_time, self.h.canceled) {
            (None, _) => None,
            (Some(_), false) => Some("completed"),
            (Some(_), true) => Some("deleted"),
        }
    }

    fn duration(&self) -> Option<i64> {
        self.h.end_time.map(|e| e - self.h.start_time)
    }
}

pub(super) const SORT: &[&str] = &[
    "taskId",
    "activityInstanceId",
    "processDefinitionId",
    "processInstanceId",
    "executionId",
    "duration",
    "endTime",
    "startTime",
    "taskName",
    "taskDescription",
    "assignee",
    "owner",
    "dueDate",
    "followUpDate",
    "deleteReason",
    "taskDefinitionKey",
    "priority",
    "tenantId",
];

/// `HistoricTaskInstanceDto`.
fn dto(t: &HistoricTask) -> J {
    let h = &t.h;
    let open = t.open.as_ref();
    json!({
        "id": t.id(),
        "processDefinitionKey": h.process_definition_key,
        "processDefinitionId": h.process_definition_id,
        "processInstanceId": h.process_instance_id,
        "executionId": h.execution_id,
        "caseDefinitionKey": null,
        "caseDefinitionId": null,
        "caseInstanceId": null,
        "caseExecutionId": null,
        "activityInstanceId": h.id,
        "name": h.activity_name,
        "description": open.and_then(|o| o.description.clone()),
        "deleteReason": t.delete_reason(),
        "owner": open.and_then(|o| o.owner.clone()),
        "assignee": h.assignee,
        "startTime": format(h.start_time),
        "endTime": format_opt(h.end_time),
        "duration": t.duration(),
        "taskDefinitionKey": h.activity_id,
        "priority": open.map(|o| o.priority),
        "due": format_opt(open.and_then(|o| o.due)),
        "parentTaskId": null,
        "followUp": format_opt(open.and_then(|o| o.follow_up)),
        "tenantId": h.tenant_id,
        "removalTime": null,
        "rootProcessInstanceId": h.process_instance_id,
        "taskState": match t.delete_reason() {
            None => "Created",
            Some("completed") => "Completed",
            Some(_) => "Deleted",
        },
    })
}

fn compare(a: &HistoricTask, b: &HistoricTask, by: &str) -> Ordering {
    let (x, y) = (&a.h, &b.h);
    let open = |t: &HistoricTask| t.open.clone();
    match by {
        "taskId" => a.id().cmp(b.id()),
        "activityInstanceId" => x.id.cmp(&y.id),
        "processDefinitionId" => x.process_definition_id.cmp(&y.process_definition_id),
        "processInstanceId" => x.process_instance_id.cmp(&y.process_instance_id),
        "executionId" => x.execution_id.cmp(&y.execution_id),
        "duration" => a.duration().cmp(&b.duration()),
        "endTime" => x.end_time.cmp(&y.end_time),
        "startTime" => x.start_time.cmp(&y.start_time),
        "taskName" => x.activity_name.cmp(&y.activity_name),
        "assignee" => x.assignee.cmp(&y.assignee),
        "deleteReason" => a.delete_reason().cmp(&b.delete_reason()),
        "taskDefinitionKey" => x.activity_id.cmp(&y.activity_id),
        "tenantId" => x.tenant_id.cmp(&y.tenant_id),
        "taskDescription" => open(a)
            .and_then(|o| o.description)
            .cmp(&open(b).and_then(|o| o.description)),
        "owner" => open(a)
            .and_then(|o| o.owner)
            .cmp(&open(b).and_then(|o| o.owner)),
        "dueDate" => open(a)
            .and_then(|o| o.due)
            .cmp(&open(b).and_then(|o| o.due)),
        "followUpDate" => open(a)
            .and_then(|o| o.follow_up)
            .cmp(&open(b).and_then(|o| o.follow_up)),
        "priority" => open(a)
            .map(|o| o.priority)
            .cmp(&open(b).map(|o| o.priority)),
        _ => Ordering::Equal,
    }
}

async fn matching(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<HistoricTask>> {
    let task = q.str("taskId");
    let pi = q.str("processInstanceId");
    let pis = q.list("processInstanceIdIn");
    let execution = q.str("executionId");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let name = q.str("taskName");
    let name_like = q.like("taskNameLike");
    let key = q.str("taskDefinitionKey");
    let keys = q.list("taskDefinitionKeyIn");
    let reason = q.str("taskDeleteReason");
    let assignee = q.str("taskAssignee");
    let assignee_like = q.like("taskAssigneeLike");
    let assigned = q.flag("assigned")?;
    let unassigned = q.flag("unassigned")?;
    let finished = q.flag("finished")?;
    let unfinished = q.flag("unfinished")?;
    let started_before = q.date("startedBefore")?;
    let started_after = q.date("startedAfter")?;
    let finished_before = q.date("finishedBefore")?;
    let finished_after = q.date("finishedAfter")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let activity_instances = q.list("activityInstanceIdIn");
    let all = state
        .engine
        .historic_activity_instances(pi.as_deref())
        .await?;
    let mut out = Vec::new();
    for h in all
        .into_iter()
        .take_while(super::super::query::not_cancelled)
    {
        if h.activity_type != "userTask" || h.task_id.is_none() {
            continue;
        }
        let t = HistoricTask { h, open: None };
        let h = &t.h;
        let keep = eq_opt(&task, Some(t.id()))
            && in_opt(&pis, Some(&h.process_instance_id))
            && eq_opt(&execution, Some(&h.execution_id))
            && eq_opt(&pd, Some(&h.process_definition_id))
            && eq_opt(&pd_key, Some(&h.process_definition_key))
            && eq_opt(&name, h.activity_name.as_deref())
            && like_opt(&name_like, h.activity_name.as_deref())
            && eq_opt(&key, Some(&h.activity_id))
            && in_opt(&keys, Some(&h.activity_id))
            && eq_opt(&reason, t.delete_reason())
            && eq_opt(&assignee, h.assignee.as_deref())
            && like_opt(&assignee_like, h.assignee.as_deref())
            && (!assigned || h.assignee.is_some())
            && (!unassigned || h.assignee.is_none())
            && (!finished || h.end_time.is_some())
            && (!unfinished || h.end_time.is_none())
            && started_before.is_none_or(|d| h.start_time < d)
            && started_after.is_none_or(|d| h.start_time > d)
            && finished_before.is_none_or(|d| h.end_time.is_some_and(|e| e < d))
            && finished_after.is_none_or(|d| h.end_time.is_some_and(|e| e > d))
            && in_opt(&tenants, h.tenant_id.as_deref())
            && (!without_tenant || h.tenant_id.is_none())
            && in_opt(&activity_instances, Some(&h.id))
            && crate::api::authz::sees::history(&h.process_instance_id, &h.process_definition_key);
        if keep {
            out.push(t);
        }
    }
    for t in out.iter_mut().filter(|t| t.h.end_time.is_none()) {
        t.open = state.engine.user_task(t.id()).await.ok();
    }
    Ok(out)
}

pub(super) async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(SORT)?;
    let page = q.pagination()?;
    let items = sort_and_page(matching(&state, &q).await?, &sorts, page, compare)?;
    Ok(Json(J::Array(items.iter().map(dto).collect())))
}

pub(super) async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let n = matching(&state, &q).await?.len();
    super::super::guard::check()?;
    Ok(Json(dto::count(n)))
}
