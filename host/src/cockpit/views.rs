//! The cockpit's read-only JSON views (`/cockpit/api/...`) and the diagram SVG: aggregates
//! the pages need that the Camunda REST API has no single call for. Errors are the REST API's
//! [`ApiError`]: Camunda's shape, and the same status for the same engine error as on
//! `/engine-rest` (the mapping lives only there); internal detail is logged, never sent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use baton_bpmn::model::NodeKind;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::CockpitState;
use crate::api::error::{ApiError, ApiResult};

/// The element id of an activity instance's activity (multi-instance bodies are drawn on
/// their activity).
pub(super) fn element_of(activity_id: &str) -> &str {
    activity_id
        .split_once('#')
        .map_or(activity_id, |(head, _)| head)
}

/// Paging and sorting of the overview's definitions (all of them when `maxResults` is absent:
/// the pages that only look names up ask without it).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionPage {
    first_result: Option<String>,
    max_results: Option<String>,
    /// `key` (default), `name`, `version`, `deployedAt`, `running`, `incidents`.
    sort_by: Option<String>,
    /// `asc` (default) or `desc`.
    sort_order: Option<String>,
}

/// Sort the overview's definition rows; an unknown key or order is a 400.
fn sort_definitions(list: &mut [J], by: Option<&str>, order: Option<&str>) -> ApiResult<()> {
    let field = match by.unwrap_or("key") {
        k @ ("key" | "name" | "version" | "deployedAt" | "running" | "incidents") => k,
        other => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter 'sortBy' to value '{other}'"
            )));
        }
    };
    let desc = match order.unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        other => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter 'sortOrder' to value '{other}'"
            )));
        }
    };
    let cmp = |a: &J, b: &J| match (&a[field], &b[field]) {
        (J::Number(x), J::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.as_str().cmp(&y.as_str()),
    };
    list.sort_by(|a, b| {
        let o = cmp(a, b)
            .then_with(|| a["key"].as_str().cmp(&b["key"].as_str()))
            .then_with(|| b["version"].as_i64().cmp(&a["version"].as_i64()));
        if desc { o.reverse() } else { o }
    });
    Ok(())
}

/// `GET /cockpit/api/overview[?firstResult=&maxResults=&sortBy=&sortOrder=]`: definitions
/// (one page of them when `maxResults` is given; `definitionCount` is the number of all) and
/// engine-wide totals.
pub async fn overview(
    State(s): State<CockpitState>,
    Query(page): Query<DefinitionPage>,
) -> ApiResult<Json<J>> {
    let defs = s.engine.definitions().await?;
    let instances = s.engine.instances().await?;
    let incidents = s.engine.incidents().await?;
    let tasks = s.engine.user_tasks().await?;
    let mut running: HashMap<&str, u64> = HashMap::new();
    for i in &instances {
        *running.entry(i.definition_id.as_str()).or_default() += 1;
    }
    let mut inc: HashMap<&str, u64> = HashMap::new();
    for i in &incidents {
        *inc.entry(i.process_definition_id.as_str()).or_default() += 1;
    }
    let mut ut: HashMap<&str, u64> = HashMap::new();
    for t in &tasks {
        *ut.entry(t.process_definition_id.as_str()).or_default() += 1;
    }
    let mut list: Vec<J> = defs
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "key": d.key, "name": d.name, "version": d.version,
                "versionTag": d.version_tag, "deployedAt": d.deployed_at,
                "suspended": d.suspended, "tenantId": d.tenant_id,
                "running": running.get(d.id.as_str()).copied().unwrap_or(0),
                "incidents": inc.get(d.id.as_str()).copied().unwrap_or(0),
                "userTasks": ut.get(d.id.as_str()).copied().unwrap_or(0),
            })
        })
        .collect();
    sort_definitions(
        &mut list,
        page.sort_by.as_deref(),
        page.sort_order.as_deref(),
    )?;
    let definition_count = list.len();
    if let Some(max) = page_number(page.max_results.as_deref(), "maxResults")? {
        let first = page_number(page.first_result.as_deref(), "firstResult")?.unwrap_or(0);
        list = list
            .into_iter()
            .skip(first)
            .take(max.min(MAX_PAGE))
            .collect();
    }
    let m = s.engine.metrics();
    Ok(Json(json!({
        "definitionCount": definition_count,
        "definitions": list,
        "totals": {
            "running": instances.len(), "incidents": incidents.len(), "userTasks": tasks.len(),
            "externalTasks": m.open_external_tasks, "started": m.instances_started,
            "completed": m.instances_completed, "storeBytes": m.store_bytes,
        }
    })))
}

