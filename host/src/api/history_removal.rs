//! Removing history by hand and planning its removal: `POST /history/process-instance/delete`
//! (a `historic-process-instance-deletion` batch), `POST /history/process-instance/set-removal-time`
//! and `POST /history/batch/set-removal-time` (`process-set-removal-time` and
//! `batch-set-removal-time` batches), and the cleanable batch report
//! (`GET /history/batch/cleanable-batch-report` and `/count`); the same for decisions:
//! `POST /history/decision-instance/delete` (`historic-decision-instance-deletion`),
//! `POST /history/decision-instance/set-removal-time` (`decision-set-removal-time`) and the
//! cleanable decision instance report (`GET /history/decision-definition/cleanable-decision-instance-report`
//! and `/count`).
//!
//! Bodies are Camunda's DTOs (`DeleteHistoricProcessInstancesDto`,
//! `SetRemovalTimeToHistoricProcessInstancesDto`, `SetRemovalTimeToHistoricBatchesDto`);
//! refusals carry Camunda's texts and exception types (its history delete resource turns
//! `BadUserRequestException`s into `InvalidRequestException`s, its set-removal-time
//! resources let them through). The removal rules live in `engine/history_cleanup.rs`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::batch_ops::create;
use super::error::{ApiError, ApiResult};
use super::json::Json;
use super::query::{QueryInput, Search, sort_and_page};
use super::{ApiState, Route, dto};
use crate::engine::ProcessEngineError;
use crate::engine::batches::MAX_BATCH_TARGETS;
use crate::store::batches::{BatchOperation, RemovalTimeOverride};

/// Camunda's `MAX_CHUNK_SIZE` of the process set-removal-time job handler.
const MAX_CHUNK_SIZE: i64 = 500;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post(
            "/history/process-instance/delete",
            "Delete the history of finished process instances in a batch",
            delete_async,
        ),
        Route::post(
            "/history/process-instance/set-removal-time",
            "Set the removal time of historic process instances in a batch",
            instances_removal_time,
        ),
        Route::post(
            "/history/batch/set-removal-time",
            "Set the removal time of historic batches in a batch",
            batches_removal_time,
        ),
        Route::get(
            "/history/batch/cleanable-batch-report",
            "Cleanable historic batches per batch type",
            report,
        ),
        Route::get(
            "/history/batch/cleanable-batch-report/count",
            "Count the rows of the cleanable batch report",
            report_count,
        ),
        Route::post(
            "/history/decision-instance/delete",
            "Delete historic decision instances in a batch",
            decisions_delete_async,
        ),
        Route::post(
            "/history/decision-instance/set-removal-time",
            "Set the removal time of historic decision instances in a batch",
            decisions_removal_time,
        ),
        Route::get(
            "/history/decision-definition/cleanable-decision-instance-report",
            "Cleanable historic decision instances per decision definition",
            decision_report,
        ),
        Route::get(
            "/history/decision-definition/cleanable-decision-instance-report/count",
            "Count the rows of the cleanable decision instance report",
            decision_report_count,
        ),
    ]
}

/// Camunda's `DeleteHistoricProcessInstancesDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    historic_process_instance_ids: Option<Vec<String>>,
    historic_process_instance_query: Option<serde_json::Map<String, J>>,
    delete_reason: Option<String>,
    #[serde(default = "yes")]
    fail_if_not_exists: bool,
}

fn yes() -> bool {
    true
}

/// The removal-time modes shared by both set-removal-time DTOs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Modes {
    absolute_removal_time: Option<String>,
    #[serde(default)]
    cleared_removal_time: bool,
    #[serde(default)]
    calculated_removal_time: bool,
}

/// Camunda's `SetRemovalTimeToHistoricProcessInstancesDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstancesBody {
    #[serde(flatten)]
    modes: Modes,
    historic_process_instance_ids: Option<Vec<String>>,
    historic_process_instance_query: Option<serde_json::Map<String, J>>,
    #[serde(default)]
    hierarchical: bool,
    #[serde(default)]
    update_in_chunks: bool,
    update_chunk_size: Option<i64>,
}

/// Camunda's `SetRemovalTimeToHistoricBatchesDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchesBody {
    #[serde(flatten)]
    modes: Modes,
    historic_batch_ids: Option<Vec<String>>,
    historic_batch_query: Option<serde_json::Map<String, J>>,
}

