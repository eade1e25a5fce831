//! Tests of the WebAssembly task runtime alone (`baton::wasm`), against the real guests built
//! by `tests/build.rs`: outcomes, limits, the world check, determinism, the artifact cache,
//! the epoch ticker's lifetime and concurrency.

use std::path::Path;
use std::time::{Duration, Instant};

use baton::wasm::{
    AllowedHost, FailureKind, Limits, LogLevel, LogStream, PoolingMode, TaskInput, TaskOutcome,
    WasmConfig, WasmError, WasmRuntime,
};
use baton_bpmn::{Value, Variables};
use baton_tests::foreach_guest;
use baton_tests::guests;

/// Every guest must have a test named after it (wasmtime's artifacts trick).
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[expect(unused_imports, reason = "only checks that the test exists")]
        use self::$name as _;
    };
}
// The hostile guests' runtime tests live with their REST tests.
use crate::wasm_hostile::{hostile, huge_table};
foreach_guest!(assert_test_exists);

const CREATED_AT: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

pub(crate) fn runtime() -> WasmRuntime {
    WasmRuntime::new(WasmConfig::default()).expect("runtime")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading guest {path}: {e}"))
}

pub(crate) async fn load(rt: &WasmRuntime, path: &str) -> String {
    rt.load(&read(path)).await.expect("load").sha256
}

pub(crate) fn input(variables: Variables) -> TaskInput {
    TaskInput {
        topic: "test".into(),
        process_instance_id: "pi-1".into(),
        activity_id: "Task_1".into(),
        activity_instance_id: "Task_1:ai-1".into(),
        business_key: Some("order-42".into()),
        attempt: 1,
        retries_left: Some(3),
        variables,
        task_created_at: CREATED_AT,
        seed: 42,
    }
}

