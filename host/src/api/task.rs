//! `/task`: user tasks. List/count (GET and POST, with Camunda's candidate rule: candidate
//! filters return only unassigned tasks unless `includeAssignedTasks=true`), get, claim,
//! unclaim, assignee, complete (204, or 200 with variables when `withVariablesInReturn`),
//! form variables (the `camunda:formData` fields, else all visible variables), variables and
//! local variables.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_bpmn::model::{FormField, NodeKind};
use baton_bpmn::{Value, Variables};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult, not_found_as};
use super::json::{Json, no_content};
use super::process_instance::{
    ModifyBody, decode_modifications, decode_put, var_data_response, var_response, vars_response,
};
use super::query::{
    Params, QueryInput, Search, eq_opt, in_opt, like_opt, list_rows, only_indexed, variables_match,
    verdict,
};
use super::variables::{decode_or_invalid, encode_value, encode_variables};
use super::{ApiState, AuthUser, Route, dto};
use crate::engine::{ProcessEngineError, TaskLookup};
use crate::records::{ProcessInstance, UserTask};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/task", "List user tasks", list),
        Route::post("/task", "List user tasks (query body)", list),
        Route::get("/task/count", "Count user tasks", count),
        Route::post("/task/count", "Count user tasks (query body)", count),
        Route::get("/task/{id}", "Get a user task", get_one),
        Route::post("/task/{id}/claim", "Claim a task", claim),
        Route::post("/task/{id}/unclaim", "Unclaim a task", unclaim),
        Route::post("/task/{id}/assignee", "Set the assignee", assignee),
        Route::post("/task/{id}/complete", "Complete a task", complete),
        Route::post(
            "/task/{id}/submit-form",
            "Submit the task form (completes the task)",
            complete,
        ),
        Route::get(
            "/task/{id}/form-variables",
            "Form variables of a task",
            form_variables,
        ),
        Route::get(
            "/task/{id}/variables",
            "Variables visible from a task",
            vars_get,
        ),
        Route::post(
            "/task/{id}/variables",
            "Modify variables from a task",
            vars_modify::<false>,
        ),
        Route::get(
            "/task/{id}/variables/{name}",
            "One variable visible from a task",
            var_get,
        ),
        Route::put(
            "/task/{id}/variables/{name}",
            "Set a variable from a task",
            var_put::<false>,
        ),
        Route::delete(
            "/task/{id}/variables/{name}",
            "Delete a variable from a task",
            var_delete::<false>,
        ),
        Route::get(
            "/task/{id}/variables/{name}/data",
            "Binary content of a task variable",
            var_data,
        ),
        Route::get(
            "/task/{id}/localVariables",
            "Task-local variables",
            local_vars_get,
        ),
        Route::post(
            "/task/{id}/localVariables",
            "Modify task-local variables",
            vars_modify::<true>,
        ),
        Route::get(
            "/task/{id}/localVariables/{name}",
            "One task-local variable",
            local_var_get,
        ),
        Route::put(
            "/task/{id}/localVariables/{name}",
            "Set a task-local variable",
            var_put::<true>,
        ),
        Route::delete(
            "/task/{id}/localVariables/{name}",
            "Delete a task-local variable",
            var_delete::<true>,
        ),
        Route::get(
            "/task/{id}/localVariables/{name}/data",
            "Binary content of a task-local variable",
            local_var_data,
        ),
    ]
}

/// The task query's `sortBy` values.
pub(crate) const SORT: &[&str] = &[
    "instanceId",
    "processInstanceId",
    "dueDate",
    "followUpDate",
    "executionId",
    "assignee",
    "created",
    "lastUpdated",
    "description",
    "id",
    "name",
    "nameCaseInsensitive",
    "priority",
    "processDefinitionId",
    "tenantId",
    "taskDefinitionKey",
];

fn no_task(id: &str) -> ApiError {
    ApiError::not_found(format!("No matching task with id {id}"))
}

fn null_task(id: &str) -> ApiError {
    ApiError::null_value(format!("Cannot find task with id {id}: task is null"))
}

/// The `processVariables` and `taskVariables` filters of a task query against its instance.
fn task_variables_match(
    instance: &ProcessInstance,
    task: &UserTask,
    process_filters: &[super::query::VariableFilter],
    task_filters: &[super::query::VariableFilter],
    names_ignore_case: bool,
    values_ignore_case: bool,
) -> bool {
    let local = instance
        .state
        .activity_instances
        .get(&task.activity_instance_id)
        .map(|ai| ai.variables.clone())
        .unwrap_or_default();
    variables_match(
        process_filters,
        &instance.state.process_variables(),
        names_ignore_case,
        values_ignore_case,
    ) && variables_match(task_filters, &local, names_ignore_case, values_ignore_case)
}

