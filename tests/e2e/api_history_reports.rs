//! History reports through the real HTTP server: historic activity statistics of a
//! definition, the process instance duration report, the user task count and duration
//! reports, and the cleanable process instance report.

use reqwest::StatusCode;
use serde_json::json;

use crate::api_definition_extras::{ExtrasApi, user_task};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

async fn complete_task(api: &ExtrasApi, instance: &str) {
    let tasks = api
        .get(&format!("/task?processInstanceId={instance}"))
        .await;
    let id = tasks[0]["id"].as_str().expect("task id");
    let (s, _) = api.post(&format!("/task/{id}/complete"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historic_activity_statistics_and_duration_reports() {
    let api = ExtrasApi::start().await;
    let xml = user_task("rep").replace(
        r#"<bpmn:process id="rep" isExecutable="true">"#,
        r#"<bpmn:process id="rep" isExecutable="true" camunda:historyTimeToLive="1">"#,
    );
    api.deploy("rep", &xml).await;
    let def = api.definition_id("rep").await;
    // Two finished (3 and 5 minutes), one running, one cancelled.
    let a = api.start_instance("rep").await;
    api.clock.advance(3 * MINUTE);
    complete_task(&api, &a).await;
    let b = api.start_instance("rep").await;
    api.clock.advance(5 * MINUTE);
    complete_task(&api, &b).await;
    api.start_instance("rep").await;
    let c = api.start_instance("rep").await;
    let (s, _) = api.delete(&format!("/process-instance/{c}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let stats = api
        .get(&format!(
            "/history/process-definition/{def}/statistics?canceled=true&finished=true&completeScope=true&incidents=true"
        ))
        .await;
    let work = stats
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == "work")
        .expect("work row")
        .clone();
    assert_eq!(
        work,
        json!({"id": "work", "instances": 1, "canceled": 1, "finished": 2, "completeScope": 0,
               "openIncidents": 0, "resolvedIncidents": 0, "deletedIncidents": 0})
    );
    let end = stats
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == "end")
        .expect("end row");
    assert_eq!(
        (&end["finished"], &end["completeScope"]),
        (&json!(2), &json!(2))
    );
    let plain = api
        .get(&format!("/history/process-definition/{def}/statistics"))
        .await;
    assert_eq!(
        plain[0].get("finished"),
        None,
        "only asked-for counts: {plain}"
    );

    let report = api
        .get("/history/process-instance/report?reportType=duration&periodUnit=month")
        .await;
    assert_eq!(
        report,
        json!([{"period": 1, "periodUnit": "MONTH", "minimum": 0,
                "maximum": 5 * MINUTE, "average": 8 * MINUTE / 3}]),
        "the cancelled instance is finished too, after 0 minutes: {report}"
    );
    let (s, b) = api
        .send(
            reqwest::Method::GET,
            "/history/process-instance/report",
            None,
        )
        .await;
    assert_eq!(
        (s, &b["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Parameter reportType is not set.")
        )
    );

    let counts = api
        .get("/history/task/report?reportType=count&groupBy=taskName")
        .await;
    assert_eq!(counts.as_array().map(Vec::len), Some(1), "{counts}");
    assert_eq!(counts[0]["count"], 2);
    assert_eq!(counts[0]["processDefinitionKey"], "rep");
    let durations = api
        .get("/history/task/report?reportType=duration&periodUnit=quarter")
        .await;
    assert_eq!(
        (&durations[0]["periodUnit"], &durations[0]["average"]),
        (&json!("QUARTER"), &json!(4 * MINUTE))
    );

    // The cleanable report: three finished (the cancelled one too), none past 1 day yet.
    let row = api
        .get("/history/process-definition/cleanable-process-instance-report?processDefinitionKeyIn=rep")
        .await;
    assert_eq!(
        (
            &row[0]["finishedProcessInstanceCount"],
            &row[0]["cleanableProcessInstanceCount"],
            &row[0]["historyTimeToLive"]
        ),
        (&json!(3), &json!(0), &json!(1)),
        "{row}"
    );
    api.clock.advance(DAY);
    let row = api
        .get("/history/process-definition/cleanable-process-instance-report")
        .await;
    assert_eq!(row[0]["cleanableProcessInstanceCount"], 3, "{row}");
    assert_eq!(
        api.get("/history/process-definition/cleanable-process-instance-report/count")
            .await["count"],
        1
    );
}
