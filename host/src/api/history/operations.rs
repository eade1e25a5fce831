//! Operator changes to history over REST: `DELETE /history/variable-instance/{id}`,
//! `GET /history/variable-instance/{id}/data`, `DELETE
//! /history/process-instance/{id}/variable-instances`, and `PUT
//! /history/user-operation/{operationId}/set-annotation` / `clear-annotation`. The rules
//! live in `engine/history_ops.rs`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::api::error::{ApiError, ApiResult, not_found_as};
use crate::api::json::{Json, no_content};
use crate::api::process_instance::var_data_response;
use crate::api::{ApiState, Route};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::delete(
            "/history/variable-instance/{id}",
            "Delete a historic variable instance",
            delete_variable,
        ),
        Route::get(
            "/history/variable-instance/{id}/data",
            "The binary value of a historic variable instance",
            variable_data,
        ),
        Route::delete(
            "/history/process-instance/{id}/variable-instances",
            "Delete every historic variable instance of a process instance",
            delete_instance_variables,
        ),
        Route::put(
            "/history/user-operation/{operation_id}/set-annotation",
            "Annotate a user operation log entry",
            set_annotation,
        ),
        Route::put(
            "/history/user-operation/{operation_id}/clear-annotation",
            "Clear the annotation of a user operation log entry",
            clear_annotation,
        ),
    ]
}

async fn delete_variable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_historic_variable(&id)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                ApiError::not_found(format!("No historic variable instance found with id: {id}"))
            })
        })?;
    Ok(no_content())
}

async fn variable_data(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let v = state.engine.historic_variable(&id).await.map_err(|e| {
        not_found_as(e, || {
            ApiError::not_found(format!(
                "Historic variable instance with Id '{id}' does not exist."
            ))
        })
    })?;
    let mut one = baton_bpmn::Variables::new();
    one.insert(id.clone(), v.value);
    var_data_response(&one, &id, "Historic variable instance")
}

async fn delete_instance_variables(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .delete_historic_variables_of(&id)
        .await
        .map_err(|e| {
            not_found_as(e, || {
                ApiError::not_found(format!("No historic process instance found with id: {id}"))
            })
        })?;
    Ok(no_content())
}

/// `AnnotationDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AnnotationBody {
    annotation: Option<String>,
}

async fn set_annotation(
    State(state): State<ApiState>,
    Path(operation_id): Path<String>,
    Json(body): Json<AnnotationBody>,
) -> ApiResult<Response> {
    state
        .engine
        .annotate_user_operation(&operation_id, body.annotation)
        .await?;
    Ok(no_content())
}

async fn clear_annotation(
    State(state): State<ApiState>,
    Path(operation_id): Path<String>,
) -> ApiResult<Response> {
    state
        .engine
        .annotate_user_operation(&operation_id, None)
        .await?;
    Ok(no_content())
}