/// The candidate filters of a task query (`candidateGroup`, `candidateGroups`,
/// `candidateUser` with the user's groups, `includeAssignedTasks`).
struct CandidateFilter {
    group: Option<String>,
    groups: Option<Vec<String>>,
    user: Option<String>,
    /// The candidate user's groups (Camunda resolves them through the identity service).
    user_groups: Vec<String>,
    include_assigned: bool,
}

impl CandidateFilter {
    async fn from_query(state: &ApiState, q: &QueryInput) -> ApiResult<CandidateFilter> {
        let user = q.str("candidateUser");
        let user_groups = match &user {
            Some(u) => state
                .engine
                .users()
                .await?
                .into_iter()
                .find(|x| &x.id == u)
                .map(|x| x.groups)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(CandidateFilter {
            group: q.str("candidateGroup"),
            groups: q.list("candidateGroups"),
            user,
            user_groups,
            include_assigned: q.flag("includeAssignedTasks")?,
        })
    }

    fn matches(&self, t: &UserTask) -> bool {
        let any = self.group.is_some() || self.groups.is_some() || self.user.is_some();
        self.group
            .as_ref()
            .is_none_or(|g| t.candidate_groups.contains(g))
            && self
                .groups
                .as_ref()
                .is_none_or(|gs| gs.iter().any(|g| t.candidate_groups.contains(g)))
            && self.user.as_ref().is_none_or(|u| {
                t.candidate_users.contains(u)
                    || self
                        .user_groups
                        .iter()
                        .any(|g| t.candidate_groups.contains(g))
            })
            && (!any || self.include_assigned || t.assignee.is_none())
    }
}

/// The query fields an index serves: `assignee`, `processInstanceId`, and `candidateGroup`
/// for unassigned tasks (what it means unless `includeAssignedTasks` is given).
const INDEXED_FIELDS: &[&str] = &["assignee", "candidateGroup", "processInstanceId"];

/// The indexed part of a task query.
fn lookup<'a>(
    q: &QueryInput,
    fields: &'a (Option<String>, Option<String>, Option<String>),
) -> ApiResult<TaskLookup<'a>> {
    let include_assigned = q.flag("includeAssignedTasks")?;
    Ok(TaskLookup {
        assignee: fields.0.as_deref(),
        candidate_group: if include_assigned {
            None
        } else {
            fields.1.as_deref()
        },
        process_instance_id: fields.2.as_deref(),
        ..TaskLookup::default()
    })
}

fn lookup_fields(q: &QueryInput) -> (Option<String>, Option<String>, Option<String>) {
    (
        q.str("assignee"),
        q.str("candidateGroup"),
        q.str("processInstanceId"),
    )
}

