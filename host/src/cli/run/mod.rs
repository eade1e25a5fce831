//! `baton run <file.bpmn>`: run ONE process instance to its end, in-process, with no server.
//!
//! The engine opens on a temporary data dir (or `--data-dir`), binds the `--module` components
//! to their topics, deploys the file, starts the instance and follows the engine's event
//! stream, printing the trace as it goes. Wasm tasks run in the engine; user tasks are answered
//! from `--answers` or by prompting on a terminal; timers fire on real time, or, with
//! `--fast-clock`, on a [`ManualClock`] that jumps to the next due timer whenever the instance
//! has nothing else to do. An external task whose topic has no module ends the run with exit
//! code 3, unless `--listen` serves the REST API so that remote workers can do it.
//!
//! Exit codes: 0 completed, 1 failed (bad input, parse or engine error, stuck), 2 incident,
//! 3 an external task has no module and no worker.
//!
//! This module owns the run's life: `Runner` and its event loop. The parts live beside it:
//! `args` (flags), `prepare` (inputs, engine, modules, deployment, server), `trace`
//! (printing events and the result), `tasks` (answering user tasks, checking external
//! ones), `waits` (what a quiet instance waits for, and the fast clock).

mod args;
mod prepare;
mod tasks;
mod trace;
mod waits;

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_bpmn::Variables;
use baton_bpmn::model::{Definitions, FormField};
use tokio::sync::broadcast::error::RecvError;

pub use args::RunArgs;

use super::human::human_duration;
use super::vars::Answers;
use crate::clock::{ManualClock, SharedClock};
use crate::engine::{DefinitionRef, ProcessEngine, StartRequest};

/// How a run ended; the exit code follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The instance reached its end (exit 0).
    Completed,
    /// Bad input, parse or engine error, or nothing left that could move it (exit 1).
    Failed,
    /// An incident was raised (exit 2).
    Incident,
    /// An external task's topic has no module and no worker (exit 3).
    NoWorker,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Completed => 0,
            Outcome::Failed => 1,
            Outcome::Incident => 2,
            Outcome::NoWorker => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed => "failed",
            Outcome::Incident => "incident",
            Outcome::NoWorker => "noWorker",
        }
    }
}

/// How long the event stream must stay silent before the runner looks at what the instance
/// waits for. Short enough to feel instant, long enough that a wasm task that was just
/// created has started.
const QUIET: Duration = Duration::from_millis(150);

/// Run `baton run`.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    let outcome = match Runner::prepare(args).await {
        Ok(runner) => runner.go().await,
        Err(message) => fail_result(json, Outcome::Failed, &message),
    };
    Ok(ExitCode::from(outcome.code()))
}

/// Report a failed run: the JSON result line (with `--json`) and `error: ...` on stderr.
fn fail_result(json: bool, outcome: Outcome, message: &str) -> Outcome {
    if json {
        outln!(
            "{}",
            serde_json::json!({"type": "result", "outcome": outcome.name(), "exitCode": outcome.code(), "error": message})
        );
    }
    eprintln!("error: {message}");
    outcome
}

/// A user task's shape, from the deployed model.
struct UserTaskShape {
    name: Option<String>,
    fields: Vec<FormField>,
}

/// A data directory removed when the run ends (unless the user chose it).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A REST server started by `--listen`: its stop signal and its task.
type Server = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// One run: the engine, the deployed model and the state of the event loop.
struct Runner {
    args: RunArgs,
    engine: ProcessEngine,
    clock: SharedClock,
    manual: Option<ManualClock>,
    _temp: Option<TempDir>,
    /// The process started: its key and the id of the definition deployed for it.
    key: String,
    definition_id: String,
    /// The deployed file's model, as the engine parsed it.
    definitions: Arc<Definitions>,
    names: HashMap<String, String>,
    user_tasks: HashMap<String, UserTaskShape>,
    answers: Option<Answers>,
    interactive: bool,
    start_vars: Variables,
    api_url: Option<String>,
    server: Option<Server>,
    t0: i64,
    wall0: Instant,
    last_tick_ran: bool,
}

/// Per-run bookkeeping of the event loop.
struct Follow {
    root: String,
    ours: HashSet<String>,
    last_end_event: Option<String>,
    waiting_note: Option<()>,
}

/// What the event loop does next.
enum Step {
    Continue,
    Done(Outcome),
}

impl Runner {
    /// Start the instance and follow it to its end.
    async fn go(mut self) -> Outcome {
        let outcome = self.follow().await;
        if let Some((tx, handle)) = self.server.take() {
            let _ = tx.send(());
            let _ = handle.await;
        } else {
            let _ = self.engine.shutdown().await;
        }
        outcome
    }

    fn say(&self, line: impl AsRef<str>) {
        if !self.args.json {
            outln!("{}", line.as_ref());
        }
    }

    fn stamp(&self) -> String {
        let ms = if self.manual.is_some() {
            self.clock.now() - self.t0
        } else {
            self.wall0.elapsed().as_millis() as i64
        };
        format!("[{}]", human_duration(ms))
    }

    fn name_of(&self, activity_id: &str) -> String {
        match self.names.get(activity_id) {
            Some(n) => format!("{n:?} [{activity_id}]"),
            None => format!("[{activity_id}]"),
        }
    }

    fn fail(&self, outcome: Outcome, message: String) -> Outcome {
        fail_result(self.args.json, outcome, &message)
    }

    /// Start the instance; its id, or the run's failure.
    async fn start(&self) -> Result<String, Outcome> {
        let started = self
            .engine
            .start_instance(
                DefinitionRef::Id(self.definition_id.clone()),
                StartRequest {
                    variables: self.start_vars.clone(),
                    business_key: self.args.business_key.clone(),
                    ..StartRequest::default()
                },
            )
            .await;
        let root = match started {
            Ok(s) => s.instance.id().to_owned(),
            Err(e) => {
                return Err(self.fail(Outcome::Failed, format!("starting `{}`: {e}", self.key)));
            }
        };
        self.say(format!(
            "start   {} instance {root}{}",
            self.key,
            self.args
                .business_key
                .as_ref()
                .map(|k| format!(" (business key {k})"))
                .unwrap_or_default()
        ));
        Ok(root)
    }

    /// The event loop: react to each event; when the stream is quiet, look at what the
    /// instance waits for.
    async fn follow(&mut self) -> Outcome {
        // Subscribed before the start, so the instance's first events are not missed.
        let mut events = self.engine.subscribe_events();
        let root = match self.start().await {
            Ok(root) => root,
            Err(outcome) => return outcome,
        };
        let mut follow = Follow {
            root: root.clone(),
            ours: HashSet::from([root]),
            last_end_event: None,
            waiting_note: None,
        };
        loop {
            let next = tokio::select! {
                r = tokio::time::timeout(QUIET, events.recv()) => r,
                _ = tokio::signal::ctrl_c() => {
                    return self.fail(Outcome::Failed, "interrupted".into());
                }
            };
            let step = match next {
                Ok(Ok(event)) => self.on_event(&mut follow, event).await,
                Ok(Err(RecvError::Lagged(n))) => {
                    self.say(format!("        ({n} events were too fast to show)"));
                    Step::Continue
                }
                Ok(Err(RecvError::Closed)) => {
                    Step::Done(self.fail(Outcome::Failed, "the engine stopped".into()))
                }
                Err(_) => self.on_quiet(&mut follow).await,
            };
            if let Step::Done(outcome) = step {
                return outcome;
            }
        }
    }
}
