//! `/telemetry`: Camunda's telemetry resource, answered the way Camunda 7.22+ does with its
//! reporter gone: telemetry is off and stays off (`POST /telemetry/configuration` is accepted
//! for clients that send it, and changes nothing: baton sends no data anywhere), and
//! `GET /telemetry/data` shows what the engine would describe about itself (Camunda's
//! `TelemetryDataDto`: product, storage, start of data collection), computed on request.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value as J, json};

use super::date::format;
use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::{ApiState, Route};

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/telemetry/configuration",
            "Whether telemetry is enabled (always false)",
            configuration,
        ),
        Route::post(
            "/telemetry/configuration",
            "Configure telemetry (accepted; baton never sends telemetry)",
            configure,
        ),
        Route::get(
            "/telemetry/data",
            "What the engine would report about itself",
            data,
        ),
    ]
}

async fn configuration() -> Json<J> {
    Json(json!({"enableTelemetry": false}))
}

async fn configure(Json(body): Json<J>) -> ApiResult<Response> {
    match body.get("enableTelemetry") {
        None | Some(J::Null) | Some(J::Bool(_)) => Ok(no_content()),
        Some(other) => Err(ApiError::invalid(format!(
            "Cannot deserialize value of type `java.lang.Boolean` from {other} for 'enableTelemetry'"
        ))),
    }
}

async fn data(State(state): State<ApiState>) -> Json<J> {
    Json(json!({
        "installation": null,
        "product": {
            "name": "baton",
            "version": env!("CARGO_PKG_VERSION"),
            "edition": "community",
            "internals": {
                "database": {"vendor": "sled", "version": "0.34"},
                "application-server": {"vendor": "baton", "version": env!("CARGO_PKG_VERSION")},
                "jdk": null,
                "commands": {},
                "metrics": {},
                "camunda-integration": [],
                "webapps": ["cockpit", "tasklist"],
                "license-key": null,
                "data-collection-start-date": format(state.engine.opened_at()),
            }
        }
    }))
}
