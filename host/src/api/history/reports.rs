//! History reports: historic activity statistics of a definition
//! (`/history/process-definition/{id}/statistics`), the duration report of process instances
//! (`/history/process-instance/report`), the count and duration reports of user tasks
//! (`/history/task/report`), and the cleanable process instance report (+ count).
//!
//! Each reads the history it needs once (a definition's instances through the key index) and
//! aggregates in memory; the rows are per activity, period or definition, so small.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde_json::{Value as J, json};

use crate::api::error::{ApiError, ApiResult};
use crate::api::json::Json;
use crate::api::query::{Params, QueryInput, in_opt, verdict};
use crate::api::{ApiState, Route, dto};
use crate::records::{HistoricActivityInstance, HistoricProcessInstance, ProcessDefinition};
use crate::store::HistoricInstanceLookup;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/history/process-definition/{id}/statistics",
            "Historic activity statistics of a definition",
            activity_statistics,
        ),
        Route::get(
            "/history/process-instance/report",
            "Duration report of finished process instances",
            instance_report,
        ),
        Route::get(
            "/history/task/report",
            "Count or duration report of completed user tasks",
            task_report,
        ),
        Route::get(
            "/history/process-definition/cleanable-process-instance-report",
            "Finished and cleanable instances per definition",
            cleanable_report,
        ),
        Route::get(
            "/history/process-definition/cleanable-process-instance-report/count",
            "Count the rows of the cleanable process instance report",
            cleanable_count,
        ),
    ]
}

/// The historic instances of one definition (through the key index).
fn instances_of(
    state: &ApiState,
    d: &ProcessDefinition,
) -> ApiResult<Vec<HistoricProcessInstance>> {
    let lookup = HistoricInstanceLookup {
        definition_key: Some(&d.key),
        ..Default::default()
    };
    let mut keep = verdict(|h: &HistoricProcessInstance| h.process_definition_id == d.id);
    Ok(state
        .engine
        .historic_process_instances_where(&lookup, &mut keep, 0, usize::MAX)?)
}

#[derive(Default)]
struct ActivityCounts {
    instances: usize,
    canceled: usize,
    finished: usize,
    complete_scope: usize,
    open: usize,
    resolved: usize,
}

async fn activity_statistics(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["activityId"])?;
    let want_canceled = q.flag("canceled")?;
    let want_finished = q.flag("finished")?;
    let want_complete = q.flag("completeScope")?;
    let want_incidents = q.flag("incidents")?;
    let started_before = q.date("startedBefore")?;
    let started_after = q.date("startedAfter")?;
    let finished_before = q.date("finishedBefore")?;
    let finished_after = q.date("finishedAfter")?;
    let instance_ids = q.list("processInstanceIdIn");
    let Ok(d) = state.engine.definition(&id).await else {
        // Camunda answers an unknown definition with an empty list.
        return Ok(Json(json!([])));
    };
    let mut by_activity: BTreeMap<String, ActivityCounts> = BTreeMap::new();
    let in_range = |a: &HistoricActivityInstance| {
        started_before.is_none_or(|t| a.start_time < t)
            && started_after.is_none_or(|t| a.start_time > t)
            && finished_before.is_none_or(|t| a.end_time.is_some_and(|e| e < t))
            && finished_after.is_none_or(|t| a.end_time.is_some_and(|e| e > t))
    };
    for h in instances_of(&state, &d)? {
        if !in_opt(&instance_ids, Some(&h.id)) {
            continue;
        }
        crate::api::guard::check()?;
        for a in state
            .engine
            .historic_activity_instances(Some(&h.id))
            .await?
        {
            if !in_range(&a) {
                continue;
            }
            let c = by_activity.entry(a.activity_id.clone()).or_default();
            match a.end_time {
                None => c.instances += 1,
                Some(_) if a.canceled => c.canceled += 1,
                Some(_) => c.finished += 1,
            }
            if a.complete_scope {
                c.complete_scope += 1;
            }
        }
    }
    if want_incidents {
        for i in state.engine.historic_incidents().await? {
            if i.process_definition_id != d.id
                || !in_opt(&instance_ids, Some(&i.process_instance_id))
            {
                continue;
            }
            let c = by_activity.entry(i.activity_id.clone()).or_default();
            if i.end_time.is_some() {
                c.resolved += 1;
            } else {
                c.open += 1;
            }
        }
    }
    let mut rows: Vec<(String, J)> = by_activity
        .into_iter()
        .map(|(activity, c)| {
            let mut row = json!({"id": activity, "instances": c.instances});
            if let Some(o) = row.as_object_mut() {
                if want_canceled {
                    o.insert("canceled".into(), json!(c.canceled));
                }
                if want_finished {
                    o.insert("finished".into(), json!(c.finished));
                }
                if want_complete {
                    o.insert("completeScope".into(), json!(c.complete_scope));
                }
                if want_incidents {
                    o.insert("openIncidents".into(), json!(c.open));
                    o.insert("resolvedIncidents".into(), json!(c.resolved));
                    o.insert("deletedIncidents".into(), json!(0));
                }
            }
            (activity, row)
        })
        .collect();
    if sorts.first().is_some_and(|s| s.desc) {
        rows.reverse();
    }
    Ok(Json(J::Array(rows.into_iter().map(|(_, r)| r).collect())))
}

