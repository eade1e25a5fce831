//! `GET /metrics`: the engine's counters in the Prometheus text exposition format (0.0.4),
//! from [`crate::engine::ProcessEngine::metrics`]. Counters end in `_total`; per-topic series
//! carry a `topic` label; wasm execution times are a summary (count, sum, and quantiles over
//! the last 100 executions of each topic); incidents carry their `type`; request latencies
//! are a histogram per `method` and `route`, where `route` is the router's template
//! (`/engine-rest/external-task/{id}/complete`) or `unmatched`, never the raw path, so the
//! number of series stays bounded by the routes baton serves. This module also holds the
//! middleware ([`track`]) that records those latencies.

use std::fmt::Write as _;

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::CockpitState;
use crate::engine::{LATENCY_BUCKETS, LatencySnapshot, MetricsSnapshot, ProcessEngine};

/// The middleware: time each request and record it under its route template. The time is
/// until the response head is ready (a long poll's wait counts; a streamed body does not).
pub async fn track(State(engine): State<ProcessEngine>, req: Request, next: Next) -> Response {
    // A clone of the extension shares its string (no allocation per request).
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    engine.observe_request(
        method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// A bounded method label: the standard methods by name, anything else `OTHER`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The handler.
pub async fn handler(State(state): State<CockpitState>) -> Response {
    let mut body = render(&state.engine.metrics());
    render_notifications(&mut body, &state.engine.notification_metrics());
    render_latencies(&mut body, &state.engine.request_latencies());
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The failure notification counters (issue 22).
fn render_notifications(out: &mut String, n: &crate::engine::notifications::NotificationMetrics) {
    metric(
        out,
        "baton_notifications_delivered_total",
        "counter",
        "Notifications the receiver accepted (2xx).",
        n.delivered,
    );
    metric(
        out,
        "baton_notifications_failed_attempts_total",
        "counter",
        "Notification attempts that failed (error status, time-out, no connection); retried.",
        n.failed_attempts,
    );
    metric(
        out,
        "baton_notifications_given_up_total",
        "counter",
        "Notifications given up after their last attempt failed.",
        n.given_up,
    );
    metric(
        out,
        "baton_notifications_grouped_total",
        "counter",
        "Events folded into an existing notification of their rule and window.",
        n.grouped,
    );
    metric(
        out,
        "baton_notifications_pending",
        "gauge",
        "Notifications waiting for their first attempt or a retry.",
        n.pending,
    );
}

/// Escape a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1e6
}

/// One unlabelled series: name, Prometheus type, help text, value.
type Series = (&'static str, &'static str, &'static str, u64);

/// The engine-wide counters, in exposition order.
fn counters(m: &MetricsSnapshot) -> [Series; 10] {
    [
        (
            "baton_instances_started_total",
            "counter",
            "Process instances started.",
            m.instances_started,
        ),
        (
            "baton_instances_completed_total",
            "counter",
            "Process instances that reached their end.",
            m.instances_completed,
        ),
        (
            "baton_instances_canceled_total",
            "counter",
            "Process instances cancelled.",
            m.instances_canceled,
        ),
        (
            "baton_incidents_raised_total",
            "counter",
            "Incidents raised.",
            m.incidents_raised,
        ),
        (
            "baton_fetch_and_lock_requests_total",
            "counter",
            "fetchAndLock requests.",
            m.fetch_and_lock_requests,
        ),
        (
            "baton_fetch_and_lock_waits_total",
            "counter",
            "fetchAndLock requests that waited (long polling).",
            m.fetch_and_lock_waits,
        ),
        (
            "baton_fetch_and_lock_hand_offs_total",
            "counter",
            "Tasks locked for a parked long poll by the command that created them.",
            m.fetch_and_lock_hand_offs,
        ),
        (
            "baton_fetch_and_lock_parked",
            "gauge",
            "Long-poll requests waiting now.",
            m.fetch_and_lock_parked,
        ),
        (
            "baton_wasm_executions_total",
            "counter",
            "In-engine (wasm) task executions.",
            m.wasm_executions,
        ),
        (
            "baton_wasm_failures_total",
            "counter",
            "In-engine (wasm) task executions that failed.",
            m.wasm_failures,
        ),
    ]
}

/// The gauges of what exists now, in exposition order.
fn gauges(m: &MetricsSnapshot) -> [Series; 5] {
    [
        (
            "baton_store_bytes",
            "gauge",
            "Bytes the store uses on disk.",
            m.store_bytes,
        ),
        (
            "baton_running_instances",
            "gauge",
            "Running process instances.",
            m.running_instances,
        ),
        (
            "baton_open_incidents",
            "gauge",
            "Open incidents.",
            m.open_incidents,
        ),
        (
            "baton_open_user_tasks",
            "gauge",
            "Open user tasks.",
            m.open_user_tasks,
        ),
        (
            "baton_open_external_tasks",
            "gauge",
            "Open external tasks.",
            m.open_external_tasks,
        ),
    ]
}

/// Per-topic task counters.
fn topic_counters(out: &mut String, m: &MetricsSnapshot) {
    for (name, help, map) in [
        (
            "baton_external_tasks_created_total",
            "External tasks created, by topic.",
            &m.tasks_created_by_topic,
        ),
        (
            "baton_external_tasks_completed_total",
            "External tasks completed, by topic.",
            &m.tasks_completed_by_topic,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (topic, v) in map {
            let _ = writeln!(out, "{name}{{topic=\"{}\"}} {v}", label(topic));
        }
    }
}

/// Total wasm execution time.
fn wasm_total(out: &mut String, m: &MetricsSnapshot) {
    let _ = writeln!(
        out,
        "# HELP baton_wasm_execution_seconds_total Time spent in in-engine executions."
    );
    let _ = writeln!(out, "# TYPE baton_wasm_execution_seconds_total counter");
    let _ = writeln!(
        out,
        "baton_wasm_execution_seconds_total {}",
        m.wasm_micros_total as f64 / 1e6
    );
}

/// Wasm execution time per topic: a summary over its recent executions.
fn wasm_recent(out: &mut String, m: &MetricsSnapshot) {
    let name = "baton_wasm_recent_execution_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} In-engine execution time by topic over the last 100 executions."
    );
    let _ = writeln!(out, "# TYPE {name} summary");
    for (topic, samples) in &m.recent_wasm_micros {
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        let t = label(topic);
        for q in [0.5, 0.9, 0.99] {
            let _ = writeln!(
                out,
                "{name}{{topic=\"{t}\",quantile=\"{q}\"}} {}",
                quantile(&sorted, q)
            );
        }
        let sum: u64 = sorted.iter().sum();
        let _ = writeln!(out, "{name}_sum{{topic=\"{t}\"}} {}", sum as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{{topic=\"{t}\"}} {}", sorted.len());
    }
}

/// Failures, BPMN errors, job runs and incidents by type (issue 18).
fn operations(out: &mut String, m: &MetricsSnapshot) {
    for (name, help, value) in [
        (
            "baton_external_task_failures_total",
            "Failures reported for external tasks (POST /external-task/{id}/failure).",
            m.external_task_failures,
        ),
        (
            "baton_bpmn_errors_total",
            "BPMN errors thrown by external and in-engine tasks, caught or not.",
            m.bpmn_errors,
        ),
        (
            "baton_job_executions_total",
            "Job runs (timers, async continuations, timer starts).",
            m.job_executions,
        ),
        (
            "baton_job_failures_total",
            "Job runs whose command failed.",
            m.job_failures,
        ),
    ] {
        metric(out, name, "counter", help, value);
    }
    let name = "baton_incidents_total";
    let _ = writeln!(out, "# HELP {name} Incidents raised, by incident type.");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (kind, v) in &m.incidents_by_type {
        let _ = writeln!(out, "{name}{{type=\"{}\"}} {v}", label(kind));
    }
}

/// Request latency histograms, one per method and route template.
fn render_latencies(out: &mut String, routes: &[LatencySnapshot]) {
    let name = "baton_http_request_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time to answer HTTP requests, by method and route template."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for r in routes {
        let labels = format!(
            "method=\"{}\",route=\"{}\"",
            label(&r.method),
            label(&r.route)
        );
        let mut cumulative = 0;
        for (le, n) in LATENCY_BUCKETS.iter().zip(&r.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", r.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", r.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", r.count);
    }
}

/// Render a snapshot as Prometheus text.
pub fn render(m: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    for (name, kind, help, value) in counters(m) {
        metric(&mut out, name, kind, help, value);
    }
    wasm_total(&mut out, m);
    topic_counters(&mut out, m);
    wasm_recent(&mut out, m);
    operations(&mut out, m);
    for (name, kind, help, value) in gauges(m) {
        metric(&mut out, name, kind, help, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_with_labels_and_summaries() {
        let mut m = MetricsSnapshot {
            instances_started: 3,
            wasm_micros_total: 1_500_000,
            ..Default::default()
        };
        m.tasks_created_by_topic.insert("charge \"card\"".into(), 2);
        m.recent_wasm_micros
            .insert("echo".into(), vec![1000, 3000, 2000]);
        let t = render(&m);
        assert!(t.contains(
            "# TYPE baton_instances_started_total counter\nbaton_instances_started_total 3\n"
        ));
        assert!(t.contains("baton_external_tasks_created_total{topic=\"charge \\\"card\\\"\"} 2"));
        assert!(t.contains(
            "baton_wasm_recent_execution_seconds{topic=\"echo\",quantile=\"0.5\"} 0.002"
        ));
        assert!(t.contains("baton_wasm_recent_execution_seconds_count{topic=\"echo\"} 3"));
        assert!(t.contains("baton_wasm_execution_seconds_total 1.5"));
        // Every sample line is `name{labels} value` or `name value`.
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').expect("value");
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[tokio::test]
    async fn handler_serves_text_format() {
        let (engine, _dir) = crate::cockpit::tests::engine().await;
        let app = crate::cockpit::router(engine.clone(), false);
        let r = crate::cockpit::tests::oneshot(
            app,
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let body = crate::cockpit::tests::body_text(r).await;
        assert!(body.contains("baton_running_instances 0"));
        engine.shutdown().await.expect("shutdown");
    }
}
