//! Issue 20, point 3: hostile guests through the REST API of the real server. Each one ends
//! as an incident whose message names the limit that stopped it, within that limit, and the
//! engine keeps serving: a normal component completes after them and the API answers.
//!
//! Guests: `hostile` (modes: stack overflow, deep recursion, giant output, log flood, a host
//! call that never returns), `huge-table`, `http-fetch` against a server that accepts and
//! never answers, and `foreign-import` (an import baton does not grant: refused at upload).
//! The p99 of other instances' steps while a hostile guest runs is measured by the
//! `bench-hostile` benchmark, not here.

use std::time::{Duration, Instant};

use baton::wasm::{FailureKind, Limits, TaskOutcome};
use baton_bpmn::{Value, Variables};
use baton_tests::{EVENT_WAIT, TestServer, guests, wait_for_end};
use serde_json::{Value as Json, json};

use crate::api_wasm::{get, one_task, put_module, start};
use crate::wasm_runtime::{failure, input, load, runtime, vars};

/// One hostile task: the module's topic and query (limits), the start variables, and what
/// its incident must say.
struct Case {
    topic: &'static str,
    guest: &'static str,
    query: String,
    variables: Json,
    expected: &'static str,
    /// The incident must come within this long after the start.
    within: Duration,
}

fn key_of(case: &Case) -> String {
    format!("p_{}", case.topic.replace('-', "_"))
}

fn mode(mode: &str) -> Json {
    json!({"mode": {"value": mode, "type": "String"}})
}

/// A TCP server that accepts connections and never answers (it keeps them open).
async fn silent_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    addr
}

