//! `/process-definition/{id}/startForm`, `deployed-start-form`, `rendered-form` and
//! `submit-form` (each also by key and by key and tenant): the start form of a definition,
//! from `camunda:formKey` and `camunda:formData` on its none start event.
//!
//! - `startForm` → `FormDto` (`key`, `contextPath`, `camundaFormRef`); without a form key but
//!   with form fields, the key is Camunda's generated-form link
//!   (`embedded:engine://engine/:engine/process-definition/<id>/rendered-form`).
//! - `deployed-start-form` → the form resource a `deployment:` key names (`.form` files as
//!   `application/json`, others as `application/xhtml+xml`, as Camunda's `ContentTypeUtil`).
//! - `rendered-form` → an HTML form generated from the form fields (Camunda's
//!   `HtmlFormEngine` idea: one labelled input per field carrying `cam-variable-name` and
//!   `cam-variable-type`; the markup is baton's own), 404 without fields.
//! - `submit-form` → starts an instance with the submitted variables after checking the
//!   `required` constraints, as Camunda's `FormService.submitStartForm`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value as J, json};

use super::dto::InstanceDto;
use super::error::{ApiError, ApiResult};
use super::json::Json;
use super::process_definition::{StartBody, by_id, by_key, start};
use super::{ApiState, AuthUser, BaseUrl, Route};
use crate::engine::ProcessEngineError;
use crate::records::ProcessDefinition;
use baton_bpmn::model::FormField;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/process-definition/{id}/startForm",
            "The start form key of a definition",
            form_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}/startForm",
            "The start form key of the latest definition of a key",
            form_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/startForm",
            "The start form key of the latest definition of a key for a tenant",
            form_by_key_tenant,
        ),
        Route::get(
            "/process-definition/{id}/deployed-start-form",
            "The deployed start form of a definition",
            deployed_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}/deployed-start-form",
            "The deployed start form of the latest definition of a key",
            deployed_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/deployed-start-form",
            "The deployed start form of the latest definition of a key for a tenant",
            deployed_by_key_tenant,
        ),
        Route::get(
            "/process-definition/{id}/rendered-form",
            "The start form generated from the form fields (HTML)",
            rendered_by_id,
        ),
        Route::get(
            "/process-definition/key/{key}/rendered-form",
            "The generated start form of the latest definition of a key",
            rendered_by_key,
        ),
        Route::get(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/rendered-form",
            "The generated start form of the latest definition of a key for a tenant",
            rendered_by_key_tenant,
        ),
        Route::post(
            "/process-definition/{id}/submit-form",
            "Start an instance through its start form",
            submit_by_id,
        ),
        Route::post(
            "/process-definition/key/{key}/submit-form",
            "Start the latest definition of a key through its start form",
            submit_by_key,
        ),
        Route::post(
            "/process-definition/key/{key}/tenant-id/{tenant_id}/submit-form",
            "Start the latest definition of a key for a tenant through its start form",
            submit_by_key_tenant,
        ),
    ]
}

/// `FormDto` of a definition's start form.
async fn form_dto(state: &ApiState, id: &str) -> ApiResult<Json<J>> {
    let form = state.engine.start_form(id).await.map_err(|_| {
        ApiError::invalid(format!(
            "Cannot get start form data for process definition {id}"
        ))
    })?;
    let key = match form.form_key {
        Some(k) if !k.is_empty() => Some(k),
        _ if !form.fields.is_empty() => Some(format!(
            "embedded:engine://engine/:engine/process-definition/{id}/rendered-form"
        )),
        _ => None,
    };
    Ok(Json(
        json!({"key": key, "contextPath": null, "camundaFormRef": null}),
    ))
}

async fn form_by_id(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    form_dto(&state, &id).await
}

async fn form_by_key(State(state): State<ApiState>, Path(key): Path<String>) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, None).await?;
    form_dto(&state, &d.id).await
}

async fn form_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Json<J>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    form_dto(&state, &d.id).await
}

async fn deployed(state: &ApiState, d: &ProcessDefinition) -> ApiResult<Response> {
    let (name, bytes) = state
        .engine
        .deployed_start_form(&d.id)
        .await
        .map_err(|e| match e {
            ProcessEngineError::NotFound(m) => {
                ApiError::new(StatusCode::NOT_FOUND, "NotFoundException", m, Some(0))
            }
            other => ApiError::from(other),
        })?;
    let content_type = if name.ends_with(".form") {
        "application/json"
    } else {
        "application/xhtml+xml"
    };
    Ok(super::raw(content_type, bytes))
}

