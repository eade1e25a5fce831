//! `/filter`: the Tasklist's saved filters. A filter of resource type `Task` stores a task
//! query (Camunda's `/task` query fields as JSON); `list`, `count` and `singleResult` run it
//! through the task query, extended on POST by the query in the body (its fields win).

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value as J, json};

use super::error::{ApiError, ApiResult};
use super::json::{Json, no_content};
use super::query::{Params, QueryInput, eq_opt, like_opt, sort_and_page};
use super::{ApiState, BaseUrl, Route, dto};
use crate::engine::authorizations::Resource;
use crate::store::tasklist::Filter;

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::get("/filter", "List filters", list),
        Route::get("/filter/count", "Count filters", count),
        Route::post("/filter/create", "Create a filter", create),
        Route::get("/filter/{id}", "Get a filter", get_one),
        Route::put("/filter/{id}", "Update a filter", update),
        Route::delete("/filter/{id}", "Delete a filter", delete),
        Route::get("/filter/{id}/list", "Run a filter", run_list),
        Route::post("/filter/{id}/list", "Run a filter, extended", run_list),
        Route::get("/filter/{id}/count", "Count a filter's results", run_count),
        Route::post(
            "/filter/{id}/count",
            "Count a filter's results, extended",
            run_count,
        ),
        Route::get(
            "/filter/{id}/singleResult",
            "A filter's single result",
            run_single,
        ),
        Route::post(
            "/filter/{id}/singleResult",
            "A filter's single result, extended",
            run_single,
        ),
    ]
}

/// The only resource type baton's filters query (Camunda's `EntityTypes.TASK`).
const TASK: &str = "Task";

