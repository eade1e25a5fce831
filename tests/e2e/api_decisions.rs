//! DMN decisions through the REST API, as Camunda clients use them: a `.dmn` deployed beside a
//! `.bpmn` (decision definitions, a decision requirements definition, versions), a business
//! rule task evaluating its decision inside the start command (result variable, historic
//! decision instances with inputs, outputs and the required decision), REST evaluate by key
//! and by id (recorded too), bad tables refused at deploy with file:line:column, and
//! evaluation failures in Camunda's error shape.

use reqwest::StatusCode;
use serde_json::{Value as J, json};

use crate::api_rest::Api;

const DMN: &str = include_str!("../fixtures/dmn/dinner.dmn");
const BPMN: &str = include_str!("../fixtures/dmn/dinner.bpmn");

/// Deploy several resources in one deployment; (status, body).
async fn deploy(api: &Api, files: &[(&str, &str)]) -> (StatusCode, J) {
    let mut form = reqwest::multipart::Form::new().text("deployment-name", "dinner");
    for (name, text) in files {
        form = form.part(
            name.to_string(),
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name.to_string()),
        );
    }
    let (s, _, b) = api
        .send(
            api.client
                .post(api.url("/deployment/create"))
                .multipart(form),
        )
        .await;
    (s, b)
}

