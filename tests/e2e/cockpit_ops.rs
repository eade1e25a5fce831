//! The cockpit's operational plumbing through the real HTTP server (issue 18, points 6 and 7):
//! the event stream's `id:` lines and the resume with `Last-Event-ID`, the embedded assets
//! gzip-compressed with strong ETags and `304 Not Modified`, and the `/metrics` counters
//! (external task failures, BPMN errors, incidents by type, job runs) and per-route latency
//! histograms labelled with route templates.

use std::time::Duration;

use baton_tests::TestServer;
use baton_tests::bpmn::definitions;
use serde_json::json;

/// An external task, then an async gateway whose conditions read a variable nobody set (its
/// job fails).
fn model() -> String {
    definitions(
        "ops",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="ops-work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" camunda:asyncBefore="true" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &gt; 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="end2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${missing &lt;= 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="end2" />"#,
    )
}

/// Read SSE text from `resp` until it holds `n` complete messages (blank-line separated).
async fn read_messages(resp: &mut reqwest::Response, n: usize) -> Vec<String> {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msgs: Vec<String> = text
            .split("\n\n")
            .filter(|m| m.lines().any(|l| l.starts_with("data:")))
            .map(str::to_owned)
            .collect();
        // The last piece may be incomplete until its blank line arrives.
        let complete = if text.ends_with("\n\n") {
            msgs.len()
        } else {
            msgs.len().saturating_sub(1)
        };
        if complete >= n {
            return msgs.into_iter().take(n).collect();
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("events in time")
            .expect("chunk")
            .expect("stream open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn field<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_events_carry_ids_and_a_reconnecting_client_gets_the_events_it_missed() {
    let t = TestServer::start().await.expect("server");
    let url = format!("http://{}/engine-rest/events", t.addr);
    let http = reqwest::Client::new();
    let mut first = http.get(&url).send().await.expect("connect");
    assert_eq!(first.status(), 200);
    t.client.deploy("a", &model()).await.expect("deploy a");
    let seen = read_messages(&mut first, 1).await;
    let id = field(&seen[0], "id").expect("an id: line").to_owned();
    assert_eq!(field(&seen[0], "event"), Some("deploymentCreated"));
    let (epoch, n) = id.split_once('-').expect("epoch-n");
    assert!(
        epoch.parse::<u64>().is_ok() && n.parse::<u64>().is_ok(),
        "{id}"
    );
    drop(first);

    // While the client is away: two more deployments.
    let b = t.client.deploy("b", &model()).await.expect("deploy b");
    let c = t.client.deploy("c", &model()).await.expect("deploy c");
    let mut again = http
        .get(&url)
        .header("Last-Event-ID", &id)
        .send()
        .await
        .expect("reconnect");
    let missed = read_messages(&mut again, 2).await;
    let n: u64 = n.parse().expect("n");
    for (k, (msg, dep)) in missed.iter().zip([&b, &c]).enumerate() {
        assert_eq!(field(msg, "event"), Some("deploymentCreated"), "{msg}");
        assert_eq!(
            field(msg, "id"),
            Some(format!("{epoch}-{}", n + 1 + k as u64).as_str())
        );
        assert!(
            msg.contains(dep["id"].as_str().expect("deployment id")),
            "{msg}"
        );
    }
    // And then the live events, numbered on.
    t.client.deploy("d", &model()).await.expect("deploy d");
    let live = read_messages(&mut again, 1).await;
    assert_eq!(
        field(&live[0], "id"),
        Some(format!("{epoch}-{}", n + 3).as_str())
    );
    drop(again);

    // An id from another engine run cannot be placed: one `lagged` event says so.
    let mut stale = http
        .get(&url)
        .header("Last-Event-ID", "1-5")
        .send()
        .await
        .expect("reconnect");
    t.client.deploy("e", &model()).await.expect("deploy e");
    let got = read_messages(&mut stale, 2).await;
    assert_eq!(field(&got[0], "event"), Some("lagged"), "{got:?}");
    let data: serde_json::Value =
        serde_json::from_str(field(&got[0], "data").expect("data")).expect("json");
    assert_eq!(data, json!({"type": "lagged", "missed": null}));
    assert_eq!(field(&got[1], "event"), Some("deploymentCreated"));
    drop(stale);
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_away_longer_than_the_journal_reaches_is_told_how_many_events_it_lost() {
    let t = TestServer::start().await.expect("server");
    let url = format!("http://{}/engine-rest/events", t.addr);
    let http = reqwest::Client::new();
    let mut first = http.get(&url).send().await.expect("connect");
    let straight = definitions(
        "straight",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    t.client.deploy("s", &straight).await.expect("deploy");
    let seen = read_messages(&mut first, 1).await;
    let id = field(&seen[0], "id").expect("id").to_owned();
    let (epoch, n) = id.split_once('-').expect("epoch-n");
    let n: u64 = n.parse().expect("n");
    drop(first);
    // 300 instances of start -> end: six events each, more than the journal keeps.
    for _ in 0..300 {
        t.client.start("straight", json!({})).await.expect("start");
    }
    let mut again = http
        .get(&url)
        .header("Last-Event-ID", &id)
        .send()
        .await
        .expect("reconnect");
    let got = read_messages(&mut again, 2).await;
    assert_eq!(field(&got[0], "event"), Some("lagged"), "{got:?}");
    let data: serde_json::Value =
        serde_json::from_str(field(&got[0], "data").expect("data")).expect("json");
    let missed = data["missed"].as_u64().expect("a count");
    // The replay starts right after the lost ones and the journal holds exactly 1024.
    let next: u64 = field(&got[1], "id")
        .and_then(|i| i.strip_prefix(&format!("{epoch}-")))
        .and_then(|i| i.parse().ok())
        .expect("numbered");
    assert_eq!(next, n + missed + 1);
    let last = t.engine.event_epoch();
    assert_eq!(last.to_string(), epoch);
    let total = 300 * 6;
    assert_eq!(
        missed + baton::engine::EVENT_JOURNAL_SIZE as u64,
        total,
        "{missed} lost of {total}"
    );
    drop(again);
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_compressed_with_strong_etags_and_answer_304_when_unchanged() {
    let t = TestServer::start().await.expect("server");
    let http = reqwest::Client::new();
    for path in ["/", "/cockpit/app.js", "/cockpit/app.css"] {
        let url = format!("http://{}{path}", t.addr);
        let plain = http.get(&url).send().await.expect("plain");
        assert_eq!(plain.status(), 200);
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain_tag = plain.headers()["etag"].to_str().expect("etag").to_owned();
        let plain_len = plain.bytes().await.expect("body").len();

        let gz = http
            .get(&url)
            .header("Accept-Encoding", "gzip, deflate")
            .send()
            .await
            .expect("gzip");
        assert_eq!(gz.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(gz.headers()["vary"], "Accept-Encoding");
        let tag = gz.headers()["etag"].to_str().expect("etag").to_owned();
        assert!(
            tag.starts_with('"') && !tag.starts_with("W/"),
            "strong: {tag}"
        );
        assert_ne!(tag, plain_tag, "one tag per representation");
        let body = gz.bytes().await.expect("body");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{path}: gzip magic");
        if path == "/cockpit/app.js" {
            assert!(
                body.len() * 3 < plain_len,
                "app.js {plain_len} B -> {} B gzip",
                body.len()
            );
            println!("app.js: {plain_len} bytes, {} gzip", body.len());
        }

        // A browser that also takes brotli gets it: smaller, with a tag of its own.
        let br = http
            .get(&url)
            .header("Accept-Encoding", "gzip, deflate, br")
            .send()
            .await
            .expect("br");
        assert_eq!(br.headers()["content-encoding"], "br", "{path}");
        let br_tag = br.headers()["etag"].to_str().expect("etag").to_owned();
        assert!(br_tag != tag && br_tag != plain_tag, "{br_tag}");
        let br_body = br.bytes().await.expect("body");
        assert!(
            br_body.len() < body.len(),
            "{path}: br {} B, gzip {} B",
            br_body.len(),
            body.len()
        );
        println!(
            "{path}: {plain_len} bytes, {} gzip, {} br",
            body.len(),
            br_body.len()
        );

        let again = http
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .header("If-None-Match", &tag)
            .send()
            .await
            .expect("revalidate");
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().expect("etag"), tag);
        assert!(again.bytes().await.expect("body").is_empty());
        let changed = http
            .get(&url)
            .header("If-None-Match", "\"0123\"")
            .send()
            .await
            .expect("other tag");
        assert_eq!(changed.status(), 200);
    }
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_failures_bpmn_errors_incidents_jobs_and_time_each_route() {
    let t = TestServer::start().await.expect("server");
    t.client.deploy("ops", &model()).await.expect("deploy");
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(t.client.start("ops", json!({})).await.expect("start"));
    }
    let fetch = || async {
        let r = t
            .client
            .post(
                "/external-task/fetchAndLock",
                &json!({"workerId": "w", "maxTasks": 1,
                        "topics": [{"topicName": "ops-work", "lockDuration": 60000}]}),
            )
            .await
            .expect("fetch");
        r.body[0]["id"].as_str().expect("a task").to_owned()
    };
    // Two failures of one task (the second leaves no retries: an incident).
    let a = fetch().await;
    for retries in [1, 0] {
        let r = t
            .client
            .post(
                &format!("/external-task/{a}/failure"),
                &json!({"workerId": "w", "errorMessage": "down", "retries": retries, "retryTimeout": 0}),
            )
            .await
            .expect("failure");
        assert_eq!(r.status, 204, "{:?}", r.body);
        if retries == 1 {
            let r = t
                .client
                .post(
                    &format!("/external-task/{a}/lock"),
                    &json!({"workerId": "w", "lockDuration": 60000}),
                )
                .await
                .expect("lock again");
            assert_eq!(r.status, 204, "{:?}", r.body);
        }
    }
    // A BPMN error nothing catches (the instance ends, as Camunda 7 does by default); and a
    // completion whose gateway job then fails.
    let b = fetch().await;
    let r = t
        .client
        .post(
            &format!("/external-task/{b}/bpmnError"),
            &json!({"workerId": "w", "errorCode": "E1"}),
        )
        .await
        .expect("bpmnError");
    assert_eq!(r.status, 204, "{:?}", r.body);
    let c = fetch().await;
    let r = t
        .client
        .post(
            &format!("/external-task/{c}/complete"),
            &json!({"workerId": "w"}),
        )
        .await
        .expect("complete");
    assert_eq!(r.status, 204, "{:?}", r.body);
    // The scheduler runs the gateway's job at once (due now); wait for its failure.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while t.engine.metrics().job_failures == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the job ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let text = reqwest::get(format!("http://{}/metrics", t.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        "baton_external_task_failures_total 2",
        "baton_bpmn_errors_total 1",
        "baton_job_executions_total 1",
        "baton_job_failures_total 1",
        "baton_incidents_total{type=\"failedExternalTask\"} 1",
        "# TYPE baton_http_request_duration_seconds histogram",
        "baton_http_request_duration_seconds_count{method=\"POST\",route=\"/engine-rest/external-task/{id}/failure\"} 2",
        "baton_http_request_duration_seconds_count{method=\"POST\",route=\"/engine-rest/external-task/fetchAndLock\"} 3",
        "baton_http_request_duration_seconds_bucket{method=\"POST\",route=\"/engine-rest/external-task/{id}/failure\",le=\"+Inf\"} 2",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Route templates only: no task or instance id appears as a label.
    for id in [&a, &b, &c].into_iter().chain(instances.iter()) {
        assert!(!text.contains(id.as_str()), "raw path with {id} in labels");
    }
    // Buckets are cumulative and end at the count.
    let buckets: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("baton_http_request_duration_seconds_bucket{method=\"POST\",route=\"/engine-rest/external-task/{id}/failure\""))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 15);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    // Unknown paths share one label.
    let _ = reqwest::get(format!("http://{}/engine-rest/nope/123", t.addr)).await;
    let text = reqwest::get(format!("http://{}/metrics", t.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert!(!text.contains("/nope/123"));
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_list_pages_sorts_and_answers_bad_paging_with_camundas_error() {
    let t = TestServer::start().await.expect("server");
    let deployed = t.client.deploy("ops", &model()).await.expect("deploy");
    let def = deployed["deployedProcessDefinitions"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("definition");
    for k in 0..7 {
        t.client
            .post(
                "/process-definition/key/ops/start",
                &json!({"businessKey": format!("bk-{k}")}),
            )
            .await
            .expect("start");
    }
    let view = |query: &str| {
        let url = format!(
            "http://{}/cockpit/api/definition/{def}/instances?{query}",
            t.addr
        );
        async move {
            let r = reqwest::get(url).await.expect("view");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.expect("json");
            (status, body)
        }
    };
    let (s, page) = view("sortBy=businessKey&sortOrder=asc&firstResult=2&maxResults=3").await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 7);
    let keys: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["businessKey"].as_str())
        .collect();
    assert_eq!(keys, ["bk-2", "bk-3", "bk-4"]);
    let (_, capped) = view("maxResults=100000").await;
    assert_eq!(capped["maxResults"], 500);
    for (query, text) in [
        (
            "firstResult=abc",
            "Cannot set query parameter 'firstResult' to value 'abc'",
        ),
        (
            "maxResults=-1",
            "Cannot set query parameter 'maxResults' to value '-1'",
        ),
        (
            "sortBy=nope",
            "Cannot set query parameter 'sortBy' to value 'nope'",
        ),
    ] {
        let (s, body) = view(query).await;
        assert_eq!(s, 400, "{query}: {body}");
        assert_eq!(body["type"], "InvalidRequestException");
        assert_eq!(body["message"], text);
    }
    let r = reqwest::get(format!(
        "http://{}/cockpit/api/overview?maxResults=x",
        t.addr
    ))
    .await
    .expect("overview");
    assert_eq!(r.status(), 400);
    t.stop().await.expect("stop");
}