pub(crate) fn vars<const N: usize>(pairs: [(&str, Value); N]) -> Variables {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

#[track_caller]
fn completed(outcome: TaskOutcome) -> Variables {
    match outcome {
        TaskOutcome::Completed { variables, .. } => variables,
        other => panic!("expected Completed, got {other:#?}"),
    }
}

#[track_caller]
pub(crate) fn failure(outcome: &TaskOutcome) -> (FailureKind, &str) {
    match outcome {
        TaskOutcome::Failed { kind, message, .. } => (*kind, message.as_str()),
        other => panic!("expected Failed, got {other:#?}"),
    }
}

fn every_value() -> Variables {
    vars([
        ("null", Value::Null),
        ("string", Value::String("grüße, 世界".into())),
        ("boolean", Value::Boolean(true)),
        ("short", Value::Short(i16::MIN)),
        ("integer", Value::Integer(i32::MAX)),
        ("long", Value::Long(i64::MIN)),
        ("double", Value::Double(0.1 + 0.2)),
        ("date", Value::Date(CREATED_AT - 1)),
        (
            "json",
            Value::Json(
                serde_json::json!({"items": [{"sku": "A", "quantity": 2}], "n": null, "f": 1.5}),
            ),
        ),
        ("xml", Value::Xml("<order id=\"1\"/>".into())),
        (
            "object",
            Value::Object {
                type_name: Some("java.util.HashMap".into()),
                format: Some("application/json".into()),
                serialized: "{\"a\":1}".into(),
            },
        ),
        ("bytes", Value::Bytes(vec![0, 1, 254, 255])),
        (
            "file",
            Value::File {
                filename: Some("invoice.pdf".into()),
                mime_type: Some("application/pdf".into()),
                encoding: None,
                bytes: b"%PDF-1.7".to_vec(),
            },
        ),
    ])
}

#[tokio::test]
async fn echo() {
    let rt = runtime();
    let sha = load(&rt, guests::ECHO).await;
    let sent = every_value();
    let mut task = input(sent.clone());
    task.attempt = 3;
    let outcome = rt.execute(&sha, &Limits::default(), task).await;
    let logs = outcome.logs().to_vec();
    let mut got = completed(outcome);

    assert_eq!(got.remove("attempt"), Some(Value::Integer(3)));
    // The wall clock starts at the task's creation time.
    assert_eq!(got.remove("observedNow"), Some(Value::Date(CREATED_AT)));
    assert!(matches!(got.remove("observedMonotonicNs"), Some(Value::Long(n)) if n > 0));
    assert!(matches!(got.remove("observedRandom"), Some(Value::Long(_))));
    // Every value variant came back exactly as sent.
    assert_eq!(got, sent);
    assert!(
        logs.iter().any(|l| l.stream == LogStream::Log
            && l.level == LogLevel::Info
            && l.message.contains("13 variables")),
        "{logs:?}"
    );
}

/// The benchmark guest: every value variant comes back unchanged, and nothing else does.
#[tokio::test]
async fn pass() {
    let rt = runtime();
    let sha = load(&rt, guests::PASS).await;
    let sent = every_value();
    let outcome = rt
        .execute(&sha, &Limits::default(), input(sent.clone()))
        .await;
    assert!(outcome.logs().is_empty(), "{:?}", outcome.logs());
    assert_eq!(completed(outcome), sent);
}

#[tokio::test]
async fn same_task_sees_the_same_world() {
    let rt = runtime();
    let sha = load(&rt, guests::ECHO).await;
    let limits = Limits::default();
    let first = completed(rt.execute(&sha, &limits, input(Variables::new())).await);
    let again = completed(rt.execute(&sha, &limits, input(Variables::new())).await);
    assert_eq!(
        first, again,
        "a retry must observe the same clock and random values"
    );

    let mut other = input(Variables::new());
    other.seed = 43;
    other.task_created_at = CREATED_AT + 1000;
    let other = completed(rt.execute(&sha, &limits, other).await);
    assert_ne!(first.get("observedRandom"), other.get("observedRandom"));
    assert_eq!(
        other.get("observedNow"),
        Some(&Value::Date(CREATED_AT + 1000))
    );
}

#[tokio::test]
async fn stock_check() {
    let rt = runtime();
    let sha = load(&rt, guests::STOCK_CHECK).await;
    let limits = Limits::default();

    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "B-2", "quantity": 100}]);
    let got = completed(
        rt.execute(&sha, &limits, input(vars([("items", Value::Json(items))])))
            .await,
    );
    assert_eq!(got.get("available"), Some(&Value::Boolean(true)));
    assert_eq!(
        got.get("missing"),
        Some(&Value::Json(serde_json::json!([])))
    );

    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "OUT-7", "quantity": 1}]);
    let got = completed(
        rt.execute(&sha, &limits, input(vars([("items", Value::Json(items))])))
            .await,
    );
    assert_eq!(got.get("available"), Some(&Value::Boolean(false)));
    assert_eq!(
        got.get("missing"),
        Some(&Value::Json(
            serde_json::json!([{"sku": "OUT-7", "quantity": 1, "inStock": 0}])
        ))
    );

    // A missing variable is the guest's own failure, with its message.
    let outcome = rt.execute(&sha, &limits, input(Variables::new())).await;
    assert_eq!(
        failure(&outcome),
        (FailureKind::Guest, "variable `items` is missing")
    );
}

#[tokio::test]
async fn payment() {
    let rt = runtime();
    let sha = load(&rt, guests::PAYMENT).await;
    let limits = Limits::default();

    let got = completed(
        rt.execute(
            &sha,
            &limits,
            input(vars([("amount", Value::Integer(250))])),
        )
        .await,
    );
    assert_eq!(
        got.get("paymentId"),
        Some(&Value::String("PAY-pi-1-1".into()))
    );

    match rt
        .execute(
            &sha,
            &limits,
            input(vars([("amount", Value::Double(1000.5))])),
        )
        .await
    {
        TaskOutcome::BpmnError {
            code,
            message,
            variables,
            ..
        } => {
            assert_eq!(code, "PAYMENT_DECLINED");
            assert_eq!(
                message.as_deref(),
                Some("amount 1000.5 exceeds the limit of 1000")
            );
            assert_eq!(
                variables.get("declinedAmount"),
                Some(&Value::Double(1000.5))
            );
        }
        other => panic!("expected a BPMN error, got {other:#?}"),
    }
}

