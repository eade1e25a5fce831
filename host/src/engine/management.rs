//! Jobs and job definitions as an operator sees them (Camunda's `ManagementService`): the jobs
//! with what Camunda shows of each, retries, due dates, running a job now, suspension,
//! priorities and deletion; job definitions derived from the deployed models (one per
//! process definition, activity and job type), with what an operator sets on them kept on
//! the process definition record. The scheduler that runs jobs is `jobs.rs`; this room only
//! changes job records (a suspended or failed job has no due entry, so the scheduler never
//! meets it).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use baton_bpmn::model::{EventTrigger, FlowNode, NodeKind, TimerDefinition};

use super::executor::AfterCommit;
use super::incidents::{close_incident, open_incident};
use super::{ProcessEngine, ProcessEngineError, Result};
use crate::records::{Incident, IncidentType, Job, JobDefinitionState, JobKind};
use crate::store::{Accept, DeploymentStore, IncidentStore, InstanceStore, JobStore, WriteSet};

pub(crate) use crate::records::{JOB_DEFINITION_TIMER as TIMER, job_definition_id};

/// (process definition id, activity id, suffix) of a job definition id.
fn split_job_definition_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.rsplitn(3, ':');
    let suffix = parts.next()?;
    let activity = parts.next()?;
    let definition = parts.next()?;
    Some((definition, activity, suffix))
}

/// A job with what Camunda's `JobDto` shows beside the record.
#[derive(Debug, Clone)]
pub struct JobView {
    /// The record.
    pub job: Job,
    /// Its job definition.
    pub job_definition_id: Option<String>,
    /// Process definition id.
    pub process_definition_id: Option<String>,
    /// Process definition key.
    pub process_definition_key: Option<String>,
    /// A timer (else an async continuation: Camunda's "message").
    pub timer: bool,
}

/// A job definition (`JobDefinitionDto`).
#[derive(Debug, Clone)]
pub struct JobDefinition {
    /// `definitionId:activityId:suffix`.
    pub id: String,
    /// Process definition id.
    pub process_definition_id: String,
    /// Process definition key.
    pub process_definition_key: String,
    /// The activity its jobs belong to.
    pub activity_id: String,
    /// Camunda's job handler type (`timer-intermediate-transition`, `async-continuation`, ...).
    pub job_type: &'static str,
    /// Camunda's configuration (`DURATION: PT5M`, `async-before`, ...).
    pub job_configuration: Option<String>,
    /// Suspended.
    pub suspended: bool,
    /// `overridingJobPriority`.
    pub overriding_priority: Option<i64>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// The deployment of its process definition.
    pub deployment_id: String,
}

/// Which jobs a bulk suspension or activation concerns (`PUT /job/suspended`).
#[derive(Debug, Clone)]
pub enum JobSelector {
    /// The jobs of one job definition.
    JobDefinition(String),
    /// The jobs of one process instance.
    ProcessInstance(String),
    /// The jobs of one process definition.
    ProcessDefinition(String),
    /// The jobs of every version of a process definition key.
    ProcessDefinitionKey(String),
}

fn no_job(id: &str) -> ProcessEngineError {
    ProcessEngineError::NotFound(format!("No job found with id '{id}'."))
}

fn timer_config(def: &TimerDefinition) -> String {
    match def {
        TimerDefinition::Date(e) => format!("DATE: {}", e.source()),
        TimerDefinition::Duration(e) => format!("DURATION: {}", e.source()),
        TimerDefinition::Cycle(e) => format!("CYCLE: {}", e.source()),
    }
}

/// The Camunda job type and timer definition of a timer event node.
fn timer_of(node: &FlowNode) -> Option<(&'static str, &TimerDefinition)> {
    match &node.kind {
        NodeKind::StartEvent {
            trigger: EventTrigger::Timer(t),
            ..
        } if node.scope.is_none() => Some(("timer-start-event", t)),
        NodeKind::StartEvent {
            trigger: EventTrigger::Timer(t),
            ..
        } => Some(("timer-start-event-subprocess", t)),
        NodeKind::BoundaryEvent {
            trigger: EventTrigger::Timer(t),
            ..
        } => Some(("timer-transition", t)),
        NodeKind::IntermediateCatchEvent {
            trigger: EventTrigger::Timer(t),
        } => Some(("timer-intermediate-transition", t)),
        _ => None,
    }
}