async fn deployed_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = by_id(&state, &id).await?;
    deployed(&state, &d).await
}

async fn deployed_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, None).await?;
    deployed(&state, &d).await
}

async fn deployed_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    deployed(&state, &d).await
}

/// HTML-escape text for an attribute or element body.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Camunda's variable type name for a form field type.
fn variable_type(type_name: &str) -> &'static str {
    match type_name {
        "long" => "Long",
        "boolean" => "Boolean",
        "date" => "Date",
        _ => "String",
    }
}

fn field_html(f: &FormField) -> String {
    let id = esc(&f.id);
    let label = esc(f.label.as_deref().unwrap_or(&f.id));
    let ty = variable_type(&f.type_name);
    let mut attrs = format!(
        r#"class="form-control" name="{id}" cam-variable-name="{id}" cam-variable-type="{ty}""#
    );
    if f.required {
        attrs.push_str(r#" required="required""#);
    }
    if f.readonly {
        attrs.push_str(r#" readonly="readonly""#);
    }
    let input = match f.type_name.as_str() {
        "enum" => {
            let options: String = f
                .enum_values
                .iter()
                .map(|(v, n)| {
                    format!(
                        r#"<option value="{}">{}</option>"#,
                        esc(v),
                        esc(n.as_deref().unwrap_or(v))
                    )
                })
                .collect();
            format!("<select {attrs}>{options}</select>")
        }
        "boolean" => format!(r#"<input {attrs} type="checkbox" />"#),
        _ => format!(r#"<input {attrs} type="text" />"#),
    };
    format!(r#"<div class="form-group"><label for="{id}">{label}</label>{input}</div>"#)
}

async fn rendered(state: &ApiState, d: &ProcessDefinition) -> ApiResult<Response> {
    let form = state.engine.start_form(&d.id).await?;
    if form.fields.is_empty() {
        return Err(ApiError::not_found(format!(
            "No matching rendered start form for process definition with the id {} found.",
            d.id
        )));
    }
    let body: String = form.fields.iter().map(field_html).collect();
    let html = format!(r#"<form class="form-horizontal">{body}</form>"#);
    Ok(super::raw("application/xhtml+xml", html.into_bytes()))
}

async fn rendered_by_id(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = by_id(&state, &id).await?;
    rendered(&state, &d).await
}

async fn rendered_by_key(
    State(state): State<ApiState>,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, None).await?;
    rendered(&state, &d).await
}

async fn rendered_by_key_tenant(
    State(state): State<ApiState>,
    Path((key, tenant)): Path<(String, String)>,
) -> ApiResult<Response> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    rendered(&state, &d).await
}

/// Check the `required` constraints of the start form, then start as `POST .../start` does.
async fn submit(
    state: &ApiState,
    base: &BaseUrl,
    user: AuthUser,
    id: String,
    body: StartBody,
) -> ApiResult<Json<InstanceDto>> {
    // An unknown id fails in `start` with Camunda's 500 text, as `POST .../start` does.
    let form = state.engine.start_form(&id).await.unwrap_or_default();
    let given = body.variables_json();
    for f in form.fields.iter().filter(|f| f.required) {
        let value = given
            .and_then(|v| v.get(&f.id))
            .and_then(|v| v.get("value"))
            .filter(|v| !v.is_null());
        if value.is_none() && f.default_value.is_none() {
            return Err(ApiError::rest(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Cannot instantiate process definition {id}: Invalid value submitted for form field '{}': validation of required failed.",
                    f.id
                ),
            ));
        }
    }
    start(state, base, user, id, body).await
}

async fn submit_by_id(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path(id): Path<String>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<InstanceDto>> {
    submit(&state, &base, user, id, body).await
}

async fn submit_by_key(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path(key): Path<String>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<InstanceDto>> {
    let d = by_key(&state, &key, None).await?;
    submit(&state, &base, user, d.id, body).await
}

async fn submit_by_key_tenant(
    State(state): State<ApiState>,
    base: BaseUrl,
    user: AuthUser,
    Path((key, tenant)): Path<(String, String)>,
    Json(body): Json<StartBody>,
) -> ApiResult<Json<InstanceDto>> {
    let d = by_key(&state, &key, Some(&tenant)).await?;
    submit(&state, &base, user, d.id, body).await
}
