//! Wasm dispatch: task modules bound to topics (validated and compiled before they are stored),
//! and the in-engine path where a component bound to a task's topic runs the task, with its
//! retries, incidents and captured log.

use super::core::Deployed;
use super::decisions::HostDecisions;
use super::executor::AfterCommit;
use super::external_tasks::truncate;
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{
    ExternalTask, Job, JobKind, LogState, ModuleLimits, ProcessInstance, TaskModule,
};
use crate::store::{ExternalTaskStore, InstanceStore, JobStore, ModuleStore, WriteSet};
use crate::wasm::{AllowedHost, FailureKind, Limits, ModuleInfo, TaskInput, TaskOutcome};
use baton_bpmn::engine::{Command, Effect, ExternalTaskSpec, InstanceState};
use baton_bpmn::{StateMachine, Variables};
use foldhash::{HashMap, HashSet, HashSetExt};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Seed of a task's deterministic random numbers: FNV-1a of the activity instance id.
fn seed_of(activity_instance_id: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in activity_instance_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// What the component sees of a task: its place, attempt (from the retries it has of
/// `total`), variables and the seeds of its deterministic world.
fn task_input(
    topic: &str,
    activity_id: &str,
    activity_instance_id: &str,
    state: &InstanceState,
    created: i64,
    total: i32,
    retries_now: i32,
) -> TaskInput {
    TaskInput {
        topic: topic.to_owned(),
        process_instance_id: state.id.clone(),
        activity_id: activity_id.to_owned(),
        activity_instance_id: activity_instance_id.to_owned(),
        business_key: state.business_key.clone(),
        attempt: (total - retries_now).max(0) as u32 + 1,
        retries_left: Some((retries_now - 1).max(0) as u32),
        variables: state.visible_variables(activity_instance_id),
        task_created_at: created,
        seed: seed_of(activity_instance_id),
    }
}

/// One line of a task's captured log as stored.
pub(crate) fn log_line(line: &crate::wasm::LogLine) -> String {
    format!("[{:?}] {}", line.level, line.message)
}

/// At most this many tasks run inline in one command (a model that loops through wasm tasks
/// forever must still commit): the rest are committed and run in the background.
const INLINE_TASKS_PER_COMMAND: usize = 1_000;
/// No further inline attempt starts once the command's inline executions took this long.
const INLINE_TIME_PER_COMMAND: Duration = Duration::from_millis(100);
/// An inline attempt's wall-time deadline (or the module's own, when shorter): a task that
/// needs longer is abandoned, runs in the background under its full deadline, and its module
/// runs only there from then on.
const INLINE_DEADLINE: Duration = Duration::from_millis(50);

/// A task the command that created it also ran, to a completion or a BPMN error the model
/// accepted (see [`ProcessEngine::run_tasks_inline`]).
pub(crate) struct InlineRun {
    /// The module that ran it.
    pub(crate) module: TaskModule,
    /// Its execution's log lines.
    pub(crate) logs: Vec<crate::wasm::LogLine>,
    /// It threw a BPMN error (caught, or ending its execution) instead of completing.
    pub(crate) threw_error: bool,
}

/// What a command's inline phase did, for its translation into records.
#[derive(Default)]
pub(crate) struct InlineTasks {
    /// Tasks done inline, by task id: never stored, only logged.
    pub(crate) done: HashMap<String, InlineRun>,
    /// The module (or none) of each topic looked at, so the translation does not look again.
    pub(crate) modules: HashMap<String, Option<TaskModule>>,
}

impl ProcessEngine {
    /// Validate and compile a component; returns its sha256.
    /// Loads (compiles, world-checks) a component about to be bound with `limits`, and checks
    /// the grant: every allowed host must parse, and a component that imports
    /// `wasi:http/outgoing-handler` must be granted at least one host, so a module that could
    /// never reach anything is refused at upload rather than failing at its first task.
    pub(super) async fn validate_module(
        &self,
        bytes: &[u8],
        limits: &ModuleLimits,
    ) -> Result<ModuleInfo> {
        let Some(wasm) = &self.inner.wasm else {
            return Err(ProcessEngineError::InvalidModule(
                "in-engine wasm tasks are disabled in this server's configuration".into(),
            ));
        };
        for host in &limits.allowed_hosts {
            AllowedHost::parse(host).map_err(ProcessEngineError::BadRequest)?;
        }
        let info = wasm
            .load(bytes)
            .await
            .map_err(|e| ProcessEngineError::InvalidModule(e.to_string()))?;
        if info.outbound_http && limits.allowed_hosts.is_empty() {
            return Err(ProcessEngineError::InvalidModule(
                "the component imports wasi:http/outgoing-handler (outbound HTTP), but no host \
                 is granted: list the hosts it may call with allowedHosts (a query parameter of \
                 PUT /task-module/{topic}, or per resource in the deployment's task-modules \
                 field)"
                    .into(),
            ));
        }
        Ok(info)
    }

    /// The module serving `topic` for instances of `deployment_id`: the one bundled with that
    /// deployment (instances keep the component they started with), else the topic binding.
    pub(crate) fn module_for(
        &self,
        deployment_id: &str,
        topic: &str,
    ) -> Result<Option<TaskModule>> {
        if self.inner.wasm.is_none() {
            return Ok(None);
        }
        if let Some(m) = self.inner.store.deployment_module(deployment_id, topic)? {
            return Ok(Some(m));
        }
        Ok(self.inner.store.module(topic)?)
    }

    /// Bind a wasm component to a topic (validated and compiled before it is stored).
    pub async fn put_module(
        &self,
        topic: &str,
        bytes: Vec<u8>,
        limits: ModuleLimits,
    ) -> Result<TaskModule> {
        self.bind_module(topic, bytes, limits, None).await
    }

    /// Bind a module to a topic; `deployment` names the deployment that brought it, if any.
    pub(super) async fn bind_module(
        &self,
        topic: &str,
        bytes: Vec<u8>,
        limits: ModuleLimits,
        deployment_id: Option<String>,
    ) -> Result<TaskModule> {
        if topic.is_empty() || topic.contains('\0') {
            return Err(ProcessEngineError::BadRequest(
                "topic must be a non-empty name".into(),
            ));
        }
        let info = self.validate_module(&bytes, &limits).await?;
        let module = TaskModule {
            topic: topic.to_owned(),
            sha256: info.sha256.clone(),
            size: bytes.len() as u64,
            deployment_id,
            created: self.now(),
            limits,
            world_check: Some(info.world_check),
        };
        let mut ws = WriteSet::new();
        self.inner
            .store
            .stage_module_blob(&mut ws, &info.sha256, &bytes);
        self.inner.store.stage_module(&mut ws, topic, &module);
        self.inner.store.commit_durable(&ws).await?;
        Ok(module)
    }

    /// The module bound to a topic.
    pub async fn module(&self, topic: &str) -> Result<TaskModule> {
        self.inner.store.module(topic)?.ok_or_else(|| {
            ProcessEngineError::NotFound(format!("No task module is bound to topic '{topic}'"))
        })
    }

    /// The component bytes bound to a topic.
    pub async fn module_bytes(&self, topic: &str) -> Result<Vec<u8>> {
        let m = self.module(topic).await?;
        self.inner.store.module_blob(&m.sha256)?.ok_or_else(|| {
            ProcessEngineError::Internal(format!("module blob {} missing", m.sha256))
        })
    }

    /// All modules.
    pub async fn modules(&self) -> Result<Vec<TaskModule>> {
        Ok(ModuleStore::modules(&self.inner.store)?)
    }

    /// Unbind a topic's module (its tasks go to remote workers from then on).
    pub async fn delete_module(&self, topic: &str) -> Result<()> {
        self.module(topic).await?;
        let mut ws = WriteSet::new();
        self.inner.store.stage_module_removal(&mut ws, topic);
        self.inner.store.commit_durable(&ws).await?;
        Ok(())
    }

    fn module_limits(&self, task: &ExternalTask) -> Limits {
        let module = self
            .definition_deployment(&task.process_definition_id)
            .and_then(|dep| self.module_for(&dep, &task.topic_name).ok().flatten())
            .or_else(|| self.inner.store.module(&task.topic_name).ok().flatten());
        self.limits_of(module.as_ref())
    }

    /// The engine's default limits, overridden by those `module` was bound with.
    fn limits_of(&self, module: Option<&TaskModule>) -> Limits {
        let mut limits = self
            .inner
            .wasm
            .as_ref()
            .map(|w| w.default_limits().clone())
            .unwrap_or_default();
        if let Some(m) = module {
            if let Some(f) = m.limits.fuel {
                limits.fuel = f;
            }
            if let Some(t) = m.limits.timeout_ms {
                limits.deadline = Duration::from_millis(t);
            }
            if let Some(mem) = m.limits.memory_bytes {
                limits.memory_bytes = usize::try_from(mem).unwrap_or(usize::MAX);
            }
            if let Some(t) = m.limits.table_elements {
                limits.table_elements = usize::try_from(t).unwrap_or(usize::MAX);
            }
            if let Some(n) = m.limits.instances {
                limits.instances = usize::try_from(n).unwrap_or(usize::MAX);
            }
            // Entries were validated when the module was bound.
            limits.allowed_hosts = m
                .limits
                .allowed_hosts
                .iter()
                .filter_map(|h| AllowedHost::parse(h).ok())
                .collect();
        }
        limits
    }

    fn definition_deployment(&self, definition_id: &str) -> Option<String> {
        self.deployed_sync(definition_id)
            .ok()
            .map(|d| d.record.deployment_id.clone())
    }

    /// Run an in-engine task once, then complete it, route its BPMN error, or schedule its
    /// retry / raise its incident. Safe to call twice: only the first commit wins.
    pub(crate) async fn run_wasm_task(&self, task_id: String) {
        if let Err(e) = self.run_wasm_task_inner(&task_id).await {
            tracing::warn!(task = %task_id, "in-engine task: {e}");
        }
    }

    async fn run_wasm_task_inner(&self, task_id: &str) -> Result<()> {
        let Some(wasm) = self.inner.wasm.clone() else {
            return Ok(());
        };
        let (task, raw) = match self.load_external_task(task_id) {
            Ok(t) => t,
            Err(ProcessEngineError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(sha) = task.module_sha256.clone() else {
            return Ok(());
        };
        let now = self.now();
        if task.retries == Some(0)
            || task.suspended
            || task.lock_expiration_time.is_some_and(|t| t > now)
        {
            return Ok(());
        }
        if !wasm.is_loaded(&sha) {
            let bytes = self
                .inner
                .store
                .module_blob(&sha)?
                .ok_or_else(|| ProcessEngineError::Internal(format!("module {sha} missing")))?;
            if let Err(e) = wasm.load(&bytes).await {
                return self
                    .fail_wasm_task(
                        task,
                        raw,
                        format!("module cannot be loaded: {e}"),
                        None,
                        true,
                        WriteSet::new(),
                    )
                    .await;
            }
        }
        let Some(instance) = self
            .inner
            .store
            .running_instance(&task.process_instance_id)?
        else {
            return Ok(());
        };
        if instance.suspended {
            return Ok(());
        }
        let input = self.wasm_input(&task, &instance);
        let limits = self.module_limits(&task);
        let started = Instant::now();
        let outcome = wasm.execute(&sha, &limits, input).await;
        self.record_wasm_execution(&task.topic_name, started.elapsed().as_micros() as u64);
        // The log commits with the outcome, not in a commit of its own.
        let log = self.task_log_writes(&task.id, outcome.logs())?;
        match outcome {
            TaskOutcome::Completed { variables, .. } => {
                match self
                    .finish_external_task(
                        task.clone(),
                        raw.clone(),
                        variables,
                        Variables::new(),
                        log.clone(),
                    )
                    .await
                {
                    Ok(()) => Ok(()),
                    // A conflict (its message comes from `types::conflict` only) means someone
                    // else changed the task: not a failure of this execution.
                    Err(ProcessEngineError::Engine(m)) if !m.contains("changed concurrently") => {
                        self.fail_wasm_task(
                            task,
                            raw,
                            format!("completing the task failed: {m}"),
                            None,
                            true,
                            log,
                        )
                        .await
                    }
                    Err(e) => Err(e),
                }
            }
            TaskOutcome::BpmnError {
                code,
                message,
                variables,
                ..
            } => {
                self.throw_task_error(task, raw, &code, message, variables, log)
                    .await
            }
            TaskOutcome::Failed {
                message,
                details,
                kind,
                ..
            } => {
                self.wasm_task_failed(task, raw, message, details, kind, log)
                    .await
            }
        }
    }

    /// An execution failed (trap, limit, bad output): count it, stage a limit notification
    /// in the failure's own commit, and retry or raise the incident.
    async fn wasm_task_failed(
        &self,
        task: ExternalTask,
        raw: crate::store::Version,
        message: String,
        details: Option<String>,
        kind: crate::wasm::FailureKind,
        mut log: WriteSet,
    ) -> Result<()> {
        self.inner
            .metrics
            .wasm_failures
            .fetch_add(1, Ordering::Relaxed);
        self.note_topic_failure(&task.topic_name);
        let staged = super::notifications::stage_wasm_limit(
            &self.inner.store,
            &mut log,
            &task,
            kind,
            &message,
            self.now(),
        );
        let result = self
            .fail_wasm_task(task, raw, message, details, false, log)
            .await;
        if staged {
            self.wake_notifications();
        }
        result
    }

    /// Run the first attempt of the in-engine tasks a command just created, inside the
    /// command, and complete them in `state`: a task bound to a loaded pure component (no
    /// outbound HTTP) needs no commit of its own, no store reads and no hand-off, as a
    /// Camunda Java delegate runs in the transaction that reached it. Tasks the completions
    /// create run in further rounds, within [`INLINE_TASKS_PER_COMMAND`] and
    /// [`INLINE_TIME_PER_COMMAND`].
    ///
    /// Only completions and BPMN errors the model accepts are kept. A task whose attempt
    /// failed (a failure, a trap, a limit) is committed as before and its attempts run in the
    /// background, the first one again: the component is deterministic and pure, so the
    /// repeat reaches the same outcome and changes nothing outside. An attempt cut short by
    /// [`INLINE_DEADLINE`] marks its module slow (background only from then on). An outcome
    /// the state machine refuses undoes every inline outcome of the command.
    pub(super) async fn run_tasks_inline(
        &self,
        deployed: &Deployed,
        decisions: &HostDecisions<'_>,
        suspended: bool,
        state: &mut InstanceState,
        effects: &mut Vec<Effect>,
        now: i64,
    ) -> InlineTasks {
        let deployment_id = &deployed.record.deployment_id;
        let mut inline = InlineTasks::default();
        let Some(wasm) = self.inner.wasm.clone() else {
            return inline;
        };
        if suspended || !self.inner.config.wasm_inline {
            return inline;
        }
        let began = Instant::now();
        let mut scanned = 0;
        let mut undo: Option<(InstanceState, usize)> = None;
        while inline.done.len() < INLINE_TASKS_PER_COMMAND
            && began.elapsed() < INLINE_TIME_PER_COMMAND
        {
            let fresh = &effects[scanned..];
            let canceled: HashSet<&str> = fresh
                .iter()
                .filter_map(|e| match e {
                    Effect::CancelTask { task_id } => Some(task_id.as_str()),
                    _ => None,
                })
                .collect();
            let mut round: Vec<(ExternalTaskSpec, TaskModule)> = Vec::new();
            for effect in fresh {
                let Effect::CreateExternalTask(spec) = effect else {
                    continue;
                };
                if canceled.contains(spec.task_id.as_str()) {
                    continue;
                }
                let module = match inline.modules.get(&spec.topic) {
                    Some(m) => m.clone(),
                    None => match self.module_for(deployment_id, &spec.topic) {
                        Ok(m) => {
                            inline.modules.insert(spec.topic.clone(), m.clone());
                            m
                        }
                        // Not remembered: the translation looks again and fails the command.
                        Err(_) => None,
                    },
                };
                if let Some(m) = module.filter(|m| self.runs_inline(&wasm, &m.sha256)) {
                    round.push((spec.clone(), m));
                }
            }
            scanned = effects.len();
            if round.is_empty() {
                break;
            }
            let mut outcomes = Vec::with_capacity(round.len());
            for (spec, module) in round {
                if inline.done.len() + outcomes.len() >= INLINE_TASKS_PER_COMMAND
                    || began.elapsed() >= INLINE_TIME_PER_COMMAND
                {
                    break;
                }
                let total = self.initial_retries(spec.retry_time_cycle.as_deref());
                let input = task_input(
                    &spec.topic,
                    &spec.activity_id,
                    &spec.activity_instance_id,
                    state,
                    now,
                    total,
                    total,
                );
                let mut limits = self.limits_of(Some(&module));
                let cut_short = limits.deadline > INLINE_DEADLINE;
                limits.deadline = limits.deadline.min(INLINE_DEADLINE);
                let started = Instant::now();
                let outcome = wasm.execute(&module.sha256, &limits, input).await;
                self.record_wasm_execution(&spec.topic, started.elapsed().as_micros() as u64);
                match outcome {
                    TaskOutcome::Completed { variables, logs } => {
                        let command = Command::CompleteTask {
                            task_id: spec.task_id.clone(),
                            variables,
                            local_variables: Variables::new(),
                        };
                        outcomes.push((spec.task_id, module, command, logs));
                    }
                    TaskOutcome::BpmnError {
                        code,
                        message,
                        variables,
                        logs,
                    } => {
                        let command = Command::ThrowError {
                            task_id: spec.task_id.clone(),
                            code,
                            message,
                            variables,
                        };
                        outcomes.push((spec.task_id, module, command, logs));
                    }
                    TaskOutcome::Failed {
                        kind: FailureKind::Deadline,
                        ..
                    } if cut_short => {
                        if let Ok(mut slow) = self.inner.slow_modules.lock() {
                            slow.insert(module.sha256);
                        }
                    }
                    _ => {}
                }
            }
            if outcomes.is_empty() {
                break;
            }
            // Taken once, before the first outcome is applied: a refusal undoes every inline
            // outcome of the command (rare, and the background path does them again).
            if undo.is_none() {
                undo = Some((state.clone(), scanned));
            }
            let mut round_done = Vec::with_capacity(outcomes.len());
            let mut canceled: HashSet<String> = HashSet::new();
            for (task_id, module, command, logs) in outcomes {
                // A sibling's error may have ended this task's scope: it is canceled, and
                // whatever it returned is moot, as it would be in the background.
                if canceled.contains(&task_id) {
                    continue;
                }
                let threw_error = matches!(command, Command::ThrowError { .. });
                let env = self.script_env(&deployed.record.id, decisions);
                let applied = StateMachine::apply_in(
                    &deployed.process,
                    state,
                    command,
                    now,
                    self.apply_options(),
                    env,
                );
                match applied {
                    Ok(more) => {
                        canceled.extend(more.iter().filter_map(|e| match e {
                            Effect::CancelTask { task_id } => Some(task_id.clone()),
                            _ => None,
                        }));
                        effects.extend(more);
                        round_done.push((
                            task_id,
                            InlineRun {
                                module,
                                logs,
                                threw_error,
                            },
                        ));
                    }
                    Err(_) => {
                        // The background attempt meets the refusal again and reports it.
                        if let Some((before, mark)) = undo {
                            *state = before;
                            effects.truncate(mark);
                        }
                        inline.done.clear();
                        return inline;
                    }
                }
            }
            inline.done.extend(round_done);
        }
        inline
    }

    /// Whether tasks of the module `sha256` run inline: loaded, pure, and not known to be
    /// slow.
    fn runs_inline(&self, wasm: &crate::wasm::WasmRuntime, sha256: &str) -> bool {
        wasm.is_loaded_and_pure(sha256)
            && self
                .inner
                .slow_modules
                .lock()
                .is_ok_and(|slow| !slow.contains(sha256))
    }

    /// The input of a stored task's next attempt.
    fn wasm_input(&self, task: &ExternalTask, instance: &ProcessInstance) -> TaskInput {
        let total = self.initial_retries(task.retry_time_cycle.as_deref());
        task_input(
            &task.topic_name,
            &task.activity_id,
            &task.activity_instance_id,
            &instance.state,
            task.create_time,
            total,
            task.retries.unwrap_or(total),
        )
    }

    /// Count one wasm execution and keep its duration among the topic's last 100.
    fn record_wasm_execution(&self, topic: &str, micros: u64) {
        self.inner
            .metrics
            .wasm_executions
            .fetch_add(1, Ordering::Relaxed);
        self.inner
            .metrics
            .wasm_micros_total
            .fetch_add(micros, Ordering::Relaxed);
        if let Ok(mut recent) = self.inner.metrics.recent_wasm_micros.lock() {
            // The topic's name is copied only the first time it is seen, not per execution.
            match recent.get_mut(topic) {
                Some(v) => {
                    if v.len() >= 100 {
                        v.remove(0);
                    }
                    v.push(micros);
                }
                None => {
                    recent.insert(topic.to_owned(), vec![micros]);
                }
            }
        }
    }

    /// A failed in-engine attempt: one retry less, a back-off on the task's schedule, or an
    /// incident when none is left (or at once with `incident_now`). `log` commits with it.
    async fn fail_wasm_task(
        &self,
        task: ExternalTask,
        raw: crate::store::Version,
        message: String,
        details: Option<String>,
        incident_now: bool,
        log: WriteSet,
    ) -> Result<()> {
        let now = self.now();
        let schedule = self.retry_schedule(task.retry_time_cycle.as_deref());
        let retries_now = task.retries.unwrap_or(schedule.retries() as i32);
        let left = if incident_now {
            0
        } else {
            (retries_now - 1).max(0)
        };
        let mut new = task.clone();
        new.retries = Some(left);
        new.error_message = truncate(Some(message));
        new.error_details = details;
        let mut ws = log;
        // Logged as a worker's reported failure is (Camunda's `failureLog`).
        self.log_external_task(&mut ws, &new, LogState::Failed);
        let mut after = AfterCommit::default();
        if left > 0 {
            let due = now.saturating_add(schedule.delay_ms(left as u32));
            new.lock_expiration_time = Some(due);
            let job = Job {
                id: format!("wasm-retry-{}", task.id),
                kind: JobKind::WasmRetry {
                    task_id: task.id.clone(),
                },
                process_instance_id: Some(task.process_instance_id.clone()),
                activity_id: task.activity_id.clone(),
                activity_instance_id: Some(task.activity_instance_id.clone()),
                due,
                retries: 1,
                exception_message: None,
                retry_time_cycle: None,
                // Not a Camunda job: the back-off of an external task, hidden from `/job`.
                job_definition_id: None,
                process_definition_id: Some(task.process_definition_id.clone()),
                tenant_id: task.tenant_id.clone(),
                create_time: now,
                suspended: false,
                priority: 0,
            };
            let old_job = self.inner.store.job(&job.id)?.map(|(j, _)| j);
            self.inner
                .store
                .stage_job(&mut ws, &job, old_job.as_ref(), None);
            after.wake_scheduler = true;
        } else {
            new.lock_expiration_time = None;
        }
        self.incident_transition(&task, &new, &mut ws, &mut after)?;
        let _guard = self.lock_instance(&task.process_instance_id).await?;
        match self.commit_task_change(raw, &task, &new, ws) {
            Ok(()) => {}
            // The task was completed, cancelled or changed meanwhile: this attempt's result is moot.
            Err(ProcessEngineError::Engine(_)) => return Ok(()),
            Err(e) => return Err(e),
        }
        drop(_guard);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(())
    }

    /// The writes that append an execution's lines to the task's log (none if it wrote none).
    fn task_log_writes(&self, task_id: &str, lines: &[crate::wasm::LogLine]) -> Result<WriteSet> {
        let mut ws = WriteSet::new();
        if lines.is_empty() {
            return Ok(ws);
        }
        let mut log = self.inner.store.task_log(task_id)?;
        log.extend(lines.iter().map(log_line));
        // Keep the most recent lines: a looping task must not grow its log without bound.
        if log.len() > 1000 {
            let drop_n = log.len() - 1000;
            log.drain(..drop_n);
        }
        self.inner.store.stage_task_log(&mut ws, task_id, &log);
        Ok(ws)
    }

    /// The log captured from an in-engine (wasm) task's executions, oldest line first.
    ///
    /// The captured log of an in-engine task (kept after the task completed).
    pub async fn task_log(&self, task_id: &str) -> Result<Vec<String>> {
        Ok(self.inner.store.task_log(task_id)?)
    }
}
