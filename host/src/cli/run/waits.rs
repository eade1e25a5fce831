//! What a quiet instance waits for, and what the runner does about it: nothing while a wasm
//! task or a job runs; with `--fast-clock`, move the [`ManualClock`] to the next due timer
//! (computed from the model, else probed in growing steps) and run what came due; otherwise
//! wait for REST clients (`--listen`) or end the run naming what nobody will ever do.
//!
//! [`ManualClock`]: crate::clock::ManualClock

use baton_bpmn::engine::{InstanceStatus, Wait};
use baton_bpmn::model::{EventTrigger, NodeKind, Process};

use super::{Follow, Outcome, Runner, Step};
use crate::cli::human::human_duration;
use crate::clock::ManualClock;
use crate::engine::ProcessEngineError;
use crate::records::ProcessInstance;

/// The longest `--fast-clock` looks ahead for a timer it cannot compute from the model.
const MAX_PROBE_MS: i64 = 400 * 24 * 3600 * 1000;

/// The largest step of that look-ahead: a day.
const MAX_PROBE_STEP_MS: i64 = 24 * 3600 * 1000;

/// What the instances wait for right now.
#[derive(Default)]
struct Waits {
    /// Something runs (a wasm task, a job on the real clock): just wait.
    busy: bool,
    /// An async continuation is due (fast clock only: this runner must tick).
    job_due_now: bool,
    /// Timers and retry back-offs pending.
    timers: usize,
    /// The earliest computable due time.
    next_due: Option<i64>,
    /// Things only someone outside can do (user tasks, remote workers, messages).
    outside: Vec<String>,
}

impl Waits {
    fn due(&mut self, at: i64) {
        self.timers += 1;
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }
}

impl Runner {
    /// The event stream is quiet: decide whether the instance is busy, waits for time, for
    /// someone outside, or for nothing that will ever come.
    pub(super) async fn on_quiet(&mut self, f: &mut Follow) -> Step {
        let running = match self.running(f).await {
            Ok(running) => running,
            Err(step) => return step,
        };
        if !running.iter().any(|i| i.id() == f.root) {
            // The end event was missed (stream lagged): read the outcome from history.
            let state = self
                .engine
                .historic_process_instances()
                .await
                .ok()
                .and_then(|h| h.into_iter().find(|h| h.id == f.root))
                .map(|h| h.state)
                .unwrap_or_else(|| "COMPLETED".into());
            return Step::Done(self.finish(f, &state).await);
        }
        let now = self.clock.now();
        let mut w = Waits::default();
        for inst in &running {
            self.collect_waits(inst, now, &mut w).await;
        }
        if w.busy {
            return Step::Continue;
        }
        if let Some(manual) = self.manual.clone() {
            if let Some(step) = self.fast_forward(&manual, &w, now).await {
                return step;
            }
        } else if w.timers > 0 {
            if f.waiting_note.is_none() {
                let when = w
                    .next_due
                    .map(|d| format!(" (next due in {})", human_duration(d - now)))
                    .unwrap_or_default();
                self.say(format!(
                    "{}    waiting for a timer{when}; --fast-clock skips ahead",
                    self.stamp()
                ));
                f.waiting_note = Some(());
            }
            return Step::Continue;
        }
        if self.api_url.is_some() {
            if f.waiting_note.is_none() {
                self.say(format!(
                    "{}    waiting for REST clients: {}",
                    self.stamp(),
                    w.outside.join("; ")
                ));
                f.waiting_note = Some(());
            }
            return Step::Continue;
        }
        let mut why = w.outside.join("; ");
        if why.is_empty() {
            why = "nothing".into();
        }
        Step::Done(self.fail(
            Outcome::Failed,
            format!(
                "the instance cannot go on: it waits for {why}. Answer user tasks with --answers FILE.json \
                 (or run on a terminal), or pass --listen ADDR to let REST clients act"
            ),
        ))
    }

    /// Our instances that are still active.
    async fn running(&self, f: &Follow) -> Result<Vec<ProcessInstance>, Step> {
        let mut running = Vec::new();
        for id in &f.ours {
            match self.engine.instance(id).await {
                Ok(i) if i.state.status == InstanceStatus::Active => running.push(i),
                Ok(_) | Err(ProcessEngineError::NotFound(_)) => {}
                Err(e) => return Err(Step::Done(self.fail(Outcome::Failed, e.to_string()))),
            }
        }
        Ok(running)
    }

