//! Limits on what one client request may ask for (issue 20, point 5): variables per request,
//! the size of one variable value, `maxTasks` of fetchAndLock, long-polling requests per
//! worker id, resources per deployment, and the list cap on the identity lists. Each is
//! refused in Camunda's error shape and changes nothing.

use baton::api::ApiConfig;
use baton::api::guard::{ClientLimits, RequestLimits};
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

fn limited(client: ClientLimits, max_results: usize) -> ApiConfig {
    ApiConfig {
        limits: RequestLimits {
            max_results,
            client,
            ..RequestLimits::default()
        },
        ..ApiConfig::default()
    }
}

fn string_vars(n: usize, len: usize) -> J {
    let mut map = serde_json::Map::new();
    for i in 0..n {
        map.insert(
            format!("v{i}"),
            json!({"value": "x".repeat(len), "type": "String"}),
        );
    }
    J::Object(map)
}

fn assert_invalid(status: StatusCode, body: &J, message: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["type"], "InvalidRequestException", "{body}");
    let text = body["message"].as_str().unwrap_or_default();
    assert!(
        text.contains(message),
        "{text:?} should contain {message:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_variables_are_refused_and_start_nothing() {
    let client = ClientLimits {
        max_variables: 3,
        max_variable_bytes: 100,
        ..ClientLimits::default()
    };
    let api = Api::start(limited(client, 10_000)).await;
    api.deploy("one", &baton_tests::bpmn::one_task("one", "work"))
        .await;
    let start = "/process-definition/key/one/start";
    let (s, b) = api
        .post(start, json!({"variables": string_vars(4, 1)}))
        .await;
    assert_invalid(
        s,
        &b,
        "Too many variables: 4 in one request, the limit is 3",
    );
    let (s, b) = api
        .post(start, json!({"variables": string_vars(1, 101)}))
        .await;
    assert_invalid(
        s,
        &b,
        "Cannot set variable 'v0': the value is 101 bytes, more than the limit of 100 bytes per variable",
    );
    let json_value =
        json!({"big": {"value": format!("[\"{}\"]", "y".repeat(200)), "type": "Json"}});
    let (s, b) = api.post(start, json!({"variables": json_value})).await;
    assert_invalid(s, &b, "more than the limit of 100 bytes");
    let (_, n) = api.get("/process-instance/count").await;
    assert_eq!(n, json!({"count": 0}), "a refused start starts nothing");
    let (s, b) = api
        .post(start, json!({"variables": string_vars(3, 100)}))
        .await;
    assert_eq!(s, StatusCode::OK, "at the limits: {b}");
    // The same bounds hold when a worker completes a task.
    let (_, locked) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "work", "lockDuration": 10000}]}),
        )
        .await;
    let id = locked[0]["id"].as_str().expect("task").to_owned();
    let (s, b) = api
        .post(
            &format!("/external-task/{id}/complete"),
            json!({"workerId": "w", "variables": string_vars(4, 1)}),
        )
        .await;
    assert_invalid(s, &b, "Too many variables");
    let (s, _) = api
        .post(
            &format!("/external-task/{id}/complete"),
            json!({"workerId": "w"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_and_lock_bounds_max_tasks_and_long_polls_per_worker() {
    let client = ClientLimits {
        max_fetch_tasks: 5,
        ..ClientLimits::default()
    };
    let api = Api::start_with(limited(client, 10_000), |ec| {
        ec.wasm = None;
        ec.max_parked_fetches_per_worker = 1;
    })
    .await;
    let fetch = |worker: &str, max: i64, wait: u64| {
        json!({"workerId": worker, "maxTasks": max, "asyncResponseTimeout": wait,
               "topics": [{"topicName": "nothing-here", "lockDuration": 1000}]})
    };
    let (s, b) = api
        .post("/external-task/fetchAndLock", fetch("w", 6, 0))
        .await;
    assert_invalid(
        s,
        &b,
        "maxTasks 6 exceeds the limit of 5 tasks per fetchAndLock",
    );
    let (s, b) = api
        .post("/external-task/fetchAndLock", fetch("w", 5, 0))
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!([])));

    // Two long polls of worker `w` at once (nothing to fetch, so both park): the second to
    // park is refused while the first waits. Bounded retries cover the rare run where the
    // two did not overlap.
    let mut refused = None;
    for _ in 0..20 {
        let url = api.url("/external-task/fetchAndLock");
        let one = api.client.post(&url).json(&fetch("w", 1, 1000)).send();
        let two = api.client.post(&url).json(&fetch("w", 1, 1000)).send();
        let (one, two) = tokio::join!(one, two);
        let mut answers = Vec::new();
        for r in [one, two] {
            let r = r.expect("request");
            let status = r.status();
            answers.push((status, r.json::<J>().await.expect("json")));
        }
        let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert!(ok >= 1, "one of the two polls is served: {answers:?}");
        if let Some((_, body)) = answers
            .into_iter()
            .find(|(s, _)| *s == StatusCode::BAD_REQUEST)
        {
            refused = Some(body);
            break;
        }
    }
    let refused = refused.expect("a second long poll of the same worker is refused");
    assert_invalid(
        StatusCode::BAD_REQUEST,
        &refused,
        "Worker 'w' already has 1 long-polling fetchAndLock request(s) waiting, the limit per worker is 1",
    );
    // The count went back to zero: `w` parks again, and another worker may park too.
    for worker in ["w", "v"] {
        let (s, b) = api
            .post("/external-task/fetchAndLock", fetch(worker, 1, 50))
            .await;
        assert_eq!((s, b), (StatusCode::OK, json!([])), "{worker}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_with_too_many_resources_are_refused() {
    let client = ClientLimits {
        max_deployment_resources: 2,
        ..ClientLimits::default()
    };
    let api = Api::start(limited(client, 10_000)).await;
    let mut form = reqwest::multipart::Form::new();
    for i in 0..3 {
        let xml = baton_tests::bpmn::one_task(&format!("p{i}"), "t");
        form = form.part(
            format!("r{i}"),
            reqwest::multipart::Part::bytes(xml.into_bytes()).file_name(format!("p{i}.bpmn")),
        );
    }
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    assert_invalid(s, &b, "A deployment may contain at most 2 resources");
    let (_, n) = api.get("/deployment/count").await;
    assert_eq!(n, json!({"count": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_lists_obey_the_list_cap() {
    let api = Api::start(limited(ClientLimits::default(), 2)).await;
    for id in ["a", "b", "c"] {
        let (s, b) = api
            .post("/user/create", json!({"profile": {"id": id}}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let (s, b) = api.get("/user").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["message"], "An unbound number of results is forbidden!");
    let (s, b) = api.get("/user?maxResults=2").await;
    assert_eq!((s, b.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (s, b) = api.get("/user?maxResults=3").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["message"], "Max results limit of 2 exceeded!");
}
