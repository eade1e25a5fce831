//! The trace: what `baton run` prints for each engine event of its instances (a line each,
//! or JSON lines with `--json`), and the result when the root instance ends (its state, end
//! event and final variables).

use std::collections::BTreeMap;

use baton_bpmn::Value;

use super::{Follow, Outcome, Runner, Step};
use crate::engine::EngineEvent;

/// The process instance an event belongs to (`None` for engine-wide events).
fn instance_of(event: &EngineEvent) -> Option<&str> {
    match event {
        EngineEvent::DeploymentCreated { .. } => None,
        EngineEvent::InstanceStarted {
            process_instance_id,
            ..
        }
        | EngineEvent::InstanceEnded {
            process_instance_id,
            ..
        }
        | EngineEvent::ActivityEntered {
            process_instance_id,
            ..
        }
        | EngineEvent::ActivityLeft {
            process_instance_id,
            ..
        }
        | EngineEvent::TaskCreated {
            process_instance_id,
            ..
        }
        | EngineEvent::TaskCompleted {
            process_instance_id,
            ..
        }
        | EngineEvent::IncidentRaised {
            process_instance_id,
            ..
        }
        | EngineEvent::IncidentResolved {
            process_instance_id,
            ..
        } => Some(process_instance_id),
    }
}

/// Variables as one JSON object of plain values.
pub(super) fn vars_json(variables: &BTreeMap<String, Value>) -> serde_json::Value {
    serde_json::Value::Object(
        variables
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}

impl Runner {
    /// One event: skip it when it is not ours, print it, act on it.
    pub(super) async fn on_event(&mut self, f: &mut Follow, event: EngineEvent) -> Step {
        if let EngineEvent::InstanceStarted {
            process_instance_id,
            ..
        } = &event
            && !f.ours.contains(process_instance_id)
        {
            // A child of ours (call activity): everything else in a fresh engine is ours too.
            f.ours.insert(process_instance_id.clone());
        }
        match instance_of(&event) {
            Some(instance) if f.ours.contains(instance) => {}
            _ => return Step::Continue,
        }
        f.waiting_note = None;
        if self.args.json {
            let mut v = serde_json::to_value(&event).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "clock".into(),
                    serde_json::json!(self.clock.now() - self.t0),
                );
            }
            outln!("{v}");
        }
        self.act(f, event).await
    }

    /// Print the line of an event of ours and do what it asks (answer a task, finish).
    async fn act(&mut self, f: &mut Follow, event: EngineEvent) -> Step {
        let stamp = self.stamp();
        match event {
            EngineEvent::InstanceStarted {
                process_instance_id,
                process_definition_id,
                ..
            } => {
                if process_instance_id != f.root {
                    self.say(format!("{stamp} start child instance {process_instance_id} of {process_definition_id}"));
                }
                Step::Continue
            }
            EngineEvent::ActivityEntered {
                activity_id,
                activity_type,
                process_instance_id,
                ..
            } => {
                self.say(format!(
                    "{stamp} -> {} {activity_type}",
                    self.name_of(&activity_id)
                ));
                if process_instance_id == f.root && activity_type.ends_with("EndEvent") {
                    f.last_end_event = Some(activity_id);
                }
                Step::Continue
            }
            EngineEvent::ActivityLeft {
                activity_id,
                canceled,
                ..
            } => {
                self.say(format!(
                    "{stamp} <- {}{}",
                    self.name_of(&activity_id),
                    if canceled { " (interrupted)" } else { "" }
                ));
                Step::Continue
            }
            EngineEvent::TaskCreated {
                task_id,
                task_type,
                topic,
                activity_id,
                ..
            } => {
                if task_type == "user" {
                    self.on_user_task(&task_id, &activity_id).await
                } else {
                    let topic = topic.unwrap_or_default();
                    self.on_external_task(&topic, &activity_id).await
                }
            }
            EngineEvent::TaskCompleted { task_type, .. } => {
                self.say(format!("{stamp}    {task_type} task completed"));
                Step::Continue
            }
            EngineEvent::IncidentRaised {
                activity_id,
                incident_type,
                message,
                ..
            } => {
                let text = format!(
                    "incident ({incident_type}) at {}: {}",
                    self.name_of(&activity_id),
                    message.unwrap_or_else(|| "no message".into())
                );
                self.say(format!("{stamp} !! {text}"));
                Step::Done(self.fail(Outcome::Incident, text))
            }
            EngineEvent::IncidentResolved { incident_id, .. } => {
                self.say(format!("{stamp}    incident {incident_id} resolved"));
                Step::Continue
            }
            EngineEvent::InstanceEnded {
                process_instance_id,
                state,
                ..
            } => {
                if process_instance_id == f.root {
                    Step::Done(self.finish(f, &state).await)
                } else {
                    self.say(format!(
                        "{stamp} end child instance {process_instance_id} ({state})"
                    ));
                    Step::Continue
                }
            }
            EngineEvent::DeploymentCreated { .. } => Step::Continue,
        }
    }

    /// The instance ended: print how, and its final variables.
    pub(super) async fn finish(&self, f: &Follow, state: &str) -> Outcome {
        let variables = self.final_variables(&f.root).await;
        let outcome = match state {
            "COMPLETED" | "INTERNALLY_TERMINATED" => Outcome::Completed,
            _ => Outcome::Failed,
        };
        let vars_json = vars_json(&variables);
        if self.args.json {
            outln!(
                "{}",
                serde_json::json!({
                    "type": "result",
                    "outcome": outcome.name(),
                    "exitCode": outcome.code(),
                    "state": state,
                    "processInstanceId": f.root,
                    "endEventId": f.last_end_event,
                    "endEventName": f.last_end_event.as_ref().and_then(|e| self.names.get(e)),
                    "variables": vars_json,
                })
            );
        } else {
            let at = f
                .last_end_event
                .as_ref()
                .map(|e| format!(" at {}", self.name_of(e)))
                .unwrap_or_default();
            outln!(
                "{} instance {} {}{at}",
                self.stamp(),
                state.to_ascii_lowercase(),
                f.root
            );
            outln!(
                "{}",
                serde_json::to_string_pretty(&vars_json).unwrap_or_else(|_| "{}".into())
            );
        }
        outcome
    }

    /// The root instance's variables: live while it still exists, else from history.
    async fn final_variables(&self, root: &str) -> BTreeMap<String, Value> {
        if let Ok(i) = self.engine.instance(root).await {
            let vars = i.state.process_variables();
            if !vars.is_empty() {
                return vars;
            }
        }
        match self.engine.historic_variables(Some(root)).await {
            Ok(h) => h
                .into_iter()
                .filter(|v| v.activity_instance_id == root && v.state != "DELETED")
                .map(|v| (v.name, v.value))
                .collect(),
            Err(_) => BTreeMap::new(),
        }
    }
}
