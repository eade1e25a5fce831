//! Issue 20, point 2: a full disk and a torn write at the end of the log.
//!
//! - Disk full: `baton serve` runs under a file-size limit (`RLIMIT_FSIZE` via `ulimit -f`,
//!   with `SIGXFSZ` ignored so writes fail with `EFBIG`; no root or tmpfs needed) a little
//!   above its store's size, and is loaded with starts until its store cannot grow. Every
//!   refused start gets Camunda's error shape (500/503, no panic text), the process stays up,
//!   and after a restart without the limit every acknowledged start is there and new work
//!   runs.
//! - Torn write: after a SIGKILL under load, the last bytes of the store's log file are cut
//!   off; the restart recovers and every start acknowledged before the kill is there.
//!
//! Needs `target/<profile>/baton`: `cargo build -p baton --bin baton`.

use std::path::Path;
use std::time::{Duration, Instant};

use baton_tests::bpmn::one_task;
use baton_tests::{BatonProcess, RestClient};
use serde_json::json;

/// The sled log file (`<data>/store/db`): everything the store writes goes there.
fn log_file(data: &Path) -> std::path::PathBuf {
    data.join("store").join("db")
}

/// Starts instances until `stop` says so or a start is refused; returns the acknowledged ids
/// and the first refusal (status, body).
async fn start_until_refused(
    client: &RestClient,
    deadline: Instant,
) -> (Vec<String>, Option<(u16, serde_json::Value)>) {
    let mut acked = Vec::new();
    let payload = "x".repeat(4 << 10);
    while Instant::now() < deadline {
        let body = json!({"variables": {"payload": {"value": payload, "type": "String"}}});
        match client
            .post("/process-definition/key/disk/start", &body)
            .await
        {
            Ok(a) if a.ok() => acked.push(a.body["id"].as_str().unwrap_or_default().to_owned()),
            Ok(a) => return (acked, Some((a.status, a.body))),
            Err(e) => return (acked, Some((0, json!(e.to_string())))),
        }
    }
    (acked, None)
}

async fn assert_all_there(client: &RestClient, acked: &[String]) {
    for id in acked {
        assert!(
            client
                .instance_history(id)
                .await
                .expect("history")
                .is_some(),
            "acknowledged start {id} is lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_cleanly_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = BatonProcess::spawn(&data, &[]).expect("spawn");
    server
        .client
        .deploy("disk", &one_task("disk", "disk"))
        .await
        .expect("deploy");
    server.terminate().expect("stop");
    let size = std::fs::metadata(log_file(&data))
        .expect("store file")
        .len();

    // Room for a few hundred starts, then the store file cannot grow.
    let limit = size + (4 << 20);
    let mut server =
        BatonProcess::spawn_with_file_limit(&data, &[], limit).expect("spawn with limit");
    let (acked, refusal) =
        start_until_refused(&server.client, Instant::now() + Duration::from_secs(60)).await;
    eprintln!(
        "disk full: store file {size} bytes, limit {limit}; {} starts acknowledged, then {refusal:?}",
        acked.len()
    );
    let (status, body) = refusal.expect("the store never filled up");
    assert!(
        status == 500 || status == 503,
        "a full disk answered {status} {body}"
    );
    assert!(
        body["type"] == "RestException" || body["type"] == "ProcessEngineException",
        "{body}"
    );
    assert!(!acked.is_empty(), "nothing fit before the limit");
    assert!(server.is_running(), "baton died when the disk filled up");
    // Still full: reads answer, writes are refused the same way.
    let engine = server.client.get("/engine").await.expect("GET /engine");
    assert_eq!(engine.status, 200, "{engine:?}");
    server.kill9().expect("kill");

    // Space returns: everything acknowledged is there, and work goes on.
    let server = BatonProcess::spawn(&data, &[]).expect("respawn");
    assert_all_there(&server.client, &acked).await;
    let id = server
        .client
        .start("disk", json!({}))
        .await
        .expect("start after space returned");
    assert!(
        server
            .client
            .instance_history(&id)
            .await
            .expect("h")
            .is_some()
    );
    let status = server.terminate().expect("stop");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_write_at_the_end_of_the_log_is_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = BatonProcess::spawn(&data, &[]).expect("spawn");
    server
        .client
        .deploy("disk", &one_task("disk", "disk"))
        .await
        .expect("deploy");
    let (acked, refusal) =
        start_until_refused(&server.client, Instant::now() + Duration::from_millis(1500)).await;
    assert!(refusal.is_none(), "{refusal:?}");
    // Unacknowledged writes may be in flight when the process dies mid-write.
    let client = server.client.clone();
    let in_flight = tokio::spawn(async move {
        start_until_refused(&client, Instant::now() + Duration::from_secs(5)).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill9().expect("kill");
    let (more, _) = in_flight.await.expect("in flight");

    // Cut the last 100 written bytes of the log (sled preallocates: the file ends in zeros,
    // so the cut is made at the last non-zero byte): a write the kill interrupted half way.
    let file = log_file(&data);
    let bytes = std::fs::read(&file).expect("log");
    let written = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let keep = written.saturating_sub(100) as u64;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open log");
    f.set_len(keep).expect("truncate");
    drop(f);
    eprintln!(
        "torn write: log of {} bytes, last non-zero byte at {written}, cut to {keep}; {} + {} \
         starts acknowledged",
        bytes.len(),
        acked.len(),
        more.len()
    );

    let server = BatonProcess::spawn(&data, &[]).expect("recovered");
    assert_all_there(&server.client, &acked).await;
    assert_all_there(&server.client, &more).await;
    let id = server
        .client
        .start("disk", json!({}))
        .await
        .expect("start after recovery");
    assert!(
        server
            .client
            .instance_history(&id)
            .await
            .expect("h")
            .is_some()
    );
    let status = server.terminate().expect("stop");
    assert!(status.success(), "{status:?}");
}
