//! The cockpit: a browser UI to watch and operate processes, served by `baton serve` at `/`.
//!
//! One small single-page app (plain HTML, one vanilla JS module, one CSS file) embedded in the
//! binary with `include_str!`: no CDN, no fonts, no npm step in the build. It calls the
//! Camunda REST API (`/engine-rest/...`, same origin) for everything it changes, listens to
//! the live event stream ([`events`], `GET /engine-rest/events`) to refresh, and reads a few
//! aggregated views that the REST API does not have from `/cockpit/api/...` (this module):
//!
//! | route | what |
//! |---|---|
//! | `GET /` , `/cockpit/app.js`, `/cockpit/app.css`, `/cockpit/favicon.svg` | the app |
//! | `GET /cockpit/api/overview` | definitions with running instances, incidents, user tasks |
//! | `GET /cockpit/api/definition/{id}/diagram.svg` | the BPMN diagram drawn from BPMNDI ([`svg`]) |
//! | `GET /cockpit/api/definition/{id}/stats` | tokens and incidents per activity |
//! | `GET /cockpit/api/definition/{id}/instances` | instances, running and ended, filtered |
//! | `GET /cockpit/api/instance/{id}/state` | active tokens, completed activities, flows taken |
//! | `GET /cockpit/api/topics` | per topic: waiting/locked tasks, locks, module, wasm times, incidents |
//! | `GET /cockpit/api/task/{id}/form` | the `camunda:formData` fields of a user task, with values |
//! | `GET /cockpit/api/decisions` | the latest version of every decision ([`decisions`]) |
//! | `GET /cockpit/api/decision/{id}` | a decision as a table; `?decisionInstanceId=` marks the rules one evaluation matched |
//! | `GET /cockpit/api/instance/{id}/decisions` | the decisions a process instance evaluated |
//! | `GET /metrics` | Prometheus text ([`metrics`]) |
//!
//! Read-only: this module never mutates the engine; the pages do that through the REST API.
//! When basic auth is on, every route here requires it ([`auth`]).

pub mod auth;
pub mod decisions;
pub mod events;
pub mod metrics;
pub mod svg;
mod views;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::engine::ProcessEngine;

/// State of the cockpit handlers.
#[derive(Clone)]
pub struct CockpitState {
    /// The engine.
    pub engine: ProcessEngine,
    /// Require basic auth on every cockpit route.
    pub auth: bool,
}

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// The cockpit pages, their JSON views, the SSE stream and `/metrics`, with auth applied.
pub fn router(engine: ProcessEngine, auth: bool) -> Router {
    let state = CockpitState { engine, auth };
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/cockpit/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/cockpit/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/cockpit/favicon.svg",
            get(|| async { asset("image/svg+xml", FAVICON_SVG) }),
        )
        .route("/cockpit/api/overview", get(views::overview))
        .route(
            "/cockpit/api/definition/{id}/diagram.svg",
            get(views::diagram_svg),
        )
        .route(
            "/cockpit/api/definition/{id}/stats",
            get(views::definition_stats),
        )
        .route(
            "/cockpit/api/definition/{id}/instances",
            get(views::definition_instances),
        )
        .route(
            "/cockpit/api/instance/{id}/state",
            get(views::instance_state),
        )
        .route("/cockpit/api/topics", get(views::topics))
        .route("/cockpit/api/task/{id}/form", get(views::task_form))
        .route("/cockpit/api/decisions", get(decisions::decision_list))
        .route("/cockpit/api/decision/{id}", get(decisions::decision_table))
        .route(
            "/cockpit/api/instance/{id}/decisions",
            get(decisions::instance_decisions),
        )
        .route("/engine-rest/events", get(events::stream))
        .route("/metrics", get(metrics::handler))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::middleware,
        ))
        .with_state(state)
}