#[tokio::test]
async fn send_mail() {
    let rt = runtime();
    let sha = load(&rt, guests::SEND_MAIL).await;
    let outcome = rt
        .execute(
            &sha,
            &Limits::default(),
            input(vars([("customer", Value::String("Ada".into()))])),
        )
        .await;
    let logs = outcome.logs().to_vec();
    let got = completed(outcome);
    let body = "Dear Ada, your order order-42 is confirmed.";
    assert_eq!(got.get("mailBody"), Some(&Value::String(body.into())));
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].level, LogLevel::Info);
    assert_eq!(logs[0].message, format!("sending mail: {body}"));
}

#[tokio::test]
async fn spin_loop() {
    let rt = runtime();
    let sha = load(&rt, guests::SPIN_LOOP).await;

    // Fuel: deterministic, and reported with the configured amount.
    let limits = Limits {
        fuel: 10_000_000,
        ..Limits::default()
    };
    let outcome = rt.execute(&sha, &limits, input(Variables::new())).await;
    assert_eq!(
        failure(&outcome),
        (
            FailureKind::FuelExhausted,
            "fuel exhausted after 10,000,000 units"
        )
    );
    // The default fuel stops a runaway loop long before the default deadline.
    let started = Instant::now();
    let outcome = rt
        .execute(&sha, &Limits::default(), input(Variables::new()))
        .await;
    println!("default fuel exhausted in {:?}", started.elapsed());
    assert_eq!(failure(&outcome).0, FailureKind::FuelExhausted);

    // With fuel out of the way the wall-time deadline (epoch interruption) ends it.
    let limits = Limits {
        fuel: u64::MAX,
        deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = Instant::now();
    let outcome = rt.execute(&sha, &limits, input(Variables::new())).await;
    let elapsed = started.elapsed();
    assert_eq!(
        failure(&outcome),
        (FailureKind::Deadline, "deadline of 300 ms exceeded")
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "took {elapsed:?}"
    );
}

#[tokio::test]
async fn alloc_bomb() {
    let rt = runtime();
    let sha = load(&rt, guests::ALLOC_BOMB).await;
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    let outcome = rt.execute(&sha, &limits, input(Variables::new())).await;
    assert_eq!(
        failure(&outcome),
        (FailureKind::Memory, "memory limit of 16 MiB exceeded")
    );
}

#[tokio::test]
async fn panic() {
    let rt = runtime();
    let sha = load(&rt, guests::PANIC).await;
    let outcome = rt
        .execute(&sha, &Limits::default(), input(Variables::new()))
        .await;
    let (kind, message) = failure(&outcome);
    assert_eq!(kind, FailureKind::Trap);
    assert!(message.starts_with("wasm trap: "), "{message}");
    assert!(
        message.contains("guest panicked on purpose in activity Task_1"),
        "the panic message belongs in the failure: {message}"
    );
    assert!(
        outcome
            .logs()
            .iter()
            .any(|l| l.stream == LogStream::Stderr && l.message.contains("panicked at")),
        "stderr is captured into the log: {:?}",
        outcome.logs()
    );
}

#[tokio::test]
async fn flaky() {
    let rt = runtime();
    let sha = load(&rt, guests::FLAKY).await;
    let outcome = rt
        .execute(&sha, &Limits::default(), input(Variables::new()))
        .await;
    let TaskOutcome::Failed { kind, details, .. } = &outcome else {
        panic!("attempt 1 fails: {outcome:?}");
    };
    assert_eq!(*kind, FailureKind::Guest);
    let seen = details.clone().unwrap_or_default();
    let mut retry = input(Variables::new());
    retry.attempt = 2;
    let TaskOutcome::Completed { variables, .. } =
        rt.execute(&sha, &Limits::default(), retry).await
    else {
        panic!("attempt 2 succeeds");
    };
    let now = match variables.get("observedNow") {
        Some(Value::Date(ms)) => *ms,
        other => panic!("observedNow: {other:?}"),
    };
    let random = match variables.get("observedRandom") {
        Some(Value::Long(n)) => *n,
        other => panic!("observedRandom: {other:?}"),
    };
    assert_eq!(
        seen,
        format!("now={now} random={random}"),
        "the retry saw the same world"
    );
    assert_eq!(now, CREATED_AT);
}

#[tokio::test]
async fn wrong_signature() {
    let err = runtime()
        .load(&read(guests::WRONG_SIGNATURE))
        .await
        .expect_err("must be rejected");
    let WasmError::WorldMismatch(message) = &err else {
        panic!("expected WorldMismatch, got {err:?}");
    };
    assert!(
        message.contains("export `execute` does not have the signature"),
        "{message}"
    );
}

#[tokio::test]
async fn foreign_import() {
    let err = runtime()
        .load(&read(guests::FOREIGN_IMPORT))
        .await
        .expect_err("must be rejected");
    let WasmError::WorldMismatch(message) = &err else {
        panic!("expected WorldMismatch, got {err:?}");
    };
    assert!(
        message.contains("import `acme:vault/secrets@1.0.0` is not provided"),
        "{message}"
    );
}

#[tokio::test]
async fn http_fetch() {
    let rt = runtime();
    let info = rt.load(&read(guests::HTTP_FETCH)).await.expect("load");
    assert!(info.outbound_http, "{info:?}");
    assert!(
        info.world_check.contains("wasi:http/outgoing-handler"),
        "{}",
        info.world_check
    );
    assert!(
        !rt.load(&read(guests::ECHO))
            .await
            .expect("echo")
            .outbound_http
    );

    let (addr, hits) = baton_tests::pong_server().await;
    let url = vars([("url", Value::String(format!("http://{addr}/ping")))]);
    let granted = |entries: &[&str]| Limits {
        allowed_hosts: entries
            .iter()
            .map(|e| AllowedHost::parse(e).expect("entry"))
            .collect(),
        ..Limits::default()
    };

    let out = completed(
        rt.execute(
            &info.sha256,
            &granted(&[&addr.to_string()]),
            input(url.clone()),
        )
        .await,
    );
    assert_eq!(out.get("status"), Some(&Value::Integer(200)));
    assert_eq!(out.get("body"), Some(&Value::String("pong".into())));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // No grant, or the right host on another port: denied before anything is sent.
    for limits in [
        Limits::default(),
        granted(&["127.0.0.1"]),
        granted(&["localhost:*"]),
    ] {
        let outcome = rt.execute(&info.sha256, &limits, input(url.clone())).await;
        let (kind, message) = failure(&outcome);
        assert_eq!(kind, FailureKind::Guest);
        assert!(message.contains("HttpRequestDenied"), "{message}");
        assert!(
            outcome
                .logs()
                .iter()
                .any(|l| l.level == LogLevel::Warn && l.message.contains("outbound HTTP denied")),
            "{:?}",
            outcome.logs()
        );
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The `mix` kernel of `guests/cpu-bound`, natively.
fn cpu_mix(rounds: u64) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..rounds {
        x = x.wrapping_add(i);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

/// The `scan` kernel of `guests/cpu-bound`, natively.
fn cpu_scan(rounds: u64) -> u64 {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut digest: u64 = 0;
    let mut in_word = false;
    for _ in 0..rounds {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let byte = (state >> 56) as u8;
        let class: u64 = match byte {
            b'0'..=b'9' => 1,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => 2,
            b' ' | b'\t' | b'\n' | b'\r' => 3,
            b'"' | b'\'' => 4,
            b'{' | b'}' | b'[' | b']' | b'(' | b')' => 5,
            0..=31 | 127 => 6,
            _ => 7,
        };
        if class == 2 {
            if !in_word {
                digest = digest.wrapping_add(1);
            }
            in_word = true;
        } else {
            in_word = false;
        }
        digest = digest.rotate_left(5) ^ class;
    }
    digest
}

#[tokio::test]
async fn cpu_bound() {
    let rt = runtime();
    let sha = load(&rt, guests::CPU_BOUND).await;
    for rounds in [0i64, 1, 1000, 100_000] {
        for (kernel, native) in [
            ("mix", cpu_mix(rounds as u64)),
            ("scan", cpu_scan(rounds as u64)),
        ] {
            let variables = vars([
                ("rounds", Value::Long(rounds)),
                ("kernel", Value::String(kernel.into())),
            ]);
            let out = completed(rt.execute(&sha, &Limits::default(), input(variables)).await);
            assert_eq!(
                out.get("digest"),
                Some(&Value::Long(native as i64)),
                "{kernel}, rounds {rounds}"
            );
        }
    }
    let unknown = rt
        .execute(
            &sha,
            &Limits::default(),
            input(vars([("kernel", Value::String("fft".into()))])),
        )
        .await;
    assert!(failure(&unknown).1.contains("unknown kernel `fft`"));
    // Fuel grows with the work: 10^8 rounds cannot fit in the default 10^8 units.
    let outcome = rt
        .execute(
            &sha,
            &Limits::default(),
            input(vars([("rounds", Value::Long(100_000_000))])),
        )
        .await;
    assert_eq!(failure(&outcome).0, FailureKind::FuelExhausted);
}

#[tokio::test]
async fn bad_bytes_are_rejected_clearly() {
    let rt = runtime();
    let err = rt.load(b"definitely not wasm").await.expect_err("garbage");
    assert!(
        matches!(&err, WasmError::NotAComponent(m) if m.contains("not WebAssembly")),
        "{err:?}"
    );

    // The smallest core module: magic + version 1.
    let err = rt.load(b"\0asm\x01\0\0\0").await.expect_err("core module");
    assert!(
        matches!(&err, WasmError::NotAComponent(m) if m.contains("core WebAssembly module")),
        "{err:?}"
    );

    // The smallest component: valid, but it exports nothing.
    let err = rt
        .load(b"\0asm\x0d\0\x01\0")
        .await
        .expect_err("empty component");
    assert!(
        matches!(&err, WasmError::WorldMismatch(m)
            if m == "export `execute` of `baton:task/service-task@0.1.0` not found (it has no exports)"),
        "{err:?}"
    );

    // A truncated component fails to compile, without panicking.
    let echo = read(guests::ECHO);
    let err = rt
        .load(&echo[..echo.len() / 2])
        .await
        .expect_err("truncated");
    assert!(matches!(err, WasmError::Compile(_)), "{err:?}");
    // Only the empty component got as far as compiling.
    assert_eq!(rt.compile_count(), 1);
}

#[tokio::test]
async fn unknown_module_is_not_loaded() {
    let rt = runtime();
    assert!(!rt.is_loaded("00"));
    let outcome = rt
        .execute("00", &Limits::default(), input(Variables::new()))
        .await;
    assert_eq!(failure(&outcome).0, FailureKind::NotLoaded);
}

#[tokio::test]
async fn compiled_artifacts_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || WasmConfig {
        cache_dir: Some(dir.path().to_owned()),
        ..WasmConfig::default()
    };
    let bytes = read(guests::ECHO);

    let first = WasmRuntime::new(config()).expect("runtime");
    let info = first.load(&bytes).await.expect("load");
    assert!(!info.from_cache);
    assert_eq!(first.compile_count(), 1);
    assert!(first.is_loaded(&info.sha256));
    assert!(
        info.world_check.starts_with(
            "baton:task/service-task@0.1.0: exports execute; imports baton:task/log@0.1.0"
        ),
        "{}",
        info.world_check
    );
    // Loading again is a memory hit.
    assert!(first.load(&bytes).await.expect("reload").from_cache);
    assert_eq!(first.compile_count(), 1);
    drop(first);
    assert_eq!(artifacts(dir.path()), 1);

    // "Restart": a new runtime on the same directory deserializes instead of compiling.
    let second = WasmRuntime::new(config()).expect("runtime");
    let again = second.load(&bytes).await.expect("load from disk");
    assert!(again.from_cache);
    assert_eq!(again.sha256, info.sha256);
    assert_eq!(second.compile_count(), 0);
    completed(
        second
            .execute(&again.sha256, &Limits::default(), input(Variables::new()))
            .await,
    );
    drop(second);

    // A corrupt artifact is detected and replaced by a recompile.
    for entry in std::fs::read_dir(dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        let mut data = std::fs::read(&path).expect("read artifact");
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, data).expect("corrupt artifact");
    }
    let third = WasmRuntime::new(config()).expect("runtime");
    assert!(!third.load(&bytes).await.expect("recompile").from_cache);
    assert_eq!(third.compile_count(), 1);
}

fn artifacts(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        })
        .count()
}

