//! `GET /engine-rest/openapi.json`: an OpenAPI 3.0 document of exactly what baton serves,
//! generated from the same route table the router is built from ([`super::routes`]), so the
//! two cannot drift. Schemas are deliberately loose (like Camunda's own spec): the document
//! names every path, method and path parameter, and the error shape.

use serde_json::{Map, Value as J, json};

use super::Route;
use super::engine_info::CAMUNDA_VERSION;
use super::json::Json;

pub(crate) fn routes() -> Vec<Route> {
    vec![Route::get("/openapi.json", "This OpenAPI document", serve)]
}

async fn serve() -> Json<J> {
    Json(document())
}

/// Path parameter names of an axum path (`/a/{id}/b/{name}` → `[id, name]`).
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The tag of a path: its first segment (`/external-task/{id}` → `external-task`), or its
/// first two for `/history/...`.
pub fn tag(path: &str) -> String {
    let mut segs = path.trim_start_matches('/').split('/');
    let first = segs.next().unwrap_or("");
    if first == "history" {
        format!("history/{}", segs.next().unwrap_or(""))
    } else {
        first.trim_end_matches(".json").to_owned()
    }
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        let mut upper = true;
        for c in seg.chars() {
            if c.is_ascii_alphanumeric() {
                if upper {
                    id.extend(c.to_uppercase());
                } else {
                    id.push(c);
                }
                upper = false;
            } else {
                upper = true;
            }
        }
    }
    id
}

/// The document.
pub fn document() -> J {
    let mut paths: Map<String, J> = Map::new();
    for r in super::routes() {
        let method = r.method.as_str().to_ascii_lowercase();
        let params: Vec<J> = path_params(r.path)
            .into_iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "operationId": operation_id(&method, r.path),
            "summary": r.summary,
            "tags": [tag(r.path)],
            "parameters": params,
            "responses": {
                "200": {"description": "Success (JSON or raw content)"},
                "204": {"description": "Success, no content"},
                "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExceptionDto"}}}}
            }
        });
        if matches!(method.as_str(), "post" | "put") {
            let content = if r.upload {
                json!({"multipart/form-data": {"schema": {"type": "object"}}, "application/wasm": {"schema": {"type": "string", "format": "binary"}}})
            } else {
                json!({"application/json": {"schema": {"type": "object"}}})
            };
            if let Some(o) = op.as_object_mut() {
                o.insert(
                    "requestBody".into(),
                    json!({"required": false, "content": content}),
                );
            }
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(method, op);
        }
    }
    json!({
        "openapi": "3.0.2",
        "info": {
            "title": "baton REST API (Camunda 7 engine-rest compatible)",
            "version": CAMUNDA_VERSION,
            "description": "The subset of Camunda 7's engine-rest that baton implements, plus baton's task-module endpoints."
        },
        "servers": [
            {"url": "http://{host}:{port}/engine-rest", "variables": {"host": {"default": "localhost"}, "port": {"default": "8080"}}},
            {"url": "http://{host}:{port}/engine-rest/engine/default", "variables": {"host": {"default": "localhost"}, "port": {"default": "8080"}}}
        ],
        "paths": paths,
        "components": {"schemas": {"ExceptionDto": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "code": {"type": "integer", "nullable": true}
            }
        }}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(path_params("/a/{id}/b/{name}"), vec!["id", "name"]);
        assert_eq!(tag("/external-task/{id}"), "external-task");
        assert_eq!(tag("/history/process-instance"), "history/process-instance");
        assert_eq!(
            operation_id("post", "/external-task/{id}/complete"),
            "postExternalTaskIdComplete"
        );
    }

    #[test]
    fn document_lists_every_route() {
        let doc = document();
        for r in crate::api::routes() {
            let m = r.method.as_str().to_ascii_lowercase();
            assert!(doc["paths"][r.path][&m].is_object(), "{m} {}", r.path);
        }
    }
}
