//! Drive baton's execution core over the Camunda 7 test models of the shared BPMN corpus.
//!
//! ```text
//! cargo run -p baton-bpmn --example run_corpus [-- <dir>]
//! ```
//!
//! `<dir>` defaults to `../shared/bpmn-corpus/camunda-bpm-platform` beside the clone (where CI
//! has it); a missing corpus is an error (exit 2), never a skip. Two passes:
//!
//! 1. **Scenarios**: a script per Camunda test (commands by activity id, expected positions),
//!    mirroring what the Camunda test asserts. A deviation fails the run.
//! 2. **Smoke**: every file is parsed; every executable process that parses is started and
//!    driven (complete tasks, fire timers, deliver messages and signals, run jobs, finish call
//!    activities) for up to 100 steps. A panic or a broken activity-instance tree fails the run;
//!    engine errors (an unhandled BPMN error, a missing variable) are reported, not failures.
//!
//! Exit code 0 when everything holds, 1 otherwise.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use baton_bpmn::engine::{Command, Effect, EngineError, InstanceState, StateMachine, Wait};
use baton_bpmn::{Process, Value, Variables};

/// A scripted Camunda test: file, then steps.
///
/// Steps: `start[:{json vars}]`, `start-at:<id>[:{json}]`, `complete:<activity>[:{json}]`,
/// `timer:<event>`, `message:<event>`, `signal:<event>`, `job:<activity>`,
/// `child:<activity>[:{json}]`, `throw:<activity>:<code>`, `active:<a,b,..>` (sorted),
/// `ended`, `var:<name>=<json>`.
const SCENARIOS: &[(&str, &[&str])] = &[
    (
        "ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml",
        &["start:{\"input\":2}", "active:theTask2"],
    ),
    (
        "ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml",
        &["start:{\"input\":3}", "active:theTask3"],
    ),
    (
        "ParallelGatewayTest.testForkJoin.bpmn20.xml",
        &[
            "start",
            "active:receivePayment,shipOrder",
            "complete:receivePayment",
            "active:join,shipOrder",
            "complete:shipOrder",
            "active:archiveOrder",
            "complete:archiveOrder",
            "ended",
        ],
    ),
    (
        "ParallelGatewayTest.testUnbalancedForkJoin.bpmn20.xml",
        &[
            "start",
            "active:task1,task2,task3",
            "complete:task1",
            "complete:task2",
            "active:task3,task4",
            "complete:task3",
            "complete:task4",
            "ended",
        ],
    ),
    (
        "InclusiveGatewayTest.testDivergingInclusiveGateway.bpmn20.xml",
        &["start:{\"input\":2}", "active:theTask2,theTask3"],
    ),
    (
        "InclusiveGatewayTest.testPartialMergingInclusiveGateway.bpmn20.xml",
        &[
            "start:{\"input\":2}",
            "active:fullInclusiveGw,partialTask",
            "complete:partialTask",
            "active:theTask",
            "complete:theTask",
            "ended",
        ],
    ),
    (
        "ErrorEventSubProcessTest.testEventSubprocessTakesPrecedence.bpmn20.xml",
        &[
            "start",
            "active:taskAfterErrorCatch",
            "complete:taskAfterErrorCatch",
            "ended",
        ],
    ),
    (
        "BoundaryTimerNonInterruptingEventTest.testTimerWithCycle.bpmn20.xml",
        &[
            "start",
            "timer:timer",
            "active:task,timerFiredTask",
            "timer:timer",
            "active:task,timerFiredTask,timerFiredTask",
            "complete:task",
            "active:timerFiredTask,timerFiredTask",
        ],
    ),
    (
        "BoundaryTimerEventTest.testInterruptingTimerDuration.bpmn20.xml",
        &[
            "start",
            "active:firstLineSupport",
            "timer:escalationTimer",
            "active:handleEscalation",
            "complete:handleEscalation",
            "ended",
        ],
    ),
    (
        "MultiInstanceTest.testParallelUserTasksCompletionCondition.bpmn20.xml",
        &[
            "start",
            "active:miTasks,miTasks,miTasks,miTasks,miTasks",
            "complete:miTasks",
            "complete:miTasks",
            "complete:miTasks",
            "ended",
        ],
    ),
    (
        "TerminateEndEventTest.testTerminateInSubProcess.bpmn",
        &[
            "start",
            "active:preNormalEnd",
            "complete:preNormalEnd",
            "ended",
        ],
    ),
    (
        "TerminateEndEventTest.testProcessTerminate.bpmn",
        &["start"],
    ),
    (
        "SubProcessTest.testSimpleSubProcessWithTimer.bpmn20.xml",
        &[
            "start",
            "active:subProcessTask",
            "timer:escalationTimer",
            "active:escalationTask",
        ],
    ),
    (
        "MessageEventSubprocessTest.testInterruptingUnderProcessDefinition.bpmn20.xml",
        &[
            "start",
            "active:task",
            "message:eventProcessStart",
            "active:eventSubProcessTask",
            "complete:eventSubProcessTask",
            "ended",
        ],
    ),
    (
        "MessageEventSubprocessTest.testNonInterruptingUnderProcessDefinition.bpmn20.xml",
        &["start", "active:task"],
    ),
    (
        "CallActivity.testSubProcessDataInputOutput.bpmn20.xml",
        &[
            "start:{\"superVariable\":\"Hello from the super process.\"}",
            "child:callSubProcess:{\"subVariable\":\"Hello from sub process.\"}",
            "var:superVariable=\"Hello from sub process.\"",
            "active:userTask1",
            "complete:userTask1:{\"x\":5}",
            "child:callSubProcessWithExpression:{\"y\":10}",
            "var:z=15",
            "active:userTask2",
        ],
    ),
    ("ErrorEndEventTest.testErrorMessage.bpmn20.xml", &["start"]),
    (
        "EscalationEventTest.testThrowEscalationEventFromEmbeddedSubprocess.bpmn20.xml",
        &["start"],
    ),
];