#[tokio::test]
async fn ticker_thread_exits_when_the_runtime_is_dropped() {
    let rt = runtime();
    let sha = load(&rt, guests::ECHO).await;
    completed(
        rt.execute(&sha, &Limits::default(), input(Variables::new()))
            .await,
    );
    let ticker = rt.ticker();
    assert!(ticker.is_running());
    drop(rt);
    let deadline = Instant::now() + Duration::from_secs(2);
    while ticker.is_running() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        !ticker.is_running(),
        "the epoch ticker outlived its runtime"
    );
}

/// On a single-threaded runtime a spinning guest must still let an echo finish: executions
/// yield to tokio on every epoch tick.
#[tokio::test(flavor = "current_thread")]
async fn executions_keep_running_while_one_spins() {
    let rt = runtime();
    let spin = load(&rt, guests::SPIN_LOOP).await;
    let echo = load(&rt, guests::ECHO).await;
    let spin_limits = Limits {
        fuel: u64::MAX,
        deadline: Duration::from_secs(2),
        ..Limits::default()
    };
    let spinning = tokio::spawn({
        let rt = rt.clone();
        async move {
            rt.execute(&spin, &spin_limits, input(Variables::new()))
                .await
        }
    });
    // Let the spinner start first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    completed(
        rt.execute(&echo, &Limits::default(), input(Variables::new()))
            .await,
    );
    let echo_took = started.elapsed();
    assert!(
        !spinning.is_finished(),
        "the spinner should still be running"
    );
    assert!(
        echo_took < Duration::from_millis(1000),
        "echo waited for the spinner: {echo_took:?}"
    );
    let outcome = spinning.await.expect("join");
    assert_eq!(failure(&outcome).0, FailureKind::Deadline);
}

