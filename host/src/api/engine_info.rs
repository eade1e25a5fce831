//! `GET /engine` (the engine list: only `default`) and `GET /version`.

use serde_json::json;

use super::Route;
use super::json::Json;

/// The Camunda version baton reports (the last CE release it is compatible with).
pub const CAMUNDA_VERSION: &str = "7.24.0";

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/engine", "List process engines (only `default`)", engines),
        Route::get("/version", "The Camunda REST API version served", version),
    ]
}

async fn engines() -> Json<serde_json::Value> {
    Json(json!([{"name": "default"}]))
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({"version": CAMUNDA_VERSION}))
}
