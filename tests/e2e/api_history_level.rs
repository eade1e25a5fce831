//! The history level (Camunda's `none`, `activity`, `audit`, `full`) through the real HTTP
//! server: what each level keeps after an instance ran, and that the runtime API does not
//! depend on it (variables are found by id at every level).

use baton::api::ApiConfig;
use baton::engine::HistoryLevel;
use baton_tests::bpmn::one_task;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_rest::Api;

/// Rows of a history list for one instance.
async fn rows(api: &Api, path: &str, instance: &str) -> usize {
    let (s, b) = api
        .get(&format!("/history/{path}?processInstanceId={instance}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{path}: {b}");
    b.as_array().map_or(0, Vec::len)
}

/// Start an instance of `work` with one variable, check its variables are found by id,
/// then have a worker complete its task with another; returns the instance id.
async fn run_one(api: &Api) -> String {
    let (s, b) = api
        .post(
            "/process-definition/key/work/start",
            json!({"variables": {"order": {"value": "A-1", "type": "String"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let instance = b["id"].as_str().expect("id").to_owned();

    let (s, vars) = api
        .get(&format!(
            "/variable-instance?processInstanceIdIn={instance}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{vars}");
    let order = &vars[0];
    assert_eq!(order["name"], "order", "{vars}");
    let (s, by_id) = api
        .get(&format!(
            "/variable-instance/{}",
            order["id"].as_str().expect("variable id")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{by_id}");
    assert_eq!(by_id["value"], "A-1");

    let (s, locked) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w", "maxTasks": 1,
                   "topics": [{"topicName": "work", "lockDuration": 10000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{locked}");
    let task = locked[0]["id"].as_str().expect("a task").to_owned();
    let (s, b) = api
        .post(
            &format!("/external-task/{task}/complete"),
            json!({"workerId": "w", "variables": {"total": {"value": 5, "type": "Integer"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    instance
}

#[tokio::test]
async fn each_history_level_keeps_what_camunda_keeps_and_nothing_more() {
    // (level, process instance, activities, variables, details and logs)
    let expected = [
        (HistoryLevel::Full, 1, 3, 2, true),
        (HistoryLevel::Audit, 1, 3, 2, false),
        (HistoryLevel::Activity, 1, 3, 0, false),
        (HistoryLevel::None, 0, 0, 0, false),
    ];
    for (level, instances, activities, variables, details) in expected {
        let api = Api::start_with(ApiConfig::default(), |c| {
            c.wasm = None;
            c.history_level = level;
        })
        .await;
        api.deploy("work", &one_task("work", "work")).await;
        let pi = run_one(&api).await;

        // The instance ran to its end at every level.
        let (s, running) = api.get(&format!("/process-instance/{pi}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{level}: {running}");

        let at = |n: usize| format!("{level}: {n}");
        let n = rows(&api, "process-instance", &pi).await;
        assert_eq!(n, instances, "{}", at(n));
        let n = rows(&api, "activity-instance", &pi).await;
        assert_eq!(n, activities, "{}", at(n));
        let n = rows(&api, "task", &pi).await;
        assert_eq!(n, 0, "{}", at(n));
        let n = rows(&api, "variable-instance", &pi).await;
        assert_eq!(n, variables, "{}", at(n));
        let logs = if details { 2 } else { 0 };
        let n = rows(&api, "detail", &pi).await;
        assert_eq!(n, logs, "variable updates {}", at(n));
        let n = rows(&api, "external-task-log", &pi).await;
        assert_eq!(n, logs, "external task log {}", at(n));

        // An operator's delete is a user operation: logged at `full` only.
        let (s, b) = api
            .post(
                "/process-definition/key/work/start",
                json!({"variables": {}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let other = b["id"].as_str().expect("id").to_owned();
        let (s, _, b) = api
            .send(
                api.client
                    .delete(api.url(&format!("/process-instance/{other}"))),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let (s, ops) = api
            .get(&format!(
                "/history/user-operation?processInstanceId={other}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{ops}");
        let deletes = ops
            .as_array()
            .expect("list")
            .iter()
            .filter(|o| o["operationType"] == "Delete")
            .count();
        assert_eq!(deletes, usize::from(details), "{level}: {ops}");
    }
}
