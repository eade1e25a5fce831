//! `/migration`: `generate` (a plan mapping equal activity ids), `validate` (Camunda's
//! `MigrationPlanReportDto`), `execute` and `executeAsync` (a batch of type
//! `instance-migration`). An invalid plan is Camunda's 400 `MigrationPlanValidationException`
//! and an instance that cannot move its 400 `MigratingProcessInstanceValidationException`,
//! each with its `validationReport`. The engine room `migration` does the work.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as J, json};

use super::batch::batch_dto;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::QueryInput;
use super::{ApiState, Route};
use crate::engine::{
    InstructionReport, MigrationError, MigrationInstruction, MigrationPlan, ProcessEngineError,
};
use crate::store::batches::BatchOperation;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/migration/generate", "Generate a migration plan", generate),
        Route::post("/migration/validate", "Validate a migration plan", validate),
        Route::post("/migration/execute", "Migrate process instances", execute),
        Route::post(
            "/migration/executeAsync",
            "Migrate process instances in a batch",
            execute_async,
        ),
    ]
}

fn instruction_dto(i: &MigrationInstruction) -> J {
    json!({
        "sourceActivityIds": i.source_activity_ids,
        "targetActivityIds": i.target_activity_ids,
        "updateEventTrigger": i.update_event_trigger,
    })
}

fn plan_dto(p: &MigrationPlan) -> J {
    json!({
        "sourceProcessDefinitionId": p.source_process_definition_id,
        "targetProcessDefinitionId": p.target_process_definition_id,
        "instructions": p.instructions.iter().map(instruction_dto).collect::<Vec<_>>(),
        "variables": null,
    })
}

fn plan_report(reports: &[InstructionReport]) -> J {
    json!({
        "instructionReports": reports.iter().map(|r| json!({
            "instruction": instruction_dto(&r.instruction),
            "failures": r.failures,
        })).collect::<Vec<_>>(),
        "variableReports": {},
    })
}

/// A definition id of a body, Camunda's texts when missing (400).
fn definition_id(body: &J, field: &str, kind: &str) -> ApiResult<String> {
    body.get(field)
        .and_then(J::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid(format!("{kind} process definition id is null")))
}

/// The engine's `NotFound` for a definition as Camunda's migration answers it (400).
fn unknown_definition(e: ProcessEngineError, id: &str, kind: &str) -> ApiError {
    match e {
        ProcessEngineError::NotFound(_) => ApiError::invalid(format!(
            "ENGINE-23033 {kind} process definition with id '{id}' does not exist"
        )),
        other => other.into(),
    }
}

/// Read a `MigrationPlanDto`.
fn parse_plan(body: &J) -> ApiResult<MigrationPlan> {
    let source = definition_id(body, "sourceProcessDefinitionId", "Source")?;
    let target = definition_id(body, "targetProcessDefinitionId", "Target")?;
    let ids = |i: &J, f: &str| -> Vec<String> {
        i.get(f)
            .and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let instructions = match body.get("instructions") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Array(items)) => items
            .iter()
            .map(|i| MigrationInstruction {
                source_activity_ids: ids(i, "sourceActivityIds"),
                target_activity_ids: ids(i, "targetActivityIds"),
                update_event_trigger: i
                    .get("updateEventTrigger")
                    .and_then(J::as_bool)
                    .unwrap_or(false),
            })
            .collect(),
        Some(_) => return Err(ApiError::invalid("'instructions' must be a JSON array")),
    };
    Ok(MigrationPlan {
        source_process_definition_id: source,
        target_process_definition_id: target,
        instructions,
    })
}

/// Both definitions of a plan exist (Camunda's 400s otherwise).
async fn check_definitions(state: &ApiState, plan: &MigrationPlan) -> ApiResult<()> {
    let s = &plan.source_process_definition_id;
    let t = &plan.target_process_definition_id;
    state
        .engine
        .definition(s)
        .await
        .map_err(|e| unknown_definition(e, s, "Source"))?;
    state
        .engine
        .definition(t)
        .await
        .map_err(|e| unknown_definition(e, t, "Target"))?;
    Ok(())
}

