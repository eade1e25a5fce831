//! Queries that stay safe (issue 14): `*Like` filters in linear time over HTTP, the list cap
//! (`maxResults` above it, or an unbounded list larger than it, is refused in Camunda's words),
//! and the request guard (a request past its time limit is answered 503 in Camunda's error
//! shape, and its handler stops).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use baton::api::ApiConfig;
use baton::api::guard::{self, RequestLimits};
use reqwest::StatusCode;
use serde_json::json;

use crate::api_rest::Api;

/// Three running instances (they wait at an external task) whose business keys are 41 `a`s
/// plus a suffix: the values of the report that took 54 s with a backtracking matcher.
async fn three_waiting_instances(api: &Api) {
    api.deploy("one", &baton_tests::bpmn::one_task("one", "work"))
        .await;
    for suffix in ["", "x", "y"] {
        let key = format!("{}{suffix}", "a".repeat(41));
        let (s, b) = api
            .post(
                "/process-definition/key/one/start",
                json!({ "businessKey": key }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn like_filters_answer_the_backtracking_pattern_at_once() {
    let api = Api::default().await;
    three_waiting_instances(&api).await;
    // 12 wildcards did not answer in 300 s before; it must now answer (no time is asserted:
    // the client's own 60 s timeout is the bound, and it is far away).
    let evil = format!("{}b", "%a".repeat(12));
    let (s, b) = api
        .get(&format!("/process-instance?businessKeyLike={evil}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b, json!([]));
    let (s, b) = api
        .get(&format!("/process-instance/count?businessKeyLike={evil}"))
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!({"count": 0})));
    // The same shape that does match: every key has at least 12 `a`s.
    let (s, b) = api
        .get(&format!(
            "/process-instance/count?businessKeyLike={}%25",
            "%25a".repeat(12)
        ))
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!({"count": 3})));
    // `_` is one character; an escaped `\_` is a literal underscore.
    let (_, b) = api
        .get(&format!(
            "/process-instance/count?businessKeyLike={}_",
            "a".repeat(41)
        ))
        .await;
    assert_eq!(b, json!({"count": 2}));
    let (_, b) = api
        .get("/process-instance/count?businessKeyLike=%25%5C_%25")
        .await;
    assert_eq!(b, json!({"count": 0}));
    // The history resource filters the same way.
    let (_, b) = api
        .get(&format!(
            "/history/process-instance/count?processInstanceBusinessKeyLike={evil}"
        ))
        .await;
    assert_eq!(b, json!({"count": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_queries_are_capped() {
    let api = Api::start(ApiConfig {
        limits: RequestLimits {
            max_results: 2,
            ..RequestLimits::default()
        },
        ..ApiConfig::default()
    })
    .await;
    three_waiting_instances(&api).await;
    let (s, b) = api.get("/process-instance?maxResults=3").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], json!("BadUserRequestException"));
    assert_eq!(b["message"], json!("Max results limit of 2 exceeded!"));
    let (s, b) = api.get("/process-instance").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        b["message"],
        json!("An unbound number of results is forbidden!")
    );
    // Paging through works, and counts are not lists.
    let (s, b) = api.get("/process-instance?maxResults=2").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b.as_array().map(Vec::len), Some(2));
    let (_, b) = api
        .get("/process-instance?firstResult=2&maxResults=2")
        .await;
    assert_eq!(b.as_array().map(Vec::len), Some(1));
    let (_, b) = api.get("/process-instance/count").await;
    assert_eq!(b, json!({"count": 3}));
    // An unbounded list within the cap is answered in full.
    let (s, b) = api.get("/external-task?topicName=none").await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));
}

/// A router with only the guard and one handler, served on 127.0.0.1:0.
async fn guarded(
    limits: RequestLimits,
    handler: axum::routing::MethodRouter,
) -> (String, tokio::task::JoinHandle<()>) {
    let app =
        axum::Router::new()
            .route("/slow", handler)
            .layer(axum::middleware::from_fn_with_state(
                limits,
                guard::middleware,
            ));
    let (addr, server) = crate::api_rest::serve_on_loopback(app).await;
    (format!("http://{addr}/slow"), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_limit_is_answered_503_and_its_loop_stops() {
    let limits = RequestLimits {
        timeout: Some(Duration::from_millis(200)),
        ..RequestLimits::default()
    };
    let stopped = Arc::new(AtomicBool::new(false));
    let seen = stopped.clone();
    // A handler that burns CPU in a synchronous loop over "records" and never yields: only
    // the guard's own deadline check can end it.
    let handler = axum::routing::get(move || {
        let stopped = seen.clone();
        async move {
            let mut n = 0u64;
            while guard::check().is_ok() {
                n = n.wrapping_add(1);
            }
            stopped.store(true, Ordering::SeqCst);
            n.to_string()
        }
    });
    let (url, server) = guarded(limits, handler).await;
    let r = reqwest::get(&url).await.expect("request");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["type"], json!("RestException"));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("200 ms")),
        "{body}"
    );
    // The loop ended by itself (bounded wait: it stops at the deadline, before the answer).
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped.load(Ordering::SeqCst), "the handler kept running");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_cancels_its_request() {
    let limits = RequestLimits {
        timeout: None,
        ..RequestLimits::default()
    };
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
    let ended_tx = Arc::new(std::sync::Mutex::new(Some(ended_tx)));
    // A handler that runs until its request is cancelled, checking between chunks of work
    // (yielding so the runtime can notice the disconnect).
    let handler = axum::routing::get(move || {
        let started = started_tx.lock().ok().and_then(|mut s| s.take());
        let ended = ended_tx.lock().ok().and_then(|mut s| s.take());
        async move {
            if let Some(s) = started {
                let _ = s.send(());
            }
            struct Ended(Option<tokio::sync::oneshot::Sender<()>>);
            impl Drop for Ended {
                fn drop(&mut self) {
                    if let Some(e) = self.0.take() {
                        let _ = e.send(());
                    }
                }
            }
            let _ended = Ended(ended);
            while guard::check().is_ok() {
                tokio::task::yield_now().await;
            }
            "cancelled"
        }
    });
    let (url, server) = guarded(limits, handler).await;
    let client = reqwest::Client::new();
    let request = tokio::spawn(async move { client.get(&url).send().await });
    started_rx.await.expect("handler started");
    // The client gives up: its connection closes.
    request.abort();
    tokio::time::timeout(Duration::from_secs(10), ended_rx)
        .await
        .expect("the handler stopped once its client was gone")
        .expect("ended");
    server.abort();
}