/// CPU time the calling thread has used (Linux's per-thread scheduler statistics, in ns).
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (this test needs Linux's scheduler statistics)");
    let ns = stat
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with the thread's CPU time in ns");
    Duration::from_nanos(ns)
}

/// A short guest ends on the caller's thread; one that computes longer goes on on the guest
/// threads (below the engine's priority) after its first stretch of fuel, so the caller's
/// thread spends next to nothing on it.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn a_guest_that_computes_runs_on_the_guest_threads_not_the_callers() {
    let rt = runtime();
    let spin = load(&rt, guests::SPIN_LOOP).await;
    let echo = load(&rt, guests::ECHO).await;
    completed(
        rt.execute(&echo, &Limits::default(), input(Variables::new()))
            .await,
    );
    let limits = Limits {
        fuel: u64::MAX,
        deadline: Duration::from_millis(400),
        ..Limits::default()
    };
    let (cpu, wall) = (thread_cpu_time(), Instant::now());
    let outcome = rt.execute(&spin, &limits, input(Variables::new())).await;
    let (cpu, wall) = (thread_cpu_time() - cpu, wall.elapsed());
    assert_eq!(failure(&outcome).0, FailureKind::Deadline);
    assert!(wall >= Duration::from_millis(400), "{wall:?}");
    assert!(
        cpu < Duration::from_millis(5),
        "the caller's thread computed {cpu:?} of a {wall:?} spin"
    );
}