struct Run {
    process: Process,
    state: InstanceState,
    kinds: HashMap<String, &'static str>,
}

impl Run {
    fn new(process: Process) -> Run {
        let state = InstanceState::new("corpus-pi", process.id.clone(), None, None);
        Run {
            process,
            state,
            kinds: HashMap::new(),
        }
    }

    fn apply(&mut self, cmd: Command) -> Result<Vec<Effect>, EngineError> {
        let mut next = self.state.clone();
        let fx = StateMachine::apply(&self.process, &mut next, cmd, 0)?;
        self.state = next;
        for e in &fx {
            let (id, kind) = match e {
                Effect::ScheduleTimer { timer_id, .. } => (timer_id, "timer"),
                Effect::SubscribeMessage {
                    subscription_id, ..
                } => (subscription_id, "message"),
                Effect::SubscribeSignal {
                    subscription_id, ..
                } => (subscription_id, "signal"),
                _ => continue,
            };
            self.kinds.insert(id.clone(), kind);
        }
        if let Err(e) = invariants(&self.state) {
            return Err(EngineError::InvalidCommand(format!("BROKEN TREE: {e}")));
        }
        Ok(fx)
    }

    /// The first id (in activity-instance id order) waited on at `activity` of `kind`.
    fn waiting(&self, activity: &str, kind: &str) -> Option<String> {
        for ai in self.state.activity_instances.values() {
            let at = ai.activity_id == activity
                || ai.activity_id == format!("{activity}#multiInstanceBody");
            match (&ai.wait, kind) {
                (Some(Wait::ExternalTask { task_id, .. } | Wait::UserTask { task_id }), "task")
                    if at =>
                {
                    return Some(task_id.clone());
                }
                (Some(Wait::Timer { timer_id }), "timer") if at => return Some(timer_id.clone()),
                (Some(Wait::Message { subscription_id }), "message")
                | (Some(Wait::Signal { subscription_id }), "signal")
                    if at =>
                {
                    return Some(subscription_id.clone());
                }
                (Some(Wait::Job { job_id }), "job") if at => return Some(job_id.clone()),
                (Some(Wait::CallActivity { .. }), "child") if at => return Some(ai.id.clone()),
                (Some(Wait::CallActivity { child_instance_id }), "throw") if at => {
                    return Some(child_instance_id.clone());
                }
                _ => {}
            }
            for l in &ai.listeners {
                if l.event_activity_id == activity
                    && self.kinds.get(&l.id).is_some_and(|k| *k == kind)
                {
                    return Some(l.id.clone());
                }
            }
        }
        None
    }
}

