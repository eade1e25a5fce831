//! A real webhook receiver for the notification tests and the benchmark: an HTTP server on
//! `127.0.0.1:0` that records every request (headers and JSON body) and answers as told
//! (200, an error status for the first N requests, or never).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value as Json;
use tokio::sync::Notify;

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// 200 to everything.
    Ok,
    /// This status to the first `n` requests, then 200.
    FailFirst(u16, usize),
    /// Never answers (holds the connection open).
    Hang,
}

/// One received request.
#[derive(Debug, Clone)]
pub struct Received {
    /// Lower-case header names to values.
    pub headers: HashMap<String, String>,
    /// The raw body.
    pub raw: Vec<u8>,
    /// The body as JSON (`Null` if it is not JSON).
    pub body: Json,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    mode: Arc<Mutex<Mode>>,
}

/// The running receiver (stops when dropped).
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

async fn hook(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let index = {
        let mut all = s.received.lock().expect("receiver lock");
        all.push(Received {
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            raw: body.to_vec(),
            body: serde_json::from_slice(&body).unwrap_or(Json::Null),
        });
        all.len()
    };
    s.arrived.notify_waiters();
    let mode = *s.mode.lock().expect("mode lock");
    match mode {
        Mode::Ok => StatusCode::OK,
        Mode::FailFirst(status, n) if index <= n => {
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }
        Mode::FailFirst(..) => StatusCode::OK,
        Mode::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Start a receiver answering per `mode`.
    pub async fn start(mode: Mode) -> Result<Receiver> {
        Receiver::start_on("127.0.0.1:0", mode).await
    }

    /// Start on a given address (a restarted receiver can take the old port).
    pub async fn start_on(addr: &str, mode: Mode) -> Result<Receiver> {
        let shared = Shared {
            received: Arc::new(Mutex::new(Vec::new())),
            arrived: Arc::new(Notify::new()),
            mode: Arc::new(Mutex::new(mode)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            url: format!("http://{local}/hook"),
            shared,
            task,
        })
    }

    /// Change how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("mode lock") = mode;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("receiver lock").clone()
    }

    /// Wait (up to `within`) until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Result<Vec<Received>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let now = self.received();
            if now.len() >= n {
                return Ok(now);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                bail!(
                    "expected {n} webhook requests within {within:?}, got {}: {:?}",
                    now.len(),
                    now.iter().map(|r| &r.body).collect::<Vec<_>>()
                );
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