/// `GET /cockpit/api/definition/{id}/diagram.svg`.
pub async fn diagram_svg(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (defs, process) = s.engine.definition_model(&id).await?;
    let Some(svg) = super::svg::render_process(&defs, &process.id) else {
        return Err(ApiError::not_found(format!(
            "process definition {id} has no diagram (BPMNDI)"
        )));
    };
    let mut r = svg.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    // A definition id names one immutable version.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(r)
}

/// `GET /cockpit/api/definition/{id}/stats`: running tokens and open incidents per activity.
pub async fn definition_stats(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    s.engine.definition(&id).await?;
    let mut acts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for inst in s.engine.instances().await? {
        if inst.definition_id != id {
            continue;
        }
        for ai in inst.state.activity_instances.values() {
            if ai.parent.is_none() || ai.activity_id.contains("#multiInstanceBody") {
                continue;
            }
            acts.entry(element_of(&ai.activity_id).to_owned())
                .or_default()
                .0 += 1;
        }
    }
    for i in s.engine.incidents().await? {
        if i.process_definition_id == id {
            acts.entry(element_of(&i.activity_id).to_owned())
                .or_default()
                .1 += 1;
        }
    }
    let activities: serde_json::Map<String, J> = acts
        .into_iter()
        .map(|(k, (t, i))| (k, json!({"tokens": t, "incidents": i})))
        .collect();
    Ok(Json(json!({ "activities": activities })))
}

/// Filters of the instance list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceFilter {
    /// `running`, `completed`, `canceled` (ended otherwise than completing) or empty for all.
    state: Option<String>,
    /// Substring of the business key (case-insensitive).
    business_key: Option<String>,
    /// Variable name...
    variable: Option<String>,
    /// ...and the value it must have (compared as text).
    value: Option<String>,
    /// Index of the first row of the page (default 0).
    first_result: Option<String>,
    /// Rows per page (default 50, at most [`MAX_PAGE`]).
    max_results: Option<String>,
    /// `startTime` (default), `endTime`, `businessKey`, `state` or `id`.
    sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    sort_order: Option<String>,
}

/// The largest page the instance list returns, so one request never renders 100,000 rows.
pub const MAX_PAGE: usize = 500;

/// A paging parameter: a non-negative integer, or Camunda's 400 for anything else (read as
/// text, so a bad value gets the REST API's error shape rather than the extractor's).
fn page_number(raw: Option<&str>, name: &str) -> ApiResult<Option<usize>> {
    raw.filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<usize>().map_err(|_| {
                ApiError::invalid(format!(
                    "Cannot set query parameter '{name}' to value '{v}'"
                ))
            })
        })
        .transpose()
}

/// Sort the historic instances as asked; an unknown key or order is a 400.
fn sort_instances(
    list: &mut [crate::records::HistoricProcessInstance],
    by: Option<&str>,
    order: Option<&str>,
) -> ApiResult<()> {
    use std::cmp::Ordering;
    let key: fn(
        &crate::records::HistoricProcessInstance,
        &crate::records::HistoricProcessInstance,
    ) -> Ordering = match by.unwrap_or("startTime") {
        "startTime" => |a, b| a.start_time.cmp(&b.start_time),
        "endTime" => |a, b| a.end_time.cmp(&b.end_time),
        "businessKey" => |a, b| a.business_key.cmp(&b.business_key),
        "state" => |a, b| a.state.cmp(&b.state),
        "id" => |a, b| a.id.cmp(&b.id),
        other => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter 'sortBy' to value '{other}'"
            )));
        }
    };
    let desc = match order.unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter 'sortOrder' to value '{other}'"
            )));
        }
    };
    list.sort_by(|a, b| {
        let o = key(a, b).then_with(|| a.id.cmp(&b.id));
        if desc { o.reverse() } else { o }
    });
    Ok(())
}

