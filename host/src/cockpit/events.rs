//! `GET /engine-rest/events`: the engine's live events as a server-sent-events stream.
//!
//! Each event is one SSE message whose `event:` name is the event's `type`, whose `data:`
//! is the event as JSON (camelCase fields, `type` included) and whose `id:` is
//! `<epoch>-<n>`: `n` counts the engine's events from 1, `epoch` names the engine run. A
//! client that reconnects with `Last-Event-ID` (browsers' `EventSource` does it by itself)
//! first gets the events it missed from the engine's journal of the last
//! [`EVENT_JOURNAL_SIZE`](crate::engine::EVENT_JOURNAL_SIZE) (1024) events, then the live ones. A comment line (`: keep-alive`)
//! is sent every 15 s so proxies keep the connection open. A client that falls behind by more
//! than the stream's buffer (4096 events), or that was away longer than the journal reaches
//! (or across an engine restart), gets one `lagged` event (`{"type":"lagged","missed":N}`,
//! `N` null when unknown) and should re-read what it shows.
//!
//! Event types:
//!
//! | `type` | data fields |
//! |---|---|
//! | `deploymentCreated` | `deploymentId` |
//! | `instanceStarted` | `processInstanceId`, `processDefinitionId`, `businessKey` |
//! | `instanceEnded` | `processInstanceId`, `processDefinitionId`, `state` (`COMPLETED`, `EXTERNALLY_TERMINATED`, ...) |
//! | `activityEntered` | `processInstanceId`, `processDefinitionId`, `activityId`, `activityInstanceId`, `activityType` |
//! | `activityLeft` | `processInstanceId`, `processDefinitionId`, `activityId`, `activityInstanceId`, `canceled` |
//! | `taskCreated` | `taskId`, `taskType` (`external`/`user`), `topic`, `activityId`, `processInstanceId` |
//! | `taskCompleted` | `taskId`, `taskType`, `processInstanceId` |
//! | `incidentRaised` | `incidentId`, `processInstanceId`, `activityId`, `incidentType`, `message` |
//! | `incidentResolved` | `incidentId`, `processInstanceId` |
//!
//! Example: `curl -N http://localhost:8080/engine-rest/events`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;

use super::CockpitState;
use crate::engine::EngineEvent;

/// Keep-alive interval: well under the usual 60 s idle timeouts of proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The SSE name of an event: its serde `type` tag.
pub fn event_name(value: &serde_json::Value) -> &str {
    value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("message")
}

/// Turn one engine event into an SSE message.
pub fn to_sse(event: &EngineEvent) -> Event {
    let value = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    // Serialized from the event itself (not the map) so `type` comes first.
    let data = serde_json::to_string(event).unwrap_or_else(|_| value.to_string());
    Event::default().event(event_name(&value)).data(data)
}

fn lagged(missed: Option<u64>) -> Event {
    Event::default()
        .event("lagged")
        .data(serde_json::json!({"type": "lagged", "missed": missed}).to_string())
}

/// The position a reconnecting client names in `Last-Event-ID`: `Ok(Some(n))` for an event of
/// this engine run, `Ok(None)` for none, `Err(())` for an id this run cannot place.
fn resume_point(headers: &HeaderMap, epoch: u64) -> Result<Option<u64>, ()> {
    let Some(raw) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = raw.to_str().map_err(|_| ())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (e, n) = text.split_once('-').ok_or(())?;
    if e.parse::<u64>() != Ok(epoch) {
        return Err(());
    }
    n.parse::<u64>().map(Some).map_err(|_| ())
}

/// The handler.
pub async fn stream(State(state): State<CockpitState>, headers: HeaderMap) -> impl IntoResponse {
    let epoch = state.engine.event_epoch();
    let resume = resume_point(&headers, epoch);
    let (rx, replay) = state
        .engine
        .subscribe_numbered_events(resume.ok().flatten());
    let numbered = move |(id, ev): (u64, EngineEvent)| to_sse(&ev).id(format!("{epoch}-{id}"));
    let mut first: Vec<Event> = Vec::new();
    match resume {
        Err(()) => first.push(lagged(None)),
        Ok(_) if replay.missed > 0 => first.push(lagged(Some(replay.missed))),
        Ok(_) => {}
    }
    first.extend(replay.events.into_iter().map(numbered));
    let engine = state.engine.clone();
    let live = stream::unfold((rx, engine), move |(mut rx, engine)| async move {
        // The stream ends when the server stops, so it does not hold a graceful stop open.
        let received = tokio::select! {
            r = rx.recv() => r,
            _ = engine.stopping() => return None,
        };
        let ev = match received {
            Ok(ev) => numbered(ev),
            Err(RecvError::Lagged(n)) => lagged(Some(n)),
            Err(RecvError::Closed) => return None,
        };
        Some((ev, (rx, engine)))
    });
    let events = stream::iter(first).chain(live).map(Ok::<Event, Infallible>);
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_the_type_tag() {
        let ev = EngineEvent::IncidentResolved {
            incident_id: "i".into(),
            process_instance_id: "p".into(),
        };
        let v = serde_json::to_value(&ev).expect("json");
        assert_eq!(event_name(&v), "incidentResolved");
        assert_eq!(v["processInstanceId"], "p");
    }

    /// A real server: the stream delivers a deployment's event with its name and JSON data.
    #[tokio::test]
    async fn stream_delivers_engine_events() {
        let (engine, _dir) = crate::cockpit::tests::engine().await;
        let app = crate::cockpit::router(engine.clone(), false);
        let (addr, server) = crate::cockpit::tests::serve(app).await;
        let mut resp = reqwest::Client::new()
            .get(format!("http://{addr}/engine-rest/events"))
            .send()
            .await
            .expect("connect");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        crate::cockpit::tests::deploy_order(&engine).await;
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !text.contains("\n\n") {
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .expect("event in time")
                .expect("chunk");
            match chunk {
                Some(c) => text.push_str(&String::from_utf8_lossy(&c)),
                None => break,
            }
        }
        assert!(text.contains("event: deploymentCreated"), "{text}");
        assert!(
            text.contains("data: {\"type\":\"deploymentCreated\",\"deploymentId\":"),
            "{text}"
        );
        server.abort();
        engine.shutdown().await.expect("shutdown");
    }
}