fn invariants(st: &InstanceState) -> Result<(), String> {
    for ai in st.activity_instances.values() {
        if ai.id == st.id {
            continue;
        }
        let Some(parent) = &ai.parent else {
            return Err(format!("{} has no parent", ai.id));
        };
        if !st.activity_instances.contains_key(parent) {
            return Err(format!("{} has a dangling parent", ai.id));
        }
        let has_children = st.children_of(&ai.id).next().is_some();
        if ai.wait.is_some() == has_children {
            return Err(format!(
                "{} waits: {}, has children: {has_children}",
                ai.id,
                ai.wait.is_some()
            ));
        }
    }
    if !st.is_active() && st.activity_instances.len() != 1 {
        return Err("an ended instance kept activity instances".into());
    }
    Ok(())
}

fn json_vars(text: Option<&str>) -> Result<Variables, String> {
    let Some(text) = text else {
        return Ok(Variables::new());
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{text}: {e}"))?;
    let serde_json::Value::Object(map) = v else {
        return Err(format!("{text}: not an object"));
    };
    Ok(map
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect())
}

fn load(path: &Path) -> Result<Vec<Process>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let parsed = baton_bpmn::parse(&bytes).map_err(|e| format!("parser: {e}"))?;
    Ok(parsed.definitions.executable_processes().cloned().collect())
}

fn scenario(dir: &Path, file: &str, steps: &[&str]) -> Result<(), String> {
    let process = load(&dir.join(file))?
        .into_iter()
        .next()
        .ok_or("no executable process")?;
    let mut run = Run::new(process);
    for (i, step) in steps.iter().enumerate() {
        let fail = |m: String| format!("step {i} `{step}`: {m}");
        let mut parts = step.splitn(3, ':');
        let verb = parts.next().unwrap_or_default();
        let arg = parts.next();
        let rest = parts.next();
        let need = |kind: &str| -> Result<String, String> {
            let a = arg.ok_or_else(|| fail("missing argument".into()))?;
            run.waiting(a, kind).ok_or_else(|| {
                fail(format!(
                    "nothing waits ({kind}) at {a}; active {:?}",
                    run.state.active_activity_ids()
                ))
            })
        };
        let cmd = match verb {
            "start" => Command::Start {
                variables: json_vars(step.strip_prefix("start:")).map_err(fail)?,
                start_activity_id: None,
                initiator: None,
            },
            "complete" => Command::CompleteTask {
                task_id: need("task")?,
                variables: json_vars(rest).map_err(fail)?,
                local_variables: Variables::new(),
            },
            "timer" => Command::TimerFired {
                timer_id: need("timer")?,
            },
            "message" => Command::MessageReceived {
                subscription_id: need("message")?,
                variables: Variables::new(),
                local_variables: Variables::new(),
            },
            "signal" => Command::SignalReceived {
                subscription_id: need("signal")?,
                variables: Variables::new(),
            },
            "job" => Command::RunJob {
                job_id: need("job")?,
            },
            "child" => Command::ChildCompleted {
                activity_instance_id: need("child")?,
                variables: json_vars(rest).map_err(fail)?,
            },
            "throw" => Command::ThrowError {
                task_id: need("task").or_else(|_| need("throw"))?,
                code: rest.unwrap_or_default().to_owned(),
                message: None,
                variables: Variables::new(),
            },
            "active" => {
                let mut want: Vec<String> = arg
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                want.sort();
                let got = run.state.active_activity_ids();
                if got != want {
                    return Err(fail(format!("active {got:?}, expected {want:?}")));
                }
                continue;
            }
            "ended" => {
                if run.state.is_active() {
                    return Err(fail(format!(
                        "still active at {:?}",
                        run.state.active_activity_ids()
                    )));
                }
                continue;
            }
            "var" => {
                let (name, value) = step
                    .strip_prefix("var:")
                    .and_then(|s| s.split_once('='))
                    .ok_or_else(|| fail("var:<name>=<json>".into()))?;
                let want: serde_json::Value =
                    serde_json::from_str(value).map_err(|e| fail(e.to_string()))?;
                let got = run.state.process_variables().get(name).map(Value::to_json);
                if got.as_ref() != Some(&want) {
                    return Err(fail(format!("{name} = {got:?}, expected {want}")));
                }
                continue;
            }
            other => return Err(fail(format!("unknown step `{other}`"))),
        };
        run.apply(cmd).map_err(|e| fail(e.to_string()))?;
    }
    Ok(())
}