/// Camunda's task query parameters as a predicate.
async fn matcher(
    state: &ApiState,
    q: &QueryInput,
) -> ApiResult<impl Fn(&UserTask) -> bool + use<>> {
    let pi = q.str("processInstanceId");
    let pi_in = q.list("processInstanceIdIn");
    let bk = q.str("processInstanceBusinessKey");
    let bk_in = q.list("processInstanceBusinessKeyIn");
    let bk_like = q.like("processInstanceBusinessKeyLike");
    let pd = q.str("processDefinitionId");
    let pd_key = q.str("processDefinitionKey");
    let pd_key_in = q.list("processDefinitionKeyIn");
    let execution = q.str("executionId");
    let def_key = q.str("taskDefinitionKey");
    let def_key_in = q.list("taskDefinitionKeyIn");
    let def_key_like = q.like("taskDefinitionKeyLike");
    let id_in = q.list("taskIdIn");
    let task_id = q.str("taskId");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let assignee = q.str("assignee");
    let assignee_in = q.list("assigneeIn");
    let assignee_like = q.like("assigneeLike");
    let assigned = q.flag("assigned")?;
    let unassigned = q.flag("unassigned")?;
    let owner = q.str("owner");
    let candidates = CandidateFilter::from_query(state, q).await?;
    let with_cand_groups = q.flag("withCandidateGroups")?;
    let without_cand_groups = q.flag("withoutCandidateGroups")?;
    let with_cand_users = q.flag("withCandidateUsers")?;
    let without_cand_users = q.flag("withoutCandidateUsers")?;
    let involved = q.str("involvedUser");
    let priority = q.int("priority")?;
    let min_priority = q.int("minPriority")?;
    let max_priority = q.int("maxPriority")?;
    let due_before = q.date("dueBefore")?;
    let due_after = q.date("dueAfter")?;
    let created_before = q.date("createdBefore")?;
    let created_after = q.date("createdAfter")?;
    let active = q.flag("active")?;
    let suspended = q.flag("suspended")?;
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let process_vars = q.variables("processVariables")?;
    let task_vars = q.variables("taskVariables")?;
    let names_ic = q.flag("variableNamesIgnoreCase")?;
    let values_ic = q.flag("variableValuesIgnoreCase")?;

    let instances: BTreeMap<String, ProcessInstance> =
        if process_vars.is_empty() && task_vars.is_empty() {
            BTreeMap::new()
        } else {
            state
                .engine
                .instances()
                .await?
                .into_iter()
                .map(|p| (p.id().to_owned(), p))
                .collect()
        };
    Ok(move |t: &UserTask| {
        let vars_ok = (process_vars.is_empty() && task_vars.is_empty())
            || instances.get(&t.process_instance_id).is_some_and(|p| {
                task_variables_match(p, t, &process_vars, &task_vars, names_ic, values_ic)
            });
        candidates.matches(t)
            && vars_ok
            && eq_opt(&pi, Some(&t.process_instance_id))
            && in_opt(&pi_in, Some(&t.process_instance_id))
            && eq_opt(&bk, t.business_key.as_deref())
            && in_opt(&bk_in, t.business_key.as_deref())
            && like_opt(&bk_like, t.business_key.as_deref())
            && eq_opt(&pd, Some(&t.process_definition_id))
            && eq_opt(&pd_key, Some(&t.process_definition_key))
            && in_opt(&pd_key_in, Some(&t.process_definition_key))
            && eq_opt(&execution, Some(&t.execution_id))
            && eq_opt(&def_key, Some(&t.task_definition_key))
            && in_opt(&def_key_in, Some(&t.task_definition_key))
            && like_opt(&def_key_like, Some(&t.task_definition_key))
            && eq_opt(&task_id, Some(&t.id))
            && in_opt(&id_in, Some(&t.id))
            && eq_opt(&name, t.name.as_deref())
            && like_opt(&name_like, t.name.as_deref())
            && eq_opt(&assignee, t.assignee.as_deref())
            && in_opt(&assignee_in, t.assignee.as_deref())
            && like_opt(&assignee_like, t.assignee.as_deref())
            && (!assigned || t.assignee.is_some())
            && (!unassigned || t.assignee.is_none())
            && eq_opt(&owner, t.owner.as_deref())
            && (!with_cand_groups || !t.candidate_groups.is_empty())
            && (!without_cand_groups || t.candidate_groups.is_empty())
            && (!with_cand_users || !t.candidate_users.is_empty())
            && (!without_cand_users || t.candidate_users.is_empty())
            && involved.as_ref().is_none_or(|u| {
                t.assignee.as_ref() == Some(u)
                    || t.owner.as_ref() == Some(u)
                    || t.candidate_users.contains(u)
            })
            && priority.is_none_or(|p| i64::from(t.priority) == p)
            && min_priority.is_none_or(|p| i64::from(t.priority) >= p)
            && max_priority.is_none_or(|p| i64::from(t.priority) <= p)
            && due_before.is_none_or(|d| t.due.is_some_and(|x| x < d))
            && due_after.is_none_or(|d| t.due.is_some_and(|x| x > d))
            && created_before.is_none_or(|d| t.created < d)
            && created_after.is_none_or(|d| t.created > d)
            && (!active || !t.suspended)
            && (!suspended || t.suspended)
            && in_opt(&tenants, t.tenant_id.as_deref())
            && (!without_tenant || t.tenant_id.is_none())
    })
}