/// An embedded asset. `no-cache` (revalidate every load) keeps an upgraded binary's pages in
/// step with its API; the files are small.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;

    /// Serve `app` on 127.0.0.1:0 until the handle is aborted.
    pub(crate) async fn serve(app: Router) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, server)
    }

    /// Serve `app` on 127.0.0.1:0 and answer one request through a real connection (tower's
    /// `ServiceExt::oneshot` would need tower as a dependency; a real socket tests more).
    pub(crate) async fn oneshot(app: Router, req: Request<Body>) -> Response {
        let (addr, server) = serve(app).await;
        let client = reqwest::Client::new();
        let (parts, _) = req.into_parts();
        let mut rb = client.request(parts.method, format!("http://{addr}{}", parts.uri));
        for (k, v) in &parts.headers {
            rb = rb.header(k, v);
        }
        let resp = rb.send().await.expect("request");
        let mut out = Response::builder().status(resp.status());
        for (k, v) in resp.headers() {
            out = out.header(k, v);
        }
        let bytes = resp.bytes().await.expect("body");
        server.abort();
        out.body(Body::from(bytes)).expect("response")
    }

    pub(crate) async fn engine() -> (ProcessEngine, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = crate::engine::EngineConfig::new(dir.path().to_path_buf());
        let engine = ProcessEngine::open(cfg).await.expect("engine");
        (engine, dir)
    }

    /// Deploy the cockpit's order fixture (tests/cockpit/fixtures/order.bpmn).
    pub(crate) async fn deploy_order(engine: &ProcessEngine) -> crate::engine::DeployResult {
        let xml = include_str!("../../../tests/cockpit/fixtures/order.bpmn");
        engine
            .deploy(crate::engine::DeployRequest {
                name: Some("t".into()),
                resources: vec![crate::engine::Resource {
                    name: "order.bpmn".into(),
                    bytes: xml.as_bytes().to_vec(),
                }],
                ..Default::default()
            })
            .await
            .expect("deploy")
    }

    pub(crate) async fn body_text(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn pages_and_assets_are_served_from_memory() {
        let (engine, _dir) = engine().await;
        let app = router(engine.clone(), false);
        for (path, ct) in [
            ("/", "text/html"),
            ("/cockpit/app.js", "text/javascript"),
            ("/cockpit/app.css", "text/css"),
            ("/cockpit/favicon.svg", "image/svg+xml"),
        ] {
            let r = oneshot(
                app.clone(),
                Request::get(path).body(Body::empty()).expect("req"),
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let got = r
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            assert!(got.starts_with(ct), "{path}: {got}");
        }
        engine.shutdown().await.expect("shutdown");
    }

    #[tokio::test]
    async fn diagram_svg_for_a_deployed_definition() {
        let (engine, _dir) = engine().await;
        let def = deploy_order(&engine)
            .await
            .deployed_process_definitions
            .and_then(|d| d.into_iter().next())
            .expect("definition");
        let app = router(engine.clone(), false);
        let r = oneshot(
            app.clone(),
            Request::get(format!("/cockpit/api/definition/{}/diagram.svg", def.id))
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let svg = body_text(r).await;
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("data-element-id=\"check_stock\""));
        let r = oneshot(
            app.clone(),
            Request::get("/cockpit/api/definition/nope/diagram.svg")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Start an instance: the stats and the instance state show the token.
        let started = engine
            .start_instance(
                crate::engine::DefinitionRef::Id(def.id.clone()),
                crate::engine::StartRequest::default(),
            )
            .await
            .expect("start");
        let r = oneshot(
            app.clone(),
            Request::get(format!("/cockpit/api/definition/{}/stats", def.id))
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        let stats: serde_json::Value = serde_json::from_str(&body_text(r).await).expect("json");
        assert_eq!(stats["activities"]["check_stock"]["tokens"], 1);
        let r = oneshot(
            app.clone(),
            Request::get(format!(
                "/cockpit/api/instance/{}/state",
                started.instance.id()
            ))
            .body(Body::empty())
            .expect("req"),
        )
        .await;
        let st: serde_json::Value = serde_json::from_str(&body_text(r).await).expect("json");
        assert_eq!(st["active"]["check_stock"], 1);
        assert!(
            st["completed"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "received"))
        );
        assert!(
            st["flows"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "f_received_check"))
        );
        let r = oneshot(
            app.clone(),
            Request::get("/cockpit/api/topics")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        let topics: serde_json::Value = serde_json::from_str(&body_text(r).await).expect("json");
        assert_eq!(topics[0]["topic"], "check-stock");
        assert_eq!(topics[0]["waiting"], 1);
        engine.shutdown().await.expect("shutdown");
    }

    #[tokio::test]
    async fn auth_protects_pages_metrics_and_events() {
        let (engine, _dir) = engine().await;
        engine
            .create_user(
                crate::records::User {
                    id: "demo".into(),
                    first_name: None,
                    last_name: None,
                    email: None,
                    password_hash: None,
                    groups: vec![],
                },
                Some("secret".into()),
            )
            .await
            .expect("user");
        let app = router(engine.clone(), true);
        for path in [
            "/",
            "/metrics",
            "/engine-rest/events",
            "/cockpit/api/overview",
        ] {
            let r = oneshot(
                app.clone(),
                Request::get(path).body(Body::empty()).expect("req"),
            )
            .await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
            assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        }
        let bad = oneshot(
            app.clone(),
            Request::get("/metrics")
                .header(header::AUTHORIZATION, "Basic ZGVtbzp3cm9uZw==")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        let metrics = || {
            Request::get("/metrics")
                .header(header::AUTHORIZATION, "Basic ZGVtbzpzZWNyZXQ=")
                .body(Body::empty())
                .expect("req")
        };
        // Authenticated, but without authorizations: the whole-engine views are refused.
        let denied = oneshot(app.clone(), metrics()).await;
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        let admin = crate::engine::authorizations::ADMIN_GROUP;
        engine
            .create_group(crate::records::Group {
                id: admin.to_owned(),
                name: None,
                group_type: None,
            })
            .await
            .expect("admin group");
        engine.add_group_member(admin, "demo").await.expect("admin");
        let ok = oneshot(
            app.clone(),
            Request::get("/metrics")
                .header(header::AUTHORIZATION, "Basic ZGVtbzpzZWNyZXQ=")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
        engine.shutdown().await.expect("shutdown");
    }
}