#[test]
fn pooling_modes() {
    // Off always works; Auto works everywhere (falling back when it must).
    let off = WasmRuntime::new(WasmConfig {
        pooling: PoolingMode::Off,
        ..WasmConfig::default()
    })
    .expect("on-demand runtime");
    assert!(!off.pooling_enabled());
    WasmRuntime::new(WasmConfig::default()).expect("auto runtime");
}

/// The polyglot `stock-check` guests (componentize-py, componentize-js). Build them first:
/// `bash guests/build-polyglot.sh`, then
/// `cargo test -p baton-tests --test e2e wasm_runtime::polyglot -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "needs guests/build-polyglot.sh (pip/npm toolchains, ~30 MB of wasm)"]
async fn polyglot_stock_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/target/polyglot");
    // A persistent artifact cache: compiling these ~15 MB components takes 30-90 s.
    let rt = WasmRuntime::new(WasmConfig {
        cache_dir: Some(std::env::temp_dir().join("baton-polyglot-artifacts")),
        ..WasmConfig::default()
    })
    .expect("runtime");
    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "OUT-7", "quantity": 1}]);
    let task = || input(vars([("items", Value::Json(items.clone()))]));
    for name in ["stock_check_py.wasm", "stock_check_js.wasm"] {
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run guests/build-polyglot.sh)", path.display()));
        let started = Instant::now();
        let info = rt
            .load(&bytes)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "{name}: {} bytes, loaded in {:?} (from cache: {}); {}",
            info.size,
            started.elapsed(),
            info.from_cache,
            info.world_check
        );

        // The default limits are sized for Rust guests; show what an interpreter runs into.
        let outcome = rt.execute(&info.sha256, &Limits::default(), task()).await;
        if let TaskOutcome::Failed { kind, message, .. } = &outcome {
            println!("{name}: with default limits: {kind}: {message}");
        } else {
            println!("{name}: with default limits: completed");
        }

        let limits = Limits {
            // Interpreters start with larger tables and more instances than Rust guests.
            table_elements: 100_000,
            instances: 50,
            memory_bytes: 256 << 20,
            ..Limits::default()
        };
        let mut samples = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let got = completed(rt.execute(&info.sha256, &limits, task()).await);
            samples.push(started.elapsed());
            assert_eq!(got.get("available"), Some(&Value::Boolean(false)), "{name}");
            assert_eq!(
                got.get("missing"),
                Some(&Value::Json(
                    serde_json::json!([{"sku": "OUT-7", "quantity": 1, "inStock": 0}])
                )),
                "{name}"
            );
        }
        println!("{name}: per task (instantiate + call + drop): {samples:?}");
        let items = serde_json::json!([{"sku": "A-1", "quantity": 2}]);
        let got = completed(
            rt.execute(
                &info.sha256,
                &limits,
                input(vars([("items", Value::Json(items))])),
            )
            .await,
        );
        assert_eq!(got.get("available"), Some(&Value::Boolean(true)), "{name}");
    }
}