/// The page of user tasks a task query selects (also what saved filters run).
pub(crate) async fn query(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<UserTask>> {
    let sorts = q.sorting(SORT)?;
    let matches = matcher(state, q).await?;
    let mut keep = verdict(move |t: &UserTask| matches(t) && super::authz::sees::task(t));
    let fields = lookup_fields(q);
    let lookup = lookup(q, &fields)?;
    let read = |skip, limit| {
        Ok(state
            .engine
            .user_tasks_where(&lookup, &mut keep, skip, limit)?)
    };
    list_rows(&sorts, q.pagination()?, read, |a, b, by| match by {
        "instanceId" | "processInstanceId" => a.process_instance_id.cmp(&b.process_instance_id),
        "dueDate" => a.due.cmp(&b.due),
        "followUpDate" => a.follow_up.cmp(&b.follow_up),
        "executionId" => a.execution_id.cmp(&b.execution_id),
        "assignee" => a.assignee.cmp(&b.assignee),
        "created" => a.created.cmp(&b.created),
        "lastUpdated" => a.last_updated.cmp(&b.last_updated),
        "description" => a.description.cmp(&b.description),
        "id" => a.id.cmp(&b.id),
        "name" => a.name.cmp(&b.name),
        "nameCaseInsensitive" => a
            .name
            .as_ref()
            .map(|s| s.to_lowercase())
            .cmp(&b.name.as_ref().map(|s| s.to_lowercase())),
        "priority" => a.priority.cmp(&b.priority),
        "processDefinitionId" => a.process_definition_id.cmp(&b.process_definition_id),
        "tenantId" => a.tenant_id.cmp(&b.tenant_id),
        "taskDefinitionKey" => a.task_definition_key.cmp(&b.task_definition_key),
        _ => Ordering::Equal,
    })
}

async fn list(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let items = query(&state, &q).await?;
    Ok(Json(J::Array(items.iter().map(dto::user_task).collect())))
}

async fn count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(count_matching(&state, &q).await?)))
}

/// How many user tasks a task query selects (also what saved filters count).
pub(crate) async fn count_matching(state: &ApiState, q: &QueryInput) -> ApiResult<usize> {
    let fields = lookup_fields(q);
    let lookup = lookup(q, &fields)?;
    if only_indexed(q, INDEXED_FIELDS) {
        return Ok(state.engine.count_user_tasks_where(&lookup)?);
    }
    let matches = matcher(state, q).await?;
    let mut keep = verdict(move |t: &UserTask| matches(t) && super::authz::sees::task(t));
    let n = state
        .engine
        .user_tasks_where(&lookup, &mut keep, 0, usize::MAX)?
        .len();
    super::guard::check()?;
    Ok(n)
}

async fn get_one(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    let t = state
        .engine
        .user_task(&id)
        .await
        .map_err(|e| not_found_as(e, || no_task(&id)))?;
    Ok(Json(dto::user_task(&t)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UserIdBody {
    user_id: Option<String>,
}

async fn claim(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<UserIdBody>,
) -> ApiResult<Response> {
    let result = match &b.user_id {
        Some(u) => state.engine.claim_task(&id, u).await,
        None => state.engine.unclaim_task(&id).await,
    };
    result.map_err(|e| not_found_as(e, || null_task(&id)))?;
    Ok(no_content())
}

async fn unclaim(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .engine
        .unclaim_task(&id)
        .await
        .map_err(|e| not_found_as(e, || null_task(&id)))?;
    Ok(no_content())
}

async fn assignee(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<UserIdBody>,
) -> ApiResult<Response> {
    state
        .engine
        .set_assignee(&id, b.user_id)
        .await
        .map_err(|e| not_found_as(e, || null_task(&id)))?;
    Ok(no_content())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CompleteBody {
    variables: Option<J>,
    with_variables_in_return: bool,
}

async fn complete(
    State(state): State<ApiState>,
    _user: AuthUser,
    Path(id): Path<String>,
    Json(b): Json<CompleteBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot complete task {id}: ");
    let vars = decode_or_invalid(b.variables.as_ref(), &prefix)?;
    let out = state
        .engine
        .complete_user_task(&id, vars)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(m) | ProcessEngineError::Engine(m) => {
                ApiError::rest(StatusCode::INTERNAL_SERVER_ERROR, format!("{prefix}{m}"))
            }
            other => ApiError::from(other).prefixed(&prefix),
        })?;
    if b.with_variables_in_return {
        Ok(Json(encode_variables(&out, false)).into_response())
    } else {
        Ok(no_content())
    }
}

/// The typed value of a form field: the variable when set, else its literal default value,
/// else a typed null.
fn form_field_value(f: &FormField, vars: &Variables, deserialize: bool) -> J {
    if let Some(v) = vars.get(&f.id) {
        return encode_value(v, deserialize);
    }
    let type_name = match f.type_name.as_str() {
        "long" => "Long",
        "boolean" => "Boolean",
        "date" => "Date",
        _ => "String",
    };
    let literal = f
        .default_value
        .as_ref()
        .map(|e| e.source().to_owned())
        .filter(|s| !s.contains("${") && !s.contains("#{"));
    let value = literal.and_then(|s| match type_name {
        "Long" => s.trim().parse::<i64>().ok().map(Value::Long),
        "Boolean" => Value::String(s).as_bool().map(Value::Boolean),
        "Date" => None,
        _ => Some(Value::String(s)),
    });
    match value {
        Some(v) => encode_value(&v, deserialize),
        None => json!({"type": type_name, "value": null, "valueInfo": {}}),
    }
}

/// Form variables: the form fields' values, or every visible variable without form fields.
pub(crate) fn form_variables_json(
    fields: &[FormField],
    vars: &Variables,
    names: Option<&[String]>,
    deserialize: bool,
) -> J {
    let wanted = |n: &str| names.is_none_or(|l| l.iter().any(|x| x == n));
    if fields.is_empty() {
        let selected: Variables = vars
            .iter()
            .filter(|(k, _)| wanted(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return encode_variables(&selected, deserialize);
    }
    J::Object(
        fields
            .iter()
            .filter(|f| wanted(&f.id))
            .map(|f| (f.id.clone(), form_field_value(f, vars, deserialize)))
            .collect(),
    )
}

async fn form_variables(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let t = state
        .engine
        .user_task(&id)
        .await
        .map_err(|e| not_found_as(e, || no_task(&id)))?;
    let vars = state
        .engine
        .task_variables(&id)
        .await
        .map_err(|e| not_found_as(e, || no_task(&id)))?;
    let (_, process) = state
        .engine
        .definition_model(&t.process_definition_id)
        .await?;
    let fields = process
        .node_by_id(&t.task_definition_key)
        .map(|idx| match &process.node(idx).kind {
            NodeKind::UserTask(def) => def.form_fields.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let names = q.list("variableNames");
    Ok(Json(form_variables_json(
        &fields,
        &vars,
        names.as_deref(),
        q.deserialize_values()?,
    )))
}

async fn task_and_vars(state: &ApiState, id: &str) -> ApiResult<Variables> {
    state
        .engine
        .task_variables(id)
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))
}

async fn vars_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    vars_response(&task_and_vars(&state, &id).await?, &q)
}

async fn var_get(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    var_response(&task_and_vars(&state, &id).await?, &name, &q, "task")
}

async fn var_data(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    var_data_response(&task_and_vars(&state, &id).await?, &name, "task")
}

/// Set and delete a task's variables (visible, or `local` to the task).
pub(crate) async fn modify(
    state: &ApiState,
    id: &str,
    mods: Variables,
    deletions: Vec<String>,
    local: bool,
) -> ApiResult<()> {
    let t = state
        .engine
        .user_task(id)
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))?;
    state
        .engine
        .modify_variables(
            &t.process_instance_id,
            Some(&t.activity_instance_id),
            mods,
            deletions,
            local,
        )
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))
}