/// Period of a time (ms): month 1-12 or quarter 1-4, by its UTC date.
fn period(t: i64, quarter: bool) -> u32 {
    let month =
        chrono::DateTime::from_timestamp_millis(t).map_or(1, |d| chrono::Datelike::month(&d));
    if quarter { (month - 1) / 3 + 1 } else { month }
}

fn period_unit(q: &QueryInput) -> ApiResult<bool> {
    match q.str("periodUnit").as_deref() {
        Some("month") => Ok(false),
        Some("quarter") => Ok(true),
        Some(other) => Err(ApiError::invalid(format!(
            "Cannot set query parameter 'periodUnit' to value '{other}'"
        ))),
        None => Err(ApiError::invalid("Parameter periodUnit is not set.")),
    }
}

/// `[{period, periodUnit, minimum, maximum, average}]` of (start time, duration) pairs.
fn duration_rows(items: impl Iterator<Item = (i64, i64)>, quarter: bool) -> J {
    let mut by_period: BTreeMap<u32, (i64, i64, i64, i64)> = BTreeMap::new();
    for (start, duration) in items {
        let e = by_period
            .entry(period(start, quarter))
            .or_insert((i64::MAX, i64::MIN, 0, 0));
        e.0 = e.0.min(duration);
        e.1 = e.1.max(duration);
        e.2 = e.2.saturating_add(duration);
        e.3 += 1;
    }
    J::Array(
        by_period
            .into_iter()
            .map(|(p, (min, max, sum, n))| {
                json!({
                    "period": p,
                    "periodUnit": if quarter { "QUARTER" } else { "MONTH" },
                    "minimum": min,
                    "maximum": max,
                    "average": sum / n.max(1),
                })
            })
            .collect(),
    )
}

fn report_type(q: &QueryInput, allowed: &[&str]) -> ApiResult<String> {
    match q.str("reportType") {
        None => Err(ApiError::invalid("Parameter reportType is not set.")),
        Some(t) if allowed.contains(&t.as_str()) => Ok(t),
        Some(t) => Err(ApiError::invalid(format!(
            "Cannot set query parameter 'reportType' to value '{t}'"
        ))),
    }
}

async fn instance_report(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    report_type(&q, &["duration"])?;
    let quarter = period_unit(&q)?;
    let ids = q.list("processDefinitionIdIn");
    let keys = q.list("processDefinitionKeyIn");
    let before = q.date("startedBefore")?;
    let after = q.date("startedAfter")?;
    let lookup = HistoricInstanceLookup {
        finished: Some(true),
        ..Default::default()
    };
    let mut keep = verdict(|h: &HistoricProcessInstance| {
        in_opt(&ids, Some(&h.process_definition_id))
            && in_opt(&keys, Some(&h.process_definition_key))
            && before.is_none_or(|t| h.start_time < t)
            && after.is_none_or(|t| h.start_time > t)
    });
    let finished =
        state
            .engine
            .historic_process_instances_where(&lookup, &mut keep, 0, usize::MAX)?;
    Ok(Json(duration_rows(
        finished
            .iter()
            .filter_map(|h| Some((h.start_time, h.end_time? - h.start_time))),
        quarter,
    )))
}

