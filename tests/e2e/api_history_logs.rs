//! The history logs through the real HTTP server: the external task log (created, failed,
//! successful, deleted, with error details), the job log (created, failed with its message,
//! successful timer, deleted), variable updates (`/history/detail`, revisions, binary data),
//! the identity link log, and their removal with the historic instance.

use baton_tests::bpmn::{definitions, one_task};
use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_definition_extras::{ExtrasApi, failing_job};

fn flags(entry: &J) -> [bool; 4] {
    ["creationLog", "failureLog", "successLog", "deletionLog"].map(|k| entry[k] == true)
}

async fn fetch_one(api: &ExtrasApi) -> String {
    let (s, b) = api
        .post(
            "/external-task/fetchAndLock",
            json!({"workerId": "w1", "maxTasks": 1,
                   "topics": [{"topicName": "work", "lockDuration": 60000}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b[0]["id"].as_str().expect("a locked task").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_task_log_records_creation_failure_success_and_deletion() {
    let api = ExtrasApi::start().await;
    api.deploy("ext", &one_task("ext", "work")).await;
    let pi = api.start_instance("ext").await;
    let task = fetch_one(&api).await;
    let (s, b) = api
        .post(
            &format!("/external-task/{task}/failure"),
            json!({"workerId": "w1", "errorMessage": "boom", "errorDetails": "line 1\nline 2",
                   "retries": 2, "retryTimeout": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    api.clock.advance(1000);
    assert_eq!(fetch_one(&api).await, task);
    let (s, _) = api
        .post(
            &format!("/external-task/{task}/complete"),
            json!({"workerId": "w1"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let log = api
        .get(&format!("/history/external-task-log?externalTaskId={task}"))
        .await;
    let entries = log.as_array().expect("entries");
    assert_eq!(
        entries.iter().map(flags).collect::<Vec<_>>(),
        vec![
            [true, false, false, false],
            [false, true, false, false],
            [false, false, true, false]
        ],
        "{log}"
    );
    let failure = &entries[1];
    assert_eq!(
        (
            &failure["errorMessage"],
            &failure["workerId"],
            &failure["retries"],
            &failure["topicName"],
            &failure["processInstanceId"],
            &failure["processDefinitionKey"],
            &failure["activityId"],
        ),
        (
            &json!("boom"),
            &json!("w1"),
            &json!(2),
            &json!("work"),
            &json!(pi),
            &json!("ext"),
            &json!("task")
        )
    );
    let id = failure["id"].as_str().expect("log id");
    let (s, ct, body) = api
        .get_raw(&format!("/history/external-task-log/{id}/error-details"))
        .await;
    assert_eq!(
        (s, ct.as_str(), body),
        (StatusCode::OK, "text/plain", b"line 1\nline 2".to_vec())
    );
    assert_eq!(
        api.get(&format!("/history/external-task-log/{id}")).await,
        *failure
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/history/external-task-log/nope",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

    // A cancelled instance deletes its task: a deletion entry.
    let other = api.start_instance("ext").await;
    api.clock.advance(1000);
    let (s, _) = api.delete(&format!("/process-instance/{other}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/history/external-task-log/count?deletionLog=true")
            .await["count"],
        1
    );
    let (s, b) = api
        .post(
            "/history/external-task-log",
            json!({"successLog": true, "topicName": "work"}),
        )
        .await;
    assert_eq!((s, b.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let (s, b) = api
        .post(
            "/history/external-task-log/count",
            json!({"processInstanceId": other}),
        )
        .await;
    assert_eq!((s, &b["count"]), (StatusCode::OK, &json!(2)), "{b}");
    let newest = api
        .get("/history/external-task-log?sortBy=timestamp&sortOrder=desc&maxResults=1")
        .await;
    assert_eq!(flags(&newest[0]), [false, false, false, true]);

    // Deleting the ended instance's history removes its log entries.
    let (s, b) = api.delete(&format!("/history/process-instance/{pi}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        api.get(&format!(
            "/history/external-task-log/count?processInstanceId={pi}"
        ))
        .await["count"],
        0
    );
}

fn timer_catch(key: &str) -> String {
    definitions(
        key,
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="timer" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_log_records_timers_and_failing_jobs() {
    let api = ExtrasApi::start().await;
    api.deploy("failjob", &failing_job("failjob")).await;
    api.deploy("wait", &timer_catch("wait")).await;
    let pi = api.start_instance("failjob").await;
    let jobs = api.get(&format!("/job?processInstanceId={pi}")).await;
    let job = jobs[0]["id"].as_str().expect("job").to_owned();
    let (s, _) = api.post(&format!("/job/{job}/execute"), json!({})).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);

    let log = api.get(&format!("/history/job-log?jobId={job}")).await;
    let entries = log.as_array().expect("entries");
    assert_eq!(
        entries.iter().map(flags).collect::<Vec<_>>(),
        vec![[true, false, false, false], [false, true, false, false]],
        "{log}"
    );
    let failed = &entries[1];
    let message = failed["jobExceptionMessage"].as_str().expect("message");
    assert!(message.contains("missing"), "{message}");
    assert_eq!(
        (
            &failed["failedActivityId"],
            &failed["jobDefinitionType"],
            &failed["processDefinitionKey"],
            &failed["jobRetries"]
        ),
        (
            &json!("gw"),
            &json!("async-continuation"),
            &json!("failjob"),
            &json!(2)
        )
    );
    let id = failed["id"].as_str().expect("log id");
    let (s, ct, body) = api
        .get_raw(&format!("/history/job-log/{id}/stacktrace"))
        .await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "text/plain"));
    assert_eq!(String::from_utf8_lossy(&body), message);

    // A timer: created with its due date, successful when it fires.
    let waiting = api.start_instance("wait").await;
    api.clock.advance(11 * 60_000);
    api.engine.tick().await.expect("tick");
    let timer_log = api
        .get(&format!(
            "/history/job-log?processInstanceId={waiting}&sortBy=timestamp&sortOrder=asc"
        ))
        .await;
    assert_eq!(
        timer_log
            .as_array()
            .expect("entries")
            .iter()
            .map(flags)
            .collect::<Vec<_>>(),
        vec![[true, false, false, false], [false, false, true, false]],
        "{timer_log}"
    );
    assert_eq!(timer_log[0]["jobDefinitionType"], "timer");
    assert!(timer_log[0]["jobDueDate"].is_string(), "{timer_log}");

    // A cancelled timer: deleted.
    let cancelled = api.start_instance("wait").await;
    let (s, _) = api.delete(&format!("/process-instance/{cancelled}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = api
        .post(
            "/history/job-log/count",
            json!({"processInstanceId": cancelled, "deletionLog": true}),
        )
        .await;
    assert_eq!((s, &b["count"]), (StatusCode::OK, &json!(1)), "{b}");
    // The tick that fired the timer also retried the failing job (its retry was due): two
    // failures.
    assert_eq!(
        api.get(&format!(
            "/history/job-log/count?failureLog=true&jobId={job}"
        ))
        .await["count"],
        2
    );
    let (s, b) = api
        .post("/history/job-log", json!({"jobDefinitionType": "timer"}))
        .await;
    assert_eq!(
        (s, b.as_array().map(Vec::len)),
        (StatusCode::OK, Some(4)),
        "{b}"
    );
    let (s, _) = api
        .send(reqwest::Method::GET, "/history/job-log/nope", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variable_updates_are_history_details_with_revisions() {
    let api = ExtrasApi::start().await;
    api.deploy("ext", &one_task("ext", "work")).await;
    let (s, b) = api
        .post(
            "/process-definition/key/ext/start",
            json!({"variables": {"amount": {"value": 1, "type": "Integer"},
                                 "blob": {"value": "AQID", "type": "Bytes"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pi = b["id"].as_str().expect("instance").to_owned();
    api.clock.advance(1000);
    let (s, b) = api
        .put(
            &format!("/process-instance/{pi}/variables/amount"),
            json!({"value": 2, "type": "Integer"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");

    let details = api
        .get(&format!(
            "/history/detail?processInstanceId={pi}&variableTypeIn=integer&sortBy=variableRevision&sortOrder=asc"
        ))
        .await;
    let rows = details.as_array().expect("rows");
    assert_eq!(
        rows.iter()
            .map(|d| (
                d["value"].clone(),
                d["revision"].clone(),
                d["initial"].clone()
            ))
            .collect::<Vec<_>>(),
        vec![
            (json!(1), json!(0), json!(true)),
            (json!(2), json!(1), json!(false))
        ],
        "{details}"
    );
    assert_eq!(rows[0]["type"], "variableUpdate");
    assert_eq!(rows[0]["variableName"], "amount");
    assert_eq!(rows[0]["variableType"], "Integer");
    assert_eq!(rows[0]["variableInstanceId"], rows[1]["variableInstanceId"]);
    assert_eq!(
        api.get(&format!("/history/detail/count?processInstanceId={pi}"))
            .await["count"],
        3
    );
    let (s, b) = api
        .post(
            "/history/detail",
            json!({"processInstanceId": pi, "initial": true}),
        )
        .await;
    assert_eq!(
        (s, b.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2)),
        "{b}"
    );
    let blob = api
        .get(&format!(
            "/history/detail?processInstanceId={pi}&variableTypeIn=Bytes"
        ))
        .await;
    let blob_id = blob[0]["id"].as_str().expect("detail id");
    let (s, _, bytes) = api
        .get_raw(&format!("/history/detail/{blob_id}/data"))
        .await;
    assert_eq!((s, bytes), (StatusCode::OK, vec![1, 2, 3]));
    let one = api
        .get(&format!(
            "/history/detail/{}",
            rows[1]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(one, rows[1]);
    let (s, b) = api
        .send(reqwest::Method::GET, "/history/detail/nope", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["message"],
        "Historic detail with Id 'nope' does not exist."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_link_changes_are_logged() {
    let api = ExtrasApi::start().await;
    let xml = definitions(
        "links",
        r#"    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:userTask id="approve" camunda:candidateGroups="sales" />
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:endEvent id="end" />"#,
    );
    api.deploy("links", &xml).await;
    api.start_instance("links").await;
    let tasks = api.get("/task").await;
    let task = tasks[0]["id"].as_str().expect("task").to_owned();
    let (s, _) = api
        .post(&format!("/task/{task}/claim"), json!({"userId": "ann"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .post(&format!("/task/{task}/assignee"), json!({"userId": "bob"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let log = api
        .get(&format!(
            "/history/identity-link-log?taskId={task}&sortBy=time&sortOrder=asc"
        ))
        .await;
    let summary: Vec<(J, J, J, J)> = log
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["type"].clone(),
                e["operationType"].clone(),
                e["userId"].clone(),
                e["groupId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("candidate"), json!("add"), J::Null, json!("sales")),
            (json!("assignee"), json!("add"), json!("ann"), J::Null),
            (json!("assignee"), json!("delete"), json!("ann"), J::Null),
            (json!("assignee"), json!("add"), json!("bob"), J::Null),
        ],
        "{log}"
    );
    assert_eq!(log[0]["processDefinitionKey"], "links");
    assert_eq!(
        api.get("/history/identity-link-log/count?operationType=delete")
            .await["count"],
        1
    );
}