    /// `--fast-clock` with nothing running: run a due job, or jump to the next timer (computed
    /// from the model, else probed in growing steps). `None` when no timer came due.
    async fn fast_forward(&mut self, manual: &ManualClock, w: &Waits, now: i64) -> Option<Step> {
        if w.job_due_now {
            return Some(self.tick().await);
        }
        if w.timers == 0 {
            return None;
        }
        if let Some(due) = w.next_due.filter(|&d| d > now) {
            manual.set(due);
            self.say(format!(
                "{}    fast clock: jumped ahead to the next timer",
                self.stamp()
            ));
            match self.tick().await {
                Step::Continue if self.last_tick_ran => return Some(Step::Continue),
                Step::Continue => {}
                done => return Some(done),
            }
        }
        // Not computable from the model (a cycle that already fired, an expression):
        // look ahead in growing steps until something comes due.
        let mut step = 1000;
        let mut moved = 0;
        while moved < MAX_PROBE_MS {
            manual.advance(step);
            moved += step;
            match self.tick().await {
                Step::Continue if self.last_tick_ran => {
                    self.say(format!("{}    fast clock: a timer came due", self.stamp()));
                    return Some(Step::Continue);
                }
                Step::Continue => {}
                done => return Some(done),
            }
            step = (step * 2).min(MAX_PROBE_STEP_MS);
        }
        None
    }

    /// Run the jobs and timers due on the clock now.
    async fn tick(&mut self) -> Step {
        match self.engine.tick().await {
            Ok(n) => {
                self.last_tick_ran = n > 0;
                Step::Continue
            }
            Err(e) => Step::Done(self.fail(Outcome::Failed, format!("running due jobs: {e}"))),
        }
    }

    /// Add what one instance waits for to `w`.
    async fn collect_waits(&self, inst: &ProcessInstance, now: i64, w: &mut Waits) {
        let process = self.definitions.process(&inst.definition_key);
        for ai in inst.state.activity_instances.values() {
            match &ai.wait {
                Some(Wait::ExternalTask { task_id, topic }) => {
                    match self.engine.external_task(task_id).await {
                        Ok(t) if t.module_sha256.is_some() => {
                            match t.lock_expiration_time {
                                // Backing off before a retry.
                                Some(due) if due > now && t.retries.is_some_and(|r| r > 0) => {
                                    w.due(due)
                                }
                                _ if t.retries == Some(0) => w
                                    .outside
                                    .push(format!("incident at {}", self.name_of(&ai.activity_id))),
                                _ => w.busy = true,
                            }
                        }
                        Ok(_) => w
                            .outside
                            .push(format!("a remote worker on topic `{topic}`")),
                        // Gone meanwhile: the instance moved on.
                        Err(_) => w.busy = true,
                    }
                }
                Some(Wait::UserTask { .. }) => w
                    .outside
                    .push(format!("user task {}", self.name_of(&ai.activity_id))),
                Some(Wait::Timer { .. }) => match process
                    .and_then(|p| timer_due(p, &ai.activity_id, inst, &ai.id, ai.started_at))
                {
                    Some(due) => w.due(due),
                    None => w.timers += 1,
                },
                Some(Wait::Job { .. }) => {
                    if self.manual.is_some() {
                        w.job_due_now = true;
                    } else {
                        w.busy = true;
                    }
                }
                Some(Wait::Message { .. }) => w
                    .outside
                    .push(format!("a message at {}", self.name_of(&ai.activity_id))),
                Some(Wait::Signal { .. }) => w
                    .outside
                    .push(format!("a signal at {}", self.name_of(&ai.activity_id))),
                Some(Wait::Condition) => w
                    .outside
                    .push(format!("a condition at {}", self.name_of(&ai.activity_id))),
                Some(Wait::Trigger) => w
                    .outside
                    .push(format!("a trigger at {}", self.name_of(&ai.activity_id))),
                Some(Wait::EventGateway)
                | Some(Wait::Compensation)
                | Some(Wait::Join)
                | Some(Wait::CallActivity { .. })
                | None => {}
            }
            for l in &ai.listeners {
                let is_timer = process
                    .and_then(|p| p.node_by_id(&l.event_activity_id).map(|i| p.node(i)))
                    .is_some_and(|n| {
                        matches!(
                            &n.kind,
                            NodeKind::BoundaryEvent {
                                trigger: EventTrigger::Timer(_),
                                ..
                            } | NodeKind::StartEvent {
                                trigger: EventTrigger::Timer(_),
                                ..
                            }
                        )
                    });
                if is_timer {
                    match process.and_then(|p| {
                        timer_due(p, &l.event_activity_id, inst, &ai.id, ai.started_at)
                    }) {
                        Some(due) => w.due(due),
                        None => w.timers += 1,
                    }
                }
            }
        }
    }
}

/// When a timer event (intermediate catch or boundary) started at `started_at` comes due,
/// computed from the model the way the engine schedules it. `None` when it cannot be told.
fn timer_due(
    process: &Process,
    event_id: &str,
    inst: &ProcessInstance,
    activity_instance_id: &str,
    started_at: i64,
) -> Option<i64> {
    let node = process.node(process.node_by_id(event_id)?);
    let def = match &node.kind {
        NodeKind::BoundaryEvent {
            trigger: EventTrigger::Timer(d),
            ..
        }
        | NodeKind::StartEvent {
            trigger: EventTrigger::Timer(d),
            ..
        }
        | NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Timer(d),
            ..
        } => d,
        _ => return None,
    };
    let vars = inst.state.visible_variables(activity_instance_id);
    // The engine's own rule (baton_bpmn::timer), so the CLI and the engine agree, Date values
    // included.
    baton_bpmn::timer::timer_due(def, &vars, started_at).ok()
}