impl ProcessEngine {
    fn view(&self, job: Job, keys: &mut BTreeMap<String, Option<String>>) -> JobView {
        let definition_id = job
            .process_definition_id
            .clone()
            .or_else(|| match &job.kind {
                JobKind::TimerStart { definition_id, .. } => Some(definition_id.clone()),
                _ => job
                    .process_instance_id
                    .as_deref()
                    .and_then(|pi| self.inner.store.running_instance(pi).ok().flatten())
                    .map(|i| i.definition_id),
            });
        let key = definition_id.as_ref().and_then(|d| {
            keys.entry(d.clone())
                .or_insert_with(|| self.deployed_sync(d).ok().map(|x| x.record.key.clone()))
                .clone()
        });
        let timer = matches!(job.kind, JobKind::Timer { .. } | JobKind::TimerStart { .. });
        let job_definition_id = job.job_definition_id.clone().or_else(|| {
            // Jobs of older releases: derive it from the model.
            let d = definition_id.as_deref()?;
            let suffix = if timer {
                TIMER
            } else {
                let deployed = self.deployed_sync(d).ok()?;
                let node = deployed.process.node_by_id(&job.activity_id)?;
                if deployed.process.node(node).async_before {
                    "async-before"
                } else {
                    "async-after"
                }
            };
            Some(job_definition_id(d, &job.activity_id, suffix))
        });
        JobView {
            job,
            job_definition_id,
            process_definition_id: definition_id,
            process_definition_key: key,
            timer,
        }
    }

    /// Every job an operator sees (timers, async continuations, timer start events; not the
    /// back-off of in-engine external tasks, which Camunda has no job for).
    pub fn job_views(&self) -> Result<Vec<JobView>> {
        let mut keys = BTreeMap::new();
        let mut out = Vec::new();
        for job in self.inner.store.jobs()? {
            if matches!(job.kind, JobKind::WasmRetry { .. }) {
                continue;
            }
            out.push(self.view(job, &mut keys));
        }
        Ok(out)
    }

    /// One job as an operator sees it.
    pub fn job_view(&self, id: &str) -> Result<JobView> {
        let (job, _) = self.visible_job(id)?;
        Ok(self.view(job, &mut BTreeMap::new()))
    }

    fn visible_job(&self, id: &str) -> Result<(Job, crate::store::Version)> {
        match self.inner.store.job(id)? {
            Some((job, v)) if !matches!(job.kind, JobKind::WasmRetry { .. }) => Ok((job, v)),
            _ => Err(no_job(id)),
        }
    }

    /// Set a job's retries (and optionally its due date), as Camunda's `setJobRetries`: more
    /// than 0 resolves its `failedJob` incident and makes it runnable; 0 parks it and raises
    /// one.
    pub async fn set_job_retries(&self, id: &str, retries: i32, due: Option<i64>) -> Result<()> {
        if retries < 0 {
            return Err(ProcessEngineError::Engine(format!(
                "The number of job retries must be a non-negative Integer, but '{retries}' has been provided."
            )));
        }
        let (job, _) = self.visible_job(id)?;
        let _guard = match &job.process_instance_id {
            Some(pi) => Some(self.lock_instance(pi).await?),
            None => None,
        };
        let (job, read_at) = self.visible_job(id)?;
        let mut new = job.clone();
        new.retries = retries;
        if let Some(d) = due {
            new.due = d;
        }
        let now = self.now();
        let mut ws = WriteSet::new();
        let mut after = AfterCommit::default();
        let store = &self.inner.store;
        if retries == 0 {
            store.stage_job_parked(&mut ws, &new, &job, Some(read_at));
            if job.retries > 0 {
                self.stage_failed_job_incident(&mut ws, &new, &mut after)?;
            }
        } else {
            store.stage_job(&mut ws, &new, Some(&job), Some(read_at));
            self.close_job_incidents(&mut ws, &job, now, &mut after)?;
            after.wake_scheduler = true;
        }
        store.commit(&ws)?;
        drop(_guard);
        store.sync().await?;
        self.after_commit(after).await;
        Ok(())
    }