fn vars(month: i32, guests: i32) -> J {
    json!({"month": {"value": month, "type": "Integer"},
           "guestCount": {"value": guests, "type": "Integer"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_rule_task_evaluates_its_decision_and_history_records_it() {
    let api = Api::default().await;
    let (s, dep) = deploy(&api, &[("dinner.dmn", DMN), ("dinner.bpmn", BPMN)]).await;
    assert_eq!(s, StatusCode::OK, "{dep}");
    let decisions = dep["deployedDecisionDefinitions"].as_object().expect("map");
    assert_eq!(decisions.len(), 2, "{dep}");
    let drds = dep["deployedDecisionRequirementsDefinitions"]
        .as_object()
        .expect("a graph of two decisions has a requirements definition");
    let drd = drds.values().next().expect("one");
    assert_eq!(drd["key"], "dinnerDecisions");

    let (s, dish) = api.get("/decision-definition/key/dish").await;
    assert_eq!(s, StatusCode::OK, "{dish}");
    assert_eq!(dish["version"], 1);
    assert_eq!(dish["name"], "Dish");
    assert_eq!(dish["versionTag"], "v1");
    assert_eq!(dish["resource"], "dinner.dmn");
    assert_eq!(dish["decisionRequirementsDefinitionKey"], "dinnerDecisions");
    let dish_id = dish["id"].as_str().expect("id").to_owned();
    assert!(dish_id.starts_with("dish:1:"), "{dish_id}");
    let (_, n) = api.get("/decision-definition/count?key=season").await;
    assert_eq!(n["count"], 1);
    let (s, _) = api
        .put(
            "/decision-definition/key/dish/history-time-to-live",
            json!({"historyTimeToLive": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, d) = api.get(&format!("/decision-definition/{dish_id}")).await;
    assert_eq!(d["historyTimeToLive"], 30);
    let (s, _) = api
        .put(
            "/decision-definition/key/dish/history-time-to-live",
            json!({"historyTimeToLive": -1}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, xml) = api
        .get(&format!("/decision-definition/{dish_id}/xml"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        xml["dmnXml"]
            .as_str()
            .is_some_and(|x| x.contains("Roastbeef"))
    );
    let (_, list) = api
        .get("/decision-requirements-definition?key=dinnerDecisions")
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (s, _) = api
        .get("/decision-requirements-definition/key/dinnerDecisions/xml")
        .await;
    assert_eq!(s, StatusCode::OK);

    // Winter, 10 guests: the task reads the required decision's output and stores one entry.
    let (s, pi) = api
        .post(
            "/process-definition/key/dinner/start",
            json!({"variables": vars(1, 10), "withVariablesInReturn": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{pi}");
    assert_eq!(pi["ended"], true, "{pi}");
    assert_eq!(pi["variables"]["meal"]["value"], "Roastbeef", "{pi}");
    let pi_id = pi["id"].as_str().expect("id");

    let (s, rows) = api
        .get(&format!(
            "/history/decision-instance?processInstanceId={pi_id}&includeInputs=true&includeOutputs=true"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    let rows = rows.as_array().expect("rows");
    assert_eq!(
        rows.len(),
        2,
        "the root and its required decision: {rows:?}"
    );
    let root = rows
        .iter()
        .find(|r| r["decisionDefinitionKey"] == "dish")
        .expect("dish");
    let season = rows
        .iter()
        .find(|r| r["decisionDefinitionKey"] == "season")
        .expect("season");
    assert_eq!(root["decisionDefinitionId"], dish_id.as_str());
    assert_eq!(root["activityId"], "decide");
    assert_eq!(root["processDefinitionKey"], "dinner");
    assert_eq!(root["rootDecisionInstanceId"], J::Null);
    assert_eq!(season["rootDecisionInstanceId"], root["id"]);
    let inputs = root["inputs"].as_array().expect("inputs");
    assert_eq!(inputs[1]["clauseName"], "How many guests");
    assert_eq!(inputs[1]["value"], 10);
    assert_eq!(inputs[1]["type"], "Integer");
    let outputs = root["outputs"].as_array().expect("outputs");
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["ruleId"], "roastbeef");
    assert_eq!(outputs[0]["ruleOrder"], 2);
    assert_eq!(outputs[0]["variableName"], "desiredDish");
    assert_eq!(outputs[0]["value"], "Roastbeef");
    // Without includeInputs the lists are null, as in Camunda.
    let (_, plain) = api
        .get(&format!(
            "/history/decision-instance/{}",
            root["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(plain["inputs"], J::Null, "{plain}");

    // Evaluations per decision of the requirements graph, in all and within one evaluation.
    let drd_id = drd["id"].as_str().expect("drd id");
    api.post(
        "/process-definition/key/dinner/start",
        json!({"variables": vars(7, 2)}),
    )
    .await;
    let (s, stats) = api
        .get(&format!(
            "/history/decision-requirements-definition/{drd_id}/statistics"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{stats}");
    assert_eq!(
        stats,
        json!([{"decisionDefinitionKey": "dish", "evaluations": 2},
               {"decisionDefinitionKey": "season", "evaluations": 2}])
    );
    let (_, one) = api
        .get(&format!(
            "/history/decision-requirements-definition/{drd_id}/statistics?decisionInstanceId={}",
            root["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(
        one,
        json!([{"decisionDefinitionKey": "dish", "evaluations": 1},
               {"decisionDefinitionKey": "season", "evaluations": 1}])
    );
    let (_, none) = api
        .get("/history/decision-requirements-definition/nope/statistics")
        .await;
    assert_eq!(none, json!([]));
}

/// REST evaluation by key and by id answers Camunda's result list and is recorded in history;
/// a changed file deployed again is version 2, which `latest` bindings then use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_evaluation_is_recorded_and_a_new_version_takes_over() {
    let api = Api::default().await;
    let (s, dep) = deploy(&api, &[("dinner.dmn", DMN), ("dinner.bpmn", BPMN)]).await;
    assert_eq!(s, StatusCode::OK, "{dep}");
    let (_, dish) = api.get("/decision-definition/key/dish").await;
    let dish_id = dish["id"].as_str().expect("id").to_owned();
    // REST evaluate by key and by id answers the result list and is recorded too.
    let (s, result) = api
        .post(
            "/decision-definition/key/dish/evaluate",
            json!({"variables": vars(7, 2)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{result}");
    assert_eq!(
        result,
        json!([{"desiredDish": {"type": "String", "value": "Salad", "valueInfo": {}}}])
    );
    let (s, result) = api
        .post(
            &format!("/decision-definition/{dish_id}/evaluate"),
            json!({"variables": vars(12, 3)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{result}");
    assert_eq!(result[0]["desiredDish"]["value"], "Stew");
    let (_, n) = api
        .get("/history/decision-instance/count?decisionDefinitionKey=dish")
        .await;
    assert_eq!(n["count"], 2);
    // Each evaluation of dish also evaluated season, which points at its root.
    let (_, n) = api
        .get("/history/decision-instance/count?rootDecisionInstancesOnly=true")
        .await;
    assert_eq!(n["count"], 2);
    let (_, n) = api.get("/history/decision-instance/count").await;
    assert_eq!(n["count"], 4);

    // A second deployment of a changed file is version 2; latestVersion lists only it.
    let changed = DMN.replace("\"Roastbeef\"", "\"Goulash\"");
    let (s, _) = deploy(&api, &[("dinner.dmn", &changed)]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, latest) = api
        .get("/decision-definition?key=dish&latestVersion=true")
        .await;
    assert_eq!(latest[0]["version"], 2, "{latest}");
    let (_, pi) = api
        .post(
            "/process-definition/key/dinner/start",
            json!({"variables": vars(1, 10), "withVariablesInReturn": true}),
        )
        .await;
    assert_eq!(
        pi["variables"]["meal"]["value"], "Goulash",
        "binding latest: {pi}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tables_and_failed_evaluations_answer_in_camundas_shape() {
    let api = Api::default().await;
    // A duplicate rule id is a deploy error naming the file, line and column.
    let dup = DMN.replace("rule id=\"salad\"", "rule id=\"stew\"");
    let (s, b) = deploy(&api, &[("dup.dmn", &dup)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["type"], "ParseException", "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("dup.dmn:26:") && message.contains("rule id 'stew' is used twice"),
        "{message}"
    );
    // An unknown type and an unparsable unary test likewise; nothing was deployed.
    for (bad, needle) in [
        (
            DMN.replace(
                "typeRef=\"integer\"><text>month",
                "typeRef=\"money\"><text>month",
            ),
            "unknown typeRef 'money'",
        ),
        (DMN.replace("[3..5]", "[3..]"), "invalid unary test"),
    ] {
        let (s, b) = deploy(&api, &[("bad.dmn", &bad)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(
            b["message"].as_str().unwrap_or_default().contains(needle),
            "{b}"
        );
    }
    let (_, n) = api.get("/decision-definition/count").await;
    assert_eq!(n["count"], 0);

    // Unknown ids and keys are 404.
    let (s, b) = api.get("/decision-definition/key/nope").await;
    assert_eq!(
        (s, b["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("InvalidRequestException"))
    );
    let (s, _) = api.get("/decision-definition/nope:1:x").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api.get("/history/decision-instance/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _) = deploy(&api, &[("dinner.dmn", DMN), ("dinner.bpmn", BPMN)]).await;
    assert_eq!(s, StatusCode::OK);
    // A value the input type cannot take fails the evaluation: 500 RestException.
    let (s, b) = api
        .post(
            "/decision-definition/key/season/evaluate",
            json!({"variables": {"month": {"value": "May", "type": "String"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    assert_eq!(b["type"], "RestException");
    assert!(
        b["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Cannot evaluate decision season:1:"),
        "{b}"
    );
    // Bad variables are the caller's error: 400.
    let (s, b) = api
        .post(
            "/decision-definition/key/season/evaluate",
            json!({"variables": {"month": {"value": "x", "type": "Integer"}}}),
        )
        .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidRequestException")),
        "{b}"
    );
    // The same failure inside a business rule task fails the start: nothing is recorded.
    let (s, b) = api
        .post(
            "/process-definition/key/dinner/start",
            json!({"variables": {"month": {"value": "May"}, "guestCount": {"value": 2, "type": "Integer"}}}),
        )
        .await;
    assert!(s.is_client_error() || s.is_server_error(), "{s} {b}");
    assert!(
        b["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot be transformed to type 'integer'"),
        "{b}"
    );
    let (_, n) = api.get("/history/decision-instance/count").await;
    assert_eq!(n["count"], 0);
    let (_, n) = api.get("/history/process-instance/count").await;
    assert_eq!(n["count"], 0);
}

/// The cockpit's decision views: the table with every rule's entries as written, the rules a
/// finished instance's evaluation matched, and the instance's list of evaluated decisions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_shows_the_table_and_the_rules_an_instance_matched() {
    use baton::engine::{DeployRequest, Resource};
    let t = baton_tests::TestEngine::new().await;
    t.engine
        .deploy(DeployRequest {
            name: Some("dinner".into()),
            resources: vec![
                Resource {
                    name: "dinner.dmn".into(),
                    bytes: DMN.as_bytes().to_vec(),
                },
                Resource {
                    name: "dinner.bpmn".into(),
                    bytes: BPMN.as_bytes().to_vec(),
                },
            ],
            ..DeployRequest::default()
        })
        .await
        .expect("deploys");
    let started = t
        .start(
            "dinner",
            baton_tests::vars([
                ("month", baton_bpmn::Value::Integer(4)),
                ("guestCount", baton_bpmn::Value::Integer(3)),
            ]),
        )
        .await;
    let pi = started.instance.state.id.clone();
    let (addr, server) =
        crate::api_rest::serve_on_loopback(baton::cockpit::router(t.engine.clone(), false)).await;
    let get = |path: String| async move {
        let r = reqwest::get(format!("http://{addr}{path}"))
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json::<J>().await.expect("json")
    };
    let decided = get(format!("/cockpit/api/instance/{pi}/decisions")).await;
    let dish = decided
        .as_array()
        .and_then(|a| a.iter().find(|d| d["decisionDefinitionKey"] == "dish"))
        .expect("the dish evaluation")
        .clone();
    assert_eq!(dish["matchedRuleIds"], json!(["salad"]));
    let table = get(format!(
        "/cockpit/api/decision/{}?decisionInstanceId={}",
        dish["decisionDefinitionId"].as_str().unwrap_or(""),
        dish["id"].as_str().unwrap_or("")
    ))
    .await;
    assert_eq!(table["table"]["hitPolicy"], "UNIQUE");
    assert_eq!(table["table"]["inputs"][1]["label"], "How many guests");
    assert_eq!(
        table["table"]["rules"][0]["inputs"],
        json!(["\"Winter\"", "<= 8"])
    );
    assert_eq!(table["table"]["rules"].as_array().map(Vec::len), Some(3));
    assert_eq!(table["evaluation"]["matchedRuleIds"], json!(["salad"]));
    assert_eq!(table["evaluation"]["outputs"][0]["value"], "Salad");
    assert_eq!(table["requiredDecisions"], json!(["season"]));
    let list = get("/cockpit/api/decisions".into()).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    server.abort();
}
