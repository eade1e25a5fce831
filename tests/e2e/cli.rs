//! The `baton` binary driven as a user drives it: `baton run` on `examples/order` (happy path,
//! declined payment, approval with `--answers`, out of stock, missing module, timer escalation
//! on `--fast-clock`) and `baton validate`.
//!
//! The binary lives in another package, so `CARGO_BIN_EXE_baton` is not set for this crate:
//! the tests find it next to their own executable (`target/<profile>/baton`) and, once per
//! test process, run `cargo build -p baton --bin baton` into that same target dir so it is never
//! stale (a no-op when it is fresh; the outer `cargo test` no longer holds the build lock when
//! tests run). The wasm guests come from this crate's build script (`baton_tests::guests`).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use baton_tests::guests;
use serde_json::Value as J;

/// The longest one `baton run` may take (wasm compilation in a debug build included).
const TIMEOUT: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn example(name: &str) -> String {
    repo()
        .join("examples/order")
        .join(name)
        .display()
        .to_string()
}

/// The path of a freshly built `baton` binary.
fn baton() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // target/<profile>/deps/e2e-<hash> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in target/<profile>/deps");
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "baton", "--bin", "baton"])
            .arg("--manifest-path")
            .arg(repo().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build -p baton");
        assert!(status.success(), "cargo build -p baton --bin baton failed");
        let bin = profile_dir.join(format!("baton{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    /// JSON lines of `--json` output.
    fn json_lines(&self) -> Vec<J> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<J>(l).ok())
            .collect()
    }

    fn result(&self) -> J {
        self.json_lines()
            .into_iter()
            .rev()
            .find(|v| v["type"] == "result")
            .unwrap_or_else(|| panic!("no result line in:\n{}\n{}", self.stdout, self.stderr))
    }

    /// Element ids entered, in order.
    fn entered(&self) -> Vec<String> {
        self.json_lines()
            .iter()
            .filter(|v| v["type"] == "activityEntered")
            .filter_map(|v| v["activityId"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Run `baton` with arguments, stdin closed, under [`TIMEOUT`].
fn run_baton(args: &[&str]) -> Output {
    let mut child = Command::new(baton())
        .args(args)
        .current_dir(repo())
        .env("BATON_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "baton {args:?} did not finish in {TIMEOUT:?}; stdout so far:\n{}",
                out_thread.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// `baton run examples/order/order.bpmn` with all three modules and `extra` arguments.
fn run_order(extra: &[&str]) -> Output {
    let bpmn = example("order.bpmn");
    let stock = format!("check-stock={}", guests::STOCK_CHECK);
    let payment = format!("payment={}", guests::PAYMENT);
    let mail = format!("send-mail={}", guests::SEND_MAIL);
    let mut args = vec![
        "run",
        bpmn.as_str(),
        "--module",
        &stock,
        "--module",
        &payment,
        "--module",
        &mail,
        "--business-key",
        "order-42",
        "--var",
        "customer=Ada",
        "--var",
        r#"items=[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}]"#,
    ];
    args.extend_from_slice(extra);
    run_baton(&args)
}

#[test]
fn happy_path_runs_every_service_task_in_wasm() {
    let out = run_order(&["--var", "amount=250"]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    // The human trace names the topics, the elements and the end.
    for needle in [
        "task `check-stock`: wasm module",
        "task `payment`: wasm module",
        "task `send-mail`: wasm module",
        "\"Check stock\" [CheckStock]",
        "\"Collect payment\" [Payment]",
        "\"Send confirmation\" [SendMail]",
        "instance completed",
        "\"Order confirmed\" [OrderConfirmed]",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            out.stdout
        );
    }
    // The final variables, pretty JSON after the last trace line.
    let start = out.stdout.rfind("\n{").expect("final variables") + 1;
    let vars: J = serde_json::from_str(&out.stdout[start..]).expect("final variables JSON");
    assert_eq!(vars["available"], true);
    assert_eq!(vars["amount"], 250);
    assert!(
        vars["paymentId"]
            .as_str()
            .is_some_and(|s| s.starts_with("PAY-")),
        "{vars}"
    );
    assert_eq!(
        vars["mailBody"],
        "Dear Ada, your order order-42 is confirmed."
    );
}

#[test]
fn declined_payment_ends_at_the_error_boundary() {
    let answers = example("answers-approve.json");
    let out = run_order(&["--var", "amount=5000", "--answers", &answers, "--json"]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let entered = out.entered();
    for id in [
        "CheckStock",
        "ApproveOrder",
        "Payment",
        "PaymentDeclined",
        "PaymentDeclinedEnd",
    ] {
        assert!(
            entered.iter().any(|e| e == id),
            "{id} not entered: {entered:?}"
        );
    }
    assert!(!entered.iter().any(|e| e == "SendMail"), "{entered:?}");
    let boundary = out
        .json_lines()
        .into_iter()
        .find(|v| v["type"] == "activityEntered" && v["activityId"] == "PaymentDeclined")
        .expect("boundary entered");
    assert_eq!(boundary["activityType"], "boundaryError");
    let result = out.result();
    assert_eq!(result["outcome"], "completed");
    assert_eq!(result["endEventId"], "PaymentDeclinedEnd");
    assert_eq!(result["variables"]["approved"], true);
    assert_eq!(result["variables"]["declinedAmount"], 5000.0);
}

#[test]
fn rejected_approval_from_answers_file() {
    let answers = example("answers-reject.json");
    let out = run_order(&["--var", "amount=5000", "--answers", &answers, "--json"]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let result = out.result();
    assert_eq!(result["endEventId"], "OrderRejected");
    assert_eq!(result["variables"]["approved"], false);
    assert_eq!(
        result["variables"]["comment"],
        "too large for this customer"
    );
    assert!(!out.entered().iter().any(|e| e == "Payment"));
}

#[test]
fn out_of_stock_ends_early() {
    let out = run_order(&[
        "--var",
        "amount=250",
        "--var",
        r#"items=[{"sku":"OUT-1","quantity":1}]"#,
        "--json",
    ]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let result = out.result();
    assert_eq!(result["endEventId"], "OutOfStock");
    assert_eq!(result["variables"]["available"], false);
    assert_eq!(result["variables"]["missing"][0]["sku"], "OUT-1");
}

#[test]
fn unanswered_approval_escalates_after_two_days_of_fast_clock() {
    let answers = example("answers-escalated.json");
    let started = Instant::now();
    let out = run_order(&[
        "--var",
        "amount=5000",
        "--answers",
        &answers,
        "--fast-clock",
        "--json",
    ]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let entered = out.entered();
    for id in [
        "ApproveOrder",
        "ApprovalOverdue",
        "EscalatedApproval",
        "OrderRejected",
    ] {
        assert!(
            entered.iter().any(|e| e == id),
            "{id} not entered: {entered:?}"
        );
    }
    let interrupted = out.json_lines().into_iter().any(|v| {
        v["type"] == "activityLeft" && v["activityId"] == "ApproveOrder" && v["canceled"] == true
    });
    assert!(
        interrupted,
        "ApproveOrder was not interrupted:\n{}",
        out.stdout
    );
    // The timer fired on the simulated clock, two days after the task was created.
    let fired = out
        .json_lines()
        .into_iter()
        .find(|v| v["type"] == "activityEntered" && v["activityId"] == "ApprovalOverdue")
        .expect("timer entered");
    assert!(
        fired["clock"]
            .as_i64()
            .is_some_and(|ms| ms >= 48 * 3600 * 1000),
        "{fired}"
    );
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_eq!(out.result()["variables"]["approved"], false);
}

#[test]
fn missing_module_without_listen_exits_3_naming_the_topic() {
    let bpmn = example("order.bpmn");
    let payment = format!("payment={}", guests::PAYMENT);
    let out = run_baton(&[
        "run",
        &bpmn,
        "--module",
        &payment,
        "--var",
        "amount=1",
        "--var",
        r#"items=[]"#,
    ]);
    assert_eq!(
        out.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(out.stderr.contains("`check-stock`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("--module check-stock="),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--listen"), "{}", out.stderr);
}

#[test]
fn validate_reports_file_line_column_and_fails_on_errors() {
    let dir = std::env::temp_dir().join(format!("baton-cli-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let broken = dir.join("broken.bpmn");
    std::fs::write(
        &broken,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f" sourceRef="start" targetRef="nowhere" />
  </bpmn:process>
</bpmn:definitions>
"#,
    )
    .expect("write");
    let out = run_baton(&["validate", &broken.display().to_string()]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let prefix = format!("{}:", broken.display());
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no file:line:column line in:\n{}", out.stderr));
    let mut parts = line[prefix.len()..].splitn(3, ':');
    let line_no: u32 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .expect("line number");
    let column: u32 = parts.next().and_then(|s| s.parse().ok()).expect("column");
    assert!(line_no >= 1 && column >= 1, "{line}");

    let ok = run_baton(&["validate", &example("order.bpmn")]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("ok"), "{}", ok.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `baton run` runs scripts offline: a JavaScript script task (the interpreter is inside the
/// binary) and a JUEL script task, with an execution listener script.
#[test]
fn run_executes_script_tasks_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scripted.bpmn");
    let xml = baton_tests::bpmn::definitions(
        "scripted",
        r#"<bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="price"/>
    <bpmn:scriptTask id="price" scriptFormat="javascript" camunda:resultVariable="total">
      <bpmn:extensionElements><camunda:executionListener event="start"><camunda:script scriptFormat="js">execution.setVariable('startedAt', new Date())</camunda:script></camunda:executionListener></bpmn:extensionElements>
      <bpmn:script>quantity * 2.5</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="price" targetRef="label"/>
    <bpmn:scriptTask id="label" scriptFormat="juel" camunda:resultVariable="label"><bpmn:script>total: ${total}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="label" targetRef="end"/>
    <bpmn:endEvent id="end"/>"#,
    );
    std::fs::write(&path, xml).expect("write model");
    let out = run_baton(&[
        "run",
        path.to_str().expect("utf-8 path"),
        "--json",
        "--var",
        "quantity=4",
    ]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let result = out.result();
    assert_eq!(result["outcome"], "completed", "{result}");
    assert_eq!(result["variables"]["total"], 10, "{result}");
    assert_eq!(result["variables"]["label"], "total: 10", "{result}");
    // A JavaScript Date is stored as a Date (the JSON output shows its milliseconds).
    assert!(result["variables"]["startedAt"].is_i64(), "{result}");
}

/// `baton validate` checks scripts as a deployment does: JavaScript syntax at the file's
/// line:column, Groovy refused, `camunda:resource` scripts read from the model's folder.
#[test]
fn validate_checks_scripts_like_a_deployment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = |body: &str| baton_tests::bpmn::definitions("scripted", body);
    let bad = dir.path().join("bad.bpmn");
    let xml = model(
        "<bpmn:startEvent id=\"s\"/><bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"js\"/>\n<bpmn:scriptTask id=\"js\" scriptFormat=\"javascript\"><bpmn:script>var a = ;</bpmn:script></bpmn:scriptTask>\n<bpmn:sequenceFlow id=\"f2\" sourceRef=\"js\" targetRef=\"e\"/><bpmn:endEvent id=\"e\"/>",
    );
    std::fs::write(&bad, &xml).expect("write");
    let out = run_baton(&["validate", bad.to_str().expect("utf-8")]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let line = xml
        .lines()
        .position(|l| l.contains("var a = ;"))
        .expect("line")
        + 1;
    let column = xml
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find("var a = ;"))
        .expect("column")
        + 1
        + "var a = ".len();
    let want = format!("{}:{line}:{column}: error:", bad.display());
    assert!(
        out.stderr.contains(&want) && out.stderr.contains("JavaScript syntax error"),
        "want {want} in:\n{}",
        out.stderr
    );

    let good = dir.path().join("good.bpmn");
    std::fs::write(
        &good,
        model(
            r#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="js"/>
<bpmn:scriptTask id="js" scriptFormat="js" camunda:resource="deployment://calc.js"/>
<bpmn:sequenceFlow id="f2" sourceRef="js" targetRef="e"/><bpmn:endEvent id="e"/>"#,
        ),
    )
    .expect("write");
    let missing = run_baton(&["validate", good.to_str().expect("utf-8")]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("'deployment://calc.js' is not a resource"),
        "{}",
        missing.stderr
    );
    std::fs::write(dir.path().join("calc.js"), "execution.setVariable('x', 1);").expect("write");
    let ok = run_baton(&["validate", good.to_str().expect("utf-8")]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
}

/// `baton run` deploys the `.dmn` files beside the model, so a business rule task evaluates
/// offline; `baton validate` checks a `.dmn` file and names a bad table's line and column.
#[test]
fn run_evaluates_a_decision_beside_the_model_and_validate_checks_dmn() {
    let fixture = |f: &str| {
        repo()
            .join("tests/fixtures/dmn")
            .join(f)
            .display()
            .to_string()
    };
    let out = run_baton(&[
        "run",
        &fixture("dinner.bpmn"),
        "--var",
        "month=1",
        "--var",
        "guestCount=12",
        "--json",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let result = out.result();
    assert_eq!(result["variables"]["meal"], "Roastbeef", "{result}");
    assert_eq!(out.entered(), ["start", "decide", "end"]);

    let ok = run_baton(&["validate", &fixture("dinner.dmn")]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout.contains("dinner.dmn: ok (2 decision(s))"),
        "{}",
        ok.stdout
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.dmn");
    let text = std::fs::read_to_string(fixture("dinner.dmn")).expect("fixture");
    std::fs::write(&bad, text.replace("[3..5]", "[3..")).expect("write");
    let out = run_baton(&["validate", bad.to_str().expect("utf-8")]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("bad.dmn:10:") && out.stderr.contains("error: "),
        "{}",
        out.stderr
    );
}

/// A PostgreSQL database that cannot be reached stops `baton serve` at once with a clear
/// message and exit code 1 (port 1 on loopback: nothing listens there), and a malformed URL is
/// named as such; neither creates a store in the data directory.
#[test]
fn serve_with_an_unreachable_or_malformed_database_exits_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().to_string();
    let down = run_baton(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_arg,
        "--database",
        "postgres://baton@127.0.0.1:1/baton",
    ]);
    assert_eq!(down.code, 1, "stderr: {}", down.stderr);
    assert!(
        down.stderr
            .contains("cannot open the engine on its PostgreSQL database")
            && down
                .stderr
                .contains("cannot connect to the database at 127.0.0.1/baton"),
        "stderr: {}",
        down.stderr
    );
    let malformed = run_baton(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_arg,
        "--database",
        "postgres://baton@[::1/baton",
    ]);
    assert_eq!(malformed.code, 1, "stderr: {}", malformed.stderr);
    assert!(
        malformed.stderr.contains("the database URL is not valid"),
        "stderr: {}",
        malformed.stderr
    );
    assert!(!data.join("store").exists(), "no sled store was created");
}