    fn stage_failed_job_incident(
        &self,
        ws: &mut WriteSet,
        job: &Job,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let Some(pi) = &job.process_instance_id else {
            return Ok(());
        };
        let Some(instance) = self.inner.store.running_instance(pi)? else {
            return Ok(());
        };
        let incident = Incident {
            id: super::core::new_id(),
            incident_type: IncidentType::FailedJob,
            message: job.exception_message.clone(),
            timestamp: self.now(),
            activity_id: job.activity_id.clone(),
            activity_instance_id: job.activity_instance_id.clone().unwrap_or_default(),
            execution_id: job.activity_instance_id.clone().unwrap_or_default(),
            process_instance_id: pi.clone(),
            process_definition_id: instance.definition_id.clone(),
            configuration: Some(job.id.clone()),
            annotation: None,
            tenant_id: instance.tenant_id.clone(),
            end_time: None,
        };
        open_incident(&self.inner.store, ws, &incident, after);
        self.inner
            .metrics
            .incidents_raised
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Stage resolving the open incidents raised for `job`.
    fn close_job_incidents(
        &self,
        ws: &mut WriteSet,
        job: &Job,
        now: i64,
        after: &mut AfterCommit,
    ) -> Result<()> {
        let Some(pi) = &job.process_instance_id else {
            return Ok(());
        };
        let mine = |i: &Incident| {
            if i.configuration.as_deref() == Some(job.id.as_str()) {
                Accept::Take
            } else {
                Accept::Skip
            }
        };
        let mut keep = mine;
        for incident in self
            .inner
            .store
            .open_incidents_where(Some(pi), &mut keep, 0, usize::MAX)?
        {
            close_incident(&self.inner.store, ws, incident, now, after);
        }
        Ok(())
    }

    /// Set a job's due date (`None`: due now).
    pub async fn set_job_due_date(&self, id: &str, due: Option<i64>) -> Result<()> {
        let (job, read_at) = self.visible_job(id)?;
        let mut new = job.clone();
        new.due = due.unwrap_or_else(|| self.now());
        let mut ws = WriteSet::new();
        let store = &self.inner.store;
        if job.retries > 0 {
            store.stage_job(&mut ws, &new, Some(&job), Some(read_at));
        } else {
            store.stage_job_parked(&mut ws, &new, &job, Some(read_at));
        }
        store.commit_durable(&ws).await?;
        self.after_commit(AfterCommit {
            wake_scheduler: true,
            ..AfterCommit::default()
        })
        .await;
        Ok(())
    }

    /// Compute a timer job's due date again from its timer definition, from now or (with
    /// `creation_date_based`) from when the job was created, as Camunda's
    /// `recalculateJobDuedate`.
    pub async fn recalculate_job_due_date(
        &self,
        id: &str,
        creation_date_based: bool,
    ) -> Result<()> {
        let (job, read_at) = self.visible_job(id).map_err(|_| {
            ProcessEngineError::NotFound(format!("No job found with id '{id}': job is null"))
        })?;
        let view = self.view(job.clone(), &mut BTreeMap::new());
        let deployed = match &view.process_definition_id {
            Some(d) => Some(self.deployed_sync(d)?),
            None => None,
        };
        let node = deployed.as_ref().and_then(|d| {
            let idx = d.process.node_by_id(&job.activity_id)?;
            Some(d.process.node(idx))
        });
        let timer = node.and_then(timer_of).filter(|_| view.timer);
        let Some((_, def)) = timer else {
            let kind = if view.timer {
                "timer-task-listener"
            } else {
                "async-continuation"
            };
            return Err(ProcessEngineError::Engine(format!(
                "Only timer jobs can be recalculated, but the job with id '{id}' is of type '{kind}'."
            )));
        };
        let variables = match &job.process_instance_id {
            Some(pi) => self
                .inner
                .store
                .running_instance(pi)?
                .map(|i| match &job.activity_instance_id {
                    Some(ai) => i.state.visible_variables(ai),
                    None => i.state.process_variables(),
                })
                .unwrap_or_default(),
            None => baton_bpmn::Variables::new(),
        };
        let base = if creation_date_based && job.create_time > 0 {
            job.create_time
        } else {
            self.now()
        };
        let due = baton_bpmn::timer::timer_due(def, &variables, base)
            .map_err(|e| ProcessEngineError::Engine(e.to_string()))?;
        let mut new = job.clone();
        new.due = due;
        self.rewrite_job(&job, &new, read_at).await?;
        self.after_commit(AfterCommit {
            wake_scheduler: true,
            ..AfterCommit::default()
        })
        .await;
        Ok(())
    }

    /// Set a job's priority.
    pub async fn set_job_priority(&self, id: &str, priority: i64) -> Result<()> {
        let (job, read_at) = self.visible_job(id)?;
        let mut new = job.clone();
        new.priority = priority;
        self.rewrite_job(&job, &new, read_at).await
    }

    /// Write `new` over `old` keeping whether it has a due entry (suspended or out of retries:
    /// none).
    async fn rewrite_job(
        &self,
        old: &Job,
        new: &Job,
        read_at: crate::store::Version,
    ) -> Result<()> {
        let mut ws = WriteSet::new();
        let store = &self.inner.store;
        if new.retries > 0 || new.suspended {
            store.stage_job(&mut ws, new, Some(old), Some(read_at));
        } else {
            store.stage_job_parked(&mut ws, new, old, Some(read_at));
        }
        store.commit_durable(&ws).await?;
        Ok(())
    }

    /// Run a job now, whatever its due date (`POST /job/{id}/execute`). `Ok(Err(message))`:
    /// the job ran and failed (its retries went down, as when the scheduler runs it).
    pub async fn execute_job(&self, id: &str) -> Result<std::result::Result<(), String>> {
        let (job, _) = self.visible_job(id)?;
        if job.suspended {
            return Err(ProcessEngineError::Suspended(format!(
                "Cannot execute job {id}: the job is suspended"
            )));
        }
        Ok(match self.run_job_reporting(job).await? {
            Some(message) => Err(message),
            None => Ok(()),
        })
    }

    /// Suspend or activate one job (unknown ids change nothing, as in Camunda).
    pub async fn set_job_suspended(&self, id: &str, suspended: bool) -> Result<()> {
        let Ok((job, read_at)) = self.visible_job(id) else {
            return Ok(());
        };
        self.suspend_job(job, read_at, suspended).await
    }

    async fn suspend_job(
        &self,
        job: Job,
        read_at: crate::store::Version,
        suspended: bool,
    ) -> Result<()> {
        if job.suspended == suspended {
            return Ok(());
        }
        let mut new = job.clone();
        new.suspended = suspended;
        self.rewrite_job(&job, &new, read_at).await?;
        if !suspended {
            self.after_commit(AfterCommit {
                wake_scheduler: true,
                ..AfterCommit::default()
            })
            .await;
        }
        Ok(())
    }

    /// Suspend or activate the jobs `selector` names; returns how many changed.
    pub async fn set_jobs_suspended(
        &self,
        selector: &JobSelector,
        suspended: bool,
    ) -> Result<usize> {
        let matching: Vec<String> = self
            .job_views()?
            .into_iter()
            .filter(|v| match selector {
                JobSelector::JobDefinition(d) => v.job_definition_id.as_deref() == Some(d),
                JobSelector::ProcessInstance(p) => v.job.process_instance_id.as_deref() == Some(p),
                JobSelector::ProcessDefinition(d) => v.process_definition_id.as_deref() == Some(d),
                JobSelector::ProcessDefinitionKey(k) => {
                    v.process_definition_key.as_deref() == Some(k)
                }
            })
            .filter(|v| v.job.suspended != suspended)
            .map(|v| v.job.id)
            .collect();
        let mut changed = 0;
        for id in matching {
            if let Some((job, read_at)) = self.inner.store.job(&id)? {
                self.suspend_job(job, read_at, suspended).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Delete a job (its `failedJob` incident is resolved with it). The activity it belonged
    /// to then waits until the instance is modified or cancelled, as in Camunda.
    pub async fn delete_job(&self, id: &str) -> Result<()> {
        let (job, _) = self.visible_job(id)?;
        let _guard = match &job.process_instance_id {
            Some(pi) => Some(self.lock_instance(pi).await?),
            None => None,
        };
        let (job, read_at) = self.visible_job(id)?;
        let mut ws = WriteSet::new();
        let mut after = AfterCommit::default();
        self.inner
            .store
            .stage_job_removal(&mut ws, &job, Some(read_at));
        self.close_job_incidents(&mut ws, &job, self.now(), &mut after)?;
        self.inner.store.commit(&ws)?;
        drop(_guard);
        self.inner.store.sync().await?;
        self.after_commit(after).await;
        Ok(())
    }

    /// Every job definition of every deployed process definition.
    pub fn job_definitions(&self) -> Result<Vec<JobDefinition>> {
        let mut out = Vec::new();
        for d in DeploymentStore::definitions(&self.inner.store)? {
            out.extend(self.job_definitions_of(&d.id)?);
        }
        Ok(out)
    }

    /// The job definitions of one process definition, in model order.
    pub fn job_definitions_of(&self, definition_id: &str) -> Result<Vec<JobDefinition>> {
        let deployed = self.deployed_sync(definition_id)?;
        let record = &deployed.record;
        let mut out = Vec::new();
        let mut push = |activity: &str, suffix: &str, job_type, config: Option<String>| {
            let id = job_definition_id(&record.id, activity, suffix);
            let state = record.job_definitions.get(&id).cloned().unwrap_or_default();
            out.push(JobDefinition {
                id,
                process_definition_id: record.id.clone(),
                process_definition_key: record.key.clone(),
                activity_id: activity.to_owned(),
                job_type,
                job_configuration: config,
                suspended: state.suspended,
                overriding_priority: state.overriding_priority,
                tenant_id: record.tenant_id.clone(),
                deployment_id: record.deployment_id.clone(),
            });
        };
        for node in &deployed.process.nodes {
            if node.async_before {
                push(
                    &node.id,
                    "async-before",
                    "async-continuation",
                    Some("async-before".into()),
                );
            }
            if let Some((job_type, t)) = timer_of(node) {
                push(&node.id, TIMER, job_type, Some(timer_config(t)));
            }
            if node.async_after {
                push(
                    &node.id,
                    "async-after",
                    "async-continuation",
                    Some("async-after".into()),
                );
            }
        }
        Ok(out)
    }

    /// One job definition.
    pub fn job_definition(&self, id: &str) -> Result<JobDefinition> {
        let missing =
            || ProcessEngineError::NotFound(format!("Job Definition with id {id} does not exist"));
        let (definition_id, _, _) = split_job_definition_id(id).ok_or_else(missing)?;
        if self.deployed_sync(definition_id).is_err() {
            return Err(missing());
        }
        self.job_definitions_of(definition_id)?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(missing)
    }

    /// Change what an operator set on a job definition (kept on its process definition).
    async fn update_job_definition(
        &self,
        id: &str,
        change: impl FnOnce(&mut JobDefinitionState),
    ) -> Result<JobDefinition> {
        let jd = self.job_definition(id)?;
        let mut record = self.definition(&jd.process_definition_id).await?;
        let state = record.job_definitions.entry(id.to_owned()).or_default();
        change(state);
        if *state == JobDefinitionState::default() {
            record.job_definitions.remove(id);
        }
        let mut ws = WriteSet::new();
        self.inner.store.stage_definition(&mut ws, &record);
        self.inner.store.commit_durable(&ws).await?;
        if let Ok(mut cache) = self.inner.deployed.lock() {
            cache.remove(&record.id);
        }
        Ok(jd)
    }

    /// Suspend or activate a job definition (new jobs of it are created so); with
    /// `include_jobs`, its existing jobs too.
    pub async fn set_job_definition_suspended(
        &self,
        id: &str,
        suspended: bool,
        include_jobs: bool,
    ) -> Result<()> {
        self.update_job_definition(id, |s| s.suspended = suspended)
            .await?;
        if include_jobs {
            self.set_jobs_suspended(&JobSelector::JobDefinition(id.to_owned()), suspended)
                .await?;
        }
        Ok(())
    }

    /// Set or clear a job definition's overriding priority; with `include_jobs`, its existing
    /// jobs get it too.
    pub async fn set_job_definition_priority(
        &self,
        id: &str,
        priority: Option<i64>,
        include_jobs: bool,
    ) -> Result<()> {
        self.update_job_definition(id, |s| s.overriding_priority = priority)
            .await?;
        if let (Some(p), true) = (priority, include_jobs) {
            for v in self.job_views()? {
                if v.job_definition_id.as_deref() == Some(id) {
                    self.set_job_priority(&v.job.id, p).await?;
                }
            }
        }
        Ok(())
    }

    /// Set the retries of the failed jobs (0 retries left) of a job definition, as Camunda's
    /// `setJobRetriesByJobDefinitionId`.
    pub async fn set_job_definition_retries(&self, id: &str, retries: i32) -> Result<()> {
        if retries < 0 {
            return Err(ProcessEngineError::Engine(format!(
                "The number of job retries must be a non-negative Integer, but '{retries}' has been provided."
            )));
        }
        self.job_definition(id)?;
        for v in self.job_views()? {
            if v.job_definition_id.as_deref() == Some(id) && v.job.retries == 0 {
                self.set_job_retries(&v.job.id, retries, None).await?;
            }
        }
        Ok(())
    }
}
