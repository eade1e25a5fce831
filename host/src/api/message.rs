//! `POST /message` (correlation, 204 or 200 with results) and `POST /signal` (204).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::variables::{decode_or_invalid, decode_variables, encode_variables};
use super::{ApiState, BaseUrl, Route, dto};
use crate::engine::{CorrelateRequest, CorrelationResult};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::post("/message", "Correlate a message", correlate),
        Route::post("/signal", "Deliver a signal", signal),
    ]
}

/// `CorrelationMessageDto`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MessageBody {
    message_name: Option<String>,
    business_key: Option<String>,
    process_instance_id: Option<String>,
    correlation_keys: Option<J>,
    local_correlation_keys: Option<J>,
    process_variables: Option<J>,
    process_variables_local: Option<J>,
    tenant_id: Option<String>,
    without_tenant_id: Option<bool>,
    all: Option<bool>,
    result_enabled: Option<bool>,
    variables_in_result_enabled: Option<bool>,
}

fn decode(v: Option<&J>) -> ApiResult<baton_bpmn::Variables> {
    decode_variables(v)
        .map(|d| d.variables)
        .map_err(|m| ApiError::invalid(format!("Cannot deliver message: {m}")))
}

async fn correlate(
    State(state): State<ApiState>,
    base: BaseUrl,
    Json(b): Json<MessageBody>,
) -> ApiResult<Response> {
    let name = b
        .message_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("No message name supplied"))?;
    let without_tenant = b.without_tenant_id.unwrap_or(false);
    if b.tenant_id.is_some() && without_tenant {
        return Err(ApiError::invalid(
            "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.",
        ));
    }
    let result_enabled = b.result_enabled.unwrap_or(false);
    let vars_in_result = b.variables_in_result_enabled.unwrap_or(false);
    if vars_in_result && !result_enabled {
        return Err(ApiError::invalid(
            "Parameter 'variablesInResultEnabled' cannot be used without 'resultEnabled' set to true.",
        ));
    }
    let request = CorrelateRequest {
        message_name: name,
        business_key: b.business_key,
        correlation_keys: decode(b.correlation_keys.as_ref())?,
        local_correlation_keys: decode(b.local_correlation_keys.as_ref())?,
        process_instance_id: b.process_instance_id,
        process_variables: decode(b.process_variables.as_ref())?,
        process_variables_local: decode(b.process_variables_local.as_ref())?,
        all: b.all.unwrap_or(false),
        tenant_id: b.tenant_id,
        without_tenant_id: without_tenant,
    };
    let results = state.engine.correlate_message(request).await?;
    if !result_enabled {
        return Ok(no_content());
    }
    let out: Vec<J> = results
        .iter()
        .map(|r| {
            let (mut dto, vars) = match r {
                CorrelationResult::Execution { process_instance_id, execution_id, ended, variables } => (
                    json!({
                        "resultType": "Execution",
                        "execution": {"id": execution_id, "processInstanceId": process_instance_id, "ended": ended, "tenantId": null},
                        "processInstance": null,
                    }),
                    variables.clone(),
                ),
                CorrelationResult::ProcessDefinition { instance, ended } => (
                    json!({
                        "resultType": "ProcessDefinition",
                        "execution": null,
                        "processInstance": dto::instance(instance, *ended, &base),
                    }),
                    instance.state.process_variables(),
                ),
            };
            if vars_in_result && let Some(o) = dto.as_object_mut() {
                o.insert("variables".into(), encode_variables(&vars, false));
            }
            dto
        })
        .collect();
    Ok(Json(J::Array(out)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SignalBody {
    name: Option<String>,
    execution_id: Option<String>,
    variables: Option<J>,
    tenant_id: Option<String>,
    without_tenant_id: Option<bool>,
}

async fn signal(State(state): State<ApiState>, Json(b): Json<SignalBody>) -> ApiResult<Response> {
    let name = b
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("No signal name given"))?;
    if b.tenant_id.is_some() && b.without_tenant_id.unwrap_or(false) {
        return Err(ApiError::invalid(
            "Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.",
        ));
    }
    let vars = decode_or_invalid(b.variables.as_ref(), "Cannot deliver signal: ")?;
    state
        .engine
        .signal(&name, vars, b.execution_id.as_deref())
        .await?;
    Ok(no_content())
}