/// The chosen mode: `Some(None)` calculated, `Some(Some(..))` absolute or cleared; `None`
/// when no mode was chosen (Camunda refuses that later, after the targets are known).
fn mode(m: &Modes) -> ApiResult<Option<Option<RemovalTimeOverride>>> {
    let mut chosen = None;
    let mut choose = |mode| {
        if chosen.is_some() {
            return Err(ApiError::bad_user_request(
                "The removal time modes are mutually exclusive: mode is not null",
            ));
        }
        chosen = Some(mode);
        Ok(())
    };
    // Camunda's resource applies them in this order; a second one is refused.
    if m.calculated_removal_time {
        choose(None)?;
    }
    if let Some(text) = &m.absolute_removal_time {
        let at = super::date::parse(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "Cannot set absoluteRemovalTime to value '{text}': not a date"
            ))
        })?;
        choose(Some(RemovalTimeOverride::Absolute(at)))?;
    }
    if m.cleared_removal_time {
        choose(Some(RemovalTimeOverride::Cleared))?;
    }
    Ok(chosen)
}

/// Ids from a list, each once, in order (the list is capped at the batch size).
fn unique(mut ids: Vec<String>) -> ApiResult<Vec<String>> {
    if ids.len() > MAX_BATCH_TARGETS {
        return Err(ApiError::invalid(format!(
            "A batch holds at most {MAX_BATCH_TARGETS} targets"
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

/// `POST /history/process-instance/delete`. Unknown ids are refused before the batch exists
/// when `failIfNotExists` (Camunda's REST resource drops the flag and skips unknown ids;
/// baton honours it, with the text of Camunda's synchronous deletion). A running instance
/// fails its invocation when the batch runs, as Camunda's batch job does.
async fn delete_async(
    State(state): State<ApiState>,
    Json(body): Json<DeleteBody>,
) -> ApiResult<Json<J>> {
    let given = unique(body.historic_process_instance_ids.unwrap_or_default())?;
    let mut targets = Vec::with_capacity(given.len());
    let mut missing = Vec::new();
    for id in given {
        match state.engine.historic_process_instance(&id).await {
            Ok(_) => targets.push(id),
            Err(ProcessEngineError::NotFound(_)) => missing.push(id),
            Err(e) => return Err(e.into()),
        }
    }
    if body.fail_if_not_exists && !missing.is_empty() {
        return Err(ApiError::invalid(format!(
            "No historic process instance found with id: [{}]",
            missing.join(", ")
        )));
    }
    if let Some(q) = body.historic_process_instance_query {
        targets.extend(super::history::historic_instance_ids(&state, &J::Object(q)).await?);
    }
    let targets = unique(targets)?;
    if targets.is_empty() {
        return Err(ApiError::invalid("historicProcessInstanceIds is empty"));
    }
    let operation = BatchOperation::DeleteHistoricInstances {
        reason: body.delete_reason,
        fail_if_not_exists: body.fail_if_not_exists,
    };
    create(&state, operation, targets).await
}

/// `POST /history/process-instance/set-removal-time`. `updateInChunks` and
/// `updateChunkSize` are checked as Camunda does but change nothing: baton writes one
/// instance (record) per step anyway.
async fn instances_removal_time(
    State(state): State<ApiState>,
    Json(body): Json<InstancesBody>,
) -> ApiResult<Json<J>> {
    let mode = mode(&body.modes)?;
    if let Some(size) = body.update_chunk_size
        && !(1..=MAX_CHUNK_SIZE).contains(&size)
    {
        return Err(ApiError::bad_user_request(format!(
            "The value for chunk size should be between 1 and {MAX_CHUNK_SIZE}"
        )));
    }
    let _ = body.update_in_chunks;
    if body.historic_process_instance_ids.is_none()
        && body.historic_process_instance_query.is_none()
    {
        return Err(ApiError::bad_user_request(
            "Neither query nor ids provided.",
        ));
    }
    let mut targets = Vec::new();
    if let Some(q) = body.historic_process_instance_query {
        targets.extend(super::history::historic_instance_ids(&state, &J::Object(q)).await?);
    }
    // Camunda keeps the given ids that have history.
    for id in unique(body.historic_process_instance_ids.unwrap_or_default())? {
        match state.engine.historic_process_instance(&id).await {
            Ok(_) => targets.push(id),
            Err(ProcessEngineError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    removal_batch(
        &state,
        mode,
        targets,
        "historicProcessInstances",
        |removal_time| BatchOperation::SetInstanceRemovalTime {
            removal_time,
            hierarchical: body.hierarchical,
        },
    )
    .await
}

/// `POST /history/batch/set-removal-time`.
async fn batches_removal_time(
    State(state): State<ApiState>,
    Json(body): Json<BatchesBody>,
) -> ApiResult<Json<J>> {
    let mode = mode(&body.modes)?;
    if body.historic_batch_ids.is_none() && body.historic_batch_query.is_none() {
        return Err(ApiError::bad_user_request(
            "Neither query nor ids provided.",
        ));
    }
    let mut targets = Vec::new();
    if let Some(q) = body.historic_batch_query {
        let query = QueryInput::from_body(&J::Object(q), &QueryInput::from_pairs(Vec::new()));
        targets.extend(
            super::batch::history_matching(&state, &query)?
                .into_iter()
                .map(|h| h.batch.id),
        );
    }
    for id in unique(body.historic_batch_ids.unwrap_or_default())? {
        match state.engine.historic_batch(&id) {
            Ok(_) => targets.push(id),
            Err(ProcessEngineError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    removal_batch(&state, mode, targets, "historicBatches", |removal_time| {
        BatchOperation::SetBatchRemovalTime { removal_time }
    })
    .await
}

/// The common end of the set-removal-time operations, in Camunda's order: a missing mode is
/// refused once the targets are known, then an empty target list (`what is empty`).
async fn removal_batch(
    state: &ApiState,
    mode: Option<Option<RemovalTimeOverride>>,
    targets: Vec<String>,
    what: &str,
    operation: impl FnOnce(Option<RemovalTimeOverride>) -> BatchOperation,
) -> ApiResult<Json<J>> {
    let Some(removal_time) = mode else {
        return Err(ApiError::bad_user_request("removalTime is null"));
    };
    let targets = unique(targets)?;
    if targets.is_empty() {
        return Err(ApiError::bad_user_request(format!("{what} is empty")));
    }
    create(state, operation(removal_time), targets).await
}

/// One row of the cleanable batch report.
struct ReportRow {
    batch_type: String,
    finished: u64,
    cleanable: u64,
}

/// Camunda's report: one row per batch type in the batch history; `finished` counts ended
/// batches, `cleanable` those whose removal time has passed (removal-time-based strategy).
/// baton counts only ended batches as cleanable, as its cleanup removes only those.
fn report_rows(state: &ApiState) -> ApiResult<Vec<ReportRow>> {
    let now = state.engine.now();
    let mut rows: BTreeMap<String, ReportRow> = BTreeMap::new();
    for h in state.engine.historic_batches()? {
        let row = rows
            .entry(h.batch.batch_type.clone())
            .or_insert_with(|| ReportRow {
                batch_type: h.batch.batch_type.clone(),
                finished: 0,
                cleanable: 0,
            });
        if h.end_time.is_some() {
            row.finished += 1;
            if state
                .engine
                .batch_removal_time_of(&h)
                .is_some_and(|t| t <= now)
            {
                row.cleanable += 1;
            }
        }
    }
    Ok(rows.into_values().collect())
}

fn report_compare(a: &ReportRow, b: &ReportRow, by: &str) -> Ordering {
    match by {
        "finished" => a.finished.cmp(&b.finished),
        _ => Ordering::Equal,
    }
}

/// `GET /history/batch/cleanable-batch-report`: sorted by `finished`, paged.
async fn report(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["finished"])?;
    let ttl = state.engine.batch_history_time_to_live();
    let rows = sort_and_page(
        report_rows(&state)?,
        &sorts,
        q.pagination()?,
        report_compare,
    )?;
    Ok(Json(J::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "batchType": r.batch_type,
                    "historyTimeToLive": ttl,
                    "finishedBatchesCount": r.finished,
                    "cleanableBatchesCount": r.cleanable,
                })
            })
            .collect(),
    )))
}

/// `GET /history/batch/cleanable-batch-report/count`: how many rows the report has.
async fn report_count(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    // Checked as the list checks them, so a bad sort is refused here too.
    q.sorting(&["finished"])?;
    Ok(Json(dto::count(report_rows(&state)?.len())))
}

/// Camunda's `DeleteHistoricDecisionInstancesDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecisionsDeleteBody {
    historic_decision_instance_ids: Option<Vec<String>>,
    historic_decision_instance_query: Option<serde_json::Map<String, J>>,
}

/// Camunda's `SetRemovalTimeToHistoricDecisionInstancesDto`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecisionsBody {
    #[serde(flatten)]
    modes: Modes,
    historic_decision_instance_ids: Option<Vec<String>>,
    historic_decision_instance_query: Option<serde_json::Map<String, J>>,
    #[serde(default)]
    hierarchical: bool,
}

/// The historic decision instances named by ids (those that exist) and a query, each once.
async fn decision_targets(
    state: &ApiState,
    ids: Option<Vec<String>>,
    query: Option<serde_json::Map<String, J>>,
) -> ApiResult<Vec<String>> {
    let mut targets = Vec::new();
    for id in unique(ids.unwrap_or_default())? {
        match state.engine.historic_decision_instance(&id).await {
            Ok(_) => targets.push(id),
            Err(ProcessEngineError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(q) = query {
        targets.extend(super::decision_history::historic_decision_ids(state, &J::Object(q)).await?);
    }
    unique(targets)
}

/// `POST /history/decision-instance/delete`: the evaluations' history, in a batch (the
/// `deleteReason` is accepted; baton's decision history keeps no deletion reason).
async fn decisions_delete_async(
    State(state): State<ApiState>,
    Json(body): Json<DecisionsDeleteBody>,
) -> ApiResult<Json<J>> {
    let targets = decision_targets(
        &state,
        body.historic_decision_instance_ids,
        body.historic_decision_instance_query,
    )
    .await?;
    if targets.is_empty() {
        return Err(ApiError::invalid("historicDecisionInstanceIds is empty"));
    }
    create(
        &state,
        BatchOperation::DeleteHistoricDecisionInstances,
        targets,
    )
    .await
}

/// `POST /history/decision-instance/set-removal-time`.
async fn decisions_removal_time(
    State(state): State<ApiState>,
    Json(body): Json<DecisionsBody>,
) -> ApiResult<Json<J>> {
    let mode = mode(&body.modes)?;
    if body.historic_decision_instance_ids.is_none()
        && body.historic_decision_instance_query.is_none()
    {
        return Err(ApiError::bad_user_request(
            "Neither query nor ids provided.",
        ));
    }
    let targets = decision_targets(
        &state,
        body.historic_decision_instance_ids,
        body.historic_decision_instance_query,
    )
    .await?;
    removal_batch(
        &state,
        mode,
        targets,
        "historicDecisionInstances",
        |removal_time| BatchOperation::SetDecisionRemovalTime {
            removal_time,
            hierarchical: body.hierarchical,
        },
    )
    .await
}

/// One row of the cleanable decision instance report.
struct DecisionReportRow {
    definition: crate::records::DecisionDefinition,
    finished: u64,
    cleanable: u64,
}

/// Camunda's report: one row per decision definition (filtered by `decisionDefinitionIdIn`,
/// `decisionDefinitionKeyIn`, `tenantIdIn`, `withoutTenantId`; `compact` leaves out those
/// without history); every evaluation is finished, the cleanable ones are past their
/// removal time.
async fn decision_report_rows(
    state: &ApiState,
    q: &QueryInput,
) -> ApiResult<Vec<DecisionReportRow>> {
    let ids = q.list("decisionDefinitionIdIn");
    let keys = q.list("decisionDefinitionKeyIn");
    let tenants = q.list("tenantIdIn");
    let without_tenant = q.flag("withoutTenantId")?;
    let compact = q.flag("compact")?;
    let now = state.engine.now();
    let mut rows: BTreeMap<String, DecisionReportRow> = BTreeMap::new();
    for d in state.engine.decision_definitions().await? {
        let keep = ids.as_ref().is_none_or(|l| l.contains(&d.id))
            && keys.as_ref().is_none_or(|l| l.contains(&d.key))
            && tenants
                .as_ref()
                .is_none_or(|l| d.tenant_id.as_ref().is_some_and(|t| l.contains(t)))
            && (!without_tenant || d.tenant_id.is_none());
        if keep {
            rows.insert(
                d.id.clone(),
                DecisionReportRow {
                    definition: d,
                    finished: 0,
                    cleanable: 0,
                },
            );
        }
    }
    for h in state.engine.historic_decision_instances().await? {
        if let Some(row) = rows.get_mut(&h.decision_definition_id) {
            row.finished += 1;
            if state
                .engine
                .decision_removal_time_of(&h)
                .is_some_and(|t| t <= now)
            {
                row.cleanable += 1;
            }
        }
    }
    Ok(rows
        .into_values()
        .filter(|r| !compact || r.finished > 0)
        .collect())
}

/// `GET /history/decision-definition/cleanable-decision-instance-report`.
async fn decision_report(State(state): State<ApiState>, Search(q): Search) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["finished"])?;
    let rows = sort_and_page(
        decision_report_rows(&state, &q).await?,
        &sorts,
        q.pagination()?,
        |a, b, by| match by {
            "finished" => a.finished.cmp(&b.finished),
            _ => Ordering::Equal,
        },
    )?;
    Ok(Json(J::Array(
        rows.iter()
            .map(|r| {
                let d = &r.definition;
                json!({
                    "decisionDefinitionId": d.id,
                    "decisionDefinitionKey": d.key,
                    "decisionDefinitionName": d.name,
                    "decisionDefinitionVersion": d.version,
                    "historyTimeToLive": d.history_time_to_live,
                    "finishedDecisionInstanceCount": r.finished,
                    "cleanableDecisionInstanceCount": r.cleanable,
                    "tenantId": d.tenant_id,
                })
            })
            .collect(),
    )))
}

/// `GET /history/decision-definition/cleanable-decision-instance-report/count`.
async fn decision_report_count(
    State(state): State<ApiState>,
    Search(q): Search,
) -> ApiResult<Json<J>> {
    q.sorting(&["finished"])?;
    Ok(Json(dto::count(
        decision_report_rows(&state, &q).await?.len(),
    )))
}