fn parse_json(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

fn filter_dto(f: &Filter, item_count: Option<usize>) -> J {
    let mut v = json!({
        "id": f.id,
        "resourceType": f.resource_type,
        "name": f.name,
        "owner": f.owner,
        "query": parse_json(&f.query),
        "properties": parse_json(&f.properties),
    });
    if let (Some(n), Some(o)) = (item_count, v.as_object_mut()) {
        o.insert("itemCount".into(), json!(n));
    }
    v
}

async fn filtered(state: &ApiState, q: &QueryInput) -> ApiResult<Vec<Filter>> {
    let id = q.str("filterId");
    let kind = q.str("resourceType");
    let name = q.str("name");
    let name_like = q.like("nameLike");
    let owner = q.str("owner");
    Ok(state
        .engine
        .filters()
        .await?
        .into_iter()
        .take_while(super::query::not_cancelled)
        .filter(|f| {
            eq_opt(&id, Some(&f.id))
                && eq_opt(&kind, Some(&f.resource_type))
                && eq_opt(&name, Some(&f.name))
                && like_opt(&name_like, Some(&f.name))
                && eq_opt(&owner, f.owner.as_deref())
                && super::authz::sees::identity(Resource::FILTER, &f.id)
        })
        .collect())
}

async fn list(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    let sorts = q.sorting(&["filterId", "resourceType", "name", "owner"])?;
    let page = q.pagination()?;
    let item_count = q.flag("itemCount")?;
    let items = filtered(&state, &q).await?;
    let page = sort_and_page(items, &sorts, page, |a, b, by| match by {
        "filterId" => a.id.cmp(&b.id),
        "resourceType" => a.resource_type.cmp(&b.resource_type),
        "name" => a.name.cmp(&b.name),
        "owner" => a.owner.cmp(&b.owner),
        _ => Ordering::Equal,
    })?;
    let mut out = Vec::with_capacity(page.len());
    for f in &page {
        let n = if item_count {
            Some(super::task::count_matching(&state, &stored_query(f, &J::Null)?).await?)
        } else {
            None
        };
        out.push(filter_dto(f, n));
    }
    Ok(Json(J::Array(out)))
}

async fn count(State(state): State<ApiState>, Params(q): Params) -> ApiResult<Json<J>> {
    Ok(Json(dto::count(filtered(&state, &q).await?.len())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct FilterBody {
    resource_type: Option<String>,
    name: Option<String>,
    owner: Option<String>,
    query: Option<J>,
    properties: Option<J>,
}

/// The filter a body describes (`id` is kept); Camunda's texts for what it refuses.
fn from_body(id: String, b: FilterBody, action: &str) -> ApiResult<Filter> {
    let resource_type = b.resource_type.unwrap_or_default();
    if resource_type != TASK {
        return Err(ApiError::invalid(format!(
            "Unable to {action} filter with invalid resource type '{resource_type}'"
        )));
    }
    let invalid = || ApiError::invalid(format!("Unable to {action} filter with invalid content"));
    let name = b.name.filter(|n| !n.is_empty()).ok_or_else(invalid)?;
    let query = match b.query {
        None | Some(J::Null) => J::Object(Map::new()),
        Some(q @ J::Object(_)) => q,
        Some(_) => return Err(invalid()),
    };
    let properties = match b.properties {
        None | Some(J::Null) => J::Object(Map::new()),
        Some(p @ J::Object(_)) => p,
        Some(_) => return Err(invalid()),
    };
    // The stored query must be one the task query accepts (checked now, not at each run).
    QueryInput::from_body(&query, &QueryInput::default())
        .sorting(super::task::SORT)
        .map_err(|_| invalid())?;
    Ok(Filter {
        id,
        resource_type,
        name,
        owner: b.owner,
        query: query.to_string(),
        properties: properties.to_string(),
    })
}

async fn create(
    State(state): State<ApiState>,
    base: BaseUrl,
    Json(b): Json<FilterBody>,
) -> ApiResult<Json<J>> {
    let filter = from_body(uuid::Uuid::now_v7().to_string(), b, "create")?;
    state.engine.save_filter(&filter).await?;
    let mut dto = filter_dto(&filter, None);
    if let Some(o) = dto.as_object_mut() {
        o.insert(
            "links".into(),
            base.self_link(&format!("/filter/{}", filter.id)),
        );
    }
    Ok(Json(dto))
}

async fn get_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(q): Params,
) -> ApiResult<Json<J>> {
    let f = state.engine.filter(&id).await?;
    let n = if q.flag("itemCount")? {
        Some(super::task::count_matching(&state, &stored_query(&f, &J::Null)?).await?)
    } else {
        None
    };
    Ok(Json(filter_dto(&f, n)))
}

async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(b): Json<FilterBody>,
) -> ApiResult<Response> {
    state.engine.filter(&id).await?;
    let filter = from_body(id, b, "update")?;
    state.engine.save_filter(&filter).await?;
    Ok(no_content())
}

async fn delete(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    state.engine.delete_filter(&id).await?;
    Ok(no_content())
}

/// The filter's query extended by `extending` (a JSON object; its fields win), with the
/// paging of `params`.
fn merged_query(f: &Filter, extending: &J, params: &QueryInput) -> ApiResult<QueryInput> {
    let mut fields = match parse_json(&f.query) {
        J::Object(o) => o,
        _ => Map::new(),
    };
    match extending {
        J::Object(o) => fields.extend(o.iter().map(|(k, v)| (k.clone(), v.clone()))),
        J::Null => {}
        _ => {
            return Err(ApiError::invalid(
                "Filter cannot be extended by an invalid query",
            ));
        }
    }
    Ok(QueryInput::from_body(&J::Object(fields), params))
}

fn stored_query(f: &Filter, extending: &J) -> ApiResult<QueryInput> {
    merged_query(f, extending, &QueryInput::default())
}

/// The extending query of a request: the POST body (blank or `{}` extends nothing); a GET
/// body is ignored, as everywhere in the API.
fn extending(method: &Method, body: &Bytes) -> ApiResult<J> {
    if method == Method::POST {
        super::json::parse_body(body)
    } else {
        Ok(J::Null)
    }
}

/// The filter's query extended by `body`.
async fn run_input(
    state: &ApiState,
    id: &str,
    params: &QueryInput,
    body: J,
) -> ApiResult<QueryInput> {
    let f = state.engine.filter(id).await?;
    merged_query(&f, &body, params)
}

async fn run_list(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Params(params): Params,
    method: Method,
    body: Bytes,
) -> ApiResult<Json<J>> {
    let q = run_input(&state, &id, &params, extending(&method, &body)?).await?;
    let tasks = super::task::query(&state, &q).await?;
    Ok(Json(J::Array(tasks.iter().map(dto::user_task).collect())))
}

async fn run_count(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    method: Method,
    body: Bytes,
) -> ApiResult<Json<J>> {
    let q = run_input(
        &state,
        &id,
        &QueryInput::default(),
        extending(&method, &body)?,
    )
    .await?;
    Ok(Json(dto::count(
        super::task::count_matching(&state, &q).await?,
    )))
}

/// One task, 204 when none, and Camunda's 400 when the filter selects several.
async fn run_single(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    method: Method,
    body: Bytes,
) -> ApiResult<Response> {
    // Two rows are enough to tell one from several.
    let paging = QueryInput::from_pairs(vec![
        ("firstResult".into(), "0".into()),
        ("maxResults".into(), "2".into()),
    ]);
    let q = run_input(&state, &id, &paging, extending(&method, &body)?).await?;
    let tasks = super::task::query(&state, &q).await?;
    match tasks.as_slice() {
        [] => Ok(StatusCode::NO_CONTENT.into_response()),
        [one] => Ok(Json(dto::user_task(one)).into_response()),
        _ => Err(ApiError::invalid(
            "Filter does not returns a valid single result",
        )),
    }
}