/// Camunda's answer to a failed migration.
fn migration_error(e: MigrationError) -> ApiError {
    match e {
        MigrationError::Plan { message, reports } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "MigrationPlanValidationException",
            message,
            Some(0),
        )
        .with_fields(json!({ "validationReport": plan_report(&reports) })),
        MigrationError::Instance {
            message,
            process_instance_id,
            reports,
        } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "MigratingProcessInstanceValidationException",
            message,
            Some(0),
        )
        .with_fields(json!({
            "validationReport": {
                "processInstanceId": process_instance_id,
                "failures": [],
                "activityInstanceValidationReports": reports.iter().map(|r| json!({
                    "migrationInstruction": null,
                    "activityInstanceId": r.activity_instance_id,
                    "sourceScopeId": r.source_scope_id,
                    "failures": r.failures,
                })).collect::<Vec<_>>(),
                "transitionInstanceValidationReports": [],
            }
        })),
        MigrationError::Engine(e) => e.into(),
    }
}

async fn generate(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let source = definition_id(&body, "sourceProcessDefinitionId", "Source")?;
    let target = definition_id(&body, "targetProcessDefinitionId", "Target")?;
    let update = body
        .get("updateEventTriggers")
        .and_then(J::as_bool)
        .unwrap_or(false);
    let plan = MigrationPlan {
        source_process_definition_id: source.clone(),
        target_process_definition_id: target.clone(),
        instructions: Vec::new(),
    };
    check_definitions(&state, &plan).await?;
    let plan = state
        .engine
        .generate_migration_plan(&source, &target, update)
        .await?;
    Ok(Json(plan_dto(&plan)))
}

async fn validate(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let plan = parse_plan(&body)?;
    check_definitions(&state, &plan).await?;
    let reports = state.engine.validate_migration_plan(&plan).await?;
    Ok(Json(plan_report(&reports)))
}

/// A `MigrationExecutionDto`: its plan (checked) and its instances.
async fn execution(state: &ApiState, body: &J) -> ApiResult<(MigrationPlan, Vec<String>)> {
    let Some(plan_body) = body.get("migrationPlan").filter(|p| p.is_object()) else {
        return Err(ApiError::invalid(
            "Migration plan cannot be null: migration plan is null",
        ));
    };
    let plan = parse_plan(plan_body)?;
    check_definitions(state, &plan).await?;
    state
        .engine
        .check_migration_plan(&plan)
        .await
        .map_err(migration_error)?;
    let mut targets: Vec<String> = body
        .get("processInstanceIds")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(q) = body.get("processInstanceQuery").filter(|q| q.is_object()) {
        let query = QueryInput::from_body(q, &QueryInput::from_pairs(Vec::new()));
        for pi in super::process_instance::query(state, &query).await? {
            targets.push(pi.id().to_owned());
        }
    }
    let mut seen = std::collections::HashSet::with_capacity(targets.len());
    targets.retain(|id| seen.insert(id.clone()));
    if targets.is_empty() {
        return Err(ApiError::invalid(
            "Process instance ids cannot empty: process instance ids is empty",
        ));
    }
    Ok((plan, targets))
}

async fn execute(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Response> {
    let (plan, targets) = execution(&state, &body).await?;
    for id in &targets {
        state
            .engine
            .migrate_instance_now(&plan, id)
            .await
            .map_err(migration_error)?;
    }
    Ok(no_content())
}

async fn execute_async(State(state): State<ApiState>, Json(body): Json<J>) -> ApiResult<Json<J>> {
    let (plan, targets) = execution(&state, &body).await?;
    let batch = state
        .engine
        .create_batch(BatchOperation::Migration(plan), targets, None)
        .await?;
    Ok(Json(batch_dto(&batch)))
}