fn single(body: &J, name: &str, prefix: &str) -> ApiResult<Variables> {
    let mut vars = decode_put(body, prefix)?;
    if let Some(v) = vars.remove("") {
        vars.insert(name.to_owned(), v);
    }
    Ok(vars)
}

/// `LOCAL`: the task's own variables (`/localVariables`) instead of the ones visible from it
/// (`/variables`); the three writing handlers serve both route families.
async fn var_put<const LOCAL: bool>(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Json(body): Json<J>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot put task variable {name}: ");
    let vars = single(&body, &name, &prefix)?;
    modify(&state, &id, vars, Vec::new(), LOCAL)
        .await
        .map_err(|e| e.prefixed(&prefix))?;
    Ok(no_content())
}

async fn var_delete<const LOCAL: bool>(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    modify(&state, &id, Variables::new(), vec![name], LOCAL).await?;
    Ok(no_content())
}

async fn vars_modify<const LOCAL: bool>(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<ModifyBody>,
) -> ApiResult<Response> {
    let prefix = format!("Cannot modify variables for task {id}: ");
    let mods = decode_modifications(&b, &prefix)?;
    modify(&state, &id, mods, b.deletions.unwrap_or_default(), LOCAL)
        .await
        .map_err(|e| e.prefixed(&prefix))?;
    Ok(no_content())
}

async fn local_vars(state: &ApiState, id: &str) -> ApiResult<Variables> {
    let t = state
        .engine
        .user_task(id)
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))?;
    let pi = state
        .engine
        .instance(&t.process_instance_id)
        .await
        .map_err(|e| not_found_as(e, || null_task(id)))?;
    Ok(pi
        .state
        .activity_instances
        .get(&t.activity_instance_id)
        .map(|ai| ai.variables.clone())
        .unwrap_or_default())
}

async fn local_vars_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    vars_response(&local_vars(&state, &id).await?, &q)
}

async fn local_var_get(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    var_response(&local_vars(&state, &id).await?, &name, &q, "task")
}

async fn local_var_data(
    State(state): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    var_data_response(&local_vars(&state, &id).await?, &name, "task")
}