/// The end event an ended instance reached: the last completed activity whose type is an
/// end event (`noneEndEvent`, `errorEndEvent`, `terminateEndEvent`, ...).
async fn end_activity(s: &CockpitState, instance_id: &str) -> ApiResult<Option<String>> {
    let acts = s
        .engine
        .historic_activity_instances(Some(instance_id))
        .await?;
    Ok(acts
        .iter()
        .rev()
        .find(|a| a.activity_type.ends_with("EndEvent") && a.end_time.is_some() && !a.canceled)
        .map(|a| element_of(&a.activity_id).to_owned()))
}

fn value_text(v: &baton_bpmn::Value) -> String {
    match v.as_str() {
        Some(s) => s.to_owned(),
        None => v.to_json().to_string(),
    }
}

/// `GET /cockpit/api/definition/{id}/instances?state=&businessKey=&variable=&value=`
/// `&firstResult=&maxResults=&sortBy=&sortOrder=`: one page of the instances, `total` the
/// number that match.
pub async fn definition_instances(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
    Query(f): Query<InstanceFilter>,
) -> ApiResult<Json<J>> {
    s.engine.definition(&id).await?;
    let mut list: Vec<_> = s
        .engine
        .historic_process_instances()
        .await?
        .into_iter()
        .take_while(crate::api::query::not_cancelled)
        .filter(|h| h.process_definition_id == id)
        .collect();
    match f.state.as_deref().unwrap_or("") {
        "" | "all" => {}
        "running" => list.retain(|h| h.end_time.is_none()),
        "completed" => list.retain(|h| h.state == "COMPLETED"),
        "canceled" => list.retain(|h| h.end_time.is_some() && h.state != "COMPLETED"),
        other => {
            return Err(ApiError::invalid(format!(
                "state must be running, completed, canceled or all, not {other}"
            )));
        }
    }
    if let Some(bk) = f.business_key.as_deref().filter(|b| !b.is_empty()) {
        let bk = bk.to_lowercase();
        list.retain(|h| {
            h.business_key
                .as_deref()
                .is_some_and(|k| k.to_lowercase().contains(&bk))
        });
    }
    if let Some(name) = f.variable.as_deref().filter(|n| !n.is_empty()) {
        let want = f.value.clone().unwrap_or_default();
        let matching: BTreeSet<String> = s
            .engine
            .historic_variables(None)
            .await?
            .into_iter()
            .take_while(crate::api::query::not_cancelled)
            .filter(|v| v.name == name && v.state != "DELETED")
            .filter(|v| want.is_empty() || value_text(&v.value) == want)
            .map(|v| v.process_instance_id)
            .collect();
        list.retain(|h| matching.contains(&h.id));
    }
    let mut incidents: HashMap<String, u64> = HashMap::new();
    for i in s.engine.incidents().await? {
        *incidents.entry(i.process_instance_id).or_default() += 1;
    }
    sort_instances(&mut list, f.sort_by.as_deref(), f.sort_order.as_deref())?;
    let total = list.len();
    let first = page_number(f.first_result.as_deref(), "firstResult")?.unwrap_or(0);
    let max = page_number(f.max_results.as_deref(), "maxResults")?
        .unwrap_or(50)
        .min(MAX_PAGE);
    let mut items: Vec<J> = Vec::with_capacity(max);
    for h in list.iter().skip(first).take(max) {
        let end = match h.end_time {
            Some(_) => end_activity(&s, &h.id).await?,
            None => None,
        };
        items.push(json!({
            "id": h.id, "businessKey": h.business_key, "state": h.state,
            "startTime": h.start_time, "endTime": h.end_time, "endActivityId": end,
            "incidents": incidents.get(&h.id).copied().unwrap_or(0),
        }));
    }
    Ok(Json(json!({
        "total": total, "firstResult": first, "maxResults": max, "items": items,
    })))
}