/// Completed tasks of one definition (and task name): its key, tenant and how many.
type TaskCount = (String, Option<String>, usize);

async fn task_report(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let kind = report_type(&q, &["count", "duration"])?;
    let before = q.date("completedBefore")?;
    let after = q.date("completedAfter")?;
    let completed: Vec<HistoricActivityInstance> = state
        .engine
        .historic_activity_instances(None)
        .await?
        .into_iter()
        .filter(|a| {
            a.activity_type == "userTask"
                && !a.canceled
                && a.end_time
                    .is_some_and(|e| before.is_none_or(|t| e < t) && after.is_none_or(|t| e > t))
        })
        .collect();
    if kind == "duration" {
        let quarter = period_unit(&q)?;
        return Ok(Json(duration_rows(
            completed
                .iter()
                .filter_map(|a| Some((a.start_time, a.end_time? - a.start_time))),
            quarter,
        )));
    }
    let by_task_name = match q.str("groupBy").as_deref() {
        None | Some("processDefinition") => false,
        Some("taskName") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Cannot set query parameter 'groupBy' to value '{other}'"
            )));
        }
    };
    let mut counts: BTreeMap<(String, Option<String>), TaskCount> = BTreeMap::new();
    for a in &completed {
        let name = by_task_name.then(|| a.activity_name.clone().unwrap_or_default());
        let e = counts
            .entry((a.process_definition_id.clone(), name))
            .or_insert((a.process_definition_key.clone(), a.tenant_id.clone(), 0));
        e.2 += 1;
    }
    let mut rows = Vec::new();
    for ((def, name), (key, tenant, n)) in counts {
        let def_name = state
            .engine
            .definition(&def)
            .await
            .ok()
            .and_then(|d| d.name);
        rows.push(json!({
            "processDefinitionId": def,
            "processDefinitionKey": key,
            "processDefinitionName": def_name,
            "taskName": name,
            "tenantId": tenant,
            "count": n,
        }));
    }
    Ok(Json(J::Array(rows)))
}

/// One row per definition: finished instances and those past their time to live.
async fn cleanable_rows(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<J>> {
    let ids = q.list("processDefinitionIdIn");
    let keys = q.list("processDefinitionKeyIn");
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let compact = q.flag("compact")?;
    let sorts = q.sorting(&["finished"])?;
    let now = state.engine.now();
    let mut rows = Vec::new();
    for d in crate::api::query::live(state.engine.definitions().await?) {
        if !(in_opt(&ids, Some(&d.id))
            && in_opt(&keys, Some(&d.key))
            && in_opt(&tenants, d.tenant_id.as_deref())
            && (!without_tenant || d.tenant_id.is_none()))
        {
            continue;
        }
        let finished: Vec<HistoricProcessInstance> = instances_of(state, &d)?
            .into_iter()
            .filter(|h| h.end_time.is_some())
            .collect();
        if compact && finished.is_empty() {
            continue;
        }
        let cleanable = finished
            .iter()
            .filter(|h| state.engine.removal_time_of(h).is_some_and(|t| t <= now))
            .count();
        rows.push((
            finished.len(),
            json!({
                "processDefinitionId": d.id,
                "processDefinitionKey": d.key,
                "processDefinitionName": d.name,
                "processDefinitionVersion": d.version,
                "historyTimeToLive": d.history_time_to_live,
                "finishedProcessInstanceCount": finished.len(),
                "cleanableProcessInstanceCount": cleanable,
                "tenantId": d.tenant_id,
            }),
        ));
    }
    if let Some(s) = sorts.first() {
        rows.sort_by(|a, b| {
            let o: Ordering = a.0.cmp(&b.0);
            if s.desc { o.reverse() } else { o }
        });
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

async fn cleanable_report(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let (first, max) = q.pagination()?;
    let rows = cleanable_rows(&state, &q).await?;
    Ok(Json(J::Array(
        rows.into_iter().skip(first).take(max).collect(),
    )))
}

async fn cleanable_count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(cleanable_rows(&state, &q).await?.len())))
}