/// The message of the instance's incident, read from `GET /incident` until there is one:
/// many incidents come at once here, more than an event subscription buffers.
async fn incident_message(server: &TestServer, id: &str) -> String {
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let (status, incidents) = get(server, &format!("/incident?processInstanceId={id}")).await;
        assert_eq!(status, 200, "{incidents}");
        if let Some(message) = incidents[0]["incidentMessage"].as_str() {
            return message.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no incident of {id} within {EVENT_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn deploy_process(server: &TestServer, key: &str, topic: &str) {
    server
        .client
        .deploy(key, &one_task(key, topic))
        .await
        .unwrap_or_else(|e| panic!("deploy {key}: {e:#}"));
}

/// The hostile tasks; `silent` is a server that accepts and never answers.
fn cases(silent: std::net::SocketAddr) -> Vec<Case> {
    let huge_fuel = "fuel=1000000000000";
    vec![
        Case {
            topic: "deep-recursion",
            guest: guests::HOSTILE,
            query: String::new(),
            variables: mode("deep-recursion"),
            expected: "wasm stack limit of 512 KiB exceeded",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "stack-overflow",
            guest: guests::HOSTILE,
            query: String::new(),
            variables: mode("stack-overflow"),
            expected: "out of bounds memory access (a bad pointer, or an overflow of the guest's own stack in linear memory)",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "huge-table",
            guest: guests::HUGE_TABLE,
            query: String::new(),
            variables: json!({}),
            expected: "table limit of 10,000 elements exceeded",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "giant-output",
            guest: guests::HOSTILE,
            // Memory, fuel and time enough to build the 100 MiB string: the output limit must
            // stop it. The time matters on a busy machine: guests run below the engine's
            // priority and the other cases' guests run at the same moment.
            query: format!("memoryBytes=268435456&{huge_fuel}&timeoutMs=15000"),
            variables: mode("giant-output"),
            expected: "output of 100 MiB exceeds the output limit of 16 MiB",
            within: Duration::from_secs(20),
        },
        Case {
            topic: "giant-output-default",
            guest: guests::HOSTILE,
            query: String::new(),
            variables: mode("giant-output"),
            expected: "memory limit of 64 MiB exceeded",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "log-flood",
            guest: guests::HOSTILE,
            // Fuel out of the way: only the deadline can end a loop around a host call.
            query: format!("{huge_fuel}&timeoutMs=500"),
            variables: mode("log-flood"),
            expected: "deadline of 500 ms exceeded",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "log-flood-fuel",
            guest: guests::HOSTILE,
            query: String::new(),
            variables: mode("log-flood"),
            expected: "fuel exhausted after 100,000,000 units",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "sleep-forever",
            guest: guests::HOSTILE,
            query: "timeoutMs=500".into(),
            variables: mode("sleep-forever"),
            expected: "deadline of 500 ms exceeded",
            within: Duration::from_secs(10),
        },
        Case {
            topic: "never-answers",
            guest: guests::HTTP_FETCH,
            query: format!("timeoutMs=500&allowedHosts={silent}"),
            variables: json!({"url": {"value": format!("http://{silent}/hang"), "type": "String"}}),
            expected: "deadline of 500 ms exceeded",
            within: Duration::from_secs(10),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_guest_becomes_an_incident_naming_its_limit_and_the_engine_keeps_serving() {
    let server = TestServer::start().await.expect("server");
    let silent = silent_server().await;
    let cases = cases(silent);
    let mut started = Vec::new();
    for case in &cases {
        let (status, body) = put_module(&server, case.topic, &case.query, case.guest).await;
        assert_eq!(status, 200, "{}: {body}", case.topic);
        deploy_process(&server, &key_of(case), case.topic).await;
    }
    for case in &cases {
        let id = start(&server, &key_of(case), case.variables.clone()).await;
        started.push((id, Instant::now()));
    }
    for (case, (id, at)) in cases.iter().zip(&started) {
        let message = incident_message(&server, id).await;
        let took = at.elapsed();
        eprintln!("{}: '{message}' after {took:?}", case.topic);
        assert!(
            message.contains(case.expected),
            "{}: incident '{message}' should contain '{}'",
            case.topic,
            case.expected
        );
        assert!(
            took < case.within,
            "{}: incident after {took:?}",
            case.topic
        );
        let (status, incidents) = get(&server, &format!("/incident?processInstanceId={id}")).await;
        assert_eq!(status, 200);
        assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
        assert_eq!(incidents[0]["incidentType"], "failedExternalTask");
    }

    // The flood's log is capped: 64 KiB of lines and one truncation notice.
    let flood = &started[5].0;
    let (_, tasks) = get(
        &server,
        &format!("/external-task?processInstanceId={flood}"),
    )
    .await;
    let task_id = tasks[0]["id"].as_str().expect("task id");
    let (status, log) = get(&server, &format!("/external-task/{task_id}/log")).await;
    assert_eq!(status, 200, "{log}");
    let lines = log.as_array().expect("log lines");
    let bytes: usize = lines.iter().filter_map(Json::as_str).map(str::len).sum();
    assert!(bytes < 80 << 10, "log of {bytes} bytes");
    assert!(
        lines
            .iter()
            .filter_map(Json::as_str)
            .any(|l| l.contains("log truncated at 64 KiB")),
        "{:?}",
        lines.last()
    );

    // The engine still runs components: the same hostile module in a harmless mode completes.
    let mut ends = server.engine.subscribe_events();
    let id = start(&server, "p_deep_recursion", mode("none")).await;
    assert_eq!(wait_for_end(&mut ends, &id).await, "COMPLETED");
}

#[tokio::test]
async fn a_module_importing_what_baton_does_not_grant_is_refused_at_upload() {
    let server = TestServer::start().await.expect("server");
    let (status, body) = put_module(&server, "vault", "", guests::FOREIGN_IMPORT).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "InvalidRequestException");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("acme:vault/secrets@1.0.0"), "{message}");
    assert_eq!(get(&server, "/task-module/vault").await.0, 404);
    // In a deployment, too: nothing is deployed.
    let result = server
        .client
        .deploy_files(
            "vault",
            &[
                ("vault.bpmn".into(), one_task("vault", "vault").into_bytes()),
                (
                    "vault.wasm".into(),
                    std::fs::read(guests::FOREIGN_IMPORT).expect("guest"),
                ),
            ],
        )
        .await;
    let error = result
        .expect_err("deploying a foreign import must fail")
        .to_string();
    assert!(
        error.contains("400") && error.contains("acme:vault/secrets"),
        "{error}"
    );
    let (_, definitions) = get(&server, "/process-definition?key=vault").await;
    assert_eq!(definitions, json!([]));
}

/// The `hostile` guest on the runtime alone: the limits it runs into, and that each is the
/// limit configured (raising it lets the same task through).
#[tokio::test]
pub(crate) async fn hostile() {
    let rt = runtime();
    let sha = load(&rt, guests::HOSTILE).await;
    let run = |mode: &str, extra: Variables, limits: Limits| {
        let mut variables = vars([("mode", Value::String(mode.into()))]);
        variables.extend(extra);
        let rt = &rt;
        let sha = &sha;
        async move { rt.execute(sha, &limits, input(variables)).await }
    };
    let outcome = run("stack-overflow", Variables::new(), Limits::default()).await;
    assert_eq!(
        failure(&outcome),
        (
            FailureKind::Trap,
            "wasm trap: out of bounds memory access (a bad pointer, or an overflow of the \
             guest's own stack in linear memory)"
        )
    );
    let outcome = run("deep-recursion", Variables::new(), Limits::default()).await;
    assert_eq!(
        failure(&outcome),
        (
            FailureKind::Memory,
            "wasm stack limit of 512 KiB exceeded (call stack exhausted)"
        )
    );

    let mib = || vars([("mib", Value::Integer(20))]);
    let roomy = Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    let outcome = run("giant-output", mib(), roomy.clone()).await;
    assert_eq!(
        failure(&outcome),
        (
            FailureKind::Guest,
            "output of 20 MiB exceeds the output limit of 16 MiB"
        )
    );
    let raised = Limits {
        output_bytes: 32 << 20,
        ..roomy
    };
    match run("giant-output", mib(), raised).await {
        TaskOutcome::Completed { variables, .. } => match variables.get("result") {
            Some(Value::String(s)) => assert_eq!(s.len(), 20 << 20),
            other => panic!("result {other:?}"),
        },
        other => panic!("expected Completed, got {other:?}"),
    }

    // A host call that never returns: only the outer timeout can end it, right after the
    // deadline.
    let limits = Limits {
        deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    let at = Instant::now();
    let outcome = run("sleep-forever", Variables::new(), limits).await;
    assert_eq!(
        failure(&outcome),
        (FailureKind::Deadline, "deadline of 300 ms exceeded")
    );
    assert!(at.elapsed() < Duration::from_secs(2), "{:?}", at.elapsed());
}

/// The `huge-table` guest: its 12,000-element table is over the default limit at
/// instantiation, and runs once the module's limit allows it.
#[tokio::test]
pub(crate) async fn huge_table() {
    let rt = runtime();
    let sha = load(&rt, guests::HUGE_TABLE).await;
    let outcome = rt
        .execute(&sha, &Limits::default(), input(Variables::new()))
        .await;
    assert_eq!(
        failure(&outcome),
        (
            FailureKind::Memory,
            "table limit of 10,000 elements exceeded"
        )
    );
    let limits = Limits {
        table_elements: 20_000,
        ..Limits::default()
    };
    match rt.execute(&sha, &limits, input(Variables::new())).await {
        TaskOutcome::Completed { variables, .. } => {
            assert!(matches!(variables.get("result"), Some(Value::Long(_))));
        }
        other => panic!("expected Completed, got {other:?}"),
    }
}
