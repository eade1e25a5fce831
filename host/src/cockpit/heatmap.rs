//! `GET /cockpit/api/definition/{id}/heatmap`: per activity of one process definition, how
//! many tokens are there now (`running`), how many activity instances completed or were
//! canceled (from history), and how many open incidents sit there. The definition page
//! colours the diagram by these counts and draws them as badges.
//!
//! Computed from the engine's existing reads (running instances, historic activity
//! instances, open incidents), so it costs one scan of the history of all instances; the
//! REST guard's time limit bounds it like any query. `maxCount` is the largest
//! `running + completed + canceled` of one activity, the scale of the colours.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::{Value as J, json};

use super::CockpitState;
use super::views::element_of;
use crate::api::error::ApiResult;

/// The counts of one activity.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ActivityCounts {
    /// Tokens there now.
    pub running: u64,
    /// Activity instances that completed.
    pub completed: u64,
    /// Activity instances canceled or interrupted.
    pub canceled: u64,
    /// Open incidents there.
    pub incidents: u64,
}

/// The handler.
pub async fn heatmap(State(s): State<CockpitState>, Path(id): Path<String>) -> ApiResult<Json<J>> {
    s.engine.definition(&id).await?;
    let mut acts: BTreeMap<String, ActivityCounts> = BTreeMap::new();
    for inst in s.engine.instances().await? {
        if inst.definition_id != id {
            continue;
        }
        for ai in inst.state.activity_instances.values() {
            if ai.parent.is_none() || ai.activity_id.contains("#multiInstanceBody") {
                continue;
            }
            acts.entry(element_of(&ai.activity_id).to_owned())
                .or_default()
                .running += 1;
        }
    }
    let history = s.engine.historic_activity_instances(None).await?;
    for a in history
        .iter()
        .take_while(crate::api::query::not_cancelled)
        .filter(|a| a.process_definition_id == id && a.end_time.is_some())
        .filter(|a| !a.activity_id.contains("#multiInstanceBody"))
    {
        let c = acts
            .entry(element_of(&a.activity_id).to_owned())
            .or_default();
        if a.canceled {
            c.canceled += 1;
        } else {
            c.completed += 1;
        }
    }
    crate::api::guard::check()?;
    for i in s.engine.incidents().await? {
        if i.process_definition_id == id {
            acts.entry(element_of(&i.activity_id).to_owned())
                .or_default()
                .incidents += 1;
        }
    }
    let max = acts
        .values()
        .map(|c| c.running + c.completed + c.canceled)
        .max()
        .unwrap_or(0);
    Ok(Json(json!({ "activities": acts, "maxCount": max })))
}