/// Start a process and drive it; returns a one-line outcome, or Err for a real failure.
fn smoke(process: Process) -> Result<String, String> {
    let start = process
        .none_start_events(None)
        .next()
        .map(|_| None)
        .or_else(|| {
            process
                .nodes
                .iter()
                .find(|n| {
                    n.scope.is_none()
                        && matches!(n.kind, baton_bpmn::model::NodeKind::StartEvent { .. })
                })
                .map(|n| Some(n.id.clone()))
        });
    let Some(start_activity_id) = start else {
        return Ok("no start event".into());
    };
    let mut run = Run::new(process);
    let started = run.apply(Command::Start {
        variables: Variables::new(),
        start_activity_id,
        initiator: None,
    });
    if let Err(e) = started {
        return report(e, 0);
    }
    for step in 1..=100 {
        if !run.state.is_active() {
            return Ok(format!("completed after {step} commands"));
        }
        let mut cmd = None;
        for ai in run.state.activity_instances.values() {
            cmd = match &ai.wait {
                Some(Wait::ExternalTask { task_id, .. } | Wait::UserTask { task_id }) => {
                    Some(Command::CompleteTask {
                        task_id: task_id.clone(),
                        variables: Variables::new(),
                        local_variables: Variables::new(),
                    })
                }
                Some(Wait::Timer { timer_id }) => Some(Command::TimerFired {
                    timer_id: timer_id.clone(),
                }),
                Some(Wait::Message { subscription_id }) => Some(Command::MessageReceived {
                    subscription_id: subscription_id.clone(),
                    variables: Variables::new(),
                    local_variables: Variables::new(),
                }),
                Some(Wait::Signal { subscription_id }) => Some(Command::SignalReceived {
                    subscription_id: subscription_id.clone(),
                    variables: Variables::new(),
                }),
                Some(Wait::Job { job_id }) => Some(Command::RunJob {
                    job_id: job_id.clone(),
                }),
                Some(Wait::CallActivity { .. }) => Some(Command::ChildCompleted {
                    activity_instance_id: ai.id.clone(),
                    variables: Variables::new(),
                }),
                _ => ai
                    .listeners
                    .iter()
                    .find_map(|l| match run.kinds.get(&l.id) {
                        Some(&"timer") => Some(Command::TimerFired {
                            timer_id: l.id.clone(),
                        }),
                        _ => None,
                    }),
            };
            if cmd.is_some() {
                break;
            }
        }
        let Some(cmd) = cmd else {
            return Ok(format!(
                "waits at {:?} for something not driven",
                run.state.active_activity_ids()
            ));
        };
        if let Err(e) = run.apply(cmd) {
            return report(e, step);
        }
    }
    Ok("still running after 100 commands".into())
}

fn report(e: EngineError, step: usize) -> Result<String, String> {
    let text = e.to_string();
    if text.starts_with("BROKEN TREE") {
        Err(text)
    } else {
        Ok(format!("engine error at command {step}: {text}"))
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/bpmn-corpus/camunda-bpm-platform")
        });
    if !dir.is_dir() {
        eprintln!("run_corpus: corpus directory {} is missing", dir.display());
        std::process::exit(2);
    }
    let mut failures = 0;
    println!("== scenarios (mirroring Camunda 7 tests)");
    for (file, steps) in SCENARIOS {
        let outcome = catch_unwind(AssertUnwindSafe(|| scenario(&dir, file, steps)))
            .unwrap_or_else(|_| Err("PANIC".into()));
        match outcome {
            Ok(()) => println!("ok    {file}"),
            Err(e) => {
                failures += 1;
                println!("FAIL  {file}: {e}");
            }
        }
    }
    println!("== smoke (every file, driven blindly)");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "bpmn" || e == "xml"));
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let processes = match load(&path) {
            Ok(p) => p,
            Err(e) => {
                println!("skip  {name}: {}", e.lines().next().unwrap_or_default());
                continue;
            }
        };
        for process in processes {
            let id = process.id.clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| smoke(process)))
                .unwrap_or_else(|_| Err("PANIC".into()));
            match outcome {
                Ok(text) => println!("ok    {name} [{id}]: {text}"),
                Err(e) => {
                    failures += 1;
                    println!("FAIL  {name} [{id}]: {e}");
                }
            }
        }
    }
    if failures > 0 {
        println!("{failures} failure(s)");
        std::process::exit(1);
    }
    println!("all good");
}