/// The runtime is shared across tasks and threads.
const _: fn() = || {
    fn check<T: Send + Sync + Clone>() {}
    check::<WasmRuntime>();
};

/// How much fuel each guest's stock-check-sized task burns (bisection on the fuel limit), to
/// keep the default fuel limit honest:
/// `cargo test -p baton-tests --test e2e wasm_runtime::fuel_profile -- --ignored --nocapture`
/// (the polyglot guests are included when guests/build-polyglot.sh has built them).
#[tokio::test]
#[ignore = "measurement, not a check"]
async fn fuel_profile() {
    let rt = WasmRuntime::new(WasmConfig {
        cache_dir: Some(std::env::temp_dir().join("baton-polyglot-artifacts")),
        ..WasmConfig::default()
    })
    .expect("runtime");
    let polyglot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/target/polyglot");
    let mut candidates = vec![
        ("echo".to_owned(), std::path::PathBuf::from(guests::ECHO)),
        ("stock-check".to_owned(), guests::STOCK_CHECK.into()),
    ];
    for name in ["stock_check_py.wasm", "stock_check_js.wasm"] {
        if polyglot.join(name).exists() {
            candidates.push((name.to_owned(), polyglot.join(name)));
        }
    }
    let items = serde_json::json!([{"sku": "A-1", "quantity": 2}, {"sku": "OUT-7", "quantity": 1}]);
    for (name, path) in candidates {
        let sha = rt
            .load(&std::fs::read(&path).expect("read"))
            .await
            .expect("load")
            .sha256;
        let (mut low, mut high) = (0u64, 1u64 << 40);
        while high - low > high / 100 {
            let fuel = low + (high - low) / 2;
            let limits = Limits {
                fuel,
                table_elements: 100_000,
                instances: 50,
                memory_bytes: 256 << 20,
                deadline: Duration::from_secs(30),
                ..Limits::default()
            };
            let task = input(vars([("items", Value::Json(items.clone()))]));
            match rt.execute(&sha, &limits, task).await {
                TaskOutcome::Failed {
                    kind: FailureKind::FuelExhausted,
                    ..
                } => low = fuel,
                _ => high = fuel,
            }
        }
        println!("{name}: needs about {high} fuel units");
    }
}