/// `GET /cockpit/api/instance/{id}/state`: what to paint on the diagram.
pub async fn instance_state(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let hist = s
        .engine
        .historic_process_instances()
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or_else(|| ApiError::not_found(format!("process instance {id} not found")))?;
    let mut active: BTreeMap<String, u64> = BTreeMap::new();
    if hist.end_time.is_none()
        && let Ok(inst) = s.engine.instance(&id).await
    {
        for ai in inst.state.activity_instances.values() {
            if ai.parent.is_some() && !ai.activity_id.contains("#multiInstanceBody") {
                *active
                    .entry(element_of(&ai.activity_id).to_owned())
                    .or_default() += 1;
            }
        }
    }
    let acts = s.engine.historic_activity_instances(Some(&id)).await?;
    let completed: BTreeSet<&str> = acts
        .iter()
        .filter(|a| a.end_time.is_some() && !a.canceled)
        .map(|a| element_of(&a.activity_id))
        .collect();
    let visited: BTreeSet<&str> = acts.iter().map(|a| element_of(&a.activity_id)).collect();
    let (_, process) = s
        .engine
        .definition_model(&hist.process_definition_id)
        .await?;
    // A flow counts as taken when its source completed and its target was reached.
    let flows: Vec<&str> = process
        .flows
        .iter()
        .filter(|f| {
            let src = process.node(f.source).id.as_str();
            let tgt = process.node(f.target).id.as_str();
            completed.contains(src) && visited.contains(tgt)
        })
        .map(|f| f.id.as_str())
        .collect();
    let mut incidents: BTreeMap<String, u64> = BTreeMap::new();
    for i in s.engine.incidents().await? {
        if i.process_instance_id == id {
            *incidents
                .entry(element_of(&i.activity_id).to_owned())
                .or_default() += 1;
        }
    }
    let suspended = match hist.end_time {
        None => s.engine.instance(&id).await.is_ok_and(|i| i.suspended),
        Some(_) => false,
    };
    let end_activity_id = match hist.end_time {
        Some(_) => end_activity(&s, &id).await?,
        None => None,
    };
    Ok(Json(json!({
        "suspended": suspended, "endActivityId": end_activity_id,
        "id": hist.id, "definitionId": hist.process_definition_id,
        "definitionKey": hist.process_definition_key,
        "definitionName": hist.process_definition_name,
        "businessKey": hist.business_key, "state": hist.state,
        "startTime": hist.start_time, "endTime": hist.end_time,
        "active": active, "completed": completed, "flows": flows, "incidents": incidents,
    })))
}

/// `GET /cockpit/api/topics`: the external-task picture per topic.
pub async fn topics(State(s): State<CockpitState>) -> ApiResult<Json<J>> {
    let now = s.engine.now();
    let tasks = s.engine.external_tasks().await?;
    let modules = s.engine.modules().await?;
    let incidents = s.engine.incidents().await?;
    let m = s.engine.metrics();
    let mut names: BTreeSet<String> = tasks.iter().map(|t| t.topic_name.clone()).collect();
    names.extend(modules.iter().map(|m| m.topic.clone()));
    names.extend(m.tasks_created_by_topic.keys().cloned());
    let incident_tasks: HashMap<&str, &crate::records::Incident> = incidents
        .iter()
        .filter_map(|i| i.configuration.as_deref().map(|c| (c, i)))
        .collect();
    let out: Vec<J> = names
        .iter()
        .map(|topic| {
            let mine: Vec<_> = tasks.iter().filter(|t| &t.topic_name == topic).collect();
            let is_locked = |t: &crate::records::ExternalTask| {
                t.lock_expiration_time.is_some_and(|e| e > now)
            };
            let failed = |t: &crate::records::ExternalTask| t.retries == Some(0);
            let locked = mine.iter().filter(|t| is_locked(t)).count();
            let failed_n = mine.iter().filter(|t| failed(t)).count();
            let waiting = mine
                .iter()
                .filter(|t| !is_locked(t) && !failed(t) && !t.suspended)
                .count();
            let oldest_waiting = mine
                .iter()
                .filter(|t| !is_locked(t) && !failed(t))
                .map(|t| t.create_time)
                .min();
            let module = modules.iter().find(|m| &m.topic == topic).map(|md| {
                json!({
                    "sha256": md.sha256, "size": md.size, "deploymentId": md.deployment_id,
                    "created": md.created,
                    "limits": {"fuel": md.limits.fuel, "timeoutMs": md.limits.timeout_ms,
                               "memoryBytes": md.limits.memory_bytes,
                               "tableElements": md.limits.table_elements,
                               "instances": md.limits.instances},
                    "allowedHosts": md.limits.allowed_hosts, "worldCheck": md.world_check,
                })
            });
            let mut list: Vec<J> = mine
                .iter()
                .take(100)
                .map(|t| {
                    let inc = incident_tasks.get(t.id.as_str());
                    json!({
                        "id": t.id, "workerId": t.worker_id,
                        "lockExpirationTime": t.lock_expiration_time,
                        "locked": is_locked(t), "retries": t.retries,
                        "errorMessage": t.error_message, "priority": t.priority,
                        "createTime": t.create_time, "activityId": t.activity_id,
                        "processInstanceId": t.process_instance_id,
                        "processDefinitionKey": t.process_definition_key,
                        "businessKey": t.business_key,
                        "incidentId": inc.map(|i| i.id.clone()),
                        "moduleSha256": t.module_sha256,
                    })
                })
                .collect();
            list.sort_by_key(|t| t["createTime"].as_i64());
            json!({
                "topic": topic, "waiting": waiting, "locked": locked, "failed": failed_n,
                "oldestWaiting": oldest_waiting,
                "incidents": mine.iter().filter(|t| incident_tasks.contains_key(t.id.as_str())).count(),
                "created": m.tasks_created_by_topic.get(topic).copied().unwrap_or(0),
                "completed": m.tasks_completed_by_topic.get(topic).copied().unwrap_or(0),
                "module": module,
                "recentWasmMicros": m.recent_wasm_micros.get(topic).cloned().unwrap_or_default(),
                "tasks": list,
            })
        })
        .collect();
    Ok(Json(J::Array(out)))
}

/// `GET /cockpit/api/task/{id}/form`: the form fields of a user task with their current
/// values (the variable when set, else the default), for the tasklist's generated form.
pub async fn task_form(
    State(s): State<CockpitState>,
    Path(id): Path<String>,
) -> ApiResult<Json<J>> {
    let task = s.engine.user_task(&id).await?;
    let vars = s.engine.task_variables(&id).await?;
    let (_, process) = s
        .engine
        .definition_model(&task.process_definition_id)
        .await?;
    let fields = process
        .node_by_id(&task.task_definition_key)
        .map(|i| match &process.node(i).kind {
            NodeKind::UserTask(def) => def.form_fields.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let fields: Vec<J> = fields
        .iter()
        .map(|f| {
            let default = f
                .default_value
                .as_ref()
                .map(|e| e.literal_text().unwrap_or(e.source()).to_owned());
            json!({
                "id": f.id, "label": f.label, "type": f.type_name,
                "required": f.required, "readonly": f.readonly,
                "defaultValue": default,
                "value": vars.get(&f.id).map(|v| v.to_json()),
                "constraints": f.constraints.iter().map(|(k, v)| json!({"name": k, "config": v})).collect::<Vec<_>>(),
                "enumValues": f.enum_values.iter().map(|(k, v)| json!({"id": k, "name": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let definition = s.engine.definition(&task.process_definition_id).await?;
    Ok(Json(json!({
        "taskId": task.id, "name": task.name, "formKey": task.form_key, "fields": fields,
        "processInstanceId": task.process_instance_id, "businessKey": task.business_key,
        "processDefinitionKey": definition.key,
        "processDefinitionName": definition.name.unwrap_or(definition.key),
    })))
}
